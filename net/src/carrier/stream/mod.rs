//! Stream carriers: TCP (length-prefixed frames after the preamble) and WebSocket (one
//! binary message per packet), on mio TCP streams.
//!
//! - [`Link`]: one connection's reading and writing, either wire. Reading takes only what
//!   completes the next frame and stops at [`MAX_INBOUND`] packets waiting, so a fast
//!   sender is held back by TCP itself, not by our memory. Writing queues up to
//!   [`SEND_QUEUE_LIMIT`] bytes; past that a packet is dropped (as UDP would lose it: the
//!   sessions' redundancy copies are the first to go, and they are resent anyway), and a
//!   queue that stays full for [`STALL_LIMIT`] closes the connection. A slow reader costs
//!   the server a bounded amount of memory and then its connection.
//! - [`StreamTable`]: the server's connections, handed over by the HTTP server once their
//!   first bytes were the preamble or a WebSocket upgrade of `/play`; the table's
//!   deadlines close a connection that has not completed the secure handshake within
//!   [`HANDSHAKE_DEADLINE`] or has been silent for [`IDLE_LIMIT`].
//! - [`StreamClient`]: the client's one connection, through an optional SOCKS5 proxy,
//!   connected without blocking (its states advance on every call).
//!
//! Files: this one holds the limits and [`websocket_accept`]; `link.rs` the [`Link`],
//! `table.rs` the [`StreamTable`], `client.rs` the [`StreamClient`], `tests.rs` the unit
//! tests.

use std::collections::{HashMap, VecDeque};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Message, WebSocket};

use super::framing::{self, Decoder, MAX_FRAME, PREAMBLE};
use super::socks5;
use super::{Carrier, CarrierKind, CarrierStats, Remote};

mod client;
mod link;
mod table;
#[cfg(test)]
mod tests;

pub use client::{StreamClient, StreamTarget};
use link::{ws_config, Wire};
pub use link::{Ended, Link};
pub use table::StreamTable;

/// Bytes queued for one connection before packets are dropped.
pub const SEND_QUEUE_LIMIT: usize = 64 * 1024;
/// A connection whose queue stays full this long is closed.
pub const STALL_LIMIT: Duration = Duration::from_secs(10);
/// Packets read from one connection and not yet taken by the endpoint before reading it
/// pauses.
pub const MAX_INBOUND: usize = 64;
/// A server connection must complete the secure handshake within this (a 5 s round trip
/// needs two of them, plus Tor's circuit).
pub const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(30);
/// A connection silent this long is closed (the sessions ping every 500 ms).
pub const IDLE_LIMIT: Duration = Duration::from_secs(30);
/// Connecting (and the proxy's and WebSocket's handshakes) must be done within this.
pub const CONNECT_DEADLINE: Duration = Duration::from_secs(20);

/// Whether a `GET /play` request's headers ask for a WebSocket we speak (RFC 6455:
/// `Upgrade: websocket`, `Connection` naming `upgrade`, version 13, a key), and if so the
/// `Sec-WebSocket-Accept` to answer with.
pub fn websocket_accept(header: &dyn Fn(&str) -> Option<String>) -> Result<String, &'static str> {
    let has_token = |name: &str, token: &str| {
        header(name).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if !has_token("upgrade", "websocket") || !has_token("connection", "upgrade") {
        return Err("a WebSocket upgrade is required");
    }
    if header("sec-websocket-version").as_deref().map(str::trim) != Some("13") {
        return Err("WebSocket version 13 is required");
    }
    let key = header("sec-websocket-key").ok_or("Sec-WebSocket-Key is missing")?;
    Ok(tungstenite::handshake::derive_accept_key(
        key.trim().as_bytes(),
    ))
}
