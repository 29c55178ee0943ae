//! The client parts' test bench: a [`ClientSession`] and a real [`ServerSession`] joined
//! by a virtual link (payloads handed across, optionally dropped by kind), on a virtual
//! clock. No sockets and no sleeps: each part's tests drive the whole protocol against
//! the real authority and look at what its job produced.

use std::net::SocketAddr;
use std::time::Duration;

use venture_sim::{PlayerInput, SimConfig, World};

use super::{ClientConfig, ClientEvent, ClientSession, Phase};
use crate::carrier::Remote;
use crate::protocol::{self, Message};
use crate::server::{ServerSession, SessionConfig};

pub(super) const SERVER: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1)),
    4000,
);
pub(super) const CLIENT: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2)),
    5000,
);
/// One step of the virtual clock.
pub(super) const STEP: Duration = Duration::from_millis(10);

type Filter = Box<dyn FnMut(&Message) -> bool>;

/// A client and a server on a virtual link. See the module docs.
pub(super) struct Link {
    pub server: ServerSession,
    pub client: ClientSession,
    pub now: Duration,
    /// Client-to-server messages this returns true for are lost.
    pub drop_up: Filter,
    /// Server-to-client messages this returns true for are lost.
    pub drop_down: Filter,
    /// Every event the client emitted, in order.
    pub events: Vec<ClientEvent>,
    /// Every message the client sent (delivered or not), in order.
    pub sent: Vec<Message>,
    /// Every message the server sent us (delivered or not), in order.
    pub received: Vec<Message>,
    /// The client's address.
    pub addr: SocketAddr,
    /// The local player's input for every predicted tick.
    pub input: PlayerInput,
}

/// A server session on a small world with `max_players` slots.
pub(super) fn server(max_players: u8, now: Duration) -> ServerSession {
    let world = World::new(&SimConfig {
        width: 24,
        height: 24,
        max_players,
        ..SimConfig::default()
    })
    .expect("a 24x24 world is a valid config");
    let config = SessionConfig {
        max_players,
        ..SessionConfig::default()
    };
    ServerSession::new(world, config, [7; 16], now)
}

impl Link {
    pub fn new(config: ClientConfig) -> Link {
        Link::with_server(config, server(2, Duration::ZERO), CLIENT, Duration::ZERO)
    }

    /// A client at `addr` joining `server` at `now`.
    pub fn with_server(
        config: ClientConfig,
        server: ServerSession,
        addr: SocketAddr,
        now: Duration,
    ) -> Link {
        Link {
            server,
            client: ClientSession::new(config, SERVER, now),
            now,
            addr,
            drop_up: Box::new(|_| false),
            drop_down: Box::new(|_| false),
            events: Vec::new(),
            sent: Vec::new(),
            received: Vec::new(),
            input: PlayerInput::IDLE,
        }
    }

    /// One step of the clock: the client polls (idle input), its datagrams reach the
    /// server, the server polls, its datagrams for us reach the client.
    pub fn step(&mut self) {
        self.now += STEP;
        let now = self.now;
        let input = self.input;
        self.client.poll(now, &mut |_, _| input);
        for bytes in self.client.drain_outgoing() {
            let msg = protocol::decode(&bytes).ok();
            let lost = msg.as_ref().is_some_and(|m| (self.drop_up)(m));
            self.sent.extend(msg);
            if !lost {
                self.server.on_datagram(Remote::udp(self.addr), &bytes, now);
            }
        }
        self.server.poll(now);
        self.deliver_down();
        self.events.extend(self.client.drain_events());
    }

    /// Hands the client one message as if from the server.
    pub fn inject(&mut self, msg: &Message) {
        let bytes = protocol::encode(msg).expect("a test message encodes");
        self.client.on_datagram(&bytes, self.now);
        self.events.extend(self.client.drain_events());
    }

    /// The server's datagrams for us, through the drop filter.
    pub fn deliver_down(&mut self) {
        for (to, bytes) in self.server.drain_outgoing() {
            if to.addr != self.addr {
                continue;
            }
            let msg = protocol::decode(&bytes).ok();
            let lost = msg.as_ref().is_some_and(|m| (self.drop_down)(m));
            self.received.extend(msg);
            if !lost {
                self.client.on_datagram(&bytes, self.now);
            }
        }
    }

    /// Steps until `done` holds or `limit` of virtual time passed; returns whether it held.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Link) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }

    /// Runs until playing (or panics after 10 s of virtual time).
    pub fn play(&mut self) {
        let playing = self.run_until(Duration::from_secs(10), |l| {
            *l.client.phase() == Phase::Playing
        });
        assert!(playing, "not playing: {:?}", self.client.phase());
    }

    pub fn count(&self, f: impl Fn(&ClientEvent) -> bool) -> usize {
        self.events.iter().filter(|e| f(e)).count()
    }
}
