//! The session-log recorder (the replay and the crash journal in one) that survives write
//! failures: a full disk, an I/O error or a read-only remount never stops recording for
//! good.
//!
//! Frames go through a [`SessionWriter`] and reach the OS every second. The recorder keeps
//! a copy of the frames since the last successful flush; when a write fails it drops the
//! writer, cuts the file back to the last whole record it knows reached the OS (its
//! [`Checkpoint`]), and keeps buffering frames in memory (bounded). It retries on a backoff
//! schedule; a retry writes the buffered frames and a keyframe of the current world, so the
//! recovery point catches up at once. If the buffer overflowed, the retry writes a `Gap`
//! keyframe instead: the log stays valid, with the lost frames named.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use venture_replay::{Checkpoint, SessionHeader, SessionWriter, WriteError};
use venture_sim::{Frame, World};

use super::durability::Backoff;

/// Ticks between keyframe snapshots in the session log (60 s at 20 Hz).
const KEYFRAME_EVERY: u64 = 1200;
/// The log is flushed to the OS this often: about the most a kill -9 can lose.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Frames buffered in memory while writes fail (an hour at 20 Hz, a few MB); beyond this
/// the buffer is dropped and the log bridges the hole with a `Gap` keyframe.
const MAX_BACKLOG_FRAMES: usize = 72_000;

enum State {
    Writing(SessionWriter<File>),
    Failing,
}

/// Appends confirmed frames to the session log, with periodic keyframes and flushes, and
/// recovers by itself from failed writes.
pub struct Recorder {
    pub path: PathBuf,
    state: State,
    /// Where the log on disk ends for sure (`None`: the log has not been created yet).
    checkpoint: Option<Checkpoint>,
    /// Frames recorded after the checkpoint (flushed or not), to rewrite after a failure.
    unflushed: Vec<(Frame, u32)>,
    /// Frames were dropped from `unflushed` (it overflowed): the next write needs a gap.
    gap: bool,
    /// This process continues another's log and its `Resume` record is not written yet.
    resume_pending: bool,
    last_flush: Instant,
    retry: Backoff,
    durable_tick: u64,
}

fn recorder_name() -> String {
    format!("venture-server {}", crate::ops::cli::VERSION)
}

impl Recorder {
    /// A recorder continuing `writer` (just created, or reopened with a `Resume` record).
    /// What the writer holds is made durable first, so the checkpoint is on disk.
    pub fn new(mut writer: SessionWriter<File>, path: PathBuf) -> Result<Self, String> {
        writer
            .sync()
            .map_err(|e| format!("session log {}: {e}", path.display()))?;
        Ok(Recorder::writing(writer, path))
    }

    /// A recorder over `writer`, whose records are all on disk already.
    fn writing(writer: SessionWriter<File>, path: PathBuf) -> Self {
        let checkpoint = writer.checkpoint();
        Recorder {
            path,
            durable_tick: checkpoint.last_tick,
            state: State::Writing(writer),
            checkpoint: Some(checkpoint),
            unflushed: Vec::new(),
            gap: false,
            resume_pending: false,
            last_flush: Instant::now(),
            retry: Backoff::default(),
        }
    }

    /// Starts a new log of `world` at `path` (it is replaced).
    pub fn create(path: &Path, world: &World) -> Result<Self, String> {
        let writer = create_log(path, world).map_err(|e| e.to_string())?;
        Recorder::new(writer, path.to_path_buf())
    }

    /// A recorder whose log could not be created yet: it retries (creating the log from the
    /// world as it is then) on the usual schedule.
    pub fn pending(path: PathBuf, now: Instant) -> Self {
        let mut retry = Backoff::default();
        retry.failed(now);
        Recorder {
            path,
            state: State::Failing,
            checkpoint: None,
            unflushed: Vec::new(),
            gap: false,
            resume_pending: false,
            last_flush: now,
            retry,
            durable_tick: 0,
        }
    }

    /// Whether writes are failing (the log waits for a retry).
    pub fn is_failing(&self) -> bool {
        matches!(self.state, State::Failing)
    }

    /// Tick of the last frame known to have reached the OS (what a kill -9 recovers).
    pub fn durable_tick(&self) -> u64 {
        self.durable_tick
    }

    /// Records one confirmed frame (`world` is the world after it). Only the first failure
    /// of an episode returns an error; while failing, frames are buffered.
    pub fn record(&mut self, frame: &Frame, checksum: u32, world: &World) -> Result<(), String> {
        self.unflushed.push((frame.clone(), checksum));
        if self.unflushed.len() > MAX_BACKLOG_FRAMES {
            self.unflushed.clear();
            self.gap = true;
        }
        let State::Writing(w) = &mut self.state else {
            return Ok(());
        };
        let mut result = w.append_frame(frame, checksum);
        if result.is_ok() && frame.tick.is_multiple_of(KEYFRAME_EVERY) && world.tick() == frame.tick
        {
            result = w.append_snapshot(frame.tick, &world.snapshot());
        }
        result.map_err(|e| self.fail(e, Instant::now()))
    }

    /// Once a second: pushes buffered records to the OS (kill -9 safe, not power-loss
    /// safe). While failing: retries when the schedule says so. `Ok(true)`: the log
    /// recovered.
    pub fn maybe_flush(&mut self, now: Instant, world: &World) -> Result<bool, String> {
        match self.state {
            State::Failing if self.retry.due(now) => self.recover(now, world).map(|()| true),
            State::Failing => Ok(false),
            State::Writing(_) if now.saturating_duration_since(self.last_flush) < FLUSH_EVERY => {
                Ok(false)
            }
            State::Writing(_) => {
                self.last_flush = now;
                self.push(now, false).map(|()| false)
            }
        }
    }

    /// Flushes and fsyncs (on saves); while failing, retries if due. `Ok(true)`: recovered.
    pub fn sync(&mut self, now: Instant, world: &World) -> Result<bool, String> {
        match self.state {
            State::Failing if self.retry.due(now) => self.recover(now, world).map(|()| true),
            State::Failing => Err(format!(
                "session log {}: still failing",
                self.path.display()
            )),
            State::Writing(_) => self.push(now, true).map(|()| false),
        }
    }

    /// On a clean shutdown: one last retry if failing, then the `Stop` record, fsynced.
    pub fn stop(mut self, reason: &str, world: &World) -> Result<(), String> {
        let now = Instant::now();
        if matches!(self.state, State::Failing) {
            self.recover(now, world)?;
        }
        let path = self.path.clone();
        match std::mem::replace(&mut self.state, State::Failing) {
            State::Writing(w) => w
                .stop(reason)
                .map_err(|e| format!("session log {}: {e}", path.display())),
            State::Failing => Err(format!("session log {}: not writable", path.display())),
        }
    }

    /// Flush (and with `durable`, fsync) the writer; on success the checkpoint moves.
    fn push(&mut self, now: Instant, durable: bool) -> Result<(), String> {
        let State::Writing(w) = &mut self.state else {
            return Ok(());
        };
        let result = if durable { w.sync() } else { w.flush() };
        match result {
            Ok(()) => {
                let cp = w.checkpoint();
                self.checkpoint = Some(cp);
                self.durable_tick = cp.last_tick;
                self.unflushed.clear();
                Ok(())
            }
            Err(e) => Err(self.fail(e, now)),
        }
    }

    /// Drops the writer and its buffer, cuts the partial records a failed write may have
    /// left, and schedules a retry.
    fn fail(&mut self, e: WriteError, now: Instant) -> String {
        if let State::Writing(w) = std::mem::replace(&mut self.state, State::Failing) {
            drop(w.abandon());
        }
        self.cut_back();
        self.retry.failed(now);
        format!(
            "session log {}: {e}; frames are kept in memory and the write is retried",
            self.path.display()
        )
    }

    /// Frees what a failed attempt wrote past the checkpoint (best effort: the next retry
    /// cuts it too).
    fn cut_back(&self) {
        match self.checkpoint {
            Some(cp) => {
                if let Ok(f) = OpenOptions::new().write(true).open(&self.path) {
                    let _ = f.set_len(cp.len);
                }
            }
            // A log that was never completely created: nothing in it is worth keeping.
            None => {
                let _ = fs::remove_file(&self.path);
            }
        }
    }

    /// One retry: reopen at the checkpoint (or create the log), write the buffered frames
    /// (or a gap) and a keyframe of `world`, and fsync.
    fn recover(&mut self, now: Instant, world: &World) -> Result<(), String> {
        let attempt = (|| -> Result<SessionWriter<File>, WriteError> {
            let mut w = match self.checkpoint {
                None => return create_log(&self.path, world),
                Some(cp) => SessionWriter::reopen_at(&self.path, cp)?,
            };
            let result = (|| {
                if self.resume_pending {
                    w.append_resume(&recorder_name())?;
                }
                if self.gap {
                    w.append_gap(world.tick(), &world.snapshot())?;
                } else {
                    for (frame, checksum) in &self.unflushed {
                        w.append_frame(frame, *checksum)?;
                    }
                    if w.last_tick() == world.tick() {
                        w.append_snapshot(world.tick(), &world.snapshot())?;
                    }
                }
                w.sync()
            })();
            match result {
                Ok(()) => Ok(w),
                Err(e) => {
                    drop(w.abandon());
                    Err(e)
                }
            }
        })();
        match attempt {
            Ok(mut w) => {
                // create_log leaves the header buffered; make it durable too.
                w.sync().map_err(|e| self.fail(e, now))?;
                let cp = w.checkpoint();
                self.checkpoint = Some(cp);
                self.durable_tick = cp.last_tick;
                self.unflushed.clear();
                self.gap = false;
                self.resume_pending = false;
                self.retry.reset();
                self.last_flush = now;
                self.state = State::Writing(w);
                Ok(())
            }
            Err(e) => {
                if matches!(e, WriteError::Checkpoint { .. }) {
                    // Someone cut the log below what this process wrote: it cannot be
                    // continued. Keep it aside and start a new one from the world.
                    let _ = super::persist::move_aside(&self.path, "cut");
                    self.checkpoint = None;
                    self.unflushed.clear();
                    self.gap = false;
                } else {
                    self.cut_back();
                }
                self.retry.failed(now);
                Err(format!(
                    "session log {}: retry failed: {e}",
                    self.path.display()
                ))
            }
        }
    }
}

/// Creates the log file of `world` (mode 0600) with its header.
fn create_log(path: &Path, world: &World) -> Result<SessionWriter<File>, WriteError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let header = if world.tick() == 0 {
        SessionHeader::new(world.config().clone(), recorder_name())
    } else {
        SessionHeader::from_world(world, recorder_name())
    };
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path)?;
    SessionWriter::new(file, &header)
}

/// Continues an existing log (just reopened): marks the new segment with a `Resume`
/// record. If that cannot be written (a full disk at start), the recorder starts failing
/// from the log as it was, and writes the `Resume` on its first successful retry; the log
/// is never recreated over its history. The error, if any, is returned beside it.
pub fn resume_log(
    mut writer: SessionWriter<File>,
    path: PathBuf,
    now: Instant,
) -> (Recorder, Option<String>) {
    let before = writer.checkpoint();
    match writer
        .append_resume(&recorder_name())
        .and_then(|()| writer.sync())
    {
        Ok(()) => (Recorder::writing(writer, path), None),
        Err(e) => {
            drop(writer.abandon());
            let error = format!("session log {}: {e}", path.display());
            let mut r = Recorder::pending(path, now);
            r.checkpoint = Some(before);
            r.durable_tick = before.last_tick;
            r.resume_pending = true;
            r.cut_back();
            (r, Some(error))
        }
    }
}
