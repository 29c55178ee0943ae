//! The session handshake (Hello, Challenge, Join) against a sans-IO `ServerSession`, for
//! tests that drive the server's state machine without sockets.

use std::net::SocketAddr;
use std::time::Duration;

use venture_net::protocol::{self, Message};
use venture_net::server::{ServerSession, SessionConfig};
use venture_sim::{SimConfig, World, SIM_VERSION};

/// A server session on a small (24x24) world.
pub fn small_session(config: SessionConfig, cookie_key: [u8; 16]) -> ServerSession {
    let world = World::new(&SimConfig {
        width: 24,
        height: 24,
        ..SimConfig::default()
    })
    .expect("the default config with a 24x24 map is valid");
    ServerSession::new(world, config, cookie_key, Duration::ZERO)
}

/// Hello, Challenge, Join as `name` with `secret` from `who`: the server's answer
/// (`Welcome` or `Reject`), or `None` if it sent no challenge or no answer.
pub fn handshake(
    s: &mut ServerSession,
    who: SocketAddr,
    name: &str,
    secret: [u8; 16],
    now: Duration,
) -> Option<Message> {
    let hello = protocol::encode(&Message::hello(SIM_VERSION)).expect("a Hello encodes");
    s.on_datagram(who, &hello, now);
    let cookie = s
        .drain_outgoing()
        .into_iter()
        .find_map(|(_, b)| match protocol::decode(&b) {
            Ok(Message::Challenge { cookie }) => Some(cookie),
            _ => None,
        })?;
    let join = Message::Join {
        cookie,
        name: name.into(),
        character_secret: secret,
    };
    s.on_datagram(who, &protocol::encode(&join).expect("a Join encodes"), now);
    s.drain_outgoing()
        .into_iter()
        .filter_map(|(_, b)| protocol::decode(&b).ok())
        .find(|m| matches!(m, Message::Welcome { .. } | Message::Reject { .. }))
}

/// A session with one client admitted from 127.0.0.9 and a few ticks closed: (session,
/// the client's address, the session time now).
pub fn admitted_session() -> (ServerSession, SocketAddr, Duration) {
    let mut s = small_session(SessionConfig::default(), [0; 16]);
    let addr = SocketAddr::from(([127, 0, 0, 9], 5000));
    let mut now = Duration::from_millis(10);
    let answer = handshake(&mut s, addr, "alice", [0; 16], now);
    assert!(
        matches!(answer, Some(Message::Welcome { .. })),
        "not admitted: {answer:?}"
    );
    for _ in 0..5 {
        now += Duration::from_millis(50);
        s.poll(now);
    }
    assert!(s.world().tick() >= 2);
    (s, addr, now)
}

/// A server session on a 48x48 world of `seed` with `max_players` slots (in the world and
/// the session alike), as the simulated-network tests run it.
pub fn game_session(seed: u64, max_players: u8) -> ServerSession {
    let world = World::new(&SimConfig {
        seed,
        width: 48,
        height: 48,
        max_players,
        ..SimConfig::default()
    })
    .expect("a 48x48 world with 1 to MAX_SLOTS players is a valid config");
    ServerSession::new(
        world,
        SessionConfig {
            max_players,
            ..SessionConfig::default()
        },
        [7; 16],
        Duration::ZERO,
    )
}
