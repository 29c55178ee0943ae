//! Drivers: a session on top of a laminar endpoint, for any socket laminar can use (real
//! UDP under mio, or the simulated network). One `pump(now)` moves everything one step:
//! read datagrams into the session, let it act on the clock, queue its replies, flush.

use std::time::{Duration, Instant};

use laminar::{Config, DatagramSocket, SocketEvent};
use venture_sim::{PlayerInput, World};

use crate::client::ClientSession;
use crate::server::ServerSession;
use crate::transport::{laminar_config, Endpoint};

/// Our laminar configuration for sessions: `laminar_config()` with laminar's own
/// heartbeats off. laminar heartbeats every *established* connection, and one datagram
/// each way establishes one, so answering a stranger's Hello with a Challenge would make
/// laminar keep sending to that stranger on its own: bytes it never asked for. Our
/// protocol keeps admitted peers alive itself (frames and inputs every tick, pings every
/// 500 ms), so laminar's heartbeat adds nothing but that leak.
pub fn session_laminar_config() -> Config {
    Config {
        heartbeat_interval: None,
        ..laminar_config()
    }
}

/// Pumps datagrams between a socket and a [`ServerSession`].
pub struct ServerDriver<S: DatagramSocket> {
    pub endpoint: Endpoint<S>,
    pub session: ServerSession,
    epoch: Instant,
}

impl<S: DatagramSocket> ServerDriver<S> {
    /// `epoch` is the instant the session's `Duration` clock counts from.
    pub fn new(socket: S, session: ServerSession, epoch: Instant) -> Self {
        ServerDriver {
            endpoint: Endpoint::new(socket, session_laminar_config()),
            session,
            epoch,
        }
    }

    pub fn since_epoch(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.epoch)
    }

    /// When the session next needs a pump.
    pub fn next_wakeup(&self) -> Instant {
        self.epoch + self.session.next_tick_at()
    }

    pub fn pump(&mut self, now: Instant) {
        let t = self.since_epoch(now);
        self.endpoint.poll(now);
        for event in self.endpoint.drain() {
            match event {
                SocketEvent::Packet(p) => self.session.on_datagram(p.addr(), p.payload(), t),
                SocketEvent::Timeout(addr) | SocketEvent::Disconnect(addr) => {
                    self.session.on_disconnect(addr)
                }
                SocketEvent::Connect(_) => {}
            }
        }
        self.session.poll(t);
        self.flush(now);
    }

    /// Sends whatever the session queued (e.g. after `shut_down`).
    pub fn flush(&mut self, now: Instant) {
        for (addr, bytes) in self.session.drain_outgoing() {
            self.endpoint.send_unreliable(addr, bytes);
        }
        self.endpoint.poll(now);
    }
}

/// Pumps datagrams between a socket and a [`ClientSession`].
pub struct ClientDriver<S: DatagramSocket> {
    pub endpoint: Endpoint<S>,
    pub session: ClientSession,
    epoch: Instant,
}

impl<S: DatagramSocket> ClientDriver<S> {
    pub fn new(socket: S, session: ClientSession, epoch: Instant) -> Self {
        ClientDriver {
            endpoint: Endpoint::new(socket, session_laminar_config()),
            session,
            epoch,
        }
    }

    pub fn next_wakeup(&self) -> Instant {
        self.epoch + self.session.next_wakeup()
    }

    /// `now` on the session's clock (for calls such as `session.reconnecting(t)`).
    pub fn since_epoch(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.epoch)
    }

    pub fn pump(&mut self, now: Instant, input_for: &mut dyn FnMut(&World, u8) -> PlayerInput) {
        let t = now.saturating_duration_since(self.epoch);
        let server = self.session.server();
        self.endpoint.poll(now);
        for event in self.endpoint.drain() {
            if let SocketEvent::Packet(p) = event {
                // Only the server we talk to; anything else on our port is noise.
                if p.addr() == server {
                    self.session.on_datagram(p.payload(), t);
                }
            }
        }
        self.session.poll(t, input_for);
        self.flush(now);
    }

    pub fn flush(&mut self, now: Instant) {
        let server = self.session.server();
        for bytes in self.session.drain_outgoing() {
            self.endpoint.send_unreliable(server, bytes);
        }
        self.endpoint.poll(now);
    }
}
