//! Players who stay (issue 15), on the simulated network (virtual clock, 20 Hz, a 48x48
//! world, scripted inputs):
//! 1. time from a restarted server accepting again to every client playing again, after a
//!    `kill -9`-like restart (process state lost, world from keyframe + journal), with 4
//!    and 16 clients at 50 ms round trip;
//! 2. input substitutions per latency profile (50 ms, 200 ms, 2 s, 5 s; without and with
//!    5% loss; jitter 10/20/100/200 ms), 4 clients, counted for 30 s after a warm-up of
//!    15 s or three round trips after joining, whichever is later;
//! 3. client CPU at 5 s round trip with 4 and 16 players: wall time spent in the client
//!    sessions (prediction, rollback, re-simulation) per client per second of play;
//! 4. (issue 21) input substitutions over TCP: 4 clients on the simulated network's stream
//!    links (ordered; each loss draw a retransmission stall of at least a round trip that
//!    holds back everything behind it), at 2 s and 5 s round trips with 1% and 5% loss,
//!    counted as in 2.
//!
//! Run: `cargo bench --bench stay` (all), or one part: `restart`, `substitutions` (2 and
//! 4), `tcp` (4 alone), `cpu`.

use std::time::{Duration, Instant};

use venture_net::carrier::simnet::{LinkConfig, SimNet, SimSocket};
use venture_net::carrier::CarrierKind;
use venture_net::client::{ClientConfig, ClientSession, Phase};
use venture_net::driver::{ClientDriver, ServerDriver};
use venture_net::server::{ServerEvent, ServerSession, SessionConfig};
use venture_sim::script::scripted_input;
use venture_sim::{Frame, SimConfig, World};

const STEP: Duration = Duration::from_millis(5);

struct Game {
    net: SimNet,
    epoch: Instant,
    server: Option<ServerDriver<SimSocket>>,
    addr: std::net::SocketAddr,
    keyframe: Vec<u8>,
    journal: Vec<Frame>,
    clients: Vec<ClientDriver<SimSocket>>,
    restarts: u8,
    t: Duration,
    /// Wall time spent pumping clients.
    client_time: Duration,
}

fn session(world: World, slots: u8, now: Duration, key: u8) -> ServerSession {
    ServerSession::new(
        world,
        SessionConfig {
            max_players: slots,
            ..SessionConfig::default()
        },
        [key; 16],
        now,
    )
}

impl Game {
    fn new(seed: u64, link: LinkConfig, clients: usize) -> Game {
        Game::over(seed, link, clients, CarrierKind::Udp)
    }

    /// Every client on `carrier` (UDP datagrams, or the simulated stream links for TCP).
    fn over(seed: u64, link: LinkConfig, clients: usize, carrier: CarrierKind) -> Game {
        let net = SimNet::new(seed);
        net.set_default_link(link).expect("valid link");
        let epoch = net.now();
        let slots = clients.max(4) as u8;
        let world = World::new(&SimConfig {
            seed,
            width: 48,
            height: 48,
            max_players: slots,
            ..SimConfig::default()
        })
        .expect("valid world");
        let keyframe = world.snapshot();
        let server = ServerDriver::new(
            net.bind_any().expect("bind"),
            session(world, slots, Duration::ZERO, 1),
            epoch,
        );
        let addr = server.carrier().addr();
        let clients = (0..clients)
            .map(|i| {
                let s =
                    ClientSession::new(ClientConfig::new(format!("b{i}")), addr, Duration::ZERO);
                let socket = if carrier.is_stream() {
                    net.bind_stream_any()
                } else {
                    net.bind_any()
                };
                let mut driver = ClientDriver::new(socket.expect("bind"), s, epoch);
                driver.set_stream_carrier(carrier.is_stream());
                driver
            })
            .collect();
        Game {
            net,
            epoch,
            server: Some(server),
            addr,
            keyframe,
            journal: Vec::new(),
            clients,
            restarts: 0,
            t: Duration::ZERO,
            client_time: Duration::ZERO,
        }
    }

    fn step(&mut self) {
        let now = self.net.now();
        if let Some(s) = self.server.as_mut() {
            s.pump(now);
            for ev in s.session.drain_events() {
                if let ServerEvent::TickClosed { frame, .. } = ev {
                    if frame.tick % 100 == 0 {
                        self.keyframe = s.session.world().snapshot();
                        self.journal.clear();
                    } else {
                        self.journal.push(frame);
                    }
                }
            }
        }
        let started = Instant::now();
        for (i, c) in self.clients.iter_mut().enumerate() {
            c.pump(now, &mut |w, slot| {
                scripted_input(7 ^ i as u64, w.tick() + 1, slot as usize)
            });
            c.session.drain_events();
        }
        self.client_time += started.elapsed();
        self.t += STEP;
        self.net.advance(STEP);
    }

    fn run_for(&mut self, d: Duration) {
        let end = self.t + d;
        while self.t < end {
            self.step();
        }
    }

    fn run_until(&mut self, limit: Duration, pred: impl Fn(&Game) -> bool) -> Option<Duration> {
        let start = self.t;
        while self.t < start + limit {
            if pred(self) {
                return Some(self.t - start);
            }
            self.step();
        }
        None
    }

    fn all_playing_past(&self, tick: u64) -> bool {
        self.clients.iter().all(|c| {
            matches!(c.session.phase(), Phase::Playing)
                && c.session.reconnecting(self.t).is_none()
                && c.session.confirmed_world().is_some_and(|w| w.tick() > tick)
        })
    }

    fn server_tick(&self) -> u64 {
        self.server.as_ref().map_or(0, |s| s.session.world().tick())
    }

    fn restart(&mut self) {
        self.server = None;
        let mut world = World::restore(&self.keyframe).expect("keyframe");
        let keep = self.journal.len().saturating_sub(10);
        for f in &self.journal[..keep] {
            world.step(f).expect("journal");
        }
        self.restarts += 1;
        let slots = world.config().max_players;
        let socket = self.net.bind(self.addr).expect("rebind");
        self.server = Some(ServerDriver::new(
            socket,
            session(world, slots, self.t, 1 + self.restarts),
            self.epoch,
        ));
    }

    fn timeliness(&self) -> Vec<(u64, u64)> {
        let s = &self.server.as_ref().expect("server").session;
        self.clients
            .iter()
            .map(|c| {
                s.input_timeliness(c.session.slot())
                    .map_or((0, 0), |t| (t.on_time, t.substituted))
            })
            .collect()
    }
}

fn link(rtt_ms: u64, jitter_ms: u64, loss: u16) -> LinkConfig {
    LinkConfig {
        latency: Duration::from_millis(rtt_ms / 2),
        jitter: Duration::from_millis(jitter_ms),
        loss_permille: loss,
        ..LinkConfig::default()
    }
}

fn restart_to_playing() {
    println!("restart -> every client playing again (virtual time, 50 ms RTT, 1% loss; down 3 s)");
    for clients in [4usize, 16] {
        let mut times = Vec::new();
        for seed in 1..=5 {
            let mut g = Game::new(seed, link(50, 5, 10), clients);
            g.run_until(Duration::from_secs(20), |g| g.all_playing_past(0))
                .expect("joined");
            g.run_for(Duration::from_secs(5));
            g.server = None;
            g.run_for(Duration::from_secs(3));
            g.restart();
            let resumed = g.server_tick();
            let back = g
                .run_until(Duration::from_secs(30), |g| g.all_playing_past(resumed))
                .expect("all back");
            times.push(back.as_millis());
        }
        times.sort_unstable();
        println!(
            "  {clients:>2} clients: median {} ms, worst {} ms (5 seeds)",
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
}

/// Substitutions of 4 clients on `carrier` at each (rtt, jitter) and loss, counted for
/// 30 s after the warm-up: one line each.
fn substitutions_over(carrier: CarrierKind, profiles: &[(u64, u64)], losses: &[u16]) {
    for &(rtt, jitter) in profiles {
        for &loss in losses {
            let mut g = Game::over(rtt + u64::from(loss), link(rtt, jitter, loss), 4, carrier);
            g.run_until(Duration::from_secs(60), |g| g.all_playing_past(0))
                .expect("joined");
            let warm =
                Duration::from_millis(3 * rtt).max(Duration::from_secs(15).saturating_sub(g.t));
            g.run_for(warm);
            let before = g.timeliness();
            g.run_for(Duration::from_secs(30));
            let after = g.timeliness();
            let (mut worst, mut sub, mut all) = (0.0f64, 0, 0);
            for (b, a) in before.iter().zip(&after) {
                let (on, s) = (a.0 - b.0, a.1 - b.1);
                worst = worst.max(s as f64 * 100.0 / (on + s).max(1) as f64);
                sub += s;
                all += on + s;
            }
            println!(
                "  {carrier:<3} {rtt:>4} ms RTT, {jitter:>3} ms jitter, {:>3.1}% loss: worst player {worst:.2}%, all {sub} of {all} ({:.2}%)",
                f64::from(loss) / 10.0,
                sub as f64 * 100.0 / all.max(1) as f64
            );
        }
    }
}

fn substitutions() {
    println!(
        "input substitutions after warm-up, 4 clients, 30 s counted (worst player, all players)"
    );
    substitutions_over(
        CarrierKind::Udp,
        &[(50, 10), (200, 20), (2000, 100), (5000, 200)],
        &[0, 50],
    );
}

fn tcp_substitutions() {
    println!(
        "input substitutions over TCP (simulated stream links: a loss draw is a retransmission stall of max(200 ms, RTT) holding back what follows), 4 clients, 30 s counted after warm-up"
    );
    substitutions_over(CarrierKind::Tcp, &[(2000, 100), (5000, 200)], &[10, 50]);
}

fn client_cpu() {
    println!("client CPU at 5 s RTT, 5% loss, 200 ms jitter (wall time in client sessions per client-second of play, after warm-up)");
    for players in [4usize, 16] {
        let mut g = Game::new(99, link(5000, 200, 50), players);
        g.run_until(Duration::from_secs(60), |g| g.all_playing_past(0))
            .expect("joined");
        g.run_for(Duration::from_secs(15));
        g.client_time = Duration::ZERO;
        let secs = 30;
        g.run_for(Duration::from_secs(secs));
        let per = g.client_time.as_secs_f64() / (players as f64 * secs as f64);
        let max_rollback = g
            .clients
            .iter()
            .map(|c| c.session.stats().max_rollback)
            .max()
            .unwrap_or(0);
        println!(
            "  {players:>2} players: {:.2}% of a core per client (max rollback {max_rollback} ticks)",
            per * 100.0
        );
    }
}

fn main() {
    let only = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let want = |name: &str| only.as_deref().is_none_or(|o| name.contains(o));
    if want("restart") {
        restart_to_playing();
    }
    if want("substitutions") {
        substitutions();
    }
    if want("tcp-substitutions") {
        tcp_substitutions();
    }
    if want("cpu") {
        client_cpu();
    }
}
