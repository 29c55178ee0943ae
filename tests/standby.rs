//! The hot standby on real binaries and real UDP on 127.0.0.1: a primary with bots, a
//! standby (`-standby-of`) holding the same `server.key` in its own saves directory.
//! - `kill -9` of the primary: the standby takes over on the primary's port; every bot
//!   plays again (the RTO is printed), with zero desyncs, as the same characters; the
//!   standby's session log verifies across the takeover (two segments).
//! - SIGSTOP of the primary, clients with `-server A,B`: the standby takes over on its own
//!   port and the bots move there; at SIGCONT the promoted standby tells the old primary
//!   (proving the key), which stops with exit 4 instead of serving the world beside it.
//! - Shared storage (one saves directory): the standby cannot lock the world, follows in
//!   memory, and does not take over from a frozen primary (it still holds the lock); once
//!   the primary is killed for real, it does, completing the primary's session log with
//!   the frames it held (one log, verified across the takeover).
//! - A person in the terminal client (tmux) with `-server A,B`: `kill -9` of the primary;
//!   the screen says it is trying the standby, then plays on there as the same character.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use venture_testkit::standby::{copy_key, start_standby, status};
use venture_testkit::{
    bin, characters, free_port, http_get, wait_for, Proc, Scratch, Server, Tmux,
};

const SERVER: &str = bin!("venture-server");
const CLIENT: &str = bin!("venture-client");
const SECRET: [u8; 16] = *b"follow-me-around";

fn primary(dir: &Path, port: u16) -> Server {
    std::fs::create_dir_all(dir).expect("the primary's directory");
    Server::builder(SERVER)
        .persisting_in(dir)
        .port(port)
        .tag("primary")
        .args(&["-seed", "9", "--autosave", "1"])
        .start()
}

fn bots(dir: &Path, servers: &str, secrets: &Path, seconds: u32) -> Proc {
    let secret_dir = secrets.display().to_string();
    let duration = seconds.to_string();
    Proc::spawn(
        CLIENT,
        &[
            "--server",
            servers,
            "--name",
            "hold",
            "--bots",
            "3",
            "--bot",
            "explore",
            "--duration",
            &duration,
            "--status-every",
            "1",
            "--secret-dir",
            &secret_dir,
        ],
        dir,
        "bots",
        &[],
    )
}

fn players(port: u16) -> usize {
    status(port).map_or(0, |s| s["players"].as_array().map_or(0, Vec::len))
}

/// `deploy/keepalived/venture-ready.sh PORT`'s exit code.
fn ready_check(port: u16) -> Option<i32> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/keepalived/venture-ready.sh");
    Command::new(script)
        .arg(port.to_string())
        .output()
        .expect("the check script runs")
        .status
        .code()
}

/// `venture-replay verify` on `log`: its stdout, after asserting success.
fn verify(log: &Path) -> String {
    let out = Command::new(bin!("venture-replay"))
        .args(["verify", &log.display().to_string()])
        .output()
        .expect("venture-replay runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{}: {text}", log.display());
    text
}

#[test]
fn the_standby_takes_over_after_kill_9_and_every_bot_plays_on() {
    let dir = Scratch::new("standby-kill9");
    let (pdir, sdir) = (dir.path().join("primary"), dir.path().join("standby"));
    let secrets = dir.path().join("secrets");
    let before = {
        let c = characters::veteran();
        characters::plant(&pdir, &secrets, "hold0", &SECRET, &c);
        c
    };
    let port = free_port();
    let http = free_port();
    let mut p = primary(&pdir, port);
    copy_key(&pdir, &sdir);
    let mut s = start_standby(SERVER, &sdir, port, port, http, &["--autosave", "1"]);
    let mut b = bots(dir.path(), &format!("127.0.0.1:{port}"), &secrets, 40);
    assert!(
        wait_for(Duration::from_secs(30), || players(port) == 3),
        "bots did not join: {}",
        b.stderr()
    );
    // The pair on both sides: the primary sees its follower, the standby its lag.
    assert!(wait_for(Duration::from_secs(10), || {
        status(port).is_some_and(|v| {
            v["role"] == "primary" && v["followers"].as_array().is_some_and(|f| f.len() == 1)
        }) && status(http)
            .is_some_and(|v| v["role"] == "standby" && v["characters"].as_u64() >= Some(3))
    }));
    let (code, body) = http_get(http, "/readyz").expect("readyz");
    assert_eq!(code, 503, "a standby is not ready: {body}");
    let (_, metrics) = http_get(http, "/metrics").expect("metrics");
    assert!(
        metrics.contains("venture_role{role=\"standby\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("venture_follower_lag_ticks"), "{metrics}");
    let (_, metrics) = http_get(port, "/metrics").expect("metrics");
    assert!(metrics.contains("venture_followers 1"), "{metrics}");
    // keepalived's check script: the primary serves, the following standby does not.
    assert_eq!(ready_check(port), Some(0));
    assert_ne!(ready_check(http), Some(0));
    // Playing for a while: the restored veteran is saved by the primary and sent on.
    assert!(wait_for(Duration::from_secs(20), || b
        .stderr()
        .matches(": playing tick")
        .count()
        >= 6));
    std::thread::sleep(Duration::from_millis(2000));
    let lag = status(http).expect("standby status")["lag_ticks"].as_u64();
    assert!(lag.is_some_and(|l| l <= 5), "lag {lag:?}");

    let killed_at_tick = status(port).and_then(|v| v["tick"].as_u64()).unwrap_or(0);
    p.signal("KILL");
    let killed = Instant::now();
    assert_eq!(p.wait_timeout(Duration::from_secs(5)), Some(None));
    assert!(
        wait_for(Duration::from_secs(20), || b
            .stderr()
            .matches("playing again")
            .count()
            == 3),
        "bots did not come back: {}\nstandby: {}",
        b.stderr(),
        s.stderr()
    );
    let rto = killed.elapsed();
    eprintln!("RTO: all 3 bots playing again {rto:?} after kill -9 of the primary (takeover after 1 s of silence)");
    assert!(
        rto < Duration::from_secs(5),
        "took {rto:?} (target 2 s; margin for a loaded machine)"
    );
    let promoted = status(port).expect("the standby serves the primary's port");
    assert_eq!(ready_check(port), Some(0), "the promoted standby is ready");
    assert_eq!(promoted["role"], "primary", "{promoted}");
    let from = &promoted["promoted_from_standby"];
    assert!(
        from["tick"]
            .as_u64()
            .is_some_and(|t| t + 2 >= killed_at_tick),
        "killed at {killed_at_tick}: {promoted}"
    );
    assert!(s.stdout().contains("standby promoted"), "{}", s.stdout());

    assert_eq!(
        b.wait_timeout(Duration::from_secs(60)),
        Some(Some(0)),
        "{}",
        b.stderr()
    );
    for line in b.stdout().lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("final JSON");
        assert_eq!(v["desyncs"], 0, "{v}");
        assert_eq!(v["reconnects"], 1, "{v}");
    }
    assert_eq!(b.stderr().matches("rejoined as slot").count(), 3);
    s.signal("TERM");
    assert_eq!(
        s.wait_timeout(Duration::from_secs(20)),
        Some(Some(0)),
        "{}",
        s.stderr()
    );
    // The veteran came back as itself on the standby: level, gold, every item.
    let after = characters::saved(&sdir, "hold0");
    assert!(after.progress.level >= 7, "{:?}", after.progress);
    assert!(after.progress.gold >= 555, "{:?}", after.progress);
    characters::assert_keeps_items(&after, &before);
    // The standby's log: following, then serving, one world.
    let report = verify(&sdir.join("replays/9-fantasy.vrpl"));
    eprintln!("{report}");
    assert!(report.contains("segment"), "{report}");
    verify(&pdir.join("replays/9-fantasy.vrpl"));
}

/// The bots exit 0 with zero desyncs each, then the (promoted) standby stops cleanly.
fn finish(b: &mut Proc, s: &mut Server) {
    assert_eq!(
        b.wait_timeout(Duration::from_secs(60)),
        Some(Some(0)),
        "{}",
        b.stderr()
    );
    assert_no_desyncs(b);
    s.signal("TERM");
    assert_eq!(s.wait_timeout(Duration::from_secs(20)), Some(Some(0)));
}

/// The final JSON lines of a bots process: every bot with zero desyncs.
fn assert_no_desyncs(b: &Proc) {
    let lines: Vec<String> = b.stdout().lines().map(String::from).collect();
    assert_eq!(lines.len(), 3, "{}", b.stderr());
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(&line).expect("final JSON");
        assert_eq!(v["desyncs"], 0, "{v}");
    }
}

#[test]
fn a_frozen_primary_that_wakes_after_the_takeover_is_told_and_stops() {
    let dir = Scratch::new("standby-sigstop");
    let (pdir, sdir) = (dir.path().join("primary"), dir.path().join("standby"));
    let secrets = dir.path().join("secrets");
    let (port_a, port_b, http) = (free_port(), free_port(), free_port());
    let mut p = primary(&pdir, port_a);
    copy_key(&pdir, &sdir);
    // A -seed copied wrong: the standby serves the world it followed all the same.
    let mut s = start_standby(SERVER, &sdir, port_a, port_b, http, &["-seed", "77"]);
    // No virtual IP: the clients know both addresses.
    let list = format!("127.0.0.1:{port_a},127.0.0.1:{port_b}");
    let mut b = bots(dir.path(), &list, &secrets, 30);
    assert!(
        wait_for(Duration::from_secs(30), || players(port_a) == 3),
        "bots did not join: {}",
        b.stderr()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(p.signal("STOP"));
    let frozen = Instant::now();
    assert!(
        wait_for(Duration::from_secs(20), || players(port_b) == 3
            && b.stderr().matches("playing again").count() == 3),
        "bots did not move to the standby: {}\nstandby: {}",
        b.stderr(),
        s.stdout()
    );
    eprintln!(
        "all 3 bots playing on the standby {:?} after SIGSTOP of the primary",
        frozen.elapsed()
    );
    // The primary wakes up: the promoted standby tells it, and it stops (exit 4) rather
    // than serve the same world beside it.
    assert!(p.signal("CONT"));
    let woke = Instant::now();
    assert_eq!(
        p.wait_timeout(Duration::from_secs(20)),
        Some(Some(4)),
        "the old primary kept running: {}",
        p.stdout()
    );
    eprintln!("the old primary stopped {:?} after SIGCONT", woke.elapsed());
    assert!(
        p.stderr().contains("replaced by the standby"),
        "{}",
        p.stderr()
    );
    assert_eq!(status(port_b).expect("status")["seed"], 9);
    assert!(wait_for(Duration::from_secs(10), || status(port_b)
        .is_some_and(|v| v["promoted_from_standby"]
            ["old_primary_acknowledged"]
            == true)));
    finish(&mut b, &mut s);
    verify(&sdir.join("replays/9-fantasy.vrpl"));
}

#[test]
fn on_shared_storage_the_world_lock_fences_a_standby_from_a_frozen_primary() {
    let dir = Scratch::new("standby-shared");
    let secrets = dir.path().join("secrets");
    let (port, http) = (free_port(), free_port());
    let mut p = primary(dir.path(), port);
    // The same saves (and key): one disk, two hosts' worth of processes.
    let mut s = start_standby(SERVER, dir.path(), port, port, http, &[]);
    let fenced = || status(http).is_some_and(|v| v["role"] == "standby" && v["fenced"].is_string());
    assert!(
        wait_for(Duration::from_secs(10), fenced),
        "{:?}",
        status(http)
    );
    assert_eq!(status(http).expect("status")["recording"], false);
    let mut b = bots(dir.path(), &format!("127.0.0.1:{port}"), &secrets, 40);
    assert!(wait_for(Duration::from_secs(30), || players(port) == 3));
    // Frozen: silent, but still holding the world lock. The standby must not take over.
    assert!(p.signal("STOP"));
    assert!(wait_for(Duration::from_secs(10), || s
        .stdout()
        .contains("not taking over: fenced by the world lock")));
    std::thread::sleep(Duration::from_secs(2));
    assert!(fenced(), "{:?}", status(http));
    assert!(
        !s.stdout().contains("taking over from the primary"),
        "{}",
        s.stdout()
    );
    // It wakes up and serves on; the standby follows again.
    assert!(p.signal("CONT"));
    assert!(wait_for(Duration::from_secs(10), || status(http)
        .is_some_and(|v| v["primary_silent_ms"]
            .as_u64()
            .is_some_and(|ms| ms < 500))));
    assert!(wait_for(Duration::from_secs(20), || players(port) == 3
        && b.stderr().matches(": playing tick").count() >= 3));
    // Dead for real: the lock is free, and the standby takes over on the same port.
    p.signal("KILL");
    assert_eq!(p.wait_timeout(Duration::from_secs(5)), Some(None));
    assert!(
        wait_for(Duration::from_secs(20), || status(port)
            .is_some_and(
                |v| v["role"] == "primary" && v["players"].as_array().is_some_and(|a| a.len() == 3)
            )),
        "{}",
        s.stdout()
    );
    finish(&mut b, &mut s);
    // One log across the takeover: the standby completed the primary's with the frames
    // it held, and continued it.
    assert!(
        s.stdout().contains("completed the primary's session log"),
        "{}",
        s.stdout()
    );
    let report = verify(&dir.path().join("replays/9-fantasy.vrpl"));
    assert!(report.contains("segment 2"), "{report}");
}

#[test]
fn a_standby_with_another_key_is_refused_and_says_why() {
    let dir = Scratch::new("standby-wrong-key");
    let (pdir, sdir) = (dir.path().join("primary"), dir.path().join("standby"));
    let port = free_port();
    let _p = primary(&pdir, port);
    // Another server's key in the standby's saves.
    let other = dir.path().join("other");
    drop(primary(&other, free_port()));
    copy_key(&other, &sdir);
    let http = free_port();
    let s = Server::builder(SERVER)
        .persisting_in(&sdir)
        .port(free_port())
        .tag("standby")
        .args(&[
            "--standby-of",
            &format!("127.0.0.1:{port}"),
            "--standby-http-port",
            &http.to_string(),
        ])
        .spawn();
    assert!(
        wait_for(Duration::from_secs(20), || s
            .stdout()
            .contains("the primary refused this standby")),
        "{}",
        s.stdout()
    );
    assert!(
        s.stdout().contains("not this standby's server.key"),
        "{}",
        s.stdout()
    );
    let v = status(http).expect("status");
    assert_ne!(v["phase"], "following", "{v}");
    assert_eq!(v["tick"], 0, "{v}");
}

#[test]
fn a_person_in_the_terminal_plays_on_at_the_standby_after_kill_9() {
    let dir = Scratch::new("standby-tmux");
    let (pdir, sdir) = (dir.path().join("primary"), dir.path().join("standby"));
    let (port_a, port_b, http) = (free_port(), free_port(), free_port());
    let mut p = primary(&pdir, port_a);
    copy_key(&pdir, &sdir);
    let mut s = start_standby(SERVER, &sdir, port_a, port_b, http, &["--autosave", "1"]);
    let tmux = Tmux::new("standby");
    let shell = format!(
        "env XDG_CONFIG_HOME={cfg} TERM=xterm-256color {CLIENT} -multiplayer \
         -server 127.0.0.1:{port_a},127.0.0.1:{port_b} --name Ada; echo EXITED=$?; sleep 600",
        cfg = dir.join("config").display(),
    );
    tmux.start(120, 40, &shell);
    tmux.wait_screen("the game on the primary", Duration::from_secs(60), |s| {
        s.contains("You joined as Ada.") && s.contains("HP ") && s.contains('@')
    });
    // The standby holds Ada's character before the primary dies.
    assert!(
        wait_for(Duration::from_secs(20), || players(port_a) == 1
            && status(http)
                .is_some_and(|v| v["characters"].as_u64() >= Some(1))),
        "{:?}",
        status(http)
    );
    p.signal("KILL");
    assert_eq!(p.wait_timeout(Duration::from_secs(5)), Some(None));
    let screen = tmux.wait_screen("playing on at the standby", Duration::from_secs(30), |s| {
        s.contains(&format!("Playing again on 127.0.0.1:{port_b}.")) && s.contains("HP ")
    });
    eprintln!("{screen}");
    assert!(
        screen.contains(&format!(
            "The server stopped answering: trying 127.0.0.1:{port_b}."
        )),
        "{screen}"
    );
    assert!(screen.contains('@'), "{screen}");
    let promoted = status(port_b).expect("the promoted standby's status");
    assert_eq!(promoted["role"], "primary", "{promoted}");
    assert_eq!(players(port_b), 1, "{promoted}");
    assert_eq!(promoted["players"][0]["name"], "Ada", "{promoted}");
    // Leaving: q, y; the client exits 0.
    tmux.keys(&["q"]);
    tmux.wait_screen("the quit question", Duration::from_secs(20), |s| {
        s.contains("Leave the game? y / n")
    });
    tmux.keys(&["y"]);
    let end = tmux.wait_screen("the client's exit", Duration::from_secs(30), |s| {
        s.contains("EXITED=")
    });
    assert!(end.contains("EXITED=0"), "{end}");
    s.signal("TERM");
    assert_eq!(s.wait_timeout(Duration::from_secs(20)), Some(Some(0)));
}
