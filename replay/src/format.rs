//! The on-disk layout: file preamble, header record, record framing, limits, and the typed
//! errors of decoding each part. Everything that turns bytes into values lives here, so the
//! reader, the writer's recovery and the verifier all apply the same bounds.

use serde::{Deserialize, Serialize};
use venture_sim::{Frame, SimConfig, SIM_VERSION};

/// First four bytes of every session log.
pub const MAGIC: &[u8; 4] = b"VRPL";
/// Version of the container layout described in the crate docs (what this build writes).
pub const FORMAT_VERSION: u16 = 2;
/// Oldest layout this build reads. Version 1 logs are a subset of version 2 (the same
/// framing and the record variants `Frame`, `Snapshot` and `End` with the same encoding),
/// so they are read as they are; [`crate::SessionWriter::open_append`] relabels one as
/// version 2 before appending version-2 records to it.
pub const MIN_READ_FORMAT_VERSION: u16 = 1;
/// Magic + format version + simulation version.
pub const PREAMBLE_LEN: usize = 4 + 2 + 4;
/// `[len: u32 LE][crc32: u32 LE]` before every record body (and the header body).
pub const RECORD_PREFIX_LEN: usize = 8;

/// Largest header body accepted: a starting snapshot (at most
/// [`venture_sim::snapshot::MAX_SNAPSHOT_BYTES`] plus its own header) plus config and text.
pub const MAX_HEADER_BYTES: usize = 32 << 20;
/// Largest record body accepted (snapshot records are the big ones).
pub const MAX_RECORD_BYTES: usize = 32 << 20;
/// Largest `Frame` record body accepted. A frame holds at most 64 six-byte inputs and 128
/// commands with names of at most 16 characters (64 bytes of UTF-8): about 11 KB in the
/// worst case, a few dozen bytes in practice.
pub const MAX_FRAME_RECORD_BYTES: usize = 16 << 10;
/// Longest recorder description, in bytes.
pub const MAX_RECORDER_BYTES: usize = 1024;

/// What a session starts from. Stored once, after the preamble, as its own
/// length-prefixed, crc-protected record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionHeader {
    /// The world configuration: seed, genre, depth, difficulty, size, tick rate, slots.
    pub config: SimConfig,
    /// Tick of the world before the first frame: 0 for a fresh world, the snapshot's tick
    /// when the session starts from a saved world.
    pub start_tick: u64,
    /// [`venture_sim::World::snapshot`] bytes of the starting world, for sessions that
    /// resume a saved world. `None`: the world is generated from `config`.
    pub start_snapshot: Option<Vec<u8>>,
    /// Free text naming what recorded the session (program, version, host).
    pub recorder: String,
}

impl SessionHeader {
    /// A session of a freshly generated world.
    pub fn new(config: SimConfig, recorder: impl Into<String>) -> SessionHeader {
        SessionHeader {
            config,
            start_tick: 0,
            start_snapshot: None,
            recorder: recorder.into(),
        }
    }

    /// A session that starts from `world` as it is now (a saved or running world).
    pub fn from_world(world: &venture_sim::World, recorder: impl Into<String>) -> SessionHeader {
        SessionHeader {
            config: world.config().clone(),
            start_tick: world.tick(),
            start_snapshot: Some(world.snapshot()),
            recorder: recorder.into(),
        }
    }

    /// Cheap consistency checks (the verifier does the expensive ones: restoring the
    /// snapshot and comparing it with `config` and `start_tick`).
    pub fn validate(&self) -> Result<(), String> {
        self.config.validate().map_err(|e| e.to_string())?;
        if self.start_snapshot.is_none() && self.start_tick != 0 {
            return Err(format!(
                "start tick {} without a starting snapshot (a generated world starts at 0)",
                self.start_tick
            ));
        }
        if self.recorder.len() > MAX_RECORDER_BYTES {
            return Err(format!(
                "recorder description is {} bytes (at most {MAX_RECORDER_BYTES})",
                self.recorder.len()
            ));
        }
        Ok(())
    }
}

/// One entry of the record stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// A confirmed frame and the checksum of the world after stepping it.
    Frame { frame: Frame, checksum: u32 },
    /// A keyframe: the world's snapshot after the frame of `tick` (for seeking and
    /// recovery). The verifier checks it against its own world.
    Snapshot { tick: u64, bytes: Vec<u8> },
    /// The session ended for good; nothing follows (client and scripted recordings).
    End { reason: String },
    /// The recording process stopped cleanly (SIGTERM, SIGINT) after the frame of `tick`.
    /// The log may continue, but only with a [`Record::Resume`] (format 2).
    Stop { tick: u64, reason: String },
    /// A new recording process continues the log after the frame of `tick` (the last frame
    /// written). Without a [`Record::Stop`] before it, the previous process crashed there
    /// (format 2).
    Resume { tick: u64, recorder: String },
    /// The frames after the last one written, up to and including `tick`, were never
    /// written (the disk was full or failing for longer than the writer could buffer);
    /// the world continues from this keyframe, its snapshot after the frame of `tick`
    /// (format 2). Nothing before it vouches for it: the verifier checks that it restores
    /// and belongs to the session, then continues from it.
    Gap { tick: u64, bytes: Vec<u8> },
}

impl Record {
    /// Short name of the record kind, for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Frame { .. } => "frame",
            Record::Snapshot { .. } => "keyframe",
            Record::End { .. } => "end",
            Record::Stop { .. } => "stop",
            Record::Resume { .. } => "resume",
            Record::Gap { .. } => "gap",
        }
    }
}

/// Borrowing twin of [`Record`] for the writer: serde gives both the same encoding
/// (variant index, then fields; slices and vectors are both length-prefixed sequences), so
/// writing never clones a frame or a snapshot. A unit test pins the equivalence.
#[derive(Serialize)]
pub(crate) enum RecordRef<'a> {
    Frame { frame: &'a Frame, checksum: u32 },
    Snapshot { tick: u64, bytes: &'a [u8] },
    End { reason: &'a str },
    Stop { tick: u64, reason: &'a str },
    Resume { tick: u64, recorder: &'a str },
    Gap { tick: u64, bytes: &'a [u8] },
}

/// Why the file's fixed part (preamble and header record) cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    #[error("file is {0} bytes, shorter than a session log header")]
    Truncated(u64),
    #[error("not a Venture session log (bad magic)")]
    BadMagic,
    #[error("session log format {found} is not supported (this build reads formats {MIN_READ_FORMAT_VERSION} to {FORMAT_VERSION})")]
    Format { found: u16 },
    #[error("session was recorded by simulation version {found}, this build runs {SIM_VERSION}")]
    SimVersion { found: u32 },
    #[error("header declares {0} bytes, over the {MAX_HEADER_BYTES}-byte limit")]
    TooLarge(u64),
    #[error("header checksum mismatch (stored {stored:08x}, computed {computed:08x})")]
    Checksum { stored: u32, computed: u32 },
    #[error("header does not decode: {0}")]
    Decode(String),
    #[error("header has {0} trailing bytes")]
    TrailingBytes(usize),
    #[error("header is inconsistent: {0}")]
    Invalid(String),
}

/// Why one complete record cannot be used. The reader stops at such a record and reports
/// it as the log's tail ([`crate::Tail::Corrupt`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record declares {len} bytes, over the {limit}-byte limit")]
    TooLarge { len: u64, limit: usize },
    #[error("record checksum mismatch (stored {stored:08x}, computed {computed:08x})")]
    Checksum { stored: u32, computed: u32 },
    #[error("record does not decode: {0}")]
    Decode(String),
    #[error("record has {0} trailing bytes")]
    TrailingBytes(usize),
    #[error("a {kind} record cannot appear in a format {format} log")]
    NotInFormat { kind: &'static str, format: u16 },
}

/// The preamble bytes of a log of this build.
pub(crate) fn preamble() -> [u8; PREAMBLE_LEN] {
    let mut p = [0u8; PREAMBLE_LEN];
    p[..4].copy_from_slice(MAGIC);
    p[4..6].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    p[6..].copy_from_slice(&SIM_VERSION.to_le_bytes());
    p
}

/// Checks a preamble; returns the file's format version.
pub(crate) fn check_preamble(p: &[u8; PREAMBLE_LEN]) -> Result<u16, HeaderError> {
    if &p[..4] != MAGIC {
        return Err(HeaderError::BadMagic);
    }
    let format = u16::from_le_bytes([p[4], p[5]]);
    if !(MIN_READ_FORMAT_VERSION..=FORMAT_VERSION).contains(&format) {
        return Err(HeaderError::Format { found: format });
    }
    let sim = u32::from_le_bytes([p[6], p[7], p[8], p[9]]);
    if sim != SIM_VERSION {
        return Err(HeaderError::SimVersion { found: sim });
    }
    Ok(format)
}

fn config<const LIMIT: usize>() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<LIMIT>()
}

/// Appends `[len][crc][body]` for `value` to `out`.
pub(crate) fn encode_framed<T: Serialize>(value: &T, out: &mut Vec<u8>) -> Result<(), String> {
    let start = out.len();
    out.extend_from_slice(&[0u8; RECORD_PREFIX_LEN]);
    bincode::serde::encode_into_std_write(value, out, bincode::config::standard())
        .map_err(|e| e.to_string())?;
    let body = &out[start + RECORD_PREFIX_LEN..];
    let len = u32::try_from(body.len()).map_err(|_| "record over 4 GiB".to_string())?;
    let crc = crc32fast::hash(body);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// First body byte of a `Record::Frame` (its variant index, a one-byte varint).
pub(crate) const FRAME_VARIANT: u8 = 0;

/// Decodes a header body whose length and crc were already checked.
pub(crate) fn decode_header(body: &[u8]) -> Result<SessionHeader, HeaderError> {
    let (header, used): (SessionHeader, usize) =
        bincode::serde::decode_from_slice(body, config::<MAX_HEADER_BYTES>())
            .map_err(|e| HeaderError::Decode(e.to_string()))?;
    if used != body.len() {
        return Err(HeaderError::TrailingBytes(body.len() - used));
    }
    header.validate().map_err(HeaderError::Invalid)?;
    Ok(header)
}

/// Checks a complete record body against its stored crc and decodes it. `format` is the
/// file's version: the records format 2 added are refused in a format-1 file.
pub(crate) fn decode_record(
    body: &[u8],
    stored_crc: u32,
    format: u16,
) -> Result<Record, RecordError> {
    let computed = crc32fast::hash(body);
    if computed != stored_crc {
        return Err(RecordError::Checksum {
            stored: stored_crc,
            computed,
        });
    }
    // bincode's standard config writes the variant index as a varint: `Frame` (index 0)
    // is the single byte 0. Refuse an oversized frame before decoding allocates for it.
    if body.first() == Some(&FRAME_VARIANT) && body.len() > MAX_FRAME_RECORD_BYTES {
        return Err(RecordError::TooLarge {
            len: body.len() as u64,
            limit: MAX_FRAME_RECORD_BYTES,
        });
    }
    let (record, used): (Record, usize) =
        bincode::serde::decode_from_slice(body, config::<MAX_RECORD_BYTES>())
            .map_err(|e| RecordError::Decode(e.to_string()))?;
    if used != body.len() {
        return Err(RecordError::TrailingBytes(body.len() - used));
    }
    if matches!(record, Record::Frame { .. }) && body.len() > MAX_FRAME_RECORD_BYTES {
        return Err(RecordError::TooLarge {
            len: body.len() as u64,
            limit: MAX_FRAME_RECORD_BYTES,
        });
    }
    let v1 = matches!(
        record,
        Record::Frame { .. } | Record::Snapshot { .. } | Record::End { .. }
    );
    if format < 2 && !v1 {
        return Err(RecordError::NotInFormat {
            kind: record.kind(),
            format,
        });
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use venture_sim::script::scripted_frame;

    fn body_of<T: Serialize>(v: &T) -> Vec<u8> {
        let mut out = Vec::new();
        encode_framed(v, &mut out).expect("encodes");
        out[RECORD_PREFIX_LEN..].to_vec()
    }

    #[test]
    fn borrowed_records_encode_like_owned_ones() {
        let frame = scripted_frame(7, 1, 3);
        let owned = Record::Frame {
            frame: frame.clone(),
            checksum: 0xdead_beef,
        };
        let borrowed = RecordRef::Frame {
            frame: &frame,
            checksum: 0xdead_beef,
        };
        assert_eq!(body_of(&owned), body_of(&borrowed));
        let bytes = vec![1u8, 2, 3, 250, 255];
        let owned = Record::Snapshot {
            tick: 99,
            bytes: bytes.clone(),
        };
        let borrowed = RecordRef::Snapshot {
            tick: 99,
            bytes: &bytes,
        };
        assert_eq!(body_of(&owned), body_of(&borrowed));
        let owned = Record::End {
            reason: "bye".into(),
        };
        assert_eq!(body_of(&owned), body_of(&RecordRef::End { reason: "bye" }));
        let owned = Record::Stop {
            tick: 5,
            reason: "SIGTERM".into(),
        };
        let borrowed = RecordRef::Stop {
            tick: 5,
            reason: "SIGTERM",
        };
        assert_eq!(body_of(&owned), body_of(&borrowed));
        let owned = Record::Resume {
            tick: 5,
            recorder: "me".into(),
        };
        let borrowed = RecordRef::Resume {
            tick: 5,
            recorder: "me",
        };
        assert_eq!(body_of(&owned), body_of(&borrowed));
        let owned = Record::Gap {
            tick: 9,
            bytes: bytes.clone(),
        };
        let borrowed = RecordRef::Gap {
            tick: 9,
            bytes: &bytes,
        };
        assert_eq!(body_of(&owned), body_of(&borrowed));
    }

    #[test]
    fn format_one_files_refuse_format_two_records() {
        let body = body_of(&Record::Stop {
            tick: 1,
            reason: "x".into(),
        });
        let crc = crc32fast::hash(&body);
        assert!(matches!(
            decode_record(&body, crc, 1),
            Err(RecordError::NotInFormat { kind: "stop", .. })
        ));
        assert!(decode_record(&body, crc, 2).is_ok());
        let body = body_of(&Record::End { reason: "x".into() });
        let crc = crc32fast::hash(&body);
        assert!(decode_record(&body, crc, 1).is_ok());
    }

    #[test]
    fn framing_round_trips_and_checks() {
        let rec = Record::Frame {
            frame: scripted_frame(1, 5, 4),
            checksum: 7,
        };
        let mut out = Vec::new();
        encode_framed(&rec, &mut out).expect("encodes");
        let len = u32::from_le_bytes([out[0], out[1], out[2], out[3]]) as usize;
        let crc = u32::from_le_bytes([out[4], out[5], out[6], out[7]]);
        assert_eq!(len, out.len() - RECORD_PREFIX_LEN);
        assert_eq!(decode_record(&out[8..], crc, FORMAT_VERSION), Ok(rec));
        let mut bad = out[8..].to_vec();
        bad[0] ^= 1;
        assert!(matches!(
            decode_record(&bad, crc, FORMAT_VERSION),
            Err(RecordError::Checksum { .. })
        ));
        let mut long = out[8..].to_vec();
        long.push(0);
        let crc = crc32fast::hash(&long);
        assert_eq!(
            decode_record(&long, crc, FORMAT_VERSION),
            Err(RecordError::TrailingBytes(1))
        );
    }

    #[test]
    fn frame_variant_is_the_first_body_byte() {
        let body = body_of(&Record::Frame {
            frame: scripted_frame(1, 1, 1),
            checksum: 0,
        });
        assert_eq!(body[0], FRAME_VARIANT);
        let body = body_of(&Record::End { reason: "x".into() });
        assert_ne!(body[0], FRAME_VARIANT);
    }

    #[test]
    fn oversized_frames_are_refused_before_decoding() {
        let mut body = vec![FRAME_VARIANT];
        body.resize(MAX_FRAME_RECORD_BYTES + 1, 0);
        let crc = crc32fast::hash(&body);
        assert!(matches!(
            decode_record(&body, crc, FORMAT_VERSION),
            Err(RecordError::TooLarge { .. })
        ));
    }

    #[test]
    fn hostile_sequence_lengths_do_not_allocate() {
        // Variant 1 (Snapshot), tick 0, then a vector claiming u64::MAX elements.
        let mut body = vec![1u8, 0, 255];
        body.extend_from_slice(&u64::MAX.to_le_bytes());
        let crc = crc32fast::hash(&body);
        assert!(matches!(
            decode_record(&body, crc, FORMAT_VERSION),
            Err(RecordError::Decode(_))
        ));
    }
}
