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

#[path = "seam_loop.rs"]
mod seam_loop;
use seam_loop::Stack;

use laminar::SocketEvent;
use venture_net::driver::session_laminar_config;
use venture_net::secure::initiator::Trust;
use venture_net::secure::responder::Responder;
use venture_net::secure::socket::{SecureClientSocket, SecureServerSocket};
use venture_net::secure::StaticKeypair;
use venture_net::transport::simnet::{SimNet, SimSocket};
use venture_net::transport::Endpoint;

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
}

impl Stack for Old {
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
        "old stack (ac3599f: laminar over the secure layer) cost per packet, no session; simulated instant link"
    );
    seam_loop::measure(&mut old);
}
