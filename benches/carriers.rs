//! Carriers (issue 21), two figures:
//! 1. **join time per carrier**: a real release `venture-server` on 127.0.0.1 (one for
//!    all runs, `-max-players 64`), and for each of UDP, TCP and WebSocket, runs of
//!    `venture-client --bots 1 --transport X`: the time from spawning the client process
//!    until the server's `/status` lists its player on carrier X with inputs counted (a
//!    client sends inputs only once it has its snapshot and plays), polled every 5 ms.
//!    The carriers take turns run by run, so load from elsewhere falls on all alike; the
//!    median and the spread per carrier are printed.
//! 2. **the seam's cost per packet**: an established secure session on the simulated
//!    network (a perfect, instant link), the session left out: one plaintext handed down
//!    by the server and up at the client, and one the other way, through what the drivers
//!    do each pump: the endpoint (`Responder`) or `Initiator`, `poll_transmit`, the
//!    carrier's `send`, and on the other side `poll`, `handle_timeout`, `recv`, `handle`,
//!    `poll_datagram`. Mean ns per packet each way, at 60, 200 and 1200 bytes of
//!    plaintext, over batches of 1,000 (p99 of the batches). The same loop on the old
//!    stack (session -> laminar -> secure layer, ac3599f) is
//!    `scripts/old-stack-seam.sh`, which builds it in a worktree of that commit.
//!
//! Run: `cargo bench --bench carriers` (both), `cargo bench --bench carriers -- join` or
//! `-- seam`. Wall time: figures to compare want an idle machine.

use std::time::{Duration, Instant};

use venture_net::carrier::simnet::{SimNet, SimSocket};
use venture_net::carrier::{Carrier, CarrierKind, Remote};
use venture_net::secure::initiator::{Initiator, Trust};
use venture_net::secure::responder::Responder;
use venture_net::secure::wire::MAX_WIRE_DATAGRAM;
use venture_net::secure::StaticKeypair;
use venture_testkit::http::get_timeout;
use venture_testkit::{bin, Proc, Scratch, Server};

#[path = "common/seam_loop.rs"]
mod seam_loop;
use seam_loop::Stack;

const JOIN_RUNS: usize = 9;
const JOIN_GIVE_UP: Duration = Duration::from_secs(30);
/// Whether `/status` lists a player named `name` on `carrier` whose inputs were counted.
fn plays_on(port: u16, name: &str, carrier: &str) -> bool {
    let Ok((200, body)) = get_timeout(port, "/status", Duration::from_secs(2)) else {
        return false;
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body.trim()) else {
        return false;
    };
    v["players"].as_array().is_some_and(|players| {
        players.iter().any(|p| {
            p["name"].as_str().is_some_and(|n| n.starts_with(name))
                && p["carrier"] == carrier
                && p["inputs_on_time"].as_u64().unwrap_or(0)
                    + p["inputs_substituted"].as_u64().unwrap_or(0)
                    > 0
        })
    })
}

fn join_times() {
    let scratch = Scratch::new("bench-carriers");
    let server = Server::builder(bin!("venture-server"))
        .dir(scratch.path())
        .args(&["-max-players", "64", "-seed", "2121", "--no-replay"])
        .env("LOG_LEVEL", "error")
        .start();
    let carriers = ["udp", "tcp", "ws"];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); carriers.len()];
    for run in 0..JOIN_RUNS {
        for (k, carrier) in carriers.iter().enumerate() {
            let name = format!("j{carrier}{run}");
            let started = Instant::now();
            let client = Proc::spawn(
                bin!("venture-client"),
                &[
                    "--server",
                    &server.addr(),
                    "--bots",
                    "1",
                    "--name",
                    &name,
                    "--transport",
                    carrier,
                    "--duration",
                    "20",
                    "--status-every",
                    "0",
                    "--secret-dir",
                    &scratch.arg(format!("secrets-{name}")),
                ],
                scratch.path(),
                &name,
                &[],
            );
            let mut joined = None;
            while started.elapsed() < JOIN_GIVE_UP {
                if plays_on(server.port, &name, carrier) {
                    joined = Some(started.elapsed());
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let joined = joined.unwrap_or_else(|| {
                panic!(
                    "{carrier} run {run}: not playing after {JOIN_GIVE_UP:?}; client stderr:\n{}",
                    client.stderr()
                )
            });
            times[k].push(joined);
            drop(client);
        }
    }
    println!(
        "join time per carrier: `venture-client --bots 1 --transport X` against a release venture-server on 127.0.0.1, \
         process spawn -> the server counts the player's inputs on X (/status polled every 5 ms); {JOIN_RUNS} runs each, carriers in turn"
    );
    println!(
        "  {:<8} {:>10} {:>10} {:>10}",
        "carrier", "median", "min", "max"
    );
    for (k, carrier) in carriers.iter().enumerate() {
        let mut t = times[k].clone();
        t.sort_unstable();
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        println!(
            "  {carrier:<8} {:>10} {:>10} {:>10}",
            ms(t[t.len() / 2]),
            ms(t[0]),
            ms(t[t.len() - 1])
        );
    }
}

/// One established secure session on a simulated link, driven the way the drivers do
/// it, without the sessions.
struct Seam {
    net: SimNet,
    server: SimSocket,
    endpoint: Responder,
    client: SimSocket,
    initiator: Initiator,
    server_remote: Remote,
    client_remote: Remote,
    t: Duration,
    buf: Vec<u8>,
}

impl Seam {
    fn new() -> Seam {
        let net = SimNet::new(21);
        let server = net.bind_any().expect("bind");
        let client = net.bind_any().expect("bind");
        let server_remote = Remote::udp(server.addr());
        let client_remote = Remote::udp(client.addr());
        let mut s = Seam {
            net,
            server,
            endpoint: Responder::new(StaticKeypair::from_private([42; 32]), [3; 16], 16),
            client,
            initiator: Initiator::new(Trust::FirstUse),
            server_remote,
            client_remote,
            t: Duration::from_secs(1),
            buf: vec![0; MAX_WIRE_DATAGRAM],
        };
        // The handshake: the client's first plaintext goes as early data.
        s.client_sends(b"hello");
        for _ in 0..8 {
            s.server_receives(&mut |_| {});
            s.server_sends(b"welcome");
            s.client_receives(&mut |_| {});
            s.client_sends(b"again");
        }
        assert!(s.initiator.is_established(), "handshake done");
        s.server_receives(&mut |_| {});
        s
    }
}

impl Stack for Seam {
    fn server_sends(&mut self, plaintext: &[u8]) {
        self.endpoint.send(self.client_remote, plaintext);
        while let Some((to, packet)) = self.endpoint.poll_transmit() {
            self.server.send(to, &packet);
        }
    }

    fn server_receives(&mut self, on: &mut dyn FnMut(&[u8])) {
        self.server.poll(self.t);
        self.endpoint.handle_timeout(self.t);
        while let Some((n, from)) = self.server.recv(&mut self.buf) {
            self.endpoint.handle(self.t, from, &self.buf[..n]);
        }
        while let Some((_, plaintext)) = self.endpoint.poll_datagram() {
            on(&plaintext);
        }
        // Transmits the handshake queued (none once established).
        while let Some((to, packet)) = self.endpoint.poll_transmit() {
            self.server.send(to, &packet);
        }
    }

    fn client_sends(&mut self, plaintext: &[u8]) {
        self.initiator.send_datagram(self.t, plaintext);
        while let Some(packet) = self.initiator.poll_transmit() {
            self.client.send(self.server_remote, &packet);
        }
    }

    fn client_receives(&mut self, on: &mut dyn FnMut(&[u8])) {
        self.client.poll(self.t);
        self.initiator.handle_timeout(self.t);
        while let Some((n, from)) = self.client.recv(&mut self.buf) {
            if from.carrier == CarrierKind::Udp && from.addr != self.server_remote.addr {
                continue;
            }
            self.initiator.handle(self.t, &self.buf[..n]);
        }
        while let Some(plaintext) = self.initiator.poll_datagram() {
            on(&plaintext);
        }
        while let Some(packet) = self.initiator.poll_transmit() {
            self.client.send(self.server_remote, &packet);
        }
    }

    fn tick(&mut self) {
        self.t += Duration::from_millis(1);
        self.net.advance(Duration::from_millis(1));
    }
}

fn seam_cost() {
    println!(
        "seam cost per packet (secure layer + the drivers' carrier steps, no session; simulated instant link)"
    );
    seam_loop::measure(&mut Seam::new());
}

fn main() {
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let want = |name: &str| only.as_deref().is_none_or(|o| name.contains(o));
    if want("seam") {
        seam_cost();
    }
    if want("join") {
        join_times();
    }
}
