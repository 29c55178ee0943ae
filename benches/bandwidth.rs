//! Bandwidth per player (issue "Network engine", item 8): a `ServerSession` and 4
//! `ClientSession`s over the simulated network (virtual clock, 20 Hz, the reference world
//! `SimConfig::default()`, scripted inputs with a stable `slot` field) for 60 s of virtual
//! time, at several round trips and loss rates.
//!
//! Bytes are counted on the simulated sockets, so they include laminar's header; each
//! datagram is charged another 28 bytes of IPv4 + UDP header. "down" is what the server
//! sent (per player: server total / players), "up" what each client sent. Targets:
//! < 2 KB/s down and < 1.5 KB/s up per player (1 KB = 1000 bytes). Two windows are
//! reported: the whole run (handshake and the join snapshot included) and the steady
//! state (from 10 s, after every client is playing, to the end).
//!
//! Run: `cargo bench --bench bandwidth`.

use std::time::Duration;

use venture_net::carrier::simnet::{LinkConfig, SimNet, SimSocket};
use venture_net::carrier::CarrierStats;
use venture_net::client::{ClientConfig, ClientSession, ClientStats, Phase};
use venture_net::driver::{ClientDriver, ServerDriver};
use venture_net::server::{ServerConfig, ServerSession};
use venture_sim::script::scripted_input;
use venture_sim::{PlayerInput, SimConfig, World};

const PLAYERS: usize = 4;
const SECONDS: u64 = 60;
const STEADY_FROM: Duration = Duration::from_secs(10);
const IP_UDP_HEADER: u64 = 28;
const TARGET_DOWN: f64 = 2.0;
const TARGET_UP: f64 = 1.5;

/// Bytes on the wire (UDP payload + IP/UDP header) of a socket's counters.
#[derive(Clone, Copy, Default)]
struct Wire {
    down: u64,
    up: u64,
}

fn wire(s: &CarrierStats) -> Wire {
    Wire {
        down: s.bytes_in + IP_UDP_HEADER * s.packets_in,
        up: s.bytes_out + IP_UDP_HEADER * s.packets_out,
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
    /// Average bytes laminar adds to each server datagram (socket bytes - session bytes).
    laminar_overhead: f64,
}

fn run(rtt_ms: u64, loss_permille: u16) -> Outcome {
    let net = SimNet::new(0xba4d + rtt_ms + u64::from(loss_permille));
    net.set_default_link(LinkConfig {
        loss_permille,
        ..LinkConfig::latency(Duration::from_millis(rtt_ms / 2))
    })
    .expect("valid link");
    let epoch = net.now();
    let config = SimConfig::default();
    let world = World::new(&config).expect("valid");
    let defaults = ServerConfig::default();
    // `VENTURE_BW_MIN_REDUNDANCY=8` turns adaptive redundancy off, for comparison.
    let min_frame_redundancy = std::env::var("VENTURE_BW_MIN_REDUNDANCY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(defaults.min_frame_redundancy);
    let session = ServerSession::new(
        world,
        ServerConfig {
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
            ClientDriver::new(net.bind_any().expect("bind"), session, epoch)
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
            server_at_steady = wire(&server.carrier().socket_stats());
            for (c, at) in clients.iter().zip(clients_at_steady.iter_mut()) {
                *at = wire(&c.carrier().socket_stats());
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
    let server_total = wire(&server.carrier().socket_stats());
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
                let w = wire(&c.carrier().socket_stats());
                [w.up as f64 / total_s, (w.up - at.up) as f64 / steady_s]
            })
            .collect(),
        received: clients
            .iter()
            .map(|c| wire(&c.carrier().socket_stats()).down as f64 / total_s)
            .collect(),
        desyncs: clients.iter().map(|c| c.session.stats().desyncs).sum(),
        stats: clients.iter().map(|c| c.session.stats().clone()).collect(),
        welcome_ms,
        playing_ms,
        laminar_overhead: {
            let sock = server.carrier().socket_stats();
            let sess = server.session.stats();
            (sock.bytes_out - sess.bytes_out) as f64 / sock.packets_out.max(1) as f64
        },
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
        "bandwidth per player: {PLAYERS} players, 20 Hz, SimConfig::default(), {SECONDS} s virtual; \
         bytes = UDP payload (laminar header included) + {IP_UDP_HEADER} B IP/UDP per datagram; 1 KB = 1000 B"
    );
    println!(
        "{:<22} {:>24} {:>24} {:>10}",
        "link", "down KB/s all | steady", "up KB/s all | steady", "recv KB/s"
    );
    for rtt in [50u64, 200, 2000] {
        for loss in [0u16, 50] {
            let o = run(rtt, loss);
            let up_all = o.up.iter().map(|u| u[0]).fold(0.0, f64::max) / 1000.0;
            let up_steady = o.up.iter().map(|u| u[1]).fold(0.0, f64::max) / 1000.0;
            let recv = o.received.iter().sum::<f64>() / o.received.len() as f64 / 1000.0;
            let (down_all, down_steady) = (o.down[0] / 1000.0, o.down[1] / 1000.0);
            println!(
                "rtt {rtt:>4} ms loss {:>2}%   {down_all:>6.3} {} | {down_steady:>6.3} {}   {up_all:>6.3} {} | {up_steady:>6.3} {}   {recv:>7.3}",
                loss / 10,
                verdict(down_all, TARGET_DOWN),
                verdict(down_steady, TARGET_DOWN),
                verdict(up_all, TARGET_UP),
                verdict(up_steady, TARGET_UP),
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
                "    start->Welcome/Playing ms (virtual) per client: [{}]; desyncs {}; laminar header {:.1} B/datagram",
                welcome.join(", "),
                o.desyncs,
                o.laminar_overhead
            );
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
    println!("targets: down < {TARGET_DOWN} KB/s, up < {TARGET_UP} KB/s per player (max over clients for up)");
}
