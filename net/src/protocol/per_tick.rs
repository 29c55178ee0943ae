//! The byte codec of the per-tick messages (`Frames` down, `Inputs` up), which dominate
//! bandwidth: delta-coded frames with implied ticks, run-length inputs, bounded and
//! hostile-input safe. Introduced by protocol 2 (`lead_hint` since 4) and unchanged since;
//! the protocol is now [`PROTOCOL_VERSION`](super::PROTOCOL_VERSION) (7).
//!
//! Inside the bincode [`crate::protocol::Message`] each of these variants is one
//! length-prefixed byte string produced here. Integers are LEB128 varints (at most 10
//! bytes, the tenth at most 1); signed values are zigzag coded.
//!
//! `Frames` payload:
//! ```text
//! first_tick   varint
//! input_ack    zigzag(input_ack - first_tick)          (wrapping)
//! late_inputs  varint (u32)
//! lead_hint    zigzag (i32)
//! count        varint (<= MAX_FRAMES_PER_MESSAGE)
//! count x frame, ticks implied (first_tick + index), each delta-coded against the
//!   previous frame in this payload (the first against an empty frame, so every payload
//!   stands alone):
//!   head       varint: bit 0 commands present, bit 1 input count differs from the
//!              previous frame's, bits 2.. changed-slot mask for slots 0..62
//!   [len]      u8, if bit 1 (<= MAX_SLOTS)
//!   [mask_hi]  varint, if len > 62: changed-slot mask for slots 62..64
//!   changed inputs, slot order, each coded against the previous frame's input
//!   [commands] bincode `Vec<Command>`, if bit 0 (non-empty, <= MAX_COMMANDS_PER_FRAME)
//!   checksum   u32 little-endian (fixed 4 bytes: a random u32 is usually 5 as a varint)
//! ```
//! An input coded against a reference input: a field-mask byte (bit i: field i changed,
//! in order move_x, move_y, aim_x, aim_y, buttons, slot), then one byte per changed field.
//!
//! `Inputs` payload:
//! ```text
//! ack_tick     varint
//! first_tick   zigzag(first_tick - ack_tick)           (wrapping)
//! count        varint (<= MAX_INPUTS_PER_MESSAGE)
//! items until count inputs are produced, oldest first, starting from an idle input:
//!   0b01nn_nnnn  run: the previous input repeats nnnnnn + 1 times
//!   0b00mm_mmmm  field mask (non-zero) + changed fields: the next input
//! ```
//!
//! Decoding bounds every count before allocating, rejects unknown bits, trailing bytes
//! and non-canonical forms that could hide data, and never panics.

use venture_sim::input::{INPUT_BYTES, MAX_COMMANDS_PER_FRAME, MAX_SLOTS};
use venture_sim::{Command, Frame, PlayerInput};

use crate::protocol::{ConfirmedFrame, MAX_FRAMES_PER_MESSAGE, MAX_INPUTS_PER_MESSAGE};

/// Why a per-tick payload did not decode.
pub type PerTickError = &'static str;

/// Slots whose changed bits fit in the frame head varint next to the two flags.
const HEAD_SLOTS: usize = 62;
const RUN_FLAG: u8 = 0x40;
const MAX_RUN: usize = 64;
/// Fields of an input, one byte each in [`PlayerInput::to_bytes`] order: one mask bit each.
const FIELDS: u8 = INPUT_BYTES as u8;

/// The fields of a decoded `Frames` message (see [`crate::protocol::Message::Frames`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FramesFields {
    pub first_tick: u64,
    pub frames: Vec<ConfirmedFrame>,
    pub input_ack: u64,
    pub late_inputs: u32,
    pub lead_hint: i32,
}

/// The fields of a decoded `Inputs` message (see [`crate::protocol::Message::Inputs`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputsFields {
    pub ack_tick: u64,
    pub first_tick: u64,
    pub inputs: Vec<PlayerInput>,
}

#[derive(Default)]
struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    fn zigzag(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }

    fn byte(&mut self, b: u8) {
        self.out.push(b);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, PerTickError> {
        let (&b, rest) = self.bytes.split_first().ok_or("truncated")?;
        self.bytes = rest;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PerTickError> {
        if self.bytes.len() < n {
            return Err("truncated");
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn varint(&mut self) -> Result<u64, PerTickError> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.byte()?;
            if i == 9 && b > 1 {
                return Err("varint overflow");
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err("non-canonical varint");
                }
                return Ok(v);
            }
        }
        Err("varint too long")
    }

    fn zigzag(&mut self) -> Result<i64, PerTickError> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    fn count(&mut self, max: usize) -> Result<usize, PerTickError> {
        let n = self.varint()?;
        if n > max as u64 {
            return Err("count out of range");
        }
        Ok(n as usize)
    }

    fn finish(&self) -> Result<(), PerTickError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err("trailing bytes")
        }
    }
}

/// The field mask of `input` against `reference` (0 when equal).
fn field_mask(input: &PlayerInput, reference: &PlayerInput) -> u8 {
    let (a, b) = (input.to_bytes(), reference.to_bytes());
    (0..FIELDS).fold(0, |m, i| {
        if a[i as usize] != b[i as usize] {
            m | 1 << i
        } else {
            m
        }
    })
}

/// Writes the changed fields of `input` after its (already known) `mask`.
fn write_fields(w: &mut Writer, mask: u8, input: &PlayerInput) {
    let f = input.to_bytes();
    for i in 0..FIELDS {
        if mask & (1 << i) != 0 {
            w.byte(f[i as usize]);
        }
    }
}

/// Reads the fields named by `mask` over `reference`.
fn read_fields(
    r: &mut Reader,
    mask: u8,
    reference: &PlayerInput,
) -> Result<PlayerInput, PerTickError> {
    if mask == 0 || mask >> FIELDS != 0 {
        return Err("bad field mask");
    }
    let mut f = reference.to_bytes();
    for i in 0..FIELDS {
        if mask & (1 << i) != 0 {
            let b = r.byte()?;
            if b == f[i as usize] {
                return Err("unchanged field marked as changed");
            }
            f[i as usize] = b;
        }
    }
    Ok(PlayerInput::from_bytes(f))
}

fn write_delta(w: &mut Writer, input: &PlayerInput, reference: &PlayerInput) {
    let mask = field_mask(input, reference);
    w.byte(mask);
    write_fields(w, mask, input);
}

fn commands_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<{ crate::protocol::DECODE_LIMIT }>()
}

/// Encodes the fields of a `Frames` message.
pub fn encode_frames(
    first_tick: u64,
    frames: &[ConfirmedFrame],
    input_ack: u64,
    late_inputs: u32,
    lead_hint: i32,
) -> Vec<u8> {
    let mut w = Writer::default();
    w.varint(first_tick);
    w.zigzag(input_ack.wrapping_sub(first_tick) as i64);
    w.varint(u64::from(late_inputs));
    w.zigzag(i64::from(lead_hint));
    w.varint(frames.len() as u64);
    let mut prev: &[PlayerInput] = &[];
    for cf in frames {
        let f = &cf.frame;
        let len = f.inputs.len();
        let prev_input = |s: usize| prev.get(s).copied().unwrap_or(PlayerInput::IDLE);
        let changed: u64 = f.inputs.iter().enumerate().fold(0, |m, (s, i)| {
            if s < 64 && *i != prev_input(s) {
                m | 1 << s
            } else {
                m
            }
        });
        let len_changed = len != prev.len();
        let mut head = u64::from(!f.commands.is_empty()) | u64::from(len_changed) << 1;
        head |= (changed & ((1 << HEAD_SLOTS) - 1)) << 2;
        w.varint(head);
        if len_changed {
            // Validation keeps frames to MAX_SLOTS (64) inputs; larger never reach here.
            w.byte(len.min(255) as u8);
        }
        if len > HEAD_SLOTS {
            w.varint(changed >> HEAD_SLOTS);
        }
        for (s, input) in f.inputs.iter().enumerate() {
            if s < 64 && (changed >> s) & 1 != 0 {
                write_delta(&mut w, input, &prev_input(s));
            }
        }
        if !f.commands.is_empty() {
            // Commands are plain data; bincode cannot fail on them.
            if let Ok(b) = bincode::serde::encode_to_vec(&f.commands, bincode::config::standard()) {
                w.out.extend_from_slice(&b);
            }
        }
        w.out.extend_from_slice(&cf.checksum.to_le_bytes());
        prev = &f.inputs;
    }
    w.out
}

/// Decodes what [`encode_frames`] wrote.
pub fn decode_frames(bytes: &[u8]) -> Result<FramesFields, PerTickError> {
    let mut r = Reader { bytes };
    let first_tick = r.varint()?;
    let input_ack = first_tick.wrapping_add(r.zigzag()? as u64);
    let late_inputs = u32::try_from(r.varint()?).map_err(|_| "late inputs out of range")?;
    let lead_hint = i32::try_from(r.zigzag()?).map_err(|_| "lead hint out of range")?;
    let count = r.count(MAX_FRAMES_PER_MESSAGE)?;
    // Each frame takes at least 5 bytes (head + checksum): no allocating for a lie.
    if count > r.bytes.len() / 5 {
        return Err("truncated");
    }
    let mut frames: Vec<ConfirmedFrame> = Vec::with_capacity(count);
    let mut prev: Vec<PlayerInput> = Vec::new();
    for i in 0..count {
        let tick = first_tick
            .checked_add(i as u64)
            .ok_or("frame ticks overflow")?;
        let head = r.varint()?;
        let has_commands = head & 1 != 0;
        let len = if head & 2 != 0 {
            let len = usize::from(r.byte()?);
            if len > MAX_SLOTS || len == prev.len() {
                return Err("bad input count");
            }
            len
        } else {
            prev.len()
        };
        let mut changed = head >> 2;
        if len > HEAD_SLOTS {
            let hi = r.varint()?;
            if hi >> (MAX_SLOTS - HEAD_SLOTS) != 0 {
                return Err("bad slot mask");
            }
            changed |= hi << HEAD_SLOTS;
        }
        if len < 64 && changed >> len != 0 {
            return Err("changed slot past the input count");
        }
        let mut inputs = prev.clone();
        inputs.resize(len, PlayerInput::IDLE);
        for (s, input) in inputs.iter_mut().enumerate() {
            if changed & (1 << s) != 0 {
                let mask = r.byte()?;
                *input = read_fields(&mut r, mask, input)?;
            }
        }
        let commands: Vec<Command> = if has_commands {
            let (c, used): (Vec<Command>, usize) =
                bincode::serde::decode_from_slice(r.bytes, commands_config())
                    .map_err(|_| "bad commands")?;
            r.take(used)?;
            if c.is_empty() || c.len() > MAX_COMMANDS_PER_FRAME {
                return Err("bad command count");
            }
            c
        } else {
            Vec::new()
        };
        let checksum = r.take(4)?;
        let checksum = u32::from_le_bytes([checksum[0], checksum[1], checksum[2], checksum[3]]);
        prev.clone_from(&inputs);
        frames.push(ConfirmedFrame {
            frame: Frame {
                tick,
                inputs,
                commands,
            },
            checksum,
        });
    }
    r.finish()?;
    Ok(FramesFields {
        first_tick,
        frames,
        input_ack,
        late_inputs,
        lead_hint,
    })
}

/// Encodes the fields of an `Inputs` message.
pub fn encode_inputs(ack_tick: u64, first_tick: u64, inputs: &[PlayerInput]) -> Vec<u8> {
    let mut w = Writer::default();
    w.varint(ack_tick);
    w.zigzag(first_tick.wrapping_sub(ack_tick) as i64);
    w.varint(inputs.len() as u64);
    let mut prev = PlayerInput::IDLE;
    let mut i = 0;
    while i < inputs.len() {
        let run = inputs[i..]
            .iter()
            .take(MAX_RUN)
            .take_while(|x| **x == prev)
            .count();
        if run > 0 {
            w.byte(RUN_FLAG | (run - 1) as u8);
            i += run;
        } else {
            write_delta(&mut w, &inputs[i], &prev);
            prev = inputs[i];
            i += 1;
        }
    }
    w.out
}

/// Decodes what [`encode_inputs`] wrote.
pub fn decode_inputs(bytes: &[u8]) -> Result<InputsFields, PerTickError> {
    let mut r = Reader { bytes };
    let ack_tick = r.varint()?;
    let first_tick = ack_tick.wrapping_add(r.zigzag()? as u64);
    let count = r.count(MAX_INPUTS_PER_MESSAGE)?;
    let mut inputs = Vec::with_capacity(count);
    let mut prev = PlayerInput::IDLE;
    while inputs.len() < count {
        let b = r.byte()?;
        if b & RUN_FLAG != 0 {
            if b & 0x80 != 0 {
                return Err("bad run byte");
            }
            let run = usize::from(b & 0x3f) + 1;
            if inputs.len() + run > count {
                return Err("run past the input count");
            }
            inputs.extend(std::iter::repeat_n(prev, run));
        } else {
            prev = read_fields(&mut r, b, &prev)?;
            inputs.push(prev);
        }
    }
    r.finish()?;
    Ok(InputsFields {
        ack_tick,
        first_tick,
        inputs,
    })
}

/// serde glue: the `Frames` variant as one byte string.
pub(crate) mod frames_serde {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        first_tick: &u64,
        frames: &[ConfirmedFrame],
        input_ack: &u64,
        late_inputs: &u32,
        lead_hint: &i32,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&encode_frames(
            *first_tick,
            frames,
            *input_ack,
            *late_inputs,
            *lead_hint,
        ))
    }

    /// The `Frames` variant's fields as serde takes them back: a tuple, in declaration
    /// order (here only; everything else uses [`FramesFields`]).
    type VariantFields = (u64, Vec<ConfirmedFrame>, u64, u32, i32);

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<VariantFields, D::Error> {
        let bytes = d.deserialize_byte_buf(super::BytesVisitor)?;
        let f = decode_frames(&bytes).map_err(serde::de::Error::custom)?;
        Ok((
            f.first_tick,
            f.frames,
            f.input_ack,
            f.late_inputs,
            f.lead_hint,
        ))
    }
}

/// serde glue: the `Inputs` variant as one byte string.
pub(crate) mod inputs_serde {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        ack_tick: &u64,
        first_tick: &u64,
        inputs: &[PlayerInput],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&encode_inputs(*ack_tick, *first_tick, inputs))
    }

    /// serde wants a variant's fields as a tuple, in declaration order.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<(u64, u64, Vec<PlayerInput>), D::Error> {
        let bytes = d.deserialize_byte_buf(super::BytesVisitor)?;
        let i = decode_inputs(&bytes).map_err(serde::de::Error::custom)?;
        Ok((i.ack_tick, i.first_tick, i.inputs))
    }
}

struct BytesVisitor;

impl<'de> serde::de::Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::new();
        while let Some(b) = seq.next_element::<u8>()? {
            if out.len() >= crate::protocol::DECODE_LIMIT {
                return Err(serde::de::Error::custom("byte string too long"));
            }
            out.push(b);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
