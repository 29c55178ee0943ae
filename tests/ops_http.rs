//! The operator-facing HTTP side of the real binary: `/metrics` (Prometheus text, parsed
//! with prometheus-parse), `/healthz` (200, and 503 after a stall), `/readyz`, `/status`,
//! a raw TCP connect like `nc -zv`, and SIGTERM.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use prometheus_parse::{Scrape, Value};
use venture_testkit::{bin, Bot, Server};

fn scrape(server: &Server) -> Scrape {
    let (status, body) = server.get("/metrics");
    assert_eq!(status, 200);
    Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("valid Prometheus exposition")
}

/// The value of the first sample of `name` (with or without `_total`) whose labels match.
fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .filter(|x| {
            x.metric == name
                || x.metric == format!("{name}_total")
                || format!("{}_total", x.metric) == name
        })
        .find(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(h) => h.iter().map(|b| b.count).fold(0.0, f64::max),
            Value::Summary(_) => f64::NAN,
        })
}

fn has(s: &Scrape, name: &str) -> bool {
    value(s, name, &[]).is_some()
}

#[test]
fn metrics_parse_and_counters_move_with_traffic() {
    let mut server = Server::builder(bin!("venture-server"))
        .args(&["-seed", "12345"])
        .spawn();
    server.wait_healthy(venture_testkit::server::START_TIMEOUT);
    let before = scrape(&server);
    for name in [
        "venture_tick_duration_seconds",
        "venture_tick_overruns_total",
        "venture_players",
        "venture_datagrams_received_total",
        "venture_datagrams_sent_total",
        "venture_received_bytes_total",
        "venture_sent_bytes_total",
        "venture_late_inputs_total",
        "venture_uptime_seconds",
        "venture_build_info",
    ] {
        assert!(
            has(&before, name),
            "{name} missing from /metrics: {:?}",
            before.samples.iter().map(|s| &s.metric).collect::<Vec<_>>()
        );
    }
    assert!(
        before.docs.keys().any(|k| k.starts_with("venture_")),
        "HELP lines parsed"
    );
    assert_eq!(value(&before, "venture_players", &[]), Some(0.0));
    let ticks = before
        .samples
        .iter()
        .find(|x| x.metric == "venture_tick_duration_seconds")
        .map(|x| x.value.clone());
    assert!(matches!(ticks, Some(Value::Histogram(_))), "{ticks:?}");

    // Plain garbage datagrams (the secure layer drops them before the game sees them) and
    // a real client that joins, plus garbage sealed through its secure session: a valid
    // version header and an undecodable message.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..20u8 {
        udp.send_to(&[0xde, 0xad, i, 0xbe, 0xef], ("127.0.0.1", server.port))
            .unwrap();
    }
    let mut bot = Bot::join("metrics-bot", server.port);
    for i in 0..5u8 {
        let mut garbage = venture_net::protocol::PROTOCOL_VERSION
            .to_le_bytes()
            .to_vec();
        garbage.extend_from_slice(&[0xff, i, 0x13, 0x37, 0x00, 0x42]);
        bot.send_raw(garbage);
    }
    for _ in 0..20 {
        bot.pump();
        std::thread::sleep(Duration::from_millis(10));
    }
    let during = scrape(&server);
    assert_eq!(value(&during, "venture_players", &[]), Some(1.0));
    for counter in [
        "venture_datagrams_received_total",
        "venture_received_bytes_total",
        "venture_datagrams_sent_total",
        "venture_sent_bytes_total",
    ] {
        let (a, b) = (
            value(&before, counter, &[]).unwrap(),
            value(&during, counter, &[]).unwrap(),
        );
        assert!(b > a, "{counter} did not move: {a} -> {b}");
    }
    let invalid = value(
        &during,
        "venture_invalid_datagrams_total",
        &[("reason", "protocol")],
    )
    .unwrap_or(0.0);
    assert!(
        invalid >= 1.0,
        "garbage through the secure session counts as invalid: {invalid}"
    );
    let (_, status) = server.get("/status");
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["players"].as_array().unwrap().len(), 1, "{status}");
    assert_eq!(status["players"][0]["name"], "metrics-bot");
    bot.leave();
}

#[test]
fn healthz_200_then_503_while_the_process_was_stopped() {
    let mut server = Server::builder(bin!("venture-server")).spawn();
    server.wait_healthy(venture_testkit::server::START_TIMEOUT);
    assert_eq!(server.get("/healthz"), (200, "ok\n".to_string()));
    assert_eq!(server.get("/readyz").0, 200);

    // A probe whose request reaches the server while it is stopped (the kernel completes
    // the TCP handshake and buffers the request), then probes right after SIGCONT. The
    // server reports the stall for 2 s after catching up, so on a busy machine, whichever
    // of its turns reads the waiting probe first, the stall is visible: the waiting probe
    // or one of the probes just after it answers 503 "behind schedule".
    let addr = SocketAddr::from(([127, 0, 0, 1], server.port));
    let mut conn = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    assert!(server.signal("STOP"));
    std::thread::sleep(Duration::from_secs(3));
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert!(server.signal("CONT"));
    let port = server.port;
    let followers = std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_millis(1500);
        let mut seen = Vec::new();
        while Instant::now() < end {
            if let Ok(r) = venture_testkit::http_get(port, "/healthz") {
                seen.push(r);
            }
        }
        seen
    });
    let mut buf = Vec::new();
    conn.read_to_end(&mut buf)
        .expect("the waiting probe is answered after SIGCONT");
    let waiting = venture_testkit::http::parse_response(&buf).expect("an HTTP response");
    let followers = followers.join().expect("probe thread");
    let stalled = std::iter::once(&waiting)
        .chain(&followers)
        .any(|(status, body)| *status == 503 && body.contains("behind"));
    assert!(
        stalled,
        "no probe saw the stall: waiting probe {waiting:?}, then {followers:?}"
    );

    // And it recovers once ticks close again.
    assert!(
        venture_testkit::wait_for(Duration::from_secs(20), || server.get("/healthz").0 == 200),
        "did not recover"
    );
}

#[test]
fn raw_tcp_connect_and_status_json() {
    let mut server = Server::builder(bin!("venture-server"))
        .args(&[
            "-seed",
            "67890",
            "-genre",
            "scifi",
            "-tick-rate",
            "30",
            "-max-players",
            "6",
        ])
        .spawn();
    server.wait_healthy(venture_testkit::server::START_TIMEOUT);
    // `nc -zv localhost PORT`: a TCP connect that succeeds, then closes.
    let addr = SocketAddr::from(([127, 0, 0, 1], server.port));
    let conn = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .expect("TCP connect to the game port number");
    drop(conn);

    let (status, body) = server.get("/status");
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).expect("/status is JSON");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["seed"], 67890);
    assert_eq!(v["genre"], "scifi");
    assert_eq!(v["tick_rate"], 30);
    assert_eq!(v["max_players"], 6);
    assert!(v["tick"].as_u64().is_some(), "{v}");
    assert!(v["players"].as_array().unwrap().is_empty(), "{v}");
    let (status, _) = server.get("/nope");
    assert_eq!(status, 404);
    // Still fine after the bare connect.
    assert_eq!(server.get("/healthz").0, 200);
}

#[test]
fn sigterm_exits_0_quickly_and_logs_server_stopped() {
    let mut server = Server::builder(bin!("venture-server")).spawn();
    server.wait_healthy(venture_testkit::server::START_TIMEOUT);
    let started = Instant::now();
    server.signal("TERM");
    let status = server
        .wait_exit(Duration::from_secs(20))
        .expect("exits within 5 s of SIGTERM");
    assert!(status.success(), "{status}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let out = server.stdout_lines();
    let stopped = out
        .iter()
        .find(|l| l.contains("\"msg\":\"server stopped\""))
        .unwrap_or_else(|| panic!("{out:?}"));
    let v: serde_json::Value = serde_json::from_str(stopped).unwrap();
    assert_eq!(v["level"], "info");
    assert!(
        out.iter().any(|l| l.contains("shutdown requested")),
        "{out:?}"
    );
}

#[test]
fn sigint_also_stops_cleanly() {
    let mut server = Server::builder(bin!("venture-server")).spawn();
    server.wait_healthy(venture_testkit::server::START_TIMEOUT);
    server.signal("INT");
    let status = server
        .wait_exit(Duration::from_secs(20))
        .expect("exits within 5 s of SIGINT");
    assert!(status.success(), "{status}");
    assert!(server
        .stdout_lines()
        .iter()
        .any(|l| l.contains("server stopped")));
}
