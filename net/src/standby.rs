//! What a primary and its hot standby share (protocol 7): the follower key and its proofs,
//! and the wire form of the character claims the primary streams to a follower.
//!
//! Identity: both processes hold the same `server.key`. From its private half each side
//! derives a [`FollowerKey`] (keyed BLAKE2s, domain-separated from the Noise use of the
//! key), and a follower proves it holds the key by a MAC over the session's address-bound
//! cookie (`Challenge`), so a proof is good only for that address and cookie bucket. A
//! proof names its purpose ([`Purpose`]): following, or telling a primary that it was
//! replaced (a promoted standby deposing the old primary); one cannot stand for the other.
//!
//! Claims: a saved character (name, secret digest, character) is bincode-encoded and cut
//! into at most [`MAX_CLAIM_PARTS`] parts of [`CLAIM_PART_BYTES`]; [`ClaimAssembler`]
//! puts them back together with bounded memory.

use std::collections::{BTreeMap, BTreeSet};

use blake2::digest::{FixedOutput, Mac};
use blake2::Blake2sMac256;
use venture_sim::character::Character;

use crate::protocol::Message;

/// Most parts one claim may be cut into.
pub const MAX_CLAIM_PARTS: u8 = 8;
/// Bytes of a claim's encoding per part (a `Claim` message stays far below a datagram).
pub const CLAIM_PART_BYTES: usize = 900;
/// Claims being reassembled at once by a follower (older ones are dropped and resent).
const MAX_ASSEMBLING: usize = 16;
/// Claim sequence numbers remembered as complete (to re-ack a resent one cheaply).
const MAX_DONE: usize = 4096;
/// Largest encoded character accepted.
const MAX_CLAIM_BYTES: usize = MAX_CLAIM_PARTS as usize * CLAIM_PART_BYTES;

/// What a proof is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Admit me as a follower.
    Follow,
    /// I am the standby that took over from you: stop serving.
    Depose,
}

impl Purpose {
    fn byte(self) -> u8 {
        match self {
            Purpose::Follow => 1,
            Purpose::Depose => 2,
        }
    }
}

/// The key a primary and its standby share, derived from the server's static private key.
#[derive(Clone)]
pub struct FollowerKey([u8; 32]);

impl std::fmt::Debug for FollowerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FollowerKey(..)")
    }
}

fn mac(key: &[u8; 32]) -> Blake2sMac256 {
    // A 32-byte key is always a valid BLAKE2s key (it accepts 1 to 32 bytes).
    <Blake2sMac256 as Mac>::new_from_slice(key).expect("32-byte BLAKE2s key")
}

impl FollowerKey {
    /// Derives the key from the server's static X25519 private key. The label keeps it
    /// apart from every other use of that key.
    pub fn derive(server_private: &[u8; 32]) -> FollowerKey {
        let mut m = mac(server_private);
        m.update(b"venture standby follower key v1");
        FollowerKey(m.finalize_fixed().into())
    }

    fn mac_over(&self, purpose: Purpose, nonce: &[u8; 16]) -> Blake2sMac256 {
        let mut m = mac(&self.0);
        m.update(b"venture standby proof v1");
        m.update(&[purpose.byte()]);
        m.update(nonce);
        m
    }

    /// The proof that we hold the key, over the primary's `nonce` (its cookie for us).
    pub fn proof(&self, purpose: Purpose, nonce: &[u8; 16]) -> [u8; 32] {
        self.mac_over(purpose, nonce).finalize_fixed().into()
    }

    /// Checks a proof in constant time.
    pub fn verify(&self, purpose: Purpose, nonce: &[u8; 16], proof: &[u8; 32]) -> bool {
        self.mac_over(purpose, nonce).verify_slice(proof).is_ok()
    }
}

/// A saved character as a follower learns it: who owns it, and what it is (`None`: a
/// player whose character is still only in the world, so far known by name and digest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimRecord {
    pub name: String,
    pub secret_digest: [u8; 16],
    pub character: Option<Character>,
}

/// Cuts `record` into `Claim` messages with sequence number `seq`. `None` when its
/// encoding is over [`MAX_CLAIM_PARTS`] parts (a valid character is a few KB at most).
pub fn claim_messages(seq: u32, record: &ClaimRecord) -> Option<Vec<Message>> {
    let bytes =
        bincode::serde::encode_to_vec(&record.character, bincode::config::standard()).ok()?;
    let parts = bytes.len().div_ceil(CLAIM_PART_BYTES).max(1);
    let parts = u8::try_from(parts).ok().filter(|&p| p <= MAX_CLAIM_PARTS)?;
    Some(
        (0..parts)
            .map(|part| {
                let start = usize::from(part) * CLAIM_PART_BYTES;
                let end = (start + CLAIM_PART_BYTES).min(bytes.len());
                Message::Claim {
                    seq,
                    name: record.name.clone(),
                    secret_digest: record.secret_digest,
                    part,
                    parts,
                    bytes: bytes[start..end].to_vec(),
                }
            })
            .collect(),
    )
}

/// One claim under reassembly.
#[derive(Debug)]
struct Partial {
    name: String,
    secret_digest: [u8; 16],
    parts: Vec<Option<Vec<u8>>>,
}

/// Reassembles claims from their parts, bounded: at most `MAX_ASSEMBLING` claims at once
/// of at most [`MAX_CLAIM_PARTS`] parts each.
#[derive(Debug, Default)]
pub struct ClaimAssembler {
    partial: BTreeMap<u32, Partial>,
    /// Claims already complete, so a resent part is acked again and not reassembled.
    done: BTreeSet<u32>,
}

/// Why a claim part was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("claim part out of range")]
    Range,
    #[error("claim parts disagree")]
    Inconsistent,
    #[error("claim does not decode: {0}")]
    Decode(String),
    #[error("claim character is invalid: {0}")]
    Invalid(String),
}

impl ClaimAssembler {
    /// Whether claim `seq` is complete (now or before): its parts are then acked.
    pub fn is_done(&self, seq: u32) -> bool {
        self.done.contains(&seq)
    }

    /// One part; returns the claim once its last part is in (and nothing for a part of a
    /// claim already complete).
    pub fn insert(
        &mut self,
        seq: u32,
        name: &str,
        secret_digest: [u8; 16],
        part: u8,
        parts: u8,
        bytes: &[u8],
    ) -> Result<Option<ClaimRecord>, ClaimError> {
        if self.done.contains(&seq) {
            return Ok(None);
        }
        if parts == 0 || parts > MAX_CLAIM_PARTS || part >= parts || bytes.len() > CLAIM_PART_BYTES
        {
            return Err(ClaimError::Range);
        }
        if !self.partial.contains_key(&seq) && self.partial.len() >= MAX_ASSEMBLING {
            // The oldest is abandoned; the primary sends it again until it is acked.
            self.partial.pop_first();
        }
        let p = self.partial.entry(seq).or_insert_with(|| Partial {
            name: name.to_string(),
            secret_digest,
            parts: vec![None; usize::from(parts)],
        });
        if p.name != name || p.secret_digest != secret_digest || p.parts.len() != usize::from(parts)
        {
            self.partial.remove(&seq);
            return Err(ClaimError::Inconsistent);
        }
        p.parts[usize::from(part)] = Some(bytes.to_vec());
        if p.parts.iter().any(Option::is_none) {
            return Ok(None);
        }
        let Some(p) = self.partial.remove(&seq) else {
            return Ok(None);
        };
        let joined: Vec<u8> = p.parts.into_iter().flatten().flatten().collect();
        let config = bincode::config::standard().with_limit::<MAX_CLAIM_BYTES>();
        let (character, used): (Option<Character>, usize) =
            bincode::serde::decode_from_slice(&joined, config)
                .map_err(|e| ClaimError::Decode(e.to_string()))?;
        if used != joined.len() {
            return Err(ClaimError::Decode("trailing bytes".into()));
        }
        if let Some(c) = &character {
            c.validate().map_err(ClaimError::Invalid)?;
        }
        if self.done.len() >= MAX_DONE {
            self.done.pop_first();
        }
        self.done.insert(seq);
        Ok(Some(ClaimRecord {
            name: p.name,
            secret_digest: p.secret_digest,
            character,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{decode, encode_bounded};
    use venture_sim::character::MAX_ITEM_STAT;
    use venture_sim::content::items::ItemKind;
    use venture_sim::content::rarity::Rarity;
    use venture_sim::content::Item;

    fn big_character() -> Character {
        let mut c = Character {
            progress: venture_sim::input::Progress {
                level: 7,
                xp: 5,
                skill_points: 2,
                gold: 1234,
            },
            inventory: Vec::new(),
            equipment: [None, None, None],
        };
        for i in 0..venture_sim::player::INVENTORY_SLOTS {
            c.inventory.push(Item {
                name: format!("Potion of the longest name there is, number {i:02}"),
                kind: ItemKind::Consumable,
                rarity: Rarity::Legendary,
                depth: 1000,
                damage: MAX_ITEM_STAT,
                attack: MAX_ITEM_STAT,
                defense: MAX_ITEM_STAT,
                magic_power: MAX_ITEM_STAT,
                magic_defense: MAX_ITEM_STAT,
                heal_hp: MAX_ITEM_STAT,
                restore_mana: MAX_ITEM_STAT,
                weight: 1,
                value: MAX_ITEM_STAT,
            });
        }
        c
    }

    #[test]
    fn proofs_bind_key_purpose_and_nonce() {
        let key = FollowerKey::derive(&[7; 32]);
        let other = FollowerKey::derive(&[8; 32]);
        let nonce = [3; 16];
        let p = key.proof(Purpose::Follow, &nonce);
        assert!(key.verify(Purpose::Follow, &nonce, &p));
        assert!(!key.verify(Purpose::Depose, &nonce, &p));
        assert!(!key.verify(Purpose::Follow, &[4; 16], &p));
        assert!(!other.verify(Purpose::Follow, &nonce, &p));
        let mut flipped = p;
        flipped[31] ^= 1;
        assert!(!key.verify(Purpose::Follow, &nonce, &flipped));
        // The derived key is not the private key itself.
        assert_ne!(key.0, [7; 32]);
        assert_eq!(format!("{key:?}"), "FollowerKey(..)");
    }

    #[test]
    fn claims_round_trip_in_any_order_through_the_codec() {
        let record = ClaimRecord {
            name: "Alice".into(),
            secret_digest: [9; 16],
            character: Some(big_character()),
        };
        let msgs = claim_messages(5, &record).expect("fits");
        assert!(msgs.len() > 1, "a full inventory takes several parts");
        let mut a = ClaimAssembler::default();
        let mut done = None;
        for m in msgs.iter().rev() {
            let wire = encode_bounded(m).expect("a part fits a datagram");
            let Message::Claim {
                seq,
                name,
                secret_digest,
                part,
                parts,
                bytes,
            } = decode(&wire).expect("decodes")
            else {
                panic!("not a claim")
            };
            if let Some(r) = a
                .insert(seq, &name, secret_digest, part, parts, &bytes)
                .expect("valid")
            {
                done = Some(r);
            }
        }
        assert_eq!(done, Some(record));
        // A part resent after completion (our ack was lost) is not reassembled again.
        assert!(a.is_done(5));
        let Message::Claim {
            name,
            secret_digest,
            parts,
            bytes,
            ..
        } = &msgs[0]
        else {
            panic!("not a claim")
        };
        assert_eq!(
            a.insert(5, name, *secret_digest, 0, *parts, bytes),
            Ok(None)
        );
        assert!(a.partial.is_empty());
        let none = ClaimRecord {
            name: "Bob".into(),
            secret_digest: [1; 16],
            character: None,
        };
        let msgs = claim_messages(6, &none).expect("fits");
        assert_eq!(msgs.len(), 1);
    }

    #[test]
    fn hostile_parts_are_bounded_and_refused() {
        let mut a = ClaimAssembler::default();
        assert_eq!(a.insert(1, "x", [0; 16], 0, 0, &[]), Err(ClaimError::Range));
        assert_eq!(a.insert(1, "x", [0; 16], 9, 9, &[]), Err(ClaimError::Range));
        assert_eq!(
            a.insert(1, "x", [0; 16], 0, 1, &[0; CLAIM_PART_BYTES + 1]),
            Err(ClaimError::Range)
        );
        assert!(a.insert(2, "x", [0; 16], 0, 2, &[1]).expect("ok").is_none());
        assert_eq!(
            a.insert(2, "y", [0; 16], 1, 2, &[1]),
            Err(ClaimError::Inconsistent)
        );
        assert!(matches!(
            a.insert(3, "x", [0; 16], 0, 1, &[0xff, 0xff, 0xff]),
            Err(ClaimError::Decode(_))
        ));
        for seq in 100..200 {
            let _ = a.insert(seq, "x", [0; 16], 0, 2, &[1]);
        }
        assert!(a.partial.len() <= MAX_ASSEMBLING);
    }
}
