//! The layer's packet formats (see docs/PROTOCOL.md, "The secure layer").
//!
//! Every datagram on the wire starts with a type byte. Handshake packets follow it with
//! the magic `VNT` and the layer version; `Data` follows it with the nonce counter only,
//! because its 21 bytes of overhead are paid on every datagram.
//!
//! | type | name     | body                                              | size        |
//! |------|----------|---------------------------------------------------|-------------|
//! | 0xA1 | Hello    | magic, version, zero padding                      | 128         |
//! | 0xA2 | Cookie   | magic, version, cookie (16), server key (32)      | 53          |
//! | 0xA3 | Initiate | magic, version, cookie (16), Noise message 1      | 69 + early  |
//! | 0xA4 | Accept   | magic, version, Noise message 2                   | 53          |
//! | 0xA5 | Data     | counter (low 32 bits, LE), ciphertext + tag (16) | 21 + data   |
//! | 0xA6 | Refuse   | magic, version, reason (1)                        | 6           |
//!
//! Each answer to an unadmitted sender is no larger than what it answers: a `Cookie`
//! (53) answers a `Hello` (128), an `Accept` (53) or `Refuse` (6) an `Initiate` (69 or
//! more).

use crate::cookie::{Cookie, COOKIE_LEN};

use super::keys::PublicKey;

pub const HELLO: u8 = 0xA1;
pub const COOKIE: u8 = 0xA2;
pub const INITIATE: u8 = 0xA3;
pub const ACCEPT: u8 = 0xA4;
pub const DATA: u8 = 0xA5;
pub const REFUSE: u8 = 0xA6;

pub const MAGIC: [u8; 3] = *b"VNT";
/// The layer's version; a different one is refused with [`RefuseReason::Version`].
/// 2 (protocol 7): no laminar beneath the sessions, and a 4-byte counter in `Data`.
pub const LAYER_VERSION: u8 = 2;
/// Type, magic and version.
pub const HANDSHAKE_HEADER: usize = 5;

/// The largest datagram the layer puts on the wire or reads: laminar's largest plus
/// `Data` overhead, or an `Initiate` carrying one as early data, fit; below the 1472
/// bytes a 1500-byte MTU carries over IPv4.
pub const MAX_WIRE_DATAGRAM: usize = 1400;
/// A `Hello`'s size: padded so that no answer to it is larger.
pub const HELLO_LEN: usize = 128;
/// The AEAD tag.
pub const TAG_LEN: usize = 16;
/// An X25519 public key on the wire (Noise's `e`).
pub const DH_LEN: usize = 32;
/// Bytes of a `Data` counter on the wire: its low 32 bits; the receiver restores the
/// rest from the newest counter it accepted (as QUIC restores packet numbers), so a
/// session may send more than 2^32 datagrams.
pub const COUNTER_LEN: usize = 4;
/// Bytes `Data` adds to a datagram: type, counter, tag.
pub const DATA_OVERHEAD: usize = 1 + COUNTER_LEN + TAG_LEN;
/// Noise NK message 1 with an empty payload: `e` and the payload's tag.
pub const NOISE_MSG1_MIN: usize = DH_LEN + TAG_LEN;
/// Noise NK message 2 with an empty payload.
pub const NOISE_MSG2_LEN: usize = DH_LEN + TAG_LEN;
pub const COOKIE_PACKET_LEN: usize = HANDSHAKE_HEADER + COOKIE_LEN + 32;
pub const INITIATE_MIN_LEN: usize = HANDSHAKE_HEADER + COOKIE_LEN + NOISE_MSG1_MIN;
pub const ACCEPT_LEN: usize = HANDSHAKE_HEADER + NOISE_MSG2_LEN;
pub const REFUSE_LEN: usize = HANDSHAKE_HEADER + 1;

// No answer to an unadmitted sender is larger than what it answers (checked at compile time).
const _: () = assert!(COOKIE_PACKET_LEN <= HELLO_LEN);
const _: () = assert!(ACCEPT_LEN <= INITIATE_MIN_LEN);
const _: () = assert!(REFUSE_LEN <= INITIATE_MIN_LEN && REFUSE_LEN <= HELLO_LEN);

/// Why a server refused a handshake (unauthenticated, so a client only ever retries or
/// reports on it, never tears down an established session).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefuseReason {
    /// The server speaks another layer version (given in the header).
    Version,
    /// The cookie had expired or was not for this address: start again from `Hello`.
    StaleCookie,
    /// The server's peer table is full of active peers: try again later.
    Busy,
}

impl RefuseReason {
    fn to_byte(self) -> u8 {
        match self {
            RefuseReason::Version => 1,
            RefuseReason::StaleCookie => 2,
            RefuseReason::Busy => 3,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(RefuseReason::Version),
            2 => Some(RefuseReason::StaleCookie),
            3 => Some(RefuseReason::Busy),
            _ => None,
        }
    }
}

/// A parsed handshake packet or data datagram, borrowing from the received bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    Hello,
    Cookie {
        cookie: Cookie,
        server_key: PublicKey,
    },
    Initiate {
        cookie: Cookie,
        noise: &'a [u8],
    },
    Accept {
        noise: &'a [u8],
    },
    Data {
        /// The counter's low 32 bits ([`expand_counter`] restores the rest).
        counter: u32,
        sealed: &'a [u8],
    },
    Refuse {
        reason: RefuseReason,
        version: u8,
    },
}

/// Why bytes are not a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    Malformed,
    Truncated,
    /// A handshake packet with the right magic but another layer version.
    Version(u8),
}

/// Parses one datagram. Checks lengths and framing only; nothing is authenticated here.
pub fn parse(bytes: &[u8]) -> Result<Packet<'_>, ParseError> {
    let (&kind, rest) = bytes.split_first().ok_or(ParseError::Truncated)?;
    if kind == DATA {
        if rest.len() < COUNTER_LEN + TAG_LEN {
            return Err(ParseError::Truncated);
        }
        let (counter, sealed) = rest.split_at(COUNTER_LEN);
        let counter = u32::from_le_bytes(counter.try_into().expect("split_at gives 4 bytes"));
        return Ok(Packet::Data { counter, sealed });
    }
    if !matches!(kind, HELLO | COOKIE | INITIATE | ACCEPT | REFUSE) {
        return Err(ParseError::Malformed);
    }
    if rest.len() < 4 {
        return Err(ParseError::Truncated);
    }
    if rest[..3] != MAGIC {
        return Err(ParseError::Malformed);
    }
    let version = rest[3];
    let body = &rest[4..];
    if kind == REFUSE {
        // A refusal names the refuser's version, so it is read whatever the version.
        let &[reason] = body else {
            return Err(ParseError::Malformed);
        };
        let reason = RefuseReason::from_byte(reason).ok_or(ParseError::Malformed)?;
        return Ok(Packet::Refuse { reason, version });
    }
    if version != LAYER_VERSION {
        return Err(ParseError::Version(version));
    }
    match kind {
        HELLO if bytes.len() < HELLO_LEN => Err(ParseError::Truncated),
        HELLO => Ok(Packet::Hello),
        COOKIE => {
            if body.len() != COOKIE_LEN + 32 {
                return Err(ParseError::Truncated);
            }
            let (cookie, key) = body.split_at(COOKIE_LEN);
            Ok(Packet::Cookie {
                cookie: cookie.try_into().expect("split at COOKIE_LEN"),
                server_key: key.try_into().expect("body is COOKIE_LEN + 32"),
            })
        }
        INITIATE => {
            if body.len() < COOKIE_LEN + NOISE_MSG1_MIN {
                return Err(ParseError::Truncated);
            }
            let (cookie, noise) = body.split_at(COOKIE_LEN);
            Ok(Packet::Initiate {
                cookie: cookie.try_into().expect("split at COOKIE_LEN"),
                noise,
            })
        }
        ACCEPT if body.len() != NOISE_MSG2_LEN => Err(ParseError::Truncated),
        ACCEPT => Ok(Packet::Accept { noise: body }),
        _ => Err(ParseError::Malformed),
    }
}

fn header(kind: u8, version: u8, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    out.push(kind);
    out.extend_from_slice(&MAGIC);
    out.push(version);
    out
}

pub fn hello() -> Vec<u8> {
    let mut out = header(HELLO, LAYER_VERSION, HELLO_LEN);
    out.resize(HELLO_LEN, 0);
    out
}

pub fn cookie(cookie: &Cookie, server_key: &PublicKey) -> Vec<u8> {
    let mut out = header(COOKIE, LAYER_VERSION, COOKIE_PACKET_LEN);
    out.extend_from_slice(cookie);
    out.extend_from_slice(server_key);
    out
}

pub fn initiate(cookie: &Cookie, noise: &[u8]) -> Vec<u8> {
    let mut out = header(INITIATE, LAYER_VERSION, INITIATE_MIN_LEN + noise.len());
    out.extend_from_slice(cookie);
    out.extend_from_slice(noise);
    out
}

pub fn accept(noise: &[u8]) -> Vec<u8> {
    let mut out = header(ACCEPT, LAYER_VERSION, ACCEPT_LEN);
    out.extend_from_slice(noise);
    out
}

pub fn refuse(reason: RefuseReason) -> Vec<u8> {
    let mut out = header(REFUSE, LAYER_VERSION, REFUSE_LEN);
    out.push(reason.to_byte());
    out
}

/// The header of a `Data` datagram (the counter's low 32 bits); the sealed bytes
/// follow it.
pub fn data_header(counter: u64, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(DATA_OVERHEAD + capacity);
    out.push(DATA);
    // The low 32 bits, by design (see COUNTER_LEN).
    out.extend_from_slice(&(counter as u32).to_le_bytes());
    out
}

/// The full counter a `Data`'s 32 wire bits stand for: the one nearest to `expected`
/// (one past the newest accepted) with those low bits (RFC 9000, appendix A.3).
pub fn expand_counter(expected: u64, wire: u32) -> u64 {
    const WIN: u64 = 1 << 32;
    const HALF: u64 = WIN / 2;
    let candidate = (expected & !(WIN - 1)) | u64::from(wire);
    if candidate.saturating_add(HALF) <= expected && candidate < u64::MAX - WIN {
        candidate + WIN
    } else if candidate > expected.saturating_add(HALF) && candidate >= WIN {
        candidate - WIN
    } else {
        candidate
    }
}

/// Appends one datagram to an `Initiate`'s early data: a 2-byte little-endian length,
/// then the bytes (callers keep the total under [`MAX_WIRE_DATAGRAM`]).
pub fn push_early(early: &mut Vec<u8>, datagram: &[u8]) {
    // Callers bound the datagram below MAX_WIRE_DATAGRAM, which fits u16.
    early.extend_from_slice(&(datagram.len() as u16).to_le_bytes());
    early.extend_from_slice(datagram);
}

/// Splits early data back into datagrams; `None` if the framing is broken (which, inside
/// an authenticated payload, only a buggy peer produces).
pub fn split_early(mut early: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !early.is_empty() {
        let len = usize::from(u16::from_le_bytes([*early.first()?, *early.get(1)?]));
        let rest = &early[2..];
        if rest.len() < len {
            return None;
        }
        let (d, tail) = rest.split_at(len);
        out.push(d);
        early = tail;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_packet_round_trips_and_sizes_match_the_table() {
        let c = [7u8; COOKIE_LEN];
        let k = [9u8; 32];
        assert_eq!(hello().len(), HELLO_LEN);
        assert_eq!(parse(&hello()), Ok(Packet::Hello));
        let ck = cookie(&c, &k);
        assert_eq!(ck.len(), 53);
        assert_eq!(
            parse(&ck),
            Ok(Packet::Cookie {
                cookie: c,
                server_key: k
            })
        );
        let msg1 = [3u8; NOISE_MSG1_MIN];
        let init = initiate(&c, &msg1);
        assert_eq!(init.len(), INITIATE_MIN_LEN);
        assert_eq!(INITIATE_MIN_LEN, 69);
        assert_eq!(
            parse(&init),
            Ok(Packet::Initiate {
                cookie: c,
                noise: &msg1
            })
        );
        let acc = accept(&[4u8; NOISE_MSG2_LEN]);
        assert_eq!(acc.len(), ACCEPT_LEN);
        assert!(matches!(parse(&acc), Ok(Packet::Accept { .. })));
        let r = refuse(RefuseReason::Busy);
        assert_eq!(r.len(), REFUSE_LEN);
        assert_eq!(
            parse(&r),
            Ok(Packet::Refuse {
                reason: RefuseReason::Busy,
                version: LAYER_VERSION
            })
        );
        let mut d = data_header(42, 0);
        d.extend_from_slice(&[0u8; TAG_LEN]);
        assert_eq!(d.len(), DATA_OVERHEAD);
        assert!(matches!(parse(&d), Ok(Packet::Data { counter: 42, .. })));
    }

    #[test]
    fn early_data_frames_split_back() {
        let mut e = Vec::new();
        push_early(&mut e, b"hello");
        push_early(&mut e, b"");
        push_early(&mut e, b"join");
        assert_eq!(split_early(&e), Some(vec![&b"hello"[..], b"", b"join"]));
        assert_eq!(split_early(&e[..e.len() - 1]), None);
        assert_eq!(split_early(&[1]), None);
        assert_eq!(split_early(&[]), Some(vec![]));
    }

    #[test]
    fn short_odd_and_foreign_bytes_are_refused_without_panicking() {
        assert_eq!(parse(&[]), Err(ParseError::Truncated));
        assert_eq!(parse(&[0x00, 1, 2]), Err(ParseError::Malformed));
        assert_eq!(
            parse(&[DATA; DATA_OVERHEAD - 1]),
            Err(ParseError::Truncated)
        );
        assert_eq!(parse(&hello()[..127]), Err(ParseError::Truncated));
        let mut other = hello();
        other[4] = 9;
        assert_eq!(parse(&other), Err(ParseError::Version(9)));
        let mut magic = hello();
        magic[1] = b'X';
        assert_eq!(parse(&magic), Err(ParseError::Malformed));
        let mut acc = accept(&[4u8; NOISE_MSG2_LEN]);
        acc.push(0);
        assert_eq!(parse(&acc), Err(ParseError::Truncated));
        for len in 0..200 {
            for kind in [HELLO, COOKIE, INITIATE, ACCEPT, DATA, REFUSE] {
                let mut b = vec![0u8; len];
                if let Some(first) = b.first_mut() {
                    *first = kind;
                }
                let _ = parse(&b);
            }
        }
    }

    #[test]
    fn truncated_counters_expand_to_the_nearest() {
        assert_eq!(expand_counter(0, 0), 0);
        assert_eq!(expand_counter(0, 5), 5);
        assert_eq!(expand_counter(100, 99), 99);
        // Just past a 2^32 boundary, a small wire value is the next epoch's.
        let e = (1u64 << 32) - 3;
        assert_eq!(expand_counter(e, 2), (1 << 32) + 2);
        assert_eq!(expand_counter(e, u32::MAX - 5), (1 << 32) - 6);
        // Just after it, a large wire value is the previous epoch's.
        let e = (1u64 << 32) + 10;
        assert_eq!(expand_counter(e, u32::MAX), (1 << 32) - 1);
        assert_eq!(expand_counter(e, 11), (1 << 32) + 11);
        // Far epochs, both ways, and never overflowing.
        let e = 7 * (1u64 << 32) + 1000;
        for delta in [0u64, 1, 1 << 20, (1 << 31) - 1] {
            let c = e + delta;
            assert_eq!(expand_counter(e, c as u32), c);
            let c = e - delta;
            assert_eq!(expand_counter(e, c as u32), c);
        }
        let _ = expand_counter(u64::MAX, u32::MAX);
        let _ = expand_counter(u64::MAX, 0);
    }
}
