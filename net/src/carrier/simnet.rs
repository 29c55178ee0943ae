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
//!
//! Files: this one is the network's handle ([`SimNet`]) and state; `link.rs` a directed
//! link ([`LinkConfig`], the seeded draws, crossing it), `socket.rs` the [`SimSocket`],
//! [`tamper`] the tampering boxes, `tests.rs` the unit tests.

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

mod link;
mod socket;
pub mod tamper;
#[cfg(test)]
mod tests;

use link::{Key, LinkState};
pub use link::{LinkConfig, MIN_STREAM_STALL};
pub use socket::SimSocket;
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
