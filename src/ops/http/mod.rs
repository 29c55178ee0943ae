//! A small, non-blocking HTTP/1.1 server for `/healthz`, `/readyz`,
//! `/metrics` and `/status`, driven by a mio [`Poll`](mio::Poll) that the
//! server's event loop owns.
//!
//! Deliberately minimal and defensive, because the port is open to the world:
//!
//! * only `GET` and `HEAD`; any other method gets `405` with `Allow: GET, HEAD`;
//! * one request per connection: every response carries `Connection: close`,
//!   after which the write side is shut down and the connection is drained
//!   briefly so the client sees the response rather than a reset;
//! * the request head is bounded ([`HttpLimits::max_head_bytes`], `431` past
//!   it); request bodies are ignored; a malformed head gets `400`;
//! * at most [`HttpLimits::max_connections`] open connections. At the cap a newcomer is
//!   still served: the oldest connection that has not sent a whole request (idle, or fed
//!   slowly), of the address holding the most such connections, is evicted to make room, after one last look at its socket so a request
//!   that did arrive is answered rather than dropped; then, if none is left, the oldest
//!   one that was already answered. Only when every connection is mid-response is the
//!   newcomer sent a best-effort `503` and closed. So a flood of held connections cannot
//!   starve `/healthz` and `/readyz`: the probe, being newest, is the last to go;
//!   evictions and refusals are counted;
//! * every connection has one deadline ([`HttpLimits::request_timeout`]) for its
//!   whole request head, so slow senders (slowloris) and idle connections are
//!   closed by [`HttpServer::poll`];
//! * a TCP connect that sends nothing and hangs up (`nc -z`, load-balancer TCP
//!   checks) is accepted and closed quietly: it is not a bad request.
//!
//! * the game shares the port: a connection whose first byte is the game stream
//!   preamble's (`venture_net::carrier::framing`) is handed over to the game once the
//!   preamble is complete, and a request the router answers with
//!   [`Response::switching_protocols`] (a WebSocket upgrade of `/play`) once the `101` is
//!   written; [`HttpServer::take_handoffs`] gives them to the event loop. Until then they
//!   are HTTP connections like any other: the same deadline, cap and eviction, so a
//!   connection held open without speaking starves nobody.
//!
//! Token layout: the listener uses `token_base`, connection slot `i` uses
//! `token_base + 1 + i`; [`HttpServer::owns`] tells the event loop which events
//! to hand over. Request heads are parsed with `httparse`.

mod conn;
mod message;
#[cfg(test)]
mod tests;

pub use message::{Method, Request, Response};

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{IpAddr, Shutdown, SocketAddr};
use std::time::{Duration, Instant};
use thiserror::Error;

use conn::{drive, Conn, Next, State};
use venture_net::carrier::framing::PREAMBLE;

/// Bounds on what one client can make the server do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest request head (request line plus headers), in bytes.
    pub max_head_bytes: usize,
    /// Most headers in a request.
    pub max_headers: usize,
    /// Most simultaneously open connections.
    pub max_connections: usize,
    /// Time allowed from accept until the whole request head has arrived (and,
    /// separately, for the response to be written).
    pub request_timeout: Duration,
    /// Time to keep draining a connection after the response, before closing.
    pub linger: Duration,
    /// Most bytes drained after the response before closing.
    pub max_drain_bytes: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_head_bytes: 8 * 1024,
            max_headers: 32,
            max_connections: 64,
            request_timeout: Duration::from_secs(5),
            linger: Duration::from_secs(1),
            max_drain_bytes: 64 * 1024,
        }
    }
}

/// What the server has done, for `/metrics` and logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HttpCounters {
    /// Connections accepted (including ones then closed for being over the cap).
    pub accepted: u64,
    /// Connections closed at once because [`HttpLimits::max_connections`] were open, every
    /// one of them mid-response.
    pub rejected_over_cap: u64,
    /// Idle, incomplete or already answered connections closed to make room for a new one
    /// at [`HttpLimits::max_connections`].
    pub evicted: u64,
    /// Requests answered `400` (malformed, or cut short by the client).
    pub bad_requests: u64,
    /// Requests answered `431` (head larger than [`HttpLimits::max_head_bytes`]).
    pub head_too_large: u64,
    /// Requests answered `405`.
    pub method_not_allowed: u64,
    /// Responses completely written.
    pub responses: u64,
    /// Connections closed for missing their deadline (idle or slow).
    pub timed_out: u64,
    /// Accept, read or write errors other than would-block.
    pub io_errors: u64,
    /// Connections handed to the game (TCP game streams and WebSocket upgrades).
    pub handed_off: u64,
}

/// Errors from setting up the server.
#[derive(Debug, Error)]
pub enum HttpError {
    /// The listener could not be registered with the poll.
    #[error("cannot register the HTTP listener (token {token}) with the poll: {source}")]
    Register {
        /// The listener's token.
        token: usize,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// `token_base + max_connections` does not fit in a token.
    #[error("HTTP token range starting at {base} for {count} connections overflows usize")]
    TokenRange {
        /// The requested base.
        base: usize,
        /// `max_connections`.
        count: usize,
    },
}

/// What a handed-over connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffKind {
    /// The game's TCP framing; the preamble was read.
    GameStream,
    /// A WebSocket; the `101` was written.
    WebSocket,
}

/// A connection that left HTTP, deregistered from the poll: the event loop adopts it.
#[derive(Debug)]
pub struct Handoff {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub kind: HandoffKind,
    /// Bytes already read past the preamble or the request head.
    pub rest: Vec<u8>,
}

/// How long to stop accepting after an accept error such as `EMFILE`.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The HTTP server. See the module docs.
#[derive(Debug)]
pub struct HttpServer {
    listener: TcpListener,
    limits: HttpLimits,
    base: Option<usize>,
    conns: Vec<Option<Conn>>,
    open: usize,
    counters: HttpCounters,
    accept_paused_until: Option<Instant>,
    next_serial: u64,
    handoffs: Vec<Handoff>,
}

impl HttpServer {
    /// Wrap a bound, non-blocking listener. Nothing happens until [`register`](Self::register).
    pub fn new(listener: TcpListener, limits: HttpLimits) -> Self {
        let mut conns = Vec::new();
        conns.resize_with(limits.max_connections, || None);
        HttpServer {
            listener,
            limits,
            base: None,
            conns,
            open: 0,
            counters: HttpCounters::default(),
            accept_paused_until: None,
            next_serial: 0,
            handoffs: Vec::new(),
        }
    }

    /// Connections that left HTTP since the last call (see the module docs).
    pub fn take_handoffs(&mut self) -> Vec<Handoff> {
        std::mem::take(&mut self.handoffs)
    }

    /// Register the listener under `token_base`; connections will use the
    /// next [`HttpLimits::max_connections`] tokens.
    pub fn register(&mut self, registry: &Registry, token_base: Token) -> Result<(), HttpError> {
        let base = token_base.0;
        base.checked_add(self.limits.max_connections)
            .ok_or(HttpError::TokenRange {
                base,
                count: self.limits.max_connections,
            })?;
        registry
            .register(&mut self.listener, token_base, Interest::READABLE)
            .map_err(|source| HttpError::Register {
                token: base,
                source,
            })?;
        self.base = Some(base);
        Ok(())
    }

    /// Whether `token` belongs to this server (listener or a connection slot).
    pub fn owns(&self, token: Token) -> bool {
        match self.base {
            Some(base) => token.0 >= base && token.0 - base <= self.limits.max_connections,
            None => false,
        }
    }

    /// The listener's local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Counters so far.
    pub fn counters(&self) -> HttpCounters {
        self.counters
    }

    /// Connections currently open.
    pub fn open_connections(&self) -> usize {
        self.open
    }

    /// The limits in force.
    pub fn limits(&self) -> &HttpLimits {
        &self.limits
    }

    /// The earliest connection deadline, for the event loop's poll timeout.
    pub fn next_deadline(&self) -> Option<Instant> {
        let conns = self.conns.iter().flatten().map(|c| c.deadline);
        conns.chain(self.accept_paused_until).min()
    }

    /// Handle one poll event's token. Tokens this server does not own are ignored and
    /// spurious calls are harmless. The router is called once per well-formed `GET`/`HEAD`
    /// request; it answers unknown paths with [`Response::not_found`].
    pub fn handle_token(
        &mut self,
        registry: &Registry,
        token: Token,
        now: Instant,
        router: &mut impl FnMut(&Request) -> Response,
    ) {
        let Some(base) = self.base else { return };
        if token.0 == base {
            // Serve what new connections already sent right away, in this loop turn: a
            // probe that arrived during a stall must see the stall, not the catch-up after it.
            for slot in self.accept_all(registry, now, router) {
                self.handle_token(registry, Token(base + 1 + slot), now, router);
            }
            return;
        }
        if !self.owns(token) {
            return;
        }
        let slot = token.0 - base - 1;
        let next = match self.conns.get_mut(slot).and_then(Option::as_mut) {
            Some(conn) => drive(conn, now, &self.limits, &mut self.counters, router),
            None => return,
        };
        match next {
            Next::Keep => {}
            Next::Close => self.close(registry, slot),
            Next::HandOff(kind) => self.hand_off(registry, slot, kind),
        }
    }

    fn hand_off(&mut self, registry: &Registry, slot: usize, kind: HandoffKind) {
        let Some(mut c) = self.conns[slot].take() else {
            return;
        };
        self.open -= 1;
        let _ = registry.deregister(&mut c.stream);
        let rest = match kind {
            HandoffKind::GameStream => c.buf.split_off(PREAMBLE.len().min(c.buf.len())),
            HandoffKind::WebSocket => c.buf.split_off(c.head_len.min(c.buf.len())),
        };
        self.counters.handed_off += 1;
        self.handoffs.push(Handoff {
            stream: c.stream,
            peer: c.peer,
            kind,
            rest,
        });
    }

    /// Close connections past their deadline and retry accepting after a
    /// backoff. Call it at least every few hundred milliseconds. The router answers
    /// requests found on connections about to be evicted, and on new ones.
    pub fn poll(
        &mut self,
        registry: &Registry,
        now: Instant,
        router: &mut impl FnMut(&Request) -> Response,
    ) {
        for slot in 0..self.conns.len() {
            let expired = matches!(&self.conns[slot], Some(c) if now >= c.deadline);
            if expired {
                if let Some(c) = &self.conns[slot] {
                    if c.state != State::Draining {
                        self.counters.timed_out += 1;
                        log::debug!(target: "venture::http", peer:% = c.peer; "closing slow or idle HTTP connection");
                    }
                }
                self.close(registry, slot);
            }
        }
        if let Some(base) = self.base {
            // Also catches connections whose edge-triggered event was missed.
            for slot in self.accept_all(registry, now, router) {
                self.handle_token(registry, Token(base + 1 + slot), now, router);
            }
        }
    }

    /// Close every connection and deregister the listener.
    pub fn shutdown(&mut self, registry: &Registry) {
        for slot in 0..self.conns.len() {
            self.close(registry, slot);
        }
        if self.base.take().is_some() {
            let _ = registry.deregister(&mut self.listener);
        }
    }

    fn close(&mut self, registry: &Registry, slot: usize) {
        if let Some(mut c) = self.conns[slot].take() {
            let _ = registry.deregister(&mut c.stream);
            self.open -= 1;
        }
    }

    /// A free slot, evicting a connection if all are taken (see the module docs); `None`
    /// when every connection is mid-response.
    fn make_room(
        &mut self,
        registry: &Registry,
        now: Instant,
        router: &mut impl FnMut(&Request) -> Response,
    ) -> Option<usize> {
        // Each pass either frees a slot or moves a connection out of `Reading`: bounded.
        for _ in 0..=self.conns.len() {
            if let Some(free) = self.conns.iter().position(Option::is_none) {
                return Some(free);
            }
            let oldest = |state: State| {
                self.conns
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| c.as_ref().map(|c| (i, c)))
                    .filter(|(_, c)| c.state == state)
                    .min_by_key(|(_, c)| c.serial)
                    .map(|(i, _)| i)
            };
            if let Some(victim) = self.busiest_oldest_reading() {
                // Serve it if its request did arrive; evict it only if it is still waiting.
                let next = match self.conns[victim].as_mut() {
                    Some(c) => drive(c, now, &self.limits, &mut self.counters, router),
                    None => Next::Close,
                };
                let still_waiting =
                    matches!(&self.conns[victim], Some(c) if c.state == State::Reading);
                if next == Next::Close {
                    self.close(registry, victim);
                } else if let Next::HandOff(kind) = next {
                    self.hand_off(registry, victim, kind);
                } else if still_waiting {
                    if let Some(c) = &self.conns[victim] {
                        log::debug!(target: "venture::http", peer:% = c.peer, cap = self.limits.max_connections; "HTTP connection cap reached; evicting the oldest idle or incomplete connection");
                    }
                    self.counters.evicted += 1;
                    self.close(registry, victim);
                }
                continue;
            }
            if let Some(victim) = oldest(State::Draining) {
                self.counters.evicted += 1;
                self.close(registry, victim);
                continue;
            }
            return None;
        }
        None
    }

    /// Among connections still reading their request, the oldest of the address that
    /// holds the most of them. The oldest alone is not enough: an address that reopens
    /// silent connections as fast as they are closed always has newer ones than a game
    /// client behind a proxy, whose first bytes come a round trip after the proxy
    /// connected (SOCKS5, Tor's onion service), so that client's would always be the
    /// one closed. Among addresses holding as many, the oldest goes.
    fn busiest_oldest_reading(&self) -> Option<usize> {
        let reading = || {
            self.conns
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.as_ref().map(|c| (i, c)))
                .filter(|(_, c)| c.state == State::Reading)
        };
        let mut per_ip: HashMap<IpAddr, usize> = HashMap::new();
        for (_, c) in reading() {
            *per_ip.entry(c.peer.ip()).or_default() += 1;
        }
        reading()
            .max_by_key(|(_, c)| {
                let n = per_ip.get(&c.peer.ip()).copied().unwrap_or(0);
                (n, std::cmp::Reverse(c.serial))
            })
            .map(|(i, _)| i)
    }

    /// Accepts every pending connection; returns the slots of the new ones.
    fn accept_all(
        &mut self,
        registry: &Registry,
        now: Instant,
        router: &mut impl FnMut(&Request) -> Response,
    ) -> Vec<usize> {
        let mut accepted = Vec::new();
        let Some(base) = self.base else {
            return accepted;
        };
        if let Some(until) = self.accept_paused_until {
            if now < until {
                return accepted;
            }
            self.accept_paused_until = None;
        }
        loop {
            let (mut stream, peer) = match self.listener.accept() {
                Ok(x) => x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return accepted,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    continue
                }
                Err(e) => {
                    // EMFILE and friends: the pending connection stays queued;
                    // retry after a pause instead of spinning.
                    self.counters.io_errors += 1;
                    self.accept_paused_until = Some(now + ACCEPT_BACKOFF);
                    log::warn!(target: "venture::http", error:% = e; "HTTP accept failed; pausing accepts");
                    return accepted;
                }
            };
            self.counters.accepted += 1;
            let Some(slot) = self.make_room(registry, now, router) else {
                self.counters.rejected_over_cap += 1;
                log::debug!(target: "venture::http", peer:% = peer, cap = self.limits.max_connections; "HTTP connection cap reached, every connection mid-response; closing new connection");
                let busy = Response::text(503, "busy\n").to_bytes(false);
                let _ = stream.write(&busy);
                let _ = stream.shutdown(Shutdown::Both);
                continue;
            };
            let token = Token(base + 1 + slot);
            if let Err(e) =
                registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            {
                self.counters.io_errors += 1;
                log::warn!(target: "venture::http", peer:% = peer, error:% = e; "cannot register HTTP connection");
                continue;
            }
            let _ = stream.set_nodelay(true);
            self.next_serial += 1;
            self.conns[slot] = Some(Conn {
                stream,
                peer,
                serial: self.next_serial,
                state: State::Reading,
                deadline: now + self.limits.request_timeout,
                buf: Vec::new(),
                out: Vec::new(),
                written: 0,
                drained: 0,
                head_len: 0,
                upgrade: false,
            });
            self.open += 1;
            accepted.push(slot);
        }
    }
}
