//! Hostile traffic against a real venture-server while real bots play.
//!
//! One server and three `venture-client` bots (40 s each) on 127.0.0.1. For ~20 s the
//! test sends, from 49 source addresses (127.0.0.2 ..= 127.0.0.50; Linux routes all of
//! 127.0.0.0/8 to loopback): random bytes, truncated and oversized (up to 65,000 B)
//! datagrams, valid protocol messages from a second socket of each source (Hello floods,
//! Joins with forged cookies, Inputs, chunk acks and pings from unadmitted addresses),
//! the secure layer's own packets (padded `Hello`s, `Initiate`s with made-up cookies,
//! `Data` from addresses without a session, server-only packet types), and replays of the
//! same datagrams. Everything is bounded in time and count.
//!
//! The secure layer (net/src/secure/) sits between the carriers and the session: none of
//! this reaches the session, only a layer `Hello` gets an answer (a 53-byte `Cookie`),
//! and everything else is counted in `venture_datagrams_dropped_total`.
//!
//! Measured and asserted: server RSS before and after (and its peak), the tick rate
//! during the attack (`/status` "tick" against wall time), zero desyncs for the bots,
//! that no unadmitted source socket received more bytes than it sent, and that the
//! attack shows in the drop counters. The numbers are printed
//! (`cargo test --test hostile_traffic -- --nocapture`).
//!
//! Also here: regression tests for decoder findings of the fuzz targets (`fuzz/`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use venture_net::carrier::udp::UdpCarrier;
use venture_net::carrier::{Carrier, Remote};
use venture_net::protocol::{encode, Message, SnapshotReason};
use venture_sim::{PlayerInput, SIM_VERSION};
use venture_testkit::handshake::admitted_session;
use venture_testkit::{bin, http_get, wait_for, Proc, Scratch, Server};

const CLIENT: &str = bin!("venture-client");
const BOTS: usize = 3;
const BOT_SECONDS: u64 = 40;
const ATTACK: Duration = Duration::from_secs(20);
/// Hard cap on datagrams the attack sends, whatever the machine's speed.
const MAX_DATAGRAMS: u64 = 120_000;
const SOURCES: u8 = 49;
/// Sources of unframed datagrams in the default scenario (`many_unknown_addresses_*` sends
/// from all 49: before the secure layer, more than laminar's cap of 32 unestablished
/// connections was what hurt).
const RAW_SOURCES: usize = 20;

use venture_testkit::cases::GarbageRng as Rng;

fn rss_kib(pid: u32, field: &str) -> u64 {
    venture_testkit::rss_kib(pid, field).unwrap_or_else(|| panic!("no {field} for pid {pid}"))
}

fn status_tick(port: u16) -> Option<u64> {
    let (code, body) = http_get(port, "/status").ok()?;
    if code != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(body.trim()).ok()?;
    v["tick"].as_u64()
}

/// One attacking source address: a raw socket for garbage, and a second one for valid
/// session messages (what a client's socket sent before the secure layer).
struct Source {
    ip: Ipv4Addr,
    raw: UdpSocket,
    raw_sent: u64,
    raw_received: u64,
    ep: UdpCarrier,
    /// Bytes read from the second socket.
    ep_extra_received: u64,
}

impl Source {
    fn new(ip: Ipv4Addr) -> Source {
        let raw = UdpSocket::bind((ip, 0)).expect("bind raw source");
        raw.set_nonblocking(true).expect("nonblocking");
        let sock = UdpCarrier::bind(SocketAddr::new(IpAddr::V4(ip), 0)).expect("bind ep");
        Source {
            ip,
            raw,
            raw_sent: 0,
            raw_received: 0,
            ep: sock,
            ep_extra_received: 0,
        }
    }

    fn send_raw(&mut self, to: SocketAddr, bytes: &[u8]) {
        if let Ok(n) = self.raw.send_to(bytes, to) {
            self.raw_sent += n as u64;
        }
    }

    fn drain_raw(&mut self) {
        let mut buf = vec![0u8; 65_536];
        for _ in 0..10_000 {
            match self.raw.recv_from(&mut buf) {
                Ok((n, _)) => self.raw_received += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => {}
            }
        }
    }

    /// Reads the second socket (nothing is ever sent back from it).
    fn drain_ep_direct(&mut self) {
        let mut buf = vec![0u8; 65_536];
        for _ in 0..10_000 {
            match self.ep.inner().recv_from(&mut buf) {
                Ok((n, _)) => self.ep_extra_received += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => {}
            }
        }
    }

    fn ep_sent(&self) -> u64 {
        self.ep.udp_stats().bytes_out
    }

    fn ep_received(&self) -> u64 {
        let s = self.ep.udp_stats();
        s.bytes_in + self.ep_extra_received
    }
}

fn http_abuse(port: u16, rng: &mut Rng, half_open: &mut Vec<std::net::TcpStream>) {
    use std::io::Write;
    use std::net::TcpStream;
    let connect = || {
        let s = TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_write_timeout(Some(Duration::from_millis(200))).ok()?;
        Some(s)
    };
    if let Some(mut s) = connect() {
        let _ = s.write_all(&rng.bytes(600));
    }
    if let Some(mut s) = connect() {
        let mut head = b"GET /status HTTP/1.1\r\nX-Pad: ".to_vec();
        head.extend(std::iter::repeat_n(b'a', 20_000));
        let _ = s.write_all(&head);
    }
    if half_open.len() < 20 {
        if let Some(mut s) = connect() {
            let _ = s.write_all(b"GET /metr");
            half_open.push(s);
        }
    }
}

fn valid_messages(rng: &mut Rng, tick: u64) -> Vec<Vec<u8>> {
    let mut cookie = [0u8; 16];
    cookie.copy_from_slice(&rng.bytes(16));
    let msgs = [
        Message::hello(SIM_VERSION),
        Message::hello(SIM_VERSION + 7),
        Message::Join {
            cookie,
            name: "intruder".into(),
            character_secret: [1; 16],
        },
        Message::Inputs {
            ack_tick: tick,
            first_tick: tick.max(1),
            inputs: vec![
                PlayerInput {
                    move_x: 100,
                    buttons: 1,
                    ..PlayerInput::IDLE
                };
                30
            ],
        },
        Message::SnapshotRequest {
            reason: SnapshotReason::Join,
        },
        Message::SnapshotChunkAck {
            snapshot_id: 1,
            contiguous: 3,
            mask: u64::MAX,
        },
        Message::Ping {
            nonce: rng.next_u64(),
        },
        Message::Leave,
        // Server-to-client messages sent to the server.
        Message::Challenge { cookie },
        Message::ShuttingDown,
    ];
    msgs.iter().map(|m| encode(m).expect("encodes")).collect()
}

/// The mixed attack (every kind of datagram plus hostile HTTP) from 49 addresses: memory
/// grows by less than 8 MiB. (Before the secure layer, each answered stranger held a
/// laminar connection until its idle timeout, 1.8 MB with laminar 0.5.0 as published and
/// ~40 KiB with the vendored patch, and the bound was 32 MiB; now a stranger costs nothing
/// until it echoes a valid cookie, which no attacker here has.)
#[test]
fn server_survives_hostile_traffic_with_bounded_memory_and_no_amplification() {
    let mix = std::env::var("HOSTILE_MIX").unwrap_or_default();
    hostile_scenario(&mix, 8 * 1024, 20.0 * 0.85);
}

/// Regression: garbage from more source addresses than laminar's unestablished cap used
/// to cost a ~1.8 MB laminar connection per datagram (laminar 0.5.0's congestion buffer,
/// since patched in vendor/laminar to ~40 KiB), collapsing the tick rate and lifting RSS
/// by ~50 MB. The socket's stranger gate then dropped such datagrams before laminar saw
/// them; now the secure layer does, counting each in `venture_datagrams_dropped_total`.
#[test]
fn many_unknown_addresses_sending_garbage_keep_tick_rate_and_memory() {
    hostile_scenario("raw", 8 * 1024, 20.0 * 0.85);
}

/// The secure layer's own packets as an attacker without a session can make them.
fn layer_packets(rng: &mut Rng) -> Vec<u8> {
    use venture_net::secure::wire;
    let cookie: [u8; 16] = rng.bytes(16).try_into().expect("16 bytes");
    match rng.below(6) {
        0 | 1 => wire::hello(),
        2 => {
            let len = wire::NOISE_MSG1_MIN + rng.below(64) as usize;
            wire::initiate(&cookie, &rng.bytes(len))
        }
        3 => {
            let len = rng.below(300) as usize;
            let mut d = wire::data_header(rng.next_u64(), len + wire::TAG_LEN);
            d.extend(rng.bytes(len + wire::TAG_LEN));
            d
        }
        // Packets only a server sends.
        4 => wire::cookie(&cookie, &[7; 32]),
        _ => wire::accept(&rng.bytes(wire::NOISE_MSG2_LEN)),
    }
}

/// `venture_datagrams_dropped_total` by reason.
fn dropped(port: u16) -> std::collections::BTreeMap<String, u64> {
    let body = http_get(port, "/metrics").map(|r| r.1).unwrap_or_default();
    body.lines()
        .filter_map(|l| l.strip_prefix("venture_datagrams_dropped_total{reason=\""))
        .filter_map(|l| {
            let (reason, value) = l.split_once("\"} ")?;
            Some((reason.to_string(), value.trim().parse::<f64>().ok()? as u64))
        })
        .collect()
}

fn hostile_scenario(mix: &str, rss_growth_kib: u64, min_tick_rate: f64) {
    let dir = Scratch::new("hostile");
    let server = Server::builder(bin!("venture-server"))
        .dir(dir.path())
        .args(&["-max-players", "4", "-seed", "777"])
        .start();
    let port = server.port;
    let target = SocketAddr::from(([127, 0, 0, 1], port));
    let server_addr = target.to_string();
    let secrets = dir.path().join("secrets");
    let secrets = secrets.to_str().expect("utf-8 path").to_string();
    let duration = BOT_SECONDS.to_string();
    let mut bots: Vec<Proc> = (0..BOTS)
        .map(|i| {
            let name = format!("bot{i}");
            Proc::spawn(
                CLIENT,
                &[
                    "--server",
                    &server_addr,
                    "--name",
                    &name,
                    "--bots",
                    "1",
                    "--duration",
                    &duration,
                    "--status-every",
                    "0",
                    "--secret-dir",
                    &secrets,
                ],
                dir.path(),
                &name,
                &[],
            )
        })
        .collect();
    let bots_started = Instant::now();
    assert!(
        wait_for(Duration::from_secs(30), || http_get(port, "/status")
            .is_ok_and(|(_, b)| b.matches("\"slot\"").count() == BOTS)),
        "bots did not join: {}",
        http_get(port, "/status").map(|r| r.1).unwrap_or_default()
    );
    std::thread::sleep(Duration::from_secs(1));
    let pid = server.pid();
    let rss_before = rss_kib(pid, "VmRSS:");

    let mut sources: Vec<Source> = (0..SOURCES)
        .map(|i| Source::new(Ipv4Addr::new(127, 0, 0, 2 + i)))
        .collect();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    // HOSTILE_MIX=raw|plain|layer|http restricts the attack to one kind (diagnosis).
    let mix = mix.to_string();
    let tick_start = status_tick(port).expect("status tick");
    let attack_start = Instant::now();
    let mut datagrams = 0u64;
    let mut samples: Vec<(Duration, u64)> = Vec::new();
    let mut next_sample = attack_start;
    let mut round = 0u64;
    let mut replay: Vec<Vec<u8>> = Vec::new();
    let mut half_open: Vec<std::net::TcpStream> = Vec::new();
    while attack_start.elapsed() < ATTACK && datagrams < MAX_DATAGRAMS {
        round += 1;
        let tick = tick_start + (attack_start.elapsed().as_millis() / 50) as u64;
        let valid = valid_messages(&mut rng, tick);
        // A few sources per round, rotating; some rounds are floods from one source.
        let flood = round.is_multiple_of(50);
        let per_round = if flood { 1 } else { 6 };
        for k in 0..if mix == "http" { 0 } else { per_round } {
            let i = ((round * 7 + k) % u64::from(SOURCES)) as usize;
            // Raw (unframed) datagrams come from the first RAW_SOURCES addresses only,
            // unless the scenario is "raw" (see the ignored test for why).
            let r = if mix == "raw" { i } else { i % RAW_SOURCES };
            let sends = if flood { 40 } else { 2 };
            for _ in 0..sends {
                datagrams += 1;
                let kind = match mix.as_str() {
                    "raw" => rng.below(4),
                    "plain" => 4,
                    "layer" => 10,
                    _ => rng.below(12),
                };
                match kind {
                    // The layer's handshake and data packets, from unadmitted addresses.
                    10 | 11 => {
                        let bytes = layer_packets(&mut rng);
                        sources[r].send_raw(target, &bytes);
                    }
                    // Random garbage, small to jumbo.
                    0 => {
                        let len = rng.below(1500) as usize;
                        sources[r].send_raw(target, &rng.bytes(len));
                    }
                    1 if rng.below(20) == 0 => {
                        let len = 1500 + rng.below(63_500) as usize;
                        sources[r].send_raw(target, &rng.bytes(len));
                    }
                    // Valid protocol bytes without laminar framing, sometimes truncated.
                    1 | 2 => {
                        let m = &valid[rng.below(valid.len() as u64) as usize];
                        let cut = if rng.below(2) == 0 {
                            m.len()
                        } else {
                            rng.below(m.len() as u64) as usize
                        };
                        sources[r].send_raw(target, &m[..cut]);
                    }
                    // Replays of earlier raw datagrams.
                    3 if !replay.is_empty() => {
                        let m = replay[rng.below(replay.len() as u64) as usize].clone();
                        sources[r].send_raw(target, &m);
                    }
                    // Valid session messages in plaintext, from the second socket.
                    _ => {
                        let m = valid[rng.below(valid.len() as u64) as usize].clone();
                        if replay.len() < 64 {
                            replay.push(m.clone());
                        }
                        sources[i].ep.send(Remote::udp(target), &m);
                    }
                }
            }
            sources[r].drain_raw();
        }
        if Instant::now() >= next_sample {
            if let Some(t) = status_tick(port) {
                samples.push((attack_start.elapsed(), t));
            }
            next_sample += Duration::from_secs(1);
            // Hostile HTTP on the same port: garbage, an oversized head, and a
            // half-sent request left open (bounded: one of each per second).
            if mix.is_empty() || mix == "http" {
                http_abuse(port, &mut rng, &mut half_open);
            }
            for s in sources.iter_mut() {
                s.drain_raw();
                s.drain_ep_direct();
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let attack_secs = attack_start.elapsed().as_secs_f64();
    drop(half_open);
    let tick_end = status_tick(port).expect("status tick after attack");

    // Collect late replies without sending anything more, while the bots finish.
    let drain_until = Instant::now() + Duration::from_secs(11);
    while Instant::now() < drain_until {
        for s in sources.iter_mut() {
            s.drain_raw();
            s.drain_ep_direct();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let rss_after = rss_kib(pid, "VmRSS:");
    let rss_peak = rss_kib(pid, "VmHWM:");

    let tick_rate = (tick_end - tick_start) as f64 / attack_secs;
    let drops = dropped(port);
    let dropped_total: u64 = drops.values().sum();
    println!("hostile: dropped by the secure layer {drops:?}");
    if let Ok((_, m)) = http_get(port, "/metrics") {
        for l in m.lines().filter(|l| {
            !l.starts_with('#')
                && [
                    "connections",
                    "cap_hits",
                    "invalid",
                    "overruns",
                    "datagrams",
                ]
                .iter()
                .any(|k| l.contains(k))
        }) {
            println!("hostile: metric {l}");
        }
    }
    let mut sent_total = 0u64;
    let mut received_total = 0u64;
    let mut worst: Vec<String> = Vec::new();
    let mut max_ratio = 0.0f64;
    for s in &sources {
        let sent = s.raw_sent + s.ep_sent();
        let received = s.raw_received + s.ep_received();
        sent_total += sent;
        received_total += received;
        for (what, out, back) in [
            ("raw", s.raw_sent, s.raw_received),
            ("plain", s.ep_sent(), s.ep_received()),
        ] {
            if back > 0 {
                max_ratio = max_ratio.max(back as f64 / out.max(1) as f64);
            }
            if back > out {
                worst.push(format!("{} {what}: sent {out} B, received {back} B", s.ip));
            }
        }
    }
    println!(
        "hostile: {datagrams} datagrams in {attack_secs:.1} s from {SOURCES} addresses; \
         sent {sent_total} B, received {received_total} B (max per-socket ratio {max_ratio:.3})"
    );
    println!(
        "hostile: server RSS before {rss_before} KiB, after {rss_after} KiB, peak {rss_peak} KiB"
    );
    println!(
        "hostile: ticks {tick_start} -> {tick_end}: {tick_rate:.2} ticks/s over the attack; \
         samples {samples:?}"
    );

    // Bots finish with no desync.
    let mut results = Vec::new();
    for (i, bot) in bots.iter_mut().enumerate() {
        let left = Duration::from_secs(BOT_SECONDS + 20).saturating_sub(bots_started.elapsed());
        let code = bot.wait_timeout(left.max(Duration::from_secs(5)));
        let out = bot.stdout();
        let line = out.lines().last().unwrap_or("").to_string();
        println!("hostile: bot{i} exit {code:?}: {line}");
        results.push((code, line, bot.stderr()));
    }

    assert!(
        worst.is_empty(),
        "unadmitted sources received more than they sent: {worst:?}"
    );
    assert!(
        tick_rate >= min_tick_rate,
        "server fell behind under attack: {tick_rate:.2} ticks/s (rate 20)"
    );
    assert!(
        rss_after <= rss_before + rss_growth_kib,
        "server RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
    assert!(
        rss_peak <= rss_before + 2 * rss_growth_kib,
        "server peak RSS {rss_peak} KiB (before {rss_before} KiB)"
    );
    for (i, (code, line, stderr)) in results.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("bot{i} final line {line:?}: {e}; stderr {stderr}"));
        assert_eq!(v["desyncs"].as_u64(), Some(0), "bot{i}: {line}");
        assert_eq!(*code, Some(Some(0)), "bot{i} exit: {line}; stderr {stderr}");
    }
    // The attack reached the layer and was counted there: most of it (the kernel may drop
    // some under load, and a layer Hello is answered, not dropped).
    assert!(
        dropped_total * 2 >= datagrams,
        "{dropped_total} datagrams counted as dropped of {datagrams} sent: {drops:?}"
    );
    let expected: &[&str] = match mix.as_str() {
        "" => &["malformed", "truncated", "unknown_peer", "bad_cookie"],
        "layer" => &["malformed", "unknown_peer", "bad_cookie"],
        "http" => &[],
        _ => &["malformed"],
    };
    for reason in expected {
        assert!(
            drops.get(*reason).copied().unwrap_or(0) > 0,
            "no {reason}: {drops:?}"
        );
    }
    // The server is still serving.
    assert_eq!(http_get(port, "/healthz").ok().map(|r| r.0), Some(200));
}

/// Fuzz finding (server_datagram; also reasoned from the code): an admitted client's
/// `Inputs` with `first_tick` >= 2^63 makes `ServerSession::on_client_message` compute
/// `newest as i64 - current as i64` (now `Client::on_inputs` in net/src/server/peer.rs, the lead-margin line), which
/// overflows: a panic with overflow checks (debug builds, the fuzz build), a wrapped
/// garbage margin in release. `Message::validate` only checks `first_tick + len` fits in
/// u64. Fix belongs to net/ (e.g. `(newest.min(i64::MAX as u64) as i64)
/// .saturating_sub(current as i64)`, or reject first_tick beyond current + max_input_lead
/// before computing the margin). Fixed: inputs beyond the accepted lead no longer reach the
/// margin arithmetic.
#[test]
fn regression_inputs_far_future_tick_does_not_overflow_margin() {
    let (mut s, addr, now) = admitted_session();
    let inputs = Message::Inputs {
        ack_tick: 1,
        first_tick: (1u64 << 63) + 1,
        inputs: vec![PlayerInput::IDLE],
    };
    s.on_datagram(addr, &encode(&inputs).unwrap(), now);
    s.poll(now + Duration::from_millis(50));
    assert_eq!(s.player_count(), 1);
}

/// The same far-future tick just below the overflow: accepted without effect.
#[test]
fn inputs_beyond_the_lead_window_are_ignored() {
    let (mut s, addr, now) = admitted_session();
    let before = s.world().tick();
    let inputs = Message::Inputs {
        ack_tick: 1,
        first_tick: 1u64 << 40,
        inputs: vec![PlayerInput::IDLE; 3],
    };
    s.on_datagram(addr, &encode(&inputs).unwrap(), now);
    s.poll(now + Duration::from_millis(50));
    assert_eq!(s.player_count(), 1);
    assert!(s.world().tick() > before);
}
