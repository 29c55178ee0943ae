//! Carriers: what moves the secure layer's packets between two hosts, and nothing else.
//!
//! A [`Carrier`] takes whole packets (each one secure-layer packet, as
//! [`crate::secure::wire`] defines them) to and from [`Remote`]s. It does not look inside
//! them, retry them, or order them: the secure endpoint above it admits and opens, and
//! the sessions above that own acks, redundancy and pacing. The carriers:
//! - UDP ([`udp`]): one datagram per packet on a non-blocking mio UDP socket;
//! - TCP and WebSocket ([`stream`]): after the 8-byte preamble ([`framing`]) each packet
//!   behind a 2-byte length, or one binary message per packet, on the game port's TCP
//!   listener, with a bounded send queue per connection;
//! - the simulated network (`simnet`, behind the crate's `simnet` feature: tests and
//!   benches only): an in-memory network with a virtual clock, whose links are datagram
//!   links or ordered byte streams with head-of-line blocking.
//!
//! Beside them: [`socks5`], the SOCKS5 client handshake the stream client speaks to a
//! proxy (Tor), and [`client`], the client's carrier that races UDP and TCP and
//! reconnects a broken stream.
//!
//! Datagram carriers lose and reorder; stream carriers do neither but stall. The protocol
//! above works over both: on a stream its redundancy costs a few bytes and nothing else.

#[cfg(not(target_arch = "wasm32"))]
pub mod client;
pub mod framing;
#[cfg(not(target_arch = "wasm32"))]
pub mod socks5;
#[cfg(not(target_arch = "wasm32"))]
pub mod stream;
#[cfg(not(target_arch = "wasm32"))]
pub mod udp;

#[cfg(not(target_arch = "wasm32"))]
#[cfg(feature = "simnet")]
pub mod simnet;

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// Which kind of carrier a packet came by (the `carrier` label of the per-carrier
/// metrics; `/status` shows it per player).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CarrierKind {
    Udp,
    Tcp,
    WebSocket,
}

impl CarrierKind {
    pub const ALL: [CarrierKind; 3] = [CarrierKind::Udp, CarrierKind::Tcp, CarrierKind::WebSocket];

    pub fn as_str(self) -> &'static str {
        match self {
            CarrierKind::Udp => "udp",
            CarrierKind::Tcp => "tcp",
            CarrierKind::WebSocket => "ws",
        }
    }

    /// Whether the carrier is an ordered byte stream: it proves the peer's address by
    /// its connection (so the endpoint needs no stateless cookie) and never loses.
    pub fn is_stream(self) -> bool {
        !matches!(self, CarrierKind::Udp)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for CarrierKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The other end of a packet: its address and the carrier it came by. A UDP peer and a
/// TCP connection from the same `ip:port` are different remotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Remote {
    pub carrier: CarrierKind,
    pub addr: SocketAddr,
}

impl Remote {
    pub fn udp(addr: SocketAddr) -> Remote {
        Remote {
            carrier: CarrierKind::Udp,
            addr,
        }
    }

    pub fn new(carrier: CarrierKind, addr: SocketAddr) -> Remote {
        Remote { carrier, addr }
    }

    pub fn ip(&self) -> std::net::IpAddr {
        self.addr.ip()
    }
}

impl From<SocketAddr> for Remote {
    /// A datagram peer (what the sessions were driven with before carriers).
    fn from(addr: SocketAddr) -> Remote {
        Remote::udp(addr)
    }
}

/// The address alone, as logs and `/status` always showed it (the carrier is a field of
/// its own there).
impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.addr.fmt(f)
    }
}

/// Counters a carrier keeps, wire bytes included (for streams: framing too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CarrierStats {
    pub packets_in: u64,
    pub bytes_in: u64,
    pub packets_out: u64,
    pub bytes_out: u64,
    /// Incoming packets discarded as larger than any packet of ours.
    pub oversize_in: u64,
    /// Outgoing packets dropped (a full send buffer or queue, or refused by the simulated
    /// network).
    pub dropped_out: u64,
    /// Transient receive errors skipped (e.g. ICMP port unreachable reported on recv).
    pub recv_errors: u64,
    /// Stream connections closed: by the peer, a framing error, a stalled reader, or the
    /// endpoint.
    pub closed: u64,
}

impl CarrierStats {
    pub fn add(&mut self, o: &CarrierStats) {
        self.packets_in += o.packets_in;
        self.bytes_in += o.bytes_in;
        self.packets_out += o.packets_out;
        self.bytes_out += o.bytes_out;
        self.oversize_in += o.oversize_in;
        self.dropped_out += o.dropped_out;
        self.recv_errors += o.recv_errors;
        self.closed += o.closed;
    }
}

/// Packets in and out, to and from remotes. Non-blocking: `recv` returns `None` when
/// nothing is ready now.
pub trait Carrier {
    /// The next received packet, copied into `buf` (at least
    /// [`crate::secure::wire::MAX_WIRE_DATAGRAM`] bytes).
    fn recv(&mut self, buf: &mut [u8]) -> Option<(usize, Remote)>;
    /// Sends one packet, best effort (a datagram can be lost; a stream queues it within
    /// its bound, else drops it).
    fn send(&mut self, to: Remote, packet: &[u8]);
    /// A stream connection that ended (the peer closed it, its framing broke, or its
    /// reader stalled past the bound): the endpoint forgets its session at once.
    fn poll_closed(&mut self) -> Option<Remote> {
        None
    }
    /// Ends the connection to `remote` (its session is gone). Datagram carriers have
    /// nothing to close.
    fn close(&mut self, _remote: Remote) {}
    /// Counters per carrier kind (wire bytes, framing included).
    fn stats(&self, kind: CarrierKind) -> CarrierStats;
    /// The secure endpoint completed `remote`'s handshake (a stream's handshake deadline
    /// is met).
    fn note_established(&mut self, _remote: Remote) {}
    /// Timers and pending I/O (stream deadlines, connecting), on the driver's clock.
    fn poll(&mut self, _now: Duration) {}
    /// Whether the last `recv` stopped at a read cap with data possibly left: poll again
    /// soon, without waiting for a readiness event (mio's are edge-triggered).
    fn take_pending(&mut self) -> bool {
        false
    }
}

/// Two carriers as one (the server's UDP socket and its stream connections). Packets to
/// a remote go to whichever carries its kind; receiving alternates so neither starves
/// the other.
#[derive(Debug)]
pub struct Both<A, B> {
    pub first: A,
    pub second: B,
    turn: bool,
    first_kinds: &'static [CarrierKind],
}

impl<A: Carrier, B: Carrier> Both<A, B> {
    /// `first_kinds` are the kinds `first` carries; every other kind goes to `second`.
    pub fn new(first: A, first_kinds: &'static [CarrierKind], second: B) -> Self {
        Both {
            first,
            second,
            turn: false,
            first_kinds,
        }
    }

    fn first_carries(&self, kind: CarrierKind) -> bool {
        self.first_kinds.contains(&kind)
    }
}

impl<A: Carrier, B: Carrier> Carrier for Both<A, B> {
    fn recv(&mut self, buf: &mut [u8]) -> Option<(usize, Remote)> {
        self.turn = !self.turn;
        if self.turn {
            self.first.recv(buf).or_else(|| self.second.recv(buf))
        } else {
            self.second.recv(buf).or_else(|| self.first.recv(buf))
        }
    }

    fn send(&mut self, to: Remote, packet: &[u8]) {
        if self.first_carries(to.carrier) {
            self.first.send(to, packet)
        } else {
            self.second.send(to, packet)
        }
    }

    fn poll_closed(&mut self) -> Option<Remote> {
        self.first
            .poll_closed()
            .or_else(|| self.second.poll_closed())
    }

    fn close(&mut self, remote: Remote) {
        if self.first_carries(remote.carrier) {
            self.first.close(remote)
        } else {
            self.second.close(remote)
        }
    }

    fn stats(&self, kind: CarrierKind) -> CarrierStats {
        if self.first_carries(kind) {
            self.first.stats(kind)
        } else {
            self.second.stats(kind)
        }
    }

    fn note_established(&mut self, remote: Remote) {
        if self.first_carries(remote.carrier) {
            self.first.note_established(remote)
        } else {
            self.second.note_established(remote)
        }
    }

    fn poll(&mut self, now: Duration) {
        self.first.poll(now);
        self.second.poll(now);
    }

    fn take_pending(&mut self) -> bool {
        // Both asked: each clears its own flag.
        let a = self.first.take_pending();
        let b = self.second.take_pending();
        a || b
    }
}
