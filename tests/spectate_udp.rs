//! Spectating over real UDP on 127.0.0.1: a `venture-client --spectate` process watches a
//! full server (-max-players reached) without taking a slot, confirms ticks with no desync
//! and exits 0 with its JSON line; `/status` counts it apart from the players and lists it
//! without an address, `/metrics` has `venture_spectators 1`; a second spectator beyond
//! `--max-spectators 1` is refused with a clear message and exit 3.

use std::time::Duration;

use venture_testkit::{bin, final_json, wait_for, Proc, Scratch, Server};

const CLIENT: &str = bin!("venture-client");

fn client(dir: &std::path::Path, server: &str, tag: &str, extra: &[&str]) -> Proc {
    let secrets = dir.join("secrets");
    let secrets = secrets.to_str().expect("utf-8 path");
    let mut args = vec![
        "--server",
        server,
        "--status-every",
        "0",
        "--secret-dir",
        secrets,
    ];
    args.extend_from_slice(extra);
    Proc::spawn(CLIENT, &args, dir, tag, &[])
}

#[test]
fn a_spectator_watches_a_full_server_without_taking_a_slot() {
    let dir = Scratch::new("spectate-udp");
    let server = Server::builder(bin!("venture-server"))
        .dir(dir.path())
        .args(&["-max-players", "2", "--max-spectators", "1", "-seed", "77"])
        .start();
    let addr = server.addr();
    let _players: Vec<Proc> = (0..2)
        .map(|i| {
            let name = format!("p{i}");
            client(
                dir.path(),
                &addr,
                &name,
                &["--name", &name, "--duration", "40", "--bot", "explore"],
            )
        })
        .collect();
    let players_in = || {
        server
            .status()
            .and_then(|s| s["players"].as_array().map(Vec::len))
    };
    assert!(
        wait_for(Duration::from_secs(30), || players_in() == Some(2)),
        "two players should join: {:?}",
        server.status()
    );

    let mut spectator = client(
        dir.path(),
        &addr,
        "spectator",
        &["--spectate", "--duration", "10"],
    );
    assert!(
        wait_for(Duration::from_secs(20), || server
            .status()
            .is_some_and(|s| s["spectators"] == 1)),
        "the spectator should be counted: {:?} {}",
        server.status(),
        spectator.stderr()
    );
    let status = server.status().expect("status");
    assert_eq!(
        status["players"].as_array().map(Vec::len),
        Some(2),
        "{status}"
    );
    assert_eq!(status["max_players"], 2, "{status}");
    let listed = &status["spectator_list"][0];
    assert!(listed["id"].is_u64(), "{status}");
    assert!(listed.get("addr").is_none(), "no addresses: {status}");
    let (code, metrics) = server.get("/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.lines().any(|l| l == "venture_spectators 1"),
        "{metrics}"
    );

    // The spectator places are all taken: a clear refusal, exit 3.
    let mut second = client(
        dir.path(),
        &addr,
        "second",
        &["--spectate", "--duration", "10"],
    );
    let code = second
        .wait_timeout(Duration::from_secs(25))
        .expect("the second spectator exits");
    assert_eq!(code, Some(3), "stderr: {}", second.stderr());
    assert!(
        second
            .stderr()
            .contains("the server allows 1 spectators and all places are taken"),
        "stderr: {}",
        second.stderr()
    );

    let code = spectator
        .wait_timeout(Duration::from_secs(30))
        .expect("the spectator exits after its duration");
    assert_eq!(code, Some(0), "stderr: {}", spectator.stderr());
    let json = final_json(&spectator);
    assert_eq!(json["spectator"], true, "{json}");
    assert_eq!(json["desyncs"], 0, "{json}");
    assert_eq!(json["ticks"], 0, "a spectator predicts nothing: {json}");
    assert!(
        json["confirmed"].as_u64().is_some_and(|c| c >= 60),
        "{json}"
    );
    assert!(
        json["bytes_received"].as_u64().is_some_and(|b| b > 0),
        "{json}"
    );
    assert_eq!(players_in(), Some(2), "the players are still in");
}
