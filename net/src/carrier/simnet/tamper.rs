//! A tampering middlebox on one address of the simulated network, for tests that prove
//! nothing forged, altered or replayed gets through the secure layer.
//!
//! [`SimNet::tamper`](super::SimNet::tamper) puts a [`Tamperer`] on an address: it sees
//! every datagram the network delivers from or to that address (after the link's own loss
//! draw, as a box in front of the receiver would) and, per datagram, independently:
//! - **modifies** it in flight ([`TamperConfig::modify_permille`]): flips one to three
//!   bytes, truncates it, or extends it with random bytes; the original is not delivered;
//! - **replays** a copy of an earlier datagram of the same direction, unchanged, up to
//!   [`TamperConfig::replay_delay`] later ([`TamperConfig::replay_permille`]);
//! - **forges** a datagram with the same source address: a random-length prefix of the
//!   current datagram followed by random bytes ([`TamperConfig::forge_permille`]), so
//!   forgeries carry plausible headers (a real packet type, a nearby nonce counter).
//!
//! The box knows nothing of any wire format. Every action is logged as a [`TamperEvent`]
//! (the original and the bytes sent), so a test can classify them and check that each was
//! dropped; [`SimNet::take_tamper_log`](super::SimNet::take_tamper_log) drains the log,
//! which keeps at most [`MAX_LOG`] entries between drains (the rest are only counted).
//!
//! Randomness: one ChaCha8 stream per directed link through the box, seeded from
//! (network seed, from, to) and apart from the link's own stream, so putting a box on an
//! address changes nothing else on the network; a fixed number of words per datagram.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use super::link::{addr_word, below, chance, draw_delay, mix};
use super::{SimNetError, MAX_EXTRA_DELAY};

/// Earlier datagrams kept per direction as material for replays.
pub const HISTORY: usize = 64;
/// Most log entries kept between drains.
pub const MAX_LOG: usize = 100_000;
/// Most random bytes an extension adds.
const MAX_EXTEND: u64 = 32;

/// What a [`Tamperer`] does, each a chance in 1000 per datagram delivered through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TamperConfig {
    /// Replace the datagram by a modified copy (flipped bytes, truncated, or extended).
    pub modify_permille: u16,
    /// Also deliver an unchanged copy of an earlier datagram of the same direction.
    pub replay_permille: u16,
    /// Also deliver a forged datagram from the same source address.
    pub forge_permille: u16,
    /// A replayed copy arrives up to this much later than the current datagram.
    pub replay_delay: Duration,
}

impl TamperConfig {
    pub fn validate(&self) -> Result<(), SimNetError> {
        if self.replay_delay > MAX_EXTRA_DELAY {
            return Err(SimNetError::DelayTooHigh(self.replay_delay));
        }
        for (name, value) in [
            ("modification", self.modify_permille),
            ("replay", self.replay_permille),
            ("forgery", self.forge_permille),
        ] {
            if value > 1000 {
                return Err(SimNetError::BadPermille { name, value });
            }
        }
        Ok(())
    }
}

/// One action of a [`Tamperer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TamperKind {
    /// One to three bytes XORed with non-zero values.
    Flipped,
    /// Cut to a shorter length (possibly empty).
    Truncated,
    /// Random bytes appended.
    Extended,
    /// An earlier datagram, delivered again unchanged.
    Replayed,
    /// Made up: a prefix of a real datagram, then random bytes.
    Forged,
}

/// What a [`Tamperer`] did to, or alongside, one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TamperEvent {
    pub kind: TamperKind,
    /// Source and destination of the delivered bytes (a forgery keeps the real source).
    pub from: SocketAddr,
    pub to: SocketAddr,
    /// The datagram it was made from: the one modified, the earlier one replayed, the
    /// one whose prefix a forgery took.
    pub original: Vec<u8>,
    /// The bytes put on the wire.
    pub sent: Vec<u8>,
}

/// Counts of a [`Tamperer`]'s actions (including those no longer in the log).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TamperStats {
    pub flipped: u64,
    pub truncated: u64,
    pub extended: u64,
    pub replayed: u64,
    pub forged: u64,
    /// Events not logged because the log was full.
    pub unlogged: u64,
}

impl TamperStats {
    pub fn total(&self) -> u64 {
        self.flipped + self.truncated + self.extended + self.replayed + self.forged
    }

    fn count(&mut self, kind: TamperKind) {
        match kind {
            TamperKind::Flipped => self.flipped += 1,
            TamperKind::Truncated => self.truncated += 1,
            TamperKind::Extended => self.extended += 1,
            TamperKind::Replayed => self.replayed += 1,
            TamperKind::Forged => self.forged += 1,
        }
    }
}

#[derive(Debug)]
struct Direction {
    rng: ChaCha8Rng,
    history: VecDeque<Vec<u8>>,
}

/// The outcome for one datagram: what replaces it, and what goes along with it (each with
/// its extra delay after the datagram's own).
#[derive(Debug)]
pub(super) struct Tampered {
    pub payload: Vec<u8>,
    pub extra: Vec<(Duration, Vec<u8>)>,
}

/// The box on one address.
#[derive(Debug)]
pub(super) struct Tamperer {
    config: TamperConfig,
    seed: u64,
    directions: BTreeMap<(SocketAddr, SocketAddr), Direction>,
    log: Vec<TamperEvent>,
    stats: TamperStats,
}

impl Tamperer {
    pub fn new(config: TamperConfig, seed: u64) -> Self {
        Tamperer {
            config,
            seed,
            directions: BTreeMap::new(),
            log: Vec::new(),
            stats: TamperStats::default(),
        }
    }

    pub fn set_config(&mut self, config: TamperConfig) {
        self.config = config;
    }

    pub fn stats(&self) -> TamperStats {
        self.stats
    }

    pub fn take_log(&mut self) -> Vec<TamperEvent> {
        std::mem::take(&mut self.log)
    }

    fn record(
        &mut self,
        kind: TamperKind,
        from: SocketAddr,
        to: SocketAddr,
        original: &[u8],
        sent: &[u8],
    ) {
        self.stats.count(kind);
        if self.log.len() >= MAX_LOG {
            self.stats.unlogged += 1;
            return;
        }
        self.log.push(TamperEvent {
            kind,
            from,
            to,
            original: original.to_vec(),
            sent: sent.to_vec(),
        });
    }

    /// One datagram `from -> to` passing through the box.
    pub fn process(&mut self, from: SocketAddr, to: SocketAddr, payload: &[u8]) -> Tampered {
        let cfg = self.config;
        let seed = self.seed;
        let dir = self
            .directions
            .entry((from, to))
            .or_insert_with(|| Direction {
                // Apart from the link's own stream (which hashes the same pair differently).
                rng: ChaCha8Rng::seed_from_u64(mix(seed
                    ^ 0x7A3B_E11C_0D5E_A5ED
                    ^ mix(addr_word(&to) ^ mix(addr_word(&from))))),
                history: VecDeque::new(),
            });
        let rng = &mut dir.rng;
        // A fixed number of draws per datagram, whatever happens.
        let modify = chance(rng, cfg.modify_permille);
        let how = below(rng, 3);
        let words: [u64; 4] = std::array::from_fn(|_| u64::from(rng.next_u32()));
        let replay = chance(rng, cfg.replay_permille);
        let replay_pick = below(rng, HISTORY as u64);
        let replay_delay = draw_delay(rng, cfg.replay_delay);
        let forge = chance(rng, cfg.forge_permille);
        let forge_words: [u64; 2] = std::array::from_fn(|_| u64::from(rng.next_u32()));

        let mut extra = Vec::new();
        let replayed = if replay && !dir.history.is_empty() {
            // below(HISTORY) % len: uniform enough for a test's purposes.
            let i = (replay_pick as usize) % dir.history.len();
            Some(dir.history[i].clone())
        } else {
            None
        };
        if dir.history.len() >= HISTORY {
            dir.history.pop_front();
        }
        dir.history.push_back(payload.to_vec());

        let out = if modify {
            let (kind, bytes) = mangle(payload, how, words);
            self.record(kind, from, to, payload, &bytes);
            bytes
        } else {
            payload.to_vec()
        };
        if let Some(copy) = replayed {
            self.record(TamperKind::Replayed, from, to, &copy, &copy);
            extra.push((replay_delay, copy));
        }
        if forge {
            let bytes = forgery(payload, forge_words);
            self.record(TamperKind::Forged, from, to, payload, &bytes);
            extra.push((Duration::ZERO, bytes));
        }
        Tampered {
            payload: out,
            extra,
        }
    }
}

/// splitmix64 output stream from one word, for filling bytes.
fn byte_stream(word: u64) -> impl Iterator<Item = u8> {
    let mut state = word;
    std::iter::repeat_with(move || {
        state = mix(state);
        state.to_le_bytes()
    })
    .flatten()
}

/// A modified copy of `payload`: `how` picks flip, truncate or extend (an empty payload
/// can only be extended).
fn mangle(payload: &[u8], how: u64, words: [u64; 4]) -> (TamperKind, Vec<u8>) {
    let len = payload.len() as u64;
    match how {
        0 if len > 0 => {
            // One to three distinct, consecutive positions (wrapping), each XORed with a
            // non-zero value, so the copy always differs from the original.
            let mut bytes = payload.to_vec();
            let flips = (1 + words[0] % 3).min(len);
            let start = words[1] % len;
            for k in 0..flips {
                let at = ((start + k) % len) as usize;
                let x = (words[2] >> (8 * k)) as u8;
                bytes[at] ^= x.max(1);
            }
            (TamperKind::Flipped, bytes)
        }
        1 if len > 0 => {
            let keep = (words[0] % len) as usize;
            (TamperKind::Truncated, payload[..keep].to_vec())
        }
        _ => {
            let add = 1 + words[0] % MAX_EXTEND;
            let mut bytes = payload.to_vec();
            bytes.extend(byte_stream(words[3]).take(add as usize));
            (TamperKind::Extended, bytes)
        }
    }
}

/// A forged datagram: a random-length prefix of `payload`, then random bytes, at most
/// 64 bytes longer than the payload.
fn forgery(payload: &[u8], words: [u64; 2]) -> Vec<u8> {
    let len = payload.len() as u64;
    let keep = (words[0] % (len + 1)) as usize;
    let total = keep + 1 + ((words[0] >> 32) % (len.saturating_sub(keep as u64) + 64)) as usize;
    let mut bytes = payload[..keep].to_vec();
    bytes.extend(byte_stream(words[1]).take(total - keep));
    bytes
}
