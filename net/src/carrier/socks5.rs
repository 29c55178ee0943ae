//! A SOCKS5 client handshake (RFC 1928), sans-IO: the bytes to send, and what the proxy's
//! answers mean. Only what a game client needs: no authentication, `CONNECT`, and the
//! destination given as a host name that the proxy resolves (`socks5h`), so `.onion`
//! names reach Tor, which is this module's main user.

use thiserror::Error;

/// Why the proxy did not connect us.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Socks5Error {
    #[error("the proxy does not speak SOCKS5 (it answered version {0})")]
    NotSocks5(u8),
    #[error("the proxy wants authentication, which this client does not offer")]
    AuthRequired,
    #[error("the proxy refused the connection: {0}")]
    Refused(&'static str),
    #[error("the proxy's answer is malformed")]
    Malformed,
    #[error("host name of {0} bytes: SOCKS5 allows 1 to 255")]
    BadHost(usize),
}

/// The greeting: version 5, one method, "no authentication".
pub const GREETING: [u8; 3] = [5, 1, 0];

/// The `CONNECT` request for `host:port`, the host sent as a name (address type 3).
pub fn connect_request(host: &str, port: u16) -> Result<Vec<u8>, Socks5Error> {
    let name = host.as_bytes();
    if name.is_empty() || name.len() > 255 {
        return Err(Socks5Error::BadHost(name.len()));
    }
    let mut req = vec![5, 1, 0, 3, name.len() as u8];
    req.extend_from_slice(name);
    req.extend_from_slice(&port.to_be_bytes());
    Ok(req)
}

/// Whether the proxy's first answer (its choice of method) is in and accepts "no
/// authentication". The `CONNECT` request goes out only then: a client may not send it
/// beside the greeting, since proxies such as microsocks read the greeting alone and drop
/// what came with it (RFC 1928 has the client wait for the method choice).
pub fn method_chosen(buf: &[u8]) -> Result<bool, Socks5Error> {
    match buf {
        [] | [_] => Ok(false),
        [v, ..] if *v != 5 => Err(Socks5Error::NotSocks5(*v)),
        [_, 0, ..] => Ok(true),
        [_, 0xFF, ..] => Err(Socks5Error::AuthRequired),
        _ => Err(Socks5Error::Malformed),
    }
}

/// Where the handshake stands after the proxy's bytes so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Wait for more bytes.
    NeedMore,
    /// Connected: this many bytes of the buffer were the proxy's answers; any after them
    /// are already the destination's.
    Connected { consumed: usize },
}

/// Reads the proxy's two answers (method choice, then the `CONNECT` reply) from the
/// bytes received so far, all of them each time.
pub fn parse_replies(buf: &[u8]) -> Result<Progress, Socks5Error> {
    if !method_chosen(buf)? {
        return Ok(Progress::NeedMore);
    }
    let reply = &buf[2..];
    if reply.len() < 5 {
        return Ok(Progress::NeedMore);
    }
    if reply[0] != 5 {
        return Err(Socks5Error::NotSocks5(reply[0]));
    }
    if reply[1] != 0 {
        return Err(Socks5Error::Refused(reply_text(reply[1])));
    }
    let addr_len = match reply[3] {
        1 => 4,
        4 => 16,
        3 => 1 + reply[4] as usize,
        _ => return Err(Socks5Error::Malformed),
    };
    let len = 4 + addr_len + 2;
    if reply.len() < len {
        return Ok(Progress::NeedMore);
    }
    Ok(Progress::Connected { consumed: 2 + len })
}

fn reply_text(code: u8) -> &'static str {
    match code {
        1 => "general failure",
        2 => "not allowed by its rules",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused by the destination",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown reply code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_names_the_host_for_the_proxy_to_resolve() {
        let r = connect_request("abc.onion", 8080).expect("valid");
        assert_eq!(&r[..5], &[5, 1, 0, 3, 9]);
        assert_eq!(&r[5..14], b"abc.onion");
        assert_eq!(&r[14..], &8080u16.to_be_bytes());
        assert_eq!(connect_request("", 1), Err(Socks5Error::BadHost(0)));
        assert!(connect_request(&"a".repeat(256), 1).is_err());
    }

    #[test]
    fn replies_parse_piece_by_piece() {
        let mut answer = vec![5, 0, 5, 0, 0, 1, 127, 0, 0, 1, 0x1F, 0x90];
        for n in 0..answer.len() {
            assert_eq!(parse_replies(&answer[..n]), Ok(Progress::NeedMore), "{n}");
        }
        assert_eq!(
            parse_replies(&answer),
            Ok(Progress::Connected { consumed: 12 })
        );
        answer.extend_from_slice(b"extra");
        assert_eq!(
            parse_replies(&answer),
            Ok(Progress::Connected { consumed: 12 })
        );
        let named = [5, 0, 5, 0, 0, 3, 3, b'a', b'b', b'c', 0, 80];
        assert_eq!(
            parse_replies(&named),
            Ok(Progress::Connected { consumed: 12 })
        );
    }

    #[test]
    fn the_method_choice_comes_first_and_alone() {
        assert_eq!(method_chosen(&[]), Ok(false));
        assert_eq!(method_chosen(&[5]), Ok(false));
        assert_eq!(method_chosen(&[5, 0]), Ok(true));
        assert_eq!(method_chosen(&[5, 0, 5, 0]), Ok(true));
        assert_eq!(method_chosen(&[5, 0xFF]), Err(Socks5Error::AuthRequired));
        assert_eq!(method_chosen(&[5, 2]), Err(Socks5Error::Malformed));
        assert_eq!(method_chosen(&[4, 0]), Err(Socks5Error::NotSocks5(4)));
    }

    #[test]
    fn refusals_and_garbage_are_errors() {
        assert_eq!(parse_replies(&[4, 0]), Err(Socks5Error::NotSocks5(4)));
        assert_eq!(parse_replies(&[5, 0xFF]), Err(Socks5Error::AuthRequired));
        assert_eq!(
            parse_replies(&[5, 0, 5, 4, 0, 1, 0, 0, 0, 0, 0, 0]),
            Err(Socks5Error::Refused("host unreachable"))
        );
        assert_eq!(
            parse_replies(&[5, 0, 5, 0, 0, 9, 0, 0]),
            Err(Socks5Error::Malformed)
        );
    }
}
