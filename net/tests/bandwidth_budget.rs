//! Regression guard for the bandwidth budget (DESIGN.md, issue "Network engine" item 8):
//! 4 players at 20 Hz over the simulated network, 200 ms and 2000 ms round trips with 5%
//! loss; in steady state each player must cost < 2.6 KB/s down and < 1.8 KB/s up, counting
//! the UDP payload (the secure layer's 21 bytes included) plus 28
//! bytes of IP/UDP header per datagram. Before the secure layer the budget was 2 / 1.5
//! KB/s; the layer adds 25 B to each of about 22 datagrams a second each way, and halving
//! the datagram rate (frames and inputs every other tick) needs the lead pacing retuned
//! first (tried: it broke the 5 s matrix). `benches/bandwidth.rs` prints the full table.

use std::time::Duration;

use venture_net::carrier::simnet::{LinkConfig, SimNet, SimSocket};
use venture_net::carrier::CarrierStats;
use venture_net::client::{ClientConfig, ClientSession, Phase};
use venture_net::driver::{ClientDriver, ServerDriver};
use venture_net::server::{ServerSession, SessionConfig};
use venture_sim::script::scripted_input;
use venture_sim::{PlayerInput, SimConfig, World};

const PLAYERS: usize = 4;

fn wire_out(s: &CarrierStats) -> u64 {
    s.bytes_out + 28 * s.packets_out
}

/// Steady-state bytes per second per player (down, max up) between `from` and `to`.
fn measure(rtt_ms: u64, loss_permille: u16, from: Duration, to: Duration) -> (f64, f64) {
    let net = SimNet::new(rtt_ms ^ 0x5eed);
    net.set_default_link(LinkConfig {
        loss_permille,
        ..LinkConfig::latency(Duration::from_millis(rtt_ms / 2))
    })
    .expect("valid link");
    let epoch = net.now();
    let config = SimConfig {
        width: 48,
        height: 48,
        ..SimConfig::default()
    };
    let session = ServerSession::new(
        World::new(&config).expect("valid"),
        SessionConfig::default(),
        [3; 16],
        Duration::ZERO,
    );
    let mut server = ServerDriver::new(net.bind_any().expect("bind"), session, epoch);
    let addr = server.carrier().addr();
    let mut clients: Vec<ClientDriver<SimSocket>> = (0..PLAYERS)
        .map(|i| {
            let s = ClientSession::new(ClientConfig::new(format!("p{i}")), addr, Duration::ZERO);
            ClientDriver::new(net.bind_any().expect("bind"), s, epoch)
        })
        .collect();
    let step = Duration::from_millis(5);
    let mut t = Duration::ZERO;
    let (mut down0, mut up0) = (0, vec![0; PLAYERS]);
    while t < to {
        if t == from {
            for c in &clients {
                assert_eq!(c.session.phase(), &Phase::Playing, "rtt {rtt_ms}");
            }
            down0 = wire_out(&server.carrier().socket_stats());
            for (c, u) in clients.iter().zip(up0.iter_mut()) {
                *u = wire_out(&c.carrier().socket_stats());
            }
        }
        server.pump(net.now());
        server.session.drain_events();
        for (i, c) in clients.iter_mut().enumerate() {
            c.pump(net.now(), &mut |w, slot| PlayerInput {
                slot: 0,
                ..scripted_input(config.seed ^ i as u64, w.tick() + 1, slot as usize)
            });
            c.session.drain_events();
        }
        t += step;
        net.advance(step);
    }
    let secs = (to - from).as_secs_f64();
    let down = (wire_out(&server.carrier().socket_stats()) - down0) as f64 / PLAYERS as f64;
    let up = clients
        .iter()
        .zip(&up0)
        .map(|(c, u0)| (wire_out(&c.carrier().socket_stats()) - u0) as f64)
        .fold(0.0, f64::max);
    for c in &clients {
        assert_eq!(c.session.stats().desyncs, 0);
    }
    (down / secs, up / secs)
}

#[test]
fn four_players_fit_the_budget() {
    for rtt in [200, 2000] {
        let (down, up) = measure(rtt, 50, Duration::from_secs(12), Duration::from_secs(32));
        eprintln!("rtt {rtt} ms, 5% loss: {down:.0} B/s down, {up:.0} B/s up per player");
        assert!(down < 2600.0, "rtt {rtt}: {down:.0} B/s down");
        assert!(up < 1800.0, "rtt {rtt}: {up:.0} B/s up");
    }
}
