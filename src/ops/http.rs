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

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr};
use std::time::{Duration, Instant};
use thiserror::Error;

use crate::ops::nbio::{self, Step};
use venture_net::carrier::framing::{self, Sniffed, PREAMBLE};

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

/// The methods the server accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`: routed like `GET`, the body is left out of the response.
    Head,
}

/// A parsed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `GET` or `HEAD`.
    pub method: Method,
    /// The path, without the query string; always starts with `/`.
    pub path: String,
    /// The query string after `?`, if any.
    pub query: Option<String>,
    /// Headers in order, names as sent, values lossily decoded as UTF-8.
    pub headers: Vec<(String, String)>,
    /// The client's address.
    pub peer: SocketAddr,
}

impl Request {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response. `Content-Length` and `Connection: close` are added when it is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: String,
    /// Extra headers. CR and LF in names or values are replaced by spaces.
    pub headers: Vec<(String, String)>,
    /// Body (not sent for `HEAD`).
    pub body: Vec<u8>,
    /// A `101 Switching Protocols`: once it is written the connection leaves HTTP.
    upgrade: bool,
}

impl Response {
    /// A response with a body of the given type.
    pub fn new(status: u16, content_type: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            content_type: content_type.into(),
            headers: Vec::new(),
            body: body.into(),
            upgrade: false,
        }
    }

    /// `101 Switching Protocols` to a WebSocket (RFC 6455), with the
    /// `Sec-WebSocket-Accept` the router derived from the request's key. After it is
    /// written the connection is handed over ([`HttpServer::take_handoffs`]).
    pub fn switching_protocols(accept: impl Into<String>) -> Self {
        Response {
            status: 101,
            content_type: String::new(),
            headers: vec![
                ("Upgrade".into(), "websocket".into()),
                ("Connection".into(), "Upgrade".into()),
                ("Sec-WebSocket-Accept".into(), accept.into()),
            ],
            body: Vec::new(),
            upgrade: true,
        }
    }

    /// `text/plain; charset=utf-8`.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::new(
            status,
            "text/plain; charset=utf-8",
            body.into().into_bytes(),
        )
    }

    /// `application/json`.
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self::new(status, "application/json", body.into().into_bytes())
    }

    /// `404 Not Found` with a short text body.
    pub fn not_found() -> Self {
        Self::text(404, "not found\n")
    }

    /// Add a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Serialise as HTTP/1.1, with the body unless `head_only`.
    fn to_bytes(&self, head_only: bool) -> Vec<u8> {
        let clean = |s: &str| s.replace(['\r', '\n'], " ");
        if self.upgrade {
            let mut head = format!("HTTP/1.1 101 {}\r\n", reason(101));
            for (n, v) in &self.headers {
                head.push_str(&format!("{}: {}\r\n", clean(n), clean(v)));
            }
            head.push_str("\r\n");
            return head.into_bytes();
        }
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.status,
            reason(self.status),
            clean(&self.content_type),
            self.body.len()
        );
        for (n, v) in &self.headers {
            head.push_str(&clean(n));
            head.push_str(": ");
            head.push_str(&clean(v));
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        if !head_only {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        426 => "Upgrade Required",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
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

#[derive(Debug, PartialEq, Eq)]
enum State {
    /// Reading the request head.
    Reading,
    /// Writing the response from `out[written..]`.
    Writing,
    /// Response sent and write side shut: discarding input until EOF.
    Draining,
}

#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    /// Accept order (a sequence number): eviction takes the oldest.
    serial: u64,
    state: State,
    deadline: Instant,
    buf: Vec<u8>,
    out: Vec<u8>,
    written: usize,
    drained: usize,
    /// Where the request head ended in `buf` (for an upgrade's leftover bytes).
    head_len: usize,
    upgrade: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum Next {
    Keep,
    Close,
    /// The connection leaves HTTP (see [`Handoff`]).
    HandOff(HandoffKind),
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

/// Outcome of trying to parse the head so far.
enum Parsed {
    Partial,
    /// The response, whether it answers a `HEAD`, and where the head ended.
    Done(Response, bool, usize),
}

fn bad(status: u16, msg: &str) -> Response {
    Response::text(status, format!("{msg}\n"))
}

fn parse_head(
    buf: &[u8],
    peer: SocketAddr,
    limits: &HttpLimits,
    counters: &mut HttpCounters,
    router: &mut impl FnMut(&Request) -> Response,
) -> Parsed {
    let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Partial) => {
            if buf.len() > limits.max_head_bytes {
                counters.head_too_large += 1;
                Parsed::Done(bad(431, "request head too large"), false, 0)
            } else {
                Parsed::Partial
            }
        }
        Err(httparse::Error::TooManyHeaders) => {
            counters.head_too_large += 1;
            Parsed::Done(bad(431, "too many headers"), false, 0)
        }
        Err(_) => {
            counters.bad_requests += 1;
            Parsed::Done(bad(400, "bad request"), false, 0)
        }
        Ok(httparse::Status::Complete(len)) => {
            if len > limits.max_head_bytes {
                counters.head_too_large += 1;
                return Parsed::Done(bad(431, "request head too large"), false, 0);
            }
            // Invariant: httparse fills method and path on Complete.
            let method = req.method.unwrap_or("");
            let target = req.path.unwrap_or("");
            let method = match method {
                "GET" => Method::Get,
                "HEAD" => Method::Head,
                _ => {
                    counters.method_not_allowed += 1;
                    return Parsed::Done(
                        bad(405, "method not allowed").with_header("Allow", "GET, HEAD"),
                        false,
                        0,
                    );
                }
            };
            if !target.starts_with('/') {
                counters.bad_requests += 1;
                return Parsed::Done(bad(400, "bad request target"), method == Method::Head, 0);
            }
            let (path, query) = match target.split_once('?') {
                Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
                None => (target.to_owned(), None),
            };
            let request = Request {
                method,
                path,
                query,
                headers: req
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_owned(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect(),
                peer,
            };
            let resp = router(&request);
            // Only a GET may switch protocols; a HEAD gets the refusal a plain GET would.
            let resp = if resp.upgrade && method == Method::Head {
                bad(400, "a WebSocket upgrade needs GET")
            } else {
                resp
            };
            Parsed::Done(resp, method == Method::Head, len)
        }
    }
}

/// Advance one connection as far as it goes without blocking.
fn drive(
    conn: &mut Conn,
    now: Instant,
    limits: &HttpLimits,
    counters: &mut HttpCounters,
    router: &mut impl FnMut(&Request) -> Response,
) -> Next {
    let mut tmp = [0u8; 4096];
    loop {
        match conn.state {
            // Reads at most one byte past the limit: enough to know it is exceeded.
            State::Reading => {
                match nbio::read_some(&mut conn.stream, &mut conn.buf, limits.max_head_bytes) {
                    Ok(Step::Eof) => {
                        if conn.buf.is_empty() {
                            // A bare TCP check (`nc -z`): not an error.
                            return Next::Close;
                        }
                        counters.bad_requests += 1;
                        respond(conn, now, limits, bad(400, "incomplete request"), false);
                    }
                    Ok(Step::Done) => match framing::sniff(&conn.buf) {
                        Sniffed::Game => return Next::HandOff(HandoffKind::GameStream),
                        // A game client waiting for the rest of its preamble.
                        Sniffed::NeedMore => {}
                        // Neither HTTP nor our framing (another version, or garbage).
                        Sniffed::Invalid => {
                            counters.bad_requests += 1;
                            respond(conn, now, limits, bad(400, "bad request"), false);
                        }
                        Sniffed::Http => {
                            match parse_head(&conn.buf, conn.peer, limits, counters, router) {
                                Parsed::Partial => {}
                                Parsed::Done(resp, head_only, len) => {
                                    conn.head_len = len;
                                    conn.upgrade = resp.upgrade;
                                    respond(conn, now, limits, resp, head_only)
                                }
                            }
                        }
                    },
                    Ok(Step::Blocked) => return Next::Keep,
                    Err(_) => {
                        counters.io_errors += 1;
                        return Next::Close;
                    }
                }
            }
            State::Writing => {
                match nbio::write_pending(&mut conn.stream, &conn.out, &mut conn.written) {
                    Ok(Step::Done) => {
                        counters.responses += 1;
                        if conn.upgrade {
                            return Next::HandOff(HandoffKind::WebSocket);
                        }
                        let _ = conn.stream.shutdown(Shutdown::Write);
                        conn.state = State::Draining;
                        conn.deadline = now + limits.linger;
                        conn.out = Vec::new();
                        conn.buf = Vec::new();
                    }
                    Ok(_) => return Next::Keep,
                    Err(_) => {
                        counters.io_errors += 1;
                        return Next::Close;
                    }
                }
            }
            State::Draining => match conn.stream.read(&mut tmp) {
                Ok(0) => return Next::Close,
                Ok(n) => {
                    conn.drained += n;
                    if conn.drained > limits.max_drain_bytes {
                        return Next::Close;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Next::Keep,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Next::Close,
            },
        }
    }
}

fn respond(conn: &mut Conn, now: Instant, limits: &HttpLimits, resp: Response, head_only: bool) {
    conn.out = resp.to_bytes(head_only);
    conn.written = 0;
    conn.state = State::Writing;
    conn.deadline = now + limits.request_timeout;
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};
    use std::net::TcpStream as StdStream;
    use std::thread;

    const BASE: Token = Token(100);

    fn router(req: &Request) -> Response {
        match req.path.as_str() {
            "/healthz" => Response::text(200, "ok\n"),
            "/big" => Response::new(200, "application/octet-stream", vec![b'x'; 1 << 20]),
            "/huge" => Response::new(200, "application/octet-stream", vec![b'x'; 32 << 20]),
            "/echo" => Response::json(
                200,
                format!(
                    "{{\"query\":{:?},\"ua\":{:?}}}",
                    req.query.clone().unwrap_or_default(),
                    req.header("user-agent").unwrap_or("")
                ),
            ),
            _ => Response::not_found(),
        }
    }

    /// Run a server on 127.0.0.1:0 with a mio loop in this thread while
    /// `client` runs in another; bounded to 15 s. After the client is done,
    /// keep polling until every connection is closed (bounded to 3 s).
    fn with_server<T: Send + 'static>(
        limits: HttpLimits,
        client: impl FnOnce(SocketAddr) -> T + Send + 'static,
    ) -> (T, HttpServer) {
        let mut poll = Poll::new().expect("poll");
        let listener =
            TcpListener::bind("127.0.0.1:0".parse().expect("addr")).expect("bind port 0");
        let mut server = HttpServer::new(listener, limits);
        server.register(poll.registry(), BASE).expect("register");
        let addr = server.local_addr().expect("local addr");
        let handle = thread::spawn(move || client(addr));
        let mut events = Events::with_capacity(64);
        let start = Instant::now();
        let mut done_at: Option<Instant> = None;
        let mut route = router;
        loop {
            poll.poll(&mut events, Some(Duration::from_millis(10)))
                .expect("poll");
            let now = Instant::now();
            for ev in events.iter() {
                assert!(server.owns(ev.token()), "foreign token {:?}", ev.token());
                server.handle_token(poll.registry(), ev.token(), now, &mut route);
            }
            server.poll(poll.registry(), now, &mut route);
            assert!(start.elapsed() < Duration::from_secs(15), "test timed out");
            if handle.is_finished() {
                let d = *done_at.get_or_insert(now);
                if server.open_connections() == 0 || now - d > Duration::from_secs(3) {
                    break;
                }
            }
        }
        let out = handle.join().expect("client thread");
        (out, server)
    }

    fn connect(addr: SocketAddr) -> StdStream {
        let s = StdStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        s
    }

    fn exchange(addr: SocketAddr, req: &[u8]) -> String {
        let mut s = connect(addr);
        s.write_all(req).expect("write");
        let mut out = Vec::new();
        s.read_to_end(&mut out).expect("read");
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn get_200_with_body() {
        let (resp, server) = with_server(HttpLimits::default(), |addr| {
            exchange(addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        });
        assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
        assert!(resp.contains("Content-Length: 3\r\n"), "{resp}");
        assert!(resp.contains("Connection: close\r\n"), "{resp}");
        assert!(
            resp.contains("Content-Type: text/plain; charset=utf-8\r\n"),
            "{resp}"
        );
        assert!(resp.ends_with("\r\n\r\nok\n"), "{resp}");
        let c = server.counters();
        assert_eq!((c.accepted, c.responses, c.bad_requests), (1, 1, 0));
        assert_eq!(server.open_connections(), 0);
    }

    #[test]
    fn query_headers_and_http10() {
        let (resp, _) = with_server(HttpLimits::default(), |addr| {
            exchange(addr, b"GET /echo?a=1 HTTP/1.0\r\nUser-Agent: probe\r\n\r\n")
        });
        assert!(
            resp.ends_with("{\"query\":\"a=1\",\"ua\":\"probe\"}"),
            "{resp}"
        );
    }

    #[test]
    fn head_has_no_body() {
        let (resp, _) = with_server(HttpLimits::default(), |addr| {
            exchange(addr, b"HEAD /healthz HTTP/1.1\r\n\r\n")
        });
        assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
        assert!(resp.contains("Content-Length: 3\r\n"), "{resp}");
        assert!(resp.ends_with("\r\n\r\n"), "{resp}");
    }

    #[test]
    fn unknown_path_404() {
        let (resp, _) = with_server(HttpLimits::default(), |addr| {
            exchange(addr, b"GET /nope HTTP/1.1\r\n\r\n")
        });
        assert!(resp.starts_with("HTTP/1.1 404 Not Found\r\n"), "{resp}");
    }

    #[test]
    fn garbage_400() {
        let (resps, server) = with_server(HttpLimits::default(), |addr| {
            vec![
                exchange(addr, b"\x00\x01\x02hello\r\n\r\n"),
                exchange(addr, b"GET nopath HTTP/1.1\r\n\r\n"),
                exchange(addr, b"GET / HTTP/9.9\r\n\r\n"),
                exchange(addr, b"GET / HTTP/1.1\r\nbad header line\r\n\r\n"),
            ]
        });
        for r in &resps {
            assert!(r.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{r}");
        }
        assert_eq!(server.counters().bad_requests, 4);
    }

    #[test]
    fn incomplete_then_eof_400() {
        let (resp, server) = with_server(HttpLimits::default(), |addr| {
            let mut s = connect(addr);
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost:")
                .expect("write");
            s.shutdown(Shutdown::Write).expect("shutdown");
            let mut out = String::new();
            s.read_to_string(&mut out).expect("read");
            out
        });
        assert!(resp.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{resp}");
        assert_eq!(server.counters().bad_requests, 1);
    }

    #[test]
    fn non_get_405() {
        let (resps, server) = with_server(HttpLimits::default(), |addr| {
            ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"]
                .iter()
                .map(|m| {
                    exchange(
                        addr,
                        format!("{m} /healthz HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody")
                            .as_bytes(),
                    )
                })
                .collect::<Vec<_>>()
        });
        for r in &resps {
            assert!(r.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{r}");
            assert!(r.contains("Allow: GET, HEAD\r\n"), "{r}");
        }
        assert_eq!(server.counters().method_not_allowed, 5);
    }

    #[test]
    fn oversized_head_431() {
        let (resps, server) = with_server(HttpLimits::default(), |addr| {
            let mut long = b"GET / HTTP/1.1\r\nX-Pad: ".to_vec();
            long.extend(std::iter::repeat_n(b'a', 20_000));
            long.extend_from_slice(b"\r\n\r\n");
            let mut many = b"GET / HTTP/1.1\r\n".to_vec();
            for i in 0..100 {
                many.extend_from_slice(format!("X-{i}: 1\r\n").as_bytes());
            }
            many.extend_from_slice(b"\r\n");
            vec![exchange(addr, &long), exchange(addr, &many)]
        });
        for r in &resps {
            assert!(
                r.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
                "{r}"
            );
        }
        assert_eq!(server.counters().head_too_large, 2);
    }

    #[test]
    fn large_response_written_across_would_block() {
        let (len, _) = with_server(HttpLimits::default(), |addr| {
            let mut s = connect(addr);
            s.write_all(b"GET /big HTTP/1.1\r\n\r\n").expect("write");
            thread::sleep(Duration::from_millis(100)); // let the send buffer fill
            let mut out = Vec::new();
            s.read_to_end(&mut out).expect("read");
            let split = out
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .expect("head end");
            out.len() - split - 4
        });
        assert_eq!(len, 1 << 20);
    }

    #[test]
    fn idle_connection_closed() {
        let limits = HttpLimits {
            request_timeout: Duration::from_millis(200),
            ..HttpLimits::default()
        };
        let (elapsed, server) = with_server(limits, |addr| {
            let mut s = connect(addr);
            let t = Instant::now();
            let mut out = Vec::new();
            s.read_to_end(&mut out)
                .expect("server closes, no read timeout");
            assert!(out.is_empty());
            t.elapsed()
        });
        assert!(elapsed >= Duration::from_millis(150), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
        assert_eq!(server.counters().timed_out, 1);
        assert_eq!(server.counters().bad_requests, 0);
    }

    #[test]
    fn slow_sender_closed() {
        let limits = HttpLimits {
            request_timeout: Duration::from_millis(300),
            ..HttpLimits::default()
        };
        let (_, server) = with_server(limits, |addr| {
            let mut s = connect(addr);
            // One byte every 50 ms never completes the head in time.
            for b in b"GET /healthz HTTP/1.1\r\n".iter() {
                if s.write_all(&[*b]).is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out);
        });
        assert_eq!(server.counters().timed_out, 1);
    }

    #[test]
    fn bare_tcp_check_just_works() {
        let (resp, server) = with_server(HttpLimits::default(), |addr| {
            for _ in 0..3 {
                drop(StdStream::connect(addr).expect("connect")); // like `nc -z`
            }
            exchange(addr, b"GET /healthz HTTP/1.1\r\n\r\n")
        });
        assert!(resp.starts_with("HTTP/1.1 200 OK"), "{resp}");
        let c = server.counters();
        assert_eq!(c.accepted, 4);
        assert_eq!((c.bad_requests, c.timed_out, c.responses), (0, 0, 1));
        assert_eq!(server.open_connections(), 0);
    }

    /// A connection to `addr` from the loopback address `from` (all of 127/8 is ours).
    fn connect_from(from: [u8; 4], addr: SocketAddr) -> StdStream {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        socket
            .bind(&SocketAddr::from((from, 0)).into())
            .expect("bind a loopback address");
        socket.connect(&addr.into()).expect("connect");
        socket.into()
    }

    #[test]
    fn at_the_cap_the_busiest_address_makes_room_not_a_lone_waiting_client() {
        let limits = HttpLimits {
            max_connections: 4,
            ..HttpLimits::default()
        };
        let (lone_held, server) = with_server(limits, |addr| {
            // A game client behind a proxy: connected, its first bytes a round trip away.
            let mut lone = connect(addr);
            thread::sleep(Duration::from_millis(100)); // accepted first: the oldest
            let mut flood = Vec::new();
            for _ in 0..8 {
                flood.push(connect_from([127, 0, 0, 2], addr));
                thread::sleep(Duration::from_millis(100));
            }
            lone.set_nonblocking(true).expect("nonblocking");
            let held = matches!(
                lone.read(&mut [0u8; 16]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock
            );
            drop(flood);
            held
        });
        assert!(
            lone_held,
            "the lone waiting connection was closed for the flooder's"
        );
        let c = server.counters();
        assert!(c.evicted >= 5, "{c:?}");
    }

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room() {
        let limits = HttpLimits {
            max_connections: 2,
            ..HttpLimits::default()
        };
        let (out, server) = with_server(limits, |addr| {
            let mut idle = connect(addr);
            thread::sleep(Duration::from_millis(100)); // accepted first: the oldest
            let mut slow = connect(addr);
            slow.write_all(b"GET /heal").expect("write");
            thread::sleep(Duration::from_millis(100));
            // Both slots held: the newcomer is still served...
            let probe = exchange(addr, b"GET /healthz HTTP/1.1\r\n\r\n");
            // ...and the idle one (oldest) was closed for it: EOF or a reset.
            let mut buf = Vec::new();
            let idle_end = idle.read_to_end(&mut buf).map(|_| buf.len());
            // ...while the slow one, newer, is still held.
            slow.set_nonblocking(true).expect("nonblocking");
            let slow_held = matches!(
                slow.read(&mut [0u8; 16]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock
            );
            slow.set_nonblocking(false).expect("blocking");
            // The slow one is next in line: with the probe's slot taken again, another
            // newcomer evicts it, not the newer idle connection.
            thread::sleep(Duration::from_millis(100));
            let idle2 = connect(addr);
            thread::sleep(Duration::from_millis(100));
            let probe2 = exchange(addr, b"GET /healthz HTTP/1.1\r\n\r\n");
            let mut buf = Vec::new();
            let slow_end = slow.read_to_end(&mut buf).map(|_| buf.len());
            drop(idle2);
            (probe, idle_end, slow_held, probe2, slow_end)
        });
        let (probe, idle_end, slow_held, probe2, slow_end) = out;
        assert!(slow_held, "the newer, slow connection was evicted first");
        assert!(probe.starts_with("HTTP/1.1 200 OK"), "{probe}");
        assert!(probe2.starts_with("HTTP/1.1 200 OK"), "{probe2}");
        for end in [idle_end, slow_end] {
            match end {
                Ok(n) => assert_eq!(n, 0, "evicted without a response"),
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
            }
        }
        let c = server.counters();
        // Two, or three if the first probe's connection was still draining when the
        // newer idle one arrived (the slow one goes first either way).
        assert!((2..=3).contains(&c.evicted), "{c:?}");
        assert_eq!(c.rejected_over_cap, 0, "{c:?}");
    }

    #[test]
    fn a_request_waiting_on_the_oldest_connection_is_answered_not_evicted() {
        let limits = HttpLimits {
            max_connections: 1,
            ..HttpLimits::default()
        };
        let ((first, second), server) = with_server(limits, |addr| {
            let mut a = connect(addr);
            thread::sleep(Duration::from_millis(100)); // accepted, holding the only slot
                                                       // A's request and B's connect reach the server in the same loop turn, in
                                                       // either order: both must be answered.
            a.write_all(b"GET /healthz HTTP/1.1\r\n\r\n")
                .expect("write");
            let b = thread::spawn(move || exchange(addr, b"GET /healthz HTTP/1.1\r\n\r\n"));
            let mut out = Vec::new();
            a.read_to_end(&mut out).expect("read");
            (
                String::from_utf8_lossy(&out).into_owned(),
                b.join().expect("second client"),
            )
        });
        assert!(first.starts_with("HTTP/1.1 200 OK"), "{first}");
        assert!(second.starts_with("HTTP/1.1 200 OK"), "{second}");
        assert_eq!(server.counters().rejected_over_cap, 0);
    }

    #[test]
    fn refused_only_when_every_connection_is_mid_response() {
        let limits = HttpLimits {
            max_connections: 1,
            ..HttpLimits::default()
        };
        let ((refused, after), server) = with_server(limits, |addr| {
            // A reader that does not read: its 32 MiB response stays mid-write.
            let mut stuck = connect(addr);
            stuck
                .write_all(b"GET /huge HTTP/1.1\r\n\r\n")
                .expect("write");
            thread::sleep(Duration::from_millis(300));
            let mut c = connect(addr);
            let mut out = Vec::new();
            let refused = c
                .read_to_end(&mut out)
                .map(|_| String::from_utf8_lossy(&out).into_owned());
            // Once the stuck client reads its response to the end, the slot frees up.
            let mut sink = Vec::new();
            let _ = stuck.read_to_end(&mut sink);
            drop(stuck);
            let mut ok = String::new();
            for _ in 0..50 {
                ok = exchange(addr, b"GET /healthz HTTP/1.1\r\n\r\n");
                if ok.starts_with("HTTP/1.1 200") {
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
            (refused, ok)
        });
        match &refused {
            Ok(s) => assert!(s.is_empty() || s.starts_with("HTTP/1.1 503"), "{s}"),
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
        }
        assert!(after.starts_with("HTTP/1.1 200 OK"), "{after}");
        assert!(server.counters().rejected_over_cap >= 1);
    }

    #[test]
    fn tokens_and_deadline() {
        let listener =
            TcpListener::bind("127.0.0.1:0".parse().expect("addr")).expect("bind port 0");
        let mut server = HttpServer::new(listener, HttpLimits::default());
        assert!(!server.owns(Token(0)));
        let poll = Poll::new().expect("poll");
        server
            .register(poll.registry(), Token(10))
            .expect("register");
        assert!(server.owns(Token(10)) && server.owns(Token(74)));
        assert!(!server.owns(Token(9)) && !server.owns(Token(75)));
        assert_eq!(server.next_deadline(), None);
        let mut s2 = HttpServer::new(
            TcpListener::bind("127.0.0.1:0".parse().expect("addr")).expect("bind"),
            HttpLimits::default(),
        );
        assert!(matches!(
            s2.register(poll.registry(), Token(usize::MAX - 3)),
            Err(HttpError::TokenRange { .. })
        ));
        server.shutdown(poll.registry());
    }

    #[test]
    fn response_header_injection_is_neutralised() {
        let r = Response::text(200, "x").with_header("X-A", "v\r\nSet-Cookie: evil");
        let bytes = String::from_utf8(r.to_bytes(false)).expect("utf8");
        assert!(bytes.contains("X-A: v  Set-Cookie: evil\r\n"), "{bytes}");
    }
}
