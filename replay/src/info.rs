//! What a session log holds, read in one streaming pass (`venture-replay info`): its
//! configuration, frames and keyframes, who joined and left when, and each segment (one
//! recording process) with how it ended and the frames a write failure left out. Nothing
//! is re-simulated; a long log never has to fit in memory.

use std::io::Read;
use std::time::Duration;

use serde::Serialize;
use venture_sim::{Command, SIM_VERSION};

use crate::{ticks_to_duration, ReadError, Record, SessionReader, Tail};

/// A summary of one log. Serialised as-is by `venture-replay info --json` (the field
/// order is that output's order).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Info {
    pub file: String,
    pub size_bytes: u64,
    pub format_version: u16,
    pub sim_version: u32,
    pub recorder: String,
    pub seed: u64,
    pub genre: &'static str,
    pub depth: u32,
    pub difficulty_permille: u32,
    pub width: u16,
    pub height: u16,
    pub tick_rate: u32,
    pub max_players: u8,
    pub start_tick: u64,
    pub start_snapshot_bytes: Option<usize>,
    pub frames: u64,
    pub first_tick: Option<u64>,
    pub last_tick: u64,
    pub duration_secs: f64,
    pub keyframes: usize,
    pub joins: Vec<PlayerEvent>,
    pub leaves: Vec<PlayerEvent>,
    /// The `End` record's reason (client and scripted recordings; a server's log has none).
    pub end: Option<String>,
    pub segments: Vec<SegmentInfo>,
    pub tail: String,
}

impl Info {
    /// Game time the frames cover at the log's tick rate.
    pub fn duration(&self) -> Duration {
        ticks_to_duration(self.frames, self.tick_rate)
    }
}

/// A player joining (with its name) or leaving (without).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlayerEvent {
    pub tick: u64,
    pub slot: u8,
    pub name: Option<String>,
}

/// How a segment ended, serialised in lower case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SegmentClose {
    /// A `Stop` record: a clean stop.
    Stopped,
    /// A `Resume` without a `Stop` before it: the process died after its last frame.
    Crashed,
    /// An `End` record: the session is over for good.
    Ended,
    /// The log just ends: still recording, or the process died and nothing resumed it.
    Open,
}

/// One recording process's part of a log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SegmentInfo {
    pub start_tick: u64,
    pub end_tick: u64,
    pub recorder: String,
    pub end: SegmentClose,
    /// The `Stop` or `End` record's reason.
    pub reason: Option<String>,
    pub frames: u64,
    pub keyframes: usize,
    /// Unwritten frames bridged by a gap keyframe: [first, last] tick.
    pub gaps: Vec<(u64, u64)>,
}

impl SegmentInfo {
    fn new(start_tick: u64, recorder: String) -> Self {
        SegmentInfo {
            start_tick,
            end_tick: start_tick,
            recorder,
            end: SegmentClose::Open,
            reason: None,
            frames: 0,
            keyframes: 0,
            gaps: Vec::new(),
        }
    }
}

/// Reads every record of `reader` (whose header it has read) into an [`Info`]; `file` is
/// what the summary calls the log. A damaged tail is reported in [`Info::tail`], not as an
/// error; only an I/O error is one.
pub fn info<R: Read>(file: &str, mut reader: SessionReader<R>) -> Result<Info, ReadError> {
    let size = reader.len_hint().unwrap_or(0);
    let h = reader.header().clone();
    let mut joins = Vec::new();
    let mut leaves = Vec::new();
    let (mut frames, mut first_tick, mut last_tick) = (0u64, None, h.start_tick);
    let (mut keyframes, mut end) = (0usize, None);
    let mut segments = Vec::new();
    let mut segment = SegmentInfo::new(h.start_tick, h.recorder.clone());
    while let Some(record) = reader.next_record()? {
        match record {
            Record::Frame { frame, .. } => {
                frames += 1;
                segment.frames += 1;
                segment.end_tick = frame.tick;
                first_tick.get_or_insert(frame.tick);
                last_tick = frame.tick;
                for c in &frame.commands {
                    match c {
                        Command::Join { slot, name } => joins.push(PlayerEvent {
                            tick: frame.tick,
                            slot: *slot,
                            name: Some(name.clone()),
                        }),
                        Command::Leave { slot } => leaves.push(PlayerEvent {
                            tick: frame.tick,
                            slot: *slot,
                            name: None,
                        }),
                        // Restores of saved characters follow their Join; chat is not
                        // about who played.
                        Command::Restore { .. }
                        | Command::GiveItem { .. }
                        | Command::Chat { .. } => {}
                    }
                }
            }
            Record::Snapshot { .. } => {
                keyframes += 1;
                segment.keyframes += 1;
            }
            Record::End { reason } => {
                segment.end = SegmentClose::Ended;
                segment.reason = Some(reason.clone());
                end = Some(reason);
            }
            Record::Stop { reason, .. } => {
                segment.end = SegmentClose::Stopped;
                segment.reason = Some(reason);
            }
            Record::Resume { tick, recorder } => {
                if segment.end == SegmentClose::Open {
                    segment.end = SegmentClose::Crashed;
                }
                let next = SegmentInfo::new(tick, recorder);
                segments.push(std::mem::replace(&mut segment, next));
            }
            Record::Gap { tick, .. } => {
                segment.gaps.push((segment.end_tick + 1, tick));
                segment.end_tick = tick;
                last_tick = tick;
            }
        }
    }
    segments.push(segment);
    let tail = reader.tail().cloned().unwrap_or(Tail::Clean);
    Ok(Info {
        file: file.to_owned(),
        size_bytes: size,
        format_version: reader.format_version(),
        sim_version: SIM_VERSION,
        recorder: h.recorder.clone(),
        seed: h.config.seed,
        genre: h.config.genre.id(),
        depth: h.config.depth,
        difficulty_permille: h.config.difficulty_permille,
        width: h.config.width,
        height: h.config.height,
        tick_rate: h.config.tick_rate,
        max_players: h.config.max_players,
        start_tick: h.start_tick,
        start_snapshot_bytes: h.start_snapshot.as_ref().map(Vec::len),
        frames,
        first_tick,
        last_tick,
        duration_secs: ticks_to_duration(frames, h.config.tick_rate).as_secs_f64(),
        keyframes,
        joins,
        leaves,
        end,
        segments,
        tail: tail.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SessionHeader, SessionWriter};
    use std::io::Cursor;
    use venture_sim::script::scripted_frame;
    use venture_sim::{Frame, SimConfig, World};

    fn step(w: &mut SessionWriter<Vec<u8>>, world: &mut World, frame: &Frame) {
        world.step(frame).expect("steps");
        w.append_frame(frame, world.checksum()).expect("appends");
    }

    /// A log with every kind of record: joins and a leave, a keyframe, a clean stop, a
    /// resume after it, a crash (a resume without a stop), a gap and an end.
    fn every_record() -> Vec<u8> {
        // A small map: the log's content is what is under test, not the world.
        let config = SimConfig {
            seed: 31,
            width: 40,
            height: 40,
            ..SimConfig::default()
        };
        let mut world = World::new(&config).expect("world");
        let mut w =
            SessionWriter::new(Vec::new(), &SessionHeader::new(config, "first")).expect("header");
        for tick in 1..=10 {
            let mut frame = scripted_frame(9, tick, 2);
            if tick == 7 {
                frame.commands.push(Command::Leave { slot: 1 });
            }
            step(&mut w, &mut world, &frame);
        }
        w.append_snapshot(10, &world.snapshot()).expect("keyframe");
        w.append_stop("SIGTERM").expect("stop");
        w.append_resume("second").expect("resume");
        for tick in 11..=15 {
            step(&mut w, &mut world, &scripted_frame(9, tick, 1));
        }
        w.append_resume("third").expect("resume after a crash");
        for tick in 16..=18 {
            world.step(&scripted_frame(9, tick, 1)).expect("steps");
        }
        w.append_gap(18, &world.snapshot()).expect("gap");
        for tick in 19..=20 {
            step(&mut w, &mut world, &scripted_frame(9, tick, 1));
        }
        w.finish("done").expect("finish")
    }

    #[test]
    fn every_record_is_summarised() {
        let bytes = every_record();
        let reader = SessionReader::new(Cursor::new(&bytes)).expect("header");
        let i = info("x.vrpl", reader).expect("reads");
        assert_eq!((i.file.as_str(), i.recorder.as_str()), ("x.vrpl", "first"));
        assert_eq!((i.seed, i.width, i.height), (31, 40, 40));
        assert_eq!(i.frames, 17, "ticks 16 to 18 were never written");
        assert_eq!((i.first_tick, i.last_tick), (Some(1), 20));
        assert_eq!(i.keyframes, 1, "the gap's keyframe is not counted as one");
        assert_eq!(i.duration(), ticks_to_duration(17, i.tick_rate));
        assert_eq!(i.joins.len(), 2);
        assert!(i.joins.iter().all(|j| j.tick == 1 && j.name.is_some()));
        assert_eq!(
            i.leaves,
            vec![PlayerEvent {
                tick: 7,
                slot: 1,
                name: None
            }]
        );
        assert_eq!(i.end.as_deref(), Some("done"));
        let ends: Vec<_> = i
            .segments
            .iter()
            .map(|s| (s.start_tick, s.end_tick, s.end, s.frames, s.keyframes))
            .collect();
        assert_eq!(
            ends,
            vec![
                (0, 10, SegmentClose::Stopped, 10, 1),
                (10, 15, SegmentClose::Crashed, 5, 0),
                (15, 20, SegmentClose::Ended, 2, 0),
            ]
        );
        assert_eq!(i.segments[0].reason.as_deref(), Some("SIGTERM"));
        assert_eq!(i.segments[2].gaps, vec![(16, 18)]);
        assert_eq!(i.tail, Tail::Clean.to_string());
    }

    #[test]
    fn a_torn_tail_is_reported_not_an_error() {
        let mut bytes = every_record();
        bytes.truncate(bytes.len() - 3);
        let reader = SessionReader::new(Cursor::new(&bytes)).expect("header");
        let i = info("torn", reader).expect("reads");
        assert_eq!(i.end, None, "the End record was torn off");
        assert_eq!(i.segments.last().map(|s| s.end), Some(SegmentClose::Open));
        assert_ne!(i.tail, Tail::Clean.to_string());
    }

    #[test]
    fn json_keeps_the_field_names_and_the_lower_case_ends() {
        let bytes = every_record();
        let reader = SessionReader::new(Cursor::new(&bytes)).expect("header");
        let json = serde_json::to_value(info("x", reader).expect("reads")).expect("json");
        assert_eq!(json["segments"][0]["end"], "stopped");
        assert_eq!(json["segments"][1]["end"], "crashed");
        assert_eq!(json["segments"][2]["end"], "ended");
        assert_eq!(json["segments"][2]["gaps"][0][0], 16);
        assert_eq!(json["leaves"][0]["name"], serde_json::Value::Null);
        assert_eq!(json["duration_secs"].as_f64().map(|d| d > 0.0), Some(true));
    }
}
