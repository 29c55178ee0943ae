//! The session messages: every [`Message`] both ways, what it carries, how to build the
//! ones that must be sized right (`Hello`, snapshot chunks), its kind and direction, and
//! the semantic checks every decoded message passes ([`Message::validate`]).

use serde::{Deserialize, Serialize};
use venture_sim::input::{MAX_COMMANDS_PER_FRAME, MAX_SLOTS};
use venture_sim::{valid_name, Command, Frame, PlayerInput};

use super::*;
use crate::chunk::{ChunkAck, CHUNK_SIZE};
use crate::cookie::Cookie;

/// Why a client asks for a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnapshotReason {
    /// Joining a running world.
    Join,
    /// Our checksum for `tick` differed from the server's.
    Desync {
        tick: u64,
        client_checksum: u32,
        server_checksum: u32,
    },
    /// Fell too far behind to catch up from frames.
    FellBehind,
}

/// Why the server refused a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectReason {
    Full,
    VersionMismatch {
        server_protocol: u16,
        server_sim: u32,
    },
    BadCookie,
    BadName,
    ShuttingDown,
    NameTaken,
    /// A spectator refused because all `max` spectator places are taken (protocol 5).
    SpectatorsFull {
        max: u16,
    },
    /// The server has no world yet: it is an Agones fleet server waiting for an
    /// allocation to choose one (`-await-allocation`, protocol 7).
    AwaitingAllocation,
    /// A follower whose proof does not check out, or a server that takes no followers
    /// (protocol 7): the two hold different `server.key`s.
    FollowerRefused,
    /// Answers a valid `Follow { depose: true }`: this server was replaced by its standby
    /// and stops serving (protocol 7).
    Replaced,
}

/// A confirmed frame with the server's world checksum after stepping it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmedFrame {
    pub frame: Frame,
    pub checksum: u32,
}

/// Every message on the wire. Client-to-server first, then server-to-client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    // ---- client -> server ----
    /// First contact; answered with `Challenge` (or `Reject`), never with more bytes
    /// than it carried. Build it with [`Message::hello`]: `padding` (all zeros) makes the
    /// datagram at least [`MIN_HELLO_LEN`] bytes, which [`decode`] enforces.
    Hello {
        protocol: u16,
        sim_version: u32,
        padding: Vec<u8>,
    },
    /// Echoes the cookie from `Challenge`; asks for a slot.
    Join {
        cookie: Cookie,
        name: String,
        character_secret: [u8; 16],
    },
    /// This client's inputs for ticks `first_tick..first_tick + inputs.len()` (a redundant
    /// window), plus the highest confirmed frame tick received contiguously. On the wire
    /// a run-length coded byte string ([`per_tick`](super::per_tick)).
    #[serde(
        serialize_with = "crate::protocol::per_tick::inputs_serde::serialize",
        deserialize_with = "crate::protocol::per_tick::inputs_serde::deserialize"
    )]
    Inputs {
        ack_tick: u64,
        first_tick: u64,
        inputs: Vec<PlayerInput>,
    },
    SnapshotRequest {
        reason: SnapshotReason,
    },
    /// Selective ack of a snapshot's chunks (see [`ChunkAck`]).
    SnapshotChunkAck {
        snapshot_id: u32,
        contiguous: u16,
        mask: u64,
    },
    Leave,
    Ping {
        nonce: u64,
    },
    /// A chat line for everyone (protocol 3). Sent three times, since it is unreliable;
    /// `seq` grows per line so the server keeps one copy. The server cleans, caps and
    /// rate-limits it ([`crate::chat`]) and puts it in a frame as `Command::Chat`.
    Chat {
        seq: u32,
        text: String,
    },
    /// Echoes the cookie from `Challenge`; asks to watch (protocol 5). A spectator takes
    /// no player slot and never adds a command to a frame: it is answered with a `Welcome`
    /// (whose `slot` it ignores), a snapshot and the confirmed frames, like a late joiner.
    /// Its only upstream traffic is `Inputs` with no inputs (its frame acks), snapshot
    /// chunk acks, pings and `Leave`.
    Spectate {
        cookie: Cookie,
    },
    // ---- server -> client ----
    Challenge {
        cookie: Cookie,
    },
    Welcome {
        slot: u8,
        tick_rate: u32,
        seed: u64,
        genre: String,
        sim_version: u32,
        start_tick: u64,
        world_checksum: u32,
        snapshot_id: Option<u32>,
    },
    Reject {
        reason: RejectReason,
    },
    /// Confirmed frames for ticks `first_tick..first_tick + frames.len()` (a redundant
    /// window), the highest input tick received from this client, how many of its inputs
    /// arrived too late, and a signed lead hint in ticks (how early the earliest-closing
    /// input that arrived since the last `Frames` was; [`NO_LEAD_HINT`] if none arrived).
    /// On the wire a
    /// delta-coded byte string ([`per_tick`](super::per_tick)).
    #[serde(
        serialize_with = "crate::protocol::per_tick::frames_serde::serialize",
        deserialize_with = "crate::protocol::per_tick::frames_serde::deserialize"
    )]
    Frames {
        first_tick: u64,
        frames: Vec<ConfirmedFrame>,
        input_ack: u64,
        late_inputs: u32,
        lead_hint: i32,
    },
    SnapshotChunk {
        snapshot_id: u32,
        tick: u64,
        index: u16,
        count: u16,
        bytes: Vec<u8>,
    },
    Pong {
        nonce: u64,
    },
    ShuttingDown,

    // ---- protocol 7, at the end so the older messages keep their tags ----
    /// A hot standby asks to follow (protocol 7; see [`crate::standby`]): `nonce` is the
    /// cookie of the server's `Challenge`, `proof` the MAC over it with the key both derive
    /// from `server.key`. A follower takes no slot; it gets a snapshot, then every
    /// confirmed frame without delay and the saved characters (`Claim`). With `depose`,
    /// the sender is the standby that took over: the server answers `Reject { Replaced }`
    /// and stops serving.
    Follow {
        nonce: Cookie,
        proof: [u8; 32],
        depose: bool,
    },
    /// A follower has claim `seq` complete (protocol 7).
    ClaimAck {
        seq: u32,
    },
    /// Part `part` of `parts` of saved character `seq`, to a follower (protocol 7):
    /// `bytes` is that part of the bincode form of an `Option<Character>` (see
    /// [`crate::standby::claim_messages`]).
    Claim {
        seq: u32,
        name: String,
        secret_digest: [u8; 16],
        part: u8,
        parts: u8,
        bytes: Vec<u8>,
    },
}

/// Which way a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

impl Message {
    /// A `Hello` for this protocol version, padded to [`MIN_HELLO_LEN`] bytes.
    pub fn hello(sim_version: u32) -> Message {
        // Header 4 + variant 1 + protocol (<= 3) + sim_version (<= 5) + padding length
        // (3 bytes once >= 251): start from the largest fixed part, then top up.
        let mut pad = MIN_HELLO_LEN - (HEADER_LEN + 1 + 3 + 5 + 3);
        loop {
            let m = Message::Hello {
                protocol: PROTOCOL_VERSION,
                sim_version,
                padding: vec![0; pad],
            };
            // Encoding a Hello cannot fail; if it did, `decode` would reject the result.
            let len = encode(&m).map_or(MIN_HELLO_LEN, |b| b.len());
            if len >= MIN_HELLO_LEN {
                return m;
            }
            pad += MIN_HELLO_LEN - len;
        }
    }

    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Hello { .. } => "hello",
            Message::Join { .. } => "join",
            Message::Inputs { .. } => "inputs",
            Message::SnapshotRequest { .. } => "snapshot_request",
            Message::SnapshotChunkAck { .. } => "snapshot_chunk_ack",
            Message::Leave => "leave",
            Message::Ping { .. } => "ping",
            Message::Chat { .. } => "chat",
            Message::Spectate { .. } => "spectate",
            Message::Follow { .. } => "follow",
            Message::ClaimAck { .. } => "claim_ack",
            Message::Claim { .. } => "claim",
            Message::Challenge { .. } => "challenge",
            Message::Welcome { .. } => "welcome",
            Message::Reject { .. } => "reject",
            Message::Frames { .. } => "frames",
            Message::SnapshotChunk { .. } => "snapshot_chunk",
            Message::Pong { .. } => "pong",
            Message::ShuttingDown => "shutting_down",
        }
    }

    /// Which way this message travels.
    pub fn direction(&self) -> Direction {
        use Message::*;
        match self {
            Hello { .. }
            | Join { .. }
            | Inputs { .. }
            | SnapshotRequest { .. }
            | SnapshotChunkAck { .. }
            | Leave
            | Ping { .. }
            | Chat { .. }
            | Spectate { .. }
            | Follow { .. }
            | ClaimAck { .. } => Direction::ClientToServer,
            _ => Direction::ServerToClient,
        }
    }

    /// Semantic bounds beyond what bincode checks: names, lengths, tick arithmetic.
    pub fn validate(&self) -> Result<(), ProtocolError> {
        use ProtocolError::Invalid;
        match self {
            Message::Hello { padding, .. } if padding.iter().any(|&b| b != 0) => {
                Err(Invalid("nonzero hello padding"))
            }
            Message::Join { name, .. } if !valid_name(name) => Err(Invalid("bad player name")),
            Message::Chat { text, .. } if text.len() > crate::chat::MAX_CHAT_WIRE_BYTES => {
                Err(Invalid("chat line too long"))
            }
            Message::Inputs {
                first_tick, inputs, ..
            } => {
                if *first_tick < FIRST_WIRE_TICK {
                    return Err(Invalid("tick 0 on the wire"));
                }
                if inputs.len() > MAX_INPUTS_PER_MESSAGE {
                    return Err(Invalid("too many inputs"));
                }
                if first_tick.checked_add(inputs.len() as u64).is_none() {
                    return Err(Invalid("input ticks overflow"));
                }
                Ok(())
            }
            Message::Welcome {
                slot,
                tick_rate,
                genre,
                ..
            } => {
                if usize::from(*slot) >= MAX_SLOTS {
                    return Err(Invalid("slot out of range"));
                }
                if !(1..=1000).contains(tick_rate) {
                    return Err(Invalid("tick rate out of range"));
                }
                if genre.is_empty() || genre.len() > MAX_GENRE_LEN {
                    return Err(Invalid("bad genre length"));
                }
                Ok(())
            }
            Message::Frames {
                first_tick, frames, ..
            } => {
                if !frames.is_empty() && *first_tick < FIRST_WIRE_TICK {
                    return Err(Invalid("tick 0 on the wire"));
                }
                if frames.len() > MAX_FRAMES_PER_MESSAGE {
                    return Err(Invalid("too many frames"));
                }
                for (i, cf) in frames.iter().enumerate() {
                    let expected = first_tick
                        .checked_add(i as u64)
                        .ok_or(Invalid("frame ticks overflow"))?;
                    validate_frame(&cf.frame, expected)?;
                }
                Ok(())
            }
            Message::Claim {
                name,
                part,
                parts,
                bytes,
                ..
            } => {
                if !valid_name(name) {
                    return Err(Invalid("bad claim name"));
                }
                if *parts == 0 || *parts > crate::standby::MAX_CLAIM_PARTS || part >= parts {
                    return Err(Invalid("claim part out of range"));
                }
                if bytes.len() > crate::standby::CLAIM_PART_BYTES {
                    return Err(Invalid("claim part too long"));
                }
                Ok(())
            }
            Message::SnapshotChunk {
                index,
                count,
                bytes,
                ..
            } => {
                if *count == 0 || index >= count {
                    return Err(Invalid("chunk index out of range"));
                }
                if bytes.len() > CHUNK_SIZE {
                    return Err(Invalid("chunk too long"));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A `SnapshotChunkAck` for `ack`.
    pub fn snapshot_chunk_ack(snapshot_id: u32, ack: ChunkAck) -> Message {
        Message::SnapshotChunkAck {
            snapshot_id,
            contiguous: ack.contiguous,
            mask: ack.mask,
        }
    }

    /// The `SnapshotChunk` carrying chunk `index` of `data` (see [`crate::chunk`]), or
    /// `None` if `index` is out of range or `data` is too large to chunk.
    pub fn snapshot_chunk(snapshot_id: u32, tick: u64, data: &[u8], index: u16) -> Option<Message> {
        let count = crate::chunk::chunk_count(data.len()).ok()?;
        let bytes = crate::chunk::chunk(data, index)?.to_vec();
        Some(Message::SnapshotChunk {
            snapshot_id,
            tick,
            index,
            count,
            bytes,
        })
    }

    /// The chunk ack carried by a `SnapshotChunkAck`.
    pub fn chunk_ack(&self) -> Option<(u32, ChunkAck)> {
        match *self {
            Message::SnapshotChunkAck {
                snapshot_id,
                contiguous,
                mask,
            } => Some((snapshot_id, ChunkAck { contiguous, mask })),
            _ => None,
        }
    }
}

/// Checks one frame inside a `Frames` message: its tick, and sim-level bounds.
pub fn validate_frame(frame: &Frame, expected_tick: u64) -> Result<(), ProtocolError> {
    use ProtocolError::Invalid;
    if frame.tick != expected_tick {
        return Err(Invalid("frame ticks not consecutive"));
    }
    if frame.inputs.len() > MAX_SLOTS {
        return Err(Invalid("too many inputs in frame"));
    }
    if frame.commands.len() > MAX_COMMANDS_PER_FRAME {
        return Err(Invalid("too many commands in frame"));
    }
    for c in &frame.commands {
        match c {
            Command::Join { slot, name } => {
                if usize::from(*slot) >= MAX_SLOTS || !valid_name(name) {
                    return Err(Invalid("bad join command"));
                }
            }
            Command::Leave { slot } | Command::Restore { slot, .. } => {
                if usize::from(*slot) >= MAX_SLOTS {
                    return Err(Invalid("bad leave or restore command"));
                }
            }
            Command::Chat { slot, text } => {
                if usize::from(*slot) >= MAX_SLOTS || !venture_sim::valid_chat(text) {
                    return Err(Invalid("bad chat command"));
                }
            }
            Command::GiveItem { slot, item, .. } => {
                if usize::from(*slot) >= MAX_SLOTS
                    || item.name.chars().count() > venture_sim::character::MAX_ITEM_NAME
                {
                    return Err(Invalid("bad item command"));
                }
            }
        }
    }
    Ok(())
}
