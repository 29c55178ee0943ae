//! Drivers: a session on top of a laminar endpoint on top of the secure layer, for any
//! socket laminar can use (real UDP under mio, or the simulated network). One
//! `pump(now)` moves everything one step: set the layer's clock, read datagrams into the
//! session, let it act on the clock, queue its replies, flush.

use std::time::{Duration, Instant};

use laminar::{Config, DatagramSocket, SocketEvent};
use venture_sim::{PlayerInput, World};

use crate::client::ClientSession;
use crate::secure::initiator::{SecureEvent, Trust};
use crate::secure::responder::Responder;
use crate::secure::socket::{SecureClientSocket, SecureServerSocket};
use crate::secure::{KeyError, LayerStats, StaticKeypair};
use crate::server::ServerSession;
use crate::transport::{laminar_config, Endpoint};

/// Default bound on the server's secure sessions when the caller gives none.
pub const DEFAULT_MAX_PEERS: usize = 512;

/// The secure layer's settings on a server.
#[derive(Debug, Clone)]
pub struct ServerLayer {
    pub keypair: StaticKeypair,
    /// Most sessions kept; size it above players plus spectators (a full table evicts
    /// only idle peers).
    pub max_peers: usize,
}

impl ServerLayer {
    /// A fresh key (tests, or a server without a saves directory).
    pub fn ephemeral() -> Result<ServerLayer, KeyError> {
        Ok(ServerLayer {
            keypair: StaticKeypair::generate()?,
            max_peers: DEFAULT_MAX_PEERS,
        })
    }
}

/// 16 unpredictable bytes for the layer's cookie MAC (from a fresh key pair, which snow
/// draws from the operating system's entropy).
fn cookie_secret() -> Result<[u8; 16], KeyError> {
    let kp = StaticKeypair::generate()?;
    let mut s = [0u8; 16];
    s.copy_from_slice(&kp.private()[..16]);
    Ok(s)
}

/// Our laminar configuration for sessions: `laminar_config()` with laminar's own
/// heartbeats off. laminar heartbeats every *established* connection, on its own and
/// forever until its idle timeout; our protocol keeps peers alive itself (frames and
/// inputs every tick, pings every 500 ms), so laminar's heartbeat would only add bytes.
pub fn session_laminar_config() -> Config {
    Config {
        heartbeat_interval: None,
        ..laminar_config()
    }
}

/// Pumps datagrams between a socket and a [`ServerSession`], through the secure layer.
pub struct ServerDriver<S: DatagramSocket> {
    pub endpoint: Endpoint<SecureServerSocket<S>>,
    pub session: ServerSession,
    epoch: Instant,
}

impl<S: DatagramSocket> ServerDriver<S> {
    /// A server with a fresh, ephemeral key (tests and benches). `epoch` is the instant
    /// the session's `Duration` clock counts from.
    ///
    /// # Panics
    /// If the operating system gives no entropy for the key.
    pub fn new(socket: S, session: ServerSession, epoch: Instant) -> Self {
        let layer = ServerLayer::ephemeral().expect("OS entropy for an ephemeral server key");
        Self::with_layer(socket, session, layer, epoch).expect("OS entropy for the cookie secret")
    }

    /// A server with the given key and peer bound.
    pub fn with_layer(
        socket: S,
        session: ServerSession,
        layer: ServerLayer,
        epoch: Instant,
    ) -> Result<Self, KeyError> {
        let responder = Responder::new(layer.keypair, cookie_secret()?, layer.max_peers);
        let mut session = session;
        session.set_admitted_by_transport(true);
        Ok(ServerDriver {
            endpoint: Endpoint::new(
                SecureServerSocket::new(socket, responder),
                session_laminar_config(),
            ),
            session,
            epoch,
        })
    }

    /// The socket beneath the layer.
    pub fn socket(&self) -> &S {
        self.endpoint.socket().inner()
    }

    pub fn socket_mut(&mut self) -> &mut S {
        self.endpoint.socket_mut().inner_mut()
    }

    /// The secure layer's counters.
    pub fn layer_stats(&self) -> LayerStats {
        self.endpoint.socket().stats()
    }

    /// The server's public key.
    pub fn public_key(&self) -> &crate::secure::PublicKey {
        self.endpoint.socket().responder().keypair().public()
    }

    /// Secure sessions held.
    pub fn secure_peers(&self) -> usize {
        self.endpoint.socket().responder().peer_count()
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
        self.endpoint.socket_mut().set_clock(t);
        self.endpoint.poll(now);
        for event in self.endpoint.drain() {
            match event {
                SocketEvent::Packet(p) => self.session.on_datagram(p.addr(), p.payload(), t),
                SocketEvent::Timeout(addr) | SocketEvent::Disconnect(addr) => {
                    self.session.on_disconnect(addr);
                    self.endpoint.socket_mut().responder_mut().forget(addr);
                }
                SocketEvent::Connect(_) => {}
            }
        }
        self.session.poll(t);
        self.flush(now);
    }

    /// Sends whatever the session queued (e.g. after `shut_down`).
    pub fn flush(&mut self, now: Instant) {
        let t = self.since_epoch(now);
        self.endpoint.socket_mut().set_clock(t);
        for (addr, bytes) in self.session.drain_outgoing() {
            self.endpoint.send_unreliable(addr, bytes);
        }
        self.endpoint.poll(now);
    }
}

/// Pumps datagrams between a socket and a [`ClientSession`], through the secure layer.
pub struct ClientDriver<S: DatagramSocket> {
    pub endpoint: Endpoint<SecureClientSocket<S>>,
    pub session: ClientSession,
    epoch: Instant,
}

impl<S: DatagramSocket> ClientDriver<S> {
    /// A client that trusts the server's key on first use (tests and benches; the binary
    /// passes its pin with [`with_trust`](Self::with_trust)).
    pub fn new(socket: S, session: ClientSession, epoch: Instant) -> Self {
        Self::with_trust(socket, session, Trust::FirstUse, epoch)
    }

    pub fn with_trust(socket: S, mut session: ClientSession, trust: Trust, epoch: Instant) -> Self {
        let server = session.server();
        session.set_admitted_by_transport(true);
        ClientDriver {
            endpoint: Endpoint::new(
                SecureClientSocket::new(socket, server, trust),
                session_laminar_config(),
            ),
            session,
            epoch,
        }
    }

    /// The socket beneath the layer.
    pub fn socket(&self) -> &S {
        self.endpoint.socket().inner()
    }

    pub fn socket_mut(&mut self) -> &mut S {
        self.endpoint.socket_mut().inner_mut()
    }

    /// The secure layer's counters.
    pub fn layer_stats(&self) -> LayerStats {
        self.endpoint.socket().stats()
    }

    /// Key pinned on first use, key mismatches, layer version mismatches.
    pub fn take_layer_events(&mut self) -> Vec<SecureEvent> {
        self.endpoint.socket_mut().take_events()
    }

    /// Whether the layer has stopped for good (wrong server key or layer version).
    pub fn layer_failed(&self) -> bool {
        self.endpoint.socket().initiator().has_failed()
    }

    pub fn next_wakeup(&self) -> Instant {
        self.epoch + self.session.next_wakeup()
    }

    /// `now` on the session's clock (for calls such as `session.reconnecting(t)`).
    pub fn since_epoch(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.epoch)
    }

    pub fn pump(&mut self, now: Instant, input_for: &mut dyn FnMut(&World, u8) -> PlayerInput) {
        let t = self.since_epoch(now);
        self.endpoint.socket_mut().set_clock(t);
        self.endpoint.poll(now);
        for event in self.endpoint.drain() {
            // The layer beneath only opens datagrams from our server (anything else on
            // our port is counted there as `stranger`).
            if let SocketEvent::Packet(p) = event {
                self.session.on_datagram(p.payload(), t);
            }
        }
        self.session.poll(t, input_for);
        self.flush(now);
    }

    pub fn flush(&mut self, now: Instant) {
        let server = self.session.server();
        let t = self.since_epoch(now);
        self.endpoint.socket_mut().set_clock(t);
        for bytes in self.session.drain_outgoing() {
            self.endpoint.send_unreliable(server, bytes);
        }
        self.endpoint.poll(now);
    }
}
