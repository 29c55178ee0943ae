//! Format 2's segment records end to end: clean stops, resumes after a stop and after a
//! crash, gaps bridged by a keyframe, records out of place, format-1 logs read and
//! relabelled, and a writer continued from a checkpoint after a failed write.

use std::io::{Cursor, Write};
use venture_replay::{
    read_from, replay_to, verify, Failure, RecordError, ReplayError, SegmentEnd, SessionHeader,
    SessionReader, SessionWriter, Tail,
};
use venture_sim::script::scripted_frame;
use venture_sim::{SimConfig, World};

fn config() -> SimConfig {
    SimConfig {
        seed: 31,
        width: 40,
        height: 40,
        ..SimConfig::default()
    }
}

/// Steps `world` through ticks `from..=to` of the script, appending each frame.
fn play(w: &mut SessionWriter<impl Write>, world: &mut World, from: u64, to: u64) {
    for tick in from..=to {
        let frame = scripted_frame(9, tick, 2);
        world.step(&frame).expect("steps");
        w.append_frame(&frame, world.checksum()).expect("appends");
    }
}

fn report_of(bytes: &[u8]) -> venture_replay::VerifyReport {
    verify(
        SessionReader::new(Cursor::new(bytes)).expect("header"),
        |_, _| {},
    )
    .expect("verifies")
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("venture-segments-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

#[test]
fn clean_stop_crash_and_resume_are_told_apart() {
    let path = temp_path("segments.vrpl");
    let mut world = World::new(&config()).expect("world");
    let mut w = SessionWriter::create(&path, &SessionHeader::new(config(), "first")).unwrap();
    play(&mut w, &mut world, 1, 10);
    w.stop("SIGTERM").expect("stops");

    // A second process resumes after the clean stop, then dies without stopping.
    let (mut w, rec) = SessionWriter::open_append(&path).expect("reopens");
    assert_eq!(rec.stopped, Some((10, "SIGTERM".to_string())));
    assert_eq!(rec.last_tick, 10);
    w.append_resume("second").unwrap();
    play(&mut w, &mut world, 11, 20);
    w.sync().unwrap();
    drop(w);

    // A third resumes after that crash and is still running.
    let (mut w, rec) = SessionWriter::open_append(&path).expect("reopens");
    assert_eq!(rec.stopped, None, "the second process never stopped");
    assert_eq!(rec.segments, 2);
    w.append_resume("third").unwrap();
    play(&mut w, &mut world, 21, 30);
    w.sync().unwrap();
    drop(w);

    let bytes = std::fs::read(&path).unwrap();
    let report = report_of(&bytes);
    assert!(report.passed(), "{:?}", report.failure);
    assert_eq!(report.ticks_verified, 30);
    let ends: Vec<_> = report
        .segments
        .iter()
        .map(|s| (s.start_tick, s.end_tick, s.end.clone(), s.recorder.as_str()))
        .collect();
    assert_eq!(
        ends,
        vec![
            (
                0,
                10,
                SegmentEnd::Stopped {
                    reason: "SIGTERM".into()
                },
                "first"
            ),
            (10, 20, SegmentEnd::Crashed, "second"),
            (20, 30, SegmentEnd::Open, "third"),
        ]
    );
    assert_eq!(report.clean_stop(), None);
    let text = report.segments[1].to_string();
    assert!(text.contains("crashed after tick 20"), "{text}");

    // Stopping the third cleanly makes the log end in a clean stop at its tick.
    let (w, _) = SessionWriter::open_append(&path).expect("reopens");
    w.stop("SIGINT").unwrap();
    let report = report_of(&std::fs::read(&path).unwrap());
    assert_eq!(
        report.segments.len(),
        3,
        "a stop without a resume adds none"
    );
    assert_eq!(report.clean_stop(), Some(30));
    let session = read_from(Cursor::new(std::fs::read(&path).unwrap())).unwrap();
    assert_eq!(session.stops.len(), 2);
    assert_eq!(session.resumes.len(), 2);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_gap_is_bridged_by_its_keyframe_and_reported() {
    let mut world = World::new(&config()).expect("world");
    let mut w = SessionWriter::new(Vec::new(), &SessionHeader::new(config(), "t")).unwrap();
    play(&mut w, &mut world, 1, 10);
    // Ticks 11..=15 happen but are never written.
    for tick in 11..=15 {
        world.step(&scripted_frame(9, tick, 2)).unwrap();
    }
    w.append_gap(15, &world.snapshot()).unwrap();
    play(&mut w, &mut world, 16, 25);
    let bytes = w.finish("done").unwrap();
    let report = report_of(&bytes);
    assert!(report.passed(), "{:?}", report.failure);
    assert_eq!(report.ticks_verified, 20);
    assert_eq!(report.last_tick, 25);
    assert_eq!(report.segments[0].gaps, vec![(11, 15)]);

    let reader = || SessionReader::new(Cursor::new(&bytes)).unwrap();
    match replay_to(reader(), 13, true) {
        Err(ReplayError::InGap { tick, from, to }) => assert_eq!((tick, from, to), (13, 11, 15)),
        other => panic!("expected InGap, got {other:?}"),
    }
    for use_keyframes in [true, false] {
        let r = replay_to(reader(), 20, use_keyframes).expect("replays");
        assert_eq!(r.keyframe, Some(15));
        assert!(r.first_mismatch.is_none());
        assert_eq!(r.recorded_checksum, Some(r.world.checksum()));
    }
    let r = replay_to(reader(), 8, true).expect("before the gap");
    assert_eq!(r.world.tick(), 8);

    // A gap keyframe of another world is refused.
    let mut other = World::new(&SimConfig {
        seed: 32,
        ..config()
    })
    .unwrap();
    for tick in 1..=12 {
        other.step(&scripted_frame(9, tick, 2)).unwrap();
    }
    let mut world = World::new(&config()).expect("world");
    let mut w = SessionWriter::new(Vec::new(), &SessionHeader::new(config(), "t")).unwrap();
    play(&mut w, &mut world, 1, 5);
    w.append_gap(12, &other.snapshot()).unwrap();
    let report = report_of(&w.finish("done").unwrap());
    match report.failure {
        Some(Failure::BadRecord {
            tick: 12, message, ..
        }) => {
            assert!(message.contains("another world"), "{message}")
        }
        other => panic!("expected a bad gap, got {other:?}"),
    }
}

#[test]
fn records_out_of_place_fail_at_their_tick() {
    // A log that stops cleanly at tick 5, then has a frame record without a resume.
    let path = temp_path("out-of-place.vrpl");
    let mut world = World::new(&config()).expect("world");
    let mut w = SessionWriter::create(&path, &SessionHeader::new(config(), "t")).unwrap();
    play(&mut w, &mut world, 1, 5);
    w.stop("SIGTERM").unwrap();
    let stopped_len = std::fs::metadata(&path).unwrap().len();
    // The frame record for tick 6, encoded by a writer of another log at tick 5.
    let mut other =
        SessionWriter::new(Vec::new(), &SessionHeader::from_world(&world, "t")).unwrap();
    let before = other.len() as usize;
    let frame = scripted_frame(9, 6, 2);
    world.step(&frame).unwrap();
    other.append_frame(&frame, world.checksum()).unwrap();
    other.flush().unwrap();
    let frame_record = other.get_ref()[before..].to_vec();
    let mut log = std::fs::read(&path).unwrap();
    assert_eq!(log.len() as u64, stopped_len);
    log.extend_from_slice(&frame_record);
    let report = report_of(&log);
    match &report.failure {
        Some(Failure::BadRecord {
            tick: 5, message, ..
        }) => {
            assert!(message.contains("after the clean stop"), "{message}")
        }
        other => panic!("expected a frame after a stop to fail, got {other:?}"),
    }
    // And the writer refuses to continue such a log.
    std::fs::write(&path, &log).unwrap();
    assert!(SessionWriter::open_append(&path).is_err());
    let _ = std::fs::remove_file(&path);
}

#[test]
fn format_one_logs_are_read_and_relabelled_on_append() {
    let path = temp_path("v1.vrpl");
    let mut world = World::new(&config()).expect("world");
    let mut w = SessionWriter::create(&path, &SessionHeader::new(config(), "old")).unwrap();
    play(&mut w, &mut world, 1, 10);
    w.sync().unwrap();
    drop(w);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[4..6].copy_from_slice(&1u16.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let reader = SessionReader::new(Cursor::new(&bytes)).expect("format 1 is read");
    assert_eq!(reader.format_version(), 1);
    assert!(report_of(&bytes).passed());

    let (mut w, rec) = SessionWriter::open_append(&path).expect("continues a v1 log");
    assert_eq!(rec.format, 1);
    w.append_resume("new").unwrap();
    play(&mut w, &mut world, 11, 12);
    w.stop("SIGTERM").unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 2, "relabelled");
    let report = report_of(&bytes);
    assert!(report.passed(), "{:?}", report.failure);
    assert_eq!(report.clean_stop(), Some(12));

    // A format-1 label over a format-2 record: that record is corrupt.
    let mut mislabelled = bytes.clone();
    mislabelled[4..6].copy_from_slice(&1u16.to_le_bytes());
    let session = read_from(Cursor::new(&mislabelled)).unwrap();
    assert!(matches!(
        session.tail,
        Tail::Corrupt {
            error: RecordError::NotInFormat { kind: "resume", .. },
            ..
        }
    ));
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_writer_continues_from_a_checkpoint_after_a_failed_write() {
    let path = temp_path("checkpoint.vrpl");
    let mut world = World::new(&config()).expect("world");
    let mut w = SessionWriter::create(&path, &SessionHeader::new(config(), "t")).unwrap();
    play(&mut w, &mut world, 1, 10);
    w.flush().unwrap();
    let cp = w.checkpoint();
    assert_eq!((cp.last_tick, cp.frames), (10, 10));
    // What a failed write leaves: part of a record past the checkpoint.
    let mut file = w.abandon();
    file.write_all(&[7, 0, 0, 0, 1, 2]).unwrap();
    drop(file);
    let mut w = SessionWriter::reopen_at(&path, cp).expect("reopens");
    play(&mut w, &mut world, 11, 15);
    w.append_snapshot(15, &world.snapshot()).unwrap();
    w.stop("SIGTERM").unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let report = report_of(&bytes);
    assert!(report.passed(), "{:?}", report.failure);
    assert_eq!(report.ticks_verified, 15);
    assert_eq!(report.snapshots_checked, 1);
    assert_eq!(report.tail, Some(Tail::Clean));
    // A checkpoint past the file's end is refused, not trusted.
    let beyond = venture_replay::Checkpoint {
        len: bytes.len() as u64 + 100,
        ..cp
    };
    assert!(SessionWriter::reopen_at(&path, beyond).is_err());
    let kinds: Vec<&str> = SessionReader::new(Cursor::new(&bytes))
        .unwrap()
        .map(|r| r.map(|r| r.kind()).unwrap_or("error"))
        .filter(|k| *k != "frame")
        .collect();
    assert_eq!(kinds, vec!["keyframe", "stop"]);
    let _ = std::fs::remove_file(&path);
}
