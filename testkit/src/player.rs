//! One headless `venture-client` process playing with an `explore` bot for a while, on
//! whatever carrier its flags choose, optionally inside a network namespace; and how long
//! it took to join (from spawn to its "joined as" line).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::netns::NetNs;
use crate::Proc;

/// A spawned client and when it was spawned.
pub struct Player {
    pub proc: Proc,
    pub name: String,
    pub spawned: Instant,
    /// From spawn to the first look that found its "joined as" line.
    joined: Option<Duration>,
}

impl Player {
    /// `client_bin -server SERVER -name NAME -bot explore -duration S` plus `extra`, in
    /// `dir` (its secrets there too), inside `ns` when given. Output in `dir/NAME.*`.
    pub fn spawn(
        client_bin: &str,
        ns: Option<&NetNs>,
        server: &str,
        name: &str,
        duration_s: u64,
        extra: &[&str],
        dir: &Path,
    ) -> Player {
        let duration = duration_s.to_string();
        let secrets = dir.join(format!("secrets-{name}")).display().to_string();
        let mut args: Vec<String> = ns.map(NetNs::exec_prefix).unwrap_or_default();
        if ns.is_some() {
            args.push(client_bin.to_string());
        }
        args.extend(
            [
                "-server",
                server,
                "-name",
                name,
                "-bot",
                "explore",
                "-duration",
                &duration,
                "-status-every",
                "1",
                "-secret-dir",
                &secrets,
            ]
            .iter()
            .chain(extra)
            .map(|s| s.to_string()),
        );
        let program = if ns.is_some() { "ip" } else { client_bin };
        let spawned = Instant::now();
        Player {
            proc: Proc::spawn(program, &args, dir, name, &[]),
            name: name.to_string(),
            spawned,
            joined: None,
        }
    }

    /// Whether it has joined: the time from spawn to the first call that saw its
    /// "joined as" line (call it often while other things are measured).
    pub fn poll_joined(&mut self) -> Option<Duration> {
        if self.joined.is_none()
            && self
                .proc
                .stderr()
                .lines()
                .any(|l| l.contains(": joined as "))
        {
            self.joined = Some(self.spawned.elapsed());
        }
        self.joined
    }

    /// Waits for the client's "joined as" line: the time from spawn, or `None` after
    /// `timeout` (or when it exited first).
    pub fn wait_joined(&mut self, timeout: Duration) -> Option<Duration> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(j) = self.poll_joined() {
                return Some(j);
            }
            if self.proc.try_exit().is_some() || Instant::now() >= end {
                // One last look: the line may have been written just before the exit.
                return self.poll_joined();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the client to exit by itself (its `-duration` plus `slack`) and returns
    /// its final JSON line, asserting a clean exit (status 0: no desync, not lost).
    pub fn finish(&mut self, duration_s: u64, slack: Duration) -> serde_json::Value {
        let left = (self.spawned + Duration::from_secs(duration_s) + slack)
            .saturating_duration_since(Instant::now());
        let status = self.proc.wait_exit(left);
        assert!(
            status.is_some_and(|s| s.success()),
            "{}: did not exit cleanly within {duration_s} s + {slack:?}: {status:?}",
            self.name
        );
        crate::final_json(&self.proc)
    }
}
