//! [`StreamClient`]: the client's one stream connection, connected without blocking
//! (TCP connect, SOCKS5, the preamble or the WebSocket handshake).

use super::*;

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

pub(super) enum ClientState {
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
    pub(super) target: StreamTarget,
    pub(super) state: ClientState,
    pub(super) stream: Option<TcpStream>,
    /// Bytes to write before the state's next step (proxy requests, the preamble).
    pub(super) out: Vec<u8>,
    pub(super) remote: Remote,
    /// Packets sent before the link opened (the handshake's first), bounded.
    pub(super) early: VecDeque<Vec<u8>>,
    pub(super) started: Duration,
    pub(super) now: Duration,
    pub(super) error: Option<String>,
    pub(super) stats: CarrierStats,
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
pub(super) const MAX_EARLY: usize = 16;

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

    pub(super) fn fail(&mut self, why: impl Into<String>) {
        self.error = Some(why.into());
        // Close now: a failed connection's port is free again at once, not when the
        // carrier gets round to dropping us.
        self.stream = None;
        self.state = ClientState::Failed;
        self.stats.closed += 1;
    }

    pub(super) fn write_out(&mut self) -> io::Result<()> {
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
    pub(super) fn advance(&mut self) {
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

    pub(super) fn step(&mut self) {
        match std::mem::replace(&mut self.state, ClientState::Failed) {
            ClientState::Connecting => {
                let Some(stream) = self.stream.as_ref() else {
                    return self.fail("no stream");
                };
                if let Ok(Some(e)) | Err(e) = stream.take_error() {
                    return self.fail(format!("connect: {e}"));
                }
                match stream.peer_addr() {
                    // Connecting on loopback to a port nobody listens on, the kernel may
                    // pick that very port as ours: the socket connects to itself (TCP
                    // simultaneous open) and echoes every packet, which looks like an
                    // answer, and it holds the port the server is about to bind.
                    Ok(peer) if stream.local_addr().is_ok_and(|local| local == peer) => {
                        // Aborted (RST), not closed: a close would leave the port in
                        // TIME_WAIT for a minute, and a listener cannot bind over a
                        // TIME_WAIT left by a socket without SO_REUSEADDR.
                        let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
                        return self.fail(format!(
                            "connect: nothing listens on {peer} (the socket connected to itself)"
                        ));
                    }
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
            ClientState::WsHandshake(mid) => self.ws_handshake_step(mid.handshake()),
            s @ (ClientState::Open(_) | ClientState::Failed) => self.state = s,
        }
    }

    /// One step of the WebSocket handshake, begun or resumed: the link opens, or the
    /// handshake waits for more bytes, or the connection fails.
    fn ws_handshake_step(
        &mut self,
        step: Result<
            (
                WebSocket<TcpStream>,
                tungstenite::handshake::client::Response,
            ),
            tungstenite::HandshakeError<tungstenite::ClientHandshake<TcpStream>>,
        >,
    ) {
        match step {
            Ok((mut ws, _response)) => {
                // A resumed handshake's socket may not carry our limits; set them again.
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
        }
    }

    /// The TCP path to the server is up (`rest`: bytes already read past the proxy's).
    pub(super) fn connected(&mut self, rest: Vec<u8>) {
        let Some(stream) = self.stream.take() else {
            return self.fail("no stream");
        };
        match self.target.kind {
            CarrierKind::WebSocket => {
                if !rest.is_empty() {
                    return self.fail("the server spoke before the WebSocket request");
                }
                let url = format!("ws://{}:{}/play", self.target.host, self.target.port);
                let step = tungstenite::client::client_with_config(url, stream, Some(ws_config()));
                self.ws_handshake_step(step);
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

    pub(super) fn open(&mut self, mut link: Link) {
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
