//! The client session's follower mode (protocol 7): a hot standby joins with a `Follow`
//! carrying a proof of the server key over the server's cookie, then watches like a
//! spectator (no inputs, no prediction, every confirmed frame verified) and receives the
//! saved characters (reassembled by `standby::ClaimAssembler`, acked in `inbound`).

use crate::protocol::Message;
use crate::standby::{FollowerKey, Purpose};

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
