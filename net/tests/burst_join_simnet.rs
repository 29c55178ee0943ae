//! Burst joins over the simulated network: 64 clients start within the same 5 ms against
//! a server with 64 slots (the world's and the session's `max_players`, the most a frame
//! carries) and a secure layer sized above them (128 sessions), and every one of them is
//! playing within a bound:
//! - 50 ms round trip with jitter and 1% loss: within 2 s of the first start (the issue's
//!   figure for 127.0.0.1; a join is two round trips of handshake, with the Hello and
//!   Join riding in the `Initiate`, then the snapshot: about 0.2 s, so 2 s leaves room
//!   for lost packets and their 500 ms retries); with 5% loss within 4 s (a client may
//!   lose several packets of its join in a row);
//! - 2 s round trip with 2% loss: within three round trips plus 2 s. A join is two round
//!   trips (Hello/Cookie, then the `Initiate` carrying Hello and Join, answered by the
//!   `Accept` and the session's Welcome and first snapshot chunks) plus the snapshot's
//!   remaining chunks (measured: the first client plays at 4.09 s); a lost handshake
//!   packet costs its 500 ms retry plus up to a round trip, hence one more round trip
//!   and 2 s.
//!
//! Nobody is refused, nobody desyncs, and every confirmed checksum equals the server's.
//! Before the secure layer, laminar's per-stranger state forced caps that let 16 in per
//! 5 s window; this is the regression test for that.

use std::collections::BTreeMap;
use std::time::Duration;

use venture_net::carrier::simnet::{LinkConfig, SimNet, SimSocket};
use venture_net::client::{ClientConfig, ClientEvent, ClientSession, Phase};
use venture_net::driver::{ClientDriver, ServerDriver, ServerLayer};
use venture_net::secure::StaticKeypair;
use venture_net::server::ServerEvent;
use venture_sim::script::scripted_input;
use venture_testkit::handshake::game_session;

const PLAYERS: usize = 64;
const STEP: Duration = Duration::from_millis(5);

/// Runs one burst; returns when each client first played (from the first start).
fn burst(seed: u64, link: LinkConfig, limit: Duration) -> Vec<Duration> {
    let net = SimNet::new(seed);
    net.set_default_link(link).expect("valid link");
    let epoch = net.now();
    let layer = ServerLayer {
        keypair: StaticKeypair::from_private([seed as u8 | 1; 32]),
        max_peers: 2 * PLAYERS,
    };
    let mut server = ServerDriver::with_layer(
        net.bind_any().expect("bind"),
        game_session(seed, PLAYERS as u8),
        layer,
        epoch,
    )
    .expect("layer");
    let server_addr = server.carrier().addr();
    let mut sums: BTreeMap<u64, u32> = BTreeMap::new();
    let mut clients: Vec<ClientDriver<SimSocket>> = Vec::new();
    let mut playing: Vec<Option<Duration>> = vec![None; PLAYERS];
    let mut rejected = 0;
    let mut t = Duration::ZERO;
    while t <= limit && playing.iter().any(Option::is_none) {
        // All 64 start within the first 5 ms: 13 per millisecond.
        let step = if t < STEP {
            Duration::from_millis(1)
        } else {
            STEP
        };
        while clients.len() < PLAYERS && (clients.len() as u128) < (t.as_millis() + 1) * 13 {
            let i = clients.len();
            let session = ClientSession::new(ClientConfig::new(format!("bot{i}")), server_addr, t);
            clients.push(ClientDriver::new(
                net.bind_any().expect("bind"),
                session,
                epoch,
            ));
        }
        server.pump(net.now());
        for ev in server.session.drain_events() {
            match ev {
                ServerEvent::TickClosed { frame, checksum } => {
                    sums.insert(frame.tick, checksum);
                }
                ServerEvent::Rejected { addr, reason } => {
                    rejected += 1;
                    eprintln!("seed {seed}: {addr} rejected: {reason:?}");
                }
                _ => {}
            }
        }
        for (i, c) in clients.iter_mut().enumerate() {
            let before = c.session.confirmed_world().map(|w| w.tick());
            c.pump(net.now(), &mut |w, slot| {
                scripted_input(seed ^ i as u64, w.tick() + 1, slot as usize)
            });
            for ev in c.session.drain_events() {
                assert!(
                    !matches!(ev, ClientEvent::Desync { .. }),
                    "seed {seed}: client {i}: {ev:?}"
                );
            }
            if let (Some(w), Some(b)) = (c.session.confirmed_world(), before) {
                if w.tick() > b {
                    assert_eq!(
                        sums.get(&w.tick()),
                        Some(&w.checksum()),
                        "seed {seed}: client {i} tick {}",
                        w.tick()
                    );
                }
            }
            if playing[i].is_none() && matches!(c.session.phase(), Phase::Playing) {
                playing[i] = Some(t);
            }
        }
        t += step;
        net.advance(step);
    }
    assert_eq!(rejected, 0, "seed {seed}: joins refused");
    assert!(
        server.secure_peers() >= PLAYERS,
        "seed {seed}: {} secure sessions",
        server.secure_peers()
    );
    let missing: Vec<usize> = (0..PLAYERS).filter(|&i| playing[i].is_none()).collect();
    assert!(
        missing.is_empty(),
        "seed {seed}: {} clients not playing after {limit:?}: {missing:?} (first: {:?}; server layer {:?})",
        missing.len(),
        missing
            .first()
            .map(|&i| (clients[i].session.phase().clone(), clients[i].layer_stats())),
        server.layer_stats()
    );
    assert_eq!(server.session.player_count(), PLAYERS);
    playing.into_iter().flatten().collect()
}

/// `VENTURE_SIMNET_SEED=<seed>` runs one seed; debug builds run the first only.
fn seeds(release: &[u64]) -> Vec<u64> {
    match std::env::var("VENTURE_SIMNET_SEED") {
        Ok(s) => vec![s.parse().expect("seed is a number")],
        Err(_) if cfg!(debug_assertions) => release[..1].to_vec(),
        Err(_) => release.to_vec(),
    }
}

fn report(name: &str, times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    let last = *sorted.last().expect("64 times");
    eprintln!(
        "{name}: first playing at {:?}, median {:?}, last {:?}",
        sorted[0],
        sorted[sorted.len() / 2],
        last
    );
    last
}

#[test]
fn sixty_four_clients_at_once_all_play_within_2_s_at_50_ms() {
    // (loss, bound): at 1% loss the 2 s (worst of 77 seeds: 1.24 s); at 5% a
    // client may lose several packets of its join (each a 500 ms retry, or a snapshot
    // chunk's resend), so 4 s (worst of 77 seeds: 3.18 s).
    for (loss, bound) in [(10, Duration::from_secs(2)), (50, Duration::from_secs(4))] {
        let link = LinkConfig {
            latency: Duration::from_millis(25),
            jitter: Duration::from_millis(10),
            loss_permille: loss,
            ..LinkConfig::default()
        };
        for seed in seeds(&[1, 2, 3]) {
            let times = burst(seed, link, bound);
            let last = report(
                &format!("seed {seed}, 50 ms rtt, {}% loss", loss / 10),
                &times,
            );
            assert!(last <= bound, "seed {seed}: {last:?}");
        }
    }
}

#[test]
fn sixty_four_clients_at_once_all_play_within_three_round_trips_and_2_s_at_2_s() {
    let rtt = Duration::from_secs(2);
    let link = LinkConfig {
        latency: rtt / 2,
        jitter: Duration::from_millis(50),
        loss_permille: 20,
        ..LinkConfig::default()
    };
    let bound = 3 * rtt + Duration::from_secs(2);
    let seed = seeds(&[7])[0];
    let times = burst(seed, link, bound);
    let last = report("2 s rtt, 2% loss", &times);
    assert!(last <= bound, "{last:?}");
}
