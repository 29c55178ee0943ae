//! venture-replay: Venture's session logs (the crash-recovery journal and the replay
//! format), their writer and reader, and the verifier that re-simulates a session and
//! names the first tick whose checksum differs.
//!
//! # File format (version 2)
//!
//! All integers little-endian. A log is a fixed preamble, one header record, then a
//! stream of records:
//!
//! ```text
//! offset 0   magic          b"VRPL"
//! offset 4   format         u16   (FORMAT_VERSION = 2; 1 is read too, see below)
//! offset 6   sim version    u32   (venture_sim::SIM_VERSION; other versions are refused)
//! offset 10  header record  [len: u32][crc32(body): u32][body: bincode SessionHeader]
//! then       records        [len: u32][crc32(body): u32][body: bincode Record] ...
//! ```
//!
//! Bodies are bincode 2 (serde, `config::standard()`, varint) encodings:
//! - [`SessionHeader`]: the [`venture_sim::SimConfig`] (seed, genre, depth, difficulty,
//!   size, tick rate, slots), the start tick, an optional starting snapshot
//!   ([`venture_sim::World::snapshot`] bytes, for sessions that resume a saved world; the
//!   world is generated from the config otherwise, at tick 0), and a recorder description.
//! - [`Record`] (variant index first, as a varint):
//!   - 0 `Frame { frame, checksum }`: a confirmed frame and the checksum of the world
//!     after it; frames are consecutive, starting at `start_tick + 1`;
//!   - 1 `Snapshot { tick, bytes }`: a keyframe, the world after the frame of `tick`
//!     (the last frame written), for seeking and recovery;
//!   - 2 `End { reason }`: the session is over for good; nothing follows (client and
//!     scripted recordings);
//!   - 3 `Stop { tick, reason }` (format 2): the recording process stopped cleanly
//!     (SIGTERM/SIGINT) after the frame of `tick`; only a `Resume` may follow;
//!   - 4 `Resume { tick, recorder }` (format 2): a new process continues the log after
//!     the frame of `tick`. A `Resume` after a `Stop` continues a clean stop; a `Resume`
//!     without one means the previous process crashed after its last frame;
//!   - 5 `Gap { tick, bytes }` (format 2): the frames after the last one written up to
//!     `tick` were never written (a disk that was full or failing for longer than the
//!     server could buffer); the world continues from this keyframe.
//!
//! The header and each `Resume` start a *segment* (one process's recording); the verifier
//! reports each segment with how it ended: a clean stop, a crash, an `End`, or open (the
//! log just ends: still recording, or the process died and nothing resumed it).
//!
//! ## Older logs
//!
//! Format 1 had the same framing and only variants 0 to 2, with the same encodings, so a
//! format-1 log is a valid format-2 log: this build reads both (a format-1 file holding a
//! variant above 2 is corrupt at that record). [`SessionWriter::open_append`] relabels a
//! format-1 log as format 2 (the two preamble bytes) before continuing it. Logs of any
//! other format, or of another simulation version, are refused with
//! [`HeaderError::Format`] or [`HeaderError::SimVersion`].
//!
//! # Crash safety and hostile files
//!
//! The writer appends whole records, so a crash at any byte leaves a readable prefix plus
//! at most one incomplete record. The reader yields every complete record and then reports
//! the tail ([`Tail`]):
//! - [`Tail::Clean`]: the file ends at a record boundary (with or without `End` or
//!   `Stop`: a log without either is a session still running or interrupted);
//! - [`Tail::Torn`]: the file ends inside a record, or everything from a record boundary
//!   to the end is zero bytes (what a crash leaves, depending on the filesystem). Verification
//!   passes on the prefix and reports the tail; [`SessionWriter::open_append`] cuts it off
//!   and continues the log;
//! - [`Tail::Corrupt`]: a complete record whose crc does not match, that exceeds a limit,
//!   or does not decode. Nothing after it is trusted. The verifier reports it as a failure
//!   at the tick that record would carry (the tick after the last good frame), so flipping
//!   any byte of a frame record makes verification fail at that frame's tick.
//!
//! Every length is bounded before use ([`MAX_HEADER_BYTES`], [`MAX_RECORD_BYTES`],
//! [`MAX_FRAME_RECORD_BYTES`]); bodies are read incrementally, so a declared length never
//! allocates more than the file holds; bincode decodes with a size limit and the consumed
//! length must equal the body length. A hostile file gives a typed error, never a panic.
//!
//! # Modules
//! - [`format`](mod@format): layout constants, header and record types, encode/decode with bounds.
//! - [`writer`]: [`SessionWriter`] and crash recovery ([`SessionWriter::open_append`]).
//! - [`reader`]: [`SessionReader`], [`read_all`].
//! - [`resim`]: the one re-simulate-and-compare routine ([`step_and_compare`],
//!   [`restore_keyframe`]) that verification, seeking and the server's crash-journal
//!   replay share.
//! - [`verify`](mod@verify): [`verify()`], segments, divergence reports.
//! - [`seek`]: the world at one tick ([`replay_to`], [`replay_from`]), from the start or
//!   the nearest keyframe.
//! - [`timeline`]: a log held in memory for watching ([`Timeline`]): verified once, then
//!   stepped and sought through the re-simulation routine; the playable range ends before
//!   the first bad tick. The terminal viewer and the browser client both play it.
//! - [`scripted`]: record sessions of scripted bots (tests, benchmarks, tools).
//! - [`info`](mod@info): a log summarised in one streaming pass ([`info()`]: configuration,
//!   frames, joins and leaves, segments and how each ended), `venture-replay info`.
//! - [`inspect`]: whole-state dumps, field-level diffs, the desync report's format, and
//!   the loader of a state at a tick for `venture-replay diff`.

#![forbid(unsafe_code)]

pub mod format;
pub mod info;
pub mod inspect;
pub mod reader;
pub mod resim;
pub mod scripted;
pub mod seek;
pub mod timeline;
pub mod verify;
pub mod writer;

pub use format::{
    HeaderError, Record, RecordError, SessionHeader, FORMAT_VERSION, MAGIC, MAX_FRAME_RECORD_BYTES,
    MAX_HEADER_BYTES, MAX_RECORD_BYTES, MIN_READ_FORMAT_VERSION,
};
pub use info::{info, Info, PlayerEvent, SegmentClose, SegmentInfo};
pub use reader::{read_all, read_from, ReadError, Session, SessionReader, SnapshotRecord, Tail};
pub use resim::{restore_keyframe, step_and_compare, Stepped};
pub use scripted::{record_scripted, ScriptedSession};
pub use seek::{replay_from, replay_to, ReplayError, ReplayedWorld};
pub use timeline::{Halt, LoadError, SeekError, Timeline, MAX_LOG_BYTES};
pub use verify::{
    diff_states, start_world, ticks_to_duration, verify, Divergence, Failure, Segment, SegmentEnd,
    StateDiff, StateSection, VerifyError, VerifyReport,
};
pub use writer::{Checkpoint, RecoverError, RecoveredLog, SessionWriter, WriteError};
