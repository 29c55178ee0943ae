//! Saved characters in a session: the claims (who may take a character back, and the
//! commands that restore it through frames), the secret's digest, and the character a
//! player leaves with, captured before its leave is stepped.

use venture_sim::character::Character;
use venture_sim::Command;

use super::*;
use crate::standby::ClaimRecord;

/// A saved character: the digest of the secret that owns it, and the commands that put
/// it back into the world after its `Join` (level, gold, items...). The commands travel in
/// frames like any other, so replays reproduce the restore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CharacterClaim {
    pub secret_digest: [u8; 16],
    pub restore: Vec<Command>,
}

/// Most restore commands added to one frame: keeps every frame far below a datagram even
/// when a character carries a full inventory (it then restores over a few ticks).
pub const RESTORE_PER_TICK: usize = 4;

/// Digest of a character secret as stored in saves (the secret itself is never written).
pub fn secret_digest(secret: &[u8; 16]) -> [u8; 16] {
    use siphasher::sip128::{Hasher128, SipHasher24};
    use std::hash::Hasher;
    // A fixed, public key: this is a fingerprint of a 128-bit random secret, not a MAC.
    let mut h = SipHasher24::new_with_keys(0x7665_6e74_7572_6521, 0x6368_6172_6163_7465);
    h.write(secret);
    h.finish128().as_bytes()
}

impl ServerSession {
    /// Registers `name`'s saved character (its claim, see [`ServerSession::set_claim`])
    /// and sends it to every follower.
    pub fn set_character(&mut self, name: &str, character: &Character, secret_digest: [u8; 16]) {
        self.set_claim(
            name.to_string(),
            CharacterClaim {
                secret_digest,
                restore: character.restore_commands(0),
            },
        );
        self.followers.publish(&ClaimRecord {
            name: name.to_string(),
            secret_digest,
            character: Some(character.clone()),
        });
    }

    /// Characters of connected players that are fully in the world (for autosave and
    /// shutdown): (name, character, secret digest).
    pub fn connected_characters(&self) -> Vec<(String, Character, [u8; 16])> {
        self.players
            .iter()
            .flatten()
            .filter(|c| !self.restore_queue.iter().any(|cmd| cmd.slot() == c.slot))
            .filter_map(|c| {
                let p = self
                    .world
                    .player(c.slot as usize)
                    .filter(|p| p.name == c.name)?;
                Some((c.name.clone(), Character::of(p), secret_digest(&c.secret)))
            })
            .collect()
    }

    /// Registers (or replaces) the saved character `name`.
    pub fn set_claim(&mut self, name: String, claim: CharacterClaim) {
        self.claims.insert(name, claim);
    }

    pub fn claim(&self, name: &str) -> Option<&CharacterClaim> {
        self.claims.get(name)
    }

    /// The character secret a client presented when it joined (for the save layer).
    pub fn character_secret(&self, slot: u8) -> Option<[u8; 16]> {
        self.players.get(slot as usize)?.as_ref().map(|c| c.secret)
    }

    pub(super) fn remove_player(&mut self, slot: u8, reason: LeaveReason) {
        if let Some(c) = self.players[slot as usize].take() {
            self.by_addr.remove(&c.down.addr);
            // Captured now: the leave is stepped later, and then the player is gone. Not
            // when a restore was still under way: saving half a character would lose items.
            let restoring = self.restore_queue.iter().any(|cmd| cmd.slot() == slot);
            let character = match self.world.player(slot as usize) {
                Some(p) if p.name == c.name && !restoring => {
                    Some(Box::new((Character::of(p), secret_digest(&c.secret))))
                }
                _ => None,
            };
            // A join still queued cancels out; otherwise the player leaves the world.
            self.restore_queue.retain(|cmd| cmd.slot() != slot);
            let before = self.pending_commands.len();
            self.pending_commands
                .retain(|cmd| !matches!(cmd, Command::Join { slot: s, .. } if *s == slot));
            if self.pending_commands.len() == before {
                self.pending_commands.push(Command::Leave { slot });
            }
            self.events.push(ServerEvent::PlayerDisconnected {
                slot,
                name: c.name,
                addr: c.down.addr,
                reason,
                character,
            });
        }
    }
}
