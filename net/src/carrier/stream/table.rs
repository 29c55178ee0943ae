//! [`StreamTable`]: the server's stream connections, a mio token each, handed over by
//! the HTTP server; the handshake and idle deadlines.

use super::*;

/// The server's stream connections: a mio token per connection, from `token_base`.
#[derive(Debug)]
pub struct StreamTable {
    base: usize,
    slots: Vec<Option<Link>>,
    pub(super) by_remote: HashMap<Remote, usize>,
    /// Slots with packets waiting, in arrival order (a slot at most once).
    ready: VecDeque<usize>,
    closed: VecDeque<Remote>,
    stats: [CarrierStats; 3],
    now: Duration,
}

impl StreamTable {
    /// At most `capacity` connections, under tokens `token_base .. token_base + capacity`.
    pub fn new(token_base: Token, capacity: usize) -> StreamTable {
        let mut slots = Vec::new();
        slots.resize_with(capacity.max(1), || None);
        StreamTable {
            base: token_base.0,
            slots,
            by_remote: HashMap::new(),
            ready: VecDeque::new(),
            closed: VecDeque::new(),
            stats: [CarrierStats::default(); 3],
            now: Duration::ZERO,
        }
    }

    pub fn owns(&self, token: Token) -> bool {
        token.0 >= self.base && token.0 - self.base < self.slots.len()
    }

    /// Takes over a connection. When every slot is taken a connection that has not
    /// completed its handshake makes room (see [`StreamTable::victim`]), else the
    /// newcomer is closed.
    pub fn adopt(&mut self, registry: &Registry, mut link: Link, now: Duration) -> io::Result<()> {
        self.now = self.now.max(now);
        let slot = match self.slots.iter().position(Option::is_none) {
            Some(s) => s,
            None => {
                let victim = self.victim();
                match victim {
                    Some(v) => {
                        self.remove(registry, v, Ended::Deadline);
                        v
                    }
                    None => {
                        link.end(Ended::Closed);
                        self.stats[link.remote.carrier.index()].closed += 1;
                        return Ok(());
                    }
                }
            }
        };
        registry.register(
            link.source(),
            Token(self.base + slot),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        self.by_remote.insert(link.remote, slot);
        link.read(self.now);
        link.flush();
        if !link.inbound.is_empty() {
            self.ready.push_back(slot);
        }
        self.slots[slot] = Some(link);
        Ok(())
    }

    /// The connection to close for a newcomer when every slot is taken: among those that
    /// have not completed their handshake, the oldest of the address that holds the most
    /// of them. Oldest alone is not enough: one address that reopens its silent
    /// connections as fast as they are closed would then always have newer ones than a
    /// player's still in its handshake, and close it before it completes (a player
    /// behind a slow path, or joining while the server is busy, could never join).
    fn victim(&self) -> Option<usize> {
        let mut pending: HashMap<IpAddr, usize> = HashMap::new();
        for l in self.slots.iter().flatten().filter(|l| !l.established) {
            *pending.entry(l.remote.ip()).or_default() += 1;
        }
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.as_ref().map(|l| (i, l)))
            .filter(|(_, l)| !l.established)
            .max_by_key(|(_, l)| {
                let n = pending.get(&l.remote.ip()).copied().unwrap_or(0);
                (n, std::cmp::Reverse(l.opened_at))
            })
            .map(|(i, _)| i)
    }

    /// A readiness event for one of our tokens.
    pub fn handle_token(&mut self, registry: &Registry, token: Token, now: Duration) {
        if !self.owns(token) {
            return;
        }
        self.now = now;
        let slot = token.0 - self.base;
        let Some(link) = self.slots[slot].as_mut() else {
            return;
        };
        link.flush();
        let had = !link.inbound.is_empty();
        link.read(now);
        if !had && !link.inbound.is_empty() {
            self.ready.push_back(slot);
        }
        if link.ended.is_some() && link.inbound.is_empty() {
            self.remove(registry, slot, Ended::Closed);
        }
    }

    /// Deadlines, and removal (deregistering) of ended links. Call on every loop turn,
    /// after the driver's pump.
    pub fn reap(&mut self, registry: &Registry, now: Duration) {
        self.now = now;
        for slot in 0..self.slots.len() {
            let Some(link) = self.slots[slot].as_mut() else {
                continue;
            };
            link.check(now);
            if link.ended.is_some() {
                self.remove(registry, slot, Ended::Closed);
            }
        }
    }

    fn remove(&mut self, registry: &Registry, slot: usize, why: Ended) {
        if let Some(mut link) = self.slots[slot].take() {
            link.end(why);
            let _ = registry.deregister(link.source());
            self.by_remote.remove(&link.remote);
            self.stats[link.remote.carrier.index()].add(&link.stats);
            self.closed.push_back(link.remote);
            log::debug!(target: "venture::carrier", remote:% = link.remote, carrier:% = link.remote.carrier, why:? = link.ended; "stream connection closed");
        }
    }

    /// What a remote's link is: connection count per kind, for `/status`.
    pub fn count(&self, kind: CarrierKind) -> usize {
        self.by_remote.keys().filter(|r| r.carrier == kind).count()
    }
}

impl Carrier for StreamTable {
    fn recv(&mut self, buf: &mut [u8]) -> Option<(usize, Remote)> {
        while let Some(&slot) = self.ready.front() {
            let Some(link) = self.slots[slot].as_mut() else {
                self.ready.pop_front();
                continue;
            };
            let Some(packet) = link.inbound.pop_front() else {
                self.ready.pop_front();
                continue;
            };
            let remote = link.remote;
            if link.inbound.is_empty() {
                self.ready.pop_front();
                // It paused at MAX_INBOUND: read on (its readiness event was used).
                link.read(self.now);
                if !link.inbound.is_empty() {
                    self.ready.push_back(slot);
                }
            } else {
                // Round robin: one packet per connection per turn.
                self.ready.rotate_left(1);
            }
            if packet.len() > buf.len() {
                link.stats.oversize_in += 1;
                continue;
            }
            buf[..packet.len()].copy_from_slice(&packet);
            return Some((packet.len(), remote));
        }
        None
    }

    fn send(&mut self, to: Remote, packet: &[u8]) {
        match self
            .by_remote
            .get(&to)
            .and_then(|&s| self.slots[s].as_mut())
        {
            Some(link) => link.send(packet),
            None => self.stats[to.carrier.index()].dropped_out += 1,
        }
    }

    fn poll_closed(&mut self) -> Option<Remote> {
        self.closed.pop_front()
    }

    fn close(&mut self, remote: Remote) {
        if let Some(&slot) = self.by_remote.get(&remote) {
            if let Some(l) = self.slots[slot].as_mut() {
                // Removed (and deregistered) by the next poll: we have no registry here.
                l.end(Ended::Closed);
            }
        }
    }

    fn stats(&self, kind: CarrierKind) -> CarrierStats {
        let mut s = self.stats[kind.index()];
        for link in self.slots.iter().flatten() {
            if link.remote.carrier == kind {
                s.add(&link.stats);
            }
        }
        s
    }

    /// The endpoint completed `remote`'s handshake: its handshake deadline is met.
    fn note_established(&mut self, remote: Remote) {
        if let Some(&slot) = self.by_remote.get(&remote) {
            if let Some(l) = self.slots[slot].as_mut() {
                l.established = true;
            }
        }
    }

    fn poll(&mut self, now: Duration) {
        self.now = now;
        for link in self.slots.iter_mut().flatten() {
            link.check(now);
        }
    }
}
