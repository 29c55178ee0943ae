//! What happened during a tick, for logs and clients. Events are derived output: they are
//! not part of the state, the snapshot or the checksum, and nothing reads them back.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    PlayerJoined {
        slot: u8,
        name: String,
    },
    PlayerLeft {
        slot: u8,
        name: String,
    },
    /// A command the rules ignored, with why (slot taken, bad name, no such player...).
    CommandIgnored {
        slot: u8,
        reason: IgnoredReason,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IgnoredReason {
    SlotOutOfRange,
    SlotTaken,
    InvalidName,
    NoSuchPlayer,
}
