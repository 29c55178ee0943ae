//! Bandwidth per player (issue "Network engine", item 8; per carrier, issue 21): a
//! `ServerSession` and 4 `ClientSession`s over the simulated network (virtual clock, 20 Hz,
//! the reference world `SimConfig::default()`, scripted inputs with a stable `slot` field)
//! for 60 s of virtual time, at several round trips and loss rates, with every client on
//! UDP or every client on TCP (the simulated network's stream links: ordered, a loss is a
//! retransmission stall).
//!
//! Bytes are counted on the simulated sockets: the secure-layer packet (its 25 B, the
//! session's 4 B header and the message), plus for TCP the carrier's 2-byte frame length.
//! Each packet is then charged its IP header: 28 B of IPv4 + UDP per datagram, 40 B of
//! IPv4 + TCP per segment (the game writes one packet at a time with TCP_NODELAY, so one
//! segment per packet; ACK-only segments, which delayed ACKs mostly fold into the data
//! going the other way, are not counted). "down" is what the server sent (per player:
//! server total / players), "up" what each client sent. Targets: < 2 KB/s down and
//! < 1.5 KB/s up per player on UDP (1 KB = 1000 bytes), and within +15% of that on TCP.
//! Two windows are reported: the whole run (handshake and the join snapshot included) and
//! the steady state (from 10 s, after every client is playing, to the end); and where the
//! steady bytes go, per datagram and per second.
//!
//! Run: `cargo bench --bench bandwidth`.

use std::time::Duration;

use venture_net::carrier::simnet::{LinkConfig, SimNet, SimSocket};
use venture_net::carrier::{CarrierKind, CarrierStats};
use venture_net::client::{ClientConfig, ClientSession, ClientStats, Phase};
use venture_net::driver::{ClientDriver, ServerDriver};
use venture_net::server::{ServerSession, SessionConfig};
use venture_sim::script::scripted_input;
use venture_sim::{PlayerInput, SimConfig, World};

const PLAYERS: usize = 4;
const SECONDS: u64 = 60;
const STEADY_FROM: Duration = Duration::from_secs(10);
const IP_UDP_HEADER: u64 = 28;
const IP_TCP_HEADER: u64 = 40;
const TARGET_DOWN: f64 = 2.0;
const TARGET_UP: f64 = 1.5;
/// TCP may cost this much more than the UDP targets.
const TCP_MARGIN: f64 = 1.15;
/// The secure layer's bytes per packet and the session's header.
const SECURE_OVERHEAD: u64 = venture_net::secure::wire::DATA_OVERHEAD as u64;
const SESSION_HEADER: u64 = venture_net::protocol::HEADER_LEN as u64;

fn ip_header(carrier: CarrierKind) -> u64 {
    if carrier.is_stream() {
        IP_TCP_HEADER
    } else {
        IP_UDP_HEADER
    }
}

/// Bytes on the wire (carrier bytes + IP header per packet) of a socket's counters, and
/// the packets.
#[derive(Clone, Copy, Default)]
struct Wire {
    down: u64,
    up: u64,
    packets_up: u64,
}

fn wire(s: &CarrierStats, header: u64) -> Wire {
    Wire {
        down: s.bytes_in + header * s.packets_in,
        up: s.bytes_out + header * s.packets_out,
        packets_up: s.packets_out,
    }
}

/// Where one direction's steady bytes go, per second per player.
#[derive(Clone, Copy, Default)]
struct Split {
    packets: f64,
    ip: f64,
    framing: f64,
    secure: f64,
    session_header: f64,
    message: f64,
}

impl Split {
    /// `carried` bytes (the carrier's: framing included, IP headers not) in `packets`,
    /// over `secs` seconds and `per` players.
    fn new(carrier: CarrierKind, carried: u64, packets: u64, secs: f64, per: f64) -> Split {
        let n = packets as f64 / secs / per;
        let framing = if carrier.is_stream() { 2.0 } else { 0.0 };
        let carried = carried as f64 / secs / per;
        Split {
            packets: n,
            ip: n * ip_header(carrier) as f64,
            framing: n * framing,
            secure: n * SECURE_OVERHEAD as f64,
            session_header: n * SESSION_HEADER as f64,
            message: carried - n * (framing + (SECURE_OVERHEAD + SESSION_HEADER) as f64),
        }
    }

    fn show(&self) -> String {
        format!(
            "{:.1} pkt/s: IP {:.0} + framing {:.0} + secure {:.0} + session header {:.0} + messages {:.0} B/s ({:.0} B per packet)",
            self.packets,
            self.ip,
            self.framing,
            self.secure,
            self.session_header,
            self.message,
            self.message / self.packets.max(1e-9)
        )
    }
}

struct Outcome {
    /// Server bytes sent per player, whole run and steady state.
    down: [f64; 2],
    /// Per-client bytes sent, whole run and steady state.
    up: Vec<[f64; 2]>,
    /// Per-client bytes received (after loss), whole run.
    received: Vec<f64>,
    stats: Vec<ClientStats>,
    welcome_ms: Vec<Option<u128>>,
    playing_ms: Vec<Option<u128>>,
    desyncs: u64,
    /// Average bytes the carrier and the secure layer add to each server packet (socket
    /// bytes - session bytes).
    layer_overhead: f64,
    /// Where the steady bytes go: down (per player), up (mean over clients).
    split: [Split; 2],
}

fn run(carrier: CarrierKind, rtt_ms: u64, loss_permille: u16) -> Outcome {
    let header = ip_header(carrier);
    let net = SimNet::new(0xba4d + rtt_ms + u64::from(loss_permille));
    net.set_default_link(LinkConfig {
        loss_permille,
        ..LinkConfig::latency(Duration::from_millis(rtt_ms / 2))
    })
    .expect("valid link");
    let epoch = net.now();
    let config = SimConfig::default();
    let world = World::new(&config).expect("valid");
    let defaults = SessionConfig::default();
    // `VENTURE_BW_MIN_REDUNDANCY=8` turns adaptive redundancy off, for comparison.
    let min_frame_redundancy = std::env::var("VENTURE_BW_MIN_REDUNDANCY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(defaults.min_frame_redundancy);
    let session = ServerSession::new(
        world,
        SessionConfig {
            min_frame_redundancy,
            ..defaults
        },
        [7; 16],
        Duration::ZERO,
    );
    let mut server = ServerDriver::new(net.bind_any().expect("bind"), session, epoch);
    let server_addr = server.carrier().addr();
    let mut clients: Vec<ClientDriver<SimSocket>> = (0..PLAYERS)
        .map(|i| {
            let session = ClientSession::new(
                ClientConfig::new(format!("bot{i}")),
                server_addr,
                Duration::ZERO,
            );
            let socket = if carrier.is_stream() {
                net.bind_stream_any()
            } else {
                net.bind_any()
            };
            let mut driver = ClientDriver::new(socket.expect("bind"), session, epoch);
            driver.set_stream_carrier(carrier.is_stream());
            driver
        })
        .collect();
    let mut welcome_ms = vec![None; PLAYERS];
    let mut playing_ms = vec![None; PLAYERS];
    let mut server_at_steady = Wire::default();
    let mut clients_at_steady = vec![Wire::default(); PLAYERS];
    let step = Duration::from_millis(5);
    let end = Duration::from_secs(SECONDS);
    let mut t = Duration::ZERO;
    while t < end {
        if t == STEADY_FROM {
            // `wire` names the socket's own directions; for the server "up" is what it sent.
            server_at_steady = wire(&server.carrier().socket_stats(), header);
            for (c, at) in clients.iter().zip(clients_at_steady.iter_mut()) {
                *at = wire(&c.carrier().socket_stats(), header);
            }
        }
        server.pump(net.now());
        let _ = server.session.drain_events();
        for (i, c) in clients.iter_mut().enumerate() {
            c.pump(net.now(), &mut |w, slot| PlayerInput {
                slot: 0,
                ..scripted_input(config.seed ^ i as u64, w.tick() + 1, slot as usize)
            });
            let _ = c.session.drain_events();
            let phase = c.session.phase();
            if welcome_ms[i].is_none() && matches!(phase, Phase::Syncing | Phase::Playing) {
                welcome_ms[i] = Some(t.as_millis());
            }
            if playing_ms[i].is_none() && matches!(phase, Phase::Playing) {
                playing_ms[i] = Some(t.as_millis());
            }
        }
        t += step;
        net.advance(step);
    }
    let total_s = SECONDS as f64;
    let steady_s = (end - STEADY_FROM).as_secs_f64();
    let server_total = wire(&server.carrier().socket_stats(), header);
    let per_player = |b: u64| b as f64 / PLAYERS as f64;
    Outcome {
        down: [
            per_player(server_total.up) / total_s,
            per_player(server_total.up - server_at_steady.up) / steady_s,
        ],
        up: clients
            .iter()
            .zip(&clients_at_steady)
            .map(|(c, at)| {
                let w = wire(&c.carrier().socket_stats(), header);
                [w.up as f64 / total_s, (w.up - at.up) as f64 / steady_s]
            })
            .collect(),
        received: clients
            .iter()
            .map(|c| wire(&c.carrier().socket_stats(), header).down as f64 / total_s)
            .collect(),
        desyncs: clients.iter().map(|c| c.session.stats().desyncs).sum(),
        stats: clients.iter().map(|c| c.session.stats().clone()).collect(),
        welcome_ms,
        playing_ms,
        layer_overhead: {
            let sock = server.carrier().socket_stats();
            let sess = server.session.stats();
            (sock.bytes_out - sess.bytes_out) as f64 / sock.packets_out.max(1) as f64
        },
        split: [
            Split::new(
                carrier,
                server_total.up
                    - server_total.packets_up * header
                    - (server_at_steady.up - server_at_steady.packets_up * header),
                server_total.packets_up - server_at_steady.packets_up,
                steady_s,
                PLAYERS as f64,
            ),
            {
                let (bytes, packets) =
                    clients
                        .iter()
                        .zip(&clients_at_steady)
                        .fold((0, 0), |(b, p), (c, at)| {
                            let w = wire(&c.carrier().socket_stats(), header);
                            (
                                b + (w.up - w.packets_up * header)
                                    - (at.up - at.packets_up * header),
                                p + w.packets_up - at.packets_up,
                            )
                        });
                Split::new(carrier, bytes, packets, steady_s, PLAYERS as f64)
            },
        ],
    }
}

fn verdict(kbps: f64, target: f64) -> &'static str {
    if kbps < target {
        "PASS"
    } else {
        "MISS"
    }
}

fn main() {
    println!(
        "bandwidth per player: {PLAYERS} players, 20 Hz, SimConfig::default(), {SECONDS} s virtual (simulated network); \
         bytes = carrier bytes (secure layer {SECURE_OVERHEAD} B + session header {SESSION_HEADER} B + message, + 2 B frame length on TCP) \
         + {IP_UDP_HEADER} B IP/UDP per datagram or {IP_TCP_HEADER} B IP/TCP per segment; 1 KB = 1000 B"
    );
    println!(
        "{:<28} {:>24} {:>24} {:>10}",
        "carrier, link", "down KB/s all | steady", "up KB/s all | steady", "recv KB/s"
    );
    for carrier in [CarrierKind::Udp, CarrierKind::Tcp] {
        let margin = if carrier.is_stream() { TCP_MARGIN } else { 1.0 };
        let (target_down, target_up) = (TARGET_DOWN * margin, TARGET_UP * margin);
        for rtt in [50u64, 200, 2000] {
            for loss in [0u16, 50] {
                let o = run(carrier, rtt, loss);
                let up_all = o.up.iter().map(|u| u[0]).fold(0.0, f64::max) / 1000.0;
                let up_steady = o.up.iter().map(|u| u[1]).fold(0.0, f64::max) / 1000.0;
                let recv = o.received.iter().sum::<f64>() / o.received.len() as f64 / 1000.0;
                let (down_all, down_steady) = (o.down[0] / 1000.0, o.down[1] / 1000.0);
                println!(
                    "{carrier:<3} rtt {rtt:>4} ms loss {:>2}%   {down_all:>6.3} {} | {down_steady:>6.3} {}   {up_all:>6.3} {} | {up_steady:>6.3} {}   {recv:>7.3}",
                    loss / 10,
                    verdict(down_all, target_down),
                    verdict(down_steady, target_down),
                    verdict(up_all, target_up),
                    verdict(up_steady, target_up),
                );
                let welcome: Vec<String> = o
                    .welcome_ms
                    .iter()
                    .zip(&o.playing_ms)
                    .map(|(w, p)| match (w, p) {
                        (Some(w), Some(p)) => format!("{w}/{p}"),
                        (Some(w), None) => format!("{w}/-"),
                        _ => "-".into(),
                    })
                    .collect();
                println!(
                    "    start->Welcome/Playing ms (virtual) per client: [{}]; desyncs {}; carrier + secure layer {:.1} B/packet",
                    welcome.join(", "),
                    o.desyncs,
                    o.layer_overhead
                );
                println!("    steady down per player: {}", o.split[0].show());
                println!("    steady up per player:   {}", o.split[1].show());
                if rtt >= 200 {
                    let minutes = SECONDS as f64 / 60.0;
                    let rb: Vec<String> = o
                        .stats
                        .iter()
                        .map(|s| {
                            format!(
                                "{:.0}/min max {}",
                                s.rollbacks as f64 / minutes,
                                s.max_rollback
                            )
                        })
                        .collect();
                    println!("    rollbacks per client: [{}]", rb.join(", "));
                }
            }
        }
    }
    println!(
        "targets: down < {TARGET_DOWN} KB/s, up < {TARGET_UP} KB/s per player on UDP, x{TCP_MARGIN} on TCP (max over clients for up)"
    );
}
