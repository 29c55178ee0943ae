//! The secure layer: admission and encryption, between the carriers and the sessions.
//!
//! In quinn-proto's shape: the server's [`responder::Responder`] is the endpoint
//! (stateless cookies, the handshake, the bounded peer table, one idle timeout that emits
//! [`responder::EndpointEvent::Disconnected`]), each session's `Channel` is the
//! connection (sealing, the replay window), and the client's [`initiator::Initiator`] is
//! the one connection a client has. Sessions above see only plaintext from peers that
//! completed a handshake, and every packet after the handshake is sealed. Time is a
//! parameter everywhere: `handle(now, from, bytes)`, `poll_transmit()`, `poll_timeout()`,
//! `handle_timeout(now)`; owners learn what happened from events, never by reaching in.
//!
//! The design follows proven models rather than inventing one:
//! - **Stateless retry first** (quinn-proto's Retry, netcode.io's challenge): a `Hello`,
//!   padded to [`wire::HELLO_LEN`], is answered by a `Cookie` that is smaller than it, a
//!   SipHash MAC over the sender's address and a time bucket ([`crate::cookie`]). The
//!   server keeps nothing per stranger, and nobody unadmitted gets back more bytes than
//!   it sent.
//! - **Noise NK** (`Noise_NK_25519_ChaChaPoly_BLAKE2s` through the `snow` crate): the
//!   `Cookie` also carries the server's static public key, which the client pins on first
//!   use (like SSH known_hosts) or checks against its pin. The client's `Initiate` echoes
//!   the cookie and carries Noise message 1 (`e, es`), whose encrypted payload may carry
//!   the first queued datagram; the server's `Accept` is message 2 (`e, ee`). Only a
//!   correct cookie makes the server spend Diffie-Hellman work or keep state, and only
//!   the holder of the server's private key can produce an `Accept` the client takes.
//! - **Sealed datagrams** (WireGuard's transport): `Data` = type byte, the nonce
//!   counter's low 32 bits (little-endian; the receiver restores the rest from the newest
//!   it accepted, as QUIC does with packet numbers), ChaCha20-Poly1305 ciphertext and tag:
//!   21 bytes of overhead. One key
//!   per direction (Noise's split), a counter per direction, and a sliding replay window
//!   ([`replay_window`]). Anything forged, modified, replayed, truncated or from an address
//!   without a session is dropped before any decoding and counted by [`DropReason`].
//!
//! On a stream carrier (TCP, WebSocket) the connection proves the client's address, so
//! the responder checks no cookie there, and a client that already knows the server's
//! key starts straight at the `Initiate`.
//!
//! [`responder`] and [`initiator`] are sans-IO (bytes in, bytes out, a `Duration` clock
//! passed in), fuzzed and unit-tested without sockets; [`crate::driver`] puts them between
//! any [`crate::carrier::Carrier`] and a session.

mod channel;
pub mod initiator;
pub mod keys;
pub mod replay_window;
pub mod responder;
pub mod wire;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use keys::{
    fingerprint, hex, parse_hex, parse_hex32, parse_public_key, Fingerprint, HexError, KeyError,
    PublicKey, StaticKeypair, KEY_PREFIX,
};

/// The Noise protocol name; both sides build their handshake from it.
pub const NOISE_PARAMS: &str = "Noise_NK_25519_ChaChaPoly_BLAKE2s";
/// Hashed into the handshake, so a transcript from another protocol or layer version
/// cannot complete one of ours.
pub const PROLOGUE: &[u8] = b"venture secure datagram layer v1";

/// How long a cookie stays valid: between one and two of these (see [`crate::cookie`]).
/// Long enough for a 5 s round trip plus jitter between `Cookie` and `Initiate`.
pub const COOKIE_BUCKET: Duration = Duration::from_secs(10);

/// Why a datagram was dropped by the layer (the `reason` label of
/// `venture_datagrams_dropped_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// Unknown packet type, wrong magic, or a packet the receiving side never expects.
    Malformed,
    /// Shorter than its type requires (a `Hello` not padded, a `Data` without its tag).
    Truncated,
    /// Authentication failed: the ciphertext, tag, nonce or handshake message was altered
    /// or made up.
    Forged,
    /// A nonce counter already seen, or older than the replay window.
    Replayed,
    /// A `Data` datagram from an address that has no session.
    UnknownPeer,
    /// An `Initiate` whose cookie is wrong, for another address, or expired.
    BadCookie,
    /// A handshake for another layer version.
    Version,
    /// An `Initiate` refused because the peer table is full of active peers.
    Busy,
    /// A client's datagram from an address other than its server's.
    Stranger,
}

impl DropReason {
    pub const ALL: [DropReason; 9] = [
        DropReason::Malformed,
        DropReason::Truncated,
        DropReason::Forged,
        DropReason::Replayed,
        DropReason::UnknownPeer,
        DropReason::BadCookie,
        DropReason::Version,
        DropReason::Busy,
        DropReason::Stranger,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::Truncated => "truncated",
            DropReason::Forged => "forged",
            DropReason::Replayed => "replayed",
            DropReason::UnknownPeer => "unknown_peer",
            DropReason::BadCookie => "bad_cookie",
            DropReason::Version => "version",
            DropReason::Busy => "busy",
            DropReason::Stranger => "stranger",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Counters kept by either side of the layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayerStats {
    dropped: [u64; 9],
    /// Handshakes completed (server: `Initiate`s accepted; client: `Accept`s taken).
    pub handshakes: u64,
    /// Datagrams sealed and sent.
    pub sealed: u64,
    /// Datagrams opened and passed up to the session.
    pub opened: u64,
    /// Plaintext the session asked to send that could not be (no session for that address, or
    /// a client's queue overflowing while its handshake was under way).
    pub unsendable: u64,
    /// Peers evicted to make room for a new handshake (server).
    pub evicted: u64,
    /// Peers expired after their idle timeout (server).
    pub expired: u64,
}

impl LayerStats {
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped[reason.index()]
    }

    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }

    pub(crate) fn drop(&mut self, reason: DropReason) {
        self.dropped[reason.index()] += 1;
    }
}
