//! The client session's follower mode (protocol 7): a hot standby joins with a `Follow`
//! carrying a proof of the server key over the server's cookie, then watches like a
//! spectator (no inputs, no prediction, every confirmed frame verified) and receives the
//! saved characters, which it reassembles here and acknowledges.

use std::collections::BTreeSet;

use crate::protocol::Message;
use crate::standby::{ClaimAssembler, ClaimRecord, FollowerKey, Purpose};

/// Claim sequence numbers remembered as complete (to re-ack a resent one cheaply).
const MAX_DONE: usize = 4096;

/// How a follower session proves itself.
#[derive(Clone, Debug)]
pub struct FollowConfig {
    pub key: FollowerKey,
    /// Tell the server it was replaced (a promoted standby deposing the old primary)
    /// instead of following it.
    pub depose: bool,
}

impl FollowConfig {
    /// The `Follow` answering the server's cookie `nonce`.
    pub fn message(&self, nonce: [u8; 16]) -> Message {
        let purpose = if self.depose {
            Purpose::Depose
        } else {
            Purpose::Follow
        };
        Message::Follow {
            nonce,
            proof: self.key.proof(purpose, &nonce),
            depose: self.depose,
        }
    }
}

/// Claims under reassembly and those already complete.
#[derive(Debug, Default)]
pub(super) struct ClaimInbox {
    assembler: ClaimAssembler,
    done: BTreeSet<u32>,
}

impl ClaimInbox {
    /// One `Claim` part: returns the ack to send (if the claim is complete, now or
    /// before) and the claim when it completed now. `Err` for a part that makes no sense.
    pub(super) fn on_part(
        &mut self,
        seq: u32,
        name: &str,
        secret_digest: [u8; 16],
        part: u8,
        parts: u8,
        bytes: &[u8],
    ) -> Result<(Option<Message>, Option<ClaimRecord>), crate::standby::ClaimError> {
        if self.done.contains(&seq) {
            return Ok((Some(Message::ClaimAck { seq }), None));
        }
        match self
            .assembler
            .insert(seq, name, secret_digest, part, parts, bytes)?
        {
            Some(record) => {
                if self.done.len() >= MAX_DONE {
                    self.done.pop_first();
                }
                self.done.insert(seq);
                Ok((Some(Message::ClaimAck { seq }), Some(record)))
            }
            None => Ok((None, None)),
        }
    }
}
