//! The determinism trace that `scripts/wasm-determinism.sh` runs natively and on
//! wasm32-wasip1 (under node's WASI) and compares line by line: the golden worlds (5
//! genres x 5 seeds), each played 2,000 ticks by 4 scripted players and 2,000 ticks by 4
//! fighting bots, and the determinism suite's reference session (seed 12345 fantasy, script
//! seed 7, 1,000 ticks), one `CASE TICK CHECKSUM` line per tick (tick 0: the generated
//! world). A binary rather than an example so that it builds for wasm32-wasip1 without
//! the dev-dependencies (the test kit is native only).
//!
//! - `arch_trace` prints the trace on stdout and, on stderr, the time spent stepping and
//!   checksumming (`# step_ns N ticks M`), for the wasm-to-native ratio.
//! - `arch_trace --dump CASE TICK` prints the world of CASE at TICK as the JSON dump
//!   `venture-replay diff` reads, so a mismatch is named down to the field.
//! - `VENTURE_ARCH_FAULT="CASE TICK"` (diagnostics, to see the mismatch path work): alter
//!   that case's world at that tick (`World::inject_fault_for_diagnostics`).

use std::io::Write;
use std::time::{Duration, Instant};

use venture_replay::inspect::dump;
use venture_sim::script::{fight_frame, scripted_frame};
use venture_sim::{Genre, SimConfig, World};

const PLAYERS: usize = 4;
const TICKS: u64 = 2_000;
const SEEDS: [u64; 5] = [12345, 1, 2, 3, 4];

/// One world and how it is played.
struct Case {
    name: String,
    config: SimConfig,
    /// Some(script seed): scripted players; None: fighting bots.
    script: Option<u64>,
    ticks: u64,
}

fn cases() -> Vec<Case> {
    let mut out = vec![Case {
        name: "reference-script7".into(),
        config: SimConfig::default(),
        script: Some(7),
        ticks: 1_000,
    }];
    for genre in Genre::ALL {
        for seed in SEEDS {
            for script in [Some(seed), None] {
                let kind = if script.is_some() {
                    "scripted"
                } else {
                    "fight"
                };
                out.push(Case {
                    name: format!("{}-{seed}-{kind}", genre.id()),
                    config: SimConfig {
                        seed,
                        genre,
                        ..SimConfig::default()
                    },
                    script,
                    ticks: TICKS,
                });
            }
        }
    }
    out
}

/// Plays `case`, calling `each(world)` after generation and after every tick.
fn play(case: &Case, stepping: &mut Duration, mut each: impl FnMut(&World) -> bool) {
    let fault: Option<(String, u64)> = std::env::var("VENTURE_ARCH_FAULT").ok().and_then(|v| {
        let (c, t) = v.split_once(' ')?;
        Some((c.to_string(), t.parse().ok()?))
    });
    let mut world = World::new(&case.config).expect("the golden configs are valid");
    if !each(&world) {
        return;
    }
    for tick in 1..=case.ticks {
        let t0 = Instant::now();
        let frame = match case.script {
            Some(seed) => scripted_frame(seed, tick, PLAYERS),
            None if tick == 1 => scripted_frame(0, 1, PLAYERS),
            None => fight_frame(&world, PLAYERS),
        };
        world.step(&frame).expect("bot frames follow on");
        if fault
            .as_ref()
            .is_some_and(|(c, t)| *c == case.name && *t == tick)
        {
            world.inject_fault_for_diagnostics();
        }
        let _ = world.checksum();
        *stepping += t0.elapsed();
        if !each(&world) {
            return;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut stepping = Duration::ZERO;
    if args.first().map(String::as_str) == Some("--dump") {
        let (Some(name), Some(tick)) = (args.get(1), args.get(2).and_then(|t| t.parse().ok()))
        else {
            eprintln!("usage: arch_trace [--dump CASE TICK]");
            std::process::exit(2);
        };
        let Some(case) = cases().into_iter().find(|c| &c.name == name) else {
            eprintln!("no case {name}");
            std::process::exit(2);
        };
        let tick: u64 = tick;
        play(&case, &mut stepping, |w| {
            if w.tick() == tick {
                let v = dump(w, None).expect("a world dumps");
                println!("{v:#}");
                return false;
            }
            true
        });
        return;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut ticks = 0u64;
    for case in cases() {
        play(&case, &mut stepping, |w| {
            ticks += 1;
            writeln!(out, "{} {} {}", case.name, w.tick(), w.checksum()).is_ok()
        });
    }
    out.flush().expect("stdout");
    eprintln!("# step_ns {} ticks {ticks}", stepping.as_nanos());
}
