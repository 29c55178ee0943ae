//! Saves and crash recovery with real processes: bots play, the server is killed with
//! SIGKILL, and a restart with the same flags resumes the world no more than 20 ticks (1 s)
//! behind what the clients last confirmed; players reconnect and play on; the recorded
//! session verifies; saves are mode 0600; a corrupted save is reported and moved aside.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use venture_testkit::{bin, wait_for, Proc, Scratch, Server};

const CLIENT: &str = bin!("venture-client");

fn server_args<'a>(dir: &'a Path, extra: &[&'a str]) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "-seed".into(),
        "99".into(),
        "--saves-dir".into(),
        dir.join("saves").display().to_string(),
        "--replay-dir".into(),
        dir.join("replays").display().to_string(),
        "--autosave".into(),
        "2".into(),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn start(dir: &Path, port: Option<u16>, tag: &str) -> (Server, u16) {
    let mut b = Server::builder(bin!("venture-server"))
        .dir(dir)
        .tag(tag)
        .args(&server_args(dir, &[]));
    if let Some(p) = port {
        b = b.port(p);
    }
    let server = b.start();
    let port = server.port;
    (server, port)
}

fn bots(dir: &Path, port: u16, tag: &str, secs: &str) -> Proc {
    let server = format!("127.0.0.1:{port}");
    let secrets = dir.join("secrets").display().to_string();
    let record = dir.join(format!("{tag}.vrpl")).display().to_string();
    Proc::spawn(
        CLIENT,
        &[
            "--record",
            &record,
            "--server",
            &server,
            "--bots",
            "2",
            "--name",
            "hero",
            "--duration",
            secs,
            "--status-every",
            "1",
            "--secret-dir",
            &secrets,
            "--bot",
            "explore",
        ],
        dir,
        tag,
        &[],
    )
}

/// The highest confirmed tick any client reported in its status lines ("tick T lead L").
fn last_confirmed(stderr: &str) -> Option<u64> {
    stderr
        .lines()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let t = words
                .iter()
                .position(|w| *w == "tick")
                .and_then(|i| words.get(i + 1)?.parse::<u64>().ok())?;
            let lead = words
                .iter()
                .position(|w| *w == "lead")
                .and_then(|i| words.get(i + 1)?.parse::<u64>().ok())?;
            Some(t.saturating_sub(lead))
        })
        .max()
}

fn status_tick(port: u16) -> u64 {
    let (_, body) = venture_testkit::http_get(port, "/status").expect("status answers");
    let v: serde_json::Value = serde_json::from_str(&body).expect("status is JSON");
    v["tick"].as_u64().expect("tick")
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn kill_dash_nine_then_restart_resumes_within_a_second() {
    let dir = Scratch::new("crash");
    let (mut server, port) = start(dir.path(), None, "server1");
    let clients = bots(dir.path(), port, "bots1", "60");
    assert!(
        wait_for(Duration::from_secs(20), || last_confirmed(
            &clients.stderr()
        )
        .is_some_and(|t| t > 120)),
        "bots did not play: {}",
        clients.stderr()
    );
    std::thread::sleep(Duration::from_millis(1500));
    server.signal("KILL");
    assert_eq!(
        server.wait_timeout(Duration::from_secs(20)),
        Some(None),
        "killed by a signal"
    );
    // Let the clients print a status line or two after the kill (they confirm nothing new).
    std::thread::sleep(Duration::from_millis(1500));
    let confirmed = last_confirmed(&clients.stderr()).expect("clients confirmed ticks");
    drop(clients);

    let (mut server2, _) = start(dir.path(), Some(port), "server2");
    let resumed = status_tick(port);
    assert!(
        resumed + 20 >= confirmed,
        "resumed at {resumed}, clients had confirmed {confirmed}"
    );
    let log2 = server2.stdout();
    assert!(log2.contains("world resumed"), "{log2}");

    // The same players reconnect and play on, with no desync.
    let mut again = bots(dir.path(), port, "bots2", "6");
    assert_eq!(
        again.wait_timeout(Duration::from_secs(40)),
        Some(Some(0)),
        "{}",
        again.stderr()
    );
    for line in again.stdout().lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("final JSON");
        assert_eq!(v["desyncs"], 0);
        assert!(v["confirmed"].as_u64().unwrap_or(0) > 40, "{v}");
    }
    assert!(status_tick(port) > resumed);
    // What the client confirmed, recorded on its side, verifies too.
    let out = Command::new(bin!("venture-replay"))
        .args([
            "verify",
            &dir.path().join("bots2.vrpl").display().to_string(),
        ])
        .output()
        .expect("venture-replay runs");
    assert!(
        out.status.success(),
        "client recording: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    server2.signal("TERM");
    assert_eq!(server2.wait_timeout(Duration::from_secs(20)), Some(Some(0)));

    // Everything written is private to the server's user.
    #[cfg(unix)]
    for f in [
        "saves/worlds/99-fantasy/world.snapshot",
        "saves/worlds/99-fantasy/world.json",
        "saves/latest.json",
        "replays/99-fantasy.vrpl",
    ] {
        assert_eq!(mode(&dir.path().join(f)), 0o600, "{f}");
    }

    // The session log, across the crash, verifies from the start of the world.
    let out = Command::new(bin!("venture-replay"))
        .args([
            "verify",
            &dir.path()
                .join("replays/99-fantasy.vrpl")
                .display()
                .to_string(),
        ])
        .output()
        .expect("venture-replay runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_corrupted_save_is_reported_and_moved_aside() {
    let dir = Scratch::new("corrupt");
    let (mut server, port) = start(dir.path(), None, "server1");
    std::thread::sleep(Duration::from_millis(2500));
    server.signal("TERM");
    assert_eq!(server.wait_timeout(Duration::from_secs(20)), Some(Some(0)));
    let tick_before = {
        let meta = std::fs::read_to_string(dir.path().join("saves/worlds/99-fantasy/world.json"))
            .expect("meta");
        serde_json::from_str::<serde_json::Value>(&meta).expect("json")["tick"]
            .as_u64()
            .expect("tick")
    };
    let snap = dir.path().join("saves/worlds/99-fantasy/world.snapshot");
    std::fs::write(&snap, b"this is not a snapshot").expect("corrupt it");

    let (mut server2, port2) = start(dir.path(), Some(port), "server2");
    let log = server2.stdout();
    assert!(
        log.contains("unreadable") && log.contains("world.snapshot"),
        "{log}"
    );
    let moved: Vec<_> = std::fs::read_dir(dir.path().join("saves/worlds/99-fantasy"))
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .collect();
    assert_eq!(moved.len(), 1, "the bad save is kept aside");
    // The journal alone brings the world back to where it was.
    assert!(status_tick(port2) >= tick_before);
    server2.signal("TERM");
    assert_eq!(server2.wait_timeout(Duration::from_secs(20)), Some(Some(0)));
}
