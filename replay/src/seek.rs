//! Seeking: the world at one tick of a log, re-simulated from the session's start, from
//! the nearest keyframe, or from a world the caller already has (the viewer's jumps, the
//! `replay`/`diff` commands, the server's crash recovery). Keyframes are trusted here:
//! [`crate::verify()`] is what checks them.

use crate::format::Record;
use crate::reader::SessionReader;
use crate::resim::{restore_keyframe, step_and_compare, Stepped};
use crate::verify::{start_world, VerifyError};
use std::io::Read;
use venture_sim::{Frame, World};

/// Why [`replay_to`] could not produce the world.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error("tick {tick} is not in the log (it covers ticks {first} to {last})")]
    TickNotInLog { tick: u64, first: u64, last: u64 },
    #[error("frame for tick {tick} cannot be applied: {message}")]
    BadFrame { tick: u64, message: String },
    #[error("tick {tick} is in a gap of the log (frames {from} to {to} were never written)")]
    InGap { tick: u64, from: u64, to: u64 },
}

/// The world at a tick, and how it relates to the log.
#[derive(Clone, Debug)]
pub struct ReplayedWorld {
    pub world: World,
    /// The checksum the log records for this tick (`None` for the start tick or a tick
    /// reached through a keyframe).
    pub recorded_checksum: Option<u32>,
    /// The first checksum mismatch met on the way (tick, expected, actual).
    pub first_mismatch: Option<(u64, u32, u32)>,
    /// The keyframe the re-simulation started from, if any.
    pub keyframe: Option<u64>,
}

/// Re-simulates to `tick`. With `use_keyframes`, starts from the latest keyframe at or
/// before `tick` that restores (keyframes are trusted: run [`verify`] to check them);
/// otherwise from the session's start. Gap keyframes are always used: the frames before
/// them were never written.
pub fn replay_to<R: Read>(
    reader: SessionReader<R>,
    tick: u64,
    use_keyframes: bool,
) -> Result<ReplayedWorld, ReplayError> {
    let base = start_world(reader.header())?;
    replay_from(reader, base, None, tick, use_keyframes)
}

/// [`replay_to`] from a world the caller already has (`base`, e.g. a saved snapshot of the
/// same session, at or before `tick`; `base_keyframe` names it): frames at or before its
/// tick are skipped, and with `use_keyframes` a later keyframe at or before `tick`
/// replaces it.
pub fn replay_from<R: Read>(
    mut reader: SessionReader<R>,
    mut base: World,
    base_keyframe: Option<u64>,
    tick: u64,
    use_keyframes: bool,
) -> Result<ReplayedWorld, ReplayError> {
    let config = reader.header().config.clone();
    let first = reader.header().start_tick;
    let mut keyframe = base_keyframe;
    let mut frames: Vec<(Frame, u32)> = Vec::new();
    let mut last = first;
    let mut target_checksum = None;
    while let Some(record) = reader.next_record().map_err(VerifyError::from)? {
        match record {
            Record::Frame { frame, checksum } => {
                last = frame.tick;
                if frame.tick > tick {
                    break;
                }
                if frame.tick <= base.tick() {
                    continue;
                }
                if frame.tick == tick {
                    target_checksum = Some(checksum);
                }
                frames.push((frame, checksum));
            }
            Record::Snapshot { tick: at, bytes }
                if use_keyframes && at <= tick && at >= base.tick() =>
            {
                if let Ok(world) = restore_keyframe(&config, at, &bytes) {
                    base = world;
                    keyframe = Some(at);
                    frames.retain(|(f, _)| f.tick > at);
                }
            }
            Record::Gap { tick: at, bytes } => {
                let from = base.tick().max(frames.last().map_or(0, |(f, _)| f.tick)) + 1;
                if at > tick && from <= tick {
                    return Err(ReplayError::InGap { tick, from, to: at });
                }
                if at > tick {
                    break;
                }
                last = at;
                if at > base.tick() {
                    base = restore_keyframe(&config, at, &bytes).map_err(|message| {
                        ReplayError::BadFrame {
                            tick: at,
                            message: format!("gap keyframe: {message}"),
                        }
                    })?;
                    keyframe = Some(at);
                    frames.clear();
                    target_checksum = None;
                }
            }
            Record::Snapshot { .. } | Record::Stop { .. } | Record::Resume { .. } => {}
            Record::End { .. } => break,
        }
    }
    let last = last.max(base.tick());
    if tick < first || tick > last || tick < base.tick() {
        return Err(ReplayError::TickNotInLog { tick, first, last });
    }
    let mut first_mismatch = None;
    for (frame, checksum) in &frames {
        let stepped =
            step_and_compare(&mut base, frame, *checksum).map_err(|e| ReplayError::BadFrame {
                tick: frame.tick,
                message: e.to_string(),
            })?;
        if let (Stepped::Mismatch { expected, actual }, None) = (stepped, first_mismatch) {
            first_mismatch = Some((frame.tick, expected, actual));
        }
    }
    if base.tick() != tick {
        return Err(ReplayError::TickNotInLog {
            tick,
            first,
            last: base.tick(),
        });
    }
    Ok(ReplayedWorld {
        world: base,
        recorded_checksum: target_checksum,
        first_mismatch,
        keyframe,
    })
}
