//! Persistence under the faults operators meet, with real server processes and real files:
//! two servers on one world (the second is refused, the first goes on), kill -9 of a lock
//! holder then a restart, SIGTERM recorded as a clean stop, and a full disk on a small
//! tmpfs (play goes on, readiness and the gauges say so, no temp files are left, and
//! recording catches up by itself once space returns).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use venture_testkit::{bin, free_port, wait_for, Proc, Scratch, Server};

const SERVER: &str = bin!("venture-server");
const REPLAY: &str = bin!("venture-replay");

/// `GET` on 127.0.0.1:port: (status, body), `None` when nothing answers.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    venture_testkit::http_get(port, path).ok()
}

/// Server flags for a world under `root` (saves and replays), logs in the test dir.
fn world_args(root: &Path, seed: Option<&str>) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "--saves-dir".into(),
        root.join("saves").display().to_string(),
        "--replay-dir".into(),
        root.join("replays").display().to_string(),
        "--autosave".into(),
        "2".into(),
    ];
    if let Some(seed) = seed {
        v.extend(["-seed".to_string(), seed.to_string()]);
    }
    v
}

fn spawn(dir: &Path, root: &Path, seed: Option<&str>, port: u16, tag: &str) -> Server {
    Server::builder(SERVER)
        .dir(dir)
        .tag(tag)
        .port(port)
        .args(&world_args(root, seed))
        .spawn()
}

fn start(dir: &Path, root: &Path, seed: Option<&str>, tag: &str) -> (Server, u16) {
    let mut server = spawn(dir, root, seed, free_port(), tag);
    server.wait_healthy(Duration::from_secs(30));
    let port = server.port;
    (server, port)
}

fn status(port: u16) -> serde_json::Value {
    let (_, body) = http_get(port, "/status").expect("status answers");
    serde_json::from_str(&body).expect("status is JSON")
}

fn tick(port: u16) -> u64 {
    status(port)["tick"].as_u64().expect("tick")
}

/// A sample's value from `/metrics` (unlabelled series).
fn metric(port: u16, name: &str) -> Option<f64> {
    let (_, body) = http_get(port, "/metrics")?;
    body.lines().find_map(|l| {
        let (n, v) = l.split_once(' ')?;
        (n == name).then(|| v.trim().parse().ok())?
    })
}

/// JSON log lines of a process whose `msg` contains `needle`.
fn log_lines(p: &Server, needle: &str) -> Vec<serde_json::Value> {
    let (out, err) = (p.stdout(), p.stderr());
    out.lines()
        .chain(err.lines())
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["msg"].as_str().is_some_and(|m| m.contains(needle)))
        .collect()
}

fn verify(log: &Path) -> (bool, String) {
    let out = Command::new(REPLAY)
        .args(["verify", &log.display().to_string()])
        .output()
        .expect("venture-replay runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn stop(p: &mut Server) {
    p.signal("TERM");
    assert_eq!(
        p.wait_timeout(Duration::from_secs(20)),
        Some(Some(0)),
        "clean exit: {}",
        p.stdout()
    );
}

#[test]
fn a_second_server_on_a_held_world_is_refused_and_the_first_goes_on() {
    let dir = Scratch::new("two-writers");
    let root = dir.path();
    let (mut first, port) = start(root, root, Some("99"), "first");
    let before = tick(port);

    let mut second = spawn(root, root, Some("99"), free_port(), "second");
    assert_eq!(
        second.wait_timeout(Duration::from_secs(30)),
        Some(Some(1)),
        "the second server must exit 1: {}",
        second.stdout()
    );
    let fatal: Vec<_> = log_lines(&second, "failed to start server");
    assert_eq!(fatal.len(), 1, "{}", second.stdout());
    let line = fatal[0].to_string();
    assert_eq!(fatal[0]["level"], "fatal", "{line}");
    for part in [
        "world 99-fantasy".to_string(),
        "worlds/99-fantasy.lock".to_string(),
        format!("pid {}", first.pid()),
    ] {
        assert!(line.contains(&part), "fatal line lacks {part:?}: {line}");
    }

    // The first is undisturbed: healthy, ready, ticking, and its log verifies.
    assert!(wait_for(Duration::from_secs(20), || tick(port) > before + 20));
    assert_eq!(http_get(port, "/readyz").map(|r| r.0), Some(200));
    assert_eq!(metric(port, "venture_persistence_ok"), Some(1.0));

    // Without -seed, a server skips the held "most recent world" and says so.
    assert!(
        wait_for(Duration::from_secs(20), || root
            .join("saves/latest.json")
            .exists()),
        "no save yet"
    );
    let (mut third, port3) = start(root, root, None, "third");
    let skipped = log_lines(&third, "skipping a recent world");
    assert_eq!(skipped.len(), 1, "{}", third.stdout());
    assert!(skipped[0].to_string().contains("99-fantasy"));
    assert_ne!(status(port3)["seed"], 99, "it must not run the held world");
    stop(&mut third);

    let final_tick = tick(port);
    stop(&mut first);
    let (ok, out) = verify(&root.join("replays/99-fantasy.vrpl"));
    assert!(ok, "{out}");
    assert!(out.contains("clean stop at tick"), "{out}");
    let verified: u64 = out
        .split_whitespace()
        .skip_while(|w| *w != "OK")
        .nth(2)
        .and_then(|w| w.parse().ok())
        .expect("ticks verified");
    assert!(verified >= final_tick, "{verified} < {final_tick}: {out}");
}

#[test]
fn sigterm_is_a_clean_stop_and_kill_dash_nine_a_crash_and_both_resume() {
    let dir = Scratch::new("stops");
    let root = dir.path();
    let log = root.join("replays/5-fantasy.vrpl");

    // SIGTERM: verify names the clean stop and its tick.
    let (mut a, port) = start(root, root, Some("5"), "a");
    assert!(wait_for(Duration::from_secs(20), || tick(port) > 30));
    stop(&mut a);
    let stopped = log_lines(&a, "server stopped")[0]["tick"]
        .as_u64()
        .expect("tick");
    let (ok, out) = verify(&log);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("clean stop at tick {stopped} (SIGTERM)")),
        "{out}"
    );
    assert!(!out.contains("no End or Stop record"), "{out}");

    // Restart, then kill -9 the lock holder: a restart must resume (the kernel released
    // the lock), and verify tells the crash from the clean stop.
    let (b, port) = start(root, root, Some("5"), "b");
    let resumed = log_lines(&b, "world resumed");
    assert_eq!(resumed[0]["tick"].as_u64(), Some(stopped), "{}", b.stdout());
    assert!(wait_for(Duration::from_secs(20), || tick(port) > stopped + 40));
    std::thread::sleep(Duration::from_millis(1200));
    let mut b = b;
    let at_kill = tick(port);
    b.signal("KILL");
    assert_eq!(b.wait_timeout(Duration::from_secs(10)), Some(None));

    let (mut c, port) = start(root, root, Some("5"), "c");
    let resumed = log_lines(&c, "world resumed")[0]["tick"]
        .as_u64()
        .expect("resumed tick");
    println!(
        "recovery point, healthy disk: killed at tick {at_kill}, resumed at {resumed} ({} ticks lost)",
        at_kill.saturating_sub(resumed)
    );
    assert!(
        resumed + 40 >= at_kill,
        "resumed at {resumed}, killed at {at_kill}"
    );
    assert!(
        log_lines(&c, "did not stop cleanly").len() == 1,
        "{}",
        c.stdout()
    );
    assert!(wait_for(Duration::from_secs(20), || tick(port) > resumed + 20));
    stop(&mut c);
    let (ok, out) = verify(&log);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "segment 1: ticks 0 to {stopped}, clean stop at tick {stopped}"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "segment 2: ticks {stopped} to {resumed}, crashed after tick {resumed}"
        )),
        "{out}"
    );
    assert!(out.contains("segment 3:"), "{out}");
    let info = Command::new(REPLAY)
        .args(["info", "--json", &log.display().to_string()])
        .output()
        .expect("info runs");
    let v: serde_json::Value = serde_json::from_slice(&info.stdout).expect("info JSON");
    let ends: Vec<&str> = v["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .map(|s| s["end"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ends, ["stopped", "crashed", "stopped"], "{v}");
    assert_eq!(v["format_version"], 2);
}

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `None` (with the reason) where mounting is not allowed.
    fn mount(at: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the filesystem of `path` with one file until writes fail; returns its size.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).expect("filler");
    let chunk = vec![0xA5u8; 64 << 10];
    let mut total = 0u64;
    // Bounded: the tmpfs is a few MB.
    for _ in 0..100_000 {
        match f.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n as u64,
        }
    }
    for _ in 0..100_000 {
        match f.write(&[0xA5]) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n as u64,
        }
    }
    let _ = f.sync_all();
    total
}

fn temp_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "tmp") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_full_disk_degrades_visibly_and_recovers_by_itself() {
    let dir = Scratch::new("full-disk");
    let root = dir.path().join("disk");
    let _disk = match Tmpfs::mount(&root, "8m") {
        Ok(m) => m,
        Err(why) => {
            println!("SKIPPED a_full_disk_degrades_visibly_and_recovers_by_itself: mounting a tmpfs was refused ({why}); it needs root, which CI has");
            return;
        }
    };
    let (server, port) = start(dir.path(), &root, Some("7"), "server");
    assert!(wait_for(Duration::from_secs(20), || tick(port) > 60));
    assert!(
        wait_for(Duration::from_secs(20), || root
            .join("saves/worlds/7-fantasy/world.snapshot")
            .exists()),
        "a first save: {}",
        server.stdout()
    );
    assert_eq!(metric(port, "venture_persistence_ok"), Some(1.0));
    assert_eq!(http_get(port, "/readyz").map(|r| r.0), Some(200));
    let save_before = std::fs::read(root.join("saves/worlds/7-fantasy/world.snapshot")).unwrap();

    // Fill the disk.
    let filler = root.join("filler");
    let filled = fill(&filler);
    assert!(filled > 0);
    assert!(
        wait_for(Duration::from_secs(30), || metric(
            port,
            "venture_persistence_ok"
        ) == Some(0.0)),
        "the gauge must drop to 0: {}",
        server.stdout()
    );
    let (code, body) = http_get(port, "/readyz").expect("readyz");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("persistence failing"), "{body}");
    assert!(body.contains("No space left on device"), "{body}");
    // The session log fails too once the last page of its file is full (small frames:
    // within about 15 s).
    assert!(
        wait_for(Duration::from_secs(60), || http_get(port, "/readyz")
            .is_some_and(|(_, b)| b.contains("session log failing"))),
        "the session log never failed: {}",
        server.stdout()
    );
    assert_eq!(http_get(port, "/healthz").map(|r| r.0), Some(200));
    // Play goes on.
    let t = tick(port);
    assert!(wait_for(Duration::from_secs(20), || tick(port) > t + 40));
    // A player who joins and leaves while the disk is full keeps their character: the
    // save that fails at the leave is retried until the disk takes it.
    let mut leaver = Proc::spawn(
        bin!("venture-client"),
        &[
            "--server",
            &format!("127.0.0.1:{port}"),
            "--name",
            "leaver",
            "--duration",
            "4",
            "--status-every",
            "0",
            "--secret-dir",
            &dir.arg("secrets"),
        ],
        dir.path(),
        "leaver",
        &[],
    );
    assert_eq!(
        leaver.wait_timeout(Duration::from_secs(60)),
        Some(Some(0)),
        "{}",
        leaver.stderr()
    );
    let leaver_save = root.join("saves/players/leaver.json");
    assert!(!leaver_save.exists(), "written on a full disk?");
    // Failed saves leave no temp files, and the previous save is intact.
    assert!(
        wait_for(Duration::from_secs(10), || temp_files(&root).is_empty()),
        "temp files left: {:?}",
        temp_files(&root)
    );
    let save_now = std::fs::read(root.join("saves/worlds/7-fantasy/world.snapshot")).unwrap();
    assert!(
        save_now == save_before || venture_sim::World::restore(&save_now).is_ok(),
        "the save on disk is a valid one"
    );
    // The lag grows while nothing is durable.
    assert!(
        wait_for(Duration::from_secs(20), || metric(
            port,
            "venture_persistence_lag_seconds"
        )
        .is_some_and(|l| l >= 2.0)),
        "lag: {:?}",
        metric(port, "venture_persistence_lag_seconds")
    );
    // One error line for the whole episode, not one per attempt.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        log_lines(&server, "persistence failing").len(),
        1,
        "{}",
        server.stdout()
    );

    // Free the space: recording resumes by itself.
    std::fs::remove_file(&filler).expect("free space");
    assert!(
        wait_for(Duration::from_secs(40), || metric(
            port,
            "venture_persistence_ok"
        ) == Some(1.0)),
        "the gauge must return to 1: {}",
        server.stdout()
    );
    assert_eq!(http_get(port, "/readyz").map(|r| r.0), Some(200));
    assert_eq!(log_lines(&server, "persistence recovered").len(), 1);
    assert!(
        wait_for(Duration::from_secs(40), || leaver_save.exists()),
        "the departed player's character was never saved: {}",
        server.stdout()
    );
    assert!(wait_for(Duration::from_secs(20), || metric(
        port,
        "venture_persistence_lag_seconds"
    )
    .is_some_and(|l| l <= 1.5)));

    // A kill -9 now loses no more than the healthy-disk recovery point.
    let mut server = server;
    let at_kill = tick(port);
    server.signal("KILL");
    assert_eq!(server.wait_timeout(Duration::from_secs(10)), Some(None));
    let (mut again, port) = start(dir.path(), &root, Some("7"), "again");
    let resumed = log_lines(&again, "world resumed")[0]["tick"]
        .as_u64()
        .expect("resumed tick");
    println!(
        "recovery point after a full disk recovered: killed at tick {at_kill}, resumed at {resumed} ({} ticks lost)",
        at_kill.saturating_sub(resumed)
    );
    assert!(
        resumed + 40 >= at_kill,
        "resumed at {resumed}, killed at {at_kill}: {}",
        again.stdout()
    );
    let _ = port;
    stop(&mut again);
    // The log kept every frame through the outage: it verifies with no gap.
    let (ok, out) = verify(&root.join("replays/7-fantasy.vrpl"));
    assert!(ok, "{out}");
    assert!(!out.contains("missing"), "{out}");
}

#[test]
fn a_kill_dash_nine_while_the_disk_is_full_resumes_from_the_last_durable_tick() {
    let dir = Scratch::new("full-disk-kill");
    let root = dir.path().join("disk");
    let _disk = match Tmpfs::mount(&root, "8m") {
        Ok(m) => m,
        Err(why) => {
            println!("SKIPPED a_kill_dash_nine_while_the_disk_is_full_resumes_from_the_last_durable_tick: mounting a tmpfs was refused ({why}); it needs root, which CI has");
            return;
        }
    };
    let (mut server, port) = start(dir.path(), &root, Some("8"), "server");
    assert!(wait_for(Duration::from_secs(20), || tick(port) > 60));
    let filler = root.join("filler");
    fill(&filler);
    assert!(
        wait_for(Duration::from_secs(60), || http_get(port, "/readyz")
            .is_some_and(|(_, b)| b.contains("session log failing"))),
        "the session log never failed: {}",
        server.stdout()
    );
    let failed_at = tick(port);
    assert!(wait_for(Duration::from_secs(20), || tick(port) > failed_at + 60));
    let lag = metric(port, "venture_persistence_lag_seconds").expect("lag");
    let at_kill = tick(port);
    server.signal("KILL");
    assert_eq!(server.wait_timeout(Duration::from_secs(10)), Some(None));
    // The restart happens on the still-full disk: it must come up, resume, and say
    // persistence is failing until space returns.
    let (mut again, port) = start(dir.path(), &root, Some("8"), "again");
    let resumed = log_lines(&again, "world resumed")[0]["tick"]
        .as_u64()
        .expect("resumed tick");
    assert!(
        wait_for(Duration::from_secs(30), || metric(
            port,
            "venture_persistence_ok"
        ) == Some(0.0)),
        "a restart on a full disk must report it: {}",
        again.stdout()
    );
    assert_eq!(http_get(port, "/readyz").map(|r| r.0), Some(503));
    std::fs::remove_file(&filler).expect("free space");
    assert!(
        wait_for(Duration::from_secs(40), || metric(
            port,
            "venture_persistence_ok"
        ) == Some(1.0)),
        "recovery after the restart: {}",
        again.stdout()
    );
    let lost = at_kill.saturating_sub(resumed);
    println!(
        "recovery point while the disk is full: killed at tick {at_kill} with lag {lag:.2}s, resumed at {resumed} ({lost} ticks lost)"
    );
    // The gauge told the truth: what was lost is what it reported (20 ticks a second),
    // within a second either way for the time between reading it and the kill.
    let reported = (lag * 20.0).round() as u64;
    assert!(
        lost + 20 >= reported && lost <= reported + 20,
        "lost {lost} ticks, the gauge said {reported}"
    );
    assert!(lost >= 40, "the outage must have cost ticks (lost {lost})");
    let before_stop = tick(port);
    stop(&mut again);
    // The log continued across the crash and the failing restart, without a gap.
    let (ok, out) = verify(&root.join("replays/8-fantasy.vrpl"));
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("crashed after tick {resumed}")),
        "{out}"
    );
    assert!(!out.contains("missing"), "{out}");
    let stopped = out
        .split("clean stop at tick ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|t| t.parse::<u64>().ok())
        .expect("a clean stop");
    assert!(stopped >= before_stop, "{out}");
}
