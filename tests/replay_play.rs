//! `venture-replay play`, the replay viewer: its screen on ratatui's `TestBackend` at
//! chosen ticks of a recorded scripted session; seeking (keyframes plus re-simulation)
//! reaching exactly the world that stepping straight from the start reaches; logs that
//! fail verification stopping before their first bad tick; and the real binary in tmux
//! (map and status line drawn, Space pauses, a seek lands, q quits and the terminal is
//! restored).

use std::io::Cursor;
use std::process::Command;
use std::time::Duration;

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use venture::tui::render::buffer_text;
use venture::viewer::{Halt, LoadError, Timeline, Viewer, MAX_LOG_BYTES};
use venture_replay::{
    record_scripted, Record, ScriptedSession, SessionHeader, SessionReader, SessionWriter,
};
use venture_sim::script::scripted_frame;
use venture_sim::{SimConfig, World};
use venture_testkit::{bin, wait_for, Scratch, Tmux};

const REPLAY: &str = bin!("venture-replay");
const TICKS: u64 = 2_400;
const KEYFRAME_EVERY: u64 = 500;
const PLAYERS: usize = 3;
const SCRIPT_SEED: u64 = 12345;

fn config() -> SimConfig {
    SimConfig {
        width: 60,
        height: 60,
        ..SimConfig::default()
    }
}

fn session() -> ScriptedSession {
    ScriptedSession {
        config: config(),
        ticks: TICKS,
        players: PLAYERS,
        script_seed: SCRIPT_SEED,
        snapshot_every: KEYFRAME_EVERY,
    }
}

fn recorded() -> Vec<u8> {
    record_scripted(Vec::new(), &session()).expect("records")
}

/// The viewer's screen, drawn as the terminal would, as text.
fn screen(viewer: &Viewer, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    term.draw(|f| {
        let area = f.area();
        venture::viewer::draw::draw(viewer, area, f.buffer_mut())
    })
    .expect("draws");
    buffer_text(term.backend().buffer())
}

fn status_line(screen: &str) -> &str {
    screen.lines().last().unwrap_or_default()
}

#[test]
fn the_screen_at_chosen_ticks() {
    let mut viewer = Viewer::new(Timeline::from_bytes(&recorded()).expect("loads"));
    viewer.playing = false;
    // Tick 0: nobody has joined yet; the map is there all the same.
    let s = screen(&viewer, 120, 40);
    assert!(
        status_line(&s).starts_with(&format!(
            "tick 0/{TICKS} | 00:00.0 of 02:00.0 | 1x | paused"
        )),
        "{s}"
    );
    assert!(s.contains('#') && s.contains('.'), "no map:\n{s}");

    // Playing forward narrates the joins (the events of each stepped tick).
    viewer.playing = true;
    viewer.advance(Duration::from_millis(120));
    let s = screen(&viewer, 120, 40);
    assert!(viewer.timeline.tick() >= 2, "{s}");
    assert!(
        s.contains("You joined as bot0.") && s.contains("bot1 joined."),
        "{s}"
    );
    assert!(
        status_line(&s).contains("| playing | following bot0 (slot 0)"),
        "{s}"
    );

    for (tick, time) in [(600, "00:30.0"), (1234, "01:01.7"), (TICKS, "02:00.0")] {
        viewer.seek(tick);
        viewer.playing = false;
        let s = screen(&viewer, 120, 40);
        let status = status_line(&s);
        assert!(
            status.starts_with(&format!(
                "tick {tick}/{TICKS} | {time} of 02:00.0 | 1x | paused"
            )),
            "at {tick}:\n{s}"
        );
        assert!(
            s.contains('@'),
            "the followed player is drawn at {tick}:\n{s}"
        );
        assert!(
            s.contains("HP ") && s.contains("Lv "),
            "sidebar at {tick}:\n{s}"
        );
    }

    // The sidebar's target is the monster nearest the followed player (no Tab hint: Tab
    // follows players here).
    let mut targeted = false;
    for tick in (50..TICKS).step_by(50) {
        viewer.seek(tick);
        let s = screen(&viewer, 120, 40);
        assert!(!s.contains("(Tab)"), "{s}");
        if let Some(id) = viewer.view.target {
            let world = viewer.timeline.world();
            let m = world.monsters().iter().find(|m| m.id == id).expect("alive");
            assert!(s.contains(m.template(world.config().genre).name), "{s}");
            targeted = true;
        }
    }
    assert!(targeted, "no monster near the followed player at any tick");

    // Area spells go off as rings while playing; a seek forgets them.
    viewer.seek(0);
    let mut rings = 0;
    while viewer.timeline.tick() < TICKS {
        viewer.act(venture::viewer::controls::Action::StepForward);
        rings += usize::from(!viewer.view.explosions.is_empty());
    }
    assert!(rings > 0, "no area spell went off in {TICKS} ticks");
    viewer.seek(10);
    assert!(viewer.view.explosions.is_empty());

    // Speed, follow and the help window.
    viewer.seek(900);
    for _ in 0..3 {
        viewer.act(venture::viewer::controls::Action::Faster);
    }
    viewer.act(venture::viewer::controls::Action::FollowNext);
    let s = screen(&viewer, 120, 40);
    assert!(
        status_line(&s).contains("| 8x | paused | following bot1 (slot 1)"),
        "{s}"
    );
    for _ in 0..10 {
        viewer.act(venture::viewer::controls::Action::Slower);
    }
    assert!(status_line(&screen(&viewer, 120, 40)).contains("| 1/4x |"));
    viewer.act(venture::viewer::controls::Action::Help);
    let s = screen(&viewer, 120, 40);
    assert!(
        s.contains("Replay controls") && s.contains("jump 10 s back"),
        "{s}"
    );

    // 8x plays eight times as many ticks as 1x in the same time.
    let mut a = Viewer::new(Timeline::from_bytes(&recorded()).expect("loads"));
    let mut b = Viewer::new(Timeline::from_bytes(&recorded()).expect("loads"));
    for _ in 0..3 {
        b.act(venture::viewer::controls::Action::Faster);
    }
    a.advance(Duration::from_millis(500));
    b.advance(Duration::from_millis(500));
    assert_eq!((a.timeline.tick(), b.timeline.tick()), (10, 80));
}

/// Worlds reached by stepping straight from the start: (tick, checksum, snapshot bytes).
fn straight(ticks: &[u64]) -> Vec<(u64, u32, Vec<u8>)> {
    let mut world = World::new(&config()).expect("world");
    let mut out = Vec::new();
    let last = *ticks.iter().max().expect("ticks");
    if ticks.contains(&0) {
        out.push((0, world.checksum(), world.snapshot()));
    }
    for tick in 1..=last {
        world
            .step(&scripted_frame(SCRIPT_SEED, tick, PLAYERS))
            .expect("steps");
        if ticks.contains(&tick) {
            out.push((tick, world.checksum(), world.snapshot()));
        }
    }
    out
}

#[test]
fn seeking_reaches_the_same_world_as_playing_straight() {
    let mut targets: Vec<u64> = vec![0, 1, 2, 7, 333, TICKS - 1, TICKS];
    for k in (KEYFRAME_EVERY..TICKS).step_by(KEYFRAME_EVERY as usize) {
        targets.extend([k - 1, k, k + 1]);
    }
    // A fixed pseudo-random spread too.
    let mut x: u64 = 0x9e37_79b9;
    for _ in 0..12 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        targets.push((x >> 33) % (TICKS + 1));
    }
    targets.sort_unstable();
    targets.dedup();
    let expected = straight(&targets);
    let mut timeline = Timeline::from_bytes(&recorded()).expect("loads");
    assert_eq!(
        timeline.keyframe_ticks(),
        (KEYFRAME_EVERY..=TICKS)
            .step_by(KEYFRAME_EVERY as usize)
            .collect::<Vec<_>>()
    );
    let check = |timeline: &Timeline, (tick, sum, bytes): &(u64, u32, Vec<u8>), how: &str| {
        assert_eq!(timeline.tick(), *tick, "{how}");
        assert_eq!(
            timeline.world().checksum(),
            *sum,
            "checksum at {tick} ({how})"
        );
        assert!(
            timeline.world().snapshot() == *bytes,
            "state at {tick} ({how}) differs from playing straight"
        );
    };
    // Forward, then backward, then alternating far and near.
    for e in &expected {
        assert_eq!(timeline.seek(e.0), Ok(e.0));
        check(&timeline, e, "seeking forward");
    }
    for e in expected.iter().rev() {
        assert_eq!(timeline.seek(e.0), Ok(e.0));
        check(&timeline, e, "seeking backward");
    }
    let n = expected.len();
    for i in 0..n {
        let e = &expected[if i % 2 == 0 { i / 2 } else { n - 1 - i / 2 }];
        timeline.seek(e.0).expect("seeks");
        check(&timeline, e, "seeking back and forth");
    }
    // Stepping back tick by tick across a keyframe boundary, and forward again.
    let k = 2 * KEYFRAME_EVERY;
    let around: Vec<u64> = (k - 3..=k + 3).collect();
    let exact = straight(&around);
    timeline.seek(k + 3).expect("seeks");
    for e in exact.iter().rev() {
        check(&timeline, e, "stepping back");
        timeline.seek(timeline.tick() - 1).expect("steps back");
    }
    for e in &exact {
        timeline.step_forward().expect("steps");
        check(&timeline, e, "stepping forward");
    }
    // Outside the log: clamped to its ends.
    assert_eq!(timeline.seek(TICKS + 500), Ok(TICKS));
}

/// The offset of the frame record of `tick` in `log`.
fn frame_offset(log: &[u8], tick: u64) -> usize {
    let mut reader = SessionReader::new(Cursor::new(log)).expect("header");
    while let Some(record) = reader.next_record().expect("reads") {
        if matches!(record, Record::Frame { ref frame, .. } if frame.tick == tick) {
            return reader.last_record_offset() as usize;
        }
    }
    panic!("no frame for tick {tick}");
}

#[test]
fn a_damaged_frame_stops_the_replay_at_its_tick() {
    let bad = 1_111;
    let mut log = recorded();
    // Flip a byte of the frame's body (after the 8-byte length and crc prefix).
    let at = frame_offset(&log, bad) + 9;
    log[at] ^= 0x40;
    let mut viewer = Viewer::new(Timeline::from_bytes(&log).expect("a damaged tail still loads"));
    assert_eq!(viewer.timeline.last_tick(), bad - 1);
    assert!(
        matches!(viewer.timeline.halt(), Some(Halt::Damaged { tick, .. }) if *tick == bad),
        "{:?}",
        viewer.timeline.halt()
    );
    // Play to the end at 16x: it stops at the last good tick and says why.
    for _ in 0..4 {
        viewer.act(venture::viewer::controls::Action::Faster);
    }
    for _ in 0..100 {
        viewer.advance(Duration::from_millis(250));
    }
    assert!(!viewer.playing);
    assert_eq!(viewer.timeline.tick(), bad - 1);
    let s = screen(&viewer, 120, 40);
    let status = status_line(&s);
    assert!(
        status.contains(&format!("damaged record at tick {bad}")) && status.contains("stopped"),
        "{s}"
    );
    // A seek past it lands before it.
    viewer.seek(2_000);
    assert_eq!(viewer.timeline.tick(), bad - 1);
}

#[test]
fn a_checksum_mismatch_stops_the_replay_before_its_tick() {
    // A well-formed log (every crc right) whose recorded checksum of one tick is wrong.
    let bad = 777;
    let mut world = World::new(&config()).expect("world");
    let header = SessionHeader::new(config(), "test: a wrong checksum");
    let mut writer = SessionWriter::new(Vec::new(), &header).expect("writer");
    for tick in 1..=1_500 {
        let frame = scripted_frame(SCRIPT_SEED, tick, PLAYERS);
        world.step(&frame).expect("steps");
        let sum = world.checksum() ^ u32::from(tick == bad);
        writer.append_frame(&frame, sum).expect("appends");
        if tick % KEYFRAME_EVERY == 0 {
            writer
                .append_snapshot(tick, &world.snapshot())
                .expect("snapshot");
        }
    }
    let log = writer.finish("done").expect("finishes");
    let mut viewer = Viewer::new(Timeline::from_bytes(&log).expect("loads"));
    assert_eq!(viewer.timeline.last_tick(), bad - 1);
    // Said at once, in the log, not only when the end is reached.
    let s = screen(&viewer, 120, 40);
    assert!(
        s.contains("This log fails verification: it plays to tick 776."),
        "{s}"
    );
    // The keyframe at 1000, past the bad tick, is never used.
    assert_eq!(viewer.timeline.keyframe_ticks(), vec![500]);
    for _ in 0..4 {
        viewer.act(venture::viewer::controls::Action::Faster);
    }
    for _ in 0..100 {
        viewer.advance(Duration::from_millis(250));
    }
    assert_eq!(viewer.timeline.tick(), bad - 1);
    // At the width of the tmux test: the reason fits.
    let s = screen(&viewer, 120, 40);
    assert!(
        status_line(&s).contains(&format!(
            "checksum mismatch at tick {bad}: the log and the simulation disagree; stopped"
        )),
        "{s}"
    );
    viewer.seek(1_400);
    assert_eq!(viewer.timeline.tick(), bad - 1);
    // Away from the end, the status line does not claim a stop.
    viewer.seek(100);
    assert!(!viewer.status().contains("mismatch"));
}

#[test]
fn torn_and_oversized_logs() {
    let log = recorded();
    // Cut inside the last frame record before the End record: plays to the last whole one.
    let cut = frame_offset(&log, TICKS) + 5;
    let timeline = Timeline::from_bytes(&log[..cut]).expect("a torn log loads");
    assert_eq!(timeline.last_tick(), TICKS - 1);
    assert!(matches!(timeline.halt(), Some(h @ Halt::Torn { .. }) if !h.is_failure()));
    // Not a log at all.
    assert!(matches!(
        Timeline::from_bytes(b"VRPL but not really a session log at all"),
        Err(LoadError::Read(_))
    ));
    // Over the limit: refused by its size, before reading (a sparse file).
    let dir = Scratch::new("viewer-big");
    let big = dir.join("big.vrpl");
    let f = std::fs::File::create(&big).expect("creates");
    f.set_len(MAX_LOG_BYTES + 1).expect("sparse file");
    let err = Timeline::load(&big).err().expect("refused");
    assert!(matches!(err, LoadError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("512 MiB"), "{err}");
}

#[test]
fn play_without_a_terminal_or_with_a_bad_file_exits_2() {
    let dir = Scratch::new("viewer-cli");
    let good = dir.join("good.vrpl");
    std::fs::write(&good, recorded()).expect("writes");
    let out = Command::new(REPLAY)
        .args(["play", good.to_str().expect("utf-8 path")])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("play needs a terminal"), "{err}");
    assert!(
        out.stdout.is_empty(),
        "the terminal was touched: {:?}",
        out.stdout
    );

    let junk = dir.join("junk.vrpl");
    std::fs::write(&junk, b"this is not a session log").expect("writes");
    let out = Command::new(REPLAY)
        .args(["play", junk.to_str().expect("utf-8 path")])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("junk.vrpl") && err.contains("not a"), "{err}");
    assert!(out.stdout.is_empty());

    let out = Command::new(REPLAY)
        .args(["play", "-help"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("Space play/pause") && help.contains("-paused"),
        "{help}"
    );
}

/// The tick in the status line (the screen's last non-empty line).
fn shown_tick(screen: &str) -> Option<u64> {
    let line = screen.lines().rev().find(|l| l.starts_with("tick "))?;
    line.strip_prefix("tick ")?.split('/').next()?.parse().ok()
}

#[test]
fn play_in_tmux() {
    let dir = Scratch::new("viewer-tmux");
    let log = dir.join("session.vrpl");
    let out = Command::new(REPLAY)
        .args(["record-scripted", log.to_str().expect("utf-8 path")])
        .args([
            "--ticks",
            "6000",
            "--size",
            "60x60",
            "--snapshot-every",
            "1200",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stty = dir.join("stty.txt");
    let tmux = Tmux::new("replay-play");
    tmux.start(
        120,
        40,
        &format!(
            "TERM=xterm-256color {REPLAY} play {}; echo EXITED=$?; stty -a > {}; sleep 600",
            log.display(),
            stty.display()
        ),
    );
    // The map, the sidebar and a status line whose tick advances.
    let first = tmux.wait_screen(
        "the map and the status line",
        Duration::from_secs(60),
        |s| s.contains('@') && s.contains("HP ") && s.contains("| 1x | playing |"),
    );
    assert_eq!(tmux.pane("alternate_on"), "1");
    let t0 = shown_tick(&first).expect("a tick in the status line");
    tmux.wait_screen("the tick to advance", Duration::from_secs(30), |s| {
        shown_tick(s).is_some_and(|t| t > t0)
    });

    // Space pauses: the status says so and the tick stays put.
    tmux.keys(&["Space"]);
    let paused = tmux.wait_screen("paused", Duration::from_secs(20), |s| {
        s.contains("| paused |")
    });
    let held = shown_tick(&paused).expect("tick");
    // Still the same tick a while later (polling for a change that must not come).
    let moved = wait_for(Duration::from_millis(1500), || {
        shown_tick(&tmux.capture()).is_some_and(|t| t != held)
    });
    assert!(!moved, "the tick advanced while paused");

    // A seek to a tick, then to a time.
    tmux.keys(&["g"]);
    tmux.wait_screen("the seek prompt", Duration::from_secs(20), |s| {
        s.contains("Seek to")
    });
    tmux.keys(&["-l", "4321"]);
    tmux.keys(&["Enter"]);
    tmux.wait_screen("tick 4321", Duration::from_secs(30), |s| {
        s.contains("tick 4321/6000 | 03:36.0 of 05:00.0")
    });
    tmux.keys(&["g"]);
    tmux.keys(&["-l", "01:30"]);
    tmux.keys(&["Enter"]);
    tmux.wait_screen("01:30", Duration::from_secs(30), |s| {
        s.contains("tick 1800/6000 | 01:30.0")
    });
    // Step back across nothing in particular, and forward.
    tmux.keys(&["Left", "Left", "Right"]);
    tmux.wait_screen("tick 1799", Duration::from_secs(30), |s| {
        s.contains("tick 1799/6000")
    });

    // q quits, the terminal is restored.
    tmux.keys(&["q"]);
    let end = tmux.wait_screen("the exit", Duration::from_secs(30), |s| {
        s.contains("EXITED=")
    });
    assert!(end.contains("EXITED=0"), "{end}");
    tmux.assert_restored(&stty);
}

/// The real binary on a log with a flipped byte: it plays at 16x to the tick before the
/// damaged record, stops there and says so; Ctrl-C quits and restores the terminal.
#[test]
fn a_damaged_log_in_tmux() {
    let dir = Scratch::new("viewer-tmux-damaged");
    let bad = 1_500;
    let mut log = recorded();
    let at = frame_offset(&log, bad) + 9;
    log[at] ^= 0x01;
    let path = dir.join("damaged.vrpl");
    std::fs::write(&path, &log).expect("writes");
    let stty = dir.join("stty.txt");
    let tmux = Tmux::new("replay-damaged");
    tmux.start(
        120,
        40,
        &format!(
            "TERM=xterm-256color {REPLAY} play {}; echo EXITED=$?; stty -a > {}; sleep 600",
            path.display(),
            stty.display()
        ),
    );
    tmux.wait_screen("the viewer", Duration::from_secs(60), |s| {
        s.contains("| playing |")
    });
    tmux.keys(&["+", "+", "+", "+"]);
    tmux.wait_screen("16x", Duration::from_secs(20), |s| s.contains("| 16x |"));
    let end = tmux.wait_screen("the stop", Duration::from_secs(60), |s| {
        s.contains(&format!("tick {}/{} |", bad - 1, bad - 1))
            && s.contains(&format!("damaged record at tick {bad}; stopped"))
    });
    assert!(!end.contains(&format!("tick {bad}/")), "{end}");
    tmux.keys(&["C-c"]);
    let end = tmux.wait_screen("the exit", Duration::from_secs(30), |s| {
        s.contains("EXITED=")
    });
    assert!(end.contains("EXITED=0"), "{end}");
    tmux.assert_restored(&stty);
}

/// Hostile files: cuts all over and many single-bit flips of a small log (keyframes every 20
/// ticks). None panics; whatever loads shows, at every tick it allows, exactly the world
/// that playing straight gives.
#[test]
fn cut_and_flipped_logs_never_show_a_wrong_world() {
    const SMALL: u64 = 100;
    let small = ScriptedSession {
        ticks: SMALL,
        snapshot_every: 20,
        ..session()
    };
    let log = record_scripted(Vec::new(), &small).expect("records");
    let ticks: Vec<u64> = (0..=SMALL).collect();
    let truth = straight(&ticks);
    // How many loaded and stopped early, to show the test met the cases it is for.
    let shortened = std::cell::Cell::new(0);
    let check = |bytes: &[u8], what: &str| {
        let Ok(mut timeline) = Timeline::from_bytes(bytes) else {
            return;
        };
        let last = timeline.last_tick();
        if last < SMALL {
            shortened.set(shortened.get() + 1);
        }
        assert!(last <= SMALL, "{what}");
        // The end, a keyframe-crossing walk back, and the start.
        for tick in [last, last.saturating_sub(21), 0, last] {
            assert_eq!(timeline.seek(tick), Ok(tick), "{what}");
            let (t, sum, _) = &truth[tick as usize];
            assert_eq!(
                (timeline.tick(), timeline.world().checksum()),
                (*t, *sum),
                "{what}: the world shown at {tick} is not the log's"
            );
        }
    };
    // About 250 cuts spread over the file (an odd step, so they fall at every position
    // within records), the small ones at every byte of the header.
    let step = (log.len() / 250) | 1;
    for cut in (0..64).chain((64..log.len()).step_by(step)) {
        check(&log[..cut], &format!("cut at {cut}"));
    }
    let mut x: u64 = 0x1234_5678_9abc_def1;
    for _ in 0..150 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let at = (x % log.len() as u64) as usize;
        let mut bad = log.clone();
        bad[at] ^= 1 << (x >> 61);
        check(&bad, &format!("bit flipped at byte {at}"));
    }
    assert!(
        shortened.get() > 100,
        "only {} logs stopped early",
        shortened.get()
    );
}
