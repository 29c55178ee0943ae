//! venture-net: Venture's network layer below the game sessions.
//!
//! - [`transport`]: laminar's `DatagramSocket` over a non-blocking mio UDP socket
//!   ([`transport::udp`]) and over an in-memory, seeded, virtual-clock network
//!   ([`transport::simnet`]), plus our laminar [`Config`](laminar::Config).
//! - [`protocol`]: the versioned wire messages and their bounded codec.
//! - [`cookie`]: stateless admission cookies.
//! - [`chunk`]: snapshot chunking and bounded reassembly.
//! - [`window`]: redundancy windows for per-tick data sent unreliably.
//!
//! Server and client sessions are built on top of these. Everything here treats bytes
//! from the network as hostile: decoders return typed errors and every buffer is bounded.

pub mod chunk;
pub mod cookie;
pub mod protocol;
pub mod transport;
pub mod window;
pub mod server;
