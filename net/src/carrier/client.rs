//! The client's carrier: UDP, TCP or WebSocket to one server, or `auto`: UDP first, and
//! TCP raced beside it when UDP has brought no answer within [`RACE_AFTER`] (as happy
//! eyeballs race address families). The first carrier that brings any packet back wins
//! and the other is dropped; the packets sent before that are handshake `Hello`s, which
//! are safe to send twice. A SOCKS5 proxy (Tor) implies a stream. A stream that breaks
//! (the server restarted) is connected again on the next send, after [`RECONNECT_EVERY`];
//! under `auto` the race starts over, so reconnects go through the same choice, and so
//! does a carrier that has brought nothing back for [`RERACE_AFTER`].

use std::io;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use mio::{Registry, Token};

use super::stream::{StreamClient, StreamTarget};
use super::udp::UdpCarrier;
use super::{Carrier, CarrierKind, CarrierStats, Remote};

/// How long UDP may go unanswered before TCP joins the race.
pub const RACE_AFTER: Duration = Duration::from_secs(1);
/// Least time between two attempts to connect a stream.
pub const RECONNECT_EVERY: Duration = Duration::from_secs(1);
/// Under `auto`, a carrier that has brought nothing back for this long while we send is
/// raced again against the other (the network changed under a running game: UDP blocked
/// on a new network, or open again).
pub const RERACE_AFTER: Duration = Duration::from_secs(3);

/// The client's `--transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// UDP, and TCP raced beside it when UDP gets no answer.
    #[default]
    Auto,
    Udp,
    Tcp,
    WebSocket,
}

impl FromStr for Transport {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Transport::Auto),
            "udp" => Ok(Transport::Udp),
            "tcp" => Ok(Transport::Tcp),
            "ws" | "websocket" => Ok(Transport::WebSocket),
            other => Err(format!("unknown transport {other:?}")),
        }
    }
}

impl Transport {
    pub const VALID: &'static str = "auto, udp, tcp or ws";
}

/// A `--proxy socks5h://HOST:PORT` (or `socks5://`: either way the server's name is sent
/// to the proxy to resolve, so `.onion` names work).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub host: String,
    pub port: u16,
}

impl FromStr for Proxy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let rest = s
            .strip_prefix("socks5h://")
            .or_else(|| s.strip_prefix("socks5://"))
            .ok_or("the proxy must be socks5h://HOST:PORT")?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = rest.rsplit_once(':').ok_or("the proxy needs a :PORT")?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port: u16 = port
            .parse()
            .map_err(|_| format!("bad proxy port {port:?}"))?;
        if host.is_empty() || port == 0 {
            return Err("the proxy needs a host and a port".into());
        }
        Ok(Proxy {
            host: host.to_owned(),
            port,
        })
    }
}

/// Where the client connects.
#[derive(Debug, Clone)]
pub struct ClientTarget {
    pub transport: Transport,
    /// The server as the user wrote it (host and port).
    pub host: String,
    pub port: u16,
    /// The server's address, resolved here (`None` when only the proxy resolves it).
    pub addr: Option<SocketAddr>,
    /// The proxy's resolved address.
    pub proxy: Option<SocketAddr>,
}

impl ClientTarget {
    /// The address the sessions know the server by (a stand-in when only the proxy
    /// knows it).
    pub fn session_addr(&self) -> SocketAddr {
        self.addr
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], self.port)))
    }

    /// The stream kind this target uses, if it uses one.
    fn stream_kind(&self) -> CarrierKind {
        match self.transport {
            Transport::WebSocket => CarrierKind::WebSocket,
            _ => CarrierKind::Tcp,
        }
    }

    /// Whether UDP is on the table at all.
    fn uses_udp(&self) -> bool {
        self.proxy.is_none() && matches!(self.transport, Transport::Auto | Transport::Udp)
    }
}

/// The client's carrier (see the module docs).
pub struct ClientCarrier {
    target: ClientTarget,
    udp: Option<UdpCarrier>,
    stream: Option<StreamClient>,
    /// The carrier that won (or the only one allowed).
    chosen: Option<CarrierKind>,
    /// When the first packet of the current attempt went out (the race's clock).
    first_send: Option<Duration>,
    last_stream_attempt: Option<Duration>,
    /// When the last packet came in.
    last_recv: Option<Duration>,
    now: Duration,
    registry: Option<(Registry, Token)>,
    /// Counters of streams already dropped.
    retired: [CarrierStats; 3],
    last_error: Option<String>,
}

impl std::fmt::Debug for ClientCarrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCarrier")
            .field("target", &self.target)
            .field("chosen", &self.chosen)
            .finish_non_exhaustive()
    }
}

impl ClientCarrier {
    /// A carrier for `target`. With a registry, UDP is registered under `udp_token` and
    /// each stream under `stream_token` (readiness wakes the loop; without it, the loop's
    /// timeouts drive it).
    pub fn new(
        target: ClientTarget,
        registry: Option<(&Registry, Token, Token)>,
    ) -> io::Result<ClientCarrier> {
        let mut udp = None;
        if target.uses_udp() {
            let addr = target.session_addr();
            let bind: SocketAddr = if addr.is_ipv4() {
                SocketAddr::from(([0, 0, 0, 0], 0))
            } else {
                SocketAddr::from(([0u16; 8], 0))
            };
            let mut u = UdpCarrier::bind(bind)?;
            // The port the OS picked may be the server's own (on loopback, with the
            // server down): the socket would hear itself. Pick again; the OS draws at
            // random, so a second draw is all but sure to differ.
            for _ in 0..4 {
                if u.local_addr()?.port() != addr.port() {
                    break;
                }
                u = UdpCarrier::bind(bind)?;
            }
            if let Some((r, t, _)) = registry {
                u.register(r, t)?;
            }
            udp = Some(u);
        }
        let registry = match registry {
            Some((r, _, t)) => Some((r.try_clone()?, t)),
            None => None,
        };
        let chosen = match target.transport {
            Transport::Udp if target.proxy.is_none() => Some(CarrierKind::Udp),
            Transport::Auto if target.proxy.is_none() => None,
            _ => Some(target.stream_kind()),
        };
        Ok(ClientCarrier {
            target,
            udp,
            stream: None,
            chosen,
            first_send: None,
            last_stream_attempt: None,
            last_recv: None,
            now: Duration::ZERO,
            registry,
            retired: [CarrierStats::default(); 3],
            last_error: None,
        })
    }

    /// The carrier in use: the winner, or the only one allowed (`None` while racing).
    pub fn in_use(&self) -> Option<CarrierKind> {
        self.chosen
    }

    /// The last stream failure (for status lines).
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Whether the carrier in use is a stream.
    pub fn is_stream(&self) -> bool {
        self.chosen.is_some_and(CarrierKind::is_stream)
    }

    fn server_remote(&self, kind: CarrierKind) -> Remote {
        Remote::new(kind, self.target.session_addr())
    }

    /// Connects a stream if none is up and the last attempt is old enough.
    fn ensure_stream(&mut self) {
        if let Some(s) = &self.stream {
            match s.error() {
                None => return,
                Some(e) => {
                    self.last_error = Some(e.to_owned());
                    let kind = s.kind();
                    let old = self.stream.take().map(|s| s.stats(kind));
                    if let Some(st) = old {
                        self.retired[kind.index()].add(&st);
                    }
                    if self.target.transport == Transport::Auto && self.target.proxy.is_none() {
                        // Under auto the race starts over on the next attempt.
                        self.chosen = None;
                        self.first_send = None;
                        return;
                    }
                }
            }
        }
        if self
            .last_stream_attempt
            .is_some_and(|t| self.now.saturating_sub(t) < RECONNECT_EVERY)
        {
            return;
        }
        self.last_stream_attempt = Some(self.now);
        let kind = self.target.stream_kind();
        let Some(connect_to) = self.target.proxy.or(self.target.addr) else {
            self.last_error = Some(format!("cannot resolve {}", self.target.host));
            return;
        };
        let target = StreamTarget {
            kind,
            host: self.target.host.clone(),
            port: self.target.port,
            proxy: self.target.proxy,
        };
        match StreamClient::connect(target, connect_to, self.server_remote(kind), self.now) {
            Ok(mut s) => {
                if let Some((r, t)) = &self.registry {
                    let _ = s.register(r, *t);
                }
                self.stream = Some(s);
            }
            Err(e) => self.last_error = Some(format!("connect {connect_to}: {e}")),
        }
    }

    fn racing(&self) -> bool {
        self.chosen.is_none()
    }
}

impl Carrier for ClientCarrier {
    fn recv(&mut self, buf: &mut [u8]) -> Option<(usize, Remote)> {
        let from_udp = match self.chosen {
            Some(CarrierKind::Udp) | None => self.udp.as_mut().and_then(|u| u.recv(buf)),
            _ => None,
        };
        if let Some(got) = from_udp {
            self.last_recv = Some(self.now);
            if self.racing() && got.1.addr == self.target.session_addr() {
                self.chosen = Some(CarrierKind::Udp);
                self.stream = None;
            }
            return Some(got);
        }
        let got = self.stream.as_mut().and_then(|s| s.recv(buf))?;
        self.last_recv = Some(self.now);
        if self.racing() {
            self.chosen = Some(got.1.carrier);
        }
        Some(got)
    }

    fn send(&mut self, _to: Remote, packet: &[u8]) {
        let auto = self.target.transport == Transport::Auto && self.target.proxy.is_none();
        let heard = self.last_recv.or(self.first_send).unwrap_or(self.now);
        if auto && !self.racing() && self.now.saturating_sub(heard) >= RERACE_AFTER {
            // Silent while we send: race both again at once.
            self.chosen = None;
            self.first_send = Some(self.now.saturating_sub(RACE_AFTER));
            self.last_recv = Some(self.now);
        }
        let first = *self.first_send.get_or_insert(self.now);
        let udp_to = self.server_remote(CarrierKind::Udp);
        // A stream is connected to its server: the address it is given is not used.
        let stream_to = self.server_remote(self.target.stream_kind());
        let (via_udp, via_stream) = match self.chosen {
            Some(CarrierKind::Udp) => (true, false),
            Some(_) => (false, true),
            None => (true, self.now.saturating_sub(first) >= RACE_AFTER),
        };
        if via_udp {
            if let Some(u) = self.udp.as_mut() {
                u.send(udp_to, packet);
            }
        }
        if via_stream {
            self.ensure_stream();
            if let Some(s) = self.stream.as_mut() {
                s.send(stream_to, packet);
            }
        }
    }

    fn stats(&self, kind: CarrierKind) -> CarrierStats {
        let mut s = self.retired[kind.index()];
        if let Some(u) = &self.udp {
            s.add(&u.stats(kind));
        }
        if let Some(st) = &self.stream {
            s.add(&st.stats(kind));
        }
        s
    }

    fn poll(&mut self, now: Duration) {
        self.now = now;
        if let Some(s) = self.stream.as_mut() {
            s.poll(now);
        }
        if self.stream.as_ref().is_some_and(|s| s.error().is_some()) && !self.racing() {
            // Noted now; connected again on the next send.
            self.ensure_stream();
        }
    }

    fn take_pending(&mut self) -> bool {
        let u = self.udp.as_mut().is_some_and(|u| u.take_pending());
        let s = self.stream.as_mut().is_some_and(|s| s.take_pending());
        u || s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports_and_proxies_parse() {
        assert_eq!("auto".parse(), Ok(Transport::Auto));
        assert_eq!("WS".parse(), Ok(Transport::WebSocket));
        assert!("quic".parse::<Transport>().is_err());
        assert_eq!(
            "socks5h://127.0.0.1:9050".parse(),
            Ok(Proxy {
                host: "127.0.0.1".into(),
                port: 9050
            })
        );
        assert_eq!(
            "socks5://[::1]:1080/".parse::<Proxy>().map(|p| p.host),
            Ok("::1".to_owned())
        );
        assert!("http://x:1".parse::<Proxy>().is_err());
        assert!("socks5h://x".parse::<Proxy>().is_err());
        assert!("socks5h://:80".parse::<Proxy>().is_err());
    }
}
