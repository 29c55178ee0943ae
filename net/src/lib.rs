//! venture-net: Venture's network layer below the game sessions.
//!
//! Every module, bottom up:
//! - [`carrier`]: what moves packets: UDP datagrams, TCP frames and WebSocket messages
//!   ([`carrier::udp`], [`carrier::stream`]), SOCKS5 for Tor, and, behind the `simnet`
//!   feature (tests and benches), an in-memory, seeded, virtual-clock network
//!   (`carrier::simnet`) with datagram and stream links.
//! - [`secure`]: the secure layer on top of the carriers: the endpoint (stateless
//!   cookies, Noise NK handshake, peer table, idle timeout) and its sealed channels.
//! - [`protocol`]: the versioned session messages, their bounded codec, and the per-tick
//!   messages' byte form ([`protocol::per_tick`]).
//! - [`redundancy`]: the redundancy window for per-tick data sent unreliably, and the
//!   receiving side's tracker of what arrived.
//! - [`chunk`]: snapshot chunking, bounded reassembly and selective acks.
//! - [`cookie`]: stateless admission cookies.
//! - [`chat`]: chat admission (cleaning, length cap, de-duplication, rate limit).
//! - [`standby`]: what a primary and its hot standby share (follower key, proofs, claims).
//! - [`server`], [`client`]: the sans-IO sessions (authority; prediction and rollback).
//! - [`driver`]: a session on the secure layer on a carrier, pumped with the time.
//! - `test_frames` (unit tests only): the confirmed frames the codec's and the frame
//!   streams' tests share.
//!
//! The example at the end (a client and a server over the simulated network) is built
//! and run as a doctest when the `simnet` feature is on, as in the workspace's tests.
//!
//! With real sockets, use [`carrier::udp::UdpCarrier`] (and [`carrier::stream`]) instead
//! of the `SimSocket`, register them with a mio `Poll`, and pump with `Instant::now()`.
//!
//! Everything here treats bytes from the network as hostile: decoders return typed
//! errors and every buffer is bounded.
#![cfg_attr(
    feature = "simnet",
    doc = r#"
# Example: a client and a server over the simulated network

```
use std::time::Duration;
use venture_net::carrier::simnet::{LinkConfig, SimNet};
use venture_net::client::{ClientConfig, ClientSession, Phase};
use venture_net::driver::{ClientDriver, ServerDriver};
use venture_net::server::{SessionConfig, ServerSession};
use venture_sim::{PlayerInput, SimConfig, World};

let net = SimNet::new(12345);
net.set_default_link(LinkConfig::latency(Duration::from_millis(20))).unwrap();
let epoch = net.now();
let world = World::new(&SimConfig::default()).unwrap();
let session = ServerSession::new(world, SessionConfig::default(), [7; 16], Duration::ZERO);
let mut server = ServerDriver::new(net.bind_any().unwrap(), session, epoch);
let server_addr = server.carrier().addr();
let client = ClientSession::new(ClientConfig::new("ada"), server_addr, Duration::ZERO);
let mut client = ClientDriver::new(net.bind_any().unwrap(), client, epoch);
for _ in 0..200 {
    net.advance(Duration::from_millis(10));
    server.pump(net.now());
    client.pump(net.now(), &mut |_, _| PlayerInput::default());
}
assert!(matches!(client.session.phase(), Phase::Playing));
```

"#
)]
#![forbid(unsafe_code)]

pub mod carrier;
pub mod chat;
pub mod chunk;
pub mod client;
pub mod cookie;
pub mod driver;
pub mod protocol;
pub mod redundancy;
pub mod secure;
pub mod server;
pub mod standby;
#[cfg(test)]
mod test_frames;
