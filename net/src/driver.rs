//! Drivers: a session on the secure layer on a carrier. One `pump(now)` moves everything
//! one step: the carrier's packets into the layer, the layer's opened plaintext and
//! events into the session, the session's clock, and everything they queued back out.
//! No layer reaches into another: each is handed time and bytes, and says what happened
//! by events (`EndpointEvent`, `SecureEvent`, `ServerEvent`, `ClientEvent`).
//!
//! `pump_at(t)` is the same step on the session's own clock (a `Duration` since the
//! driver's epoch), for hosts without `std::time::Instant` (the browser).

use std::time::{Duration, Instant};

use venture_sim::{PlayerInput, World};

use crate::carrier::{Carrier, CarrierKind, CarrierStats, Remote};
use crate::client::ClientSession;
use crate::secure::initiator::{Initiator, SecureEvent, Trust};
use crate::secure::responder::{EndpointEvent, Responder};
use crate::secure::wire::MAX_WIRE_DATAGRAM;
use crate::secure::{KeyError, LayerStats, StaticKeypair};
use crate::server::ServerSession;

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

/// A [`ServerSession`] on the secure endpoint on carrier `C`.
pub struct ServerDriver<C: Carrier> {
    carrier: C,
    endpoint: Responder,
    pub session: ServerSession,
    epoch: Instant,
    buf: Vec<u8>,
}

impl<C: Carrier> ServerDriver<C> {
    /// A server with a fresh, ephemeral key (tests and benches). `epoch` is the instant
    /// the session's `Duration` clock counts from.
    ///
    /// # Panics
    /// If the operating system gives no entropy for the key.
    pub fn new(carrier: C, session: ServerSession, epoch: Instant) -> Self {
        let layer = ServerLayer::ephemeral().expect("OS entropy for an ephemeral server key");
        Self::with_layer(carrier, session, layer, epoch).expect("OS entropy for the cookie secret")
    }

    /// A server with the given key and peer bound.
    pub fn with_layer(
        carrier: C,
        mut session: ServerSession,
        layer: ServerLayer,
        epoch: Instant,
    ) -> Result<Self, KeyError> {
        let mut endpoint = Responder::new(layer.keypair, cookie_secret()?, layer.max_peers);
        // One idle timeout per peer: the endpoint's, at the session's client timeout (the
        // session leaves silence to it once it is behind the layer).
        endpoint.set_idle_timeout(session.client_timeout());
        session.set_admitted_by_transport(true);
        Ok(ServerDriver {
            carrier,
            endpoint,
            session,
            epoch,
            buf: vec![0; MAX_WIRE_DATAGRAM],
        })
    }

    pub fn carrier(&self) -> &C {
        &self.carrier
    }

    /// The carrier, for its owner's I/O (registering, adopting stream connections).
    pub fn carrier_mut(&mut self) -> &mut C {
        &mut self.carrier
    }

    /// The carrier's counters for one kind.
    pub fn carrier_stats(&self, kind: CarrierKind) -> CarrierStats {
        self.carrier.stats(kind)
    }

    /// The secure layer's counters.
    pub fn layer_stats(&self) -> LayerStats {
        self.endpoint.stats()
    }

    /// Secure sessions held.
    pub fn secure_peers(&self) -> usize {
        self.endpoint.peer_count()
    }

    pub fn since_epoch(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.epoch)
    }

    /// When the driver next needs a pump (the session's tick, or the layer's timers).
    pub fn next_wakeup(&self) -> Instant {
        let t = self.session.next_tick_at();
        let t = self.endpoint.poll_timeout().map_or(t, |e| e.min(t));
        self.epoch + t
    }

    pub fn pump(&mut self, now: Instant) {
        self.pump_at(self.since_epoch(now));
    }

    pub fn pump_at(&mut self, t: Duration) {
        self.carrier.poll(t);
        self.endpoint.handle_timeout(t);
        while let Some((n, from)) = self.carrier.recv(&mut self.buf) {
            self.endpoint.handle(t, from, &self.buf[..n]);
        }
        while let Some(remote) = self.carrier.poll_closed() {
            self.endpoint.forget(remote);
            self.session.on_disconnect(remote);
        }
        while let Some(event) = self.endpoint.poll_event() {
            match event {
                EndpointEvent::Connected(remote) => self.carrier.note_established(remote),
                EndpointEvent::TimedOut(remote) => {
                    self.session.on_timeout(remote);
                    self.carrier.close(remote);
                }
                EndpointEvent::Disconnected(remote) => {
                    self.session.on_disconnect(remote);
                    self.carrier.close(remote);
                }
            }
        }
        while let Some((from, plaintext)) = self.endpoint.poll_datagram() {
            self.session.on_datagram(from, &plaintext, t);
        }
        self.session.poll(t);
        self.flush();
    }

    /// Writes out whatever the session queued (e.g. after `shut_down`). It needs no time:
    /// sealing a datagram for an established peer reads no clock.
    pub fn flush(&mut self) {
        for (to, bytes) in self.session.drain_outgoing() {
            self.endpoint.send(to, &bytes);
        }
        while let Some((to, packet)) = self.endpoint.poll_transmit() {
            self.carrier.send(to, &packet);
        }
    }
}

/// A [`ClientSession`] on the secure layer's initiator on carrier `C`.
pub struct ClientDriver<C: Carrier> {
    carrier: C,
    initiator: Initiator,
    pub session: ClientSession,
    server: Remote,
    /// What the session's `Duration` clock counts from; `None` for a driver on the
    /// session's clock alone ([`on_session_clock`](Self::on_session_clock)), which is
    /// pumped with `pump_at`.
    epoch: Option<Instant>,
    buf: Vec<u8>,
}

impl<C: Carrier> ClientDriver<C> {
    /// A client that trusts the server's key on first use (tests and benches; the binary
    /// passes its pin with [`with_trust`](Self::with_trust)).
    pub fn new(carrier: C, session: ClientSession, epoch: Instant) -> Self {
        Self::with_trust(carrier, session, Trust::FirstUse, epoch)
    }

    pub fn with_trust(carrier: C, session: ClientSession, trust: Trust, epoch: Instant) -> Self {
        let mut driver = Self::on_session_clock(carrier, session, trust);
        driver.epoch = Some(epoch);
        driver
    }

    /// A driver for hosts without `std::time::Instant` (the browser): pump it with
    /// [`pump_at`](Self::pump_at) and ask [`next_wakeup_at`](Self::next_wakeup_at), both
    /// on the session's `Duration` clock. (Its `Instant` methods take the first `Instant`
    /// they are given as the epoch.)
    pub fn on_session_clock(carrier: C, mut session: ClientSession, trust: Trust) -> Self {
        let server = Remote::udp(session.server());
        session.set_admitted_by_transport(true);
        ClientDriver {
            carrier,
            initiator: Initiator::new(trust),
            session,
            server,
            epoch: None,
            buf: vec![0; MAX_WIRE_DATAGRAM],
        }
    }

    /// Says the carrier is a stream (a pinned client then skips the cookie round trip).
    pub fn set_stream_carrier(&mut self, on: bool) {
        self.initiator.set_stream_carrier(on);
    }

    pub fn carrier(&self) -> &C {
        &self.carrier
    }

    pub fn carrier_mut(&mut self) -> &mut C {
        &mut self.carrier
    }

    /// The carrier's counters for one kind.
    pub fn carrier_stats(&self, kind: CarrierKind) -> CarrierStats {
        self.carrier.stats(kind)
    }

    /// The secure layer's counters.
    pub fn layer_stats(&self) -> LayerStats {
        self.initiator.stats()
    }

    /// Whether the secure layer holds a session with the server.
    pub fn is_established(&self) -> bool {
        self.initiator.is_established()
    }

    /// Key pinned on first use, key mismatches, layer version mismatches.
    pub fn take_layer_events(&mut self) -> Vec<SecureEvent> {
        self.initiator.take_events()
    }

    /// Whether the layer has stopped for good (wrong server key or layer version).
    pub fn layer_failed(&self) -> bool {
        self.initiator.has_failed()
    }

    /// When the driver next needs a pump, on the session's clock.
    pub fn next_wakeup_at(&self) -> Duration {
        let t = self.session.next_wakeup();
        self.initiator.poll_timeout().map_or(t, |h| h.min(t))
    }

    /// When the driver next needs a pump (now, for a driver never given an `Instant`).
    pub fn next_wakeup(&self) -> Instant {
        match self.epoch {
            Some(epoch) => epoch + self.next_wakeup_at(),
            None => Instant::now(),
        }
    }

    /// `now` on the session's clock (for calls such as `session.reconnecting(t)`).
    pub fn since_epoch(&self, now: Instant) -> Duration {
        self.epoch
            .map_or(Duration::ZERO, |e| now.saturating_duration_since(e))
    }

    /// The session's clock at `now`, taking `now` as the epoch if there is none yet.
    fn clock(&mut self, now: Instant) -> Duration {
        now.saturating_duration_since(*self.epoch.get_or_insert(now))
    }

    pub fn pump(&mut self, now: Instant, input_for: &mut dyn FnMut(&World, u8) -> PlayerInput) {
        let t = self.clock(now);
        self.pump_at(t, input_for);
    }

    pub fn pump_at(&mut self, t: Duration, input_for: &mut dyn FnMut(&World, u8) -> PlayerInput) {
        self.carrier.poll(t);
        self.initiator.handle_timeout(t);
        while let Some((n, from)) = self.carrier.recv(&mut self.buf) {
            // A datagram socket hears anyone; a stream only its server.
            if from.carrier == CarrierKind::Udp && from.addr != self.server.addr {
                self.initiator.note_stranger();
                continue;
            }
            self.initiator.handle(t, &self.buf[..n]);
        }
        while let Some(plaintext) = self.initiator.poll_datagram() {
            self.session.on_datagram(&plaintext, t);
        }
        self.session.poll(t, input_for);
        self.flush_at(t);
    }

    /// Writes out what the session queued since the last pump (e.g. after `leave`).
    pub fn flush(&mut self, now: Instant) {
        let t = self.clock(now);
        self.flush_at(t);
    }

    /// Sends one plaintext datagram through the layer beside the session's own (tests
    /// that play a misbehaving client).
    pub fn send_datagram(&mut self, now: Instant, payload: &[u8]) {
        let t = self.clock(now);
        self.initiator.send_datagram(t, payload);
        self.flush_at(t);
    }

    /// [`flush`](Self::flush) on the session's clock.
    pub fn flush_at(&mut self, t: Duration) {
        for bytes in self.session.drain_outgoing() {
            self.initiator.send_datagram(t, &bytes);
        }
        while let Some(packet) = self.initiator.poll_transmit() {
            self.carrier.send(self.server, &packet);
        }
    }
}
