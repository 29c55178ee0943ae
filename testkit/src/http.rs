//! One plain HTTP/1.1 GET to the server's TCP port (on 127.0.0.1 unless an address is given).

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// `GET path` with 5 s timeouts: (status, body).
pub fn get(port: u16, path: &str) -> io::Result<(u16, String)> {
    get_timeout(port, path, Duration::from_secs(5))
}

/// `GET path` with the given connect, read and write timeouts: (status, body).
pub fn get_timeout(port: u16, path: &str, timeout: Duration) -> io::Result<(u16, String)> {
    get_at(
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        path,
        timeout,
    )
}

/// `GET path` from the server at `addr`, with the given timeouts: (status, body).
pub fn get_at(addr: SocketAddr, path: &str, timeout: Duration) -> io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    parse_response(&buf)
}

/// Splits a whole HTTP/1.x response into (status, body).
pub fn parse_response(bytes: &[u8]) -> io::Result<(u16, String)> {
    let text = String::from_utf8_lossy(bytes);
    let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| bad(format!("no header end: {text:?}")))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad(format!("bad status line: {head:?}")))?;
    Ok((status, body.to_string()))
}

/// Sends `request` as is (any method, any headers) to `addr` and reads the whole
/// response: (status, head and body as text).
pub fn raw(addr: SocketAddr, request: &[u8], timeout: Duration) -> io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(request)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let (status, _) = parse_response(&buf)?;
    Ok((status, String::from_utf8_lossy(&buf).into_owned()))
}
