//! Session logs end to end: round trips, verification, corruption at every byte,
//! truncation at every offset, hostile headers, and crash recovery.

use std::io::Cursor;
use venture_replay::{
    read_from, record_scripted, verify, Failure, HeaderError, ReadError, Record, RecordError,
    ScriptedSession, SessionHeader, SessionReader, SessionWriter, StateSection, Tail,
    MAX_RECORD_BYTES,
};
use venture_sim::script::scripted_frame;
use venture_sim::{SimConfig, World};

fn small_config() -> SimConfig {
    SimConfig {
        seed: 77,
        width: 40,
        height: 40,
        ..SimConfig::default()
    }
}

fn scripted(ticks: u64, snapshot_every: u64) -> Vec<u8> {
    record_scripted(
        Vec::new(),
        &ScriptedSession {
            config: small_config(),
            ticks,
            players: 3,
            script_seed: 5,
            snapshot_every,
        },
    )
    .expect("records")
}

fn run_verify(bytes: &[u8]) -> Result<venture_replay::VerifyReport, venture_replay::VerifyError> {
    let reader = SessionReader::new(Cursor::new(bytes))?;
    verify(reader, |_, _| {})
}

/// Start offset and length of every record, walking the framing by hand.
fn record_spans(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut at = 10;
    let header_len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    at += 8 + header_len;
    let mut spans = Vec::new();
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        spans.push((at, 8 + len));
        at += 8 + len;
    }
    spans
}

#[test]
fn round_trip_of_a_scripted_session() {
    let bytes = scripted(200, 50);
    let session = read_from(Cursor::new(&bytes)).expect("reads");
    assert_eq!(session.header.config, small_config());
    assert_eq!(session.header.start_tick, 0);
    assert_eq!(session.frames.len(), 200);
    assert_eq!(session.snapshots.len(), 4);
    assert_eq!(session.end.as_deref(), Some("scripted session complete"));
    assert_eq!(session.tail, Tail::Clean);
    assert_eq!(session.valid_len, bytes.len() as u64);
    let mut world = World::new(&small_config()).unwrap();
    for (i, (frame, checksum)) in session.frames.iter().enumerate() {
        assert_eq!(frame, &scripted_frame(5, i as u64 + 1, 3));
        world.step(frame).unwrap();
        assert_eq!(world.checksum(), *checksum);
    }
    assert_eq!(session.snapshots[3].tick, 200);
    assert_eq!(session.snapshots[3].bytes, world.snapshot());
}

#[test]
fn verify_passes_a_good_session() {
    let bytes = scripted(300, 100);
    let mut calls = 0;
    let report = verify(SessionReader::new(Cursor::new(&bytes)).unwrap(), |_, _| {
        calls += 1
    })
    .unwrap();
    assert!(report.passed(), "{:?}", report.failure);
    assert_eq!(report.ticks_verified, 300);
    assert_eq!(report.last_tick, 300);
    assert_eq!(report.snapshots_checked, 3);
    assert_eq!(report.game_time(), std::time::Duration::from_secs(15));
    assert_eq!(report.tail, Some(Tail::Clean));
    assert!(report.end.is_some());
    assert!(calls >= 1);
}

#[test]
fn flipping_any_byte_of_a_frame_record_fails_at_its_tick() {
    let bytes = scripted(30, 10);
    let spans = record_spans(&bytes);
    let mut frame_index = 0u64;
    for (start, len) in spans {
        let body = &bytes[start + 8..start + len];
        let is_frame = body[0] == 0; // variant index 0: Frame
        if !is_frame {
            continue;
        }
        frame_index += 1;
        // Every byte of the body, and of the crc; a length byte changes the framing.
        for at in start + 4..start + len {
            for mask in [0x01u8, 0x80] {
                let mut bad = bytes.clone();
                bad[at] ^= mask;
                let report = run_verify(&bad).expect("header intact");
                let failure = report
                    .failure
                    .unwrap_or_else(|| panic!("byte {at} of frame {frame_index} not caught"));
                assert_eq!(failure.tick(), frame_index, "byte {at}: {failure}");
                assert!(
                    matches!(
                        failure,
                        Failure::CorruptRecord {
                            error: RecordError::Checksum { .. },
                            ..
                        }
                    ),
                    "{failure:?}"
                );
                assert_eq!(report.ticks_verified, frame_index - 1);
            }
        }
    }
    assert_eq!(frame_index, 30);
}

#[test]
fn truncation_at_every_offset_verifies_the_complete_prefix() {
    // One keyframe (at tick 25) keeps this debug-build test quick.
    let bytes = scripted(30, 25);
    let spans = record_spans(&bytes);
    let header_end = spans[0].0;
    for cut in 0..=bytes.len() {
        let prefix = &bytes[..cut];
        match run_verify(prefix) {
            Err(venture_replay::VerifyError::Read(ReadError::Header(e))) => {
                assert!(cut < header_end, "cut {cut}: {e}");
                assert!(matches!(e, HeaderError::Truncated(_)), "cut {cut}: {e}");
            }
            Err(e) => panic!("cut {cut}: {e}"),
            Ok(report) => {
                assert!(cut >= header_end);
                assert!(report.passed(), "cut {cut}: {:?}", report.failure);
                // Frames whose records end at or before the cut are all verified.
                let complete: Vec<_> = spans.iter().filter(|(s, l)| s + l <= cut).collect();
                let frames = complete.iter().filter(|(s, _)| bytes[s + 8] == 0).count() as u64;
                assert_eq!(report.ticks_verified, frames, "cut {cut}");
                let boundary = complete.last().map_or(header_end, |(s, l)| s + l);
                let tail = report.tail.unwrap();
                if boundary == cut {
                    assert_eq!(tail, Tail::Clean, "cut {cut}");
                } else {
                    assert_eq!(
                        tail,
                        Tail::Torn {
                            offset: boundary as u64,
                            bytes: (cut - boundary) as u64
                        },
                        "cut {cut}"
                    );
                }
            }
        }
    }
}

#[test]
fn garbage_files_are_typed_errors() {
    let cases: Vec<Vec<u8>> = vec![
        vec![],
        b"hello world, this is not a log".to_vec(),
        vec![0; 100],
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761u32) >> 24) as u8)
            .collect(),
    ];
    for bytes in cases {
        match SessionReader::new(Cursor::new(&bytes)) {
            Err(ReadError::Header(HeaderError::BadMagic | HeaderError::Truncated(_))) => {}
            Err(e) => panic!("unexpected {e}"),
            Ok(_) => panic!("garbage accepted"),
        }
    }
    // Wrong versions.
    let good = scripted(3, 0);
    let mut v = good.clone();
    v[4] = 9;
    assert!(matches!(
        SessionReader::new(Cursor::new(&v)),
        Err(ReadError::Header(HeaderError::Format { found: 9 }))
    ));
    let mut v = good.clone();
    v[6] = 200;
    assert!(matches!(
        SessionReader::new(Cursor::new(&v)),
        Err(ReadError::Header(HeaderError::SimVersion { .. }))
    ));
    // Any flipped header byte is caught.
    let header_end = record_spans(&good)[0].0;
    for at in 0..header_end {
        let mut v = good.clone();
        v[at] ^= 0x10;
        assert!(
            SessionReader::new(Cursor::new(&v)).is_err(),
            "header byte {at} flip accepted"
        );
    }
}

#[test]
fn huge_declared_lengths_do_not_allocate() {
    let good = scripted(3, 0);
    // Header length u32::MAX: over the limit.
    let mut v = good.clone();
    v[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        SessionReader::new(Cursor::new(&v)),
        Err(ReadError::Header(HeaderError::TooLarge(_)))
    ));
    // Header length just under the limit but the file is short: truncated, no 32 MiB buffer.
    let mut v = good[..14].to_vec();
    v[10..14].copy_from_slice(&(30u32 << 20).to_le_bytes());
    assert!(matches!(
        SessionReader::new(Cursor::new(&v)),
        Err(ReadError::Header(HeaderError::Truncated(_)))
    ));
    // A record declaring 4 GiB is corrupt; one declaring just under the limit is torn.
    let first = record_spans(&good)[0].0;
    let mut v = good.clone();
    v[first..first + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let report = run_verify(&v).unwrap();
    assert!(matches!(
        report.failure,
        Some(Failure::CorruptRecord {
            error: RecordError::TooLarge { .. },
            after_tick: 0,
            ..
        })
    ));
    let mut v = good.clone();
    v[first..first + 4].copy_from_slice(&(MAX_RECORD_BYTES as u32).to_le_bytes());
    let report = run_verify(&v).unwrap();
    assert!(matches!(report.tail, Some(Tail::Torn { .. })));
    assert_eq!(report.ticks_verified, 0);
}

#[test]
fn recorded_divergence_names_tick_and_section() {
    let config = small_config();
    let mut world = World::new(&config).unwrap();
    let mut other = World::new(&config).unwrap();
    let header = SessionHeader::new(config.clone(), "test");
    let mut w = SessionWriter::new(Vec::new(), &header).unwrap();
    for tick in 1..=40 {
        let frame = scripted_frame(5, tick, 2);
        world.step(&frame).unwrap();
        // The "recording" world got a different input for slot 1 at tick 17.
        let mut theirs = frame.clone();
        if tick == 17 {
            theirs.inputs[1].move_x = theirs.inputs[1].move_x.wrapping_add(64);
        }
        other.step(&theirs).unwrap();
        w.append_frame(&frame, other.checksum()).unwrap();
        if tick % 20 == 0 {
            w.append_snapshot(tick, &other.snapshot()).unwrap();
        }
    }
    let bytes = w.finish("done").unwrap();
    let report = run_verify(&bytes).unwrap();
    let Some(Failure::Divergence(d)) = report.failure else {
        panic!("{:?}", report.failure)
    };
    assert_eq!(d.tick, 17);
    assert_eq!(report.ticks_verified, 16);
    let diff = d.diff.expect("keyframe at 20 compared");
    assert_eq!(diff.tick, 20);
    assert!(diff.first_differing_byte.is_some());
    assert_eq!(
        diff.sections,
        vec![StateSection::Players { slots: vec![1] }]
    );
}

#[test]
fn writer_enforces_sequence() {
    let header = SessionHeader::new(small_config(), "test");
    let mut w = SessionWriter::new(Vec::new(), &header).unwrap();
    assert!(w.append_frame(&scripted_frame(1, 2, 1), 0).is_err());
    w.append_frame(&scripted_frame(1, 1, 1), 0).unwrap();
    assert!(w.append_snapshot(2, &[]).is_err());
    assert!(w.append_frame(&scripted_frame(1, 1, 1), 0).is_err());
    let bad = SessionHeader {
        start_tick: 5,
        ..header
    };
    assert!(SessionWriter::new(Vec::new(), &bad).is_err());
}

#[test]
fn session_from_a_saved_world() {
    let config = small_config();
    let mut world = World::new(&config).unwrap();
    for tick in 1..=25 {
        world.step(&scripted_frame(3, tick, 2)).unwrap();
    }
    let header = SessionHeader::from_world(&world, "resumed");
    let mut w = SessionWriter::new(Vec::new(), &header).unwrap();
    for tick in 26..=60 {
        let f = scripted_frame(3, tick, 2);
        world.step(&f).unwrap();
        w.append_frame(&f, world.checksum()).unwrap();
    }
    let bytes = w.finish("done").unwrap();
    let report = run_verify(&bytes).unwrap();
    assert!(report.passed(), "{:?}", report.failure);
    assert_eq!(report.start_tick, 25);
    assert_eq!(report.ticks_verified, 35);
    let replayed =
        venture_replay::replay_to(SessionReader::new(Cursor::new(&bytes)).unwrap(), 40, true)
            .unwrap();
    assert_eq!(replayed.world.tick(), 40);
    assert_eq!(replayed.recorded_checksum, Some(replayed.world.checksum()));
}

#[test]
fn replay_to_uses_keyframes_and_matches_straight_simulation() {
    let bytes = scripted(120, 50);
    for (tick, keyframes) in [
        (0, true),
        (49, true),
        (50, true),
        (77, true),
        (77, false),
        (120, true),
    ] {
        let r = venture_replay::replay_to(
            SessionReader::new(Cursor::new(&bytes)).unwrap(),
            tick,
            keyframes,
        )
        .unwrap();
        let mut world = World::new(&small_config()).unwrap();
        for t in 1..=tick {
            world.step(&scripted_frame(5, t, 3)).unwrap();
        }
        assert_eq!(r.world, world, "tick {tick}");
        assert_eq!(r.first_mismatch, None);
        let expected_keyframe = if keyframes && tick >= 50 {
            Some(tick / 50 * 50)
        } else {
            None
        };
        assert_eq!(r.keyframe, expected_keyframe, "tick {tick}");
    }
    assert!(
        venture_replay::replay_to(SessionReader::new(Cursor::new(&bytes)).unwrap(), 121, true)
            .is_err()
    );
}

#[test]
fn open_append_after_a_torn_tail_continues_the_log() {
    let dir = venture_testkit::Scratch::new("replay-torn");
    let path = dir.join("torn.vrpl");
    let config = small_config();
    let mut world = World::new(&config).unwrap();
    let mut w = SessionWriter::create(&path, &SessionHeader::new(config.clone(), "test")).unwrap();
    for tick in 1..=20 {
        let f = scripted_frame(9, tick, 2);
        world.step(&f).unwrap();
        w.append_frame(&f, world.checksum()).unwrap();
    }
    w.sync().unwrap();
    drop(w);
    // A crash mid-record: cut 3 bytes off the last frame.
    let len = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len - 3).unwrap();
    drop(file);

    let (mut w, rec) = SessionWriter::open_append(&path).unwrap();
    assert_eq!(rec.frames, 19);
    assert_eq!(rec.last_tick, 19);
    assert!(rec.truncated_bytes > 0);
    let mut world = World::new(&config).unwrap();
    for tick in 1..=19 {
        world.step(&scripted_frame(9, tick, 2)).unwrap();
    }
    assert_eq!(rec.last_checksum, Some(world.checksum()));
    for tick in 20..=30 {
        let f = scripted_frame(9, tick, 2);
        world.step(&f).unwrap();
        w.append_frame(&f, world.checksum()).unwrap();
    }
    w.append_snapshot(30, &world.snapshot()).unwrap();
    w.sync().unwrap();
    drop(w);

    // Clean log without End: open_append again is a no-op recovery.
    let (w, rec) = SessionWriter::open_append(&path).unwrap();
    assert_eq!((rec.frames, rec.truncated_bytes), (30, 0));
    assert_eq!(rec.last_snapshot_tick, Some(30));
    w.finish("done").unwrap();

    let report = verify(SessionReader::open(&path).unwrap(), |_, _| {}).unwrap();
    assert!(report.passed(), "{:?}", report.failure);
    assert_eq!(report.ticks_verified, 30);
    assert_eq!(report.snapshots_checked, 1);
    assert_eq!(report.end.as_deref(), Some("done"));
    // A finished log is not reopened.
    assert!(matches!(
        SessionWriter::open_append(&path),
        Err(venture_replay::RecoverError::AlreadyEnded { .. })
    ));
}

#[test]
fn records_iterate() {
    let bytes = scripted(5, 0);
    let reader = SessionReader::new(Cursor::new(&bytes)).unwrap();
    let records: Vec<Record> = reader.map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 6);
    assert!(matches!(records[5], Record::End { .. }));
}

#[test]
fn zero_filled_tail_is_torn_but_zeros_mid_file_are_corrupt() {
    let bytes = scripted(10, 0);
    let spans = record_spans(&bytes);
    // Drop the End record and append zeros, as a crash after the size was committed
    // but before the data was.
    let (end_at, _) = *spans.last().unwrap();
    let mut v = bytes[..end_at].to_vec();
    v.extend_from_slice(&[0u8; 5000]);
    let report = run_verify(&v).unwrap();
    assert!(report.passed(), "{:?}", report.failure);
    assert_eq!(report.ticks_verified, 10);
    assert_eq!(
        report.tail,
        Some(Tail::Torn {
            offset: end_at as u64,
            bytes: 5000
        })
    );
    // Zeros over part of a record (the rest of the file zero too) are torn as well only
    // if they start at the record; here they start inside frame 10, whose crc then fails.
    let (f10, _) = spans[spans.len() - 2];
    let mut v = bytes[..f10 + 12].to_vec();
    v.extend_from_slice(&[0u8; 100]);
    let report = run_verify(&v).unwrap();
    assert_eq!(report.failure.map(|f| f.tick()), Some(10));
    // Zeros in the middle, followed by real records, are corruption.
    let (f5, l5) = spans[4];
    let mut v = bytes.clone();
    v[f5..f5 + l5].fill(0);
    let report = run_verify(&v).unwrap();
    assert_eq!(report.failure.map(|f| f.tick()), Some(5));
}

#[test]
fn random_mutations_never_panic() {
    let bytes = scripted(20, 10);
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let (mut failed, mut passed) = (0, 0);
    for _ in 0..300 {
        let mut v = bytes.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % v.len() as u64) as usize;
            v[at] = next() as u8;
        }
        if next() % 4 == 0 {
            v.truncate((next() % v.len() as u64) as usize);
        }
        match SessionReader::new(Cursor::new(&v)) {
            Err(_) => failed += 1,
            Ok(reader) => match verify(reader, |_, _| {}) {
                Err(_) => failed += 1,
                Ok(r) if r.passed() => passed += 1,
                Ok(_) => failed += 1,
            },
        }
        if let Ok(reader) = SessionReader::new(Cursor::new(&v)) {
            let _ = venture_replay::replay_to(reader, 15, true);
        }
    }
    assert!(failed > 200, "{failed} failed, {passed} passed");
}

#[test]
fn bad_starting_snapshot_is_a_start_error() {
    let config = small_config();
    let mut world = World::new(&config).unwrap();
    world.step(&scripted_frame(1, 1, 1)).unwrap();
    let mut header = SessionHeader::from_world(&world, "test");
    header.start_snapshot = Some(b"VSNP not really".to_vec());
    let bytes = SessionWriter::new(Vec::new(), &header)
        .unwrap()
        .finish("x")
        .unwrap();
    assert!(matches!(
        run_verify(&bytes),
        Err(venture_replay::VerifyError::Start(_))
    ));
    // A real snapshot whose tick disagrees with the header.
    let mut header = SessionHeader::from_world(&world, "test");
    header.start_tick = 7;
    let bytes = SessionWriter::new(Vec::new(), &header)
        .unwrap()
        .finish("x")
        .unwrap();
    assert!(matches!(
        run_verify(&bytes),
        Err(venture_replay::VerifyError::Start(_))
    ));
}
