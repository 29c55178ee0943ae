//! `GET /watch/gameserver`: the SDK sidecar's server-streaming call, as the mio loop
//! follows it. grpc-gateway answers 200 with a chunked body of newline-delimited JSON
//! objects, `{"result": GameServer}` per update (or `{"error": Status}`), and keeps it
//! open. [`StreamDecoder`] is the sans-IO part (bytes in, GameServer objects out, every
//! buffer bounded); [`Watch`] is its shell: one non-blocking connection registered with the
//! loop's registry, reconnected after [`RETRY_AFTER`] whenever it fails or ends (the
//! sidecar restarted), never blocking the loop.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use serde_json::Value;

use super::lifecycle::RETRY_AFTER;
use crate::ops::nbio::{self, Step};

/// Longest response head, and longest single JSON line (a GameServer is a few KiB).
const MAX_HEAD: usize = 16 * 1024;
const MAX_LINE: usize = 256 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    /// Waiting for a chunk-size line.
    Size,
    /// Inside a chunk: this many data bytes left.
    Data(usize),
    /// After a chunk's data: its CRLF.
    Trailer,
    /// Not chunked: the body runs to the end of the connection.
    Identity,
    /// The last (zero-size) chunk came: the stream ended.
    Done,
}

/// Decodes the watch response: head, chunked framing, newline-delimited JSON.
#[derive(Debug)]
pub struct StreamDecoder {
    buf: Vec<u8>,
    /// `None` until the head has been read.
    body: Option<Body>,
    line: Vec<u8>,
}

impl Default for StreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamDecoder {
    pub fn new() -> StreamDecoder {
        StreamDecoder {
            buf: Vec::new(),
            body: None,
            line: Vec::new(),
        }
    }

    /// True once the server ended the stream (its last chunk).
    pub fn ended(&self) -> bool {
        self.body == Some(Body::Done)
    }

    /// Feeds bytes; returns the GameServer objects they completed. An error ends the stream
    /// (not a 200, malformed framing or JSON, an oversized head or line, an `error` object).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Value>, String> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            let Some(body) = self.body else {
                if !self.read_head()? {
                    return Ok(out);
                }
                continue;
            };
            match body {
                Body::Done => return Ok(out),
                Body::Identity => {
                    let data = std::mem::take(&mut self.buf);
                    self.take_lines(&data, &mut out)?;
                    return Ok(out);
                }
                Body::Size => {
                    let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") else {
                        if self.buf.len() > 64 {
                            return Err("malformed chunk size line".into());
                        }
                        return Ok(out);
                    };
                    let text = String::from_utf8_lossy(&self.buf[..end]).to_string();
                    let hex = text.split(';').next().unwrap_or("").trim();
                    let size = usize::from_str_radix(hex, 16)
                        .map_err(|_| format!("bad chunk size {text:?}"))?;
                    self.buf.drain(..end + 2);
                    self.body = Some(if size == 0 {
                        Body::Done
                    } else {
                        Body::Data(size)
                    });
                }
                Body::Data(left) => {
                    if self.buf.is_empty() {
                        return Ok(out);
                    }
                    let n = left.min(self.buf.len());
                    let data: Vec<u8> = self.buf.drain(..n).collect();
                    self.take_lines(&data, &mut out)?;
                    self.body = Some(if n == left {
                        Body::Trailer
                    } else {
                        Body::Data(left - n)
                    });
                }
                Body::Trailer => {
                    if self.buf.len() < 2 {
                        return Ok(out);
                    }
                    if &self.buf[..2] != b"\r\n" {
                        return Err("chunk not followed by CRLF".into());
                    }
                    self.buf.drain(..2);
                    self.body = Some(Body::Size);
                }
            }
        }
    }

    /// Parses the head once complete; `Ok(false)` while incomplete.
    fn read_head(&mut self) -> Result<bool, String> {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        let len = match resp.parse(&self.buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if self.buf.len() > MAX_HEAD => {
                return Err("response head too large".into())
            }
            Ok(httparse::Status::Partial) => return Ok(false),
            Err(e) => return Err(format!("bad HTTP response: {e}")),
        };
        let status = resp.code.unwrap_or(0);
        if status != 200 {
            let body = String::from_utf8_lossy(&self.buf[len..]);
            let body: String = body.trim().chars().take(200).collect();
            return Err(format!("HTTP {status}: {body}"));
        }
        let chunked = resp.headers.iter().any(|h| {
            h.name.eq_ignore_ascii_case("transfer-encoding")
                && String::from_utf8_lossy(h.value)
                    .to_ascii_lowercase()
                    .contains("chunked")
        });
        self.body = Some(if chunked { Body::Size } else { Body::Identity });
        self.buf.drain(..len);
        Ok(true)
    }

    fn take_lines(&mut self, data: &[u8], out: &mut Vec<Value>) -> Result<(), String> {
        for &b in data {
            if b != b'\n' {
                if self.line.len() >= MAX_LINE {
                    return Err("stream message too large".into());
                }
                self.line.push(b);
                continue;
            }
            let line = std::mem::take(&mut self.line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let mut v: Value =
                serde_json::from_slice(&line).map_err(|e| format!("bad stream message: {e}"))?;
            if let Some(result) = v.get_mut("result") {
                out.push(result.take());
            } else if let Some(error) = v.get("error") {
                return Err(format!("the sidecar ended the watch: {error}"));
            } else {
                return Err("stream message without result".into());
            }
        }
        Ok(())
    }
}

struct Open {
    stream: TcpStream,
    connected: bool,
    request: Vec<u8>,
    written: usize,
    decoder: StreamDecoder,
}

/// The watch connection (see the module docs).
pub struct Watch {
    open: Option<Open>,
    retry_at: Instant,
    failing: bool,
}

impl Watch {
    /// A watch that connects on the first [`poll`](Watch::poll).
    pub fn new(now: Instant) -> Watch {
        Watch {
            open: None,
            retry_at: now,
            failing: false,
        }
    }

    /// When the watch wants a poll without socket events (its reconnect).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.open.is_none().then_some(self.retry_at)
    }

    /// Connects when due, sends the request, reads what arrived. Returns the GameServer
    /// objects received. Never blocks.
    pub fn poll(
        &mut self,
        registry: &Registry,
        token: Token,
        addr: SocketAddr,
        now: Instant,
    ) -> Vec<Value> {
        if self.open.is_none() {
            if now < self.retry_at {
                return Vec::new();
            }
            match TcpStream::connect(addr).and_then(|mut stream| {
                registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
                Ok(stream)
            }) {
                Ok(stream) => {
                    let request = format!(
                        "GET /watch/gameserver HTTP/1.1\r\nHost: localhost:{}\r\nAccept: application/json\r\n\r\n",
                        addr.port()
                    );
                    self.open = Some(Open {
                        stream,
                        connected: false,
                        request: request.into_bytes(),
                        written: 0,
                        decoder: StreamDecoder::new(),
                    });
                }
                Err(e) => {
                    self.failed(now, &format!("connect: {e}"));
                    return Vec::new();
                }
            }
        }
        let Some(open) = &mut self.open else {
            return Vec::new();
        };
        match step(open) {
            Ok((objects, ended)) => {
                if !objects.is_empty() && self.failing {
                    self.failing = false;
                    log::info!(target: "venture::agones", component = "agones"; "Agones: watching the GameServer again");
                }
                if ended {
                    self.close(registry);
                    self.failed(now, "the sidecar ended the stream");
                }
                objects
            }
            Err(why) => {
                self.close(registry);
                self.failed(now, &why);
                Vec::new()
            }
        }
    }

    /// Deregisters and drops the connection.
    pub fn close(&mut self, registry: &Registry) {
        if let Some(mut open) = self.open.take() {
            let _ = registry.deregister(&mut open.stream);
        }
    }

    fn failed(&mut self, now: Instant, why: &str) {
        self.retry_at = now + RETRY_AFTER;
        if self.failing {
            log::debug!(target: "venture::agones", component = "agones", error = why; "Agones GameServer watch failed");
        } else {
            self.failing = true;
            log::warn!(target: "venture::agones", component = "agones", error = why; "Agones GameServer watch failed (not fatal; reconnecting every second)");
        }
    }
}

/// Advances one open watch: the objects received, and whether the stream ended.
fn step(open: &mut Open) -> Result<(Vec<Value>, bool), String> {
    if !open.connected {
        if let Some(e) = open.stream.take_error().map_err(|e| e.to_string())? {
            return Err(format!("connect: {e}"));
        }
        match open.stream.peer_addr() {
            Ok(_) => open.connected = true,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotConnected | io::ErrorKind::WouldBlock
                ) =>
            {
                return Ok((Vec::new(), false))
            }
            Err(e) => return Err(format!("connect: {e}")),
        }
    }
    if nbio::write_pending(&mut open.stream, &open.request, &mut open.written)
        .map_err(|e| e.to_string())?
        == Step::Blocked
    {
        return Ok((Vec::new(), false));
    }
    let mut objects = Vec::new();
    // Edge-triggered: read until the socket blocks.
    loop {
        let mut buf = Vec::with_capacity(4096);
        match nbio::read_some(&mut open.stream, &mut buf, 4096) {
            Ok(Step::Blocked) => return Ok((objects, false)),
            Ok(Step::Eof) => return Ok((objects, true)),
            Ok(Step::Done) => {
                objects.extend(open.decoder.feed(&buf)?);
                if open.decoder.ended() {
                    return Ok((objects, true));
                }
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HEAD: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";

    fn chunk(v: &Value) -> Vec<u8> {
        let line = format!("{v}\n");
        format!("{:x}\r\n{line}\r\n", line.len()).into_bytes()
    }

    fn gs(state: &str) -> Value {
        json!({"result": {"status": {"state": state}}})
    }

    #[test]
    fn decodes_the_stream_in_any_pieces() {
        let mut all = HEAD.to_vec();
        all.extend(chunk(&gs("Ready")));
        all.extend(chunk(&gs("Allocated")));
        for piece in [1, 2, 3, 7, 64, all.len()] {
            let mut d = StreamDecoder::new();
            let mut got = Vec::new();
            for p in all.chunks(piece) {
                got.extend(d.feed(p).unwrap());
            }
            let states: Vec<_> = got.iter().map(|v| v["status"]["state"].clone()).collect();
            assert_eq!(
                states,
                [json!("Ready"), json!("Allocated")],
                "pieces of {piece}"
            );
            assert!(!d.ended());
        }
    }

    #[test]
    fn a_message_split_over_chunks_and_the_last_chunk() {
        let line = format!("{}\n", gs("Allocated"));
        let (a, b) = line.split_at(10);
        let mut d = StreamDecoder::new();
        let mut bytes = HEAD.to_vec();
        bytes.extend(
            format!(
                "{:x}\r\n{a}\r\n{:x};ext=1\r\n{b}\r\n0\r\n\r\n",
                a.len(),
                b.len()
            )
            .bytes(),
        );
        let got = d.feed(&bytes).unwrap();
        assert_eq!(got[0]["status"]["state"], "Allocated");
        assert!(d.ended());
    }

    #[test]
    fn errors_end_the_stream_and_nothing_grows_unbounded() {
        let mut d = StreamDecoder::new();
        let e = d
            .feed(b"HTTP/1.1 404 Not Found\r\nContent-Length: 30\r\n\r\n{\"code\":5,\"message\":\"Not Found\"}")
            .unwrap_err();
        assert!(e.starts_with("HTTP 404"), "{e}");
        let mut d = StreamDecoder::new();
        let mut bytes = HEAD.to_vec();
        bytes.extend(chunk(
            &json!({"error": {"code": 14, "message": "going away"}}),
        ));
        assert!(d.feed(&bytes).unwrap_err().contains("going away"));
        let mut d = StreamDecoder::new();
        assert!(d.feed(&[b'x'; MAX_HEAD + 10]).is_err());
        let mut d = StreamDecoder::new();
        d.feed(HEAD).unwrap();
        assert!(d.feed(b"zz\r\n").unwrap_err().contains("chunk size"));
        let mut d = StreamDecoder::new();
        d.feed(HEAD).unwrap();
        let huge = vec![b'a'; MAX_LINE + 1];
        let mut framed = format!("{:x}\r\n", huge.len()).into_bytes();
        framed.extend(&huge);
        assert!(d.feed(&framed).unwrap_err().contains("too large"));
        let mut d = StreamDecoder::new();
        d.feed(HEAD).unwrap();
        assert!(d.feed(&chunk(&json!({"nope": 1}))).is_err());
    }

    #[test]
    fn an_unchunked_stream_runs_to_the_end_of_the_connection() {
        let mut d = StreamDecoder::new();
        let mut bytes = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        bytes.extend(format!("{}\n{}\n", gs("Ready"), gs("Allocated")).bytes());
        assert_eq!(d.feed(&bytes).unwrap().len(), 2);
    }
}
