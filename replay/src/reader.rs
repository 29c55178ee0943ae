//! Streaming reader: the header, then one record at a time, stopping cleanly at the first
//! incomplete (torn) or unusable (corrupt) record and saying which it was. Memory use is
//! bounded by the largest record actually present, never by a length a file declares.

use crate::format::{
    check_preamble, decode_header, decode_record, HeaderError, Record, RecordError, SessionHeader,
    MAX_HEADER_BYTES, MAX_RECORD_BYTES, PREAMBLE_LEN, RECORD_PREFIX_LEN,
};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use venture_sim::Frame;

/// Why a log cannot be read at all (as opposed to a bad tail, which is a [`Tail`]).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Header(#[from] HeaderError),
}

/// How the record stream ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tail {
    /// The file ends exactly after a complete record.
    Clean,
    /// The file ends inside a record: `bytes` bytes from `offset` on are an incomplete
    /// record, as a crash mid-write leaves (or zero bytes only, as a crash leaves on a
    /// filesystem that extended the file before writing its data). Every record before
    /// `offset` is intact.
    Torn { offset: u64, bytes: u64 },
    /// A complete record at `offset` is unusable (bad crc, over a limit, does not decode).
    /// Reading stops there; nothing after it is trusted.
    Corrupt { offset: u64, error: RecordError },
}

impl Tail {
    /// Where the readable prefix ends, if the tail is not clean.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Tail::Clean => None,
            Tail::Torn { offset, .. } | Tail::Corrupt { offset, .. } => Some(*offset),
        }
    }
}

impl std::fmt::Display for Tail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tail::Clean => write!(f, "clean"),
            Tail::Torn { offset, bytes } => {
                write!(
                    f,
                    "torn: {bytes} bytes of an incomplete record at offset {offset}"
                )
            }
            Tail::Corrupt { offset, error } => {
                write!(f, "corrupt record at offset {offset}: {error}")
            }
        }
    }
}

/// Reads a session log: [`SessionReader::header`], then records via [`Iterator`] (or
/// [`SessionReader::next_record`]). When iteration ends, [`SessionReader::tail`] says why.
pub struct SessionReader<R: Read> {
    inner: R,
    header: SessionHeader,
    /// The file's format version (from its preamble).
    format: u16,
    /// Bytes consumed: the end of the last complete record.
    offset: u64,
    /// Offset where the records start.
    records_start: u64,
    /// Offset of the record last returned.
    last_offset: u64,
    /// Total size, when known (for progress estimates).
    len_hint: Option<u64>,
    body: Vec<u8>,
    tail: Option<Tail>,
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads up to `len` bytes into `body` (cleared first), growing it only as data arrives,
/// so a declared length never allocates more than the input really holds.
fn read_body<R: Read>(r: &mut R, len: usize, body: &mut Vec<u8>) -> io::Result<()> {
    body.clear();
    body.reserve(len.min(64 << 10));
    r.by_ref().take(len as u64).read_to_end(body)?;
    Ok(())
}

impl SessionReader<BufReader<File>> {
    /// Opens a log file and reads its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReadError> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut reader = SessionReader::new(BufReader::with_capacity(256 << 10, file))?;
        reader.len_hint = Some(len);
        Ok(reader)
    }
}

impl<R: Read> SessionReader<R> {
    /// Reads and checks the preamble and header record from `inner`.
    pub fn new(mut inner: R) -> Result<Self, ReadError> {
        let mut pre = [0u8; PREAMBLE_LEN + RECORD_PREFIX_LEN];
        let n = read_full(&mut inner, &mut pre)?;
        if n < pre.len() {
            // Judge what is there first: garbage is "not a log", not "truncated".
            if n >= 4 && &pre[..4] != crate::format::MAGIC {
                return Err(HeaderError::BadMagic.into());
            }
            return Err(HeaderError::Truncated(n as u64).into());
        }
        let mut preamble = [0u8; PREAMBLE_LEN];
        preamble.copy_from_slice(&pre[..PREAMBLE_LEN]);
        let format = check_preamble(&preamble)?;
        let p = &pre[PREAMBLE_LEN..];
        let len = u32::from_le_bytes([p[0], p[1], p[2], p[3]]) as usize;
        let stored = u32::from_le_bytes([p[4], p[5], p[6], p[7]]);
        if len > MAX_HEADER_BYTES {
            return Err(HeaderError::TooLarge(len as u64).into());
        }
        let mut body = Vec::new();
        read_body(&mut inner, len, &mut body)?;
        if body.len() < len {
            return Err(HeaderError::Truncated((pre.len() + body.len()) as u64).into());
        }
        let computed = crc32fast::hash(&body);
        if computed != stored {
            return Err(HeaderError::Checksum { stored, computed }.into());
        }
        let header = decode_header(&body)?;
        let offset = (pre.len() + len) as u64;
        body.clear();
        body.shrink_to(64 << 10);
        Ok(SessionReader {
            inner,
            header,
            format,
            offset,
            records_start: offset,
            last_offset: offset,
            len_hint: None,
            body,
            tail: None,
        })
    }

    pub fn header(&self) -> &SessionHeader {
        &self.header
    }

    /// The file's format version ([`crate::MIN_READ_FORMAT_VERSION`] to
    /// [`crate::FORMAT_VERSION`]).
    pub fn format_version(&self) -> u16 {
        self.format
    }

    /// Bytes consumed so far: the end of the last complete record (or of the header).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Offset where the record stream starts (the header's end).
    pub fn records_start(&self) -> u64 {
        self.records_start
    }

    /// Offset of the record most recently returned.
    pub fn last_record_offset(&self) -> u64 {
        self.last_offset
    }

    /// Total input size, when known ([`SessionReader::open`] knows it).
    pub fn len_hint(&self) -> Option<u64> {
        self.len_hint
    }

    /// Sets the total input size used by progress estimates.
    pub fn set_len_hint(&mut self, len: Option<u64>) {
        self.len_hint = len;
    }

    /// Why the stream ended; `None` while records remain.
    pub fn tail(&self) -> Option<&Tail> {
        self.tail.as_ref()
    }

    /// The next record, `Ok(None)` at the end of the readable stream (then see
    /// [`SessionReader::tail`]), or an I/O error other than end-of-file.
    pub fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        if self.tail.is_some() {
            return Ok(None);
        }
        let at = self.offset;
        let mut prefix = [0u8; RECORD_PREFIX_LEN];
        let n = read_full(&mut self.inner, &mut prefix)?;
        if n == 0 {
            self.tail = Some(Tail::Clean);
            return Ok(None);
        }
        if n < RECORD_PREFIX_LEN {
            self.tail = Some(Tail::Torn {
                offset: at,
                bytes: n as u64,
            });
            return Ok(None);
        }
        let len = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
        let stored = u32::from_le_bytes([prefix[4], prefix[5], prefix[6], prefix[7]]);
        if len as usize > MAX_RECORD_BYTES {
            self.tail = Some(Tail::Corrupt {
                offset: at,
                error: RecordError::TooLarge {
                    len: len as u64,
                    limit: MAX_RECORD_BYTES,
                },
            });
            return Ok(None);
        }
        let len = len as usize;
        read_body(&mut self.inner, len, &mut self.body)?;
        if self.body.len() < len {
            self.tail = Some(Tail::Torn {
                offset: at,
                bytes: (RECORD_PREFIX_LEN + self.body.len()) as u64,
            });
            return Ok(None);
        }
        match decode_record(&self.body, stored, self.format) {
            Ok(record) => {
                self.last_offset = at;
                self.offset = at + (RECORD_PREFIX_LEN + len) as u64;
                Ok(Some(record))
            }
            Err(error) => {
                let record_len = (RECORD_PREFIX_LEN + len) as u64;
                let zeros = prefix.iter().chain(&self.body).all(|&b| b == 0);
                self.tail = Some(match zeros.then(|| self.zero_run()).transpose()? {
                    // Everything from this record to the end is zero bytes: the file was
                    // extended but its data never written (a crash on a filesystem that
                    // commits the size first). That is a torn tail, not corruption.
                    Some(Some(rest)) => Tail::Torn {
                        offset: at,
                        bytes: record_len + rest,
                    },
                    _ => Tail::Corrupt { offset: at, error },
                });
                Ok(None)
            }
        }
    }

    /// Reads the rest of the input; `Some(n)` if it is `n` zero bytes, `None` otherwise.
    fn zero_run(&mut self) -> io::Result<Option<u64>> {
        let mut buf = [0u8; 8192];
        let mut total = 0u64;
        loop {
            let n = read_full(&mut self.inner, &mut buf)?;
            if buf[..n].iter().any(|&b| b != 0) {
                return Ok(None);
            }
            total += n as u64;
            if n < buf.len() {
                return Ok(Some(total));
            }
        }
    }

    /// Gives back the underlying reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Iterator for SessionReader<R> {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

/// A keyframe found in a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotRecord {
    pub tick: u64,
    pub bytes: Vec<u8>,
}

/// A whole log in memory: what [`read_all`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub header: SessionHeader,
    /// Frames with their recorded checksums, in file order.
    pub frames: Vec<(Frame, u32)>,
    pub snapshots: Vec<SnapshotRecord>,
    /// The `End` record's reason, if the session ended for good.
    pub end: Option<String>,
    /// `Stop` records (tick, reason): clean stops of a recording process.
    pub stops: Vec<(u64, String)>,
    /// `Resume` records (tick, recorder): a new process continuing the log.
    pub resumes: Vec<(u64, String)>,
    /// `Gap` records: keyframes the world continues from after unwritten frames.
    pub gaps: Vec<SnapshotRecord>,
    /// The file's format version.
    pub format: u16,
    /// How the readable stream ended.
    pub tail: Tail,
    /// End of the readable prefix (where a recovering writer would continue).
    pub valid_len: u64,
}

/// Reads a whole log from `reader` into memory (records after an `End` are kept as read:
/// a well-formed log has none).
pub fn read_from<R: Read>(reader: R) -> Result<Session, ReadError> {
    collect(SessionReader::new(reader)?)
}

/// Reads a whole log file into memory.
pub fn read_all(path: impl AsRef<Path>) -> Result<Session, ReadError> {
    collect(SessionReader::open(path)?)
}

fn collect<R: Read>(mut reader: SessionReader<R>) -> Result<Session, ReadError> {
    let mut frames = Vec::new();
    let mut snapshots = Vec::new();
    let mut end = None;
    let (mut stops, mut resumes, mut gaps) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(record) = reader.next_record()? {
        match record {
            Record::Frame { frame, checksum } => frames.push((frame, checksum)),
            Record::Snapshot { tick, bytes } => snapshots.push(SnapshotRecord { tick, bytes }),
            Record::End { reason } => end = Some(reason),
            Record::Stop { tick, reason } => stops.push((tick, reason)),
            Record::Resume { tick, recorder } => resumes.push((tick, recorder)),
            Record::Gap { tick, bytes } => gaps.push(SnapshotRecord { tick, bytes }),
        }
    }
    let tail = reader.tail().cloned().unwrap_or(Tail::Clean);
    Ok(Session {
        valid_len: reader.offset(),
        header: reader.header.clone(),
        frames,
        snapshots,
        end,
        stops,
        resumes,
        gaps,
        format: reader.format,
        tail,
    })
}
