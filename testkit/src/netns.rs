//! A network namespace of the test's own, joined to the host by a veth pair inside a
//! private /30 (10.200.x.y): the host's end is `.1`, the namespace's `.2`, and the only
//! traffic is between them. Programs run inside it with `ip netns exec`; its firewall
//! (nft) and queueing (tc) are the namespace's own, so nothing on the host changes.
//! Dropping a [`NetNs`] deletes the namespace (which takes its veth end, its rules and
//! its qdiscs with it) and the host's end; dropping a [`Loss`] removes its loss first.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::tools::run;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// One namespace and its veth pair; see the module doc.
pub struct NetNs {
    pub name: String,
    /// The veth end on the host (address [`NetNs::host_ip`]).
    pub host_if: String,
    /// The veth end inside the namespace (address [`NetNs::ns_ip`]).
    pub ns_if: String,
    pub host_ip: Ipv4Addr,
    pub ns_ip: Ipv4Addr,
}

/// How [`NetNs::lose`] makes the namespace's outgoing packets get lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossBy {
    /// `tc qdisc ... netem loss N%` on the namespace's veth end.
    Netem,
    /// An nft rule dropping N% at random (`numgen random mod 100 < N`), for kernels built
    /// without netem: the packets are lost below TCP all the same.
    Nft,
}

/// A loss in force; removed when dropped.
pub struct Loss<'a> {
    ns: &'a NetNs,
    pub by: LossBy,
    pub percent: u32,
}

impl NetNs {
    /// Creates the namespace and the veth pair, both up, on a /30 no interface of this
    /// host uses yet. Needs root (CAP_NET_ADMIN) and `ip`; the error says what failed.
    pub fn create() -> Result<NetNs, String> {
        let used = run(Command::new("ip").args(["-o", "-4", "addr", "show"]))?;
        let pid = std::process::id();
        for _ in 0..64 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            // 16384 /30s in 10.200.0.0/16; spread by process so parallel test binaries
            // rarely meet, and checked against the host's addresses.
            let k = (pid.wrapping_mul(61).wrapping_add(n)) % 16384;
            let (a, b) = ((k / 64) as u8, ((k % 64) * 4) as u8);
            let host_ip = Ipv4Addr::new(10, 200, a, b + 1);
            let ns_ip = Ipv4Addr::new(10, 200, a, b + 2);
            if used.contains(&format!("inet {host_ip}/")) {
                continue;
            }
            // Interface names are at most 15 bytes.
            let tag = format!("{:x}", (pid % 0x10000) * 256 + n % 256);
            let ns = NetNs {
                name: format!("venture-{tag}"),
                host_if: format!("vth{tag}"),
                ns_if: format!("vtn{tag}"),
                host_ip,
                ns_ip,
            };
            ns.setup()?;
            return Ok(ns);
        }
        Err("no free /30 in 10.200.0.0/16".into())
    }

    fn setup(&self) -> Result<(), String> {
        run(Command::new("ip").args(["netns", "add", &self.name]))?;
        // The caller gets no `NetNs` to drop until this succeeds: a failure cleans up here.
        let rest = || -> Result<(), String> {
            let (h, n) = (self.host_if.as_str(), self.ns_if.as_str());
            run(Command::new("ip").args(["link", "add", h, "type", "veth", "peer", "name", n]))?;
            run(Command::new("ip").args(["link", "set", n, "netns", &self.name]))?;
            let host = format!("{}/30", self.host_ip);
            run(Command::new("ip").args(["addr", "add", &host, "dev", h]))?;
            run(Command::new("ip").args(["link", "set", h, "up"]))?;
            let inner = format!("{}/30", self.ns_ip);
            self.run(&["ip", "addr", "add", &inner, "dev", n])?;
            self.run(&["ip", "link", "set", n, "up"])?;
            self.run(&["ip", "link", "set", "lo", "up"])?;
            Ok(())
        };
        rest().inspect_err(|_| self.remove())
    }

    /// A command that runs `argv` inside the namespace.
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(argv);
        c
    }

    /// The `ip netns exec NAME` prefix, for [`crate::Proc::spawn`] (whose program is `ip`).
    pub fn exec_prefix(&self) -> Vec<String> {
        vec!["netns".into(), "exec".into(), self.name.clone()]
    }

    /// Runs `argv` inside the namespace to completion: stdout, or the error.
    pub fn run(&self, argv: &[&str]) -> Result<String, String> {
        run(&mut self.command(argv))
    }

    /// Drops every UDP packet the namespace sends (an nft table of its own, in the
    /// namespace), as an office firewall that lets only TCP out.
    pub fn drop_outgoing_udp(&self) -> Result<(), String> {
        self.run(&["nft", "add", "table", "inet", "venture_test"])?;
        self.run(&[
            "nft",
            "add chain inet venture_test out { type filter hook output priority 0; }",
        ])?;
        self.run(&[
            "nft",
            "add",
            "rule",
            "inet",
            "venture_test",
            "out",
            "meta",
            "l4proto",
            "udp",
            "counter",
            "drop",
        ])?;
        Ok(())
    }

    /// The nft ruleset of the namespace (with counters), for messages.
    pub fn ruleset(&self) -> String {
        self.run(&["nft", "list", "ruleset"]).unwrap_or_else(|e| e)
    }

    /// Loses `percent` of the packets the namespace sends on its veth: tc netem when the
    /// kernel has it, else an nft rule (see [`LossBy`]); `netem_error` receives tc's
    /// refusal in that case.
    pub fn lose(&self, percent: u32, netem_error: &mut Option<String>) -> Result<Loss<'_>, String> {
        let pct = format!("{percent}%");
        match self.run(&[
            "tc",
            "qdisc",
            "add",
            "dev",
            &self.ns_if,
            "root",
            "netem",
            "loss",
            &pct,
        ]) {
            Ok(_) => Ok(Loss {
                ns: self,
                by: LossBy::Netem,
                percent,
            }),
            Err(e) => {
                *netem_error = Some(e);
                self.run(&["nft", "add", "table", "inet", "venture_loss"])?;
                let hook =
                    "add chain inet venture_loss out { type filter hook output priority 0; }";
                self.run(&["nft", hook])?;
                let rule = format!(
                    "add rule inet venture_loss out oifname {} numgen random mod 100 < {percent} counter drop",
                    self.ns_if
                );
                self.run(&["nft", &rule])?;
                Ok(Loss {
                    ns: self,
                    by: LossBy::Nft,
                    percent,
                })
            }
        }
    }

    fn remove(&self) {
        let _ = run(Command::new("ip").args(["netns", "del", &self.name]));
        // Deleting the namespace deletes its veth end and with it the pair; this is for
        // a setup that failed before the move.
        let _ = run(Command::new("ip").args(["link", "del", &self.host_if]));
    }
}

impl Loss<'_> {
    /// The qdisc or the rule, as the kernel lists it (with its counters).
    pub fn describe(&self) -> String {
        match self.by {
            LossBy::Netem => self
                .ns
                .run(&["tc", "-s", "qdisc", "show", "dev", &self.ns.ns_if])
                .unwrap_or_else(|e| e),
            LossBy::Nft => self
                .ns
                .run(&["nft", "list", "table", "inet", "venture_loss"])
                .unwrap_or_else(|e| e),
        }
    }
}

impl Drop for Loss<'_> {
    fn drop(&mut self) {
        let _ = match self.by {
            LossBy::Netem => self
                .ns
                .run(&["tc", "qdisc", "del", "dev", &self.ns.ns_if, "root"]),
            LossBy::Nft => self
                .ns
                .run(&["nft", "delete", "table", "inet", "venture_loss"]),
        };
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        self.remove();
    }
}
