//! Venture's wire protocol: versioned messages and their bounded codec.
//!
//! Protocol 7 adds the hot standby's messages (`Follow`, `ClaimAck`, `Claim`; see
//! [`crate::standby`]).
//!
//! Every datagram (the plaintext of one secure-layer packet) is a 2-byte header,
//! [`PROTOCOL_VERSION`] (u16 little-endian), followed by one bincode-2 encoded
//! [`Message`] (serde, `config::standard()`, varint integers). The header is checked
//! before any decoding. Encoded datagrams never exceed [`MAX_DATAGRAM`] bytes
//! ([`encode_bounded`] refuses), and [`decode`] treats its input as hostile: size-limited
//! bincode decoding, no trailing bytes, then explicit validation of every length, name,
//! and tick sequence ([`Message::validate`]). Nothing here panics on any input.
//!
//! Version 7: laminar left the stack; a datagram is a secure-layer packet's whole
//! plaintext, with no laminar header beneath it (5 bytes fewer), over UDP, TCP or
//! WebSocket; the 2-byte magic before the version went too (the secure layer
//! authenticates every datagram, so junk never reaches this decoder). The messages are
//! those of version 6.
//!
//! Version 2: the per-tick messages (`Frames`, `Inputs`) are each one bincode byte string
//! in a compact delta/run-length format of their own ([`crate::compact`]): frame ticks are
//! implied by `first_tick`, inputs are coded as changes against the previous frame or
//! input, checksums are fixed 4 bytes. A `Frames` datagram with one 4-player frame is 45
//! bytes (at tick 100 000); each further frame adds 5 bytes plus, per input that changed,
//! 1 + the number of changed fields (see `frames_wire_size`).
//!
//! Per-tick data (confirmed frames down, inputs up) travels unreliably with redundancy:
//! [`pack_inputs`] and the server's [`crate::server::frames::pack_frames`] put as many
//! items as fit into one datagram; pair them with [`crate::window`].
//!
//! Ack convention: `Inputs::ack_tick` and `Frames::input_ack` carry the highest tick the
//! sender has received contiguously ([`crate::window::ReceiveTracker::ack`]); before
//! anything has arrived that is `start_tick - 1`. So that this is never ambiguous, tick 0
//! never goes on the wire: `Welcome::start_tick`, and the `first_tick` of `Inputs` and
//! of non-empty `Frames`, must be at least [`FIRST_WIRE_TICK`] (checked on decode).

use serde::{Deserialize, Serialize};
use thiserror::Error;
use venture_sim::input::{MAX_COMMANDS_PER_FRAME, MAX_SLOTS};
use venture_sim::{valid_name, Command, Frame, PlayerInput};

use crate::chunk::{ChunkAck, CHUNK_SIZE};
use crate::cookie::Cookie;

/// Wire protocol version; bump on any incompatible change to [`Message`].
pub const PROTOCOL_VERSION: u16 = 7;

/// `Frames::lead_hint` when no input arrived since the previous `Frames` (protocol 4): a
/// hint is a measurement of one tick's arrivals, never a repeat of an older one. -64 is the
/// most negative value whose zigzag varint is one byte (`i32::MIN` would cost 4 more bytes
/// in every such datagram); a real hint of exactly -64 (inputs 64 ticks late) is then read
/// as "none", which costs the client one sample of a run that moves by a tick per tick.
pub const NO_LEAD_HINT: i32 = -64;
/// Bytes of header before the encoded message: the protocol version.
pub const HEADER_LEN: usize = 2;
/// Largest datagram we send or accept (header included).
pub const MAX_DATAGRAM: usize = 1200;
/// bincode's decode allocation limit: no message may claim more than this.
pub const DECODE_LIMIT: usize = 4096;
/// Most confirmed frames in one `Frames` message.
pub const MAX_FRAMES_PER_MESSAGE: usize = 128;
/// Most inputs in one `Inputs` message.
pub const MAX_INPUTS_PER_MESSAGE: usize = 256;
/// Smallest `Hello` datagram accepted. The server's answers to an unadmitted sender
/// (`Challenge`, `Reject`) are a few dozen bytes, but answering also makes laminar treat
/// the address as connected and send it a heartbeat each second until the 10 s idle
/// timeout (~10 small datagrams, each with 28 bytes of UDP/IP overhead); 512 bytes keeps
/// the total reply below the request, so a spoofed `Hello` cannot amplify.
pub const MIN_HELLO_LEN: usize = 512;
/// Lowest tick that may appear on the wire (see the ack convention above).
pub const FIRST_WIRE_TICK: u64 = 1;
/// Longest genre name accepted, in bytes.
pub const MAX_GENRE_LEN: usize = 32;

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
    /// a compact run-length byte string ([`crate::compact`]).
    #[serde(
        serialize_with = "crate::compact::inputs_serde::serialize",
        deserialize_with = "crate::compact::inputs_serde::deserialize"
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
    /// On the wire a compact
    /// delta-coded byte string ([`crate::compact`]).
    #[serde(
        serialize_with = "crate::compact::frames_serde::serialize",
        deserialize_with = "crate::compact::frames_serde::deserialize"
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

/// Everything that can go wrong encoding or decoding.
#[derive(Debug, Error)]
pub enum ProtocolError {
    #[error("datagram of {len} bytes is shorter than the {HEADER_LEN}-byte header")]
    TooShort { len: usize },
    #[error("datagram of {len} bytes exceeds the maximum of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("protocol version {got}, expected {PROTOCOL_VERSION}")]
    VersionMismatch { got: u16 },
    #[error("undecodable message: {0}")]
    Decode(#[from] bincode::error::DecodeError),
    #[error("unencodable message: {0}")]
    Encode(#[from] bincode::error::EncodeError),
    #[error("{trailing} trailing bytes after the message")]
    TrailingBytes { trailing: usize },
    #[error("invalid message: {0}")]
    Invalid(&'static str),
    #[error("{kind} message travelling the wrong way")]
    WrongDirection { kind: &'static str },
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT>()
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

/// Encodes `msg` with the header, without a size check (see [`encode_bounded`]).
pub fn encode(msg: &Message) -> Result<Vec<u8>, ProtocolError> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
    let body = bincode::serde::encode_to_vec(msg, bincode::config::standard())?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Encodes `msg`, failing with [`ProtocolError::TooLarge`] past [`MAX_DATAGRAM`] bytes.
pub fn encode_bounded(msg: &Message) -> Result<Vec<u8>, ProtocolError> {
    let out = encode(msg)?;
    if out.len() > MAX_DATAGRAM {
        return Err(ProtocolError::TooLarge {
            len: out.len(),
            max: MAX_DATAGRAM,
        });
    }
    Ok(out)
}

/// Checks the header alone and returns the body.
pub fn check_header(bytes: &[u8]) -> Result<&[u8], ProtocolError> {
    if bytes.len() < HEADER_LEN {
        return Err(ProtocolError::TooShort { len: bytes.len() });
    }
    if bytes.len() > MAX_DATAGRAM {
        return Err(ProtocolError::TooLarge {
            len: bytes.len(),
            max: MAX_DATAGRAM,
        });
    }
    let version = u16::from_le_bytes([bytes[0], bytes[1]]);
    if version != PROTOCOL_VERSION {
        return Err(ProtocolError::VersionMismatch { got: version });
    }
    Ok(&bytes[HEADER_LEN..])
}

/// Decodes and validates one datagram.
pub fn decode(bytes: &[u8]) -> Result<Message, ProtocolError> {
    let body = check_header(bytes)?;
    let (msg, used): (Message, usize) = bincode::serde::decode_from_slice(body, config())?;
    if used != body.len() {
        return Err(ProtocolError::TrailingBytes {
            trailing: body.len().saturating_sub(used),
        });
    }
    msg.validate()?;
    if matches!(msg, Message::Hello { .. }) && bytes.len() < MIN_HELLO_LEN {
        return Err(ProtocolError::Invalid("hello shorter than MIN_HELLO_LEN"));
    }
    Ok(msg)
}

/// [`decode`], then rejects messages that do not travel in `expected` direction (a server
/// decodes with `ClientToServer`, a client with `ServerToClient`).
pub fn decode_from(bytes: &[u8], expected: Direction) -> Result<Message, ProtocolError> {
    let msg = decode(bytes)?;
    if msg.direction() != expected {
        return Err(ProtocolError::WrongDirection { kind: msg.kind() });
    }
    Ok(msg)
}

/// Encodes an `Inputs` message carrying the newest of `inputs` (for ticks `first_tick..`)
/// that fit, at most [`MAX_INPUTS_PER_MESSAGE`]: for inputs the freshest matter most, as
/// older ones may already be late. Returns the datagram and the first tick it carries.
pub fn pack_inputs(
    ack_tick: u64,
    first_tick: u64,
    inputs: &[PlayerInput],
) -> Result<(Vec<u8>, u64), ProtocolError> {
    let make = |first: u64, inputs: Vec<PlayerInput>| Message::Inputs {
        ack_tick,
        first_tick: first,
        inputs,
    };
    // An input costs at most seven bytes (field mask + six fields); find the largest
    // suffix that fits.
    let mut n = inputs.len().min(MAX_INPUTS_PER_MESSAGE);
    loop {
        let skip = inputs.len() - n;
        let first = first_tick
            .checked_add(skip as u64)
            .ok_or(ProtocolError::Invalid("input ticks overflow"))?;
        match encode_bounded(&make(first, inputs[skip..].to_vec())) {
            Ok(bytes) => return Ok((bytes, first)),
            Err(ProtocolError::TooLarge { len, .. }) if n > 0 => {
                let over = len - MAX_DATAGRAM;
                n = n.saturating_sub(over.div_ceil(7).max(1));
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_frames::{frame, input};

    fn all_messages() -> Vec<Message> {
        vec![
            Message::hello(3),
            Message::hello(u32::MAX),
            Message::Join {
                cookie: [9; 16],
                name: "Bob the 2nd".into(),
                character_secret: [1; 16],
            },
            Message::Inputs {
                ack_tick: 5,
                first_tick: 6,
                inputs: (0..10).map(input).collect(),
            },
            Message::SnapshotRequest {
                reason: SnapshotReason::Desync {
                    tick: 9,
                    client_checksum: 1,
                    server_checksum: 2,
                },
            },
            Message::SnapshotChunkAck {
                snapshot_id: 1,
                contiguous: 3,
                mask: 0b101,
            },
            Message::Leave,
            Message::Ping { nonce: u64::MAX },
            Message::Challenge { cookie: [3; 16] },
            Message::Welcome {
                slot: 3,
                tick_rate: 20,
                seed: 12345,
                genre: "fantasy".into(),
                sim_version: 3,
                start_tick: 100,
                world_checksum: 0xdead_beef,
                snapshot_id: Some(4),
            },
            Message::Reject {
                reason: RejectReason::VersionMismatch {
                    server_protocol: 1,
                    server_sim: 2,
                },
            },
            Message::Frames {
                first_tick: 10,
                frames: (10..14).map(|t| frame(t, 4)).collect(),
                input_ack: 12,
                late_inputs: 1,
                lead_hint: -2,
            },
            Message::SnapshotChunk {
                snapshot_id: 4,
                tick: 100,
                index: 0,
                count: 2,
                bytes: vec![7; CHUNK_SIZE],
            },
            Message::Pong { nonce: 1 },
            Message::ShuttingDown,
            Message::Follow {
                nonce: [5; 16],
                proof: [6; 32],
                depose: true,
            },
            Message::ClaimAck { seq: 9 },
            Message::Claim {
                seq: 9,
                name: "Alice".into(),
                secret_digest: [2; 16],
                part: 1,
                parts: 2,
                bytes: vec![1; crate::standby::CLAIM_PART_BYTES],
            },
            Message::Reject {
                reason: RejectReason::Replaced,
            },
        ]
    }

    #[test]
    fn round_trip_every_message() {
        for m in all_messages() {
            let bytes = encode_bounded(&m).expect("fits");
            assert_eq!(&bytes[..2], &PROTOCOL_VERSION.to_le_bytes());
            assert_eq!(decode(&bytes).expect("decodes"), m);
        }
        assert_eq!(Message::Leave.direction(), Direction::ClientToServer);
        let pong = encode(&Message::Pong { nonce: 1 }).expect("encodes");
        assert!(decode_from(&pong, Direction::ServerToClient).is_ok());
        assert!(matches!(
            decode_from(&pong, Direction::ClientToServer),
            Err(ProtocolError::WrongDirection { kind: "pong" })
        ));
        assert_eq!(Message::ShuttingDown.direction(), Direction::ServerToClient);
    }

    #[test]
    fn header_and_trailing_bytes() {
        let good = encode(&Message::Leave).expect("encodes");
        assert!(matches!(
            decode(&good[..1]),
            Err(ProtocolError::TooShort { .. })
        ));
        let mut bad = good.clone();
        bad[0] = 99;
        assert!(matches!(
            decode(&bad),
            Err(ProtocolError::VersionMismatch { got: 99 })
        ));
        let mut bad = good.clone();
        bad.push(0);
        assert!(matches!(
            decode(&bad),
            Err(ProtocolError::TrailingBytes { trailing: 1 })
        ));
        assert!(matches!(
            decode(&vec![0; MAX_DATAGRAM + 1]),
            Err(ProtocolError::TooLarge { .. })
        ));
    }

    #[test]
    fn validation_rejects_out_of_bounds() {
        let cases = vec![
            Message::Join {
                cookie: [0; 16],
                name: " bad".into(),
                character_secret: [0; 16],
            },
            Message::Welcome {
                slot: 64,
                tick_rate: 20,
                seed: 0,
                genre: "x".into(),
                sim_version: 0,
                start_tick: 0,
                world_checksum: 0,
                snapshot_id: None,
            },
            Message::Inputs {
                ack_tick: 0,
                first_tick: u64::MAX,
                inputs: vec![input(0)],
            },
            Message::Inputs {
                ack_tick: 0,
                first_tick: 0,
                inputs: vec![input(0)],
            },
            Message::Frames {
                first_tick: 0,
                frames: vec![frame(0, 1)],
                input_ack: 0,
                late_inputs: 0,
                lead_hint: 0,
            },
            Message::SnapshotChunk {
                snapshot_id: 0,
                tick: 0,
                index: 2,
                count: 2,
                bytes: vec![],
            },
            Message::Claim {
                seq: 0,
                name: "Al".into(),
                secret_digest: [0; 16],
                part: 2,
                parts: 2,
                bytes: vec![],
            },
            Message::Claim {
                seq: 0,
                name: "".into(),
                secret_digest: [0; 16],
                part: 0,
                parts: 1,
                bytes: vec![],
            },
        ];
        for m in cases {
            let bytes = encode(&m).expect("encodes");
            assert!(
                matches!(decode(&bytes), Err(ProtocolError::Invalid(_))),
                "{m:?}"
            );
        }
    }

    #[test]
    fn hostile_bytes_never_panic() {
        // Truncations and bit flips of valid messages, plus a huge claimed length.
        for m in all_messages() {
            let bytes = encode(&m).expect("encodes");
            for cut in HEADER_LEN..bytes.len() {
                let _ = decode(&bytes[..cut]);
            }
            for i in HEADER_LEN..bytes.len() {
                for bit in 0..8 {
                    let mut b = bytes.clone();
                    b[i] ^= 1 << bit;
                    let _ = decode(&b);
                }
            }
        }
        // Variant `Inputs` claiming u64::MAX inputs: bincode's limit rejects it.
        let mut b = PROTOCOL_VERSION.to_le_bytes().to_vec();
        b.extend_from_slice(&[
            2, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        assert!(decode(&b).is_err());
        // Deterministic pseudo-random garbage after a valid header.
        let mut x = 0x1234_5678_9abc_def0u64;
        for _ in 0..2000 {
            let mut b = PROTOCOL_VERSION.to_le_bytes().to_vec();
            let n = (x % 64) as usize;
            for _ in 0..n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b.push(x as u8);
            }
            let _ = decode(&b);
        }
    }

    #[test]
    fn hello_is_padded_and_replies_are_smaller() {
        for v in [0, 3, u32::MAX] {
            let n = encode_bounded(&Message::hello(v)).expect("fits").len();
            assert!((MIN_HELLO_LEN..MIN_HELLO_LEN + 16).contains(&n), "{n}");
        }
        let short = encode(&Message::Hello {
            protocol: PROTOCOL_VERSION,
            sim_version: 1,
            padding: vec![],
        })
        .expect("encodes");
        assert!(matches!(decode(&short), Err(ProtocolError::Invalid(_))));
        let mut dirty = Message::hello(1);
        if let Message::Hello { padding, .. } = &mut dirty {
            padding[0] = 1;
        }
        let dirty = encode(&dirty).expect("encodes");
        assert!(matches!(decode(&dirty), Err(ProtocolError::Invalid(_))));
        let challenge = encode(&Message::Challenge { cookie: [0xff; 16] }).expect("encodes");
        let reject = encode(&Message::Reject {
            reason: RejectReason::VersionMismatch {
                server_protocol: u16::MAX,
                server_sim: u32::MAX,
            },
        })
        .expect("encodes");
        // Reply plus ten 5-byte laminar heartbeats, all with 28 bytes of UDP/IP overhead.
        let worst_reply = challenge.len().max(reject.len()) + 5 + 28 + 10 * (5 + 28);
        assert!(worst_reply < MIN_HELLO_LEN + 5 + 28, "{worst_reply}");
        assert_eq!(Message::hello(1).kind(), "hello");
    }

    #[test]
    fn snapshot_chunks_through_messages() {
        use crate::chunk::{Progress, Reassembler};
        let data: Vec<u8> = (0..4321u32).map(|i| (i % 253) as u8).collect();
        let mut r = Reassembler::default();
        let mut done = None;
        for index in (0..5u16).rev() {
            let m = Message::snapshot_chunk(7, 99, &data, index).expect("in range");
            let wire = encode_bounded(&m).expect("a full chunk fits a datagram");
            if let Message::SnapshotChunk {
                snapshot_id,
                tick,
                index,
                count,
                bytes,
            } = decode_from(&wire, Direction::ServerToClient).expect("decodes")
            {
                if let Progress::Complete(out) = r
                    .insert(snapshot_id, tick, index, count, &bytes)
                    .expect("valid")
                {
                    done = Some(out);
                }
            }
        }
        assert_eq!(done, Some(data.clone()));
        assert!(Message::snapshot_chunk(7, 99, &data, 5).is_none());
        let (id, ack) = r.ack().expect("complete");
        let m = Message::snapshot_chunk_ack(id, ack);
        assert_eq!(m.chunk_ack(), Some((7, ack)));
    }

    /// Frame ticks are implied by `first_tick` on the wire: a message whose frames carry
    /// other ticks fails validation before encoding and decodes consecutive.
    #[test]
    fn frame_ticks_are_implied() {
        let m = Message::Frames {
            first_tick: 10,
            frames: vec![frame(10, 1), frame(12, 1)],
            input_ack: 0,
            late_inputs: 0,
            lead_hint: 0,
        };
        assert!(matches!(m.validate(), Err(ProtocolError::Invalid(_))));
        match decode(&encode(&m).expect("encodes")).expect("decodes") {
            Message::Frames { frames, .. } => {
                assert_eq!(frames[1].frame.tick, 11);
                assert_eq!(frames[1].frame.inputs, frame(12, 1).frame.inputs);
            }
            other => panic!("{other:?}"),
        }
    }

    /// Pins the wire size of the common case (4 players, 20 Hz) so bandwidth regressions
    /// show up: DESIGN.md budgets < 2 KB/s down and < 1.5 KB/s up per player, including
    /// 28 B UDP/IP and laminar's header (see `benches/bandwidth.rs`).
    #[test]
    fn frames_wire_size() {
        let sizes = |change: bool| -> Vec<usize> {
            [1usize, 2, 4, 8]
                .iter()
                .map(|&k| {
                    let frames: Vec<_> = (100_000..100_000 + k as u64)
                        .map(|t| {
                            let mut cf = frame(if change { t } else { 7 }, 4);
                            cf.frame.tick = t;
                            cf.frame.commands.clear();
                            cf.checksum = u32::MAX;
                            cf
                        })
                        .collect();
                    encode_bounded(&Message::Frames {
                        first_tick: 100_000,
                        frames,
                        input_ack: 100_003,
                        late_inputs: 0,
                        lead_hint: 0,
                    })
                    .expect("fits")
                    .len()
                })
                .collect()
        };
        let (same, worst) = (sizes(false), sizes(true));
        eprintln!("Frames datagram bytes for 1/2/4/8 four-player frames: unchanged inputs {same:?}, every input changing every field {worst:?}");
        // One frame: header 2 + tag 1 + blob length 1 + first_tick 3 + input_ack 1 + late 1
        // + lead 1 + count 1 + frame (head 1 + len 1 + 4 x (mask 1 + 6 fields) + checksum 4).
        assert_eq!(same[0], 2 + 1 + 1 + 3 + 1 + 1 + 1 + 1 + (1 + 1 + 4 * 7 + 4));
        // A repeated frame is its head byte and checksum.
        assert_eq!(same[1] - same[0], 5);
        assert_eq!(same[3] - same[0], 7 * 5);
        // Worst case: every field of every input changes (input(t ^ s) varies move_x,
        // move_y and buttons each tick).
        assert!(worst[1] - worst[0] <= 1 + 4 * 4 + 4, "{worst:?}");
        let inputs = pack_inputs(100_000, 100_001, &[input(1); 4])
            .expect("packs")
            .0
            .len();
        eprintln!("Inputs datagram bytes for 4 redundant identical inputs: {inputs}");
        // Header 2 + tag 1 + blob length 1 + ack 3 + first 1 + count 1 + input 7 + run 1.
        assert_eq!(inputs, 2 + 1 + 1 + 3 + 1 + 1 + 7 + 1);
    }

    #[test]
    fn encode_bounded_refuses_oversize() {
        let m = Message::SnapshotChunk {
            snapshot_id: 0,
            tick: 0,
            index: 0,
            count: 1,
            bytes: vec![0; 2000],
        };
        assert!(matches!(
            encode_bounded(&m),
            Err(ProtocolError::TooLarge { .. })
        ));
    }

    #[test]
    fn pack_inputs_keeps_newest() {
        let inputs: Vec<_> = (0..400u32).map(|i| input(i as u8)).collect();
        let (bytes, first) = pack_inputs(3, 1000, &inputs).expect("packs");
        assert!(bytes.len() <= MAX_DATAGRAM);
        match decode(&bytes).expect("decodes") {
            Message::Inputs {
                first_tick,
                inputs: got,
                ..
            } => {
                assert_eq!(first_tick, first);
                assert!(got.len() >= 190, "only {} inputs fit", got.len());
                assert_eq!(first_tick + got.len() as u64, 1400);
                assert_eq!(got[..], inputs[inputs.len() - got.len()..]);
            }
            other => panic!("{other:?}"),
        }
        let (bytes, first) = pack_inputs(0, 7, &[]).expect("packs");
        assert_eq!(first, 7);
        assert!(decode(&bytes).is_ok());
    }
}
