//! Players who stay, on real binaries and real UDP on 127.0.0.1:
//! - `kill -9` of the server with bots connected, then a restart: the bots reconnect by
//!   themselves, as the same characters (level, items, gold), and exit 0;
//! - a server that never comes back: the client exits 3 and says why;
//! - a client behind a delaying relay (a thread here that delays, jitters and drops 5% of
//!   datagrams both ways) at 2 s and 5 s round trip gets its own inputs in: substitutions
//!   after the warm-up stay under 1% and 2% of its ticks.

use std::collections::BinaryHeap;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use venture_sim::character::Character;
use venture_testkit::characters;
use venture_testkit::{bin, free_port, http_get, wait_for, Proc, Scratch, Server};

const CLIENT: &str = bin!("venture-client");
const SECRET: [u8; 16] = *b"stay-right-here!";

fn server(dir: &Path, port: u16, tag: &str) -> Server {
    Server::builder(bin!("venture-server"))
        .persisting_in(dir)
        .port(port)
        .tag(tag)
        .args(&["-seed", "9", "--autosave", "1"])
        .start()
}

fn status(port: u16) -> serde_json::Value {
    let (_, body) = http_get(port, "/status").expect("status answers");
    serde_json::from_str(&body).expect("status is JSON")
}

/// A level-7 character with 555 gold and three items, owned by SECRET, saved as `name`.
fn plant_character(dir: &Path, secrets: &Path, name: &str) -> Character {
    let c = characters::veteran();
    characters::plant(dir, secrets, name, &SECRET, &c);
    c
}

#[test]
fn bots_reconnect_after_kill_9_with_their_characters_and_exit_0() {
    let dir = Scratch::new("reconnect");
    let secrets = dir.path().join("secrets");
    let before = plant_character(dir.path(), &secrets, "stay0");
    let port = free_port();
    let mut s1 = server(dir.path(), port, "server1");
    let server_addr = format!("127.0.0.1:{port}");
    let secret_dir = secrets.display().to_string();
    let mut bots = Proc::spawn(
        CLIENT,
        &[
            "--server",
            &server_addr,
            "--name",
            "stay",
            "--bots",
            "3",
            "--bot",
            "explore",
            "--duration",
            "40",
            "--status-every",
            "1",
            "--secret-dir",
            &secret_dir,
        ],
        dir.path(),
        "bots",
        &[],
    );
    assert!(
        wait_for(Duration::from_secs(30), || status(port)["players"]
            .as_array()
            .is_some_and(|p| p.len() == 3)),
        "bots did not join: {}",
        bots.stderr()
    );
    // Playing, and the restored character saved again by the autosave.
    assert!(wait_for(Duration::from_secs(20), || bots
        .stderr()
        .matches(": playing tick")
        .count()
        >= 6));
    std::thread::sleep(Duration::from_millis(2500));
    assert!(characters::saved(dir.path(), "stay0").progress.level >= 7);

    s1.signal("KILL");
    assert_eq!(s1.wait_timeout(Duration::from_secs(5)), Some(None));
    // Down for 3 s, as a supervisor restarting it would leave it.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        bots.stderr().contains("reconnecting ("),
        "status line shows the reconnect: {}",
        bots.stderr()
    );
    let mut s2 = server(dir.path(), port, "server2");
    let accepting = Instant::now();
    assert!(
        wait_for(Duration::from_secs(20), || bots
            .stderr()
            .matches("playing again")
            .count()
            == 3),
        "bots did not come back: {}",
        bots.stderr()
    );
    let back = accepting.elapsed();
    eprintln!("all 3 bots playing again {back:?} after the server answered /healthz");
    assert!(
        back < Duration::from_secs(4),
        "took {back:?} (target 2 s; margin for a loaded machine)"
    );
    assert_eq!(bots.stderr().matches("rejoined as slot").count(), 3);

    assert_eq!(
        bots.wait_timeout(Duration::from_secs(60)),
        Some(Some(0)),
        "{}",
        bots.stderr()
    );
    for line in bots.stdout().lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("final JSON");
        assert_eq!(v["desyncs"], 0, "{v}");
        assert_eq!(v["reconnects"], 1, "{v}");
        assert!(v["confirmed"].as_u64().unwrap_or(0) > 200, "{v}");
    }
    // The leave saved the character from the restarted server's world: still level 7+,
    // the gold and every item there (the explorer bot spends nothing, may find more).
    std::thread::sleep(Duration::from_millis(500));
    s2.signal("TERM");
    assert_eq!(s2.wait_timeout(Duration::from_secs(10)), Some(Some(0)));
    let after = characters::saved(dir.path(), "stay0");
    assert!(after.progress.level >= 7, "{:?}", after.progress);
    assert!(after.progress.gold >= 555, "{:?}", after.progress);
    characters::assert_keeps_items(&after, &before);
}

#[test]
fn a_client_whose_server_never_returns_exits_3_with_the_reason() {
    let dir = Scratch::new("reconnect-gone");
    let port = free_port();
    let mut s = server(dir.path(), port, "server");
    let server_addr = format!("127.0.0.1:{port}");
    let secrets = dir.path().join("secrets").display().to_string();
    let mut c = Proc::spawn(
        CLIENT,
        &[
            "--server",
            &server_addr,
            "--name",
            "gone",
            "--duration",
            "60",
            "--reconnect-for",
            "3",
            "--status-every",
            "1",
            "--secret-dir",
            &secrets,
        ],
        dir.path(),
        "client",
        &[],
    );
    assert!(wait_for(Duration::from_secs(20), || c
        .stderr()
        .contains(": playing tick")));
    s.signal("KILL");
    let _ = s.wait_timeout(Duration::from_secs(5));
    let killed = Instant::now();
    assert_eq!(
        c.wait_timeout(Duration::from_secs(20)),
        Some(Some(3)),
        "{}",
        c.stderr()
    );
    // One second of silence, then three seconds of trying.
    assert!(killed.elapsed() >= Duration::from_secs(3));
    let err = c.stderr();
    assert!(err.contains("reconnecting ("), "{err}");
    assert!(
        err.contains("lost the server") && err.contains("the server stopped answering"),
        "{err}"
    );
}

/// A datagram held by the relay: (due, sequence, destination, payload).
type Delayed = (Instant, u64, SocketAddr, Vec<u8>);

/// A UDP relay on 127.0.0.1 between one client and the server: each datagram, either
/// way, is dropped with probability `loss` or delivered after `one_way` plus a uniform
/// draw in `0..=jitter`. Runs until `stop`.
struct Relay {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Relay {
    fn start(server: SocketAddr, one_way: Duration, jitter: Duration, loss_permille: u64) -> Relay {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind relay");
        let addr = socket.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            // (due, sequence, destination, payload), earliest first.
            let mut queue: BinaryHeap<std::cmp::Reverse<Delayed>> = BinaryHeap::new();
            let mut client: Option<SocketAddr> = None;
            let mut seq = 0u64;
            let mut x = 0x2545_f491_4f6c_dd1du64;
            let mut draw = move |n: u64| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % n.max(1)
            };
            let mut buf = vec![0u8; 2048];
            while !flag.load(Ordering::Relaxed) {
                let now = Instant::now();
                while queue.peek().is_some_and(|r| r.0 .0 <= now) {
                    let std::cmp::Reverse((_, _, to, bytes)) = queue.pop().expect("peeked");
                    let _ = socket.send_to(&bytes, to);
                }
                let wait = queue
                    .peek()
                    .map_or(Duration::from_millis(5), |r| {
                        r.0 .0.saturating_duration_since(now)
                    })
                    .clamp(Duration::from_micros(200), Duration::from_millis(5));
                let _ = socket.set_read_timeout(Some(wait));
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let to = if from == server {
                    match client {
                        Some(c) => c,
                        None => continue,
                    }
                } else {
                    client = Some(from);
                    server
                };
                if draw(1000) < loss_permille {
                    continue;
                }
                let extra = Duration::from_micros(draw(jitter.as_micros() as u64 + 1));
                seq += 1;
                queue.push(std::cmp::Reverse((
                    Instant::now() + one_way + extra,
                    seq,
                    to,
                    buf[..n].to_vec(),
                )));
            }
        });
        Relay {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One client through the relay for `secs`; returns (on time, substituted) counted by the
/// server between `warm` after the client joined and the end.
fn through_relay(
    rtt: Duration,
    jitter: Duration,
    warm: Duration,
    secs: u64,
    bot: &str,
) -> (u64, u64) {
    let dir = Scratch::new("relay");
    let server_proc = Server::builder(bin!("venture-server"))
        .dir(dir.path())
        .tag("server")
        .args(&["-seed", "3"])
        .start();
    let port = server_proc.port;
    let server: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let relay = Relay::start(server, rtt / 2, jitter, 50);
    let via = relay.addr.to_string();
    let secrets = dir.path().join("secrets").display().to_string();
    let mut c = Proc::spawn(
        CLIENT,
        &[
            "--server",
            &via,
            "--name",
            "far",
            "--bot",
            bot,
            "--duration",
            &secs.to_string(),
            "--status-every",
            "2",
            "--secret-dir",
            &secrets,
        ],
        dir.path(),
        "client",
        &[],
    );
    let counts = |port: u16| {
        let v = status(port);
        let p = &v["players"][0];
        (
            p["inputs_on_time"].as_u64().unwrap_or(0),
            p["inputs_substituted"].as_u64().unwrap_or(0),
        )
    };
    let spawned = Instant::now();
    assert!(
        wait_for(Duration::from_secs(40), || counts(port).0 > 0),
        "no inputs arrived: {}",
        c.stderr()
    );
    std::thread::sleep(warm);
    let start = counts(port);
    // Sampled just before the client's duration ends (its leave removes it from /status).
    let end_at = spawned + Duration::from_secs(secs) - Duration::from_secs(2);
    std::thread::sleep(end_at.saturating_duration_since(Instant::now()));
    let end = counts(port);
    assert_eq!(
        c.wait_timeout(Duration::from_secs(30)),
        Some(Some(0)),
        "{}",
        c.stderr()
    );
    let v: serde_json::Value =
        serde_json::from_str(c.stdout().lines().next().unwrap_or("{}")).expect("final JSON");
    assert_eq!(v["desyncs"], 0, "{v}");
    drop(relay);
    (end.0 - start.0, end.1 - start.1)
}

#[test]
fn a_far_player_at_2_s_gets_its_own_inputs_in() {
    let (on, sub) = through_relay(
        Duration::from_secs(2),
        Duration::from_millis(100),
        Duration::from_secs(8),
        45,
        "random",
    );
    eprintln!(
        "2 s RTT, 5% loss, 100 ms jitter: {sub} of {} substituted",
        on + sub
    );
    assert!(on + sub > 300, "{on} + {sub}");
    assert!(sub * 100 < on + sub, "{sub} of {} substituted", on + sub);
}

#[test]
fn a_far_player_at_5_s_gets_its_own_inputs_in() {
    let (on, sub) = through_relay(
        Duration::from_secs(5),
        Duration::from_millis(200),
        Duration::from_secs(12),
        58,
        // Inputs that change every few ticks make every substitution a misprediction, and
        // each costs re-simulating the whole 5 s window: a debug build on a loaded machine
        // then falls behind real time. The explorer changes course rarely; substitutions
        // are counted by the server all the same.
        "explore",
    );
    eprintln!(
        "5 s RTT, 5% loss, 200 ms jitter: {sub} of {} substituted",
        on + sub
    );
    assert!(on + sub > 300, "{on} + {sub}");
    assert!(
        sub * 100 < 2 * (on + sub),
        "{sub} of {} substituted",
        on + sub
    );
}
