//! Datagram transports under laminar.
//!
//! laminar's [`ConnectionManager`] is generic over a [`DatagramSocket`]; we provide two:
//! - [`udp::MioUdpSocket`]: a real non-blocking UDP socket driven by a single-threaded
//!   mio loop (register it, and call [`Endpoint::poll`] after readiness events and on
//!   every tick).
//! - [`simnet::SimSocket`]: an in-memory simulated network with a virtual clock, seeded
//!   latency, jitter, loss, duplication and reordering, for reproducible tests.
//!
//! [`laminar_config`] is our laminar configuration, and [`Endpoint`] is a thin wrapper
//! over a `ConnectionManager<S, VirtualConnection>` with the queue/poll/receive calls a
//! session needs. Remember laminar's measured behaviour (DESIGN.md): queued packets leave
//! only at the next poll, acks ride only on reliable packets, and every datagram from an
//! unknown address creates connection state, so admission is our protocol's job.

pub mod simnet;
pub mod udp;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use laminar::{Config, ConnectionManager, DatagramSocket, Packet, SocketEvent, VirtualConnection};

use crate::protocol::MAX_DATAGRAM;

/// laminar's largest header (standard 5 + acknowledgement 8 + arranging 3 + fragment 4).
pub const LAMINAR_MAX_HEADER: usize = 20;
/// Receive buffer: one of our datagrams plus laminar's header, with slack. laminar also
/// refuses to send unreliable payloads larger than this.
pub const RECEIVE_BUFFER: usize = MAX_DATAGRAM + LAMINAR_MAX_HEADER + 60;
/// How often laminar sends a heartbeat on an otherwise idle established connection.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
/// A connection silent for this long is dropped (laminar emits `Timeout`/`Disconnect`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Cap on connections laminar keeps before they are established (each costs about 40 KiB
/// with the vendored laminar, 1.8 MB in laminar 0.5.0 as published: vendor/laminar/
/// PATCHES.md; answered strangers are bounded separately by the server session).
pub const MAX_UNESTABLISHED: u16 = 4;
/// Reliable packets in flight before laminar drops the connection.
pub const MAX_RELIABLE_IN_FLIGHT: u16 = 256;

/// Our laminar configuration: non-blocking, 1 s heartbeats, 10 s idle timeout, payloads
/// capped at [`MAX_DATAGRAM`] with no fragmentation (a reliable payload above it fails
/// to send, and laminar logs that), a bounded unestablished-connection table.
pub fn laminar_config() -> Config {
    Config {
        blocking_mode: false,
        idle_connection_timeout: IDLE_TIMEOUT,
        heartbeat_interval: Some(HEARTBEAT_INTERVAL),
        max_packet_size: MAX_DATAGRAM,
        max_fragments: 1,
        // MAX_DATAGRAM (1200) fits in u16.
        fragment_size: MAX_DATAGRAM as u16,
        fragment_reassembly_buffer_size: 16,
        receive_buffer_max_size: RECEIVE_BUFFER,
        max_packets_in_flight: MAX_RELIABLE_IN_FLIGHT,
        max_unestablished_connections: MAX_UNESTABLISHED,
        socket_polling_timeout: None,
        ..Config::default()
    }
}

/// Counters kept by our sockets (laminar itself only logs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketStats {
    pub datagrams_in: u64,
    pub bytes_in: u64,
    pub datagrams_out: u64,
    pub bytes_out: u64,
    /// Incoming datagrams discarded because they exceeded the receive buffer.
    pub oversize_in: u64,
    /// Outgoing datagrams dropped (send buffer full, or refused by the simulated network).
    pub dropped_out: u64,
    /// Transient receive errors skipped (e.g. ICMP port unreachable reported on recv).
    pub recv_errors: u64,
}

/// A laminar connection manager on socket `S`, with the calls a session needs.
#[derive(Debug)]
pub struct Endpoint<S: DatagramSocket> {
    manager: ConnectionManager<S, VirtualConnection>,
}

impl<S: DatagramSocket> Endpoint<S> {
    /// Wraps `socket` with `config` (normally [`laminar_config`]).
    pub fn new(socket: S, config: Config) -> Self {
        Endpoint {
            manager: ConnectionManager::new(socket, config),
        }
    }

    /// Queues a packet; it leaves at the next [`poll`](Self::poll).
    pub fn send(&self, packet: Packet) {
        // The receiver lives inside `self.manager`, so the unbounded channel cannot be
        // disconnected while we hold `self`; a send error is therefore impossible.
        let _ = self.manager.event_sender().send(packet);
    }

    /// Queues an unreliable datagram to `addr`.
    pub fn send_unreliable(&self, addr: SocketAddr, payload: Vec<u8>) {
        self.send(Packet::unreliable(addr, payload));
    }

    /// Queues a reliable, unordered datagram to `addr` (use sparingly: see DESIGN.md).
    pub fn send_reliable(&self, addr: SocketAddr, payload: Vec<u8>) {
        self.send(Packet::reliable_unordered(addr, payload));
    }

    /// Reads everything the socket has, sends everything queued, runs heartbeats, resends
    /// and timeouts. Call after readiness events, after queueing, and on every tick.
    pub fn poll(&mut self, now: Instant) {
        self.manager.manual_poll(now);
    }

    /// The next event produced by earlier polls.
    pub fn recv(&self) -> Option<SocketEvent> {
        self.manager.event_receiver().try_recv().ok()
    }

    /// All pending events.
    pub fn drain(&self) -> Vec<SocketEvent> {
        self.manager.event_receiver().try_iter().collect()
    }

    pub fn socket(&self) -> &S {
        self.manager.socket()
    }

    pub fn socket_mut(&mut self) -> &mut S {
        self.manager.socket_mut()
    }

    /// The underlying laminar manager.
    pub fn manager_mut(&mut self) -> &mut ConnectionManager<S, VirtualConnection> {
        &mut self.manager
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_sane() {
        let c = laminar_config();
        assert!(!c.blocking_mode);
        assert_eq!(c.heartbeat_interval, Some(Duration::from_secs(1)));
        assert_eq!(c.idle_connection_timeout, Duration::from_secs(10));
        assert!(c.max_packet_size <= 1200);
        assert!(c.receive_buffer_max_size >= MAX_DATAGRAM + LAMINAR_MAX_HEADER);
        assert!(c.max_unestablished_connections > 0 && c.max_unestablished_connections <= 64);
    }
}
