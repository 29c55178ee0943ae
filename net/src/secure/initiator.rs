//! The client side of the layer, sans-IO: plaintext and datagrams in, datagrams out.
//!
//! The client starts its handshake when the session first sends (queueing what it sends
//! meanwhile, bounded) and repeats its current handshake packet every [`RETRY`] until
//! answered. The server's key arrives in the `Cookie`; [`Trust`] decides whether to take
//! it: a pinned key must match, and on first use the key is pinned for the rest of this
//! initiator's life and reported in [`SecureEvent::KeyPinned`] so the binary can save it.
//! A `Cookie` is unauthenticated (anyone can spoof one, a flipped bit alters one), so on
//! first use the key is pinned only once the server's `Accept` proves it holds the private
//! half, and a pinned client gives up on a different key only after
//! [`MISMATCH_LIMIT`] `Cookie`s in a row present one (a single corrupted or forged
//! `Cookie` is dropped; the next `Hello` retry asks again). Refusals are unauthenticated
//! too: a version refusal stops the client only as the [`MISMATCH_LIMIT`]th since the last
//! `Cookie`, and a stale-cookie refusal restarts a handshake whose cookie is certainly
//! still valid only as the [`MISMATCH_LIMIT`]th for that handshake.
//! The datagrams queued meanwhile (a game client's `Hello` and `Join`) ride in the
//! `Initiate` as Noise early data, so joining takes no more round trips than without the
//! layer.
//!
//! When nothing authenticated has come back for [`REHANDSHAKE_AFTER`] while we keep
//! sending (the server restarted and forgot us, or a long partition outlived its idle
//! timeout), the client starts a new handshake and keeps using the old session until the
//! new one is up, so a server that merely went quiet loses nothing.

use std::collections::VecDeque;
use std::time::Duration;

use snow::HandshakeState;

use super::channel::{open_either, Channel, NotOpened};
use super::keys::{noise_params, PublicKey};
use super::wire::{self, Packet, ParseError, RefuseReason};
use super::{DropReason, LayerStats, COOKIE_BUCKET, PROLOGUE};

/// Handshake packets are repeated this often until answered.
pub const RETRY: Duration = Duration::from_millis(500);
/// Least silence (while sending) after which an established client shakes hands again;
/// on a long link it waits at least twice the handshake's round trip plus a second, so
/// the normal quiet between a request and its answer never looks like a lost server.
pub const REHANDSHAKE_AFTER: Duration = Duration::from_secs(3);
/// `Data` kept while waiting for the `Accept` it overtook on a jittery link.
const MAX_EARLY_DATA: usize = 16;
/// Datagrams kept while the first handshake is under way; older ones give way.
pub const MAX_QUEUED: usize = 64;
/// `Cookie`s in a row presenting a key other than the pinned one before the client
/// believes the server's key changed and stops.
pub const MISMATCH_LIMIT: u32 = 3;

/// Which server keys the client takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Take whatever key the server presents first, then hold it (trust on first use).
    FirstUse,
    /// Only this key.
    Pinned(PublicKey),
}

/// Things the client's owner should know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecureEvent {
    /// First use: the server presented this key, proved it holds its private half (its
    /// `Accept` authenticated), and the key is now trusted. Comes just before the first
    /// `Established`.
    KeyPinned(PublicKey),
    /// [`MISMATCH_LIMIT`] `Cookie`s in a row presented a key other than the pinned one;
    /// the client stops.
    KeyMismatch {
        expected: PublicKey,
        presented: PublicKey,
    },
    /// The server speaks another layer version; the client stops.
    VersionMismatch { server_version: u8 },
    /// A handshake completed.
    Established,
}

enum Handshake {
    Idle,
    AwaitCookie {
        sent_at: Option<Duration>,
    },
    AwaitAccept {
        state: Box<HandshakeState>,
        /// The key the `Cookie` presented: pinned when the `Accept` proves it (first use).
        server_key: PublicKey,
        initiate: Vec<u8>,
        sent_at: Duration,
        started: Duration,
        /// `StaleCookie` refusals taken as possibly forged so far (see `on_refuse`).
        refusals: u32,
    },
    Failed,
}

struct Session {
    channel: Channel,
    last_heard: Duration,
}

/// The client's half of the layer.
pub struct Initiator {
    trust: Trust,
    handshake: Handshake,
    session: Option<Session>,
    /// The session being replaced during a rehandshake (still accepted on receive).
    previous: Option<Session>,
    queue: VecDeque<Vec<u8>>,
    /// `Data` that arrived before the `Accept` that makes it readable.
    overtaken: VecDeque<(u32, Vec<u8>)>,
    /// The first `Hello` of the current attempt, and how long from it to the `Cookie`: an
    /// upper bound of the round trip (from the last retry it can be far below it on a
    /// long link).
    first_hello: Duration,
    cookie_wait: Duration,
    events: Vec<SecureEvent>,
    stats: LayerStats,
    /// `Cookie`s in a row that presented a key other than the pinned one.
    mismatches: u32,
    /// Version refusals since the last `Cookie`.
    version_refusals: u32,
    /// Packets to put on the carrier, in order.
    transmits: VecDeque<Vec<u8>>,
    /// Opened plaintext for the session above, in order.
    delivered: VecDeque<Vec<u8>>,
    /// On a stream carrier a pinned client skips the cookie round trip (the connection
    /// proved its address).
    skip_cookie: bool,
}

impl std::fmt::Debug for Initiator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Initiator")
            .field("trust", &self.trust)
            .field("established", &self.session.is_some())
            .field("queued", &self.queue.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// An `Initiate` older than this goes back to `Hello` (its cookie may have expired).
/// (The server refuses a stale cookie by itself; this covers a refusal that was lost.)
const INITIATE_GIVE_UP: Duration = Duration::from_secs(15);
/// An `Initiate` unanswered for three times the wait from the attempt's first `Hello` to
/// its `Cookie` (at least a round trip) plus this also goes back to `Hello` when that is
/// sooner: the real server answers within a round trip of any retransmission that
/// arrives, so a longer silence means the Cookie was altered in flight (a wrong key: the
/// server cannot read our `Initiate`) or forged.
const INITIATE_PATIENCE: Duration = Duration::from_secs(2);

impl Initiator {
    pub fn new(trust: Trust) -> Self {
        Initiator {
            trust,
            handshake: Handshake::Idle,
            session: None,
            previous: None,
            queue: VecDeque::new(),
            overtaken: VecDeque::new(),
            first_hello: Duration::ZERO,
            cookie_wait: Duration::ZERO,
            events: Vec::new(),
            stats: LayerStats::default(),
            mismatches: 0,
            version_refusals: 0,
            transmits: VecDeque::new(),
            delivered: VecDeque::new(),
            skip_cookie: false,
        }
    }

    /// Says the carrier is a stream: with a pinned key the handshake starts at the
    /// `Initiate` (the server checks no cookie on a stream), saving a round trip.
    pub fn set_stream_carrier(&mut self, on: bool) {
        self.skip_cookie = on;
    }

    /// One plaintext datagram from the session: sealed onto the transmit queue, or queued
    /// as early data while the handshake is under way.
    pub fn send_datagram(&mut self, now: Duration, plaintext: &[u8]) {
        let out = self.send(plaintext, now);
        self.transmits.extend(out);
    }

    /// One packet from the carrier: answers go to
    /// [`poll_transmit`](Self::poll_transmit), opened plaintext to
    /// [`poll_datagram`](Self::poll_datagram), news to [`take_events`](Self::take_events).
    pub fn handle(&mut self, now: Duration, bytes: &[u8]) {
        let mut out = vec![0u8; wire::MAX_WIRE_DATAGRAM];
        let mut replies = Vec::new();
        if let Some(n) = self.on_datagram(bytes, now, &mut out, &mut replies) {
            out.truncate(n);
            self.delivered.push_back(out);
        }
        self.transmits.extend(replies);
        let late = self.take_overtaken();
        self.delivered.extend(late);
    }

    /// Timers: handshake retries now due.
    pub fn handle_timeout(&mut self, now: Duration) {
        let out = self.handshake_due(now);
        self.transmits.extend(out);
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has work, if ever.
    pub fn poll_timeout(&self) -> Option<Duration> {
        match &self.handshake {
            Handshake::AwaitCookie { sent_at: None } => Some(Duration::ZERO),
            Handshake::AwaitCookie { sent_at: Some(t) } => Some(*t + RETRY),
            Handshake::AwaitAccept {
                sent_at, started, ..
            } => {
                let give_up = INITIATE_GIVE_UP.min(3 * self.cookie_wait + INITIATE_PATIENCE);
                Some((*sent_at + RETRY).min(*started + give_up))
            }
            Handshake::Idle | Handshake::Failed => None,
        }
    }

    /// The next packet to put on the carrier.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    /// The next opened plaintext for the session above.
    pub fn poll_datagram(&mut self) -> Option<Vec<u8>> {
        self.delivered.pop_front()
    }

    pub fn stats(&self) -> LayerStats {
        self.stats
    }

    pub fn trust(&self) -> Trust {
        self.trust
    }

    pub fn is_established(&self) -> bool {
        self.session.is_some()
    }

    /// Whether the client has stopped (wrong key or layer version): see the events.
    pub fn has_failed(&self) -> bool {
        matches!(self.handshake, Handshake::Failed)
    }

    pub fn take_events(&mut self) -> Vec<SecureEvent> {
        std::mem::take(&mut self.events)
    }

    /// Datagrams to put on the wire for one plaintext datagram from the session.
    pub fn send(&mut self, plaintext: &[u8], now: Duration) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if self.has_failed() {
            self.stats.unsendable += 1;
            return out;
        }
        match self.session.as_mut() {
            Some(s) => {
                out.extend(s.channel.seal(plaintext, &mut self.stats));
                // From the first Hello of the handshake (an upper bound of the round trip):
                // the last retry's answer can arrive a few hundred ms after it even on a
                // 5 s link, and too little patience would rehandshake in normal quiet.
                let patience = REHANDSHAKE_AFTER.max(2 * self.cookie_wait + Duration::from_secs(1));
                let silent = now.saturating_sub(s.last_heard) >= patience;
                if silent && matches!(self.handshake, Handshake::Idle) {
                    self.handshake = Handshake::AwaitCookie { sent_at: None };
                }
            }
            None => {
                if self.queue.len() >= MAX_QUEUED {
                    self.queue.pop_front();
                    self.stats.unsendable += 1;
                }
                self.queue.push_back(plaintext.to_vec());
                if matches!(self.handshake, Handshake::Idle) {
                    self.handshake = Handshake::AwaitCookie { sent_at: None };
                }
            }
        }
        out.extend(self.handshake_due(now));
        out
    }

    /// Handshake packets due at `now` (first sends and retries), returned rather than
    /// queued for [`poll_transmit`](Self::poll_transmit) as
    /// [`handle_timeout`](Self::handle_timeout) does.
    pub fn handshake_due(&mut self, now: Duration) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        match &mut self.handshake {
            Handshake::AwaitCookie { sent_at: None } if self.skip_cookie => {
                if let Trust::Pinned(key) = self.trust {
                    // Straight to the Initiate with an empty cookie; its patience is the
                    // longest (no measured round trip yet), and a failure falls back to
                    // the Hello path like any other.
                    self.handshake = Handshake::AwaitCookie { sent_at: Some(now) };
                    self.first_hello = now;
                    self.on_cookie([0u8; crate::cookie::COOKIE_LEN], key, now, &mut out);
                    self.cookie_wait = INITIATE_GIVE_UP;
                } else {
                    self.handshake = Handshake::AwaitCookie { sent_at: Some(now) };
                    self.first_hello = now;
                    out.push(wire::hello());
                }
            }
            Handshake::AwaitCookie { sent_at } => {
                if sent_at.is_none_or(|t| now.saturating_sub(t) >= RETRY) {
                    if sent_at.is_none() {
                        self.first_hello = now;
                    }
                    *sent_at = Some(now);
                    out.push(wire::hello());
                }
            }
            Handshake::AwaitAccept {
                initiate,
                sent_at,
                started,
                ..
            } => {
                let give_up = INITIATE_GIVE_UP.min(3 * self.cookie_wait + INITIATE_PATIENCE);
                if now.saturating_sub(*started) >= give_up {
                    self.handshake = Handshake::AwaitCookie { sent_at: Some(now) };
                    self.first_hello = now;
                    out.push(wire::hello());
                } else if now.saturating_sub(*sent_at) >= RETRY {
                    *sent_at = now;
                    out.push(initiate.clone());
                }
            }
            Handshake::Idle | Handshake::Failed => {}
        }
        out
    }

    /// Plaintext of `Data` that overtook the `Accept` and opens now, for the session.
    pub fn take_overtaken(&mut self) -> Vec<Vec<u8>> {
        let mut opened = Vec::new();
        if !matches!(self.handshake, Handshake::Idle) {
            return opened;
        }
        let Some(s) = self.session.as_mut() else {
            self.overtaken.clear();
            return opened;
        };
        for (counter, sealed) in self.overtaken.drain(..) {
            let mut out = vec![0u8; sealed.len()];
            match s.channel.open(counter, &sealed, &mut out) {
                Ok(n) => {
                    out.truncate(n);
                    self.stats.opened += 1;
                    opened.push(out);
                }
                Err(e) => self.stats.drop(e.reason()),
            }
        }
        opened
    }

    /// One datagram from the server. Returns plaintext for the session (data, or nothing) and
    /// pushes any datagrams to send into `replies`.
    pub fn on_datagram(
        &mut self,
        bytes: &[u8],
        now: Duration,
        out: &mut [u8],
        replies: &mut Vec<Vec<u8>>,
    ) -> Option<usize> {
        let packet = match wire::parse(bytes) {
            Ok(p) => p,
            Err(ParseError::Malformed) => return self.drop(DropReason::Malformed),
            Err(ParseError::Truncated) => return self.drop(DropReason::Truncated),
            Err(ParseError::Version(_)) => return self.drop(DropReason::Version),
        };
        match packet {
            Packet::Data { counter, sealed } => self.open(counter, sealed, now, out),
            Packet::Cookie { cookie, server_key } => {
                self.on_cookie(cookie, server_key, now, replies);
                None
            }
            Packet::Accept { noise } => {
                self.on_accept(noise, now, replies);
                None
            }
            Packet::Refuse { reason, version } => {
                self.on_refuse(reason, version, now);
                None
            }
            Packet::Hello | Packet::Initiate { .. } => self.drop(DropReason::Malformed),
        }
    }

    /// Counts a datagram from an address other than the server's.
    pub fn note_stranger(&mut self) {
        self.stats.drop(DropReason::Stranger);
    }

    fn drop(&mut self, reason: DropReason) -> Option<usize> {
        self.stats.drop(reason);
        None
    }

    fn open(
        &mut self,
        counter: u32,
        sealed: &[u8],
        now: Duration,
        out: &mut [u8],
    ) -> Option<usize> {
        if sealed.len() > out.len() + wire::TAG_LEN {
            return self.drop(DropReason::Malformed);
        }
        let Some(s) = self.session.as_mut() else {
            return self.unopened(counter, sealed, None);
        };
        let previous = self.previous.as_mut().map(|p| &mut p.channel);
        match open_either(&mut s.channel, previous, counter, sealed, out) {
            Ok(n) => {
                s.last_heard = now;
                self.stats.opened += 1;
                Some(n)
            }
            Err(e) => self.unopened(counter, sealed, Some(e)),
        }
    }

    /// `Data` that no session opened (`why`: what the sessions said, if there were any).
    fn unopened(&mut self, counter: u32, sealed: &[u8], why: Option<NotOpened>) -> Option<usize> {
        if why == Some(NotOpened::Replayed) {
            return self.drop(DropReason::Replayed);
        }
        if matches!(self.handshake, Handshake::AwaitAccept { .. })
            && self.overtaken.len() < MAX_EARLY_DATA
        {
            // Possibly sealed under the session our Accept is bringing: try it then.
            self.overtaken.push_back((counter, sealed.to_vec()));
            return None;
        }
        self.drop(why.map_or(DropReason::UnknownPeer, NotOpened::reason))
    }

    fn on_cookie(
        &mut self,
        cookie: crate::cookie::Cookie,
        key: PublicKey,
        now: Duration,
        replies: &mut Vec<Vec<u8>>,
    ) {
        if !matches!(self.handshake, Handshake::AwaitCookie { .. }) {
            // A duplicate or late answer to a repeated Hello (or unsolicited).
            self.stats.drop(DropReason::Replayed);
            return;
        }
        if let Trust::Pinned(expected) = self.trust {
            if expected != key {
                // Unauthenticated: a forged or corrupted Cookie looks just like this. Only
                // a run of them is taken for a changed server key.
                self.mismatches += 1;
                if self.mismatches >= MISMATCH_LIMIT {
                    self.events.push(SecureEvent::KeyMismatch {
                        expected,
                        presented: key,
                    });
                    self.fail();
                } else {
                    self.stats.drop(DropReason::Forged);
                }
                return;
            }
        }
        self.mismatches = 0;
        self.version_refusals = 0;
        self.cookie_wait = now.saturating_sub(self.first_hello);
        let Ok(mut state) = snow::Builder::new(noise_params())
            .remote_public_key(&key)
            .and_then(|b| b.prologue(PROLOGUE))
            .and_then(|b| b.build_initiator())
        else {
            self.stats.drop(DropReason::Forged);
            return;
        };
        // Early data only on a first handshake: a rehandshake keeps sending on the old
        // session, so nothing is queued then. As many queued datagrams as fit, in order.
        let mut early = Vec::new();
        while let Some(d) = self.queue.front() {
            if wire::INITIATE_MIN_LEN + early.len() + 2 + d.len() > wire::MAX_WIRE_DATAGRAM {
                break;
            }
            let d = self.queue.pop_front().expect("front() was Some");
            wire::push_early(&mut early, &d);
        }
        let mut msg1 = vec![0u8; wire::NOISE_MSG1_MIN + early.len()];
        let Ok(n) = state.write_message(&early, &mut msg1) else {
            self.stats.unsendable += 1;
            return;
        };
        msg1.truncate(n);
        let initiate = wire::initiate(&cookie, &msg1);
        replies.push(initiate.clone());
        self.handshake = Handshake::AwaitAccept {
            state: Box::new(state),
            server_key: key,
            initiate,
            sent_at: now,
            started: now,
            refusals: 0,
        };
    }

    fn on_accept(&mut self, noise: &[u8], now: Duration, replies: &mut Vec<Vec<u8>>) {
        let Handshake::AwaitAccept { state, .. } = &mut self.handshake else {
            // A duplicate or late answer to a repeated Initiate (or unsolicited).
            self.stats.drop(DropReason::Replayed);
            return;
        };
        let mut payload = [0u8; wire::NOISE_MSG2_LEN];
        if state.read_message(noise, &mut payload).is_err() {
            self.stats.drop(DropReason::Forged);
            return;
        }
        let Handshake::AwaitAccept {
            state, server_key, ..
        } = std::mem::replace(&mut self.handshake, Handshake::Idle)
        else {
            unreachable!("matched AwaitAccept just above");
        };
        let Ok(transport) = state.into_stateless_transport_mode() else {
            self.stats.drop(DropReason::Forged);
            return;
        };
        // The Accept authenticated under the key the Cookie presented: the server holds
        // its private half, so on first use that key is now the one to trust.
        if self.trust == Trust::FirstUse {
            self.trust = Trust::Pinned(server_key);
            self.events.push(SecureEvent::KeyPinned(server_key));
        }
        self.previous = self.session.take();
        let mut channel = Channel::new(transport);
        self.stats.handshakes += 1;
        self.events.push(SecureEvent::Established);
        for d in self.queue.drain(..) {
            replies.extend(channel.seal(&d, &mut self.stats));
        }
        self.session = Some(Session {
            channel,
            last_heard: now,
        });
    }

    fn on_refuse(&mut self, reason: RefuseReason, version: u8, now: Duration) {
        // Refusals are unauthenticated: they only steer a handshake under way, and one
        // that could be forged (or a genuine answer to an Initiate altered in flight) must
        // not undo it; the retries settle what is true.
        if matches!(self.handshake, Handshake::Idle | Handshake::Failed) {
            self.stats.drop(DropReason::Malformed);
            return;
        }
        match reason {
            RefuseReason::Version if version != wire::LAYER_VERSION => {
                // Only a run of them, with no Cookie between, stops the client.
                self.version_refusals += 1;
                if self.version_refusals < MISMATCH_LIMIT {
                    self.stats.drop(DropReason::Forged);
                    return;
                }
                self.events.push(SecureEvent::VersionMismatch {
                    server_version: version,
                });
                if self.session.is_none() {
                    self.fail();
                }
            }
            RefuseReason::Version => self.stats.drop(DropReason::Malformed),
            RefuseReason::StaleCookie => {
                let young = self.cookie_is_young(now);
                if let Handshake::AwaitAccept { refusals, .. } = &mut self.handshake {
                    // A cookie lives at least one bucket: a refusal of a younger one is
                    // forged, answers an Initiate altered in flight (our retransmission
                    // will pass), or comes from a restarted server (then the next
                    // refusals follow: the third is believed).
                    if young && *refusals + 1 < MISMATCH_LIMIT {
                        *refusals += 1;
                        self.stats.drop(DropReason::Forged);
                        return;
                    }
                }
                self.handshake = Handshake::AwaitCookie { sent_at: None };
            }
            // Busy: keep retrying on the schedule.
            RefuseReason::Busy => {}
        }
    }

    /// Whether the cookie of the handshake under way is certainly still valid: received
    /// less than a bucket minus the attempt's wait for it ago.
    fn cookie_is_young(&self, now: Duration) -> bool {
        match &self.handshake {
            Handshake::AwaitAccept { started, .. } => {
                now.saturating_sub(*started) + self.cookie_wait < COOKIE_BUCKET
            }
            _ => false,
        }
    }

    fn fail(&mut self) {
        self.handshake = Handshake::Failed;
        self.session = None;
        self.previous = None;
        self.queue.clear();
    }
}
