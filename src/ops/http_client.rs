//! A minimal non-blocking HTTP/1.1 client for the mio loop: one request per connection
//! (`Connection: close`), a bounded response, a deadline. Used by the Agones SDK client.
//!
//! [`Exchange`] is the request/response part over any `Read + Write` that says `WouldBlock`
//! (tested with an in-memory stream); [`Connection`] adds the non-blocking connect of a mio
//! [`TcpStream`] and its registration. The stepping itself is [`crate::ops::nbio`], shared with
//! the HTTP server.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use crate::ops::nbio::{self, Step};

/// How an answered request went: `Ok(status)` for 2xx, `Err(why)` for anything else.
pub type Answer = Result<u16, Failure>;

/// Why a request did not get a 2xx answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The HTTP status, when there was an answer (`None`: connect error, timeout, EOF).
    pub status: Option<u16>,
    /// The answer's body (shortened) or the error.
    pub message: String,
}

impl Failure {
    /// A failure without an HTTP answer.
    pub fn io(message: impl Into<String>) -> Failure {
        Failure {
            status: None,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self.status {
            Some(status) => write!(f, "HTTP {status}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// One request and its response, advanced by [`Exchange::advance`].
#[derive(Debug)]
pub struct Exchange {
    request: Vec<u8>,
    written: usize,
    response: Vec<u8>,
    max_response: usize,
}

impl Exchange {
    /// `request` is the whole HTTP/1.1 request; responses longer than `max_response` fail.
    pub fn new(request: Vec<u8>, max_response: usize) -> Exchange {
        Exchange {
            request,
            written: 0,
            response: Vec::new(),
            max_response,
        }
    }

    /// Sends what is left of the request and reads what has arrived. `Ok(None)`: not done
    /// yet, wait for readiness. Errors are I/O errors and malformed or oversized answers.
    pub fn advance(&mut self, stream: &mut (impl Read + Write)) -> io::Result<Option<Answer>> {
        if nbio::write_pending(stream, &self.request, &mut self.written)? == Step::Blocked {
            return Ok(None);
        }
        loop {
            let step = nbio::read_some(stream, &mut self.response, self.max_response)?;
            if self.response.len() > self.max_response {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "response too large",
                ));
            }
            match step {
                Step::Blocked => return Ok(None),
                Step::Eof => {
                    return Ok(Some(parse_response(&self.response, true)?.unwrap_or_else(
                        || Err(Failure::io("connection closed before a complete response")),
                    )))
                }
                Step::Done => {
                    if let Some(answer) = parse_response(&self.response, false)? {
                        return Ok(Some(answer));
                    }
                }
            }
        }
    }
}

/// `Ok(None)`: incomplete. `Ok(Some(Ok(status)))`: a 2xx answer. `Ok(Some(Err(why)))`: another
/// status. `Err`: not HTTP.
pub fn parse_response(bytes: &[u8], eof: bool) -> io::Result<Option<Answer>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let head_len = match resp.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad HTTP response: {e}"),
            ))
        }
    };
    let status = resp.code.unwrap_or(0);
    let content_length = resp
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| {
            std::str::from_utf8(h.value)
                .ok()?
                .trim()
                .parse::<usize>()
                .ok()
        });
    let body_done = match content_length {
        Some(n) => bytes.len().saturating_sub(head_len) >= n,
        None => eof,
    };
    if !body_done {
        return Ok(None);
    }
    Ok(Some(if (200..300).contains(&status) {
        Ok(status)
    } else {
        let body = String::from_utf8_lossy(&bytes[head_len..]);
        Err(Failure {
            status: Some(status),
            message: body.trim().chars().take(200).collect(),
        })
    }))
}

/// An [`Exchange`] over a mio TCP connection registered under the owner's token.
pub struct Connection {
    stream: TcpStream,
    exchange: Exchange,
    connected: bool,
    /// When the whole exchange must be done.
    pub deadline: Instant,
}

impl Connection {
    /// Starts connecting (non-blocking) and registers for readiness under `token`.
    pub fn start(
        addr: SocketAddr,
        exchange: Exchange,
        registry: &Registry,
        token: Token,
        deadline: Instant,
    ) -> io::Result<Connection> {
        let mut stream = TcpStream::connect(addr)?;
        registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
        Ok(Connection {
            stream,
            exchange,
            connected: false,
            deadline,
        })
    }

    /// Advances as far as the socket allows. `None` while waiting; the answer, or why
    /// there is none (connect error, I/O error, timeout past the deadline), when done.
    pub fn advance(&mut self, now: Instant) -> Option<Answer> {
        match self.step() {
            Ok(None) if now >= self.deadline => Some(Err(Failure::io("timed out"))),
            Ok(answer) => answer,
            Err(e) => Some(Err(Failure::io(e.to_string()))),
        }
    }

    fn step(&mut self) -> io::Result<Option<Answer>> {
        if !self.connected {
            if let Some(e) = self.stream.take_error()? {
                return Err(e);
            }
            // mio's recipe for a finished non-blocking connect: the peer address is known.
            match self.stream.peer_addr() {
                Ok(_) => self.connected = true,
                Err(e)
                    if e.kind() == io::ErrorKind::NotConnected
                        || e.kind() == io::ErrorKind::WouldBlock =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(e),
            }
        }
        self.exchange.advance(&mut self.stream)
    }

    /// Deregisters and drops the connection.
    pub fn close(mut self, registry: &Registry) {
        let _ = registry.deregister(&mut self.stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::nbio::testing::Trickle;

    fn exchange_over(response: &[u8], chunk: usize, eof: bool) -> (io::Result<Answer>, Vec<u8>) {
        let mut s = Trickle {
            input: response.to_vec(),
            chunk,
            eof,
            ..Trickle::default()
        };
        let mut x = Exchange::new(b"POST /ready HTTP/1.1\r\n\r\n{}".to_vec(), 64);
        for _ in 0..1000 {
            match x.advance(&mut s) {
                Ok(None) => {}
                Ok(Some(a)) => return (Ok(a), s.output),
                Err(e) => return (Err(e), s.output),
            }
        }
        panic!("no answer");
    }

    #[test]
    fn a_request_and_its_answer_in_small_pieces() {
        let (a, sent) = exchange_over(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 3, false);
        assert_eq!(a.unwrap(), Ok(200));
        assert_eq!(sent, b"POST /ready HTTP/1.1\r\n\r\n{}");
        let (a, _) = exchange_over(b"HTTP/1.1 204 No Content\r\n\r\n", 5, true);
        assert_eq!(a.unwrap(), Ok(204));
        let (a, _) = exchange_over(
            b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy",
            2,
            false,
        );
        assert_eq!(a.unwrap().unwrap_err().to_string(), "HTTP 503: busy");
    }

    #[test]
    fn bad_answers_are_errors_not_hangs() {
        let (a, _) = exchange_over(b"HTTP/1.1 200 OK\r\nContent-Le", 4, true);
        assert_eq!(
            a.unwrap(),
            Err(Failure::io("connection closed before a complete response"))
        );
        let (a, _) = exchange_over(b"garbage\r\n\r\n", 4, true);
        assert!(a.is_err());
        let big = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n".as_slice(),
            &[b'x'; 500],
        ]
        .concat();
        let (a, _) = exchange_over(&big, 50, true);
        assert_eq!(a.unwrap_err().to_string(), "response too large");
    }

    #[test]
    fn parses_responses() {
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Len", false)
            .unwrap()
            .is_none());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{", false)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", false).unwrap(),
            Some(Ok(200))
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\n\r\n{}", true).unwrap(),
            Some(Ok(200))
        );
        let e = parse_response(b"HTTP/1.1 500 Oops\r\nContent-Length: 4\r\n\r\nboom", false)
            .unwrap()
            .unwrap();
        assert_eq!(
            e,
            Err(Failure {
                status: Some(500),
                message: "boom".into()
            })
        );
        assert!(parse_response(b"garbage\r\n\r\n", true).is_err());
    }
}
