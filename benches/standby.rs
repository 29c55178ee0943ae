//! Hot standby (issue 23), on release binaries and 127.0.0.1: a primary with 4 bots
//! (`venture-client --bots 4`) and a standby (`-standby-of`, default `-takeover-after 1s`)
//! that will serve the primary's port. Measured, over five runs, each on fresh saves:
//! - follower lag: the primary's `/status` sampled every 50 ms for 15 s (its follower's
//!   ack behind the primary's present; an ack is at least a datagram's trip, and a tick
//!   can close between the frame and the sample), p50/p99 in ticks and milliseconds;
//! - the standby's CPU (utime + stime from /proc over the same 15 s, in % of a core) and
//!   resident memory (VmRSS, VmHWM);
//! - `kill -9` of the primary: the RTO, from the kill until the bots' stderr says
//!   "playing again" for all four; the ticks lost: ticks the standby had received but did
//!   not keep (its takeover tick against the newest it had seen: target 0), and ticks the
//!   primary closed that never reached the standby (its last `/status` tick, sampled
//!   every 10 ms before the kill, minus the standby's newest).
//!
//! Run: `cargo bench --bench standby`. Uses 127.0.0.1 only.

use std::time::{Duration, Instant};

use venture_testkit::standby::{copy_key, start_standby, status};
use venture_testkit::{bin, cpu_ticks, free_port, rss_kib, wait_for, Proc, Scratch, Server};

const RUNS: usize = 5;
const BOTS: usize = 4;
const SAMPLE_FOR: Duration = Duration::from_secs(15);
const RTO_TARGET: Duration = Duration::from_secs(2);

struct Run {
    lag_ticks: Vec<u64>,
    cpu_percent: f64,
    rss_kib: u64,
    hwm_kib: u64,
    rto: Option<Duration>,
    lost_received: u64,
    never_received: u64,
}

fn clock_ticks_per_second() -> f64 {
    // sysconf(_SC_CLK_TCK) is 100 on every Linux this runs on.
    100.0
}

fn one_run(i: usize) -> Run {
    let scratch = Scratch::new("bench-standby");
    let (pdir, sdir) = (scratch.path().join("p"), scratch.path().join("s"));
    std::fs::create_dir_all(&pdir).expect("dir");
    let port = free_port();
    let http = free_port();
    let mut primary = Server::builder(bin!("venture-server"))
        .persisting_in(&pdir)
        .port(port)
        .tag("primary")
        .args(&["-seed", &(2300 + i).to_string()])
        .start();
    copy_key(&pdir, &sdir);
    let standby = start_standby(bin!("venture-server"), &sdir, port, port, http, &[]);
    let addr = format!("127.0.0.1:{port}");
    let bots = BOTS.to_string();
    let secrets = scratch.path().join("secrets").display().to_string();
    let b = Proc::spawn(
        bin!("venture-client"),
        &[
            "--server",
            &addr,
            "--bots",
            &bots,
            "--bot",
            "explore",
            "--duration",
            "40",
            "--status-every",
            "0",
            "--secret-dir",
            &secrets,
        ],
        scratch.path(),
        "bots",
        &[],
    );
    assert!(
        wait_for(Duration::from_secs(30), || status(port)
            .is_some_and(|v| v["players"]
                .as_array()
                .is_some_and(|p| p.len() == BOTS))),
        "bots did not join: {}",
        b.stderr()
    );
    std::thread::sleep(Duration::from_secs(2));
    let cpu0 = cpu_ticks(standby.pid()).expect("standby cpu");
    let started = Instant::now();
    let mut lag_ticks = Vec::new();
    while started.elapsed() < SAMPLE_FOR {
        if let Some(l) = status(port).and_then(|v| v["followers"][0]["lag_ticks"].as_u64()) {
            lag_ticks.push(l);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let cpu = cpu_ticks(standby.pid()).expect("standby cpu") - cpu0;
    let cpu_percent =
        cpu as f64 / clock_ticks_per_second() / started.elapsed().as_secs_f64() * 100.0;
    let rss = rss_kib(standby.pid(), "VmRSS:").expect("VmRSS");
    let hwm = rss_kib(standby.pid(), "VmHWM:").expect("VmHWM");
    let mut last_primary_tick = 0;
    for _ in 0..20 {
        if let Some(t) = status(port).and_then(|v| v["tick"].as_u64()) {
            last_primary_tick = t;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    primary.kill9();
    let killed = Instant::now();
    let back = wait_for(Duration::from_secs(30), || {
        b.stderr().matches("playing again").count() >= BOTS
    });
    let rto = back.then(|| killed.elapsed());
    let promoted = status(port).map(|v| v["promoted_from_standby"].clone());
    let (tick, received) = promoted
        .map(|p| {
            (
                p["tick"].as_u64().unwrap_or(0),
                p["received_tick"].as_u64().unwrap_or(0),
            )
        })
        .unwrap_or((0, 0));
    drop(b);
    drop(standby);
    Run {
        lag_ticks,
        cpu_percent,
        rss_kib: rss,
        hwm_kib: hwm,
        rto,
        lost_received: received.saturating_sub(tick),
        never_received: last_primary_tick.saturating_sub(received),
    }
}

fn percentile(v: &mut [u64], p: usize) -> u64 {
    v.sort_unstable();
    v.get((v.len().saturating_sub(1)) * p / 100)
        .copied()
        .unwrap_or(0)
}

fn main() {
    println!(
        "hot standby: primary + standby on 127.0.0.1, {BOTS} bots, -takeover-after 1s, {RUNS} runs"
    );
    let mut all_lag = Vec::new();
    let mut rtos = Vec::new();
    for i in 0..RUNS {
        let mut r = one_run(i);
        let (p50, p99) = (
            percentile(&mut r.lag_ticks, 50),
            percentile(&mut r.lag_ticks, 99),
        );
        all_lag.extend_from_slice(&r.lag_ticks);
        println!(
            "  run {i}: RTO {} | follower lag p50 {p50} p99 {p99} ticks ({} samples) | ticks lost of those received {} | closed by the primary but never received {} | standby CPU {:.2}% of a core, VmRSS {} KiB, VmHWM {} KiB",
            r.rto.map_or("MISS (30 s)".to_string(), |d| format!("{:.2} s", d.as_secs_f64())),
            r.lag_ticks.len(),
            r.lost_received,
            r.never_received,
            r.cpu_percent,
            r.rss_kib,
            r.hwm_kib
        );
        rtos.extend(r.rto);
    }
    rtos.sort();
    let median = rtos.get(rtos.len() / 2).copied();
    let worst = rtos.last().copied();
    let (p50, p99) = (percentile(&mut all_lag, 50), percentile(&mut all_lag, 99));
    println!(
        "RTO median {} worst {} (target < {} s; {} of {RUNS} runs came back) | follower lag p50 {p50} ticks, p99 {p99} ticks ({} ms at 20 Hz)",
        median.map_or("-".into(), |d| format!("{:.2} s", d.as_secs_f64())),
        worst.map_or("-".into(), |d| format!("{:.2} s", d.as_secs_f64())),
        RTO_TARGET.as_secs(),
        rtos.len(),
        p99 * 50
    );
}
