//! Followers (protocol 7): hot standbys that hold the same server key. A follower is a
//! peer like a spectator (the spectators' list carries it, for its snapshot, its frame
//! stream and its acks) with four differences: it is admitted by a proof of the key
//! (`Follow`, see [`crate::standby`]) rather than under the spectator cap; it gets every
//! confirmed frame at once, whatever the spectator delay; it takes no slot and is counted
//! apart; and it receives the saved characters, kept here.
//!
//! Claims: the session keeps the newest [`ClaimRecord`] per player name, each under a
//! sequence number, encoded once into its `Claim` datagrams. Every follower has the set of
//! sequence numbers it has not acked; each tick the oldest few are sent (again, at most
//! every `RESEND_TICKS`) until acked. A newer record for a name replaces the older one
//! everywhere, so the set stays bounded by the number of names.

use crate::carrier::Remote;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::protocol;
use crate::standby::{claim_messages, ClaimRecord, FollowerKey, Purpose};

/// Claims sent to one follower per tick.
const CLAIMS_PER_TICK: usize = 4;
/// A claim not acked is sent again after this many ticks.
const RESEND_TICKS: u64 = 10;

/// What `/status` may show about one follower (no address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowerInfo {
    pub id: u32,
    /// Newest confirmed frame it acknowledged.
    pub acked: u64,
    /// Still receiving a snapshot.
    pub syncing: bool,
    /// Saved characters it has not acknowledged yet.
    pub claims_pending: usize,
}

/// The key, the claims, and each follower's unacked claims.
#[derive(Debug, Default)]
pub(super) struct Followers {
    key: Option<FollowerKey>,
    next_seq: u32,
    /// Encoded `Claim` datagrams by sequence number.
    log: BTreeMap<u32, Rc<Vec<Vec<u8>>>>,
    seq_of: BTreeMap<String, u32>,
    /// Per follower: unacked sequence numbers and the tick each was last sent (0: never).
    peers: BTreeMap<Remote, BTreeMap<u32, u64>>,
}

impl Followers {
    pub(super) fn set_key(&mut self, key: Option<FollowerKey>) {
        self.key = key;
    }

    /// Whether `proof` shows the key for `purpose` over `nonce` (false without a key).
    pub(super) fn check(&self, purpose: Purpose, nonce: &[u8; 16], proof: &[u8; 32]) -> bool {
        self.key
            .as_ref()
            .is_some_and(|k| k.verify(purpose, nonce, proof))
    }

    /// Whether a record for `name` is known.
    pub(super) fn knows(&self, name: &str) -> bool {
        self.seq_of.contains_key(name)
    }

    /// The newest record for its name: replaces the older one for every follower.
    pub(super) fn publish(&mut self, record: &ClaimRecord) {
        let seq = self.next_seq;
        let Some(msgs) = claim_messages(seq, record) else {
            log::error!(target: "venture::server", "character {} is too large to send to a follower", record.name);
            return;
        };
        let encoded: Vec<Vec<u8>> = msgs
            .iter()
            .filter_map(|m| protocol::encode_bounded(m).ok())
            .collect();
        self.next_seq = self.next_seq.wrapping_add(1);
        if let Some(old) = self.seq_of.insert(record.name.clone(), seq) {
            self.log.remove(&old);
            for pending in self.peers.values_mut() {
                pending.remove(&old);
            }
        }
        self.log.insert(seq, Rc::new(encoded));
        for pending in self.peers.values_mut() {
            pending.insert(seq, 0);
        }
    }

    /// A new follower: every record is pending for it.
    pub(super) fn add_peer(&mut self, addr: Remote) {
        let pending = self.log.keys().map(|&s| (s, 0)).collect();
        self.peers.insert(addr, pending);
    }

    /// Forgets followers that `still` says are gone.
    pub(super) fn retain_peers(&mut self, still: impl Fn(Remote) -> bool) {
        self.peers.retain(|&a, _| still(a));
    }

    pub(super) fn on_ack(&mut self, addr: Remote, seq: u32) {
        if let Some(p) = self.peers.get_mut(&addr) {
            p.remove(&seq);
        }
    }

    pub(super) fn pending(&self, addr: Remote) -> usize {
        self.peers.get(&addr).map_or(0, BTreeMap::len)
    }

    /// This tick's claim datagrams: per follower, the oldest unacked claims not sent in
    /// the last `RESEND_TICKS` ticks.
    pub(super) fn stream(&mut self, current: u64) -> Vec<(Remote, Vec<u8>)> {
        let mut out = Vec::new();
        for (&addr, pending) in &mut self.peers {
            let due: Vec<u32> = pending
                .iter()
                .filter(|(_, &sent)| sent == 0 || current >= sent + RESEND_TICKS)
                .map(|(&s, _)| s)
                .take(CLAIMS_PER_TICK)
                .collect();
            for seq in due {
                pending.insert(seq, current.max(1));
                if let Some(parts) = self.log.get(&seq) {
                    out.extend(parts.iter().map(|b| (addr, b.clone())));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{decode, Message};

    fn record(name: &str, d: u8) -> ClaimRecord {
        ClaimRecord {
            name: name.into(),
            secret_digest: [d; 16],
            character: None,
        }
    }

    fn seqs(out: &[(Remote, Vec<u8>)]) -> Vec<(u32, [u8; 16])> {
        out.iter()
            .map(|(_, b)| match decode(b).expect("decodes") {
                Message::Claim {
                    seq, secret_digest, ..
                } => (seq, secret_digest),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn claims_resend_until_acked_and_newest_replaces() {
        let a: Remote = "127.0.0.1:1".parse().expect("addr");
        let mut f = Followers::default();
        assert!(
            !f.check(Purpose::Follow, &[0; 16], &[0; 32]),
            "no key, no follower"
        );
        f.publish(&record("Ann", 1));
        f.add_peer(a);
        f.publish(&record("Bob", 2));
        assert_eq!(seqs(&f.stream(5)), vec![(0, [1; 16]), (1, [2; 16])]);
        assert!(
            f.stream(6).is_empty(),
            "not again before the resend interval"
        );
        f.on_ack(a, 0);
        assert_eq!(seqs(&f.stream(5 + RESEND_TICKS)), vec![(1, [2; 16])]);
        // Bob saved again: the old record is no longer sent, the new one is.
        f.publish(&record("Bob", 3));
        assert_eq!(f.pending(a), 1);
        assert_eq!(seqs(&f.stream(16)), vec![(2, [3; 16])]);
        f.on_ack(a, 2);
        assert_eq!(f.pending(a), 0);
        assert!(f.knows("Ann") && !f.knows("Cid"));
        f.retain_peers(|_| false);
        assert!(f.stream(100).is_empty());
    }

    #[test]
    fn at_most_a_few_claims_per_tick() {
        let a: Remote = "127.0.0.1:1".parse().expect("addr");
        let mut f = Followers::default();
        for i in 0..20 {
            f.publish(&record(&format!("P{i}"), i));
        }
        f.add_peer(a);
        assert_eq!(f.stream(1).len(), CLAIMS_PER_TICK);
        assert_eq!(f.stream(2).len(), CLAIMS_PER_TICK);
    }
}
