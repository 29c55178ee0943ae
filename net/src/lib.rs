//! venture-net: Venture's network layer below the game sessions.
//!
//! - [`carrier`]: what moves packets: UDP datagrams, TCP frames and WebSocket messages
//!   ([`carrier::udp`], [`carrier::stream`]), SOCKS5 for Tor, and an in-memory, seeded,
//!   virtual-clock network ([`carrier::simnet`]) with datagram and stream links.
//! - [`secure`]: the secure layer on top of the carriers: the endpoint (stateless
//!   cookies, Noise NK handshake, peer table, idle timeout) and its sealed channels.
//! - [`driver`]: a session on the secure layer on a carrier, pumped with the time.
//! - [`protocol`], [`compact`]: the versioned session messages and their bounded codec.
//! - [`server`], [`client`]: the sans-IO sessions (authority; prediction and rollback).
//! - [`standby`]: what a primary and its hot standby share (follower key, proofs, claims).
//! - [`cookie`]: stateless admission cookies; [`chunk`]: snapshot chunking and bounded
//!   reassembly; [`window`]: redundancy windows for per-tick data; [`chat`]: chat
//!   admission.
//!
//! # Example: a client and a server over the simulated network
//!
//! ```
//! use std::time::Duration;
//! use venture_net::carrier::simnet::{LinkConfig, SimNet};
//! use venture_net::client::{ClientConfig, ClientSession, Phase};
//! use venture_net::driver::{ClientDriver, ServerDriver};
//! use venture_net::server::{SessionConfig, ServerSession};
//! use venture_sim::{PlayerInput, SimConfig, World};
//!
//! let net = SimNet::new(12345);
//! net.set_default_link(LinkConfig::latency(Duration::from_millis(20))).unwrap();
//! let epoch = net.now();
//! let world = World::new(&SimConfig::default()).unwrap();
//! let session = ServerSession::new(world, SessionConfig::default(), [7; 16], Duration::ZERO);
//! let mut server = ServerDriver::new(net.bind_any().unwrap(), session, epoch);
//! let server_addr = server.carrier().addr();
//! let client = ClientSession::new(ClientConfig::new("ada"), server_addr, Duration::ZERO);
//! let mut client = ClientDriver::new(net.bind_any().unwrap(), client, epoch);
//! for _ in 0..200 {
//!     net.advance(Duration::from_millis(10));
//!     server.pump(net.now());
//!     client.pump(net.now(), &mut |_, _| PlayerInput::default());
//! }
//! assert!(matches!(client.session.phase(), Phase::Playing));
//! ```
//!
//! With real sockets, use [`carrier::udp::UdpCarrier`] (and [`carrier::stream`]) instead
//! of the `SimSocket`, register them with a mio `Poll`, and pump with `Instant::now()`.
//!
//! Everything here treats bytes from the network as hostile: decoders return typed
//! errors and every buffer is bounded.

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
