//! The server side of the layer, sans-IO: datagrams in, answers and plaintext out.
//!
//! A stranger costs nothing until it echoes a valid cookie (a SipHash MAC, recomputed,
//! never stored). Only then does the responder do Diffie-Hellman work and keep a
//! [`Peer`]: two cipher keys, two counters, a replay window, about 300 bytes. The table is
//! bounded by `max_peers`; a full table evicts the longest-idle peer if it has been idle
//! for [`EVICT_IDLE`], otherwise it refuses with `Busy`. Peers idle for `idle_timeout`
//! are forgotten by [`Responder::expire`].
//!
//! A repeated `Initiate` (the client's retransmission when our `Accept` was lost) is
//! recognised by its ephemeral key and answered with the same `Accept`; a new one from
//! the same address (the client restarted its handshake) replaces the session. Noise
//! message 1 carries no timestamp, so a *replayed* older `Initiate` would look new while
//! its cookie lasts: the ephemeral keys of handshakes accepted within the cookie lifetime
//! are remembered ([`RECENT_EPHEMERALS`] at most) and an `Initiate` reusing one, other
//! than the current session's retransmission, is dropped as replayed.

use std::collections::{HashMap, HashSet, VecDeque};

use super::wire::MAX_WIRE_DATAGRAM;
use std::time::Duration;

use crate::carrier::Remote;
use crate::cookie::CookieKey;

use super::channel::{open_either, Channel};
use super::keys::{noise_params, StaticKeypair};
use super::wire::{self, Packet, ParseError, RefuseReason, DH_LEN};
use super::{DropReason, LayerStats, COOKIE_BUCKET, PROLOGUE};

/// How often [`Responder::expire`] walks the peer table.
pub const EXPIRY_EVERY: Duration = Duration::from_secs(1);
/// A full table only evicts a peer silent for at least this long.
pub const EVICT_IDLE: Duration = Duration::from_secs(2);
/// Default time after which a silent peer is forgotten, with an
/// [`EndpointEvent::TimedOut`]: the one idle timeout of a peer (the server's drivers
/// set it to the session's client timeout).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most ephemeral keys remembered against replayed `Initiate`s (40 bytes each); each
/// costs the sender a valid cookie and the server's Diffie-Hellman work, and they are
/// forgotten after two cookie buckets, when their cookies no longer verify.
pub const RECENT_EPHEMERALS: usize = 8192;

/// What the endpoint tells its owner about peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointEvent {
    /// A handshake completed: `remote` has a session (a stream's deadline is met).
    Connected(Remote),
    /// `remote` was silent for the idle timeout (the one idle timeout of a peer): its
    /// session is gone, its game session should end too (and a stream close).
    TimedOut(Remote),
    /// `remote`'s session was evicted for a newcomer (a full table).
    Disconnected(Remote),
}

/// What to do with one received datagram.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// Plaintext for the session: the first `n` bytes of the output buffer.
    Deliver(usize),
    /// Send these bytes back to the sender (never more than it sent).
    Reply(Vec<u8>),
    /// A completed handshake: send the `Accept`, then deliver the early data: the first
    /// `early` bytes of the output buffer, datagrams framed by [`wire::push_early`].
    Accepted { reply: Vec<u8>, early: usize },
    /// Dropped; also counted in the stats.
    Drop(DropReason),
}

struct Peer {
    channel: Channel,
    /// The session this one replaced (a client's rehandshake): what the client sealed
    /// under it before it learnt of the new one still opens.
    previous: Option<Channel>,
    last_heard: Duration,
    /// The client's ephemeral key from the `Initiate` that made this session.
    initiator_ephemeral: [u8; DH_LEN],
    accept: Vec<u8>,
    /// The `Initiate`'s early data, delivered again with each retransmission until the
    /// client's first `Data` shows it has the session: the early data is a Hello and a
    /// Join, whose answers (Challenge, Welcome) are lost as easily as the Accept.
    early: Vec<u8>,
}

/// The server's half of the layer.
pub struct Responder {
    keypair: StaticKeypair,
    cookies: CookieKey,
    peers: HashMap<Remote, Peer>,
    max_peers: usize,
    idle_timeout: Duration,
    stats: LayerStats,
    /// Ephemeral keys of `Initiate`s accepted while their cookies may still verify.
    recent: HashSet<[u8; DH_LEN]>,
    recent_order: VecDeque<(Duration, [u8; DH_LEN])>,
    /// Packets to put on the carrier, in order.
    transmits: VecDeque<(Remote, Vec<u8>)>,
    /// Opened plaintext for the session above, in order.
    delivered: VecDeque<(Remote, Vec<u8>)>,
    events: VecDeque<EndpointEvent>,
    scratch: Vec<u8>,
    /// When [`Responder::expire`] next looks (it is called on every pump; timeouts are
    /// seconds long, so once a second is exact enough).
    next_expiry: Duration,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("keypair", &self.keypair)
            .field("peers", &self.peers.len())
            .field("max_peers", &self.max_peers)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Responder {
    /// `cookie_secret` must be unpredictable (OS entropy at start); `max_peers` bounds the
    /// sessions kept (at least 1).
    pub fn new(keypair: StaticKeypair, cookie_secret: [u8; 16], max_peers: usize) -> Self {
        Responder {
            keypair,
            cookies: CookieKey::with_bucket(cookie_secret, COOKIE_BUCKET),
            peers: HashMap::new(),
            max_peers: max_peers.max(1),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            stats: LayerStats::default(),
            recent: HashSet::new(),
            recent_order: VecDeque::new(),
            next_expiry: Duration::ZERO,
            transmits: VecDeque::new(),
            delivered: VecDeque::new(),
            events: VecDeque::new(),
            scratch: vec![0; MAX_WIRE_DATAGRAM],
        }
    }

    /// One packet from the carrier: answers go to [`poll_transmit`](Self::poll_transmit),
    /// opened plaintext (data, or an `Initiate`'s early data) to
    /// [`poll_datagram`](Self::poll_datagram), sessions made to
    /// [`poll_event`](Self::poll_event).
    pub fn handle(&mut self, now: Duration, from: Remote, bytes: &[u8]) {
        let mut out = std::mem::take(&mut self.scratch);
        match self.on_datagram(from, bytes, now, &mut out) {
            Incoming::Deliver(n) => self.delivered.push_back((from, out[..n].to_vec())),
            Incoming::Reply(reply) => self.transmits.push_back((from, reply)),
            Incoming::Accepted { reply, early } => {
                self.transmits.push_back((from, reply));
                self.events.push_back(EndpointEvent::Connected(from));
                match wire::split_early(&out[..early]) {
                    Some(datagrams) => self
                        .delivered
                        .extend(datagrams.into_iter().map(|d| (from, d.to_vec()))),
                    None => self.note_bad_early_data(),
                }
            }
            Incoming::Drop(_) => {}
        }
        self.scratch = out;
    }

    /// Seals `plaintext` for `to` onto the transmit queue (counted as unsendable when
    /// `to` has no session).
    pub fn send(&mut self, to: Remote, plaintext: &[u8]) {
        if let Some(sealed) = self.seal(to, plaintext) {
            self.transmits.push_back((to, sealed));
        }
    }

    /// The next packet to put on the carrier.
    pub fn poll_transmit(&mut self) -> Option<(Remote, Vec<u8>)> {
        self.transmits.pop_front()
    }

    /// The next opened plaintext for the session above.
    pub fn poll_datagram(&mut self) -> Option<(Remote, Vec<u8>)> {
        self.delivered.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<EndpointEvent> {
        self.events.pop_front()
    }

    /// Timers: idle peers are forgotten (with a `TimedOut` event each).
    pub fn handle_timeout(&mut self, now: Duration) {
        self.expire(now);
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has work, if ever.
    pub fn poll_timeout(&self) -> Option<Duration> {
        (!self.peers.is_empty() || !self.recent_order.is_empty()).then_some(self.next_expiry)
    }

    pub fn set_idle_timeout(&mut self, timeout: Duration) {
        self.idle_timeout = timeout;
    }

    pub fn keypair(&self) -> &StaticKeypair {
        &self.keypair
    }

    pub fn stats(&self) -> LayerStats {
        self.stats
    }

    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    pub fn has_peer(&self, addr: impl Into<Remote>) -> bool {
        let addr = addr.into();
        self.peers.contains_key(&addr)
    }

    /// Counts early data whose framing was broken (authenticated, so a buggy client).
    pub fn note_bad_early_data(&mut self) {
        self.stats.drop(DropReason::Malformed);
    }

    /// Forgets `addr`'s session (its stream closed, or the game session ended), without
    /// an event: the owner already knows.
    pub fn forget(&mut self, addr: impl Into<Remote>) {
        let addr = addr.into();
        self.peers.remove(&addr);
    }

    /// Forgets peers silent for the idle timeout (and handshakes too old to replay); does
    /// the work at most once per [`EXPIRY_EVERY`].
    pub fn expire(&mut self, now: Duration) {
        if now < self.next_expiry {
            return;
        }
        self.next_expiry = now + EXPIRY_EVERY;
        let timeout = self.idle_timeout;
        let mut gone: Vec<Remote> = self
            .peers
            .iter()
            .filter(|(_, p)| now.saturating_sub(p.last_heard) >= timeout)
            .map(|(r, _)| *r)
            .collect();
        // In address order: the events' order must not depend on the hash map's.
        gone.sort();
        for remote in gone {
            self.peers.remove(&remote);
            self.stats.expired += 1;
            self.events.push_back(EndpointEvent::TimedOut(remote));
        }
        // A cookie verifies for at most two buckets: older Initiates fail on their cookie.
        while let Some(&(at, key)) = self.recent_order.front() {
            if now.saturating_sub(at) < 2 * COOKIE_BUCKET {
                break;
            }
            self.recent_order.pop_front();
            self.recent.remove(&key);
        }
    }

    fn remember_ephemeral(&mut self, key: [u8; DH_LEN], now: Duration) {
        if self.recent_order.len() >= RECENT_EPHEMERALS {
            if let Some((_, old)) = self.recent_order.pop_front() {
                self.recent.remove(&old);
            }
        }
        if self.recent.insert(key) {
            self.recent_order.push_back((now, key));
        }
    }

    fn dropped(&mut self, reason: DropReason) -> Incoming {
        self.stats.drop(reason);
        Incoming::Drop(reason)
    }

    /// One datagram from `from`. Plaintext (data or early data) is written to `out`,
    /// which must hold the largest packet ([`wire::MAX_WIRE_DATAGRAM`]).
    pub fn on_datagram(
        &mut self,
        from: impl Into<Remote>,
        bytes: &[u8],
        now: Duration,
        out: &mut [u8],
    ) -> Incoming {
        let from = from.into();
        let packet = match wire::parse(bytes) {
            Ok(p) => p,
            Err(ParseError::Malformed) => return self.dropped(DropReason::Malformed),
            Err(ParseError::Truncated) => return self.dropped(DropReason::Truncated),
            Err(ParseError::Version(_)) => {
                self.stats.drop(DropReason::Version);
                // A Refuse is 6 bytes; anything that parsed this far is at least 5, and
                // only a padded Hello or an Initiate deserves an answer.
                return if bytes.len() >= wire::REFUSE_LEN
                    && matches!(bytes[0], wire::HELLO | wire::INITIATE)
                {
                    Incoming::Reply(wire::refuse(RefuseReason::Version))
                } else {
                    Incoming::Drop(DropReason::Version)
                };
            }
        };
        match packet {
            Packet::Data { counter, sealed } => self.open(from, counter, sealed, now, out),
            Packet::Hello => {
                let cookie = self.cookies.issue(from.addr, now);
                Incoming::Reply(wire::cookie(&cookie, self.keypair.public()))
            }
            Packet::Initiate { cookie, noise } => {
                // A stream's connection already proved its address: no cookie to check.
                if !from.carrier.is_stream() && !self.cookies.verify(&cookie, from.addr, now) {
                    self.stats.drop(DropReason::BadCookie);
                    return Incoming::Reply(wire::refuse(RefuseReason::StaleCookie));
                }
                self.initiate(from, noise, now, out)
            }
            // Only a server sends these.
            Packet::Cookie { .. } | Packet::Accept { .. } | Packet::Refuse { .. } => {
                self.dropped(DropReason::Malformed)
            }
        }
    }

    fn open(
        &mut self,
        from: Remote,
        counter: u32,
        sealed: &[u8],
        now: Duration,
        out: &mut [u8],
    ) -> Incoming {
        if sealed.len() > out.len() + wire::TAG_LEN {
            return self.dropped(DropReason::Malformed);
        }
        let Some(peer) = self.peers.get_mut(&from) else {
            return self.dropped(DropReason::UnknownPeer);
        };
        match open_either(
            &mut peer.channel,
            peer.previous.as_mut(),
            counter,
            sealed,
            out,
        ) {
            Ok(n) => {
                peer.last_heard = now;
                peer.early = Vec::new();
                self.stats.opened += 1;
                Incoming::Deliver(n)
            }
            Err(e) => self.dropped(e.reason()),
        }
    }

    fn initiate(&mut self, from: Remote, noise: &[u8], now: Duration, out: &mut [u8]) -> Incoming {
        let ephemeral: [u8; DH_LEN] = noise[..DH_LEN]
            .try_into()
            .expect("wire::parse guarantees NOISE_MSG1_MIN bytes");
        if let Some(peer) = self.peers.get(&from) {
            if peer.initiator_ephemeral == ephemeral {
                // Our Accept (or the answers to the early data) was lost; the client
                // repeats its Initiate verbatim.
                let early = peer.early.len().min(out.len());
                out[..early].copy_from_slice(&peer.early[..early]);
                return Incoming::Accepted {
                    reply: peer.accept.clone(),
                    early,
                };
            }
        }
        if self.recent.contains(&ephemeral) {
            // An older handshake's Initiate, replayed: it must not replace the session
            // (the client no longer has its keys) nor deliver its early data again.
            return self.dropped(DropReason::Replayed);
        }
        if !self.peers.contains_key(&from) && self.peers.len() >= self.max_peers && !self.evict(now)
        {
            self.stats.drop(DropReason::Busy);
            return Incoming::Reply(wire::refuse(RefuseReason::Busy));
        }
        let Ok(mut hs) = snow::Builder::new(noise_params())
            .local_private_key(self.keypair.private())
            .and_then(|b| b.prologue(PROLOGUE))
            .and_then(|b| b.build_responder())
        else {
            // Only fails on a bad key length, impossible for a StaticKeypair; drop rather
            // than stop serving.
            return self.dropped(DropReason::Forged);
        };
        if noise.len() > out.len() + wire::NOISE_MSG1_MIN {
            return self.dropped(DropReason::Malformed);
        }
        let early = match hs.read_message(noise, out) {
            Ok(n) => n,
            Err(_) => return self.dropped(DropReason::Forged),
        };
        let mut msg2 = [0u8; wire::NOISE_MSG2_LEN];
        let transport = match hs.write_message(&[], &mut msg2) {
            Ok(n) if n == msg2.len() => hs.into_stateless_transport_mode(),
            _ => return self.dropped(DropReason::Forged),
        };
        let Ok(transport) = transport else {
            return self.dropped(DropReason::Forged);
        };
        let accept = wire::accept(&msg2);
        self.remember_ephemeral(ephemeral, now);
        let previous = self.peers.remove(&from).map(|p| p.channel);
        self.peers.insert(
            from,
            Peer {
                channel: Channel::new(transport),
                previous,
                last_heard: now,
                initiator_ephemeral: ephemeral,
                accept: accept.clone(),
                early: out[..early].to_vec(),
            },
        );
        self.stats.handshakes += 1;
        Incoming::Accepted {
            reply: accept,
            early,
        }
    }

    /// Evicts the longest-idle peer if it has been idle for [`EVICT_IDLE`].
    fn evict(&mut self, now: Duration) -> bool {
        let oldest = self
            .peers
            .iter()
            .min_by_key(|(a, p)| (p.last_heard, **a))
            .map(|(a, p)| (*a, p.last_heard));
        match oldest {
            Some((addr, heard)) if now.saturating_sub(heard) >= EVICT_IDLE => {
                self.peers.remove(&addr);
                self.stats.evicted += 1;
                self.events.push_back(EndpointEvent::Disconnected(addr));
                true
            }
            _ => false,
        }
    }

    /// Seals `plaintext` for `to`; `None` (counted as unsendable) when `to` has no session.
    pub fn seal(&mut self, to: impl Into<Remote>, plaintext: &[u8]) -> Option<Vec<u8>> {
        let to = to.into();
        let Some(peer) = self.peers.get_mut(&to) else {
            self.stats.unsendable += 1;
            return None;
        };
        peer.channel.seal(plaintext, &mut self.stats)
    }
}
