//! The simulated-network matrix with tampering links: on one or two players' addresses a
//! box ([`SimNet::tamper`]) modifies (flips bytes, truncates, extends), replays and forges
//! datagrams in both directions, and the test injects well-formed *plaintext* protocol
//! messages (Inputs for the player's slot, Leave; Reject towards the player) from the
//! player's and the server's addresses: the attack the secure layer exists to stop.
//! Across seeds and link profiles (50 ms to 5 s round trip, with loss and jitter) it
//! proves:
//! - (a) nobody desyncs: every client's confirmed checksum equals the server's, tick by
//!   tick;
//! - (b) no tampered datagram changed an input: for every tick a client predicted, the
//!   input the server put in its confirmed frame for that client's slot is the one the
//!   client produced for that tick, or (a substitution, counted by the server) a repeat
//!   of the slot's previous input; each client's inputs differ from tick to tick (and
//!   the forged ones from all of them), so a changed input cannot pass for either. (The
//!   repeats are not matched against the server's substitution counter: while a
//!   joiner's snapshot is still unacknowledged the server repeats without counting.)
//! - (c) the tampering was seen and stopped in the layer: each side's layer dropped at
//!   least as many datagrams as the box mangled or forged into data packets towards it
//!   (the box acts after the link's loss, so all of those arrived), most plaintext
//!   forgeries showed as malformed drops (they cross the lossy link), and the server session
//!   never received a datagram it could not decode or did not expect. The forged
//!   plaintext `Reject`s never reached a client (it would have closed). A client's own
//!   invalid-datagram counter is not asserted: a replayed `Initiate` (or the client's own
//!   retransmission) before its first sealed datagram makes the server deliver the early
//!   data again, by design, and the genuine `Challenge` the server sends in answer is
//!   one the client no longer expects.
//!
//! A failing case prints its seed and profile; rerun one with `VENTURE_SIMNET_SEED=<seed>`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use venture_net::carrier::simnet::{
    LinkConfig, SimNet, SimSocket, TamperConfig, TamperEvent, TamperKind,
};
use venture_net::client::{ClientConfig, ClientEvent, ClientSession, Phase};
use venture_net::driver::{ClientDriver, ServerDriver, ServerLayer};
use venture_net::protocol::{encode, Message, RejectReason};
use venture_net::secure::wire;
use venture_net::secure::{DropReason, StaticKeypair};
use venture_net::server::ServerEvent;
use venture_sim::script::scripted_input;
use venture_sim::{Frame, PlayerInput};
use venture_testkit::handshake::game_session;

const STEP: Duration = Duration::from_millis(5);
/// Plaintext forgeries are injected this often per tampered address.
const FORGE_EVERY: Duration = Duration::from_millis(250);
/// Under tampering a join may restart: a `Cookie` whose key bytes were altered costs a
/// first-use client its `Initiate` (sealed to the wrong key, the server cannot read it
/// and never answers) until it gives up on it after this long.
const JOIN_GIVE_UP: Duration = Duration::from_secs(15);
/// Handshake attempts allowed before every client must play (or, at 5 s round trips, a
/// snapshot transfer over a link that mangles 15% of datagrams each way: as slow).
const JOIN_RESTARTS: u32 = 3;

#[derive(Debug, Clone, Copy)]
struct Profile {
    rtt_ms: u64,
    jitter_ms: u64,
    loss: u16,
}

#[derive(Debug, Clone, Copy)]
struct Case {
    seed: u64,
    profile: Profile,
    clients: usize,
    /// Clients 0..tampered have a box on their address.
    tampered: usize,
    tamper: TamperConfig,
}

impl Case {
    /// How long the game runs once every client plays: long enough for the lead to
    /// settle (three round trips) and then fifteen seconds of inputs.
    fn play_time(&self) -> Duration {
        Duration::from_millis(3 * self.profile.rtt_ms) + Duration::from_secs(15)
    }

    /// Latest time by which every client must play: four round trips (handshake, join,
    /// snapshot, first frames) per allowed restart of the handshake, see
    /// [`JOIN_RESTARTS`].
    fn join_deadline(&self) -> Duration {
        let per_try = Duration::from_millis(4 * self.profile.rtt_ms) + Duration::from_secs(2);
        (per_try + JOIN_GIVE_UP) * JOIN_RESTARTS
    }

    /// Own inputs each client must have had confirmed, at least, so the comparison is
    /// never vacuous: one second's worth. (A client that joined late, after a
    /// 15 s handshake restart, may pace slowly for a few seconds; that is not the subject
    /// here, and most clients have hundreds.)
    fn min_own_inputs(&self) -> u64 {
        20
    }
}

const PROFILES: [Profile; 4] = [
    Profile {
        rtt_ms: 50,
        jitter_ms: 10,
        loss: 20,
    },
    Profile {
        rtt_ms: 200,
        jitter_ms: 20,
        loss: 50,
    },
    Profile {
        rtt_ms: 2000,
        jitter_ms: 100,
        loss: 50,
    },
    Profile {
        rtt_ms: 5000,
        jitter_ms: 200,
        loss: 20,
    },
];

fn case(seed: u64) -> Case {
    let profile = PROFILES[(seed % PROFILES.len() as u64) as usize];
    // Odd seeds tamper with two players, and harder; but a modified datagram is a lost
    // one too, and at 5 s round trips 15% more loss each way makes the join's snapshot
    // and the client's catching up crawl (not this test's subject), so modification
    // stays at 8% there.
    let hard = seed % 2 == 1;
    let modify_hard = hard && profile.rtt_ms < 5000;
    Case {
        seed,
        profile,
        clients: 3,
        tampered: if hard { 2 } else { 1 },
        tamper: TamperConfig {
            modify_permille: if modify_hard { 150 } else { 80 },
            replay_permille: if hard { 150 } else { 80 },
            forge_permille: if hard { 150 } else { 80 },
            replay_delay: Duration::from_millis(2000),
        },
    }
}

/// A client's input for `tick`: the scripted bot's, with the aim made unique per tick and
/// per client (so a repeat, a shifted tick or another client's input never passes for it).
fn client_input(seed: u64, client: usize, tick: u64, slot: u8) -> PlayerInput {
    let mut input = scripted_input(seed ^ client as u64, tick, slot as usize);
    input.aim_x = tick as u8 as i8;
    input.aim_y = client as i8;
    input
}

/// What the forger tries to slip in: an aim no client ever produces.
const FORGED_INPUT: PlayerInput = PlayerInput {
    move_x: 100,
    move_y: -100,
    aim_x: 7,
    aim_y: 99,
    buttons: 0xff,
    slot: 3,
};

/// A tampered datagram that can never be genuine data: a data packet modified in flight,
/// or a forgery shaped like one. (Handshake packets the box modifies may still be valid,
/// a padded Hello with a flipped padding byte, so they are not counted; replays may be the
/// first copy to arrive, so neither are they.)
fn is_mangled_data(e: &TamperEvent) -> bool {
    match e.kind {
        TamperKind::Flipped | TamperKind::Truncated | TamperKind::Extended => {
            e.original.first() == Some(&wire::DATA)
        }
        TamperKind::Forged => e.sent.first() == Some(&wire::DATA),
        TamperKind::Replayed => false,
    }
}

struct Client {
    driver: ClientDriver<SimSocket>,
    /// Inputs this client produced, by tick: (its slot then, the input).
    produced: BTreeMap<u64, (u8, PlayerInput)>,
    desyncs: u64,
}

#[derive(Debug, Default)]
struct Report {
    /// Ticks compared per client where the server took the client's own input.
    own: Vec<u64>,
    /// Ticks where the server repeated the previous input instead.
    repeated: Vec<u64>,
    mangled_to_server: u64,
    mangled_to_clients: Vec<u64>,
    plaintext_forged_to_server: u64,
    plaintext_forged_to_clients: Vec<u64>,
    tampered_total: u64,
    all_playing_at: Duration,
}

fn run(case: &Case) -> Report {
    let p = case.profile;
    let net = SimNet::new(case.seed);
    net.set_default_link(LinkConfig {
        latency: Duration::from_millis(p.rtt_ms / 2),
        jitter: Duration::from_millis(p.jitter_ms),
        loss_permille: p.loss,
        ..LinkConfig::default()
    })
    .expect("valid link");
    let epoch = net.now();
    let layer = ServerLayer {
        keypair: StaticKeypair::from_private([case.seed as u8 ^ 0x5a; 32]),
        max_peers: 16,
    };
    let mut server = ServerDriver::with_layer(
        net.bind_any().expect("bind"),
        game_session(case.seed, 8),
        layer,
        epoch,
    )
    .expect("layer");
    let server_addr = server.carrier().addr();
    let mut clients: Vec<Client> = (0..case.clients)
        .map(|i| {
            // A first join may take restarts under tampering (see JOIN_RESTARTS): far
            // past the default 15 s; the test has its own deadline.
            let config = ClientConfig {
                connect_timeout: Duration::from_secs(600),
                ..ClientConfig::new(format!("bot{i}"))
            };
            let session = ClientSession::new(config, server_addr, Duration::ZERO);
            Client {
                driver: ClientDriver::new(net.bind_any().expect("bind"), session, epoch),
                produced: BTreeMap::new(),
                desyncs: 0,
            }
        })
        .collect();
    let addrs: Vec<SocketAddr> = clients.iter().map(|c| c.driver.carrier().addr()).collect();
    for a in &addrs[..case.tampered] {
        net.tamper(*a, case.tamper).expect("valid tamper config");
    }

    // The server's record: per tick, the frame, its checksum, and who held each slot.
    let mut frames: BTreeMap<u64, (Frame, u32, Vec<Option<SocketAddr>>)> = BTreeMap::new();
    let mut holders: Vec<Option<SocketAddr>> = vec![None; 64];
    let mut report = Report {
        mangled_to_clients: vec![0; case.clients],
        plaintext_forged_to_clients: vec![0; case.clients],
        ..Report::default()
    };
    let deadline = case.join_deadline();
    let mut end = deadline + case.play_time();
    let mut all_playing_at = None;
    let mut t = Duration::ZERO;
    let mut next_forge = Duration::from_millis(100);
    while t < end {
        if all_playing_at.is_none()
            && clients
                .iter()
                .all(|c| matches!(c.driver.session.phase(), Phase::Playing))
        {
            all_playing_at = Some(t);
            end = t + case.play_time();
        }
        if t >= next_forge {
            next_forge += FORGE_EVERY;
            let tick = server.session.world().tick();
            let inputs = encode(&Message::Inputs {
                ack_tick: tick,
                first_tick: tick + 1,
                inputs: vec![FORGED_INPUT; 40],
            })
            .expect("encodes");
            let leave = encode(&Message::Leave).expect("encodes");
            let reject = encode(&Message::Reject {
                reason: RejectReason::Full,
            })
            .expect("encodes");
            for (i, a) in addrs[..case.tampered].iter().enumerate() {
                net.inject(*a, server_addr, &inputs);
                net.inject(*a, server_addr, &leave);
                net.inject(server_addr, *a, &reject);
                report.plaintext_forged_to_server += 2;
                report.plaintext_forged_to_clients[i] += 1;
            }
        }
        server.pump(net.now());
        for ev in server.session.drain_events() {
            match ev {
                ServerEvent::TickClosed { frame, checksum } => {
                    frames.insert(frame.tick, (frame, checksum, holders.clone()));
                }
                ServerEvent::PlayerConnected { slot, addr, .. } => {
                    holders[slot as usize] = Some(addr.addr);
                }
                ServerEvent::PlayerDisconnected { slot, .. } => holders[slot as usize] = None,
                _ => {}
            }
        }
        for (i, c) in clients.iter_mut().enumerate() {
            let before = c.driver.session.confirmed_world().map(|w| w.tick());
            let seed = case.seed;
            let produced = &mut c.produced;
            c.driver.pump(net.now(), &mut |w, slot| {
                let tick = w.tick() + 1;
                let input = client_input(seed, i, tick, slot);
                let again = produced.insert(tick, (slot, input));
                assert!(
                    again.is_none_or(|(s, _)| s == slot),
                    "seed {seed}: client {i} predicted tick {tick} for two slots"
                );
                input
            });
            for ev in c.driver.session.drain_events() {
                if let ClientEvent::Desync { tick, .. } = ev {
                    c.desyncs += 1;
                    eprintln!("seed {}: client {i} desync at {tick}", case.seed);
                }
            }
            if let (Some(w), Some(b)) = (c.driver.session.confirmed_world(), before) {
                if w.tick() > b {
                    assert_eq!(
                        frames.get(&w.tick()).map(|f| f.1),
                        Some(w.checksum()),
                        "seed {}: client {i} confirmed tick {} with another checksum",
                        case.seed,
                        w.tick()
                    );
                }
            }
        }
        for a in &addrs[..case.tampered] {
            for e in net.take_tamper_log(*a) {
                report.tampered_total += 1;
                if !is_mangled_data(&e) {
                    continue;
                }
                if e.to == server_addr {
                    report.mangled_to_server += 1;
                } else if let Some(i) = addrs.iter().position(|x| *x == e.to) {
                    report.mangled_to_clients[i] += 1;
                }
            }
        }
        if std::env::var("VENTURE_SIMNET_DEBUG").is_ok() && t.as_millis() % 1000 == 0 {
            for (i, c) in clients.iter().enumerate() {
                eprintln!(
                    "  {t:?} client {i} {:?} layer established {} {:?}",
                    c.driver.session.phase(),
                    c.driver.is_established(),
                    c.driver.layer_stats()
                );
            }
            eprintln!(
                "  {t:?} server peers {} players {} {:?}",
                server.secure_peers(),
                server.session.player_count(),
                server.layer_stats()
            );
        }
        t += STEP;
        net.advance(STEP);
    }

    let seed = case.seed;
    assert!(
        all_playing_at.is_some_and(|at| at <= deadline),
        "seed {seed}: not all playing by {deadline:?}"
    );
    report.all_playing_at = all_playing_at.unwrap_or_default();
    let server_tick = server.session.world().tick();
    // (a) Everyone plays, keeps up, and never desynced.
    for (i, c) in clients.iter().enumerate() {
        let s = &c.driver.session;
        assert_eq!(c.desyncs, 0, "seed {seed}: client {i} desynced");
        assert!(
            matches!(s.phase(), Phase::Playing),
            "seed {seed}: client {i} is {:?} (layer {:?})",
            s.phase(),
            c.driver.layer_stats()
        );
        let confirmed = s.confirmed_world().map_or(0, |w| w.tick());
        assert!(
            confirmed + 20 * (p.rtt_ms / 1000 + 2) >= server_tick,
            "seed {seed}: client {i} confirmed only {confirmed} of {server_tick}"
        );
    }

    // (b) Every input the server confirmed for a client's slot is the client's own for that
    // tick, or a repeat of the slot's previous input (a substitution).
    for (i, c) in clients.iter().enumerate() {
        let (mut own, mut repeated) = (0u64, 0u64);
        for (&tick, &(slot, input)) in &c.produced {
            let Some((frame, _, holders)) = frames.get(&tick) else {
                continue;
            };
            if holders[slot as usize] != Some(addrs[i]) {
                continue;
            }
            let got = frame.input(slot as usize);
            if got == input {
                own += 1;
                continue;
            }
            let previous = frames
                .get(&(tick - 1))
                .map_or(PlayerInput::IDLE, |f| f.0.input(slot as usize));
            assert_eq!(
                got, previous,
                "seed {seed}: client {i} slot {slot} tick {tick}: the server confirmed an input \
                 the client never produced (client {input:?}, previous {previous:?})"
            );
            repeated += 1;
        }
        assert!(
            own >= case.min_own_inputs(),
            "seed {seed}: client {i}: only {own} own inputs confirmed"
        );
        report.own.push(own);
        report.repeated.push(repeated);
    }

    // (c) The layers dropped the tampering; the sessions never saw any of it.
    let server_layer = server.layer_stats();
    let server_stats = server.session.stats();
    assert!(
        report.tampered_total > 0,
        "seed {seed}: the box did nothing"
    );
    // The box acts on what its link delivers, so every mangled data packet arrived and
    // must have been dropped; the plaintext forgeries cross the lossy link (some are lost),
    // so they only show as malformed drops.
    assert!(
        server_layer.dropped_total() >= report.mangled_to_server,
        "seed {seed}: server layer dropped {} of {} mangled: {server_layer:?}",
        server_layer.dropped_total(),
        report.mangled_to_server
    );
    assert!(
        server_layer.dropped(DropReason::Forged) > 0,
        "seed {seed}: {server_layer:?}"
    );
    assert!(
        server_layer.dropped(DropReason::Malformed) > report.plaintext_forged_to_server / 2,
        "seed {seed}: {} plaintext forgeries sent, {server_layer:?}",
        report.plaintext_forged_to_server
    );
    assert_eq!(
        server_stats.invalid_datagrams, 0,
        "seed {seed}: tampered bytes reached the server session"
    );
    for (i, c) in clients.iter().enumerate().take(case.tampered) {
        let layer = c.driver.layer_stats();
        assert!(
            layer.dropped_total() >= report.mangled_to_clients[i],
            "seed {seed}: client {i} layer dropped {} of {} mangled: {layer:?}",
            layer.dropped_total(),
            report.mangled_to_clients[i]
        );
        assert!(
            layer.dropped(DropReason::Malformed) > report.plaintext_forged_to_clients[i] / 2,
            "seed {seed}: client {i}: {} plaintext Rejects sent, {layer:?}",
            report.plaintext_forged_to_clients[i]
        );
    }
    if std::env::var("VENTURE_SIMNET_DEBUG").is_ok() {
        eprintln!("  server layer {server_layer:?}\n  server {server_stats:?}");
        for (i, c) in clients.iter().enumerate() {
            eprintln!("  client {i} layer {:?}", c.driver.layer_stats());
        }
    }
    report
}

/// 24 cases in release (every profile with one and with two tampered players, three
/// seeds each); 2 in debug builds (far slower).
fn seeds() -> Vec<u64> {
    match std::env::var("VENTURE_SIMNET_SEED") {
        Ok(s) => vec![s.parse().expect("seed is a number")],
        Err(_) if cfg!(debug_assertions) => vec![1, 4],
        Err(_) => (1..=24).collect(),
    }
}

#[test]
fn tampering_links_change_no_input_and_cause_no_desync() {
    for seed in seeds() {
        let c = case(seed);
        let r = run(&c);
        eprintln!(
            "seed {seed}: rtt {} ms jitter {} loss {}‰, {} of {} tampered: {} actions ({} mangled \
             data to the server, {:?} to clients); all playing at {:?}; own inputs {:?}, repeats {:?}",
            c.profile.rtt_ms,
            c.profile.jitter_ms,
            c.profile.loss,
            c.tampered,
            c.clients,
            r.tampered_total,
            r.mangled_to_server,
            r.mangled_to_clients,
            r.all_playing_at,
            r.own,
            r.repeated
        );
    }
}
