//! The datagram codec: the version header, encoding within [`MAX_DATAGRAM`], and a
//! decoder that treats its input as hostile (size-limited bincode, no trailing bytes,
//! then [`Message::validate`]); [`pack_inputs`] fits the newest inputs into one datagram.

use thiserror::Error;
use venture_sim::PlayerInput;

use super::*;

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
