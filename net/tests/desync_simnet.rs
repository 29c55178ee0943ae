//! The desync path end to end on the simulated network: the server and three clients in
//! one process with a virtual clock, over many seeds of latency, jitter, loss, duplication
//! and reordering. Client 0 runs with `inject_desync_at = T` (what `venture-client
//! --inject-desync T` sets): it must report the desync at exactly tick T with its state at
//! T (the server's world at T with exactly the injected fault), ask for a snapshot, install
//! it, and confirm later ticks with the server's checksums again within a few seconds. The
//! other clients never desync. A failing case prints its seed; rerun one with
//! `VENTURE_SIMNET_SEED=<seed>`.

use std::collections::BTreeMap;
use std::time::Duration;
use venture_testkit::cases::CaseRng;
use venture_testkit::handshake::game_session;

use venture_net::carrier::simnet::{LinkConfig, SimNet, SimSocket};
use venture_net::client::{ClientConfig, ClientEvent, ClientSession};
use venture_net::driver::{ClientDriver, ServerDriver};
use venture_net::server::ServerEvent;
use venture_sim::script::scripted_input;
use venture_sim::World;

mod common;
use common::{seeds, Link};

const CLIENTS: usize = 3;
/// The injected tick: 10 s at 20 Hz, well after the slowest case's join.
const INJECT_AT: u64 = 200;
/// From the desync to confirming a verified tick again, at most this plus 4 round trips
/// (the snapshot request, the chunks and their acks, the first frames).
const RECOVERY_BASE: Duration = Duration::from_secs(3);

struct Case {
    seed: u64,
    link: Link,
}

impl Case {
    fn from_seed(seed: u64) -> Case {
        let mut rng = CaseRng::new(seed, 0x5DE5_17C0_FFEE_0001);
        let mut next = |n: u64| rng.below(n);
        Case {
            seed,
            link: Link {
                rtt_ms: [0, 40, 200, 600, 1000][next(5) as usize],
                jitter_ms: next(40),
                loss: next(101) as u16,
                dup: next(31) as u16,
                reorder: next(61) as u16,
            },
        }
    }
}

/// What client 0 went through.
#[derive(Debug, Default)]
struct Injected {
    /// Ticks of the Desync events.
    desync_ticks: Vec<u64>,
    /// Virtual time of the first desync.
    desync_at: Option<Duration>,
    /// Snapshot ticks installed after the desync.
    resynced_at_ticks: Vec<u64>,
    /// Virtual time of the first verified confirmation after the desync.
    back_in_sync_at: Option<Duration>,
    /// Verified confirmations of ticks after `INJECT_AT`.
    verified_after: u64,
    /// The stats at the end.
    desyncs: u64,
    resyncs: u64,
}

#[derive(Debug)]
struct Outcome {
    injected: Injected,
    /// Desyncs of the clients without the injection.
    others_desyncs: u64,
    /// Verified confirmations of the clients without the injection.
    others_verified: u64,
    /// Desync reports the server counted (re-sent and duplicated requests count once).
    server_desync_reports: u64,
}

/// With `lose_first_request`, everything client 0 sends is lost from just before the
/// injected tick until 400 ms after its desync: its first snapshot request never arrives.
fn run(case: &Case, lose_first_request: bool) -> Outcome {
    let net = SimNet::new(case.seed);
    let link = case.link.config();
    net.set_default_link(link).expect("valid link");
    let mut cut: Option<bool> = lose_first_request.then_some(false);
    let epoch = net.now();
    let session = game_session(case.seed, 4);
    let mut server = ServerDriver::new(net.bind_any().expect("bind"), session, epoch);
    let server_addr = server.carrier().addr();
    let mut server_sums: BTreeMap<u64, u32> = BTreeMap::new();
    // The server's world at the injected tick, to compare the report's state with.
    let mut server_at_inject: Option<World> = None;

    let mut clients: Vec<ClientDriver<SimSocket>> = (0..CLIENTS)
        .map(|i| {
            let mut config = ClientConfig::new(format!("bot{i}"));
            if i == 0 {
                config.inject_desync_at = Some(INJECT_AT);
            }
            let session = ClientSession::new(config, server_addr, Duration::ZERO);
            ClientDriver::new(net.bind_any().expect("bind"), session, epoch)
        })
        .collect();
    let mut injected = Injected::default();
    let mut others_desyncs = 0;
    let mut others_verified = 0;
    let end = Duration::from_secs(INJECT_AT / 20 + 8) + Duration::from_millis(case.link.rtt_ms * 4);
    let step = Duration::from_millis(5);
    let mut t = Duration::ZERO;
    while t < end {
        server.pump(net.now());
        for ev in server.session.drain_events() {
            if let ServerEvent::TickClosed { frame, checksum } = ev {
                server_sums.insert(frame.tick, checksum);
            }
        }
        if server_at_inject.is_none() && server.session.world().tick() == INJECT_AT {
            server_at_inject = Some(server.session.world().clone());
        }
        if let Some(on) = cut {
            let from = clients[0].carrier().addr();
            let confirmed = clients[0].session.confirmed_world().map_or(0, |w| w.tick());
            if !on && injected.desync_at.is_none() && confirmed + 1 >= INJECT_AT {
                let dead = LinkConfig {
                    loss_permille: 1000,
                    ..link
                };
                net.set_link(from, server_addr, dead).expect("valid link");
                cut = Some(true);
            } else if on
                && injected
                    .desync_at
                    .is_some_and(|d| t >= d + Duration::from_millis(400))
            {
                net.set_link(from, server_addr, link).expect("valid link");
                cut = None;
            }
        }
        for (i, c) in clients.iter_mut().enumerate() {
            let seed = case.seed;
            let before = c.session.confirmed_world().map(|w| w.tick());
            c.pump(net.now(), &mut |w, slot| {
                scripted_input(seed ^ i as u64, w.tick() + 1, slot as usize)
            });
            for ev in c.session.drain_events() {
                match ev {
                    ClientEvent::Desync {
                        tick,
                        client_checksum,
                        server_checksum,
                        state,
                    } => {
                        if i != 0 {
                            others_desyncs += 1;
                            eprintln!("seed {}: client {i} desync at {tick}", case.seed);
                            continue;
                        }
                        injected.desync_ticks.push(tick);
                        injected.desync_at.get_or_insert(t);
                        assert_eq!(
                            server_sums.get(&tick),
                            Some(&server_checksum),
                            "seed {}: the reported server checksum is the server's at {tick}",
                            case.seed
                        );
                        // The report's state is our world at the diverging tick: the
                        // server's world then, with exactly the injected fault.
                        let ours = World::restore(&state).expect("the desync state restores");
                        assert_eq!(ours.tick(), tick, "seed {}", case.seed);
                        assert_eq!(ours.checksum(), client_checksum, "seed {}", case.seed);
                        let mut expected = server_at_inject
                            .clone()
                            .expect("the server passed the injected tick");
                        assert_eq!(expected.checksum(), server_checksum, "seed {}", case.seed);
                        expected.inject_fault_for_diagnostics();
                        assert!(
                            ours == expected,
                            "seed {}: the desync state is not the server's world at {tick} plus the fault",
                            case.seed
                        );
                    }
                    ClientEvent::Synced { tick, .. } if i == 0 && injected.desync_at.is_some() => {
                        injected.resynced_at_ticks.push(tick);
                    }
                    _ => {}
                }
            }
            // Every newly confirmed tick's checksum must equal the server's.
            if let (Some(w), Some(b)) = (c.session.confirmed_world(), before) {
                if w.tick() > b {
                    let sum = w.checksum();
                    assert_eq!(
                        server_sums.get(&w.tick()),
                        Some(&sum),
                        "seed {}: client {i} tick {}",
                        case.seed,
                        w.tick()
                    );
                    if i == 0 && injected.desync_at.is_some() {
                        injected.back_in_sync_at.get_or_insert(t);
                        injected.verified_after += w.tick() - b;
                    } else if i != 0 {
                        others_verified += w.tick() - b;
                    }
                }
            }
        }
        t += step;
        net.advance(step);
    }
    let stats = clients[0].session.stats();
    injected.desyncs = stats.desyncs;
    injected.resyncs = stats.resyncs;
    Outcome {
        injected,
        others_desyncs,
        others_verified,
        server_desync_reports: server.session.stats().desync_reports,
    }
}

#[test]
fn an_injected_desync_is_detected_at_its_tick_resynced_and_recovered() {
    for seed in seeds(24, 100) {
        check(&Case::from_seed(seed), false);
    }
}

/// Snapshot requests travel unreliably: a lost one is sent again until a snapshot comes
/// (before, the client stayed syncing for ever while the server kept it in the game).
#[test]
fn a_lost_resync_request_is_sent_again() {
    for seed in seeds(4, 4) {
        check(&Case::from_seed(seed), true);
    }
}

fn check(case: &Case, lose_first_request: bool) {
    let seed = case.seed;
    let out = run(case, lose_first_request);
    let inj = &out.injected;
    eprintln!(
        "seed {seed}: {} -> desync at {:?} s, back in sync {:?} s, {:?}",
        case.link,
        inj.desync_at.map(|d| d.as_secs_f64()),
        inj.back_in_sync_at.map(|d| d.as_secs_f64()),
        out
    );
    assert_eq!(
        inj.desync_ticks,
        [INJECT_AT],
        "seed {seed}: detected once, at the injected tick"
    );
    assert_eq!(inj.desyncs, 1, "seed {seed}");
    assert!(
        !inj.resynced_at_ticks.is_empty() && inj.resynced_at_ticks[0] >= INJECT_AT,
        "seed {seed}: a snapshot was installed after the desync"
    );
    assert!(inj.resyncs >= 1, "seed {seed}: the resync is counted");
    assert_eq!(
        out.server_desync_reports, 1,
        "seed {seed}: the server counts the report once"
    );
    let desync_at = inj.desync_at.expect("desynced");
    let back = inj.back_in_sync_at.expect("back in sync");
    let lost = if lose_first_request {
        Duration::from_millis(400 + 2 * case.link.rtt_ms + 100)
    } else {
        Duration::ZERO
    };
    let budget = RECOVERY_BASE + Duration::from_millis(case.link.rtt_ms * 4) + lost;
    assert!(
        back - desync_at <= budget,
        "seed {seed}: back in sync after {:?} (budget {budget:?})",
        back - desync_at
    );
    assert!(
        inj.verified_after >= 40,
        "seed {seed}: only {} verified ticks after the resync",
        inj.verified_after
    );
    assert_eq!(
        out.others_desyncs, 0,
        "seed {seed}: the other clients stay in sync"
    );
    assert!(out.others_verified > 100, "seed {seed}: the others play on");
}
