//! [`SimSocket`]: a [`Carrier`] bound on a [`SimNet`] address; receives what is due on
//! the virtual clock, and unbinds when dropped.

use super::*;

/// A socket on a [`SimNet`]; unbinds when dropped.
#[derive(Debug)]
pub struct SimSocket {
    pub(super) net: SimNet,
    pub(super) addr: SocketAddr,
    pub(super) stats: CarrierStats,
}

impl SimSocket {
    pub fn net(&self) -> &SimNet {
        &self.net
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// This socket's counters (whatever the kind of its links).
    pub fn socket_stats(&self) -> CarrierStats {
        self.stats
    }

    /// Whether this socket is a stream client.
    pub fn is_stream(&self) -> bool {
        self.net.inner.borrow().streams.contains(&self.addr)
    }
}

impl Drop for SimSocket {
    fn drop(&mut self) {
        // `try_borrow_mut` so a drop during a borrow (a panic mid-call) cannot double-panic.
        if let Ok(mut i) = self.net.inner.try_borrow_mut() {
            i.queues.remove(&self.addr);
            i.streams.remove(&self.addr);
        }
    }
}

impl Carrier for SimSocket {
    fn recv(&mut self, buf: &mut [u8]) -> Option<(usize, Remote)> {
        let mut i = self.net.inner.borrow_mut();
        let now = i.now;
        loop {
            let q = i.queues.get_mut(&self.addr)?;
            if q.first_key_value().is_none_or(|(k, _)| k.0 > now) {
                return None;
            }
            let ((_, from, _), payload) = q.pop_first()?;
            i.stats.delivered += 1;
            if payload.len() > buf.len() {
                self.stats.oversize_in += 1;
                continue;
            }
            self.stats.packets_in += 1;
            // A stream's wire bytes include its 2-byte frame header.
            let stream = i.is_stream(self.addr, from);
            self.stats.bytes_in += payload.len() as u64 + if stream { 2 } else { 0 };
            buf[..payload.len()].copy_from_slice(&payload);
            let kind = if stream {
                CarrierKind::Tcp
            } else {
                CarrierKind::Udp
            };
            return Some((payload.len(), Remote::new(kind, from)));
        }
    }

    fn send(&mut self, to: Remote, packet: &[u8]) {
        let mut i = self.net.inner.borrow_mut();
        let stream = i.is_stream(self.addr, to.addr);
        i.send(self.addr, to.addr, packet);
        self.stats.packets_out += 1;
        self.stats.bytes_out += packet.len() as u64 + if stream { 2 } else { 0 };
    }

    fn stats(&self, _kind: CarrierKind) -> CarrierStats {
        self.stats
    }
}
