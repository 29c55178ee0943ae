//! `-agones`: the server calls the Agones SDK sidecar's REST API. A std TcpListener on
//! 127.0.0.1 stands in for the sidecar (AGONES_SDK_HTTP_PORT points at it) and records
//! every request.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use venture_testkit::{bin, Bot, Server};

#[derive(Clone, Debug)]
struct Req {
    method: String,
    path: String,
    body: String,
}

/// A stand-in sidecar answering 200 `{}`; returns its port and the recorded requests.
fn sidecar() -> (u16, Arc<Mutex<Vec<Req>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let out = log.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut r = BufReader::new(conn);
            let mut line = String::new();
            if r.read_line(&mut line).is_err() {
                continue;
            }
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len.min(4096)];
            let _ = r.read_exact(&mut body);
            let mut parts = line.split_whitespace();
            let req = Req {
                method: parts.next().unwrap_or("").to_string(),
                path: parts.next().unwrap_or("").to_string(),
                body: String::from_utf8_lossy(&body).into_owned(),
            };
            // Record before answering, so a call the server saw succeed is always recorded.
            out.lock().unwrap().push(req);
            let mut conn = r.into_inner();
            let _ = conn.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
            );
        }
    });
    (port, log)
}

fn calls(log: &Arc<Mutex<Vec<Req>>>) -> Vec<String> {
    log.lock()
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[test]
fn ready_then_health_then_shutdown_on_sigterm() {
    let (sdk_port, log) = sidecar();
    let sdk = sdk_port.to_string();
    let mut server = Server::builder(bin!("venture-server"))
        .args(&["-agones", "-seed", "12345"])
        .envs(&[
            ("AGONES_SDK_HTTP_PORT", sdk.as_str()),
            ("VENTURE_AGONES_HEALTH_INTERVAL_MS", "200"),
        ])
        .spawn();
    server.wait_healthy(venture_testkit::server::START_TIMEOUT);
    let end = Instant::now() + Duration::from_secs(10);
    while calls(&log).iter().filter(|c| *c == "POST /health").count() < 3 {
        assert!(Instant::now() < end, "no health pings: {:?}", calls(&log));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !calls(&log).iter().any(|c| c == "POST /shutdown"),
        "no shutdown before SIGTERM (no player ever joined)"
    );

    server.signal("TERM");
    let status = server
        .wait_exit(Duration::from_secs(20))
        .expect("exits within 5 s of SIGTERM");
    assert!(status.success(), "{status}");

    let reqs = log.lock().unwrap().clone();
    let c = calls(&log);
    assert_eq!(c[0], "POST /ready", "{c:?}");
    assert_eq!(reqs[0].body, "{}");
    assert_eq!(c.last().unwrap(), "POST /shutdown", "{c:?}");
    assert_eq!(
        c.iter().filter(|x| *x == "POST /shutdown").count(),
        1,
        "{c:?}"
    );
    assert_eq!(c.iter().filter(|x| *x == "POST /ready").count(), 1, "{c:?}");
    // Everything between Ready and Shutdown is health pings and the players label.
    for (r, name) in reqs.iter().zip(&c).skip(1).take(c.len() - 2) {
        match name.as_str() {
            "POST /health" => assert_eq!(r.body, "{}"),
            "PUT /metadata/label" => {
                let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
                assert_eq!(v, serde_json::json!({"key": "players", "value": "0"}));
            }
            other => panic!("unexpected call {other}: {c:?}"),
        }
    }
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
    let sdk = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut server = Server::builder(bin!("venture-server"))
        .args(&["-agones"])
        .envs(&[("AGONES_SDK_HTTP_PORT", sdk.as_str())])
        .spawn();
    server.wait_healthy(venture_testkit::server::START_TIMEOUT);
    assert!(
        server.wait_stdout(Duration::from_secs(5), |l| l
            .contains("Agones SDK call failed")
            && l.contains("\"level\":\"warn\"")),
        "{:?}",
        server.stdout_lines()
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(server.get("/healthz").0, 200);
    // One warning, not one per retry.
    let warns = server
        .stdout_lines()
        .iter()
        .filter(|l| l.contains("Agones SDK call failed"))
        .count();
    assert_eq!(warns, 1, "{:?}", server.stdout_lines());
    let started = Instant::now();
    server.signal("TERM");
    let status = server
        .wait_exit(Duration::from_secs(20))
        .expect("exits within 5 s");
    assert!(status.success());
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn players_label_and_shutdown_after_the_last_player_leaves() {
    let (sdk_port, log) = sidecar();
    let sdk = sdk_port.to_string();
    let mut server = Server::builder(bin!("venture-server"))
        .args(&["-agones"])
        .envs(&[
            ("AGONES_SDK_HTTP_PORT", sdk.as_str()),
            ("VENTURE_AGONES_HEALTH_INTERVAL_MS", "200"),
        ])
        .spawn();
    server.wait_healthy(venture_testkit::server::START_TIMEOUT);
    let labels = |log: &Arc<Mutex<Vec<Req>>>| -> Vec<String> {
        log.lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == "/metadata/label")
            .map(|r| {
                serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["value"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let wait = |what: &str, f: &dyn Fn() -> bool| {
        let end = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(Instant::now() < end, "{what}: {:?}", calls(&log));
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let bot = Bot::join("agones-bot", server.port);
    wait("players label 1", &|| {
        labels(&log).contains(&"1".to_string())
    });
    assert!(!calls(&log).iter().any(|c| c == "POST /shutdown"));
    bot.leave();
    wait("shutdown after the last player left", &|| {
        calls(&log).iter().any(|c| c == "POST /shutdown")
    });
    let l = labels(&log);
    assert_eq!(l.last().map(String::as_str), Some("0"), "{l:?}");
    // No more health pings after Shutdown; the process keeps running until Agones
    // deletes the pod (SIGTERM), and does not call Shutdown twice.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        calls(&log).last().unwrap(),
        "POST /shutdown",
        "{:?}",
        calls(&log)
    );
    assert_eq!(server.get("/healthz").0, 200);
    server.signal("TERM");
    let status = server
        .wait_exit(Duration::from_secs(20))
        .expect("exits within 5 s");
    assert!(status.success());
    assert_eq!(
        calls(&log)
            .iter()
            .filter(|c| *c == "POST /shutdown")
            .count(),
        1,
        "{:?}",
        calls(&log)
    );
}
