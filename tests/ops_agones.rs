//! `-agones`: the real `venture-server` against the contract stand-in sidecar
//! (`venture_testkit::agones::Sidecar`, which serves exactly Agones' published REST
//! specification and records every request), with real `venture-client --bots N`
//! processes as players. Every path of the lifecycle: Ready and health; the `players`
//! List following joins and leaves; Shutdown after the last player; `-await-allocation`
//! with the allocation choosing the world (and a bad annotation not); the sidecar away and
//! back. Each test also asserts that every request the server made fit the spec.

use std::path::Path;
use std::time::Duration;

use venture_testkit::agones::Sidecar;
use venture_testkit::{bin, wait_for, Proc, Scratch, Server};

const WAIT: Duration = Duration::from_secs(20);

/// A server with `-agones` and `args`, talking to `sidecar`, health pings every 200 ms.
fn server(sidecar: &Sidecar, args: &[&str]) -> Server {
    let sdk = sidecar.port().to_string();
    let mut all = vec!["-agones"];
    all.extend_from_slice(args);
    let mut server = Server::builder(bin!("venture-server"))
        .args(&all)
        .envs(&[
            ("AGONES_SDK_HTTP_PORT", sdk.as_str()),
            ("VENTURE_AGONES_HEALTH_INTERVAL_MS", "200"),
        ])
        .spawn();
    server.wait_healthy(venture_testkit::server::START_TIMEOUT);
    server
}

/// `venture-client --bots N` named `NAME0..` (just `NAME` when N is 1), playing `seconds`
/// then leaving.
fn bots(server: &Server, dir: &Path, name: &str, n: u32, seconds: u64) -> Proc {
    Proc::spawn(
        bin!("venture-client"),
        &[
            "--server",
            &server.addr(),
            "--name",
            name,
            "--bots",
            &n.to_string(),
            "--duration",
            &seconds.to_string(),
            "--status-every",
            "0",
            "--secret-dir",
            &dir.join(format!("secrets-{name}")).display().to_string(),
        ],
        dir,
        name,
        &[],
    )
}

/// Every request the server made was one the specification has, with a body that fits
/// (the stand-in answers anything else with 404, 405 or 400).
fn assert_within_spec(sidecar: &Sidecar) {
    for r in sidecar.requests() {
        assert!(
            ![400, 404, 405, 501].contains(&r.status),
            "a request outside Agones' specification: {r:?}"
        );
    }
}

fn players_list(sidecar: &Sidecar) -> Vec<String> {
    let mut v = sidecar.list("players").map(|(_, v)| v).unwrap_or_default();
    v.sort();
    v
}

#[test]
fn ready_then_health_then_shutdown_on_sigterm() {
    let sidecar = Sidecar::with_players_list(0);
    let mut server = server(&sidecar, &["-seed", "12345", "-max-players", "3"]);
    assert!(
        wait_for(WAIT, || sidecar.count("POST /health") >= 3),
        "no health pings: {:?}",
        sidecar.calls()
    );
    assert!(wait_for(WAIT, || sidecar.list("players") == Some((3, vec![]))));
    assert_eq!(sidecar.state(), "Ready");
    assert_eq!(
        sidecar.count("POST /shutdown"),
        0,
        "no shutdown before SIGTERM (no player ever joined)"
    );
    server.signal("TERM");
    let status = server.wait_exit(WAIT).expect("exits after SIGTERM");
    assert!(status.success(), "{status}");
    let calls = sidecar.calls();
    assert_eq!(calls[0], "POST /ready", "{calls:?}");
    assert_eq!(sidecar.requests()[0].body, "{}");
    assert_eq!(calls.last().unwrap(), "POST /shutdown", "{calls:?}");
    assert_eq!(sidecar.count("POST /shutdown"), 1, "{calls:?}");
    assert_eq!(sidecar.count("POST /ready"), 1, "{calls:?}");
    assert_eq!(
        sidecar.count("PATCH /v1beta1/lists/players"),
        1,
        "{calls:?}"
    );
    assert_eq!(sidecar.state(), "Shutdown");
    assert_within_spec(&sidecar);
    let out = server.stdout_lines();
    assert!(
        out.iter().any(|l| l.contains("Agones: game server Ready")),
        "{out:?}"
    );
    assert!(out.iter().any(|l| l.contains("server stopped")), "{out:?}");
}

#[test]
fn missing_sidecar_is_not_fatal() {
    // A port that nothing listens on.
    let sdk = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut server = Server::builder(bin!("venture-server"))
        .args(&["-agones"])
        .envs(&[
            ("AGONES_SDK_HTTP_PORT", sdk.as_str()),
            ("LOG_LEVEL", "debug"),
        ])
        .spawn();
    server.wait_healthy(venture_testkit::server::START_TIMEOUT);
    let failed = |level: &'static str| {
        move |l: &str| {
            l.contains("Agones SDK call failed") && l.contains(&format!("\"level\":\"{level}\""))
        }
    };
    assert!(
        server.wait_stdout(WAIT, failed("warn")),
        "{:?}",
        server.stdout_lines()
    );
    // Retried (the later failures are debug lines), and the server keeps serving.
    assert!(
        server.wait_stdout(WAIT, failed("debug")),
        "{:?}",
        server.stdout_lines()
    );
    assert_eq!(server.get("/healthz").0, 200);
    let warns = server
        .stdout_lines()
        .iter()
        .filter(|l| l.contains("Agones SDK call failed") && l.contains("\"level\":\"warn\""))
        .count();
    assert_eq!(warns, 1, "{:?}", server.stdout_lines());
    server.signal("TERM");
    let status = server.wait_exit(WAIT).expect("exits after SIGTERM");
    assert!(status.success());
}

#[test]
fn the_players_list_follows_joins_and_leaves_and_the_last_one_gone_shuts_down() {
    let scratch = Scratch::new("agones-list");
    let sidecar = Sidecar::with_players_list(0);
    let mut server = server(&sidecar, &["-seed", "4242", "-max-players", "3"]);
    assert!(wait_for(WAIT, || sidecar.list("players") == Some((3, vec![]))));
    let mut first = bots(&server, scratch.path(), "agA", 2, 6);
    assert!(
        wait_for(WAIT, || players_list(&sidecar) == ["agA0", "agA1"]),
        "the List: {:?}; calls {:?}",
        sidecar.list("players"),
        sidecar.calls()
    );
    // A third joins while they play; the List has all three.
    let mut second = bots(&server, scratch.path(), "agB", 1, 30);
    assert!(
        wait_for(WAIT, || players_list(&sidecar) == ["agA0", "agA1", "agB"]),
        "{:?}",
        sidecar.list("players")
    );
    // The first two leave (their --duration ends): out of the List, no Shutdown yet.
    first.wait_exit(WAIT).expect("the first client leaves");
    assert!(
        wait_for(WAIT, || players_list(&sidecar) == ["agB"]),
        "{:?}",
        sidecar.list("players")
    );
    assert_eq!(sidecar.count("POST /shutdown"), 0);
    // The last one gone: removed, then Shutdown, once.
    second.signal("TERM");
    second.wait_exit(WAIT).expect("the last client leaves");
    assert!(
        wait_for(WAIT, || sidecar.count("POST /shutdown") == 1),
        "{:?}",
        sidecar.calls()
    );
    assert_eq!(players_list(&sidecar), Vec::<String>::new());
    let calls = sidecar.calls();
    let last_remove = calls
        .iter()
        .rposition(|c| c == "POST /v1beta1/lists/players:removeValue")
        .unwrap();
    let shutdown = calls.iter().position(|c| c == "POST /shutdown").unwrap();
    assert!(
        last_remove < shutdown,
        "the List first, then Shutdown: {calls:?}"
    );
    for r in sidecar.requests() {
        if r.path.contains(":addValue") || r.path.contains(":removeValue") {
            let v = r.json();
            assert!(
                v["value"].as_str().is_some_and(|n| n.starts_with("ag")),
                "{r:?}"
            );
        }
    }
    assert_eq!(sidecar.state(), "Shutdown");
    // The process keeps serving until Agones deletes the pod (SIGTERM); no second Shutdown.
    assert_eq!(server.get("/healthz").0, 200);
    server.signal("TERM");
    assert!(server.wait_exit(WAIT).expect("exits").success());
    assert_eq!(sidecar.count("POST /shutdown"), 1);
    assert_within_spec(&sidecar);
}

fn status(server: &Server) -> serde_json::Value {
    server.status().expect("/status answers")
}

#[test]
fn await_allocation_then_the_allocation_chooses_the_world() {
    let scratch = Scratch::new("agones-alloc");
    let sidecar = Sidecar::with_players_list(0);
    let mut server = server(
        &sidecar,
        &["-await-allocation", "-seed", "5", "-genre", "fantasy"],
    );
    assert!(
        wait_for(WAIT, || sidecar.state() == "Ready"),
        "{:?}",
        sidecar.calls()
    );
    assert!(
        wait_for(WAIT, || sidecar.watchers() == 1),
        "{:?}",
        sidecar.calls()
    );
    let s = status(&server);
    assert_eq!(s["awaiting_allocation"], true, "{s}");
    assert!(s["seed"].is_null() && s["genre"].is_null(), "{s}");
    let (code, body) = server.get("/readyz");
    assert_eq!(
        (code, body.as_str()),
        (200, "ready (waiting for an allocation)\n")
    );
    // A player before the allocation is refused, and told why.
    let mut early = bots(&server, scratch.path(), "early", 1, 10);
    early.wait_exit(WAIT).expect("the early client gives up");
    let said = format!("{}{}", early.stdout(), early.stderr());
    assert!(said.contains("waiting for an allocation"), "{said}");
    assert!(players_list(&sidecar).is_empty());

    sidecar.allocate(&[
        ("venture.dev/seed", "424242"),
        ("venture.dev/genre", "scifi"),
    ]);
    assert!(
        wait_for(WAIT, || status(&server)["awaiting_allocation"] == false),
        "{:?}",
        server.stdout_lines()
    );
    let s = status(&server);
    assert_eq!(
        (s["seed"].as_i64(), s["genre"].as_str()),
        (Some(424242), Some("scifi")),
        "{s}"
    );
    assert_eq!(server.get("/readyz").1, "ready\n");
    assert!(server
        .stdout_lines()
        .iter()
        .any(|l| l.contains("world generated") && l.contains("424242")));
    // Now players join the allocated world, and the List shows them.
    let mut player = bots(&server, scratch.path(), "alloc", 1, 3);
    assert!(
        wait_for(WAIT, || players_list(&sidecar) == ["alloc"]),
        "{:?}",
        sidecar.calls()
    );
    player.wait_exit(WAIT).expect("leaves");
    assert!(
        wait_for(WAIT, || sidecar.count("POST /shutdown") == 1),
        "{:?}",
        sidecar.calls()
    );
    assert_eq!(sidecar.watchers(), 0, "the watch ends once allocated");
    server.signal("TERM");
    assert!(server.wait_exit(WAIT).expect("exits").success());
    assert_within_spec(&sidecar);
}

#[test]
fn a_bad_annotation_is_a_clear_error_and_the_flags_hold() {
    let sidecar = Sidecar::with_players_list(0);
    let mut server = server(
        &sidecar,
        &["-await-allocation", "-seed", "99", "-genre", "horror"],
    );
    assert!(
        wait_for(WAIT, || sidecar.watchers() == 1),
        "{:?}",
        sidecar.calls()
    );
    sidecar.allocate(&[
        ("venture.dev/seed", "twelve"),
        ("venture.dev/genre", "western"),
    ]);
    assert!(wait_for(WAIT, || status(&server)["awaiting_allocation"] == false));
    let s = status(&server);
    assert_eq!(
        (s["seed"].as_i64(), s["genre"].as_str()),
        (Some(99), Some("horror")),
        "{s}"
    );
    let errors: Vec<String> = server
        .stdout_lines()
        .into_iter()
        .filter(|l| l.contains("\"level\":\"error\"") && l.contains("venture.dev/"))
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].contains("venture.dev/seed") && errors[0].contains("twelve"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("western") && errors[1].contains("using the flag"),
        "{errors:?}"
    );
    server.signal("TERM");
    assert!(server.wait_exit(WAIT).expect("exits").success());
    assert_within_spec(&sidecar);
}

#[test]
fn the_sidecar_away_and_back_is_retried_without_a_crash() {
    let mut sidecar = Sidecar::with_players_list(0);
    let mut server = server(&sidecar, &["-await-allocation", "-seed", "7"]);
    assert!(
        wait_for(WAIT, || sidecar.watchers() == 1),
        "{:?}",
        sidecar.calls()
    );
    assert!(wait_for(WAIT, || sidecar.list("players") == Some((4, vec![]))));
    sidecar.stop();
    // Allocated while the sidecar is away (Kubernetes keeps the GameServer).
    sidecar.allocate(&[("venture.dev/seed", "31337")]);
    assert!(
        server.wait_stdout(WAIT, |l| l.contains("watch failed")
            || l.contains("SDK call failed")),
        "{:?}",
        server.stdout_lines()
    );
    assert_eq!(server.get("/healthz").0, 200, "still serving");
    assert_eq!(status(&server)["awaiting_allocation"], true);
    let pings = sidecar.count("POST /health");
    sidecar.restart();
    // Back: the watch reconnects, its first object says Allocated, the world follows.
    assert!(
        wait_for(WAIT, || status(&server)["seed"].as_i64() == Some(31337)),
        "{:?}",
        server.stdout_lines()
    );
    assert!(wait_for(WAIT, || sidecar.count("POST /health") > pings + 2));
    assert!(server
        .stdout_lines()
        .iter()
        .any(|l| l.contains("reachable again") || l.contains("watching the GameServer again")));
    assert!(server.try_exit().is_none(), "no crash");
    server.signal("TERM");
    assert!(server.wait_exit(WAIT).expect("exits").success());
    assert_within_spec(&sidecar);
}

#[test]
fn sigterm_while_awaiting_leaves_cleanly_and_writes_no_world() {
    let scratch = Scratch::new("agones-await-term");
    let sidecar = Sidecar::with_players_list(0);
    let sdk = sidecar.port().to_string();
    let mut server = Server::builder(bin!("venture-server"))
        .persisting_in(scratch.path())
        .args(&["-agones", "-await-allocation", "-seed", "11"])
        .envs(&[("AGONES_SDK_HTTP_PORT", sdk.as_str())])
        .spawn();
    server.wait_healthy(venture_testkit::server::START_TIMEOUT);
    assert!(
        wait_for(WAIT, || sidecar.watchers() == 1),
        "{:?}",
        sidecar.calls()
    );
    server.signal("TERM");
    assert!(server.wait_exit(WAIT).expect("exits").success());
    assert_eq!(
        sidecar.calls().last().map(String::as_str),
        Some("POST /shutdown")
    );
    // Nothing of the stand-in world was saved or journaled.
    let worlds = scratch.join("saves/worlds");
    let saved: Vec<_> = std::fs::read_dir(&worlds)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(saved.is_empty(), "{saved:?}");
    let replays: Vec<_> = std::fs::read_dir(scratch.join("replays"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(replays.is_empty(), "{replays:?}");
    assert_within_spec(&sidecar);
}
