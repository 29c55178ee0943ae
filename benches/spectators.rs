//! The server's cost per spectator (issue "Watch", item 7): a `ServerSession` with 4
//! players and 0, 1 or 8 spectators over the simulated network (virtual clock, 20 Hz, the
//! reference world `SimConfig::default()`, scripted inputs), 40 s of virtual time at a
//! 40 ms round trip.
//!
//! CPU: wall time spent inside the server's pump (the session and laminar; the process is
//! single-threaded and the clock virtual, so this is the server's work), per closed tick,
//! in the steady state (from 10 s, after everyone is watching). The cost per spectator is
//! (time with N - time with 0) / N. Bytes: what each spectator's socket received (the run
//! has no loss, so it is what the server sent it), laminar header included, plus 28 bytes
//! of IPv4 + UDP header per datagram, per second of steady state.
//!
//! Run: `cargo bench --bench spectators`. Wall time: run it on an idle machine for
//! figures to compare.

use std::time::{Duration, Instant};

use venture_net::carrier::simnet::{LinkConfig, SimNet, SimSocket};
use venture_net::carrier::CarrierStats;
use venture_net::client::{ClientConfig, ClientSession, Phase};
use venture_net::driver::{ClientDriver, ServerDriver};
use venture_net::server::{ServerSession, SessionConfig};
use venture_sim::script::scripted_input;
use venture_sim::{SimConfig, World};

const PLAYERS: usize = 4;
const SECONDS: u64 = 40;
const STEADY_FROM: Duration = Duration::from_secs(10);
const IP_UDP_HEADER: u64 = 28;

fn wire_in(s: &CarrierStats) -> u64 {
    s.bytes_in + IP_UDP_HEADER * s.packets_in
}

struct Outcome {
    /// Server pump time per steady-state tick, microseconds.
    us_per_tick: f64,
    /// Bytes per second received by each spectator in the steady state.
    spectator_bps: Vec<f64>,
    /// Server bytes per second sent in total, steady state.
    server_bps: f64,
    watching: usize,
    desyncs: u64,
}

fn run(spectators: usize) -> Outcome {
    let net = SimNet::new(0x5bec);
    net.set_default_link(LinkConfig::latency(Duration::from_millis(20)))
        .expect("valid link");
    let epoch = net.now();
    let config = SimConfig::default();
    let world = World::new(&config).expect("valid");
    let session = ServerSession::new(world, SessionConfig::default(), [7; 16], Duration::ZERO);
    let mut server = ServerDriver::new(net.bind_any().expect("bind"), session, epoch);
    let server_addr = server.carrier().addr();
    let mut clients: Vec<ClientDriver<SimSocket>> = (0..PLAYERS + spectators)
        .map(|i| {
            let mut c = ClientConfig::new(format!("c{i}"));
            c.spectate = i >= PLAYERS;
            let session = ClientSession::new(c, server_addr, Duration::ZERO);
            ClientDriver::new(net.bind_any().expect("bind"), session, epoch)
        })
        .collect();
    let step = Duration::from_millis(5);
    let end = Duration::from_secs(SECONDS);
    let mut t = Duration::ZERO;
    let mut busy = Duration::ZERO;
    let mut ticks_at_steady = 0;
    let mut spectators_at_steady = vec![0u64; spectators];
    let mut server_at_steady = 0u64;
    let mut desyncs = 0;
    while t < end {
        if t == STEADY_FROM {
            busy = Duration::ZERO;
            ticks_at_steady = server.session.world().tick();
            server_at_steady = server.carrier().socket_stats().bytes_out;
            for (c, at) in clients[PLAYERS..]
                .iter()
                .zip(spectators_at_steady.iter_mut())
            {
                *at = wire_in(&c.carrier().socket_stats());
            }
        }
        let started = Instant::now();
        server.pump(net.now());
        busy += started.elapsed();
        let _ = server.session.drain_events();
        for (i, c) in clients.iter_mut().enumerate() {
            c.pump(net.now(), &mut |w, slot| {
                scripted_input(config.seed ^ i as u64, w.tick() + 1, slot as usize)
            });
            let _ = c.session.drain_events();
        }
        t += step;
        net.advance(step);
    }
    for c in &clients {
        desyncs += c.session.stats().desyncs;
    }
    let steady_s = (end - STEADY_FROM).as_secs_f64();
    let ticks = server.session.world().tick() - ticks_at_steady;
    Outcome {
        us_per_tick: busy.as_secs_f64() * 1e6 / ticks.max(1) as f64,
        spectator_bps: clients[PLAYERS..]
            .iter()
            .zip(&spectators_at_steady)
            .map(|(c, at)| (wire_in(&c.carrier().socket_stats()) - at) as f64 / steady_s)
            .collect(),
        server_bps: (server.carrier().socket_stats().bytes_out - server_at_steady) as f64
            / steady_s,
        watching: clients[PLAYERS..]
            .iter()
            .filter(|c| matches!(c.session.phase(), Phase::Playing))
            .count(),
        desyncs,
    }
}

fn main() {
    println!(
        "server cost per spectator: {PLAYERS} players, 20 Hz, default world, 40 ms RTT, no loss, steady state {}-{SECONDS} s",
        STEADY_FROM.as_secs()
    );
    let base = run(0);
    println!(
        "  0 spectators: {:7.1} us/tick server, {:7.0} B/s sent by the server (payload + laminar)",
        base.us_per_tick, base.server_bps
    );
    for n in [1usize, 8] {
        let o = run(n);
        let mean = o.spectator_bps.iter().sum::<f64>() / n as f64;
        let max = o.spectator_bps.iter().copied().fold(0.0, f64::max);
        println!(
            "  {n} spectators: {:7.1} us/tick server (+{:.1} us/tick per spectator), {:7.0} B/s sent by the server; per spectator {mean:.0} B/s (max {max:.0}); watching {}/{n}, desyncs {}",
            o.us_per_tick,
            (o.us_per_tick - base.us_per_tick) / n as f64,
            o.server_bps,
            o.watching,
            o.desyncs
        );
        assert_eq!(o.watching, n, "every spectator watches");
        assert_eq!(o.desyncs, 0);
    }
}
