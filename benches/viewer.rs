//! Replay viewer benchmarks, on the 1-hour reference session (seed 12345, fantasy,
//! 100x100, 4 scripted players, 20 Hz: 72,000 ticks, a keyframe every 1,200 ticks as the
//! server's journal writes them, src/server/journal.rs KEYFRAME_EVERY):
//!
//! 1. Loading it into the viewer (read, verify every tick): once per `play`.
//! 2. Seeking to random points of it (restore the latest keyframe at or before the tick,
//!    re-simulate to it), in random order so each seek starts from another interval; and
//!    stepping back one tick (a seek to T-1 from the cached keyframe). Target: any seek
//!    under 100 ms.
//! 3. `venture-replay dump FILE --tick 72000` (the end of the log), the real binary end to
//!    end (process start, keyframe restore, re-simulation, JSON out to /dev/null).
//!
//! `cargo bench --bench viewer`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use venture::viewer::Timeline;
use venture_replay::{record_scripted, ScriptedSession};
use venture_sim::SimConfig;
use venture_testkit::{bin, Scratch};

const TICKS: u64 = 72_000;
const KEYFRAME_EVERY: u64 = 1_200;
const SEEKS: usize = 200;
const TARGET: Duration = Duration::from_millis(100);

fn stats(name: &str, mut d: Vec<Duration>, target: Option<Duration>) {
    d.sort_unstable();
    let p = |q: f64| d[((d.len() - 1) as f64 * q).round() as usize];
    let ms = |x: Duration| x.as_secs_f64() * 1e3;
    let verdict = target.map_or(String::new(), |t| {
        format!(
            " target max<{:.0} ms {}",
            ms(t),
            if d[d.len() - 1] < t { "PASS" } else { "MISS" }
        )
    });
    println!(
        "{name:<44} n={:<4} p50={:>7.2} ms p99={:>7.2} ms max={:>7.2} ms{verdict}",
        d.len(),
        ms(p(0.5)),
        ms(p(0.99)),
        ms(d[d.len() - 1]),
    );
}

fn main() {
    let session = ScriptedSession {
        config: SimConfig::default(),
        ticks: TICKS,
        players: 4,
        script_seed: 12345,
        snapshot_every: KEYFRAME_EVERY,
    };
    let log = record_scripted(Vec::new(), &session).expect("records");
    let scratch = Scratch::new("bench-viewer");
    let path = scratch.join("reference.vrpl");
    std::fs::write(&path, &log).expect("writes the log");
    println!(
        "reference session: {TICKS} ticks, keyframe every {KEYFRAME_EVERY}, {} bytes",
        log.len()
    );

    let loads: Vec<Duration> = (0..3)
        .map(|_| {
            let t = Instant::now();
            let timeline = Timeline::load(&path).expect("loads");
            assert_eq!(timeline.last_tick(), TICKS);
            t.elapsed()
        })
        .collect();
    stats("load 1 h log into the viewer (read + verify)", loads, None);

    let mut timeline = Timeline::load(&path).expect("loads");
    // A fixed pseudo-random sequence of targets over the whole log.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % (TICKS + 1)
    };
    let seeks: Vec<Duration> = (0..SEEKS)
        .map(|_| {
            let target = next();
            let t = Instant::now();
            assert_eq!(timeline.seek(target), Ok(target));
            t.elapsed()
        })
        .collect();
    stats("seek to a random tick of the 1 h log", seeks, Some(TARGET));

    // The worst interval position: the tick just before a keyframe (1,199 frames to step).
    let worst: Vec<Duration> = (0..20)
        .map(|i| {
            let target = (i * 3 % 59 + 1) * KEYFRAME_EVERY - 1;
            timeline.seek(0).expect("seeks");
            let t = Instant::now();
            timeline.seek(target).expect("seeks");
            t.elapsed()
        })
        .collect();
    stats(
        "seek to the tick before a keyframe (worst)",
        worst,
        Some(TARGET),
    );

    timeline
        .seek(TICKS / 2 + KEYFRAME_EVERY - 1)
        .expect("seeks");
    let back: Vec<Duration> = (0..50)
        .map(|_| {
            let t = Instant::now();
            let here = timeline.tick();
            timeline.seek(here - 1).expect("steps back");
            t.elapsed()
        })
        .collect();
    stats("step back one tick (cached keyframe)", back, Some(TARGET));

    let replay = bin!("venture-replay");
    let dumps: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let status = Command::new(replay)
                .args(["dump", path.to_str().expect("utf-8 path"), "--tick"])
                .arg(TICKS.to_string())
                .stdout(Stdio::null())
                .status()
                .expect("runs venture-replay");
            assert!(status.success());
            t.elapsed()
        })
        .collect();
    stats("venture-replay dump --tick 72000 (process)", dumps, None);
    let t = Instant::now();
    let status = Command::new(replay)
        .args([
            "dump",
            path.to_str().expect("utf-8 path"),
            "--from-start",
            "--tick",
        ])
        .arg(TICKS.to_string())
        .stdout(Stdio::null())
        .status()
        .expect("runs venture-replay");
    assert!(status.success());
    stats("same, --from-start (no keyframes)", vec![t.elapsed()], None);
}
