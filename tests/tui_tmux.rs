//! The terminal client as a person uses it: the real `venture-client` runs in tmux against
//! a real server on 127.0.0.1. Keys go in with `tmux send-keys`, the screen comes back
//! with `tmux capture-pane`. Checks: the map and HUD are drawn, holding `d` walks the
//! player east *on the server* (read back from the server's own session log), a chat
//! line reaches the log, and quitting (q, y) leaves the terminal restored: raw mode off
//! (`stty` shows icanon and echo), the alternate screen left and the cursor shown (tmux's
//! pane flags). Also: a closed terminal, the spectator view, and an injected desync
//! (reported, resynced, exit 1).
//!
//! tmux ([`venture_testkit::Tmux`]) is a Debian package; `.ci/run` installs it when missing. Every wait has a
//! generous deadline and polls the pane: the test must hold on a loaded 2-core machine.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use venture_replay::{start_world, Record, SessionReader};
use venture_sim::Vec2;
use venture_testkit::{bin, wait_for, Scratch, Server, Tmux};

const CLIENT: &str = bin!("venture-client");
const NAME: &str = "Tester";

fn session_log(replays: &Path) -> Option<PathBuf> {
    std::fs::read_dir(replays)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "vrpl"))
}

/// The server's world as its session log has it so far: where `NAME` stands.
fn server_position(replays: &Path) -> Option<Vec2> {
    let mut reader = SessionReader::open(session_log(replays)?).ok()?;
    let mut world = start_world(reader.header()).ok()?;
    while let Ok(Some(record)) = reader.next_record() {
        if let Record::Frame { frame, .. } = record {
            world.step(&frame).ok()?;
        }
    }
    let pos = world
        .players()
        .find(|(_, p)| p.name == NAME)
        .map(|(_, p)| p.pos);
    pos
}

/// Quits with q and y; the screen once the shell has printed the exit status.
fn quit(tmux: &Tmux) -> String {
    tmux.keys(&["q"]);
    tmux.wait_screen("the quit question", Duration::from_secs(20), |s| {
        s.contains("Leave the game? y / n")
    });
    tmux.keys(&["y"]);
    tmux.wait_screen("the client's exit", Duration::from_secs(30), |s| {
        s.contains("EXITED=")
    })
}

#[test]
fn a_person_plays_in_tmux() {
    let dir = Scratch::new("tui-tmux");
    let server = Server::builder(bin!("venture-server"))
        .dir(dir.path())
        .args(&["-seed", "12345", "--max-players", "4"])
        .start();
    let tmux = Tmux::new("play");
    let cfg = dir.join("config");
    let stty = dir.join("stty.txt");
    // After the client exits, the same terminal is asked for its mode: raw mode left on
    // would show as -icanon -echo.
    let shell = format!(
        "env XDG_CONFIG_HOME={cfg} TERM=xterm-256color {CLIENT} -multiplayer -server 127.0.0.1:{port} --name {NAME}; \
         echo EXITED=$?; stty -a > {stty}; sleep 600",
        cfg = cfg.display(),
        port = server.port,
        stty = stty.display(),
    );
    tmux.start(120, 40, &shell);

    // The map and HUD.
    let screen = tmux.wait_screen("the game screen", Duration::from_secs(60), |s| {
        s.contains("Gold 100") && s.contains("Lv 1") && s.contains('@') && s.contains("HP ")
    });
    assert!(screen.contains("Depth 1  fantasy"), "{screen}");
    assert!(screen.contains("You joined as Tester."), "{screen}");
    assert!(
        screen.contains('#') && screen.contains('.'),
        "map tiles drawn:\n{screen}"
    );
    assert_eq!(tmux.pane("alternate_on"), "1");

    // Where the server has us before walking.
    let replays = dir.join("replays");
    let mut start = None;
    assert!(
        wait_for(Duration::from_secs(30), || {
            start = server_position(&replays);
            start.is_some()
        }),
        "the server's session log never showed {NAME}"
    );
    let start = start.unwrap();

    // Hold d (east): a terminal without key-release reporting sends repeats.
    let walk_until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < walk_until {
        tmux.keys(&["d"]);
        std::thread::sleep(Duration::from_millis(30));
    }
    let mut now = start;
    let moved = wait_for(Duration::from_secs(30), || {
        if let Some(p) = server_position(&replays) {
            now = p;
        }
        now.x - start.x >= 2 * venture_sim::SUB
    });
    assert!(
        moved,
        "the server saw no walk east: from {start:?} to {now:?}"
    );
    assert!(
        (now.y - start.y).abs() < venture_sim::SUB,
        "walked east, not elsewhere: from {start:?} to {now:?}"
    );

    // Chat: Enter, a line, Enter; it comes back through the server into the log.
    tmux.keys(&["Enter"]);
    tmux.wait_screen("the chat prompt", Duration::from_secs(20), |s| {
        s.contains("Say:")
    });
    tmux.keys(&["-l", "hello from tmux"]);
    tmux.keys(&["Enter"]);
    tmux.wait_screen("the chat line in the log", Duration::from_secs(30), |s| {
        s.contains("<Tester> hello from tmux")
    });

    // The same name from another machine (another secret) is refused, readably, exit 3.
    let other_cfg = dir.join("config-other");
    let refused = format!(
        "env XDG_CONFIG_HOME={} TERM=xterm-256color {CLIENT} -server 127.0.0.1:{} --name {NAME}; echo EXITED=$?; sleep 600",
        other_cfg.display(),
        server.port
    );
    tmux.run(&["new-window", "-d", "-t", "play", "-n", "two", &refused]);
    let capture_two = || tmux.run(&["capture-pane", "-p", "-t", "play:two"]);
    let mut two = String::new();
    let shown = wait_for(Duration::from_secs(60), || {
        two = capture_two();
        two.contains("Cannot join")
    });
    assert!(shown, "no refusal screen:\n{two}");
    assert!(
        two.contains("is in use") && two.contains("--name OTHER"),
        "{two}"
    );
    tmux.run(&["send-keys", "-t", "play:two", "x"]);
    assert!(
        wait_for(Duration::from_secs(30), || {
            two = capture_two();
            two.contains("EXITED=")
        }),
        "the refused client did not exit:\n{two}"
    );
    assert!(two.contains("EXITED=3"), "{two}");

    // Help, then quit with confirmation.
    tmux.keys(&["?"]);
    tmux.wait_screen("the help screen", Duration::from_secs(20), |s| {
        s.contains("Controls")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_screen("help closed", Duration::from_secs(20), |s| {
        !s.contains("Controls")
    });
    let screen = quit(&tmux);
    assert!(screen.contains("EXITED=0"), "{screen}");
    assert!(screen.contains("Left the game: Tester"), "{screen}");
    // Restored: the normal screen, a visible cursor, cooked mode.
    tmux.assert_restored(&stty);
    // And the server saw us leave.
    assert!(
        wait_for(Duration::from_secs(20), || server.status().is_some_and(
            |s| s["players"].as_array().is_some_and(|p| p.is_empty())
        )),
        "the server still lists the player"
    );
}

/// A terminal that goes away (the pane is killed: SIGHUP, then a dead tty) ends the client:
/// it says goodbye to the server and exits instead of spinning on the dead terminal.
#[test]
fn a_closed_terminal_leaves_the_game() {
    let dir = Scratch::new("tui-hangup");
    let server = Server::builder(bin!("venture-server"))
        .dir(dir.path())
        .args(&["-seed", "12345", "--no-replay"])
        .start();
    let tmux = Tmux::new("hangup");
    let shell = format!(
        "exec env XDG_CONFIG_HOME={} TERM=xterm-256color {CLIENT} -server 127.0.0.1:{} --name {NAME}",
        dir.join("config").display(),
        server.port
    );
    tmux.start(100, 30, &shell);
    let pid: u32 = tmux.pane("pane_pid").parse().expect("pane pid");
    tmux.wait_screen("the game screen", Duration::from_secs(60), |s| {
        s.contains("Gold 100")
    });
    tmux.run(&["kill-session", "-t", "play"]);
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let gone = |p: &Path| {
        // A zombie (already exited, not yet reaped by the dead tmux) counts as gone.
        std::fs::read_to_string(p.join("stat")).map_or(true, |s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
    };
    assert!(
        wait_for(Duration::from_secs(30), || gone(&proc_dir)),
        "the client outlived its terminal"
    );
    assert!(
        wait_for(Duration::from_secs(5), || server.status().is_some_and(
            |s| s["players"].as_array().is_some_and(|p| p.is_empty())
        )),
        "the server still lists the player (no Leave sent)"
    );
}

#[test]
fn a_spectator_watches_in_tmux() {
    let dir = Scratch::new("tui-spectate");
    let server = Server::builder(bin!("venture-server"))
        .dir(dir.path())
        .args(&["-seed", "12345", "--no-replay", "-max-players", "1"])
        .start();
    let secrets = dir.join("secrets");
    let _bram = venture_testkit::Proc::spawn(
        CLIENT,
        &[
            "--server",
            &server.addr(),
            "--name",
            "Bram",
            "--bot",
            "explore",
            "--duration",
            "60",
            "--status-every",
            "0",
            "--secret-dir",
            secrets.to_str().expect("utf-8 path"),
        ],
        dir.path(),
        "bram",
        &[],
    );
    let tmux = Tmux::new("spectate");
    // Its own config directory: pins kept in the real home would name an earlier test's
    // server on the same port and refuse this one's key.
    let shell = format!(
        "env XDG_CONFIG_HOME={} TERM=xterm-256color {CLIENT} --spectate -server 127.0.0.1:{}; echo EXITED=$?; sleep 600",
        dir.join("config").display(),
        server.port
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "play",
        "-x",
        "120",
        "-y",
        "30",
        &shell,
    ]);
    // The full server (one slot, Bram's) still admits the spectator, who follows Bram.
    let screen = tmux.wait_screen("the spectator's view", Duration::from_secs(60), |s| {
        s.contains("Bram  Lv") && s.contains("Watching as a spectator")
    });
    assert!(screen.contains('@') && screen.contains('#'), "{screen}");
    assert!(screen.contains("Tab/PgDn: next player"), "{screen}");
    assert!(!screen.contains("You joined"), "{screen}");
    let status = server.status().expect("status");
    assert_eq!(status["spectators"], 1, "{status}");
    assert_eq!(
        status["players"].as_array().map(Vec::len),
        Some(1),
        "{status}"
    );
    tmux.keys(&["c"]);
    tmux.wait_screen("the free camera", Duration::from_secs(10), |s| {
        s.contains("Free camera")
    });
    tmux.keys(&["Tab"]);
    tmux.wait_screen("following again", Duration::from_secs(10), |s| {
        s.contains("Following Bram.")
    });
    tmux.keys(&["q"]);
    tmux.wait_screen("the quit question", Duration::from_secs(10), |s| {
        s.to_lowercase().contains("quit")
    });
    tmux.keys(&["y"]);
    tmux.wait_screen("the client's exit", Duration::from_secs(20), |s| {
        s.contains("EXITED=0")
    });
    assert!(
        wait_for(Duration::from_secs(10), || server
            .status()
            .is_some_and(|s| s["spectators"] == 0)),
        "the spectator said goodbye"
    );
}

/// An injected desync in the terminal client (`--inject-desync T`, the shell's desync
/// handling that the headless client shares): the log says so with the report's path, the
/// report is the one `venture-replay diff` reads, the game goes on (resynced), and the
/// client exits 1 after quitting.
#[test]
fn a_desync_in_the_terminal_client_is_reported_and_resynced() {
    let dir = Scratch::new("tui-desync");
    let server = Server::builder(bin!("venture-server"))
        .dir(dir.path())
        .args(&["-seed", "5151", "--no-replay"])
        .start();
    // Six seconds from now: joined long before, even on a loaded machine.
    let inject_at = server.tick().expect("/status has the tick") + 120;
    let reports = dir.join("reports");
    let tmux = Tmux::new("desync");
    let shell = format!(
        "env XDG_CONFIG_HOME={cfg} TERM=xterm-256color {CLIENT} -server 127.0.0.1:{port} --name {NAME} \
         --desync-dir {reports} --inject-desync {inject_at}; echo EXITED=$?; sleep 600",
        cfg = dir.join("config").display(),
        port = server.port,
        reports = reports.display(),
    );
    tmux.start(120, 40, &shell);
    let screen = tmux.wait_screen("the desync line", Duration::from_secs(90), |s| {
        s.contains("Out of sync at tick")
    });
    let tick: u64 = screen
        .split("Out of sync at tick ")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no tick in the desync line:\n{screen}"));
    assert!(
        tick >= inject_at,
        "detected at {tick}, injected at {inject_at}"
    );
    assert!(screen.contains("resyncing (report"), "{screen}");
    let report = reports.join(format!("desync-{NAME}-t{tick}.json"));
    let text = std::fs::read_to_string(&report)
        .unwrap_or_else(|e| panic!("{}: {e}\n{screen}", report.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("the report is JSON");
    assert_eq!(json["kind"], "desync_report", "{text}");
    assert_eq!(json["tick"], tick, "{text}");
    assert!(reports
        .join(format!("desync-{NAME}-t{tick}.snapshot"))
        .exists());
    // Resynced: the network line (N) shows ticks confirmed well past the desync.
    tmux.keys(&["n"]);
    let confirmed = |s: &str| -> Option<u64> {
        s.split("confirmed tick ")
            .nth(1)?
            .split(' ')
            .next()?
            .parse()
            .ok()
    };
    tmux.wait_screen(
        "ticks confirmed after the resync",
        Duration::from_secs(60),
        |s| confirmed(s).is_some_and(|t| t > tick + 40),
    );
    tmux.keys(&["n"]);
    let screen = quit(&tmux);
    assert!(screen.contains("EXITED=1"), "a desync exits 1:\n{screen}");
}
