//! The old stack's cost per packet (session -> laminar -> secure layer -> socket, as at
//! ac3599f), for comparison with `benches/carriers.rs`'s `seam` figure: the same loop
//! (an established session on the simulated network, an instant link; one plaintext
//! down and one up per exchange, 1 ms of virtual time each; batches of 1,000) through
//! what the old drivers did each pump: `set_clock`, `send_unreliable`, laminar's
//! `manual_poll` on both sides, and its events drained.
//!
//! Not built here: this file only compiles against ac3599f's `venture-net` (laminar is
//! gone since). `scripts/old-stack-seam.sh` builds and runs it in a worktree of that
//! commit, as `venture-net`'s bench `seam_old`.

use std::time::{Duration, Instant};

use laminar::SocketEvent;
use venture_net::driver::session_laminar_config;
use venture_net::secure::initiator::Trust;
use venture_net::secure::responder::Responder;
use venture_net::secure::socket::{SecureClientSocket, SecureServerSocket};
use venture_net::secure::StaticKeypair;
use venture_net::transport::simnet::{SimNet, SimSocket};
use venture_net::transport::Endpoint;

const BATCH: usize = 1000;
/// Default batches; `VENTURE_SEAM_BATCHES` sets another count and `VENTURE_SEAM_SIZE`
/// one plaintext size (for instruction counts under callgrind: the difference between
/// two batch counts is the per-packet cost, setup and handshake cancelled out).
const BATCHES: usize = 200;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

struct Old {
    net: SimNet,
    server: Endpoint<SecureServerSocket<SimSocket>>,
    client: Endpoint<SecureClientSocket<SimSocket>>,
    server_addr: std::net::SocketAddr,
    client_addr: std::net::SocketAddr,
    epoch: Instant,
}

impl Old {
    fn now(&self) -> (Instant, Duration) {
        let now = self.net.now();
        (now, now.saturating_duration_since(self.epoch))
    }

    fn server_sends(&mut self, payload: &[u8]) {
        let (now, t) = self.now();
        self.server.socket_mut().set_clock(t);
        self.server.send_unreliable(self.client_addr, payload.to_vec());
        self.server.poll(now);
    }

    fn server_receives(&mut self, on: &mut dyn FnMut(&[u8])) {
        let (now, t) = self.now();
        self.server.socket_mut().set_clock(t);
        self.server.poll(now);
        for ev in self.server.drain() {
            if let SocketEvent::Packet(p) = ev {
                on(p.payload());
            }
        }
    }

    fn client_sends(&mut self, payload: &[u8]) {
        let (now, t) = self.now();
        self.client.socket_mut().set_clock(t);
        self.client.send_unreliable(self.server_addr, payload.to_vec());
        self.client.poll(now);
    }

    fn client_receives(&mut self, on: &mut dyn FnMut(&[u8])) {
        let (now, t) = self.now();
        self.client.socket_mut().set_clock(t);
        self.client.poll(now);
        for ev in self.client.drain() {
            if let SocketEvent::Packet(p) = ev {
                on(p.payload());
            }
        }
    }

    fn tick(&mut self) {
        self.net.advance(Duration::from_millis(1));
    }
}

fn main() {
    let net = SimNet::new(21);
    let epoch = net.now() - Duration::from_secs(1);
    let server_sock = net.bind_any().expect("bind");
    let client_sock = net.bind_any().expect("bind");
    let (server_addr, client_addr) = (server_sock.addr(), client_sock.addr());
    let responder = Responder::new(StaticKeypair::from_private([42; 32]), [3; 16], 16);
    let mut old = Old {
        server: Endpoint::new(
            SecureServerSocket::new(server_sock, responder),
            session_laminar_config(),
        ),
        client: Endpoint::new(
            SecureClientSocket::new(client_sock, server_addr, Trust::FirstUse),
            session_laminar_config(),
        ),
        net,
        server_addr,
        client_addr,
        epoch,
    };
    let mut heard = 0;
    old.client_sends(b"hello");
    for _ in 0..8 {
        old.server_receives(&mut |_| heard += 1);
        old.server_sends(b"welcome");
        old.client_receives(&mut |_| heard += 1);
        old.client_sends(b"again");
    }
    old.server_receives(&mut |_| heard += 1);
    assert!(heard >= 10, "the handshake and the first packets got through ({heard})");
    println!(
        "old stack (ac3599f: laminar over the secure layer) cost per packet, no session; simulated instant link; \
         mean over batches of {BATCH} (200 unless VENTURE_SEAM_BATCHES), p99 of the batches"
    );
    let batches = env_or("VENTURE_SEAM_BATCHES", BATCHES);
    let sizes: Vec<usize> = match env_or("VENTURE_SEAM_SIZE", 0) {
        0 => vec![60, 200, 1200],
        one => vec![one],
    };
    for size in sizes {
        let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let mut down = Vec::with_capacity(batches);
        let mut up = Vec::with_capacity(batches);
        for batch in 0..=batches {
            let (mut d, mut u) = (Duration::ZERO, Duration::ZERO);
            let mut got = 0usize;
            for _ in 0..BATCH {
                let t = Instant::now();
                old.server_sends(&payload);
                old.client_receives(&mut |p| got += p.len());
                d += t.elapsed();
                let t = Instant::now();
                old.client_sends(&payload);
                old.server_receives(&mut |p| got += p.len());
                u += t.elapsed();
                old.tick();
            }
            assert_eq!(got, 2 * BATCH * size, "every packet delivered once");
            if batch > 0 {
                down.push(d);
                up.push(u);
            }
        }
        for (dir, samples) in [("server -> client", down), ("client -> server", up)] {
            let mut s: Vec<f64> = samples
                .iter()
                .map(|d| d.as_secs_f64() * 1e9 / BATCH as f64)
                .collect();
            let mean = s.iter().sum::<f64>() / s.len() as f64;
            s.sort_by(f64::total_cmp);
            let p99 = s[((s.len() - 1) as f64 * 0.99).round() as usize];
            println!("  {size:>4} B {dir}: mean {mean:>7.0} ns  p99 {p99:>7.0} ns");
        }
    }
}
