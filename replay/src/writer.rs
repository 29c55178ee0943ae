//! Buffered writer of session logs, and crash recovery: reopen a log, cut off a torn tail,
//! and keep appending.
//!
//! Each record is encoded whole into a scratch buffer and handed to a `BufWriter` in one
//! `write_all`, so the file only ever grows by whole records plus, after a crash, one
//! partial record at the end, which the reader reports as [`crate::Tail::Torn`] and
//! [`SessionWriter::open_append`] removes.

use crate::format::{
    encode_framed, preamble, RecordRef, SessionHeader, FORMAT_VERSION, MAX_FRAME_RECORD_BYTES,
    MAX_HEADER_BYTES, MAX_RECORD_BYTES, RECORD_PREFIX_LEN,
};
use crate::reader::{ReadError, SessionReader, Tail};
use crate::Record;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;
use venture_sim::Frame;

/// Why a record could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    #[error("frame for tick {got} does not follow tick {last} (expected {})", last + 1)]
    OutOfSequence { last: u64, got: u64 },
    #[error("snapshot for tick {got}, but the last frame written is for tick {last}")]
    SnapshotTick { last: u64, got: u64 },
    #[error("gap to tick {got} goes back before the last frame written (tick {last})")]
    GapBackwards { last: u64, got: u64 },
    #[error("cannot continue the log at byte {len}: the file has only {file_len} bytes")]
    Checkpoint { len: u64, file_len: u64 },
    #[error("{what} encodes to {len} bytes, over the {limit}-byte limit")]
    TooLarge {
        what: &'static str,
        len: usize,
        limit: usize,
    },
    #[error("header is invalid: {0}")]
    InvalidHeader(String),
    #[error("encoding failed: {0}")]
    Encode(String),
}

/// Why a log could not be reopened for appending.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    #[error("the log ends with a corrupt record at offset {offset} ({error}); refusing to cut it")]
    Corrupt {
        offset: u64,
        error: crate::RecordError,
    },
    #[error("the session already ended ({reason}); start a new log")]
    AlreadyEnded { reason: String },
    #[error("the log is inconsistent: {0}")]
    Inconsistent(String),
}

/// What [`SessionWriter::open_append`] found in the existing log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveredLog {
    pub header: SessionHeader,
    /// Complete frame records kept.
    pub frames: u64,
    /// Tick of the last frame kept (the header's start tick when there is none).
    pub last_tick: u64,
    /// Checksum recorded with the last frame kept.
    pub last_checksum: Option<u32>,
    /// Tick of the last keyframe (or gap keyframe) kept, if any.
    pub last_snapshot_tick: Option<u64>,
    /// The last segment's clean stop (tick, reason), if it ended with a `Stop` record;
    /// `None`: the previous process crashed (or never stopped).
    pub stopped: Option<(u64, String)>,
    /// Recording segments in the log (1 + `Resume` records).
    pub segments: u64,
    /// The format version the file had (a format-1 log is relabelled as format 2).
    pub format: u16,
    /// Length of the log after recovery.
    pub valid_len: u64,
    /// Bytes of torn tail that were cut off (0 for a clean log).
    pub truncated_bytes: u64,
}

/// Where a writer stands: enough to continue the same log after the writer is dropped
/// (a write failure) without reading the file again ([`SessionWriter::reopen_at`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Length of the log: the end of the last whole record.
    pub len: u64,
    /// Tick of the last frame (or gap keyframe) written.
    pub last_tick: u64,
    /// Frames written.
    pub frames: u64,
}

/// Writes a session log: the header at creation, then frames, keyframes, and an `End`.
///
/// Frames must be consecutive (the tick after the last one); keyframes must be of the tick
/// of the last frame written. Data reaches the inner writer on [`SessionWriter::flush`]
/// (and whenever the buffer fills); for files, [`SessionWriter::sync`] also makes it durable.
pub struct SessionWriter<W: Write> {
    out: BufWriter<W>,
    scratch: Vec<u8>,
    last_tick: u64,
    frames: u64,
    bytes: u64,
}

impl SessionWriter<File> {
    /// Creates (or truncates) the log file at `path` and writes the header.
    pub fn create(path: impl AsRef<Path>, header: &SessionHeader) -> Result<Self, WriteError> {
        let file = File::create(path)?;
        SessionWriter::new(file, header)
    }

    /// Reopens an unfinished log for appending: reads it, cuts off a torn tail (an
    /// incomplete last record, as a crash leaves), and positions the writer after the last
    /// complete record. A log ending in a corrupt record, or already ended, is refused.
    pub fn open_append(path: impl AsRef<Path>) -> Result<(Self, RecoveredLog), RecoverError> {
        let mut file = OpenOptions::new().read(true).write(true).open(path)?;
        let file_len = file.metadata()?.len();
        let mut recovered = {
            let mut reader = SessionReader::new(BufReader::new(&file))?;
            let mut rec = RecoveredLog {
                header: reader.header().clone(),
                frames: 0,
                last_tick: reader.header().start_tick,
                last_checksum: None,
                last_snapshot_tick: None,
                stopped: None,
                segments: 1,
                format: reader.format_version(),
                valid_len: 0,
                truncated_bytes: 0,
            };
            let mut stopped = false;
            while let Some(record) = reader.next_record()? {
                let sequence_error = |what: &str| {
                    Err(RecoverError::Inconsistent(format!(
                        "{what} after the clean stop at tick {}",
                        rec.last_tick
                    )))
                };
                match record {
                    Record::Frame { .. } | Record::Snapshot { .. } | Record::Gap { .. }
                        if stopped =>
                    {
                        return sequence_error(record.kind());
                    }
                    Record::Stop { .. } if stopped => return sequence_error("stop"),
                    Record::Frame { frame, checksum } => {
                        if frame.tick != rec.last_tick.wrapping_add(1) {
                            return Err(RecoverError::Inconsistent(format!(
                                "frame for tick {} follows tick {}",
                                frame.tick, rec.last_tick
                            )));
                        }
                        rec.frames += 1;
                        rec.last_tick = frame.tick;
                        rec.last_checksum = Some(checksum);
                    }
                    Record::Snapshot { tick, .. } => rec.last_snapshot_tick = Some(tick),
                    Record::End { reason } => return Err(RecoverError::AlreadyEnded { reason }),
                    Record::Stop { tick, reason } => {
                        if tick != rec.last_tick {
                            return Err(RecoverError::Inconsistent(format!(
                                "stop at tick {tick} after the frame of tick {}",
                                rec.last_tick
                            )));
                        }
                        stopped = true;
                        rec.stopped = Some((tick, reason));
                    }
                    Record::Resume { tick, .. } => {
                        if tick != rec.last_tick {
                            return Err(RecoverError::Inconsistent(format!(
                                "resume at tick {tick} after the frame of tick {}",
                                rec.last_tick
                            )));
                        }
                        stopped = false;
                        rec.stopped = None;
                        rec.segments += 1;
                    }
                    Record::Gap { tick, .. } => {
                        if tick < rec.last_tick {
                            return Err(RecoverError::Inconsistent(format!(
                                "gap to tick {tick} after the frame of tick {}",
                                rec.last_tick
                            )));
                        }
                        rec.last_tick = tick;
                        rec.last_checksum = None;
                        rec.last_snapshot_tick = Some(tick);
                    }
                }
            }
            match reader.tail() {
                Some(Tail::Corrupt { offset, error }) => {
                    return Err(RecoverError::Corrupt {
                        offset: *offset,
                        error: error.clone(),
                    })
                }
                Some(Tail::Clean | Tail::Torn { .. }) | None => {}
            }
            rec.valid_len = reader.offset();
            rec
        };
        recovered.truncated_bytes = file_len.saturating_sub(recovered.valid_len);
        if recovered.truncated_bytes > 0 {
            file.set_len(recovered.valid_len)?;
            file.sync_data()?;
        }
        if recovered.format < FORMAT_VERSION {
            // Format 1 is a subset of format 2: relabelling the preamble makes the file a
            // valid format-2 log that the records appended next may follow.
            file.seek(SeekFrom::Start(4))?;
            file.write_all(&FORMAT_VERSION.to_le_bytes())?;
            file.sync_data()?;
        }
        file.seek(SeekFrom::Start(recovered.valid_len))?;
        let writer = SessionWriter {
            out: BufWriter::with_capacity(64 << 10, file),
            scratch: Vec::with_capacity(256),
            last_tick: recovered.last_tick,
            frames: recovered.frames,
            bytes: recovered.valid_len,
        };
        Ok((writer, recovered))
    }

    /// Continues the log at `path` from `checkpoint` (taken from a writer of this same log
    /// by this process): cuts whatever follows the checkpoint (the partial records a failed
    /// write left) and appends from there. Reads nothing back.
    pub fn reopen_at(path: impl AsRef<Path>, checkpoint: Checkpoint) -> Result<Self, WriteError> {
        let mut file = OpenOptions::new().write(true).open(path)?;
        let file_len = file.metadata()?.len();
        if file_len < checkpoint.len {
            return Err(WriteError::Checkpoint {
                len: checkpoint.len,
                file_len,
            });
        }
        if file_len > checkpoint.len {
            file.set_len(checkpoint.len)?;
        }
        file.seek(SeekFrom::Start(checkpoint.len))?;
        Ok(SessionWriter {
            out: BufWriter::with_capacity(64 << 10, file),
            scratch: Vec::with_capacity(256),
            last_tick: checkpoint.last_tick,
            frames: checkpoint.frames,
            bytes: checkpoint.len,
        })
    }

    /// Writes the `Stop` record (a clean stop after the last frame; the log may be
    /// continued later with [`SessionWriter::open_append`]) and makes the log durable.
    pub fn stop(mut self, reason: &str) -> Result<(), WriteError> {
        self.append_stop(reason)?;
        self.sync()
    }

    /// Flushes buffered records and asks the OS to make them durable (`sync_data`).
    pub fn sync(&mut self) -> Result<(), WriteError> {
        self.out.flush()?;
        self.out.get_ref().sync_data()?;
        Ok(())
    }
}

impl<W: Write> SessionWriter<W> {
    /// Writes the preamble and the header record to `inner`.
    pub fn new(inner: W, header: &SessionHeader) -> Result<Self, WriteError> {
        header.validate().map_err(WriteError::InvalidHeader)?;
        let mut scratch = Vec::with_capacity(256);
        scratch.extend_from_slice(&preamble());
        encode_framed(header, &mut scratch).map_err(WriteError::Encode)?;
        let body = scratch.len() - crate::format::PREAMBLE_LEN - RECORD_PREFIX_LEN;
        if body > MAX_HEADER_BYTES {
            return Err(WriteError::TooLarge {
                what: "header",
                len: body,
                limit: MAX_HEADER_BYTES,
            });
        }
        let mut out = BufWriter::with_capacity(64 << 10, inner);
        out.write_all(&scratch)?;
        let bytes = scratch.len() as u64;
        scratch.clear();
        scratch.shrink_to(256);
        Ok(SessionWriter {
            out,
            scratch,
            last_tick: header.start_tick,
            frames: 0,
            bytes,
        })
    }

    fn write_record(
        &mut self,
        record: &RecordRef<'_>,
        what: &'static str,
        limit: usize,
    ) -> Result<(), WriteError> {
        self.scratch.clear();
        encode_framed(record, &mut self.scratch).map_err(WriteError::Encode)?;
        let body = self.scratch.len() - RECORD_PREFIX_LEN;
        if body > limit {
            return Err(WriteError::TooLarge {
                what,
                len: body,
                limit,
            });
        }
        self.out.write_all(&self.scratch)?;
        self.bytes += self.scratch.len() as u64;
        Ok(())
    }

    /// Appends a confirmed frame and the checksum of the world after it. `frame.tick`
    /// must be the tick after the last frame written.
    pub fn append_frame(&mut self, frame: &Frame, checksum: u32) -> Result<(), WriteError> {
        if frame.tick != self.last_tick.wrapping_add(1) {
            return Err(WriteError::OutOfSequence {
                last: self.last_tick,
                got: frame.tick,
            });
        }
        self.write_record(
            &RecordRef::Frame { frame, checksum },
            "frame",
            MAX_FRAME_RECORD_BYTES,
        )?;
        self.last_tick = frame.tick;
        self.frames += 1;
        Ok(())
    }

    /// Appends a keyframe: the snapshot of the world after the last frame written
    /// (`tick` must be that frame's tick).
    pub fn append_snapshot(&mut self, tick: u64, bytes: &[u8]) -> Result<(), WriteError> {
        if tick != self.last_tick {
            return Err(WriteError::SnapshotTick {
                last: self.last_tick,
                got: tick,
            });
        }
        self.write_record(
            &RecordRef::Snapshot { tick, bytes },
            "snapshot",
            MAX_RECORD_BYTES,
        )
    }

    /// Appends a `Stop` record: a clean stop after the last frame written. Only a `Resume`
    /// may follow it (for files, [`SessionWriter::stop`] also makes it durable).
    pub fn append_stop(&mut self, reason: &str) -> Result<(), WriteError> {
        let tick = self.last_tick;
        self.write_record(
            &RecordRef::Stop { tick, reason },
            "stop",
            MAX_FRAME_RECORD_BYTES,
        )
    }

    /// Appends a `Resume` record: this writer continues a log another process left (right
    /// after [`SessionWriter::open_append`]).
    pub fn append_resume(&mut self, recorder: &str) -> Result<(), WriteError> {
        let tick = self.last_tick;
        self.write_record(
            &RecordRef::Resume { tick, recorder },
            "resume",
            MAX_FRAME_RECORD_BYTES,
        )
    }

    /// Appends a `Gap` record: the frames after the last one written up to `tick` are
    /// lost, and the world continues from `bytes`, its snapshot after the frame of `tick`.
    pub fn append_gap(&mut self, tick: u64, bytes: &[u8]) -> Result<(), WriteError> {
        if tick < self.last_tick {
            return Err(WriteError::GapBackwards {
                last: self.last_tick,
                got: tick,
            });
        }
        self.write_record(&RecordRef::Gap { tick, bytes }, "gap", MAX_RECORD_BYTES)?;
        self.last_tick = tick;
        Ok(())
    }

    /// Where the writer stands, counting buffered records as written: after a successful
    /// [`SessionWriter::flush`], the log on disk ends exactly here.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            len: self.bytes,
            last_tick: self.last_tick,
            frames: self.frames,
        }
    }

    /// Drops the writer without writing its buffered records (after a failed write, when
    /// the caller will continue from an earlier [`Checkpoint`]); returns the inner writer.
    pub fn abandon(self) -> W {
        self.out.into_parts().0
    }

    /// Pushes buffered records to the inner writer.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        self.out.flush()?;
        Ok(())
    }

    /// Writes the `End` record, flushes, and returns the inner writer.
    pub fn finish(mut self, reason: &str) -> Result<W, WriteError> {
        self.write_record(&RecordRef::End { reason }, "end", MAX_FRAME_RECORD_BYTES)?;
        self.out
            .into_inner()
            .map_err(|e| WriteError::Io(e.into_error()))
    }

    /// Tick of the last frame written (the start tick before any).
    pub fn last_tick(&self) -> u64 {
        self.last_tick
    }

    /// Frames written, including those recovered by [`SessionWriter::open_append`].
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Length of the log so far, including buffered bytes.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    /// Whether nothing at all has been written (never true: the header is written first).
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        self.out.get_ref()
    }
}
