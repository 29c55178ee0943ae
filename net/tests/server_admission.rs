//! Admission rules of the server session, driven directly (no sockets): replies to
//! unadmitted addresses never exceed what they sent; behind the secure layer a Join needs
//! no session cookie. (Floods of strangers are the secure layer's: net/src/secure.)

use std::net::SocketAddr;
use std::time::Duration;

use venture_net::protocol::{self, Message};
use venture_net::server::{ServerEvent, ServerSession, SessionConfig};
use venture_sim::{SimConfig, World, SIM_VERSION};
use venture_testkit::handshake::{handshake, small_session};

fn session() -> ServerSession {
    small_session(SessionConfig::default(), [3; 16])
}

fn addr(i: u32) -> SocketAddr {
    SocketAddr::from(([127, 0, (i >> 8) as u8, i as u8], 40000 + (i % 1000) as u16))
}

#[test]
fn replies_to_strangers_never_amplify() {
    let mut s = session();
    // Garbage, short hellos, joins with bad cookies, inputs from nobody: no reply is larger
    // than its request, and most get none.
    let short_hello = {
        let mut b = protocol::encode(&Message::hello(SIM_VERSION)).expect("encodes");
        b.truncate(40);
        b
    };
    let bad_join = protocol::encode(&Message::Join {
        cookie: [9; 16],
        name: "mallory".into(),
        character_secret: [0; 16],
    })
    .expect("encodes");
    let stray_inputs = protocol::encode(&Message::Inputs {
        ack_tick: 1,
        first_tick: 1,
        inputs: vec![],
    })
    .expect("encodes");
    let mut other_version = protocol::encode(&Message::hello(SIM_VERSION)).expect("encodes");
    other_version[2] = 77;
    for (i, payload) in [
        short_hello,
        bad_join,
        stray_inputs,
        other_version,
        vec![0u8; 3],
        vec![0xff; 1200],
    ]
    .iter()
    .enumerate()
    {
        let a = addr(i as u32);
        s.on_datagram(a, payload, Duration::from_secs(1));
        for (to, bytes) in s.drain_outgoing() {
            assert_eq!(to, a.into());
            assert!(
                bytes.len() <= payload.len(),
                "case {i}: {} byte reply to {} bytes",
                bytes.len(),
                payload.len()
            );
        }
    }
}

/// A client that leaves frees its slot for a newcomer even before the leave is stepped: the
/// join is queued behind the leave and both apply in the same tick.
#[test]
fn a_freed_slot_is_reusable_before_the_next_tick() {
    let world = World::new(&SimConfig {
        width: 24,
        height: 24,
        max_players: 1,
        ..SimConfig::default()
    })
    .expect("valid");
    let mut s = ServerSession::new(
        world,
        SessionConfig {
            max_players: 1,
            ..SessionConfig::default()
        },
        [3; 16],
        Duration::ZERO,
    );
    let join = |s: &mut ServerSession, who: SocketAddr, name: &str, now: Duration| {
        handshake(s, who, name, [1; 16], now).expect("answered")
    };
    let t = Duration::from_millis(10);
    assert!(matches!(
        join(&mut s, addr(1), "first", t),
        Message::Welcome { .. }
    ));
    s.close_tick();
    assert_eq!(s.world().player_count(), 1);
    s.on_datagram(
        addr(1),
        &protocol::encode(&Message::Leave).expect("encodes"),
        t,
    );
    assert!(
        matches!(join(&mut s, addr(2), "second", t), Message::Welcome { .. }),
        "slot reusable at once"
    );
    s.close_tick();
    assert_eq!(s.world().player(0).map(|p| p.name.as_str()), Some("second"));
}

/// A saved character is restored only to the secret that owns it, a few commands per tick.
#[test]
fn character_claims_gate_and_pace_the_restore() {
    use venture_net::server::{secret_digest, CharacterClaim, RESTORE_PER_TICK};
    use venture_sim::{Command, Progress};
    let mut s = small_session(SessionConfig::default(), [3; 16]);
    let restore: Vec<Command> = (0..10)
        .map(|i| Command::Restore {
            slot: 0,
            progress: Progress {
                level: 2 + i,
                ..Progress::default()
            },
        })
        .collect();
    s.set_claim(
        "owner".into(),
        CharacterClaim {
            secret_digest: secret_digest(&[5; 16]),
            restore,
        },
    );
    let join = |s: &mut ServerSession, who: SocketAddr, secret: [u8; 16]| {
        handshake(s, who, "owner", secret, Duration::ZERO)
    };
    assert!(
        matches!(join(&mut s, addr(1), [6; 16]), Some(Message::Reject { .. })),
        "another secret is refused"
    );
    assert!(matches!(
        join(&mut s, addr(2), [5; 16]),
        Some(Message::Welcome { slot: 1, .. }) | Some(Message::Welcome { slot: 0, .. })
    ));
    let mut restored = 0;
    for _ in 0..5 {
        s.close_tick();
        for e in s.drain_events() {
            if let ServerEvent::TickClosed { frame, .. } = e {
                let n = frame
                    .commands
                    .iter()
                    .filter(|c| matches!(c, Command::Restore { .. }))
                    .count();
                assert!(n <= RESTORE_PER_TICK);
                restored += n;
            }
        }
    }
    assert_eq!(restored, 10);
}

/// Behind the secure layer (drivers set `admitted_by_transport`), a Join needs no cookie
/// of the session's: the layer proved the address. Without it, a Join without a valid
/// cookie is refused. Either way a Join right behind a Hello of another version takes no
/// slot.
#[test]
fn behind_the_secure_layer_a_join_needs_no_cookie_but_a_refused_hello_still_bars_it() {
    let join = |name: &str| {
        protocol::encode(&Message::Join {
            cookie: [0; 16],
            name: name.into(),
            character_secret: [1; 16],
        })
        .expect("encodes")
    };
    let mut direct = session();
    direct.on_datagram(addr(1), &join("a"), Duration::from_millis(1));
    assert_eq!(direct.player_count(), 0, "no cookie, no slot");

    let mut behind = session();
    behind.set_admitted_by_transport(true);
    behind.on_datagram(addr(1), &join("a"), Duration::from_millis(1));
    assert_eq!(behind.player_count(), 1);
    assert!(behind
        .drain_outgoing()
        .iter()
        .any(|(to, b)| *to == addr(1).into()
            && matches!(protocol::decode(b), Ok(Message::Welcome { .. }))));

    let old = protocol::encode(&Message::hello(SIM_VERSION + 1)).expect("encodes");
    behind.on_datagram(addr(2), &old, Duration::from_millis(2));
    behind.on_datagram(addr(2), &join("b"), Duration::from_millis(2));
    assert_eq!(
        behind.player_count(),
        1,
        "the Join behind a refused Hello is refused"
    );
}

#[test]
fn awaiting_an_allocation_refuses_players_and_spectators_with_that_reason() {
    use venture_net::protocol::RejectReason;
    let mut s = session();
    s.set_awaiting_allocation(true);
    s.set_admitted_by_transport(true);
    let answers = |s: &mut ServerSession, who: SocketAddr, msg: &Message| {
        s.on_datagram(
            who,
            &protocol::encode(msg).expect("encodes"),
            Duration::ZERO,
        );
        s.drain_outgoing()
            .into_iter()
            .map(|(_, b)| protocol::decode(&b).expect("decodes"))
            .collect::<Vec<_>>()
    };
    let refused = vec![Message::Reject {
        reason: RejectReason::AwaitingAllocation,
    }];
    assert_eq!(
        answers(&mut s, addr(7), &Message::hello(SIM_VERSION)),
        refused
    );
    let join = Message::Join {
        cookie: [0; 16],
        name: "early".into(),
        character_secret: [1; 16],
    };
    assert_eq!(answers(&mut s, addr(7), &join), refused);
    let spectate = Message::Spectate { cookie: [0; 16] };
    assert_eq!(answers(&mut s, addr(8), &spectate), refused);
    assert_eq!(s.player_count() + s.spectator_count(), 0);
    // Allocated (the shell replaces the session; a flag cleared works the same).
    s.set_awaiting_allocation(false);
    assert!(matches!(
        handshake(&mut s, addr(9), "later", [2; 16], Duration::ZERO),
        Some(Message::Welcome { .. })
    ));
}
