//! The real `venture-server`'s resident memory with 64 connected players (issue 12,
//! benchmark "server RSS with 64 connected players": target under 32 MB).
//!
//! One server (`-max-players 64`, release build) and four `venture-client` processes of
//! 16 headless explorer bots each, all on 127.0.0.1. The groups start one after another,
//! each once the previous one plays, so the table shows the memory each 16 players add
//! (`benches/join_burst.rs` starts them all at once). A player counts as playing once `/status` gives it a round
//! trip (the server has had acks of its frames). With all 64 playing, the server plays on
//! for 10 s; the table gives VmRSS after each group, then VmRSS and VmHWM (the peak over
//! the whole run) from /proc/PID/status, and the cost per player over the idle server.
//!
//! The clients' carrier is the first argument (default `udp`; issue 21 measures `tcp`):
//! every player must show it in `/status`.
//!
//! Run: `cargo bench --bench connections` (UDP) or `cargo bench --bench connections -- tcp`.
//! Linux only (/proc).

use std::time::{Duration, Instant};

use venture_testkit::{bin, rss_kib, wait_for, Proc, Scratch, Server};

const PLAYERS: usize = 64;
const PER_PROCESS: usize = 16;
/// Steady play with every player in, before the last reading.
const STEADY: Duration = Duration::from_secs(10);
/// Per group of 16, from its start to all of them playing (generous: a busy machine).
const GROUP_DEADLINE: Duration = Duration::from_secs(60);
const TARGET_KIB: u64 = 32 * 1024;

/// (players in `/status`, players with a measured round trip, players on `carrier`).
fn players(server: &Server, carrier: &str) -> (usize, usize, usize) {
    let Some(status) = server.status() else {
        return (0, 0, 0);
    };
    let list = status["players"].as_array().cloned().unwrap_or_default();
    let playing = list.iter().filter(|p| !p["rtt_ms"].is_null()).count();
    let on = list.iter().filter(|p| p["carrier"] == carrier).count();
    (list.len(), playing, on)
}

fn kib(pid: u32, field: &str) -> u64 {
    rss_kib(pid, field).unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A counter's value in the server's Prometheus text exposition.
fn counter(server: &Server, name: &str) -> Option<f64> {
    let (_, body) = server.try_get("/metrics").ok()?;
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

fn main() {
    // `cargo bench` passes `--bench`; the carrier is the first other argument.
    let carrier = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "udp".to_string());
    assert!(
        ["udp", "tcp", "ws"].contains(&carrier.as_str()),
        "carrier {carrier}: udp, tcp or ws"
    );
    let scratch = Scratch::new("bench-connections");
    let server = Server::builder(bin!("venture-server"))
        .persisting_in(scratch.path())
        .args(&["-max-players", "64", "--new-world", "-seed", "12345"])
        .env("LOG_LEVEL", "error")
        .start();
    let pid = server.pid();
    let idle = kib(pid, "VmRSS:");
    let mut rows = vec![(0usize, idle)];
    let mut clients: Vec<Proc> = Vec::new();
    let started = Instant::now();
    for group in 0..PLAYERS / PER_PROCESS {
        let want = (group + 1) * PER_PROCESS;
        clients.push(Proc::spawn(
            bin!("venture-client"),
            &[
                "--server",
                &server.addr(),
                "--bots",
                &PER_PROCESS.to_string(),
                "--name",
                &format!("g{group}p"),
                // Bounded: the bench kills them when it ends, well before this.
                "--duration",
                "600",
                "--status-every",
                "0",
                "--bot",
                "explore",
                "--transport",
                &carrier,
                "--secret-dir",
                &scratch.arg("secrets"),
            ],
            scratch.path(),
            &format!("clients{group}"),
            &[],
        ));
        let joined = wait_for(GROUP_DEADLINE, || players(&server, &carrier).1 >= want);
        let (admitted, playing, _) = players(&server, &carrier);
        assert!(
            joined,
            "group {group}: {playing} of {want} players playing ({admitted} admitted) after {GROUP_DEADLINE:?}"
        );
        rows.push((playing, kib(pid, "VmRSS:")));
    }
    let all_in = started.elapsed();

    let steady_end = Instant::now() + STEADY;
    let mut steady_max = 0;
    while Instant::now() < steady_end {
        steady_max = steady_max.max(kib(pid, "VmRSS:"));
        std::thread::sleep(Duration::from_millis(250));
    }
    let (admitted, playing, on_carrier) = players(&server, &carrier);
    let rss = kib(pid, "VmRSS:");
    steady_max = steady_max.max(rss);
    let hwm = kib(pid, "VmHWM:");
    let desync_reports = counter(&server, "venture_desync_reports_total");
    assert_eq!(
        playing, PLAYERS,
        "every player still plays ({admitted} admitted)"
    );
    assert_eq!(on_carrier, PLAYERS, "every player on {carrier}");

    println!(
        "venture-server resident memory, {PLAYERS} players over {carrier} in {} venture-client processes (release, 127.0.0.1)",
        PLAYERS / PER_PROCESS
    );
    println!(
        "  {:>8}  {:>10}  {:>14}  {:>16}",
        "players", "VmRSS MB", "over idle MB", "per player KiB"
    );
    for &(n, r) in &rows {
        let per = if n == 0 {
            "-".to_string()
        } else {
            format!("{:.0}", r.saturating_sub(idle) as f64 / n as f64)
        };
        println!(
            "  {n:>8}  {:>10.1}  {:>14.1}  {per:>16}",
            mib(r),
            mib(r.saturating_sub(idle))
        );
    }
    println!(
        "  after {} s more of play with all {PLAYERS}: VmRSS {:.1} MB (max {:.1} MB over those {} s), VmHWM {:.1} MB; {:.0} KiB per player over idle",
        STEADY.as_secs(),
        mib(rss),
        mib(steady_max),
        STEADY.as_secs(),
        mib(hwm),
        rss.saturating_sub(idle) as f64 / PLAYERS as f64
    );
    println!(
        "  all {PLAYERS} playing {:.1} s after the first group started (groups of {PER_PROCESS}, each once the previous played); desync reports {}",
        all_in.as_secs_f64(),
        desync_reports.map_or("?".to_string(), |d| d.to_string())
    );
    println!(
        "server RSS with {PLAYERS} players over {carrier}: VmHWM {:.1} MB, target <32MB {}",
        mib(hwm),
        if hwm < TARGET_KIB { "PASS" } else { "MISS" }
    );
    drop(clients);
}
