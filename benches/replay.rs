//! Replay verification speed: record the reference session (seed 12345, fantasy, 100x100,
//! 4 scripted players, 20 Hz) for one hour of play (72,000 ticks, a keyframe a minute),
//! then time `verify` over it, in memory and from a file. Target: > 50,000 ticks/s.
//! Run: `cargo bench --bench replay`.

use std::io::Cursor;
use std::time::Instant;
use venture_replay::{record_scripted, verify, ScriptedSession, SessionReader};
use venture_sim::SimConfig;

const TICKS: u64 = 72_000;
const TARGET_TICKS_PER_SEC: f64 = 50_000.0;
const RUNS: usize = 5;

fn report(name: &str, mut rates: Vec<f64>) {
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!(
        "{name:<40} runs={RUNS} median={median:>9.0} ticks/s min={:>9.0} max={:>9.0} (1 h of play in {:.3} s) target>{TARGET_TICKS_PER_SEC:.0} {}",
        rates[0],
        rates[rates.len() - 1],
        TICKS as f64 / median,
        if median > TARGET_TICKS_PER_SEC { "PASS" } else { "MISS" }
    );
}

fn main() {
    let session = ScriptedSession {
        config: SimConfig::default(),
        ticks: TICKS,
        players: 4,
        script_seed: 12345,
        snapshot_every: 1200,
    };
    let started = Instant::now();
    let log = record_scripted(Vec::new(), &session).expect("records");
    println!(
        "reference session: seed 12345, fantasy, 100x100, 4 scripted players, 20 Hz, {TICKS} ticks, {} bytes, recorded in {:.3} s",
        log.len(),
        started.elapsed().as_secs_f64()
    );

    let rates = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            let r = verify(
                SessionReader::new(Cursor::new(&log)).expect("header"),
                |_, _| {},
            )
            .expect("verifies");
            let secs = t.elapsed().as_secs_f64();
            assert!(r.passed() && r.ticks_verified == TICKS);
            TICKS as f64 / secs
        })
        .collect();
    report("verify, in memory", rates);

    let scratch = venture_testkit::Scratch::new("bench-replay");
    let path = scratch.join("reference.vrpl");
    std::fs::write(&path, &log).expect("writes temp file");
    let rates = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            let r =
                verify(SessionReader::open(&path).expect("opens"), |_, _| {}).expect("verifies");
            let secs = t.elapsed().as_secs_f64();
            assert!(r.passed() && r.ticks_verified == TICKS);
            TICKS as f64 / secs
        })
        .collect();
    report("verify, from a file (page cache)", rates);
}
