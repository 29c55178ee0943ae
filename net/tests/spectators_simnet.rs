//! Spectators over the simulated network, on many seeds with latency, jitter, loss,
//! duplication and reordering: a spectator converges to the server's checksums at every
//! tick it confirms and never changes what players see (the server's frames and checksums
//! are identical to a run without it); it is counted apart from players and admitted to a
//! full server; it is refused when the spectator cap is full; and with a delay the newest
//! frame it holds is always at least that old. Sans-IO: a tampered checksum is detected,
//! reported and resynced, and chat or inputs a spectator sends never reach a frame.
//! A failing case prints its seed; rerun one
//! with `VENTURE_SIMNET_SEED=<seed>`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use venture_testkit::cases::CaseRng;

use venture_net::carrier::simnet::{SimNet, SimSocket};
use venture_net::client::{ClientConfig, ClientEvent, ClientSession, CloseReason};
use venture_net::driver::{ClientDriver, ServerDriver};
use venture_net::protocol::RejectReason;
use venture_net::server::{ServerEvent, ServerSession, SessionConfig};
use venture_sim::script::scripted_input;
use venture_sim::{Frame, SimConfig, World};

mod common;
use common::{seeds, Link};

#[derive(Clone, Copy, Debug)]
struct Case {
    seed: u64,
    link: Link,
    players: usize,
}

impl Case {
    fn from_seed(seed: u64) -> Case {
        let mut rng = CaseRng::new(seed, 0x5DEE_CE66_D1CE_4E5B);
        let mut next = |n: u64| rng.below(n);
        Case {
            seed,
            // The seed picks the latency directly so that few seeds cover every profile.
            link: Link {
                rtt_ms: [0, 40, 200, 600, 1500][((next(5) + seed) % 5) as usize],
                jitter_ms: next(40),
                loss: next(151) as u16,
                dup: next(51) as u16,
                reorder: next(101) as u16,
            },
            players: 1 + ((next(3) + seed / 5) % 3) as usize,
        }
    }

    /// Snapshot, catch-up and a few round trips, with room to spare.
    fn seconds(&self) -> u64 {
        8 + self.link.rtt_ms * 4 / 1000
    }
}

struct Watch {
    spectators: usize,
    max_spectators: u16,
    max_players: u8,
    delay: Duration,
}

#[derive(Debug, Default)]
struct Spectated {
    compared: u64,
    desyncs: u64,
    /// Newest confirmed tick at the end.
    newest: u64,
    refused: Option<CloseReason>,
    /// Smallest (server tick - spectator's newest confirmed tick) seen.
    min_lag: Option<u64>,
}

#[derive(Debug, Default)]
struct Outcome {
    /// The server's frames and checksums by tick: what players see.
    frames: BTreeMap<u64, (Frame, u32)>,
    spectators: Vec<Spectated>,
    most_spectators: usize,
    most_players: usize,
    server_tick: u64,
}

/// Spectators get their own addresses (another IP) so that the players' ports, and so
/// their links' random streams, are the same with or without them.
fn spectator_addr(i: usize) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 2], 9000 + i as u16))
}

fn run(case: &Case, watch: &Watch) -> Outcome {
    let net = SimNet::new(case.seed);
    net.set_default_link(case.link.config())
        .expect("valid link");
    let epoch = net.now();
    let config = SimConfig {
        seed: case.seed,
        width: 48,
        height: 48,
        max_players: 4,
        ..SimConfig::default()
    };
    let world = World::new(&config).expect("valid");
    let session = ServerSession::new(
        world,
        SessionConfig {
            max_players: watch.max_players,
            max_spectators: watch.max_spectators,
            spectator_delay: watch.delay,
            ..SessionConfig::default()
        },
        [7; 16],
        Duration::ZERO,
    );
    let delay_ticks = session.spectator_delay_ticks();
    let mut server = ServerDriver::new(net.bind_any().expect("bind"), session, epoch);
    let server_addr = server.carrier().addr();
    let mut out = Outcome::default();

    let mut players: Vec<ClientDriver<SimSocket>> = Vec::new();
    let mut spectators: Vec<Option<ClientDriver<SimSocket>>> =
        (0..watch.spectators).map(|_| None).collect();
    out.spectators = (0..watch.spectators)
        .map(|_| Spectated::default())
        .collect();
    let end = Duration::from_secs(case.seconds());
    let step = Duration::from_millis(5);
    let mut t = Duration::ZERO;
    while t < end {
        if players.len() < case.players && t >= Duration::from_millis(200 * players.len() as u64) {
            let s = ClientSession::new(
                ClientConfig::new(format!("p{}", players.len())),
                server_addr,
                t,
            );
            players.push(ClientDriver::new(net.bind_any().expect("bind"), s, epoch));
        }
        for (i, slot) in spectators.iter_mut().enumerate() {
            // Spectators arrive mid-game, a little apart.
            if slot.is_none() && t >= Duration::from_millis(1000 + 300 * i as u64) {
                let mut cfg = ClientConfig::new(format!("s{i}"));
                cfg.spectate = true;
                let s = ClientSession::new(cfg, server_addr, t);
                *slot = Some(ClientDriver::new(
                    net.bind(spectator_addr(i)).expect("bind"),
                    s,
                    epoch,
                ));
            }
        }
        server.pump(net.now());
        for ev in server.session.drain_events() {
            if let ServerEvent::TickClosed { frame, checksum } = ev {
                out.frames.insert(frame.tick, (frame, checksum));
            }
        }
        out.most_spectators = out.most_spectators.max(server.session.spectator_count());
        out.most_players = out.most_players.max(server.session.player_count());
        let server_tick = server.session.world().tick();
        for (i, p) in players.iter_mut().enumerate() {
            let seed = case.seed;
            p.pump(net.now(), &mut |w, slot| {
                scripted_input(seed ^ i as u64, w.tick() + 1, slot as usize)
            });
            for ev in p.session.drain_events() {
                if let ClientEvent::Desync { tick, .. } = ev {
                    panic!("seed {}: player {i} desync at {tick}", case.seed);
                }
            }
        }
        for (i, s) in spectators.iter_mut().enumerate() {
            let Some(s) = s.as_mut() else { continue };
            let before = s.session.confirmed_world().map(|w| w.tick());
            s.pump(net.now(), &mut |_, _| {
                unreachable!("a spectator never asks for an input")
            });
            let r = &mut out.spectators[i];
            for ev in s.session.drain_events() {
                match ev {
                    ClientEvent::Desync { tick, .. } => {
                        eprintln!("seed {}: spectator {i} desync at {tick}", case.seed);
                        r.desyncs += 1;
                    }
                    ClientEvent::Closed(reason) => r.refused = Some(reason),
                    _ => {}
                }
            }
            if let (Some(w), Some(b)) = (s.session.confirmed_world(), before) {
                if w.tick() > b {
                    assert_eq!(
                        out.frames.get(&w.tick()).map(|f| f.1),
                        Some(w.checksum()),
                        "seed {}: spectator {i} tick {}",
                        case.seed,
                        w.tick()
                    );
                    r.compared += 1;
                }
                // The newest frame it holds is at least the delay old.
                let lag = server_tick.saturating_sub(w.tick());
                if server_tick > delay_ticks + 1 {
                    assert!(
                        lag >= delay_ticks,
                        "seed {}: spectator {i} at tick {} while the server is at {server_tick}, delay {delay_ticks}",
                        case.seed,
                        w.tick()
                    );
                }
                if w.tick() > 0 {
                    r.min_lag = Some(r.min_lag.map_or(lag, |m| m.min(lag)));
                }
                r.newest = w.tick();
            }
            if std::env::var("VENTURE_SIMNET_TRACE").is_ok() && (t.as_millis() % 250) == 0 {
                eprintln!(
                    "  t {t:?} spectator {i} {:?} confirmed {:?} server {:?}",
                    s.session.phase(),
                    s.session.confirmed_world().map(|w| w.tick()),
                    server.session.spectators().collect::<Vec<_>>()
                );
            }
        }
        t += step;
        net.advance(step);
    }
    out.server_tick = server.session.world().tick();
    if std::env::var("VENTURE_SIMNET_DEBUG").is_ok() {
        for s in spectators.iter().flatten() {
            let st = s.session.stats();
            eprintln!(
                "  spectator {:?} confirmed {} resyncs {} reconnects {} received {}",
                s.session.phase(),
                st.confirmed,
                st.resyncs,
                st.reconnects,
                st.datagrams_received
            );
        }
        eprintln!(
            "  server: {:?}",
            server.session.spectators().collect::<Vec<_>>()
        );
    }
    out
}

/// How far behind the server's present a caught-up spectator may be at the end: the delay,
/// a round trip and the worst gap recovery under loss.
fn caught_up(case: &Case, delay_ticks: u64, r: &Spectated, server_tick: u64) -> bool {
    let slack = 20 + case.link.rtt_ms * 20 / 1000 * 2;
    r.newest + delay_ticks + slack >= server_tick
}

#[test]
fn spectators_converge_and_change_nothing_players_see() {
    for seed in seeds(10, 200) {
        let case = Case::from_seed(seed);
        let watch = |n| Watch {
            spectators: n,
            max_spectators: 8,
            max_players: 4,
            delay: Duration::ZERO,
        };
        let alone = run(&case, &watch(0));
        let watched = run(&case, &watch(2));
        eprintln!(
            "seed {seed} {case:?}: {} ticks, spectators {:?}",
            watched.server_tick, watched.spectators
        );
        assert_eq!(alone.server_tick, watched.server_tick, "seed {seed}");
        assert!(
            alone.frames == watched.frames,
            "seed {seed}: players' frames or checksums changed with spectators"
        );
        assert_eq!(watched.most_spectators, 2, "seed {seed}");
        assert_eq!(
            watched.most_players, alone.most_players,
            "seed {seed}: spectators counted as players"
        );
        assert_eq!(watched.most_players, case.players, "seed {seed}");
        for (i, r) in watched.spectators.iter().enumerate() {
            assert_eq!(r.desyncs, 0, "seed {seed}: spectator {i}");
            assert!(r.refused.is_none(), "seed {seed}: spectator {i} {r:?}");
            assert!(
                r.compared > 20,
                "seed {seed}: spectator {i} confirmed too little: {r:?}"
            );
            assert!(
                caught_up(&case, 0, r, watched.server_tick),
                "seed {seed}: spectator {i} behind: {r:?} at server tick {}",
                watched.server_tick
            );
        }
    }
}

#[test]
fn spectators_have_their_own_cap_and_watch_a_full_server() {
    for seed in seeds(3, 30) {
        let mut case = Case::from_seed(seed);
        case.players = 2;
        // A full server (max_players = 2 reached) and one spectator place for two.
        let out = run(
            &case,
            &Watch {
                spectators: 2,
                max_spectators: 1,
                max_players: 2,
                delay: Duration::ZERO,
            },
        );
        assert_eq!(out.most_players, 2, "seed {seed}");
        assert_eq!(out.most_spectators, 1, "seed {seed}");
        // Whichever got its Spectate in first watches (loss may reorder them).
        let (first, second) = match out.spectators[0].refused {
            None => (&out.spectators[0], &out.spectators[1]),
            Some(_) => (&out.spectators[1], &out.spectators[0]),
        };
        assert!(
            first.refused.is_none() && first.compared > 20,
            "seed {seed}: {first:?}"
        );
        assert_eq!(first.desyncs, 0, "seed {seed}");
        let refused = second
            .refused
            .clone()
            .expect("the other spectator is refused");
        assert_eq!(
            refused,
            CloseReason::Rejected(RejectReason::SpectatorsFull { max: 1 }),
            "seed {seed}"
        );
        assert_eq!(
            refused.to_string(),
            "rejected: the server allows 1 spectators and all places are taken"
        );
    }
}

#[test]
fn the_delay_holds_frames_back_from_spectators() {
    for seed in seeds(4, 40) {
        let case = Case::from_seed(seed);
        let delay = Duration::from_secs(2);
        let out = run(
            &case,
            &Watch {
                spectators: 1,
                max_spectators: 8,
                max_players: 4,
                delay,
            },
        );
        // 20 Hz: 40 ticks. `run` asserts the newest confirmed frame is always at least that
        // old; here also that it was not held back much more (it keeps up, delayed).
        let r = &out.spectators[0];
        eprintln!(
            "seed {seed} {case:?}: {r:?} at server tick {}",
            out.server_tick
        );
        assert_eq!(r.desyncs, 0, "seed {seed}");
        assert!(r.compared > 20, "seed {seed}: {r:?}");
        assert!(r.min_lag.is_some_and(|l| l >= 40), "seed {seed}: {r:?}");
        assert!(
            caught_up(&case, 40, r, out.server_tick),
            "seed {seed}: {r:?}"
        );
    }
}

/// A spectator checks every checksum like a player: a tampered checksum in a `Frames`
/// message (sans-IO, payloads passed by hand) is detected at its tick, reported to the
/// server, and the spectator resyncs from a new snapshot and confirms ticks again.
#[test]
fn a_spectator_detects_a_wrong_checksum_reports_it_and_resyncs() {
    use venture_net::protocol::{self, Message};
    let world = World::new(&SimConfig {
        seed: 11,
        width: 48,
        height: 48,
        ..SimConfig::default()
    })
    .expect("valid");
    let mut server = ServerSession::new(world, SessionConfig::default(), [3; 16], Duration::ZERO);
    let addr = spectator_addr(0);
    let server_addr = SocketAddr::from(([127, 0, 0, 1], 1));
    let mut cfg = ClientConfig::new("watcher");
    cfg.spectate = true;
    let mut client = ClientSession::new(cfg, server_addr, Duration::ZERO);
    let tamper_at = 60;
    let (mut tampered, mut desync_tick, mut reported) = (false, None, false);
    let mut closed = 0;
    let mut t = Duration::ZERO;
    while t < Duration::from_secs(10) {
        client.poll(t, &mut |_, _| {
            unreachable!("a spectator never asks for an input")
        });
        for p in client.drain_outgoing() {
            server.on_datagram(addr, &p, t);
        }
        server.poll(t);
        for (to, p) in server.drain_outgoing() {
            assert_eq!(to, addr.into());
            let mut p = p;
            if let Ok(Message::Frames {
                first_tick,
                mut frames,
                input_ack,
                late_inputs,
                lead_hint,
            }) = protocol::decode(&p)
            {
                if let Some(f) = frames.iter_mut().find(|f| f.frame.tick == tamper_at) {
                    if !tampered {
                        tampered = true;
                        f.checksum ^= 1;
                        p = protocol::encode(&Message::Frames {
                            first_tick,
                            frames,
                            input_ack,
                            late_inputs,
                            lead_hint,
                        })
                        .expect("encodes");
                    }
                }
            }
            client.on_datagram(&p, t);
        }
        for ev in client.drain_events() {
            if let ClientEvent::Desync { tick, .. } = ev {
                desync_tick = Some(tick);
            }
        }
        // A hostile spectator sending chat and inputs changes no frame.
        if t == Duration::from_secs(3) {
            let hostile = [
                Message::Chat {
                    seq: 1,
                    text: "let me play".into(),
                },
                Message::Inputs {
                    ack_tick: 1,
                    first_tick: server.world().tick() + 1,
                    inputs: vec![
                        venture_sim::PlayerInput {
                            move_x: 100,
                            ..venture_sim::PlayerInput::IDLE
                        };
                        20
                    ],
                },
            ];
            for m in hostile {
                server.on_datagram(addr, &protocol::encode(&m).expect("encodes"), t);
            }
        }
        for ev in server.drain_events() {
            reported |=
                matches!(ev, ServerEvent::SpectatorDesync { tick, .. } if tick == tamper_at);
            if let ServerEvent::TickClosed { frame, .. } = ev {
                let pristine = frame.commands.is_empty() && frame.inputs.is_empty();
                assert!(pristine, "a spectator put something in a frame: {frame:?}");
                closed += 1;
            }
        }
        t += Duration::from_millis(10);
    }
    assert!(tampered, "the frame went out");
    assert!(closed > 150, "{closed} ticks closed");
    assert_eq!(desync_tick, Some(tamper_at));
    assert!(reported, "the server heard of it");
    let s = client.stats();
    assert_eq!((s.desyncs, s.resyncs), (1, 1), "{s:?}");
    let w = client.confirmed_world().expect("watching again");
    assert!(
        w.tick() + 5 >= server.world().tick(),
        "caught up: {} vs {}",
        w.tick(),
        server.world().tick()
    );
    assert_eq!(server.spectator_count(), 1);
    assert_eq!(server.player_count(), 0);
}
