//! venture-net: Venture's network layer below the game sessions.
//!
//! - [`transport`]: laminar's `DatagramSocket` over a non-blocking mio UDP socket
//!   ([`transport::udp`]) and over an in-memory, seeded, virtual-clock network
//!   ([`transport::simnet`]), plus our laminar [`Config`](laminar::Config).
//! - [`protocol`]: the versioned wire messages and their bounded codec.
//! - [`secure`]: the secure datagram layer beneath laminar (stateless cookies, Noise NK
//!   handshake, sealed datagrams with a replay window, server key pinning).
//! - [`cookie`]: stateless admission cookies.
//! - [`chunk`]: snapshot chunking and bounded reassembly.
//! - [`standby`]: what a primary and its hot standby share (follower key, proofs, claims).
//! - [`window`]: redundancy windows for per-tick data sent unreliably.
//!
//! # Example: a datagram over the simulated network
//!
//! ```
//! use std::time::Duration;
//! use laminar::SocketEvent;
//! use venture_net::protocol::{decode, encode_bounded, Message};
//! use venture_net::transport::simnet::{LinkConfig, SimNet};
//! use venture_net::transport::{laminar_config, Endpoint};
//!
//! let net = SimNet::new(12345);
//! net.set_default_link(LinkConfig::latency(Duration::from_millis(100))).unwrap();
//! let mut server = Endpoint::new(net.bind_any().unwrap(), laminar_config());
//! let mut client = Endpoint::new(net.bind_any().unwrap(), laminar_config());
//!
//! let hello = encode_bounded(&Message::hello(1)).unwrap();
//! client.send_unreliable(server.socket().addr(), hello);
//! client.poll(net.now()); // queued packets leave only at the next poll
//! net.advance(Duration::from_millis(100));
//! server.poll(net.now());
//! match server.recv() {
//!     Some(SocketEvent::Packet(p)) => {
//!         assert!(matches!(decode(p.payload()).unwrap(), Message::Hello { .. }))
//!     }
//!     other => panic!("{other:?}"),
//! }
//! ```
//!
//! With real UDP, use [`transport::udp::MioUdpSocket`] instead of the `SimSocket`,
//! register it with a mio `Poll`, and pass `Instant::now()` to [`transport::Endpoint::poll`].
//!
//! Server and client sessions are built on top of these. Everything here treats bytes
//! from the network as hostile: decoders return typed errors and every buffer is bounded.

#![forbid(unsafe_code)]

pub mod chat;
pub mod chunk;
pub mod client;
pub mod compact;
pub mod cookie;
pub mod driver;
pub mod protocol;
pub mod secure;
pub mod server;
pub mod standby;
#[cfg(test)]
mod test_frames;
pub mod transport;
pub mod window;
