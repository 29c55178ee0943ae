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
//! in a delta/run-length format of their own ([`per_tick`]): frame ticks are
//! implied by `first_tick`, inputs are coded as changes against the previous frame or
//! input, checksums are fixed 4 bytes. A `Frames` datagram with one 4-player frame is 45
//! bytes (at tick 100 000); each further frame adds 5 bytes plus, per input that changed,
//! 1 + the number of changed fields (see `frames_wire_size`).
//!
//! Per-tick data (confirmed frames down, inputs up) travels unreliably with redundancy:
//! [`pack_inputs`] and the server's [`crate::server::frames::pack_frames`] put as many
//! items as fit into one datagram; pair them with [`crate::redundancy`].
//!
//! Ack convention: `Inputs::ack_tick` and `Frames::input_ack` carry the highest tick the
//! sender has received contiguously ([`crate::redundancy::ReceiveTracker::ack`]); before
//! anything has arrived that is `start_tick - 1`. So that this is never ambiguous, tick 0
//! never goes on the wire: `Welcome::start_tick`, and the `first_tick` of `Inputs` and
//! of non-empty `Frames`, must be at least [`FIRST_WIRE_TICK`] (checked on decode).
//!
//! Files: this one holds the version and the limits; [`Message`] and its checks are in
//! `message.rs`, the datagram codec (header, bounded decode, [`pack_inputs`]) in
//! `codec.rs`, the per-tick messages' byte strings in [`per_tick`], and the unit tests in
//! `tests.rs`.

mod codec;
mod message;
pub mod per_tick;
#[cfg(test)]
mod tests;

pub use codec::{
    check_header, decode, decode_from, encode, encode_bounded, pack_inputs, ProtocolError,
};
pub use message::{
    validate_frame, ConfirmedFrame, Direction, Message, RejectReason, SnapshotReason,
};

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
