//! laminar's [`DatagramSocket`] over a non-blocking [`mio::net::UdpSocket`].
//!
//! Register the socket with a mio `Poll` (readable interest) and call
//! [`Endpoint::poll`](super::Endpoint::poll) after each readiness event and on every tick.
//! laminar reads until the socket reports `WouldBlock`, which mio's edge-triggered
//! readiness requires. Differences from laminar's own socket:
//! - datagrams larger than laminar's buffer are discarded (and counted) instead of being
//!   silently truncated;
//! - transient receive errors (ICMP unreachable, `Interrupted`) are skipped, not allowed
//!   to end the read loop early;
//! - a full send buffer drops the datagram (counted) instead of logging an error;
//! - at most `max_reads_per_poll` datagrams are read per poll so a flood cannot starve the
//!   loop; [`MioUdpSocket::take_pending`] then says to poll again without waiting for a
//!   readiness event (which edge-triggered mio would not repeat).
//!
//! Admission is not this socket's job: the secure layer (`crate::secure`) sits between it
//! and laminar, so laminar only sees peers that completed a handshake.

use std::io::{self, ErrorKind};
use std::net::SocketAddr;

use laminar::DatagramSocket;
use mio::{Interest, Registry, Token};

use super::SocketStats;

/// Default cap on datagrams read in one laminar poll.
pub const DEFAULT_MAX_READS_PER_POLL: usize = 1024;
/// Larger than any UDP payload we could be sent over IPv4/IPv6 without jumbograms.
const SCRATCH_LEN: usize = 65_536;
/// Transient errors skipped in a row before giving up on this poll.
const MAX_TRANSIENT_ERRORS: usize = 64;

/// A non-blocking mio UDP socket usable as a laminar [`DatagramSocket`].
#[derive(Debug)]
pub struct MioUdpSocket {
    socket: mio::net::UdpSocket,
    scratch: Vec<u8>,
    stats: SocketStats,
    max_reads_per_poll: usize,
    reads: usize,
    pending: bool,
}

impl MioUdpSocket {
    /// Binds a non-blocking UDP socket (use port 0 for any free port).
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        Ok(Self::from_mio(mio::net::UdpSocket::bind(addr)?))
    }

    /// Wraps an existing mio socket (mio sockets are always non-blocking).
    pub fn from_mio(socket: mio::net::UdpSocket) -> Self {
        MioUdpSocket {
            socket,
            scratch: vec![0; SCRATCH_LEN],
            stats: SocketStats::default(),
            max_reads_per_poll: DEFAULT_MAX_READS_PER_POLL,
            reads: 0,
            pending: false,
        }
    }

    /// Registers for readable events under `token`.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(&mut self.socket, token, Interest::READABLE)
    }

    /// Removes the socket from `registry`.
    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        registry.deregister(&mut self.socket)
    }

    /// Sets the per-poll read cap (at least 1).
    pub fn set_max_reads_per_poll(&mut self, n: usize) {
        self.max_reads_per_poll = n.max(1);
    }

    /// Whether the last poll stopped at the read cap with data possibly left; clears it.
    /// When true, poll again soon: no new readiness event will come for that data.
    pub fn take_pending(&mut self) -> bool {
        std::mem::take(&mut self.pending)
    }

    pub fn stats(&self) -> SocketStats {
        self.stats
    }

    pub fn inner(&self) -> &mio::net::UdpSocket {
        &self.socket
    }
}

impl DatagramSocket for MioUdpSocket {
    fn send_packet(&mut self, addr: &SocketAddr, payload: &[u8]) -> io::Result<usize> {
        match self.socket.send_to(payload, *addr) {
            Ok(n) => {
                self.stats.datagrams_out += 1;
                self.stats.bytes_out += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                self.stats.dropped_out += 1;
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    fn receive_packet<'a>(&mut self, buffer: &'a mut [u8]) -> io::Result<(&'a [u8], SocketAddr)> {
        if self.reads >= self.max_reads_per_poll {
            self.reads = 0;
            self.pending = true;
            return Err(ErrorKind::WouldBlock.into());
        }
        let mut transient = 0;
        loop {
            match self.socket.recv_from(&mut self.scratch) {
                Ok((n, from)) => {
                    self.reads += 1;
                    if n > buffer.len() {
                        self.stats.oversize_in += 1;
                        continue;
                    }
                    self.stats.datagrams_in += 1;
                    self.stats.bytes_in += n as u64;
                    buffer[..n].copy_from_slice(&self.scratch[..n]);
                    return Ok((&buffer[..n], from));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.reads = 0;
                    return Err(e);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::Interrupted
                            | ErrorKind::ConnectionRefused
                            | ErrorKind::ConnectionReset
                    ) && transient < MAX_TRANSIENT_ERRORS =>
                {
                    transient += 1;
                    self.stats.recv_errors += 1;
                }
                Err(e) => {
                    self.reads = 0;
                    self.pending = true;
                    return Err(e);
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    fn is_blocking_mode(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use laminar::{DeliveryGuarantee, SocketEvent};
    use mio::{Events, Poll};

    use super::super::{laminar_config, Endpoint};
    use super::*;

    fn loopback() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }

    #[test]
    fn two_real_sockets_exchange_unreliable_and_reliable() {
        let mut poll = Poll::new().expect("mio poll");
        let mut events = Events::with_capacity(64);
        let mut server = Endpoint::new(
            MioUdpSocket::bind(loopback()).expect("bind"),
            laminar_config(),
        );
        let mut client = Endpoint::new(
            MioUdpSocket::bind(loopback()).expect("bind"),
            laminar_config(),
        );
        server
            .socket_mut()
            .register(poll.registry(), Token(0))
            .expect("register");
        client
            .socket_mut()
            .register(poll.registry(), Token(1))
            .expect("register");
        let saddr = server.socket().local_addr().expect("addr");
        let caddr = client.socket().local_addr().expect("addr");

        client.send_unreliable(saddr, b"hello-u".to_vec());
        client.send_reliable(saddr, b"hello-r".to_vec());
        client.poll(Instant::now());

        let deadline = Instant::now() + Duration::from_secs(5);
        let mut server_got = Vec::new();
        let mut client_got = Vec::new();
        let mut server_connect = false;
        while (server_got.len() < 2 || client_got.len() < 2) && Instant::now() < deadline {
            poll.poll(&mut events, Some(Duration::from_millis(20)))
                .expect("poll");
            let now = Instant::now();
            server.poll(now);
            for ev in server.drain() {
                match ev {
                    SocketEvent::Packet(p) => {
                        assert_eq!(p.addr(), caddr);
                        server_got.push((p.payload().to_vec(), p.delivery_guarantee()));
                        // Answer each packet in kind.
                        let reply = [b"re:".as_slice(), p.payload()].concat();
                        match p.delivery_guarantee() {
                            DeliveryGuarantee::Reliable => server.send_reliable(caddr, reply),
                            DeliveryGuarantee::Unreliable => server.send_unreliable(caddr, reply),
                        }
                    }
                    SocketEvent::Connect(a) => {
                        assert_eq!(a, caddr);
                        server_connect = true;
                    }
                    _ => {}
                }
            }
            server.poll(now);
            client.poll(now);
            for ev in client.drain() {
                if let SocketEvent::Packet(p) = ev {
                    client_got.push(p.payload().to_vec());
                }
            }
        }
        server_got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            server_got,
            vec![
                (b"hello-r".to_vec(), DeliveryGuarantee::Reliable),
                (b"hello-u".to_vec(), DeliveryGuarantee::Unreliable),
            ]
        );
        client_got.sort();
        assert_eq!(
            client_got,
            vec![b"re:hello-r".to_vec(), b"re:hello-u".to_vec()]
        );
        // The server's connection becomes established when it first sends (its reply).
        server_connect |= server.drain().contains(&SocketEvent::Connect(caddr));
        assert!(server_connect);
        assert!(server.socket().stats().datagrams_in >= 2);
        assert!(client.socket().stats().datagrams_out >= 2);
    }

    #[test]
    fn oversize_datagrams_are_discarded_and_reads_are_capped() {
        let mut ep = Endpoint::new(
            MioUdpSocket::bind(loopback()).expect("bind"),
            laminar_config(),
        );
        ep.socket_mut().set_max_reads_per_poll(3);
        let to = ep.socket().local_addr().expect("addr");
        let raw = std::net::UdpSocket::bind(loopback()).expect("bind");
        raw.send_to(&[0u8; 4000], to).expect("send");
        for _ in 0..5 {
            raw.send_to(&[1u8; 8], to).expect("send");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut pending_seen = false;
        while ep.socket().stats().datagrams_in + ep.socket().stats().oversize_in < 6
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
            ep.poll(Instant::now());
            pending_seen |= ep.socket_mut().take_pending();
            ep.drain();
        }
        let s = ep.socket().stats();
        assert_eq!(s.oversize_in, 1);
        assert_eq!(s.datagrams_in, 5);
        assert!(pending_seen);
    }
}
