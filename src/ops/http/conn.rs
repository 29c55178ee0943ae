//! One HTTP connection's life: read the request head (or sniff the game's preamble),
//! route it, write the answer, then drain until the client hangs up, or hand the
//! connection over to the game.

use mio::net::TcpStream;
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr};
use std::time::Instant;

use super::{HandoffKind, HttpCounters, HttpLimits, Method, Request, Response};
use crate::ops::nbio::{self, Step};
use venture_net::carrier::framing::{self, Sniffed};

#[derive(Debug, PartialEq, Eq)]
pub(super) enum State {
    /// Reading the request head.
    Reading,
    /// Writing the response from `out[written..]`.
    Writing,
    /// Response sent and write side shut: discarding input until EOF.
    Draining,
}

#[derive(Debug)]
pub(super) struct Conn {
    pub(super) stream: TcpStream,
    pub(super) peer: SocketAddr,
    /// Accept order (a sequence number): eviction takes the oldest.
    pub(super) serial: u64,
    pub(super) state: State,
    pub(super) deadline: Instant,
    pub(super) buf: Vec<u8>,
    pub(super) out: Vec<u8>,
    pub(super) written: usize,
    pub(super) drained: usize,
    /// Where the request head ended in `buf` (for an upgrade's leftover bytes).
    pub(super) head_len: usize,
    pub(super) upgrade: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    Keep,
    Close,
    /// The connection leaves HTTP (see [`Handoff`](super::Handoff)).
    HandOff(HandoffKind),
}

/// Outcome of trying to parse the head so far.
enum Parsed {
    Partial,
    /// The response, whether it answers a `HEAD`, and where the head ended.
    Done(Response, bool, usize),
}

pub(super) fn bad(status: u16, msg: &str) -> Response {
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
pub(super) fn drive(
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

pub(super) fn respond(
    conn: &mut Conn,
    now: Instant,
    limits: &HttpLimits,
    resp: Response,
    head_only: bool,
) {
    conn.out = resp.to_bytes(head_only);
    conn.written = 0;
    conn.state = State::Writing;
    conn.deadline = now + limits.request_timeout;
}
