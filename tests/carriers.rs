//! The carriers with real processes on real sockets (loopback): every carrier joins and
//! plays; bad WebSocket upgrades of `/play` get a clean 4xx while `/healthz` answers; a
//! client plays through a TCP relay that holds every byte 2.5 s each way (a 5 s round
//! trip) and its own inputs land; a client plays through a real SOCKS5 proxy
//! (Debian's microsocks). Join times are printed (`--nocapture`) as figures.
//! The namespace tests are in carriers_netns.rs, the load tests in carriers_load.rs, Tor
//! in carriers_tor.rs.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use venture_testkit::player::Player;
use venture_testkit::relay::Relay;
use venture_testkit::{bin, http, tools, wait_for, Proc, Scratch, Server};

const CLIENT: &str = bin!("venture-client");
const SERVER: &str = bin!("venture-server");
/// How long a join may take on a busy machine (a figure is printed, not asserted).
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The client's final JSON line shows a clean game on `carrier`.
fn assert_played(json: &serde_json::Value, carrier: &str) {
    assert_eq!(json["carrier"], carrier, "{json}");
    assert_eq!(json["desyncs"], 0, "{json}");
    assert!(json["confirmed"].as_u64().unwrap_or(0) > 0, "{json}");
    assert!(json["wire_bytes_in"].as_u64().unwrap_or(0) > 0, "{json}");
}

#[test]
fn every_carrier_joins_and_plays_on_loopback() {
    let server = Server::builder(SERVER).start();
    let dir = Scratch::new("carriers-loopback");
    let mut players = Vec::new();
    // One after the other, so each join time is a join alone.
    for carrier in ["udp", "tcp", "ws"] {
        let name = format!("lo-{carrier}");
        let mut p = Player::spawn(
            CLIENT,
            None,
            &server.addr(),
            &name,
            15,
            &["-transport", carrier],
            dir.path(),
        );
        let joined = p.wait_joined(JOIN_TIMEOUT);
        let joined = joined.unwrap_or_else(|| panic!("{name} did not join"));
        eprintln!("FIGURE join time on loopback, -transport {carrier}: {joined:.2?}");
        server.wait_playing_on(&name, carrier, Duration::from_secs(30));
        players.push((p, carrier));
    }
    for (p, carrier) in &mut players {
        let json = p.finish(15, Duration::from_secs(30));
        assert_played(&json, carrier);
    }
    let (_, metrics) = server.get("/metrics");
    for carrier in ["udp", "tcp", "ws"] {
        assert!(
            metrics.lines().any(|l| l.starts_with(&format!(
                "venture_carrier_bytes_total{{carrier=\"{carrier}\""
            )) && !l.ends_with(" 0")),
            "no bytes counted for {carrier}:\n{metrics}"
        );
    }
}

#[test]
fn bad_websocket_upgrades_get_a_4xx_and_the_server_keeps_answering() {
    let server = Server::builder(SERVER).start();
    let addr = server.sockaddr();
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let cases: [(&str, String); 5] = [
        (
            "no key",
            "GET /play HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n".into(),
        ),
        (
            "wrong version",
            format!("GET /play HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 8\r\n\r\n"),
        ),
        (
            "HEAD",
            format!("HEAD /play HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"),
        ),
        (
            "no upgrade",
            "GET /play HTTP/1.1\r\nHost: h\r\n\r\n".into(),
        ),
        (
            "POST",
            format!("POST /play HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"),
        ),
    ];
    for (what, request) in &cases {
        let (code, response) = http::raw(addr, request.as_bytes(), Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{what}: no clean answer: {e}"));
        assert!((400..500).contains(&code), "{what}: {code}\n{response}");
        assert!(
            !response
                .to_ascii_lowercase()
                .contains("sec-websocket-accept"),
            "{what}: an accept key in a refusal:\n{response}"
        );
        if *what == "wrong version" {
            assert!(response.contains("Sec-WebSocket-Version: 13"), "{response}");
        }
        let (code, _) = server.get("/healthz");
        assert_eq!(code, 200, "/healthz after {what}");
    }
    // A good upgrade with RFC 6455's own example key gets the RFC's accept value.
    let good = format!("GET /play HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(good.as_bytes()).expect("write the upgrade");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).expect("read the answer") == 1 {
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "{head}"
    );
    drop(s);
    // The good upgrade still works after the bad ones: a real client plays over it.
    let dir = Scratch::new("carriers-ws");
    let mut p = Player::spawn(
        CLIENT,
        None,
        &server.addr(),
        "ws-after",
        6,
        &["-transport", "ws"],
        dir.path(),
    );
    assert!(
        p.wait_joined(JOIN_TIMEOUT).is_some(),
        "ws-after did not join"
    );
    assert_played(&p.finish(6, Duration::from_secs(30)), "ws");
}

#[test]
fn a_client_plays_through_a_relay_at_two_and_a_half_seconds_each_way() {
    let server = Server::builder(SERVER).start();
    let relay = Relay::start(server.sockaddr(), Duration::from_millis(2500));
    let dir = Scratch::new("carriers-relay");
    let duration = 80;
    let name = "far";
    let mut p = Player::spawn(
        CLIENT,
        None,
        &relay.addr.to_string(),
        name,
        duration,
        &["-transport", "tcp"],
        dir.path(),
    );
    let joined = p.wait_joined(Duration::from_secs(75));
    let joined = joined.unwrap_or_else(|| panic!("no join through the relay"));
    eprintln!("FIGURE join time through a TCP relay at 2.5 s each way: {joined:.2?}");
    server.wait_playing_on(name, "tcp", Duration::from_secs(30));
    // The server counts one input per tick for the slot, on time or substituted.
    let counts = |server: &Server| {
        server.player(name).map_or((0, 0), |p| {
            (
                p["inputs_on_time"].as_u64().unwrap_or(0),
                p["inputs_substituted"].as_u64().unwrap_or(0),
            )
        })
    };
    let ticks = |(on, sub): (u64, u64)| on + sub;
    // Warm-up: 10 s of ticks, while the input lead settles over a few round trips.
    let warm = wait_for(Duration::from_secs(60), || ticks(counts(&server)) >= 200);
    assert!(
        warm,
        "the far player's slot saw no 200 ticks: {:?}",
        counts(&server)
    );
    let (on0, sub0) = counts(&server);
    // Then 30 s of ticks, well before the client leaves at `duration`.
    let measured = wait_for(Duration::from_secs(60), || {
        ticks(counts(&server)) >= on0 + sub0 + 600
    });
    assert!(
        measured,
        "the far player's slot stopped: {:?}",
        counts(&server)
    );
    let (on1, sub1) = counts(&server);
    let (on, sub) = (on1 - on0, sub1 - sub0);
    eprintln!("FIGURE relay 2.5 s each way, after warm-up: {on} inputs on time, {sub} substituted");
    assert!(
        on > 100,
        "too few of its inputs landed on time: {on} (substituted {sub})"
    );
    assert!(
        sub * 10 <= on + sub,
        "more than 10% of its inputs substituted after warm-up: {sub} of {}",
        on + sub
    );
    let json = p.finish(duration, Duration::from_secs(40));
    assert_played(&json, "tcp");
    eprintln!(
        "relay: rtt p50 {} ms, p99 {} ms",
        json["rtt_ms_p50"], json["rtt_ms_p99"]
    );
    assert!(
        json["rtt_ms_p50"].as_u64().unwrap_or(0) >= 5000,
        "the relay did not delay: {json}"
    );
}

#[test]
fn a_client_plays_through_a_real_socks5_proxy() {
    const TEST: &str = "a_client_plays_through_a_real_socks5_proxy";
    let Some(tools) = tools::require(TEST, &["microsocks"]) else {
        return;
    };
    let server = Server::builder(SERVER).start();
    let dir = Scratch::new("carriers-socks");
    let port = venture_testkit::free_port();
    let microsocks = tools[0].display().to_string();
    let _proxy = Proc::spawn(
        &microsocks,
        &["-i", "127.0.0.1", "-p", &port.to_string()],
        dir.path(),
        "microsocks",
        &[],
    );
    let proxy_addr = SocketAddr::from(([127, 0, 0, 1], port));
    assert!(
        wait_for(Duration::from_secs(10), || TcpStream::connect(proxy_addr)
            .is_ok()),
        "microsocks does not listen on {proxy_addr}"
    );
    let proxy = format!("socks5h://{proxy_addr}");
    let mut p = Player::spawn(
        CLIENT,
        None,
        &server.addr(),
        "socks",
        10,
        &["-proxy", &proxy],
        dir.path(),
    );
    let joined = p
        .wait_joined(JOIN_TIMEOUT)
        .expect("no join through microsocks");
    eprintln!("FIGURE join time through microsocks (SOCKS5) on loopback: {joined:.2?}");
    server.wait_playing_on("socks", "tcp", Duration::from_secs(30));
    assert_played(&p.finish(10, Duration::from_secs(30)), "tcp");
}

/// A stream carrier that cannot connect says why when the client gives up: the refused
/// connection, not only "no answer".
#[test]
fn a_refused_stream_says_why_when_the_client_gives_up() {
    // A free port: nothing listens on it, so every TCP connect is refused.
    let server = format!("127.0.0.1:{}", venture_testkit::free_port());
    let (code, _, stderr) = venture_testkit::run_to_exit(
        CLIENT,
        &["-bot", "random", "-transport", "tcp", "-server", &server],
        JOIN_TIMEOUT,
    );
    assert_eq!(code, Some(3), "exit 3: could not connect; {stderr}");
    assert!(
        stderr.contains(&format!("cannot join {server}: no answer from the server"))
            && stderr.contains("(last carrier error: connect: Connection refused"),
        "{stderr}"
    );
}
