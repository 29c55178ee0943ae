//! Admission rules of the server session, driven directly (no sockets): replies to
//! unadmitted addresses never exceed what they sent, and a Hello flood from many addresses
//! is answered only up to the stranger cap until old answers age out.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use venture_net::protocol::{self, Message};
use venture_net::server::{ServerConfig, ServerEvent, ServerSession};
use venture_sim::{SimConfig, World, SIM_VERSION};
use venture_testkit::handshake::{handshake, small_session};

fn session(cap: usize) -> ServerSession {
    small_session(
        ServerConfig {
            max_answered_strangers: cap,
            ..ServerConfig::default()
        },
        [3; 16],
    )
}

fn addr(i: u32) -> SocketAddr {
    SocketAddr::from(([127, 0, (i >> 8) as u8, i as u8], 40000 + (i % 1000) as u16))
}

#[test]
fn hello_flood_is_capped_and_recovers() {
    let mut s = session(100);
    let hello = protocol::encode(&Message::hello(SIM_VERSION)).expect("encodes");
    let mut sent: BTreeMap<SocketAddr, usize> = BTreeMap::new();
    let mut received: BTreeMap<SocketAddr, usize> = BTreeMap::new();
    for i in 0..2000 {
        let a = addr(i);
        s.on_datagram(a, &hello, Duration::from_millis(i as u64));
        *sent.entry(a).or_default() += hello.len();
        for (to, bytes) in s.drain_outgoing() {
            *received.entry(to).or_default() += bytes.len();
        }
    }
    assert_eq!(
        received.len(),
        100,
        "only the cap's worth of strangers is answered"
    );
    for (a, r) in &received {
        assert!(r <= &sent[a], "{a} got {r} bytes for {}", sent[a]);
    }
    let caps = s
        .drain_events()
        .iter()
        .filter(|e| matches!(e, ServerEvent::CapHit { .. }))
        .count();
    assert_eq!(caps, 1, "the cap is reported once");
    assert_eq!(s.stats().hellos_dropped, 1900);
    // Once the answers age out (laminar forgets idle peers), new strangers are answered.
    s.on_datagram(addr(5000), &hello, Duration::from_secs(30));
    assert_eq!(s.drain_outgoing().len(), 1);
}

#[test]
fn replies_to_strangers_never_amplify() {
    let mut s = session(1024);
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
            assert_eq!(to, a);
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
        ServerConfig {
            max_players: 1,
            ..ServerConfig::default()
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
    let mut s = small_session(ServerConfig::default(), [3; 16]);
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

/// The stranger cap counts addresses, not answers: a client re-sending its Hello many times
/// over a long link does not use up the budget for everyone else.
#[test]
fn repeated_hellos_from_one_address_do_not_exhaust_the_cap() {
    let mut s = session(4);
    let hello = protocol::encode(&Message::hello(SIM_VERSION)).expect("encodes");
    for i in 0..100 {
        s.on_datagram(addr(1), &hello, Duration::from_millis(250 * i));
    }
    assert_eq!(
        s.drain_outgoing().len(),
        100,
        "the same stranger is answered every time"
    );
    for i in 2..5 {
        s.on_datagram(addr(i), &hello, Duration::from_secs(25));
    }
    assert_eq!(s.drain_outgoing().len(), 3, "others still get answers");
    assert_eq!(s.stats().hellos_dropped, 0);
}
