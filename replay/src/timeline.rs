//! A replay viewer's model, without a terminal or a browser: a session log loaded once into memory
//! (frames with their recorded checksums, keyframes with their ticks), verified once with
//! the replay crate's verifier, and a current world that moves by stepping recorded frames
//! ([`crate::step_and_compare`]) or by seeking: restore the latest keyframe at or
//! before the tick ([`crate::restore_keyframe`], or the start world) and step
//! from there.
//!
//! The playable range ends at the last tick the log vouches for: a log that fails
//! verification ends just before its first bad tick (the state there does not match the
//! log, so it is never shown), a torn or damaged tail ends at the last good record.

use std::io::Cursor;
use std::path::Path;

use crate::{
    read_from, restore_keyframe, start_world, step_and_compare, verify, Failure, ReadError,
    SessionHeader, SessionReader, Stepped, Tail, VerifyError,
};
use venture_sim::{Frame, World};

/// The largest log the viewer loads (it holds the whole log in memory). A 1-hour session
/// of four players is a few MiB, so this is weeks of play; longer logs can still be
/// verified and dumped, which stream.
pub const MAX_LOG_BYTES: u64 = 512 << 20;

/// Why a log cannot be watched at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "the log is {size} bytes, over the viewer's limit of {limit} bytes (512 MiB); \
         `venture-replay verify` and `dump` stream logs of any size"
    )]
    TooLarge { size: u64, limit: u64 },
    #[error("not a usable session log: {0}")]
    Read(#[from] ReadError),
    #[error("not a usable session log: {0}")]
    Verify(#[from] VerifyError),
}

/// Why the playable range ends before the log's last frame (or at it, for a torn tail).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Halt {
    /// The re-simulated checksum of `tick` differs from the recorded one.
    Mismatch { tick: u64 },
    /// The record that would carry `tick` is damaged (bad crc, over a limit, undecodable).
    Damaged { tick: u64, detail: String },
    /// Another verification failure at `tick` (a keyframe that differs from the
    /// re-simulated world, a frame that cannot follow).
    Failed { tick: u64, detail: String },
    /// The file ends inside a record after `tick` (a crash mid-write): not a failure.
    Torn { tick: u64 },
}

impl Halt {
    /// Whether the log failed verification (as opposed to just ending early).
    pub fn is_failure(&self) -> bool {
        !matches!(self, Halt::Torn { .. })
    }

    /// The status-line text.
    pub fn message(&self) -> String {
        match self {
            Halt::Mismatch { tick } => format!(
                "checksum mismatch at tick {tick}: the log and the simulation disagree; stopped"
            ),
            Halt::Damaged { tick, detail } => {
                format!("damaged record at tick {tick}; stopped ({detail})")
            }
            Halt::Failed { tick, detail } => {
                format!("verification failed at tick {tick}; stopped ({detail})")
            }
            Halt::Torn { tick } => format!("the log ends in a torn record after tick {tick}"),
        }
    }
}

/// A keyframe the world can be restored from.
struct Keyframe {
    tick: u64,
    bytes: Vec<u8>,
}

/// Why a seek did not land where it was asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SeekError {
    #[error("the frame of tick {tick} cannot be replayed: {message}")]
    Replay { tick: u64, message: String },
}

/// A loaded log and the world being watched.
pub struct Timeline {
    header: SessionHeader,
    start: World,
    /// Frames with their recorded checksums, ticks ascending (consecutive but for gaps).
    frames: Vec<(Frame, u32)>,
    /// Keyframes and gap keyframes within the playable range, ticks ascending.
    keyframes: Vec<Keyframe>,
    /// The last tick that may be shown.
    end: u64,
    halt: Option<Halt>,
    world: World,
    /// The world of the keyframe last restored (tick, world): stepping back repeatedly
    /// restores it by a clone instead of decoding the keyframe again.
    cache: Option<(u64, World)>,
}

impl Timeline {
    /// Loads and verifies the log at `path` (at most [`MAX_LOG_BYTES`]).
    pub fn load(path: &Path) -> Result<Timeline, LoadError> {
        Timeline::load_with(path, |_, _| {})
    }

    /// [`Timeline::load`], calling `progress(ticks verified, estimated total)` now and then
    /// (about 4 s per 10 hours of four players on this machine).
    pub fn load_with(path: &Path, progress: impl FnMut(u64, u64)) -> Result<Timeline, LoadError> {
        let size = std::fs::metadata(path)?.len();
        if size > MAX_LOG_BYTES {
            return Err(LoadError::TooLarge {
                size,
                limit: MAX_LOG_BYTES,
            });
        }
        Timeline::from_bytes_with(&std::fs::read(path)?, progress)
    }

    /// Loads and verifies a log held in memory.
    pub fn from_bytes(bytes: &[u8]) -> Result<Timeline, LoadError> {
        Timeline::from_bytes_with(bytes, |_, _| {})
    }

    /// [`Timeline::from_bytes`] with verification progress, as [`Timeline::load_with`].
    pub fn from_bytes_with(
        bytes: &[u8],
        progress: impl FnMut(u64, u64),
    ) -> Result<Timeline, LoadError> {
        let session = read_from(Cursor::new(bytes))?;
        let start = start_world(&session.header)?;
        // The verifier decides how far the log is good; the viewer never shows past it.
        let mut reader = SessionReader::new(Cursor::new(bytes))?;
        reader.set_len_hint(Some(bytes.len() as u64));
        let report = verify(reader, progress)?;
        let last_frame = session
            .frames
            .last()
            .map_or(start.tick(), |(f, _)| f.tick)
            .max(session.gaps.last().map_or(0, |g| g.tick));
        let (end, halt) = match &report.failure {
            Some(Failure::Divergence(d)) => (
                d.tick.saturating_sub(1),
                Some(Halt::Mismatch { tick: d.tick }),
            ),
            Some(f @ Failure::CorruptRecord { after_tick, .. }) => (
                *after_tick,
                Some(Halt::Damaged {
                    tick: f.tick(),
                    detail: match &session.tail {
                        Tail::Corrupt { offset, error } => format!("{error}, offset {offset}"),
                        other => other.to_string(),
                    },
                }),
            ),
            Some(f) => (
                f.tick().saturating_sub(1).max(start.tick()),
                Some(Halt::Failed {
                    tick: f.tick(),
                    detail: f.to_string(),
                }),
            ),
            None => match session.tail {
                Tail::Torn { .. } => (last_frame, Some(Halt::Torn { tick: last_frame })),
                _ => (last_frame, None),
            },
        };
        let end = end.max(start.tick());
        let mut keyframes: Vec<Keyframe> = session
            .snapshots
            .into_iter()
            .chain(session.gaps)
            .filter(|k| k.tick > start.tick() && k.tick <= end)
            .map(|k| Keyframe {
                tick: k.tick,
                bytes: k.bytes,
            })
            .collect();
        keyframes.sort_by_key(|k| k.tick);
        keyframes.dedup_by_key(|k| k.tick);
        let mut frames = session.frames;
        frames.retain(|(f, _)| f.tick <= end);
        Ok(Timeline {
            header: session.header,
            world: start.clone(),
            start,
            frames,
            keyframes,
            end,
            halt,
            cache: None,
        })
    }

    pub fn header(&self) -> &SessionHeader {
        &self.header
    }

    /// The world at [`Timeline::tick`].
    pub fn world(&self) -> &World {
        &self.world
    }

    pub fn tick(&self) -> u64 {
        self.world.tick()
    }

    /// The first tick (the session's start).
    pub fn first_tick(&self) -> u64 {
        self.start.tick()
    }

    /// The last tick that may be shown.
    pub fn last_tick(&self) -> u64 {
        self.end
    }

    /// Why the range ends where it does, if not at a clean end of the log.
    pub fn halt(&self) -> Option<&Halt> {
        self.halt.as_ref()
    }

    /// Ticks of the keyframes seeking uses.
    pub fn keyframe_ticks(&self) -> Vec<u64> {
        self.keyframes.iter().map(|k| k.tick).collect()
    }

    pub fn tick_rate(&self) -> u32 {
        self.header.config.tick_rate.max(1)
    }

    /// Index of the first frame with a tick above `tick`.
    fn frames_after(&self, tick: u64) -> usize {
        self.frames.partition_point(|(f, _)| f.tick <= tick)
    }

    /// Steps one recorded frame forward, if one is left in the range. Returns false at the
    /// end of the range (nothing stepped).
    pub fn step_forward(&mut self) -> Result<bool, SeekError> {
        self.step_forward_with(|_| (), |_, _| ())
    }

    /// [`Timeline::step_forward`] with hooks: `before(world)` runs before the step and its
    /// result goes to `after(world, result)` once the world is at the new tick.
    pub fn step_forward_with<B>(
        &mut self,
        before: impl FnOnce(&World) -> B,
        after: impl FnOnce(&World, B),
    ) -> Result<bool, SeekError> {
        let tick = self.world.tick();
        if tick >= self.end {
            return Ok(false);
        }
        let i = self.frames_after(tick);
        // A gap: frames after `tick` were never written; the world continues from the
        // gap's keyframe.
        let next_frame = self.frames.get(i).map(|(f, _)| f.tick);
        if next_frame != Some(tick + 1) {
            let target = next_frame
                .map_or(self.end, |t| t - 1)
                .min(self.end)
                .max(tick + 1);
            self.seek(target)?;
            return Ok(true);
        }
        let hint = before(&self.world);
        let (frame, recorded) = self.frames[i].clone();
        if self.apply(frame, recorded)? {
            after(&self.world, hint);
        }
        Ok(true)
    }

    /// Steps `frame` with the one re-simulate-and-compare routine. Verification at load
    /// already vouched for every frame in range; a mismatch here (a simulation that is not
    /// deterministic on this machine) still stops the range at the tick before.
    /// Returns false after a mismatch (the world is then at the new end of the range).
    fn apply(&mut self, frame: Frame, recorded: u32) -> Result<bool, SeekError> {
        let tick = frame.tick;
        let stepped =
            step_and_compare(&mut self.world, &frame, recorded).map_err(|e| SeekError::Replay {
                tick,
                message: e.to_string(),
            })?;
        if let Stepped::Mismatch { .. } = stepped {
            self.end = tick - 1;
            self.halt = Some(Halt::Mismatch { tick });
            self.keyframes.retain(|k| k.tick < tick);
            self.frames.retain(|(f, _)| f.tick < tick);
            self.seek(tick - 1)?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Moves the world to `tick`, clamped to the playable range; returns the tick reached.
    pub fn seek(&mut self, tick: u64) -> Result<u64, SeekError> {
        let target = tick.clamp(self.first_tick(), self.end);
        let k = self.keyframes.partition_point(|k| k.tick <= target);
        let key_tick = k.checked_sub(1).map(|i| self.keyframes[i].tick);
        let here = self.world.tick();
        // Forward within the same keyframe interval: carry on from here.
        let from_here = here <= target && key_tick.is_none_or(|kt| here >= kt);
        if !from_here {
            self.world = match k.checked_sub(1) {
                None => self.start.clone(),
                Some(i) => self.keyframe_world(i)?,
            };
        }
        let from = self.frames_after(self.world.tick());
        let to = self.frames_after(target);
        for i in from..to {
            let (frame, recorded) = self.frames[i].clone();
            if !self.apply(frame, recorded)? {
                // A mismatch moved the world back and shortened the range.
                break;
            }
        }
        Ok(self.world.tick())
    }

    /// The world of keyframe `i`, from the cache when it holds that keyframe.
    fn keyframe_world(&mut self, i: usize) -> Result<World, SeekError> {
        let tick = self.keyframes[i].tick;
        if let Some((t, w)) = &self.cache {
            if *t == tick {
                return Ok(w.clone());
            }
        }
        let world = restore_keyframe(&self.header.config, tick, &self.keyframes[i].bytes).map_err(
            |message| SeekError::Replay {
                tick,
                message: format!("keyframe: {message}"),
            },
        )?;
        self.cache = Some((tick, world.clone()));
        Ok(world)
    }
}
