//! The verifier: rebuild the starting world from the header, step every recorded frame,
//! compare every checksum and keyframe, and name the first tick that differs (with, when a
//! keyframe allows it, which part of the state differs). Seeking to one tick is
//! [`crate::seek`].

use crate::format::{Record, RecordError, SessionHeader};
use crate::reader::{ReadError, SessionReader, Tail};
use crate::resim::{restore_keyframe, step_and_compare, Stepped};
use std::io::Read;
use std::time::Duration;
use venture_sim::{SimConfig, World};

/// After a checksum divergence, how far the verifier keeps stepping to reach a keyframe
/// it can compare states with (an hour at 20 Hz).
pub const MAX_DIFF_LOOKAHEAD_TICKS: u64 = 72_000;
/// Ticks between progress callbacks.
const PROGRESS_EVERY: u64 = 4096;

/// Why verification could not even start or continue (the file, not the game, is wrong).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("cannot build the starting world: {0}")]
    Start(String),
}

/// A part of the world state, as named by a divergence report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateSection {
    /// The world's tick counter.
    Tick,
    /// The generation config.
    Config,
    /// The tile map.
    Map,
    /// The level besides its tiles: generator, rooms, spawn, exit.
    Level,
    /// The players in these slots (present in one world only, or different).
    Players { slots: Vec<usize> },
    /// State without public accessors: the RNG streams or the entity id counter.
    Hidden,
}

impl std::fmt::Display for StateSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateSection::Tick => write!(f, "tick"),
            StateSection::Config => write!(f, "config"),
            StateSection::Map => write!(f, "map"),
            StateSection::Level => write!(f, "level (rooms/spawn/exit)"),
            StateSection::Players { slots } => write!(f, "players in slots {slots:?}"),
            StateSection::Hidden => write!(f, "rng streams or entity counter"),
        }
    }
}

/// How the re-simulated world differs from a recorded keyframe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateDiff {
    /// Tick of the keyframe compared.
    pub tick: u64,
    /// First byte where the snapshot encodings differ (`None`: identical).
    pub first_differing_byte: Option<u64>,
    pub recorded_len: u64,
    pub resimulated_len: u64,
    /// Differing parts, when the recorded keyframe restores.
    pub sections: Vec<StateSection>,
    /// Why the recorded keyframe does not restore, if it does not.
    pub restore_error: Option<String>,
}

/// The first recorded checksum that re-simulation does not reproduce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    pub tick: u64,
    /// Checksum in the log.
    pub expected: u32,
    /// Checksum of the re-simulated world.
    pub actual: u32,
    /// State comparison at the first keyframe at or after `tick`, if one was found.
    pub diff: Option<StateDiff>,
}

/// Why a log fails verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// A checksum differs.
    Divergence(Divergence),
    /// The record following tick `after_tick` is damaged (bad crc, over a limit, does not
    /// decode); it would carry tick `after_tick + 1`.
    CorruptRecord {
        after_tick: u64,
        offset: u64,
        error: RecordError,
    },
    /// A frame or keyframe that cannot follow the one before it.
    BadRecord {
        tick: u64,
        offset: u64,
        message: String,
    },
    /// A keyframe differs from the re-simulated world although checksums matched.
    SnapshotMismatch(StateDiff),
}

impl Failure {
    /// The tick the failure is attributed to.
    pub fn tick(&self) -> u64 {
        match self {
            Failure::Divergence(d) => d.tick,
            Failure::CorruptRecord { after_tick, .. } => after_tick.wrapping_add(1),
            Failure::BadRecord { tick, .. } => *tick,
            Failure::SnapshotMismatch(d) => d.tick,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Divergence(d) => {
                write!(
                    f,
                    "diverged at tick {}: expected checksum 0x{:08x}, actual 0x{:08x}",
                    d.tick, d.expected, d.actual
                )?;
                if let Some(diff) = &d.diff {
                    write!(f, "; {diff}")?;
                }
                Ok(())
            }
            Failure::CorruptRecord {
                after_tick,
                offset,
                error,
            } => write!(
                f,
                "corrupt record for tick {} at offset {offset}: {error}",
                after_tick.wrapping_add(1)
            ),
            Failure::BadRecord {
                tick,
                offset,
                message,
            } => write!(f, "bad record at tick {tick} (offset {offset}): {message}"),
            Failure::SnapshotMismatch(d) => write!(f, "keyframe mismatch: {d}"),
        }
    }
}

impl std::fmt::Display for StateDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "keyframe at tick {}", self.tick)?;
        match self.first_differing_byte {
            Some(b) => write!(f, " differs from byte {b}")?,
            None => write!(f, " is identical")?,
        }
        if let Some(e) = &self.restore_error {
            write!(f, " (recorded keyframe does not restore: {e})")?;
        } else if !self.sections.is_empty() {
            let names: Vec<String> = self.sections.iter().map(|s| s.to_string()).collect();
            write!(f, " in: {}", names.join(", "))?;
        }
        Ok(())
    }
}

/// How a recording segment (one server process's part of the log) ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SegmentEnd {
    /// A `Stop` record: the process stopped cleanly (SIGTERM, SIGINT).
    Stopped { reason: String },
    /// The next segment's `Resume` record follows without a `Stop`: the process died
    /// (kill -9, a crash, power loss) after the last frame it wrote.
    Crashed,
    /// An `End` record: the session is over for good.
    Ended { reason: String },
    /// The log just ends: still being recorded, or the process died and nothing resumed.
    Open,
}

/// One recording process's part of a log: from the header or a `Resume` record to a
/// `Stop`, the next `Resume`, an `End` or the end of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Tick of the world when the segment began (the header's start tick or the resume).
    pub start_tick: u64,
    /// Tick of the last frame (or gap keyframe) in the segment.
    pub end_tick: u64,
    /// The recorder named by the header or by the `Resume` record.
    pub recorder: String,
    pub end: SegmentEnd,
    /// Unwritten frames, as inclusive tick ranges, each bridged by a `Gap` keyframe.
    pub gaps: Vec<(u64, u64)>,
}

impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ticks {} to {}", self.start_tick, self.end_tick)?;
        for (from, to) in &self.gaps {
            write!(
                f,
                ", frames {from} to {to} missing (write failure; continued from a keyframe)"
            )?;
        }
        match &self.end {
            SegmentEnd::Stopped { reason } => {
                write!(f, ", clean stop at tick {} ({reason})", self.end_tick)
            }
            SegmentEnd::Crashed => write!(
                f,
                ", crashed after tick {} (no stop record; resumed there)",
                self.end_tick
            ),
            SegmentEnd::Ended { reason } => {
                write!(f, ", ended at tick {} ({reason})", self.end_tick)
            }
            SegmentEnd::Open => write!(
                f,
                ", no stop record after tick {} (still recording, or the process died)",
                self.end_tick
            ),
        }
    }
}

/// What [`verify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub config: SimConfig,
    pub start_tick: u64,
    /// Frames whose checksums matched.
    pub ticks_verified: u64,
    /// Tick of the last verified frame (the start tick when none).
    pub last_tick: u64,
    /// Keyframes compared byte for byte with the re-simulated world.
    pub snapshots_checked: u64,
    /// The `End` record's reason, if one was read.
    pub end: Option<String>,
    /// The recording segments read, in order (at least one).
    pub segments: Vec<Segment>,
    /// How the record stream ended; `None` when verification stopped at a failure first.
    pub tail: Option<Tail>,
    pub failure: Option<Failure>,
}

impl VerifyReport {
    /// Whether every record read verified (a torn tail is allowed: see the crate docs).
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    /// Game time covered by the verified ticks.
    pub fn game_time(&self) -> Duration {
        ticks_to_duration(self.ticks_verified, self.config.tick_rate)
    }

    /// The last segment's clean stop tick, if the log's last process stopped cleanly.
    pub fn clean_stop(&self) -> Option<u64> {
        let last = self.segments.last()?;
        matches!(last.end, SegmentEnd::Stopped { .. }).then_some(last.end_tick)
    }
}

/// `ticks` at `tick_rate` ticks per second as a duration.
pub fn ticks_to_duration(ticks: u64, tick_rate: u32) -> Duration {
    let rate = u64::from(tick_rate.max(1));
    Duration::from_secs(ticks / rate) + Duration::from_nanos((ticks % rate) * 1_000_000_000 / rate)
}

/// Builds the world a session starts from: generated from the config, or restored from
/// the starting snapshot (which must agree with the header's config and start tick).
pub fn start_world(header: &SessionHeader) -> Result<World, VerifyError> {
    match &header.start_snapshot {
        None => World::new(&header.config).map_err(|e| VerifyError::Start(e.to_string())),
        Some(bytes) => {
            let world = World::restore(bytes)
                .map_err(|e| VerifyError::Start(format!("starting snapshot: {e}")))?;
            if world.tick() != header.start_tick {
                return Err(VerifyError::Start(format!(
                    "starting snapshot is at tick {}, header says {}",
                    world.tick(),
                    header.start_tick
                )));
            }
            if world.config() != &header.config {
                return Err(VerifyError::Start(
                    "starting snapshot's config differs from the header's".into(),
                ));
            }
            Ok(world)
        }
    }
}

/// Compares `ours` with the recorded keyframe `recorded` (of tick `tick`).
pub fn diff_states(ours: &World, tick: u64, recorded: &[u8]) -> StateDiff {
    let mine = ours.snapshot();
    let first_differing_byte = mine
        .iter()
        .zip(recorded)
        .position(|(a, b)| a != b)
        .map(|p| p as u64)
        .or_else(|| (mine.len() != recorded.len()).then(|| mine.len().min(recorded.len()) as u64));
    let (sections, restore_error) = match World::restore(recorded) {
        Ok(theirs) => (sections_differing(ours, &theirs), None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    StateDiff {
        tick,
        first_differing_byte,
        recorded_len: recorded.len() as u64,
        resimulated_len: mine.len() as u64,
        sections,
        restore_error,
    }
}

/// The parts of two worlds that differ, judged through public accessors.
pub fn sections_differing(a: &World, b: &World) -> Vec<StateSection> {
    let mut out = Vec::new();
    if a.tick() != b.tick() {
        out.push(StateSection::Tick);
    }
    if a.config() != b.config() {
        out.push(StateSection::Config);
    }
    if a.map() != b.map() {
        out.push(StateSection::Map);
    }
    let (la, lb) = (a.level(), b.level());
    if la.generator != lb.generator
        || la.rooms != lb.rooms
        || la.spawn != lb.spawn
        || la.exit != lb.exit
    {
        out.push(StateSection::Level);
    }
    let slots = a.config().max_players.max(b.config().max_players) as usize;
    let players: Vec<usize> = (0..slots).filter(|&s| a.player(s) != b.player(s)).collect();
    if !players.is_empty() {
        out.push(StateSection::Players { slots: players });
    }
    if out.is_empty() && a != b {
        out.push(StateSection::Hidden);
    }
    out
}

/// Estimated total ticks in the log from the bytes read so far.
fn total_hint<R: Read>(reader: &SessionReader<R>, ticks: u64) -> u64 {
    let (Some(len), start) = (reader.len_hint(), reader.records_start()) else {
        return 0;
    };
    let read = reader.offset().saturating_sub(start);
    if read == 0 {
        return 0;
    }
    let total = len.saturating_sub(start);
    (ticks as u128 * total as u128 / read as u128).min(u64::MAX as u128) as u64
}

/// Re-simulates the session and checks every checksum and keyframe.
///
/// `progress(ticks_done, total_hint)` is called every few thousand ticks and at the end;
/// `total_hint` is an estimate from the file size (0 when unknown). A torn tail does not
/// fail verification (it is what a crash leaves); a corrupt record does, attributed to the
/// tick it would carry. The report lists the recording segments: clean stops, crashes
/// (a resume without a stop) and gaps, each with its tick.
pub fn verify<R: Read>(
    mut reader: SessionReader<R>,
    mut progress: impl FnMut(u64, u64),
) -> Result<VerifyReport, VerifyError> {
    let mut world = start_world(reader.header())?;
    let mut report = VerifyReport {
        config: reader.header().config.clone(),
        start_tick: world.tick(),
        ticks_verified: 0,
        last_tick: world.tick(),
        snapshots_checked: 0,
        end: None,
        segments: Vec::new(),
        tail: None,
        failure: None,
    };
    let mut segment = Segment {
        start_tick: world.tick(),
        end_tick: world.tick(),
        recorder: reader.header().recorder.clone(),
        end: SegmentEnd::Open,
        gaps: Vec::new(),
    };
    // The clean stop of the current segment, until a Resume opens the next one.
    let mut stopped: Option<String> = None;
    let mut pending: Option<Divergence> = None;
    while let Some(record) = reader.next_record()? {
        let offset = reader.last_record_offset();
        let bad = |tick: u64, message: String| {
            Some(Failure::BadRecord {
                tick,
                offset,
                message,
            })
        };
        // A Stop or Resume record stands right after the frame of its tick.
        let misplaced = |kind: &str, tick: u64| {
            (tick != world.tick()).then(|| {
                bad(
                    tick,
                    format!(
                        "{kind} at tick {tick} after the frame of tick {}",
                        world.tick()
                    ),
                )
            })
        };
        if report.end.is_some() {
            report.failure = bad(world.tick(), "record after the End record".into());
            break;
        }
        if stopped.is_some() && !matches!(record, Record::Resume { .. }) && pending.is_none() {
            report.failure = bad(
                world.tick(),
                format!(
                    "{} record after the clean stop at tick {} (only a resume may follow)",
                    record.kind(),
                    world.tick()
                ),
            );
            break;
        }
        match record {
            Record::Frame { frame, checksum } => {
                if let Some(d) = &pending {
                    if frame.tick.saturating_sub(d.tick) > MAX_DIFF_LOOKAHEAD_TICKS {
                        break;
                    }
                }
                let stepped = match step_and_compare(&mut world, &frame, checksum) {
                    Ok(s) => s,
                    Err(e) => {
                        if pending.is_none() {
                            report.failure = bad(frame.tick, e.to_string());
                        }
                        break;
                    }
                };
                segment.end_tick = frame.tick;
                if pending.is_some() {
                    continue;
                }
                if let Stepped::Mismatch { expected, actual } = stepped {
                    pending = Some(Divergence {
                        tick: frame.tick,
                        expected,
                        actual,
                        diff: None,
                    });
                    continue;
                }
                report.ticks_verified += 1;
                report.last_tick = frame.tick;
                if report.ticks_verified % PROGRESS_EVERY == 0 {
                    progress(
                        report.ticks_verified,
                        total_hint(&reader, report.ticks_verified),
                    );
                }
            }
            Record::Snapshot { tick, bytes } => {
                if tick != world.tick() {
                    if pending.is_none() {
                        report.failure = bad(
                            tick,
                            format!(
                                "keyframe for tick {tick} after the frame of tick {}",
                                world.tick()
                            ),
                        );
                    }
                    break;
                }
                if let Some(mut d) = pending.take() {
                    d.diff = Some(diff_states(&world, tick, &bytes));
                    report.failure = Some(Failure::Divergence(d));
                    break;
                }
                if world.snapshot() != bytes {
                    report.failure =
                        Some(Failure::SnapshotMismatch(diff_states(&world, tick, &bytes)));
                    break;
                }
                report.snapshots_checked += 1;
            }
            Record::End { reason } => {
                if pending.is_some() {
                    break;
                }
                segment.end = SegmentEnd::Ended {
                    reason: reason.clone(),
                };
                report.end = Some(reason);
            }
            Record::Stop { tick, reason } => {
                if pending.is_some() {
                    break;
                }
                if let Some(failure) = misplaced("stop", tick) {
                    report.failure = failure;
                    break;
                }
                stopped = Some(reason);
            }
            Record::Resume { tick, recorder } => {
                if pending.is_some() {
                    break;
                }
                if let Some(failure) = misplaced("resume", tick) {
                    report.failure = failure;
                    break;
                }
                segment.end = match stopped.take() {
                    Some(reason) => SegmentEnd::Stopped { reason },
                    None => SegmentEnd::Crashed,
                };
                let next = Segment {
                    start_tick: tick,
                    end_tick: tick,
                    recorder,
                    end: SegmentEnd::Open,
                    gaps: Vec::new(),
                };
                report.segments.push(std::mem::replace(&mut segment, next));
            }
            Record::Gap { tick, bytes } => {
                // Nothing before a gap keyframe can vouch for it; a divergence pending
                // before one is reported without a state diff.
                if pending.is_some() {
                    break;
                }
                if tick < world.tick() {
                    report.failure = bad(
                        tick,
                        format!(
                            "gap to tick {tick} after the frame of tick {}",
                            world.tick()
                        ),
                    );
                    break;
                }
                match restore_keyframe(&report.config, tick, &bytes) {
                    Ok(w) => {
                        if tick > world.tick() {
                            segment.gaps.push((world.tick() + 1, tick));
                        }
                        world = w;
                        segment.end_tick = tick;
                        report.last_tick = tick;
                    }
                    Err(e) => {
                        report.failure = bad(tick, format!("gap keyframe: {e}"));
                        break;
                    }
                }
            }
        }
    }
    if let Some(reason) = stopped {
        segment.end = SegmentEnd::Stopped { reason };
    }
    report.segments.push(segment);
    if let Some(d) = pending {
        report.failure = Some(Failure::Divergence(d));
    }
    report.tail = reader.tail().cloned();
    if report.failure.is_none() {
        if let Some(Tail::Corrupt { offset, error }) = &report.tail {
            report.failure = Some(Failure::CorruptRecord {
                after_tick: report.last_tick,
                offset: *offset,
                error: error.clone(),
            });
        }
    }
    progress(report.ticks_verified, report.ticks_verified);
    Ok(report)
}
