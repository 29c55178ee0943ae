//! The stream carriers under load, real processes on loopback: 64 clients join over TCP
//! at once and all play; and connections held open without speaking (the first preamble
//! byte, a whole preamble, half a WebSocket upgrade, by the hundred) together with slow
//! readers (game clients stopped with SIGSTOP, raw streams that never read) starve
//! neither the players (their inputs keep landing, the tick rate holds) nor `/healthz`
//! (every probe answers 200), and the server's memory stays bounded. The two tests run
//! one at a time: each alone is a lot for a 2-core machine.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use venture_net::carrier::framing::PREAMBLE;
use venture_testkit::burst::{finish_all, playing, BurstSpec};
use venture_testkit::player::Player;
use venture_testkit::relay::Relay;
use venture_testkit::{bin, http, rss_kib, wait_for, Scratch, Server};

const CLIENT: &str = bin!("venture-client");
const SERVER: &str = bin!("venture-server");

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A `/metrics` sample's value, by its full name with labels.
fn metric(server: &Server, key: &str) -> Option<f64> {
    let (_, body) = server.try_get("/metrics").ok()?;
    body.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
}

#[test]
fn sixty_four_clients_over_tcp_at_once_all_play() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Scratch::new("carriers-64tcp");
    let server = Server::builder(SERVER)
        .dir(dir.path())
        .args(&["-max-players", "64"])
        .start();
    let spec = BurstSpec {
        client_bin: CLIENT,
        server: server.addr(),
        procs: 8,
        bots: 8,
        duration_s: 30,
        prefix: "t",
    };
    let mut burst = spec.spawn_with(dir.path(), &["-transport", "tcp"]);
    let took = burst.wait_all_playing(server.port, "t", Duration::from_secs(90));
    let took = took.unwrap_or_else(|n| panic!("only {n} of 64 playing over TCP after 90 s"));
    let rss = rss_kib(server.pid(), "VmRSS:").unwrap_or(0);
    eprintln!("FIGURE 64 TCP clients in 8 processes: all playing after {took:.2?} ({} build); server RSS {} MiB", if cfg!(debug_assertions) { "debug" } else { "release" }, rss / 1024);
    let status = server.status().expect("/status");
    let players = status["players"].as_array().expect("players");
    assert_eq!(players.len(), 64, "{status}");
    for p in players {
        assert_eq!(p["carrier"], "tcp", "{p}");
    }
    assert_eq!(
        metric(&server, "venture_carrier_players{carrier=\"tcp\"}"),
        Some(64.0)
    );
    let results = finish_all(&mut burst.procs, Duration::from_secs(120));
    assert_eq!(results.len(), 64);
    for v in &results {
        assert_eq!(v["carrier"], "tcp", "{v}");
    }
}

/// Where the held-open connections come from: another address than the players'
/// (127.0.0.1), as an attacker's would be; all of 127.0.0.0/8 is loopback.
const FLOODER: [u8; 4] = [127, 0, 0, 2];

/// A TCP connection to `to` from the address `from` (any port).
fn connect_from(from: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((from, 0)).into())?;
    socket.connect_timeout(&to.into(), Duration::from_secs(2))?;
    Ok(socket.into())
}

/// Connections that speak too little: each kind is reopened as soon as the server closes
/// one, so that `per_kind` of each stay open for as long as the attack runs.
struct Holders {
    stop: Arc<AtomicBool>,
    opened: Arc<AtomicU64>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Holders {
    fn start(addr: SocketAddr, per_kind: usize) -> Holders {
        let stop = Arc::new(AtomicBool::new(false));
        let opened = Arc::new(AtomicU64::new(0));
        let kinds: [&'static [u8]; 4] = [
            // The first byte of the preamble: the HTTP side waits for the rest.
            &PREAMBLE[..1],
            // A whole preamble, then no handshake: the game side waits for one, and it
            // never reads what the server might send.
            &PREAMBLE,
            // Half a WebSocket upgrade.
            b"GET /play HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
            // Nothing at all.
            b"",
        ];
        let threads = kinds
            .into_iter()
            .map(|first| {
                let (stop, opened) = (stop.clone(), opened.clone());
                std::thread::spawn(move || {
                    let mut held: Vec<TcpStream> = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        // Keep only the ones the server has not closed or answered.
                        held.retain(|s| {
                            let mut b = [0u8; 1];
                            matches!(s.peek(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
                        });
                        while held.len() < per_kind && !stop.load(Ordering::Relaxed) {
                            let Ok(mut s) = connect_from(FLOODER, addr) else {
                                break;
                            };
                            let _ = s.write_all(first);
                            let _ = s.set_nonblocking(true);
                            opened.fetch_add(1, Ordering::Relaxed);
                            held.push(s);
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                })
            })
            .collect();
        Holders {
            stop,
            opened,
            threads,
        }
    }
}

impl Drop for Holders {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[test]
fn held_open_connections_and_slow_readers_starve_neither_players_nor_healthz() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Scratch::new("carriers-starve");
    // Four players, two slow readers and one newcomer.
    let server = Server::builder(SERVER)
        .dir(dir.path())
        .args(&["-max-players", "8"])
        .start();
    let tick_rate = server.status().expect("/status")["tick_rate"]
        .as_f64()
        .expect("tick_rate");
    let attack = Duration::from_secs(20);
    let players = BurstSpec {
        client_bin: CLIENT,
        server: server.addr(),
        procs: 2,
        bots: 2,
        duration_s: 60,
        prefix: "p",
    };
    let mut good = players.spawn_with(dir.path(), &["-transport", "tcp"]);
    good.wait_all_playing(server.port, "p", Duration::from_secs(60))
        .unwrap_or_else(|n| panic!("only {n} of 4 players playing"));
    let slow = BurstSpec {
        procs: 2,
        bots: 1,
        prefix: "s",
        ..players.clone()
    };
    let slow = slow.spawn_with(dir.path(), &["-transport", "tcp"]);
    slow.wait_all_playing(server.port, "s", Duration::from_secs(60))
        .unwrap_or_else(|n| panic!("only {n} of 2 slow readers playing"));
    // From here on they never read again while the server keeps sending.
    for p in &slow.procs {
        assert!(p.signal("STOP"), "SIGSTOP {}", p.tag);
    }
    let on_time = |server: &Server| -> Vec<(String, u64)> {
        let status = server.status().expect("/status");
        let mut v: Vec<(String, u64)> = status["players"]
            .as_array()
            .expect("players")
            .iter()
            .filter(|p| p["name"].as_str().is_some_and(|n| n.starts_with('p')))
            .map(|p| {
                (
                    p["name"].as_str().unwrap_or("").to_string(),
                    p["inputs_on_time"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        v.sort();
        v
    };
    let rss_before = rss_kib(server.pid(), "VmRSS:").expect("server RSS");
    let before = on_time(&server);
    let tick0 = server.tick().expect("tick");
    let began = Instant::now();
    let holders = Holders::start(server.sockaddr(), 100);
    let under_way = wait_for(attack / 2, || holders.opened.load(Ordering::Relaxed) >= 300);
    assert!(under_way, "the attack did not get going");
    // A player who joins in the middle of it from far away (half a second each way),
    // so that its handshake takes a while; its address is not the flooder's.
    let relay = Relay::start(server.sockaddr(), Duration::from_millis(500));
    let mut newcomer = Player::spawn(
        CLIENT,
        None,
        &relay.addr.to_string(),
        "newcomer",
        15,
        &["-transport", "tcp"],
        dir.path(),
    );
    let (mut probes, mut slowest, mut rss_max) = (0u32, Duration::ZERO, rss_before);
    let mut failures = Vec::new();
    while began.elapsed() < attack {
        let t = Instant::now();
        match http::get_at(server.sockaddr(), "/healthz", Duration::from_secs(10)) {
            Ok((200, _)) => {}
            other => failures.push(format!("at {:.1?}: {other:?}", began.elapsed())),
        }
        probes += 1;
        slowest = slowest.max(t.elapsed());
        rss_max = rss_max.max(rss_kib(server.pid(), "VmRSS:").unwrap_or(0));
        newcomer.poll_joined();
        std::thread::sleep(Duration::from_millis(100));
    }
    let elapsed = began.elapsed();
    let newcomer_joined = newcomer.poll_joined();
    let ticks = server.tick().expect("tick") - tick0;
    let after = on_time(&server);
    let opened = holders.opened.load(Ordering::Relaxed);
    let tcp_conns = metric(&server, "venture_carrier_connections{carrier=\"tcp\"}");
    drop(holders);
    let rate = ticks as f64 / elapsed.as_secs_f64();
    eprintln!(
        "FIGURE under {opened} held-open connections and 2 stopped readers for {elapsed:.1?}: \
         {probes} /healthz probes, slowest {slowest:.2?}; {rate:.1} ticks/s of {tick_rate}; \
         server RSS {} -> max {} MiB; tcp connections at the end {tcp_conns:?}; \
         a TCP join at 1 s round trip in the middle of it took {newcomer_joined:.2?}",
        rss_before / 1024,
        rss_max / 1024
    );
    assert!(
        newcomer_joined.is_some_and(|j| newcomer.spawned + j <= began + elapsed),
        "a new player could not join during the attack: {newcomer_joined:?}"
    );
    assert!(
        failures.is_empty(),
        "/healthz failed under the attack: {failures:?}"
    );
    assert!(opened >= 400, "the attack opened only {opened} connections");
    assert!(
        rate >= tick_rate * 0.5,
        "the tick rate fell to {rate:.1}/s of {tick_rate}"
    );
    assert_eq!(before.len(), 4, "{before:?}");
    for ((name, b), (_, a)) in before.iter().zip(&after) {
        assert!(
            *a >= b + (tick_rate as u64) * attack.as_secs() / 4,
            "{name}'s inputs stopped landing: {b} -> {a} on time during the attack"
        );
    }
    assert!(
        rss_max < rss_before + 64 * 1024,
        "server RSS grew from {} to {} KiB",
        rss_before,
        rss_max
    );
    // The players never noticed: all still listed and playing, then a clean end.
    let names = playing(server.port).expect("/status");
    assert_eq!(
        names.iter().filter(|n| n.starts_with('p')).count(),
        4,
        "{names:?}"
    );
    finish_all(&mut good.procs, Duration::from_secs(90));
    let json = newcomer.finish(15, Duration::from_secs(60));
    assert_eq!(
        (json["carrier"].as_str(), json["desyncs"].as_u64()),
        (Some("tcp"), Some(0)),
        "{json}"
    );
}
