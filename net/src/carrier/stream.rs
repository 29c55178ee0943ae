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

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME))
        .write_buffer_size(0)
        .max_write_buffer_size(SEND_QUEUE_LIMIT)
}

enum Wire {
    Tcp { decoder: Decoder, out: VecDeque<u8> },
    Ws(Box<WebSocket<TcpStream>>),
}

/// Why a link ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The peer closed it, or it failed.
    Closed,
    /// Bytes that are not our framing.
    Framing,
    /// Its queue stayed full past [`STALL_LIMIT`].
    Stalled,
    /// No handshake, or silence, past its deadline.
    Deadline,
}

/// One established stream connection (see the module docs).
pub struct Link {
    remote: Remote,
    wire: Wire,
    /// The TCP wire's stream (the WebSocket owns its own).
    tcp: Option<TcpStream>,
    inbound: VecDeque<Vec<u8>>,
    stats: CarrierStats,
    /// Set when a packet was dropped for a full queue; cleared when it drains.
    full_since: Option<Duration>,
    full_now: bool,
    opened_at: Duration,
    last_read: Duration,
    established: bool,
    ended: Option<Ended>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("remote", &self.remote)
            .field("inbound", &self.inbound.len())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Link {
    /// A TCP game stream whose preamble was read; `rest` is what came after it.
    pub fn tcp(stream: TcpStream, peer: SocketAddr, rest: &[u8], now: Duration) -> Link {
        let mut link = Link::new(
            Remote::new(CarrierKind::Tcp, peer),
            Wire::Tcp {
                decoder: Decoder::new(),
                out: VecDeque::new(),
            },
            now,
        );
        link.tcp = Some(stream);
        link.take_bytes(rest);
        link
    }

    /// A WebSocket whose upgrade was answered; `rest` is what came after the request.
    pub fn websocket(stream: TcpStream, peer: SocketAddr, rest: Vec<u8>, now: Duration) -> Link {
        let ws = WebSocket::from_partially_read(stream, rest, Role::Server, Some(ws_config()));
        Link::new(
            Remote::new(CarrierKind::WebSocket, peer),
            Wire::Ws(Box::new(ws)),
            now,
        )
    }

    fn new(remote: Remote, wire: Wire, now: Duration) -> Link {
        Link {
            remote,
            wire,
            tcp: None,
            inbound: VecDeque::new(),
            stats: CarrierStats::default(),
            full_since: None,
            full_now: false,
            opened_at: now,
            last_read: now,
            established: false,
            ended: None,
        }
    }

    pub fn remote(&self) -> Remote {
        self.remote
    }

    pub fn ended(&self) -> Option<Ended> {
        self.ended
    }

    fn end(&mut self, why: Ended) {
        if self.ended.is_none() {
            self.ended = Some(why);
            self.stats.closed += 1;
            if let Wire::Ws(ws) = &mut self.wire {
                let _ = ws.close(None);
                let _ = ws.flush();
            }
        }
    }

    fn take_bytes(&mut self, bytes: &[u8]) {
        self.stats.bytes_in += bytes.len() as u64;
        let Wire::Tcp { decoder, .. } = &mut self.wire else {
            return;
        };
        let inbound = &mut self.inbound;
        let stats = &mut self.stats;
        if decoder
            .feed(bytes, &mut |p| {
                stats.packets_in += 1;
                inbound.push_back(p.to_vec());
            })
            .is_err()
        {
            self.end(Ended::Framing);
        }
    }

    /// Reads what the socket has, up to [`MAX_INBOUND`] waiting packets.
    pub fn read(&mut self, now: Duration) {
        let mut scratch = [0u8; MAX_FRAME + framing::FRAME_HEADER];
        while self.ended.is_none() && self.inbound.len() < MAX_INBOUND {
            match &mut self.wire {
                Wire::Tcp { decoder, .. } => {
                    let want = decoder.wants().min(scratch.len());
                    let Some(stream) = self.tcp.as_mut() else {
                        return;
                    };
                    match stream.read(&mut scratch[..want]) {
                        Ok(0) => self.end(Ended::Closed),
                        Ok(n) => {
                            self.last_read = now;
                            self.take_bytes(&scratch[..n]);
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => self.end(Ended::Closed),
                    }
                }
                Wire::Ws(ws) => match ws.read() {
                    Ok(Message::Binary(bytes)) => {
                        self.last_read = now;
                        self.stats.packets_in += 1;
                        self.stats.bytes_in += bytes.len() as u64;
                        self.inbound.push_back(bytes.to_vec());
                    }
                    // Pings are answered by tungstenite on the next write or flush.
                    Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {
                        self.last_read = now;
                    }
                    Ok(Message::Text(_)) => self.end(Ended::Framing),
                    Ok(Message::Close(_)) => self.end(Ended::Closed),
                    Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => return,
                    Err(tungstenite::Error::Capacity(_) | tungstenite::Error::Protocol(_)) => {
                        self.end(Ended::Framing)
                    }
                    Err(_) => self.end(Ended::Closed),
                },
            }
        }
    }

    /// Queues one packet within the bound (see the module docs).
    pub fn send(&mut self, packet: &[u8]) {
        if self.ended.is_some() {
            self.stats.dropped_out += 1;
            return;
        }
        let queued = match &mut self.wire {
            Wire::Tcp { out, .. } => {
                if out.len() + framing::FRAME_HEADER + packet.len() > SEND_QUEUE_LIMIT {
                    false
                } else {
                    let mut frame = Vec::with_capacity(packet.len() + 2);
                    match framing::encode(packet, &mut frame) {
                        Ok(()) => {
                            out.extend(frame);
                            true
                        }
                        Err(_) => false,
                    }
                }
            }
            Wire::Ws(ws) => match ws.write(Message::binary(packet.to_vec())) {
                Ok(()) => true,
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => true,
                Err(tungstenite::Error::WriteBufferFull(_)) => false,
                Err(_) => {
                    self.end(Ended::Closed);
                    false
                }
            },
        };
        if queued {
            self.stats.packets_out += 1;
            self.stats.bytes_out += match self.wire {
                Wire::Tcp { .. } => (packet.len() + framing::FRAME_HEADER) as u64,
                // A server's binary message under 126 bytes has a 2-byte header, else 4.
                Wire::Ws(_) => (packet.len() + if packet.len() < 126 { 2 } else { 4 }) as u64,
            };
        } else {
            self.stats.dropped_out += 1;
            self.full_now = true;
        }
        self.flush();
    }

    /// Writes what the socket takes now.
    pub fn flush(&mut self) {
        if self.ended.is_some() {
            return;
        }
        match &mut self.wire {
            Wire::Tcp { out, .. } => {
                let Some(stream) = self.tcp.as_mut() else {
                    return;
                };
                while !out.is_empty() {
                    let (front, _) = out.as_slices();
                    match stream.write(front) {
                        Ok(0) => {
                            self.end(Ended::Closed);
                            return;
                        }
                        Ok(n) => {
                            out.drain(..n);
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => {
                            self.end(Ended::Closed);
                            return;
                        }
                    }
                }
                self.full_now = false;
            }
            Wire::Ws(ws) => match ws.flush() {
                Ok(()) => self.full_now = false,
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => self.end(Ended::Closed),
            },
        }
    }

    /// Deadlines: a stalled reader, no handshake, silence.
    pub fn check(&mut self, now: Duration) {
        if self.full_now {
            let since = *self.full_since.get_or_insert(now);
            if now.saturating_sub(since) >= STALL_LIMIT {
                self.end(Ended::Stalled);
            }
        } else {
            self.full_since = None;
        }
        if !self.established && now.saturating_sub(self.opened_at) >= HANDSHAKE_DEADLINE {
            self.end(Ended::Deadline);
        }
        if now.saturating_sub(self.last_read) >= IDLE_LIMIT {
            self.end(Ended::Deadline);
        }
    }

    fn source(&mut self) -> &mut TcpStream {
        match &mut self.wire {
            Wire::Ws(ws) => ws.get_mut(),
            // Invariant: a TCP wire always has its stream.
            Wire::Tcp { .. } => self.tcp.as_mut().expect("a TCP link keeps its stream"),
        }
    }
}

/// The server's stream connections: a mio token per connection, from `token_base`.
#[derive(Debug)]
pub struct StreamTable {
    base: usize,
    slots: Vec<Option<Link>>,
    by_remote: HashMap<Remote, usize>,
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

    /// Closes every connection (shutdown).
    pub fn close_all(&mut self, registry: &Registry) {
        for slot in 0..self.slots.len() {
            self.remove(registry, slot, Ended::Closed);
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

/// How the client reaches the server over a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTarget {
    pub kind: CarrierKind,
    /// The server as the user wrote it (a name is resolved by the proxy, if any).
    pub host: String,
    pub port: u16,
    /// A SOCKS5 proxy to connect through (names resolved by it: `socks5h`).
    pub proxy: Option<SocketAddr>,
}

enum ClientState {
    /// TCP connect in progress (to the server or the proxy).
    Connecting,
    /// Greeting sent to the proxy; reading its answers. `request` is the CONNECT, held
    /// until the proxy has chosen a method (see [`socks5::method_chosen`]).
    Socks {
        got: Vec<u8>,
        request: Option<Vec<u8>>,
    },
    /// WebSocket handshake under way.
    WsHandshake(Box<tungstenite::handshake::MidHandshake<tungstenite::ClientHandshake<TcpStream>>>),
    Open(Box<Link>),
    Failed,
}

/// The client's stream connection to its server (see the module docs).
pub struct StreamClient {
    target: StreamTarget,
    state: ClientState,
    stream: Option<TcpStream>,
    /// Bytes to write before the state's next step (proxy requests, the preamble).
    out: Vec<u8>,
    remote: Remote,
    /// Packets sent before the link opened (the handshake's first), bounded.
    early: VecDeque<Vec<u8>>,
    started: Duration,
    now: Duration,
    error: Option<String>,
    stats: CarrierStats,
}

impl std::fmt::Debug for StreamClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamClient")
            .field("target", &self.target)
            .field("open", &self.is_open())
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// Packets kept while connecting.
const MAX_EARLY: usize = 16;

impl StreamClient {
    /// Starts connecting to `connect_to` (the server, or the proxy when there is one).
    /// `remote` is how the server is known above (its address, or a stand-in for a name
    /// only the proxy resolves).
    pub fn connect(
        target: StreamTarget,
        connect_to: SocketAddr,
        remote: Remote,
        now: Duration,
    ) -> io::Result<StreamClient> {
        let stream = TcpStream::connect(connect_to)?;
        let _ = stream.set_nodelay(true);
        Ok(StreamClient {
            target,
            state: ClientState::Connecting,
            stream: Some(stream),
            out: Vec::new(),
            remote,
            early: VecDeque::new(),
            started: now,
            now,
            error: None,
            stats: CarrierStats::default(),
        })
    }

    /// Registers the connection for readable and writable events.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let source = match &mut self.state {
            ClientState::Open(link) => link.source(),
            ClientState::WsHandshake(mid) => mid.get_mut().get_mut(),
            _ => match self.stream.as_mut() {
                Some(s) => s,
                None => return Ok(()),
            },
        };
        registry.register(source, token, Interest::READABLE | Interest::WRITABLE)
    }

    pub fn is_open(&self) -> bool {
        matches!(self.state, ClientState::Open(_))
    }

    /// Why the connection failed, once it has.
    pub fn error(&self) -> Option<&str> {
        match &self.state {
            ClientState::Failed => self.error.as_deref().or(Some("connection closed")),
            ClientState::Open(l) if l.ended.is_some() => Some("connection closed"),
            _ => None,
        }
    }

    pub fn kind(&self) -> CarrierKind {
        self.target.kind
    }

    fn fail(&mut self, why: impl Into<String>) {
        self.error = Some(why.into());
        self.state = ClientState::Failed;
        self.stats.closed += 1;
    }

    fn write_out(&mut self) -> io::Result<()> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(());
        };
        while !self.out.is_empty() {
            match stream.write(&self.out) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.stats.bytes_out += n as u64;
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Moves the connection's states on as far as they go now.
    fn advance(&mut self) {
        for _ in 0..8 {
            let before = std::mem::discriminant(&self.state);
            self.step();
            if std::mem::discriminant(&self.state) == before {
                break;
            }
        }
        if !self.is_open()
            && !matches!(self.state, ClientState::Failed)
            && self.now.saturating_sub(self.started) >= CONNECT_DEADLINE
        {
            self.fail(format!(
                "no connection to {}:{} within {}s",
                self.target.host,
                self.target.port,
                CONNECT_DEADLINE.as_secs()
            ));
        }
    }

    fn step(&mut self) {
        match std::mem::replace(&mut self.state, ClientState::Failed) {
            ClientState::Connecting => {
                let Some(stream) = self.stream.as_ref() else {
                    return self.fail("no stream");
                };
                if let Ok(Some(e)) | Err(e) = stream.take_error() {
                    return self.fail(format!("connect: {e}"));
                }
                match stream.peer_addr() {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::NotConnected => {
                        self.state = ClientState::Connecting;
                        return;
                    }
                    Err(e) => return self.fail(format!("connect: {e}")),
                }
                if self.target.proxy.is_some() {
                    let request = match socks5::connect_request(&self.target.host, self.target.port)
                    {
                        Ok(req) => req,
                        Err(e) => return self.fail(format!("proxy: {e}")),
                    };
                    self.out.extend_from_slice(&socks5::GREETING);
                    self.state = ClientState::Socks {
                        got: Vec::new(),
                        request: Some(request),
                    };
                } else {
                    self.connected(Vec::new());
                }
            }
            ClientState::Socks {
                mut got,
                mut request,
            } => {
                if let Err(e) = self.write_out() {
                    return self.fail(format!("proxy: {e}"));
                }
                let Some(stream) = self.stream.as_mut() else {
                    return self.fail("no stream");
                };
                let mut buf = [0u8; 512];
                match stream.read(&mut buf) {
                    Ok(0) => return self.fail("the proxy closed the connection"),
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => return self.fail(format!("proxy: {e}")),
                }
                if got.len() > 512 {
                    return self.fail("proxy: answer too long");
                }
                if request.is_some() {
                    match socks5::method_chosen(&got) {
                        Ok(false) => {}
                        Ok(true) => {
                            self.out.extend(request.take().unwrap_or_default());
                            if let Err(e) = self.write_out() {
                                return self.fail(format!("proxy: {e}"));
                            }
                        }
                        Err(e) => return self.fail(format!("proxy: {e}")),
                    }
                }
                match socks5::parse_replies(&got) {
                    Ok(socks5::Progress::NeedMore) => {
                        self.state = ClientState::Socks { got, request }
                    }
                    Ok(socks5::Progress::Connected { consumed }) => {
                        self.connected(got[consumed..].to_vec())
                    }
                    Err(e) => self.fail(format!("proxy: {e}")),
                }
            }
            ClientState::WsHandshake(mid) => match mid.handshake() {
                Ok((ws, _response)) => {
                    let mut ws = ws;
                    ws.set_config(|c| *c = ws_config());
                    let link = Link::new(self.remote, Wire::Ws(Box::new(ws)), self.now);
                    self.open(link);
                }
                Err(tungstenite::HandshakeError::Interrupted(mid)) => {
                    self.state = ClientState::WsHandshake(Box::new(mid))
                }
                Err(tungstenite::HandshakeError::Failure(e)) => {
                    self.fail(format!("WebSocket handshake: {e}"))
                }
            },
            s @ (ClientState::Open(_) | ClientState::Failed) => self.state = s,
        }
    }

    /// The TCP path to the server is up (`rest`: bytes already read past the proxy's).
    fn connected(&mut self, rest: Vec<u8>) {
        let Some(stream) = self.stream.take() else {
            return self.fail("no stream");
        };
        match self.target.kind {
            CarrierKind::WebSocket => {
                if !rest.is_empty() {
                    return self.fail("the server spoke before the WebSocket request");
                }
                let url = format!("ws://{}:{}/play", self.target.host, self.target.port);
                match tungstenite::client::client_with_config(url, stream, Some(ws_config())) {
                    Ok((ws, _)) => {
                        let link = Link::new(self.remote, Wire::Ws(Box::new(ws)), self.now);
                        self.open(link);
                    }
                    Err(tungstenite::HandshakeError::Interrupted(mid)) => {
                        self.state = ClientState::WsHandshake(Box::new(mid))
                    }
                    Err(tungstenite::HandshakeError::Failure(e)) => {
                        self.fail(format!("WebSocket handshake: {e}"))
                    }
                }
            }
            _ => {
                let mut link = Link::new(
                    self.remote,
                    Wire::Tcp {
                        decoder: Decoder::new(),
                        out: VecDeque::from(PREAMBLE.to_vec()),
                    },
                    self.now,
                );
                link.stats.bytes_out += PREAMBLE.len() as u64;
                link.tcp = Some(stream);
                link.take_bytes(&rest);
                self.open(link);
            }
        }
    }

    fn open(&mut self, mut link: Link) {
        // Connection-level bytes so far (proxy, WebSocket request) count with the link's.
        link.stats.bytes_out += self.stats.bytes_out;
        self.stats.bytes_out = 0;
        link.established = true;
        for p in self.early.drain(..) {
            link.send(&p);
        }
        link.flush();
        self.state = ClientState::Open(Box::new(link));
    }
}

impl Carrier for StreamClient {
    fn recv(&mut self, buf: &mut [u8]) -> Option<(usize, Remote)> {
        self.advance();
        let ClientState::Open(link) = &mut self.state else {
            return None;
        };
        if link.inbound.is_empty() {
            link.read(self.now);
        }
        let packet = link.inbound.pop_front()?;
        if packet.len() > buf.len() {
            link.stats.oversize_in += 1;
            return None;
        }
        buf[..packet.len()].copy_from_slice(&packet);
        Some((packet.len(), link.remote))
    }

    fn send(&mut self, _to: Remote, packet: &[u8]) {
        self.advance();
        match &mut self.state {
            ClientState::Open(link) => link.send(packet),
            ClientState::Failed => self.stats.dropped_out += 1,
            _ => {
                if self.early.len() >= MAX_EARLY {
                    self.early.pop_front();
                    self.stats.dropped_out += 1;
                }
                self.early.push_back(packet.to_vec());
            }
        }
    }

    fn stats(&self, kind: CarrierKind) -> CarrierStats {
        if kind != self.target.kind {
            return CarrierStats::default();
        }
        let mut s = self.stats;
        if let ClientState::Open(link) = &self.state {
            s.add(&link.stats);
        }
        s
    }

    fn poll(&mut self, now: Duration) {
        self.now = now;
        self.advance();
        if let ClientState::Open(link) = &mut self.state {
            link.flush();
            link.check(now);
        }
    }

    fn take_pending(&mut self) -> bool {
        matches!(&self.state, ClientState::Open(l) if !l.inbound.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::time::Instant;

    /// A proxy that reads the greeting by itself before answering, as microsocks does:
    /// it reports what its first read held, then plays its part and reads the preamble.
    fn strict_proxy() -> (SocketAddr, mpsc::Receiver<Result<Vec<u8>, String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let run = || -> Result<Vec<u8>, String> {
                let (mut s, _) = listener.accept().map_err(|e| e.to_string())?;
                s.set_read_timeout(Some(Duration::from_secs(5)))
                    .map_err(|e| e.to_string())?;
                let mut buf = [0u8; 512];
                let n = s.read(&mut buf).map_err(|e| e.to_string())?;
                if buf[..n] != socks5::GREETING {
                    return Err(format!(
                        "the first read held {:?}, not the greeting alone",
                        &buf[..n]
                    ));
                }
                s.write_all(&[5, 0]).map_err(|e| e.to_string())?;
                let want = 5 + "game.example".len() + 2;
                let mut req = vec![0u8; want];
                s.read_exact(&mut req).map_err(|e| e.to_string())?;
                s.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0x1F, 0x90])
                    .map_err(|e| e.to_string())?;
                let mut preamble = [0u8; PREAMBLE.len()];
                s.read_exact(&mut preamble).map_err(|e| e.to_string())?;
                req.extend_from_slice(&preamble);
                Ok(req)
            };
            let _ = tx.send(run());
        });
        (addr, rx)
    }

    /// A server-side link over a real loopback connection, known by `peer` (the table
    /// decides by that address, so a test can give one of its choosing).
    fn link_from(
        listener: &TcpListener,
        peer: SocketAddr,
        now: Duration,
    ) -> (Link, std::net::TcpStream) {
        let client = std::net::TcpStream::connect(listener.local_addr().expect("address"))
            .expect("connect on loopback");
        let (server_side, _) = listener.accept().expect("accept on loopback");
        server_side.set_nonblocking(true).expect("non-blocking");
        let link = Link::tcp(TcpStream::from_std(server_side), peer, &[], now);
        (link, client)
    }

    #[test]
    fn a_full_table_closes_the_busiest_address_first_not_a_player_mid_handshake() {
        let poll = mio::Poll::new().expect("poll");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut table = StreamTable::new(Token(0), 4);
        let flooder = |port: u16| SocketAddr::from(([10, 0, 0, 1], port));
        let player = SocketAddr::from(([10, 0, 0, 9], 4000));
        let mut clients = Vec::new();
        let mut t = Duration::ZERO;
        let mut adopt = |table: &mut StreamTable, peer: SocketAddr, t: Duration| {
            let (link, client) = link_from(&listener, peer, t);
            table.adopt(poll.registry(), link, t).expect("adopt");
            clients.push(client);
        };
        for port in 1..=3 {
            adopt(&mut table, flooder(port), t);
            t += Duration::from_millis(1);
        }
        // The player's connection arrives, then the flooder keeps opening new ones: it
        // is the player's that has gone longest without a handshake, yet it stays.
        adopt(&mut table, player, t);
        for port in 4..=40 {
            t += Duration::from_millis(1);
            adopt(&mut table, flooder(port), t);
            assert!(
                table
                    .by_remote
                    .contains_key(&Remote::new(CarrierKind::Tcp, player)),
                "the player's connection was closed for the flooder's {port}th"
            );
        }
        assert_eq!(table.by_remote.len(), 4);
        // Once every address holds as many, the oldest goes as before.
        let mut fair = StreamTable::new(Token(0), 2);
        let a = SocketAddr::from(([10, 0, 0, 2], 1));
        let b = SocketAddr::from(([10, 0, 0, 3], 1));
        let c = SocketAddr::from(([10, 0, 0, 4], 1));
        adopt(&mut fair, a, Duration::from_millis(1));
        adopt(&mut fair, b, Duration::from_millis(2));
        adopt(&mut fair, c, Duration::from_millis(3));
        assert!(!fair
            .by_remote
            .contains_key(&Remote::new(CarrierKind::Tcp, a)));
        assert!(fair
            .by_remote
            .contains_key(&Remote::new(CarrierKind::Tcp, b)));
    }

    #[test]
    fn the_connect_request_waits_for_the_proxys_method_choice() {
        let (proxy, seen) = strict_proxy();
        let target = StreamTarget {
            kind: CarrierKind::Tcp,
            host: "game.example".into(),
            port: 8080,
            proxy: Some(proxy),
        };
        let remote = Remote::new(CarrierKind::Tcp, SocketAddr::from(([0, 0, 0, 0], 8080)));
        let began = Instant::now();
        let mut client =
            StreamClient::connect(target, proxy, remote, Duration::ZERO).expect("connect");
        while !client.is_open()
            && client.error().is_none()
            && began.elapsed() < Duration::from_secs(10)
        {
            client.poll(began.elapsed());
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(client.is_open(), "not open: {:?}", client.error());
        // The link writes the preamble on its next flush.
        let seen = loop {
            client.poll(began.elapsed());
            if let Ok(r) = seen.recv_timeout(Duration::from_millis(10)) {
                break r;
            }
            assert!(
                began.elapsed() < Duration::from_secs(10),
                "the proxy saw no preamble"
            );
        };
        let seen = seen.expect("a strict proxy is satisfied");
        let request = socks5::connect_request("game.example", 8080).expect("valid name");
        assert_eq!(&seen[..request.len()], &request[..]);
        assert_eq!(&seen[request.len()..], &PREAMBLE[..]);
    }
}
