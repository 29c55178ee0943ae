//! One directed link of the simulated network: its [`LinkConfig`], its seeded draws (a
//! ChaCha8 stream per link, raw words and our own bounded mapping), and how a datagram
//! or a stream packet crosses it (loss, duplication, delay, reordering, tampering; on a
//! stream, head-of-line stalls and bandwidth).

use super::*;

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

/// Delivery order key: (due time, source, per-link sequence).
pub(super) type Key = (Duration, SocketAddr, u64);

#[derive(Debug)]
pub(super) struct LinkState {
    pub(super) rng: ChaCha8Rng,
    pub(super) seq: u64,
    /// Streams: when the last packet on the link is due (later ones come after it), and
    /// when the link has finished sending what it was given (bandwidth).
    pub(super) last_due: Duration,
    pub(super) free_at: Duration,
}

/// Least retransmission stall of a stream link (Linux's minimum RTO).
pub const MIN_STREAM_STALL: Duration = Duration::from_millis(200);

/// Uniform integer in `0..n` from one raw 32-bit word (`n <= 2^32`).
pub(super) fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    (u64::from(rng.next_u32()) * n) >> 32
}

/// Uniform duration in `0..=max`, microsecond resolution.
pub(super) fn draw_delay(rng: &mut ChaCha8Rng, max: Duration) -> Duration {
    // max <= 2.5 s, so max_us + 1 < 2^32.
    let max_us = u64::try_from(max.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(below(rng, max_us.saturating_add(1)))
}

pub(super) fn chance(rng: &mut ChaCha8Rng, permille: u16) -> bool {
    below(rng, 1000) < u64::from(permille)
}

/// splitmix64 step, to derive per-link seeds.
pub(super) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(super) fn addr_word(a: &SocketAddr) -> u64 {
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
    pub(super) fn link(&self, from: SocketAddr, to: SocketAddr) -> LinkConfig {
        self.links
            .get(&(from, to))
            .copied()
            .unwrap_or(self.default_link)
    }

    pub(super) fn is_stream(&self, a: SocketAddr, b: SocketAddr) -> bool {
        self.streams.contains(&a) || self.streams.contains(&b)
    }

    pub(super) fn send(&mut self, from: SocketAddr, to: SocketAddr, payload: &[u8]) {
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
