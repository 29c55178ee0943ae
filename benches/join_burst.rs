//! Join burst (issue 12): 64 clients in 8 `venture-client --bots 8` processes, started at
//! once against a fresh release `venture-server -max-players 64` on 127.0.0.1. Measured:
//! the time from spawning the first client process until the server counts inputs from
//! all 64 players (its `/status`; a client sends inputs only once it plays), with the
//! times at which 16, 32 and 48 played; and the server's resident memory (VmRSS, and the
//! peak VmHWM) once all have joined. Five runs, each on a new server; each run and the
//! median are printed against the 2 s target.
//!
//! Run: `cargo bench --bench join_burst`. Uses 127.0.0.1 only.

use std::time::Duration;

use venture_testkit::burst::{playing, BurstSpec};
use venture_testkit::{bin, rss_kib, Scratch, Server};

const RUNS: usize = 5;
const PROCS: usize = 8;
const BOTS: u32 = 8;
const TARGET: Duration = Duration::from_secs(2);
/// A run that has not got everyone in by then is reported as a miss.
const GIVE_UP: Duration = Duration::from_secs(60);

struct Run {
    all: Option<Duration>,
    /// When 16, 32 and 48 were playing.
    quarters: [Option<Duration>; 3],
    rss_kib: u64,
    hwm_kib: u64,
}

fn one_run(i: usize) -> Run {
    let scratch = Scratch::new("bench-join-burst");
    let server = Server::builder(bin!("venture-server"))
        .dir(scratch.path())
        .args(&[
            "-max-players",
            "64",
            "-seed",
            &(640 + i).to_string(),
            "--no-replay",
        ])
        .start();
    let spec = BurstSpec {
        client_bin: bin!("venture-client"),
        server: server.addr(),
        procs: PROCS,
        bots: BOTS,
        duration_s: 15,
        prefix: "j",
    };
    let players = PROCS * BOTS as usize;
    let burst = spec.spawn(scratch.path());
    let mut quarters = [None; 3];
    let mut all = None;
    while burst.started.elapsed() < GIVE_UP {
        let n = playing(server.port).map_or(0, |names| names.len());
        let t = burst.started.elapsed();
        for (q, at) in quarters.iter_mut().enumerate() {
            if at.is_none() && n >= players * (q + 1) / 4 {
                *at = Some(t);
            }
        }
        if n >= players {
            all = Some(t);
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = server.pid();
    let rss = rss_kib(pid, "VmRSS:").unwrap_or(0);
    let hwm = rss_kib(pid, "VmHWM:").unwrap_or(0);
    drop(burst);
    drop(server);
    Run {
        all,
        quarters,
        rss_kib: rss,
        hwm_kib: hwm,
    }
}

fn show(d: Option<Duration>) -> String {
    d.map_or("-".to_string(), |d| {
        format!("{:.0} ms", d.as_secs_f64() * 1000.0)
    })
}

fn main() {
    let mut runs = Vec::new();
    for i in 0..RUNS {
        let r = one_run(i);
        println!(
            "join burst run {}: 64 clients in {PROCS} processes: all playing after {} \
             (16: {}, 32: {}, 48: {}); server RSS {} KiB, peak {} KiB",
            i + 1,
            show(r.all),
            show(r.quarters[0]),
            show(r.quarters[1]),
            show(r.quarters[2]),
            r.rss_kib,
            r.hwm_kib
        );
        runs.push(r);
    }
    let mut times: Vec<Duration> = runs
        .iter()
        .map(|r| r.all.unwrap_or(Duration::MAX))
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    let mut rss: Vec<u64> = runs.iter().map(|r| r.rss_kib).collect();
    rss.sort();
    let mut hwm: Vec<u64> = runs.iter().map(|r| r.hwm_kib).collect();
    hwm.sort();
    println!(
        "join burst 64 clients: median {} (each: {}), target < {TARGET:?} {}; server RSS after \
         all joined: median {} KiB (peak median {} KiB)",
        show((median != Duration::MAX).then_some(median)),
        runs.iter()
            .map(|r| show(r.all))
            .collect::<Vec<_>>()
            .join(", "),
        if median < TARGET { "PASS" } else { "MISS" },
        rss[rss.len() / 2],
        hwm[hwm.len() / 2],
    );
}
