//! An in-memory simulated network with a virtual clock, for reproducible tests.
//!
//! [`SimNet`] is a cheap-to-clone handle (`Rc<RefCell<..>>`, single-threaded) to a network
//! of [`SimSocket`]s. A `SimSocket` is a [`Carrier`], so the drivers run on it unchanged.
//!
//! Time is virtual: a fixed `Instant` base plus an offset that only
//! [`SimNet::advance`] / [`SimNet::advance_to`] move; pass [`SimNet::now`] to the
//! drivers' `pump`. Each directed link `(from, to)` has a [`LinkConfig`]: one-way latency
//! (up to [`MAX_LATENCY`], so round trips reach 5 s), jitter, loss, duplication and
//! reordering (an extra random delay for a fraction of datagrams). A datagram sent at
//! time `t` becomes receivable at `t + latency + jitter draw (+ reorder draw)`.
//!
//! Reproducibility: every random draw comes from a ChaCha8 stream per directed link,
//! seeded from (network seed, from, to), using raw `next_u32` words and our own bounded
//! mapping; delivery order ties break on (from, per-link sequence). So the outcome depends
//! only on the seed and on the order of sends within each link, not on the order in which
//! different links are used.
//!
//! Streams: a socket bound with [`SimNet::bind_stream_any`] is a TCP client, and every
//! link to or from it is an ordered byte stream (its packets arrive as [`CarrierKind::Tcp`]
//! remotes): nothing is lost, duplicated or reordered; a loss draw becomes a
//! retransmission stall (at least 200 ms, or two latencies) and a reorder draw a stall of
//! its delay, and either holds back every later packet on the link (head-of-line
//! blocking); [`SimNet::set_stream_bandwidth`] adds serialisation delay and queueing.
//!
//! Bounds: at most `max_in_flight` datagrams queued per destination (further ones are
//! dropped, like a full router queue); datagrams larger than the receiver's buffer are
//! discarded rather than truncated; datagrams to unbound addresses vanish.
//!
//! Hostile traffic: [`SimNet::inject`] sends raw bytes from any address, and
//! [`SimNet::tamper`] puts a tampering box on an address ([`tamper`]: it modifies,
//! replays and forges datagrams from and to it).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use thiserror::Error;

use super::{Carrier, CarrierKind, CarrierStats, Remote};

pub mod tamper;

use tamper::Tamperer;
pub use tamper::{TamperConfig, TamperEvent, TamperKind, TamperStats};

/// Largest one-way latency a link may have.
pub const MAX_LATENCY: Duration = Duration::from_millis(2500);
/// Largest jitter or reorder delay a link may add.
pub const MAX_EXTRA_DELAY: Duration = Duration::from_millis(2500);
/// The virtual clock stops here (about a century), so `base + now` cannot overflow.
pub const MAX_VIRTUAL_TIME: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
/// Default cap on datagrams in flight to one destination.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4096;

/// Errors configuring the simulated network.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SimNetError {
    #[error("latency {0:?} exceeds the maximum of {MAX_LATENCY:?}")]
    LatencyTooHigh(Duration),
    #[error("jitter or reorder delay {0:?} exceeds the maximum of {MAX_EXTRA_DELAY:?}")]
    DelayTooHigh(Duration),
    #[error("{name} of {value} permille exceeds 1000")]
    BadPermille { name: &'static str, value: u16 },
}

/// Behaviour of one directed link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkConfig {
    /// Fixed one-way delay.
    pub latency: Duration,
    /// Extra delay drawn uniformly from `0..=jitter` per datagram.
    pub jitter: Duration,
    /// Chance in 1000 that a datagram is lost.
    pub loss_permille: u16,
    /// Chance in 1000 that a delivered datagram arrives twice (independent delays).
    pub duplicate_permille: u16,
    /// Chance in 1000 that a datagram is held back by an extra `0..=reorder_delay`.
    pub reorder_permille: u16,
    pub reorder_delay: Duration,
}

impl LinkConfig {
    /// A perfect link with the given one-way latency.
    pub fn latency(latency: Duration) -> Self {
        LinkConfig {
            latency,
            ..LinkConfig::default()
        }
    }

    pub fn validate(&self) -> Result<(), SimNetError> {
        if self.latency > MAX_LATENCY {
            return Err(SimNetError::LatencyTooHigh(self.latency));
        }
        for d in [self.jitter, self.reorder_delay] {
            if d > MAX_EXTRA_DELAY {
                return Err(SimNetError::DelayTooHigh(d));
            }
        }
        for (name, value) in [
            ("loss", self.loss_permille),
            ("duplication", self.duplicate_permille),
            ("reordering", self.reorder_permille),
        ] {
            if value > 1000 {
                return Err(SimNetError::BadPermille { name, value });
            }
        }
        Ok(())
    }
}

impl Default for LinkConfig {
    /// A perfect, instantaneous link.
    fn default() -> Self {
        LinkConfig {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            loss_permille: 0,
            duplicate_permille: 0,
            reorder_permille: 0,
            reorder_delay: Duration::ZERO,
        }
    }
}

/// Network-wide counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Datagrams handed to the network.
    pub sent: u64,
    /// Datagrams lost by a link's loss draw.
    pub lost: u64,
    /// Extra copies created by duplication.
    pub duplicated: u64,
    /// Dropped because the destination's in-flight queue was full.
    pub overflowed: u64,
    /// Dropped because nothing was bound at the destination.
    pub no_route: u64,
    /// Datagrams taken by receivers.
    pub delivered: u64,
}

/// Delivery order key: (due time, source, per-link sequence).
type Key = (Duration, SocketAddr, u64);

#[derive(Debug)]
struct LinkState {
    rng: ChaCha8Rng,
    seq: u64,
    /// Streams: when the last packet on the link is due (later ones come after it), and
    /// when the link has finished sending what it was given (bandwidth).
    last_due: Duration,
    free_at: Duration,
}

/// Least retransmission stall of a stream link (Linux's minimum RTO).
pub const MIN_STREAM_STALL: Duration = Duration::from_millis(200);

#[derive(Debug)]
struct Inner {
    seed: u64,
    base: Instant,
    now: Duration,
    default_link: LinkConfig,
    links: BTreeMap<(SocketAddr, SocketAddr), LinkConfig>,
    link_state: BTreeMap<(SocketAddr, SocketAddr), LinkState>,
    /// Bound addresses and the datagrams in flight to each.
    queues: BTreeMap<SocketAddr, BTreeMap<Key, Vec<u8>>>,
    max_in_flight: usize,
    next_port: u16,
    stats: NetStats,
    /// Tampering boxes by the address they sit on.
    tamperers: BTreeMap<SocketAddr, Tamperer>,
    /// Addresses bound as stream (TCP) clients.
    streams: std::collections::BTreeSet<SocketAddr>,
    /// Bytes per second of every stream link (0: unlimited).
    stream_bandwidth: u64,
}

/// Uniform integer in `0..n` from one raw 32-bit word (`n <= 2^32`).
fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    (u64::from(rng.next_u32()) * n) >> 32
}

/// Uniform duration in `0..=max`, microsecond resolution.
fn draw_delay(rng: &mut ChaCha8Rng, max: Duration) -> Duration {
    // max <= 2.5 s, so max_us + 1 < 2^32.
    let max_us = u64::try_from(max.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(below(rng, max_us.saturating_add(1)))
}

fn chance(rng: &mut ChaCha8Rng, permille: u16) -> bool {
    below(rng, 1000) < u64::from(permille)
}

/// splitmix64 step, to derive per-link seeds.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn addr_word(a: &SocketAddr) -> u64 {
    let mut h = 0u64;
    let ip = match a {
        SocketAddr::V4(v) => v.ip().to_ipv6_mapped().octets(),
        SocketAddr::V6(v) => v.ip().octets(),
    };
    for chunk in ip.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        h = mix(h ^ u64::from_le_bytes(w));
    }
    mix(h ^ u64::from(a.port()))
}

impl Inner {
    fn link(&self, from: SocketAddr, to: SocketAddr) -> LinkConfig {
        self.links
            .get(&(from, to))
            .copied()
            .unwrap_or(self.default_link)
    }

    fn is_stream(&self, a: SocketAddr, b: SocketAddr) -> bool {
        self.streams.contains(&a) || self.streams.contains(&b)
    }

    fn send(&mut self, from: SocketAddr, to: SocketAddr, payload: &[u8]) {
        self.stats.sent += 1;
        let cfg = self.link(from, to);
        let seed = self.seed;
        let stream = self.is_stream(from, to);
        let bandwidth = self.stream_bandwidth;
        let st = self
            .link_state
            .entry((from, to))
            .or_insert_with(|| LinkState {
                rng: ChaCha8Rng::seed_from_u64(mix(
                    seed ^ mix(addr_word(&from) ^ mix(addr_word(&to)))
                )),
                seq: 0,
                last_due: Duration::ZERO,
                free_at: Duration::ZERO,
            });
        // Draw the same number of words for every datagram regardless of the outcome, so
        // a link's later behaviour does not depend on earlier outcomes' branches.
        let lost = chance(&mut st.rng, cfg.loss_permille);
        let dup = chance(&mut st.rng, cfg.duplicate_permille);
        let mut delays = [Duration::ZERO; 2];
        for d in &mut delays {
            let jitter = draw_delay(&mut st.rng, cfg.jitter);
            let reorder = chance(&mut st.rng, cfg.reorder_permille);
            let extra = draw_delay(&mut st.rng, cfg.reorder_delay);
            *d = cfg.latency + jitter + if reorder { extra } else { Duration::ZERO };
        }
        let now = self.now;
        if stream {
            // Ordered and lossless; a loss draw is a retransmission, a reorder draw a
            // stall, and each holds back everything behind it.
            let jitter = delays[0].saturating_sub(cfg.latency);
            let mut due = now + cfg.latency + jitter.min(cfg.jitter);
            if lost {
                due += MIN_STREAM_STALL.max(2 * cfg.latency);
            }
            if delays[0] > cfg.latency + cfg.jitter {
                due += delays[0] - cfg.latency - cfg.jitter;
            }
            if let Some(nanos) = (payload.len() as u64)
                .saturating_mul(1_000_000_000)
                .checked_div(bandwidth)
            {
                let ser = Duration::from_nanos(nanos);
                st.free_at = st.free_at.max(now) + ser;
                due = due.max(st.free_at + cfg.latency);
            }
            due = due.max(st.last_due);
            st.last_due = due;
            st.seq += 1;
            let max = self.max_in_flight;
            let Some(q) = self.queues.get_mut(&to) else {
                self.stats.no_route += 1;
                return;
            };
            if q.len() >= max {
                // A full receive window: TCP would push back; count it like a router.
                self.stats.overflowed += 1;
                return;
            }
            q.insert((due, from, st.seq), payload.to_vec());
            return;
        }
        if lost {
            self.stats.lost += 1;
            return;
        }
        let copies = if dup { 2 } else { 1 };
        let max = self.max_in_flight;
        let Some(q) = self.queues.get_mut(&to) else {
            self.stats.no_route += 1;
            return;
        };
        // A box on the sender's address, else on the receiver's, sees what the link
        // delivers.
        let tampered = match self.tamperers.get_mut(&from) {
            Some(t) => Some(t.process(from, to, payload)),
            None => self
                .tamperers
                .get_mut(&to)
                .map(|t| t.process(from, to, payload)),
        };
        let (payload, extra) = match &tampered {
            Some(t) => (t.payload.as_slice(), t.extra.as_slice()),
            None => (payload, &[][..]),
        };
        let copies = delays
            .iter()
            .take(copies)
            .map(|d| (*d, payload))
            .chain(extra.iter().map(|(d, p)| (delays[0] + *d, p.as_slice())));
        for (delay, bytes) in copies {
            st.seq += 1;
            if q.len() >= max {
                self.stats.overflowed += 1;
                continue;
            }
            q.insert((now + delay, from, st.seq), bytes.to_vec());
        }
        if dup {
            self.stats.duplicated += 1;
        }
    }
}

/// Handle to a simulated network. Clones share the same network.
#[derive(Clone, Debug)]
pub struct SimNet {
    inner: Rc<RefCell<Inner>>,
}

impl SimNet {
    /// A network whose randomness derives from `seed`, with perfect default links and the
    /// virtual clock at its base instant.
    pub fn new(seed: u64) -> Self {
        SimNet {
            inner: Rc::new(RefCell::new(Inner {
                seed,
                base: Instant::now(),
                now: Duration::ZERO,
                default_link: LinkConfig::default(),
                links: BTreeMap::new(),
                link_state: BTreeMap::new(),
                queues: BTreeMap::new(),
                max_in_flight: DEFAULT_MAX_IN_FLIGHT,
                next_port: 1024,
                stats: NetStats::default(),
                tamperers: BTreeMap::new(),
                streams: std::collections::BTreeSet::new(),
                stream_bandwidth: 0,
            })),
        }
    }

    /// The virtual time, as an `Instant` for the drivers' `pump`.
    pub fn now(&self) -> Instant {
        let i = self.inner.borrow();
        i.base + i.now
    }

    /// Virtual time elapsed since the network was created.
    pub fn elapsed(&self) -> Duration {
        self.inner.borrow().now
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut i = self.inner.borrow_mut();
        i.now = i.now.saturating_add(by).min(MAX_VIRTUAL_TIME);
    }

    /// Moves the clock to `to` (never backwards: an earlier instant is ignored).
    pub fn advance_to(&self, to: Instant) {
        let mut i = self.inner.borrow_mut();
        let off = to.saturating_duration_since(i.base).min(MAX_VIRTUAL_TIME);
        if off > i.now {
            i.now = off;
        }
    }

    /// When the earliest datagram in flight becomes receivable.
    pub fn next_delivery(&self) -> Option<Instant> {
        let i = self.inner.borrow();
        i.queues
            .values()
            .filter_map(|q| q.keys().next().map(|k| k.0))
            .min()
            .map(|d| i.base + d)
    }

    /// Sets the link used for pairs without their own.
    pub fn set_default_link(&self, cfg: LinkConfig) -> Result<(), SimNetError> {
        cfg.validate()?;
        self.inner.borrow_mut().default_link = cfg;
        Ok(())
    }

    /// Sets the directed link `from -> to`.
    pub fn set_link(
        &self,
        from: SocketAddr,
        to: SocketAddr,
        cfg: LinkConfig,
    ) -> Result<(), SimNetError> {
        cfg.validate()?;
        self.inner.borrow_mut().links.insert((from, to), cfg);
        Ok(())
    }

    /// Sets both directions between `a` and `b`.
    pub fn set_link_both(
        &self,
        a: SocketAddr,
        b: SocketAddr,
        cfg: LinkConfig,
    ) -> Result<(), SimNetError> {
        self.set_link(a, b, cfg)?;
        self.set_link(b, a, cfg)
    }

    /// Caps datagrams in flight per destination (at least 1).
    pub fn set_max_in_flight(&self, n: usize) {
        self.inner.borrow_mut().max_in_flight = n.max(1);
    }

    pub fn stats(&self) -> NetStats {
        self.inner.borrow().stats
    }

    /// Datagrams in flight to `addr` (including those already due but not yet read).
    pub fn in_flight(&self, addr: SocketAddr) -> usize {
        self.inner
            .borrow()
            .queues
            .get(&addr)
            .map_or(0, BTreeMap::len)
    }

    /// Binds a socket at `addr`.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<SimSocket> {
        let mut i = self.inner.borrow_mut();
        if i.queues.contains_key(&addr) {
            return Err(io::Error::new(
                ErrorKind::AddrInUse,
                "simulated address in use",
            ));
        }
        i.queues.insert(addr, BTreeMap::new());
        Ok(SimSocket {
            net: self.clone(),
            addr,
            stats: CarrierStats::default(),
        })
    }

    /// Binds a stream (TCP) client at the next free port: its links are ordered streams
    /// (see the module docs).
    pub fn bind_stream_any(&self) -> io::Result<SimSocket> {
        let s = self.bind_any()?;
        self.inner.borrow_mut().streams.insert(s.addr);
        Ok(s)
    }

    /// Bytes per second of every stream link (0: unlimited).
    pub fn set_stream_bandwidth(&self, bytes_per_second: u64) {
        self.inner.borrow_mut().stream_bandwidth = bytes_per_second;
    }

    /// Binds a socket at the next free port of 127.0.0.1 (in the simulation only).
    pub fn bind_any(&self) -> io::Result<SimSocket> {
        loop {
            let addr = {
                let mut i = self.inner.borrow_mut();
                let port = i.next_port;
                i.next_port = i
                    .next_port
                    .checked_add(1)
                    .ok_or_else(|| io::Error::new(ErrorKind::AddrNotAvailable, "no ports"))?;
                SocketAddr::from(([127, 0, 0, 1], port))
            };
            match self.bind(addr) {
                Err(e) if e.kind() == ErrorKind::AddrInUse => continue,
                other => return other,
            }
        }
    }

    /// Puts a tampering box on `addr` (or changes its settings, keeping its history,
    /// log and counts): it modifies, replays and forges datagrams delivered from or to
    /// `addr` (see [`tamper`]).
    pub fn tamper(&self, addr: SocketAddr, cfg: TamperConfig) -> Result<(), SimNetError> {
        cfg.validate()?;
        let mut i = self.inner.borrow_mut();
        let seed = i.seed;
        i.tamperers
            .entry(addr)
            .and_modify(|t| t.set_config(cfg))
            .or_insert_with(|| Tamperer::new(cfg, seed));
        Ok(())
    }

    /// What the box on `addr` did so far (`None` without a box).
    pub fn tamper_stats(&self, addr: SocketAddr) -> Option<TamperStats> {
        self.inner
            .borrow()
            .tamperers
            .get(&addr)
            .map(Tamperer::stats)
    }

    /// Drains the log of the box on `addr` (empty without a box).
    pub fn take_tamper_log(&self, addr: SocketAddr) -> Vec<TamperEvent> {
        self.inner
            .borrow_mut()
            .tamperers
            .get_mut(&addr)
            .map(Tamperer::take_log)
            .unwrap_or_default()
    }

    /// Sends a raw datagram (as a socket at `from` would), bypassing every layer: for
    /// hostile or malformed traffic in tests.
    pub fn inject(&self, from: SocketAddr, to: SocketAddr, payload: &[u8]) {
        self.inner.borrow_mut().send(from, to, payload);
    }
}

/// A socket on a [`SimNet`]; unbinds when dropped.
#[derive(Debug)]
pub struct SimSocket {
    net: SimNet,
    addr: SocketAddr,
    stats: CarrierStats,
}

impl SimSocket {
    pub fn net(&self) -> &SimNet {
        &self.net
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// This socket's counters (whatever the kind of its links).
    pub fn socket_stats(&self) -> CarrierStats {
        self.stats
    }

    /// Whether this socket is a stream client.
    pub fn is_stream(&self) -> bool {
        self.net.inner.borrow().streams.contains(&self.addr)
    }
}

impl Drop for SimSocket {
    fn drop(&mut self) {
        // `try_borrow_mut` so a drop during a borrow (a panic mid-call) cannot double-panic.
        if let Ok(mut i) = self.net.inner.try_borrow_mut() {
            i.queues.remove(&self.addr);
            i.streams.remove(&self.addr);
        }
    }
}

impl Carrier for SimSocket {
    fn recv(&mut self, buf: &mut [u8]) -> Option<(usize, Remote)> {
        let mut i = self.net.inner.borrow_mut();
        let now = i.now;
        loop {
            let q = i.queues.get_mut(&self.addr)?;
            if q.first_key_value().is_none_or(|(k, _)| k.0 > now) {
                return None;
            }
            let ((_, from, _), payload) = q.pop_first()?;
            i.stats.delivered += 1;
            if payload.len() > buf.len() {
                self.stats.oversize_in += 1;
                continue;
            }
            self.stats.packets_in += 1;
            // A stream's wire bytes include its 2-byte frame header.
            let stream = i.is_stream(self.addr, from);
            self.stats.bytes_in += payload.len() as u64 + if stream { 2 } else { 0 };
            buf[..payload.len()].copy_from_slice(&payload);
            let kind = if stream {
                CarrierKind::Tcp
            } else {
                CarrierKind::Udp
            };
            return Some((payload.len(), Remote::new(kind, from)));
        }
    }

    fn send(&mut self, to: Remote, packet: &[u8]) {
        let mut i = self.net.inner.borrow_mut();
        let stream = i.is_stream(self.addr, to.addr);
        i.send(self.addr, to.addr, packet);
        self.stats.packets_out += 1;
        self.stats.bytes_out += packet.len() as u64 + if stream { 2 } else { 0 };
    }

    fn stats(&self, _kind: CarrierKind) -> CarrierStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recv_all(s: &mut SimSocket) -> Vec<(Vec<u8>, SocketAddr)> {
        let mut buf = [0u8; 2048];
        let mut out = Vec::new();
        while let Some((n, from)) = s.recv(&mut buf) {
            out.push((buf[..n].to_vec(), from.addr));
        }
        out
    }

    #[test]
    fn delivery_after_latency() {
        let net = SimNet::new(1);
        let mut a = net.bind_any().expect("bind");
        let mut b = net.bind_any().expect("bind");
        net.set_link(
            a.addr(),
            b.addr(),
            LinkConfig::latency(Duration::from_millis(2500)),
        )
        .expect("valid");
        a.send(Remote::udp(b.addr()), b"x");
        assert!(recv_all(&mut b).is_empty());
        assert_eq!(
            net.next_delivery(),
            Some(net.now() + Duration::from_millis(2500))
        );
        net.advance(Duration::from_millis(2499));
        assert!(recv_all(&mut b).is_empty());
        net.advance(Duration::from_millis(1));
        assert_eq!(recv_all(&mut b), vec![(b"x".to_vec(), a.addr())]);
        // The reverse direction uses the (instant) default link.
        b.send(Remote::udp(a.addr()), b"y");
        assert_eq!(recv_all(&mut a).len(), 1);
        assert!(LinkConfig::latency(Duration::from_millis(2501))
            .validate()
            .is_err());
        assert!(net.bind(a.addr()).is_err());
        // Time never goes backwards and never overflows.
        let t = net.now();
        net.advance_to(t - Duration::from_secs(1));
        assert_eq!(net.now(), t);
        net.advance(Duration::MAX);
        assert_eq!(net.elapsed(), MAX_VIRTUAL_TIME);
    }

    #[test]
    fn loss_rate_roughly_as_configured() {
        let net = SimNet::new(7);
        let mut a = net.bind_any().expect("bind");
        let mut b = net.bind_any().expect("bind");
        net.set_default_link(LinkConfig {
            loss_permille: 200,
            ..LinkConfig::default()
        })
        .expect("valid");
        let mut got = 0;
        for i in 0..5000u32 {
            a.send(Remote::udp(b.addr()), &i.to_le_bytes());
            got += recv_all(&mut b).len();
        }
        assert!((3800..=4200).contains(&got), "delivered {got} of 5000");
        assert_eq!(net.stats().lost, 5000 - got as u64);
    }

    #[test]
    fn jitter_reorders_duplicates_and_queue_bound() {
        let net = SimNet::new(3);
        let mut a = net.bind_any().expect("bind");
        let mut b = net.bind_any().expect("bind");
        net.set_default_link(LinkConfig {
            latency: Duration::from_millis(50),
            jitter: Duration::from_millis(40),
            duplicate_permille: 100,
            reorder_permille: 100,
            reorder_delay: Duration::from_millis(200),
            ..LinkConfig::default()
        })
        .expect("valid");
        for i in 0..500u32 {
            a.send(Remote::udp(b.addr()), &i.to_le_bytes());
            net.advance(Duration::from_millis(1));
        }
        net.advance(Duration::from_millis(1000));
        let got: Vec<u32> = recv_all(&mut b)
            .iter()
            .map(|(p, _)| u32::from_le_bytes([p[0], p[1], p[2], p[3]]))
            .collect();
        assert!(got.len() > 500, "duplicates expected");
        assert!(got.windows(2).any(|w| w[0] > w[1]), "reordering expected");
        assert_eq!(net.stats().duplicated as usize, got.len() - 500);

        net.set_max_in_flight(10);
        net.set_default_link(LinkConfig::latency(Duration::from_secs(1)))
            .expect("valid");
        for _ in 0..50 {
            a.send(Remote::udp(b.addr()), b"z");
        }
        assert_eq!(net.in_flight(b.addr()), 10);
        assert_eq!(net.stats().overflowed, 40);
    }

    #[test]
    fn oversize_discarded_unbound_vanishes() {
        let net = SimNet::new(0);
        let a = net.bind_any().expect("bind");
        let mut b = net.bind_any().expect("bind");
        net.inject(a.addr(), b.addr(), &[0; 3000]);
        net.inject(a.addr(), b.addr(), &[1; 10]);
        assert_eq!(recv_all(&mut b).len(), 1);
        assert_eq!(b.socket_stats().oversize_in, 1);
        let gone = b.addr();
        drop(b);
        net.inject(a.addr(), gone, b"hi");
        assert_eq!(net.stats().no_route, 1);
        assert!(net.bind(gone).is_ok());
    }

    #[test]
    fn a_tampering_box_modifies_replays_and_forges_on_its_address_only() {
        let run = |seed: u64| {
            let net = SimNet::new(seed);
            let mut a = net.bind_any().expect("bind");
            let mut b = net.bind_any().expect("bind");
            let mut c = net.bind_any().expect("bind");
            net.set_default_link(LinkConfig::latency(Duration::from_millis(10)))
                .expect("valid");
            assert!(net
                .tamper(
                    b.addr(),
                    TamperConfig {
                        modify_permille: 1001,
                        ..TamperConfig::default()
                    }
                )
                .is_err());
            net.tamper(
                b.addr(),
                TamperConfig {
                    modify_permille: 300,
                    replay_permille: 200,
                    forge_permille: 100,
                    replay_delay: Duration::from_millis(500),
                },
            )
            .expect("valid");
            let sent: Vec<Vec<u8>> = (0..2000u32)
                .map(|i| [&i.to_le_bytes()[..], &[0xA5; 20]].concat())
                .collect();
            let (mut at_b, mut at_a, mut at_c) = (Vec::new(), Vec::new(), Vec::new());
            for d in &sent {
                a.send(Remote::udp(b.addr()), d);
                b.send(Remote::udp(a.addr()), d);
                a.send(Remote::udp(c.addr()), d);
                net.advance(Duration::from_millis(1));
                at_b.extend(recv_all(&mut b));
                at_a.extend(recv_all(&mut a));
                at_c.extend(recv_all(&mut c));
            }
            net.advance(Duration::from_secs(1));
            at_b.extend(recv_all(&mut b));
            at_a.extend(recv_all(&mut a));
            at_c.extend(recv_all(&mut c));
            // Another address's link is untouched.
            assert_eq!(
                at_c.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
                sent
            );
            assert_eq!(net.tamper_stats(c.addr()), None);
            let stats = net.tamper_stats(b.addr()).expect("box");
            let log = net.take_tamper_log(b.addr());
            assert_eq!(log.len() as u64, stats.total());
            assert!(net.take_tamper_log(b.addr()).is_empty(), "drained");
            // Both directions, every kind, at about the configured rates (4000 datagrams).
            let modified = stats.flipped + stats.truncated + stats.extended;
            assert!((1000..1400).contains(&modified), "{stats:?}");
            assert!((650..950).contains(&stats.replayed), "{stats:?}");
            assert!((300..500).contains(&stats.forged), "{stats:?}");
            assert!(stats.flipped > 0 && stats.truncated > 0 && stats.extended > 0);
            for e in &log {
                assert!(
                    (e.from, e.to) == (a.addr(), b.addr())
                        || (e.from, e.to) == (b.addr(), a.addr()),
                    "{e:?}"
                );
                match e.kind {
                    TamperKind::Flipped => {
                        assert_eq!(e.sent.len(), e.original.len());
                        assert_ne!(e.sent, e.original);
                    }
                    TamperKind::Truncated => {
                        assert!(e.sent.len() < e.original.len());
                        assert!(e.original.starts_with(&e.sent));
                    }
                    TamperKind::Extended => {
                        assert!(e.sent.len() > e.original.len());
                        assert!(e.sent.starts_with(&e.original));
                    }
                    TamperKind::Replayed => {
                        assert_eq!(e.sent, e.original);
                        assert!(sent.contains(&e.sent));
                    }
                    TamperKind::Forged => assert!(!sent.contains(&e.sent), "{e:?}"),
                }
            }
            // What arrived: each original unless it was modified, plus every extra.
            let arrived = at_b.len() + at_a.len();
            assert_eq!(arrived as u64, 4000 + stats.replayed + stats.forged);
            assert!(at_b.iter().all(|(_, from)| *from == a.addr()));
            let originals = at_b.iter().filter(|(p, _)| sent.contains(p)).count() as u64;
            assert!(
                originals >= 2000 - modified,
                "modified originals never arrive"
            );
            (at_a, at_b, stats)
        };
        let first = run(21);
        assert_eq!(run(21), first, "reproducible");
        assert_ne!(run(22).1, first.1);
    }

    #[test]
    fn a_stream_link_is_ordered_lossless_and_stalls_behind_a_loss() {
        let net = SimNet::new(5);
        let mut server = net.bind_any().expect("bind");
        let mut client = net.bind_stream_any().expect("bind");
        net.set_default_link(LinkConfig {
            latency: Duration::from_millis(100),
            jitter: Duration::from_millis(30),
            loss_permille: 50,
            duplicate_permille: 100,
            reorder_permille: 100,
            reorder_delay: Duration::from_millis(300),
        })
        .expect("valid");
        let to = Remote::udp(server.addr());
        for i in 0..400u32 {
            client.send(to, &i.to_le_bytes());
            net.advance(Duration::from_millis(5));
        }
        net.advance(Duration::from_secs(30));
        let got = recv_all(&mut server);
        let order: Vec<u32> = got
            .iter()
            .map(|(p, _)| u32::from_le_bytes([p[0], p[1], p[2], p[3]]))
            .collect();
        assert_eq!(order, (0..400).collect::<Vec<_>>(), "all, once, in order");
        assert!(got.iter().all(|(_, from)| *from == client.addr()));
        assert_eq!(net.stats().lost, 0);
        // Received as a TCP remote, and answered over the same stream.
        let mut buf = [0u8; 64];
        server.send(Remote::new(CarrierKind::Tcp, client.addr()), b"back");
        net.advance(Duration::from_secs(1));
        let (n, from) = client.recv(&mut buf).expect("answer");
        assert_eq!((&buf[..n], from.carrier), (&b"back"[..], CarrierKind::Tcp));
        assert_eq!(server.socket_stats().bytes_in, 400 * (4 + 2));
    }

    #[test]
    fn stream_bandwidth_queues_behind_the_link() {
        let net = SimNet::new(9);
        let mut server = net.bind_any().expect("bind");
        let mut client = net.bind_stream_any().expect("bind");
        net.set_stream_bandwidth(10_000);
        for _ in 0..10 {
            client.send(Remote::udp(server.addr()), &[7u8; 998]);
        }
        // 10 x 998 bytes at 10 kB/s: the last arrives after about a second.
        net.advance(Duration::from_millis(900));
        let early = recv_all(&mut server).len();
        assert!((8..10).contains(&early), "{early}");
        net.advance(Duration::from_millis(200));
        assert_eq!(recv_all(&mut server).len(), 10 - early);
    }
}
