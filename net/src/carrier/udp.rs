//! The UDP carrier: one packet per datagram on a non-blocking [`mio::net::UdpSocket`].
//!
//! Register the socket with a mio `Poll` (readable interest) and read until `recv`
//! returns `None`, which mio's edge-triggered readiness requires. Defensive:
//! - datagrams larger than any packet of ours are discarded (and counted), never cut;
//! - transient receive errors (ICMP unreachable, `Interrupted`) are skipped, not allowed
//!   to end the read early;
//! - a full send buffer drops the datagram (counted), like loss on the wire;
//! - at most `max_reads_per_poll` datagrams are read before `recv` says `None` with
//!   [`Carrier::take_pending`] set, so a flood cannot starve the loop.
//!
//! Admission is not this carrier's job: the secure endpoint above it drops anything that
//! is not a handshake or a sealed packet of a session it holds.

use std::io::{self, ErrorKind};
use std::net::SocketAddr;

use mio::{Interest, Registry, Token};

use super::{Carrier, CarrierKind, CarrierStats, Remote};

/// Default cap on datagrams read before `recv` yields.
pub const DEFAULT_MAX_READS_PER_POLL: usize = 1024;
/// Larger than any UDP payload we could be sent over IPv4/IPv6 without jumbograms.
const SCRATCH_LEN: usize = 65_536;
/// Transient errors skipped in a row before giving up on this read.
const MAX_TRANSIENT_ERRORS: usize = 64;

/// A non-blocking mio UDP socket as a [`Carrier`].
#[derive(Debug)]
pub struct UdpCarrier {
    socket: mio::net::UdpSocket,
    scratch: Vec<u8>,
    stats: CarrierStats,
    max_reads_per_poll: usize,
    reads: usize,
    pending: bool,
}

impl UdpCarrier {
    /// Binds a non-blocking UDP socket (use port 0 for any free port).
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        Ok(Self::from_mio(mio::net::UdpSocket::bind(addr)?))
    }

    /// Wraps an existing mio socket (mio sockets are always non-blocking).
    pub fn from_mio(socket: mio::net::UdpSocket) -> Self {
        UdpCarrier {
            socket,
            scratch: vec![0; SCRATCH_LEN],
            stats: CarrierStats::default(),
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

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The socket's own counters.
    pub fn udp_stats(&self) -> CarrierStats {
        self.stats
    }

    pub fn inner(&self) -> &mio::net::UdpSocket {
        &self.socket
    }
}

impl Carrier for UdpCarrier {
    fn recv(&mut self, buf: &mut [u8]) -> Option<(usize, Remote)> {
        if self.reads >= self.max_reads_per_poll {
            self.reads = 0;
            self.pending = true;
            return None;
        }
        let mut transient = 0;
        loop {
            match self.socket.recv_from(&mut self.scratch) {
                Ok((n, from)) => {
                    self.reads += 1;
                    if n > buf.len() {
                        self.stats.oversize_in += 1;
                        continue;
                    }
                    self.stats.packets_in += 1;
                    self.stats.bytes_in += n as u64;
                    buf[..n].copy_from_slice(&self.scratch[..n]);
                    return Some((n, Remote::udp(from)));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.reads = 0;
                    return None;
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
                Err(_) => {
                    // Unknown trouble: yield, and have the loop come back soon.
                    self.stats.recv_errors += 1;
                    self.reads = 0;
                    self.pending = true;
                    return None;
                }
            }
        }
    }

    fn send(&mut self, to: Remote, packet: &[u8]) {
        match self.socket.send_to(packet, to.addr) {
            Ok(n) => {
                self.stats.packets_out += 1;
                self.stats.bytes_out += n as u64;
            }
            // A full buffer, or an unreachable address: lost, like any datagram.
            Err(_) => self.stats.dropped_out += 1,
        }
    }

    fn stats(&self, kind: CarrierKind) -> CarrierStats {
        match kind {
            CarrierKind::Udp => self.stats,
            _ => CarrierStats::default(),
        }
    }

    fn take_pending(&mut self) -> bool {
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn loopback() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }

    fn recv_within(c: &mut UdpCarrier, want: usize) -> Vec<(Vec<u8>, Remote)> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut got = Vec::new();
        let mut buf = [0u8; 2048];
        while got.len() < want && Instant::now() < deadline {
            match c.recv(&mut buf) {
                Some((n, from)) => got.push((buf[..n].to_vec(), from)),
                None => std::thread::sleep(Duration::from_millis(2)),
            }
        }
        got
    }

    #[test]
    fn two_real_sockets_exchange_packets() {
        let mut a = UdpCarrier::bind(loopback()).expect("bind");
        let mut b = UdpCarrier::bind(loopback()).expect("bind");
        let (aa, ba) = (a.local_addr().expect("addr"), b.local_addr().expect("addr"));
        a.send(Remote::udp(ba), b"ping");
        let got = recv_within(&mut b, 1);
        assert_eq!(got, vec![(b"ping".to_vec(), Remote::udp(aa))]);
        b.send(got[0].1, b"pong");
        assert_eq!(recv_within(&mut a, 1)[0].0, b"pong");
        assert_eq!(a.stats(CarrierKind::Udp).packets_out, 1);
        assert_eq!(b.stats(CarrierKind::Udp).bytes_in, 4);
        assert_eq!(b.stats(CarrierKind::Tcp), CarrierStats::default());
    }

    #[test]
    fn oversize_datagrams_are_discarded_and_reads_are_capped() {
        let mut c = UdpCarrier::bind(loopback()).expect("bind");
        c.set_max_reads_per_poll(3);
        let to = c.local_addr().expect("addr");
        let raw = std::net::UdpSocket::bind(loopback()).expect("bind");
        raw.send_to(&[0u8; 4000], to).expect("send");
        for _ in 0..5 {
            raw.send_to(&[1u8; 8], to).expect("send");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut pending_seen = false;
        let mut buf = [0u8; 2048];
        while c.udp_stats().packets_in + c.udp_stats().oversize_in < 6 && Instant::now() < deadline
        {
            while c.recv(&mut buf).is_some() {}
            pending_seen |= c.take_pending();
            std::thread::sleep(Duration::from_millis(2));
        }
        let s = c.udp_stats();
        assert_eq!(s.oversize_in, 1);
        assert_eq!(s.packets_in, 5);
        assert!(pending_seen);
    }
}
