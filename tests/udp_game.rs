//! A real game over UDP on 127.0.0.1: venture-server and venture-client processes.
//!
//! One server (-max-players 4) plays for over a minute (well past laminar's 513-packet
//! window) with bot clients in separate processes. Along the way: a fifth client is
//! refused as full, a client with another protocol version gets a clear error on both
//! sides, one client is killed with SIGKILL (timed out, slot freed, the slot is reused),
//! and garbage datagrams hit the game port. The long-running clients finish with zero
//! desyncs and exit 0.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use venture_testkit::{bin, final_json, wait_for, Proc, Scratch, Server};

const CLIENT: &str = bin!("venture-client");

fn client(dir: &std::path::Path, port: u16, name: &str, extra: &[&str]) -> Proc {
    let server = format!("127.0.0.1:{port}");
    let secrets = dir.join("secrets");
    let secrets = secrets.to_str().expect("utf-8 path");
    let mut args = vec![
        "--server",
        &server,
        "--name",
        name,
        "--status-every",
        "0",
        "--secret-dir",
        secrets,
    ];
    args.extend_from_slice(extra);
    Proc::spawn(CLIENT, &args, dir, name, &[])
}

#[test]
fn four_bots_play_a_minute_over_udp_with_rejects_kills_and_garbage() {
    let dir = Scratch::new("udp-game");
    let mut server = Server::builder(bin!("venture-server"))
        .dir(dir.path())
        .args(&["-max-players", "4", "-seed", "4242"])
        .start();
    let port = server.port;
    let started = Instant::now();
    let play_secs = "70";
    let mut long: Vec<Proc> = (0..3)
        .map(|i| {
            client(
                dir.path(),
                port,
                &format!("long{i}"),
                &["--duration", play_secs, "--bot", "explore"],
            )
        })
        .collect();
    let mut victim = client(dir.path(), port, "victim", &["--duration", "120"]);
    let log_path = server.stdout_path.clone();
    let server_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(
        wait_for(Duration::from_secs(20), || server_log()
            .matches("player connected")
            .count()
            >= 4),
        "four players should connect: {}",
        server_log()
    );

    // A fifth player is refused with a clear error.
    let mut fifth = client(dir.path(), port, "fifth", &["--duration", "10"]);
    let code = fifth
        .wait_timeout(Duration::from_secs(20))
        .expect("fifth client exits");
    assert_eq!(code, Some(3), "stderr: {}", fifth.stderr());
    assert!(
        fifth.stderr().contains("full"),
        "stderr: {}",
        fifth.stderr()
    );

    // Another protocol version: a clear error on the client and a warning on the server.
    let mut odd = client(
        dir.path(),
        port,
        "oddversion",
        &["--duration", "10", "--protocol-version", "99"],
    );
    assert_eq!(
        odd.wait_timeout(Duration::from_secs(20)).expect("exits"),
        Some(3)
    );
    assert!(
        odd.stderr().contains("version mismatch"),
        "stderr: {}",
        odd.stderr()
    );
    assert!(wait_for(Duration::from_secs(5), || server_log()
        .contains("version mismatch")));

    // Garbage at the game port does not disturb anyone.
    let junk = UdpSocket::bind("127.0.0.1:0").expect("bind");
    for i in 0..2000u32 {
        let len = (i as usize * 37) % 1400;
        let bytes: Vec<u8> = (0..len).map(|j| (i as usize * 31 + j * 7) as u8).collect();
        let _ = junk.send_to(&bytes, ("127.0.0.1", port));
        if i % 200 == 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    // SIGKILL one client: the server times it out and frees the slot for a newcomer.
    victim.signal("KILL");
    let _ = victim.wait_timeout(Duration::from_secs(5));
    assert!(
        wait_for(Duration::from_secs(25), || server_log().lines().any(|l| l
            .contains("player disconnected")
            && l.contains("victim"))),
        "victim not timed out: {}",
        server_log()
    );
    let newcomer_secs = (70u64.saturating_sub(started.elapsed().as_secs()) + 2).to_string();
    let mut newcomer = client(
        dir.path(),
        port,
        "newcomer",
        &["--duration", &newcomer_secs, "--bot", "fight"],
    );

    for p in long.iter_mut().chain(std::iter::once(&mut newcomer)) {
        let code = p
            .wait_timeout(Duration::from_secs(120))
            .expect("client finishes");
        let v = final_json(p);
        assert_eq!(code, Some(0), "client exit; stderr: {}", p.stderr());
        assert_eq!(v["desyncs"], 0, "{v}");
        assert!(v["confirmed"].as_u64().unwrap_or(0) > 100, "{v}");
    }
    for p in &long {
        // Over a minute at 20 Hz: far past laminar's 513-unacked-send timeout window.
        assert!(
            final_json(p)["confirmed"].as_u64().unwrap_or(0) > 1100,
            "{}",
            final_json(p)
        );
    }
    assert!(server_log()
        .lines()
        .any(|l| l.contains("player connected") && l.contains("newcomer")));

    server.signal("TERM");
    assert_eq!(
        server.wait_timeout(Duration::from_secs(5)),
        Some(Some(0)),
        "server exits 0 on SIGTERM"
    );
    for line in server_log().lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("log line {line:?}: {e}"));
        assert!(v["time"].is_string() && v["level"].is_string() && v["msg"].is_string());
    }
}
