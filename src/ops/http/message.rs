//! The HTTP messages: the request head the router sees, and the response it returns,
//! written as HTTP/1.1 with `Content-Length` and `Connection: close`.

use std::net::SocketAddr;

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
    pub(super) upgrade: bool,
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
    /// written the connection is handed over ([`HttpServer::take_handoffs`](super::HttpServer::take_handoffs)).
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
    pub(super) fn to_bytes(&self, head_only: bool) -> Vec<u8> {
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
