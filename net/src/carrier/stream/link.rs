//! [`Link`]: one established stream connection, TCP frames or WebSocket messages:
//! bounded reading, the bounded send queue, stalls and deadlines.

use super::*;

pub(super) fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME))
        .write_buffer_size(0)
        .max_write_buffer_size(SEND_QUEUE_LIMIT)
}

pub(super) enum Wire {
    Tcp { decoder: Decoder, out: VecDeque<u8> },
    Ws(Box<WebSocket<TcpStream>>),
}

/// Why a link ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The peer closed it, or it failed.
    Closed,
    /// Bytes that are not our framing.
    Framing,
    /// Its queue stayed full past [`STALL_LIMIT`].
    Stalled,
    /// No handshake, or silence, past its deadline.
    Deadline,
}

/// One established stream connection (see the module docs).
pub struct Link {
    pub(super) remote: Remote,
    pub(super) wire: Wire,
    /// The TCP wire's stream (the WebSocket owns its own).
    pub(super) tcp: Option<TcpStream>,
    pub(super) inbound: VecDeque<Vec<u8>>,
    pub(super) stats: CarrierStats,
    /// Set when a packet was dropped for a full queue; cleared when it drains.
    pub(super) full_since: Option<Duration>,
    pub(super) full_now: bool,
    pub(super) opened_at: Duration,
    pub(super) last_read: Duration,
    pub(super) established: bool,
    pub(super) ended: Option<Ended>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("remote", &self.remote)
            .field("inbound", &self.inbound.len())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Link {
    /// A TCP game stream whose preamble was read; `rest` is what came after it.
    pub fn tcp(stream: TcpStream, peer: SocketAddr, rest: &[u8], now: Duration) -> Link {
        let mut link = Link::new(
            Remote::new(CarrierKind::Tcp, peer),
            Wire::Tcp {
                decoder: Decoder::new(),
                out: VecDeque::new(),
            },
            now,
        );
        link.tcp = Some(stream);
        link.take_bytes(rest);
        link
    }

    /// A WebSocket whose upgrade was answered; `rest` is what came after the request.
    pub fn websocket(stream: TcpStream, peer: SocketAddr, rest: Vec<u8>, now: Duration) -> Link {
        let ws = WebSocket::from_partially_read(stream, rest, Role::Server, Some(ws_config()));
        Link::new(
            Remote::new(CarrierKind::WebSocket, peer),
            Wire::Ws(Box::new(ws)),
            now,
        )
    }

    pub(super) fn new(remote: Remote, wire: Wire, now: Duration) -> Link {
        Link {
            remote,
            wire,
            tcp: None,
            inbound: VecDeque::new(),
            stats: CarrierStats::default(),
            full_since: None,
            full_now: false,
            opened_at: now,
            last_read: now,
            established: false,
            ended: None,
        }
    }

    pub fn remote(&self) -> Remote {
        self.remote
    }

    pub fn ended(&self) -> Option<Ended> {
        self.ended
    }

    pub(super) fn end(&mut self, why: Ended) {
        if self.ended.is_none() {
            self.ended = Some(why);
            self.stats.closed += 1;
            if let Wire::Ws(ws) = &mut self.wire {
                let _ = ws.close(None);
                let _ = ws.flush();
            }
        }
    }

    pub(super) fn take_bytes(&mut self, bytes: &[u8]) {
        self.stats.bytes_in += bytes.len() as u64;
        let Wire::Tcp { decoder, .. } = &mut self.wire else {
            return;
        };
        let inbound = &mut self.inbound;
        let stats = &mut self.stats;
        if decoder
            .feed(bytes, &mut |p| {
                stats.packets_in += 1;
                inbound.push_back(p.to_vec());
            })
            .is_err()
        {
            self.end(Ended::Framing);
        }
    }

    /// Reads what the socket has, up to [`MAX_INBOUND`] waiting packets.
    pub fn read(&mut self, now: Duration) {
        let mut scratch = [0u8; MAX_FRAME + framing::FRAME_HEADER];
        while self.ended.is_none() && self.inbound.len() < MAX_INBOUND {
            match &mut self.wire {
                Wire::Tcp { decoder, .. } => {
                    let want = decoder.wants().min(scratch.len());
                    let Some(stream) = self.tcp.as_mut() else {
                        return;
                    };
                    match stream.read(&mut scratch[..want]) {
                        Ok(0) => self.end(Ended::Closed),
                        Ok(n) => {
                            self.last_read = now;
                            self.take_bytes(&scratch[..n]);
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => self.end(Ended::Closed),
                    }
                }
                Wire::Ws(ws) => match ws.read() {
                    Ok(Message::Binary(bytes)) => {
                        self.last_read = now;
                        self.stats.packets_in += 1;
                        self.stats.bytes_in += bytes.len() as u64;
                        self.inbound.push_back(bytes.to_vec());
                    }
                    // Pings are answered by tungstenite on the next write or flush.
                    Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {
                        self.last_read = now;
                    }
                    Ok(Message::Text(_)) => self.end(Ended::Framing),
                    Ok(Message::Close(_)) => self.end(Ended::Closed),
                    Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => return,
                    Err(tungstenite::Error::Capacity(_) | tungstenite::Error::Protocol(_)) => {
                        self.end(Ended::Framing)
                    }
                    Err(_) => self.end(Ended::Closed),
                },
            }
        }
    }

    /// Queues one packet within the bound (see the module docs).
    pub fn send(&mut self, packet: &[u8]) {
        if self.ended.is_some() {
            self.stats.dropped_out += 1;
            return;
        }
        let queued = match &mut self.wire {
            Wire::Tcp { out, .. } => {
                if out.len() + framing::FRAME_HEADER + packet.len() > SEND_QUEUE_LIMIT {
                    false
                } else {
                    let mut frame = Vec::with_capacity(packet.len() + 2);
                    match framing::encode(packet, &mut frame) {
                        Ok(()) => {
                            out.extend(frame);
                            true
                        }
                        Err(_) => false,
                    }
                }
            }
            Wire::Ws(ws) => match ws.write(Message::binary(packet.to_vec())) {
                Ok(()) => true,
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => true,
                Err(tungstenite::Error::WriteBufferFull(_)) => false,
                Err(_) => {
                    self.end(Ended::Closed);
                    false
                }
            },
        };
        if queued {
            self.stats.packets_out += 1;
            self.stats.bytes_out += match self.wire {
                Wire::Tcp { .. } => (packet.len() + framing::FRAME_HEADER) as u64,
                // A server's binary message under 126 bytes has a 2-byte header, else 4.
                Wire::Ws(_) => (packet.len() + if packet.len() < 126 { 2 } else { 4 }) as u64,
            };
        } else {
            self.stats.dropped_out += 1;
            self.full_now = true;
        }
        self.flush();
    }

    /// Writes what the socket takes now.
    pub fn flush(&mut self) {
        if self.ended.is_some() {
            return;
        }
        match &mut self.wire {
            Wire::Tcp { out, .. } => {
                let Some(stream) = self.tcp.as_mut() else {
                    return;
                };
                while !out.is_empty() {
                    let (front, _) = out.as_slices();
                    match stream.write(front) {
                        Ok(0) => {
                            self.end(Ended::Closed);
                            return;
                        }
                        Ok(n) => {
                            out.drain(..n);
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => {
                            self.end(Ended::Closed);
                            return;
                        }
                    }
                }
                self.full_now = false;
            }
            Wire::Ws(ws) => match ws.flush() {
                Ok(()) => self.full_now = false,
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => self.end(Ended::Closed),
            },
        }
    }

    /// Deadlines: a stalled reader, no handshake, silence.
    pub fn check(&mut self, now: Duration) {
        if self.full_now {
            let since = *self.full_since.get_or_insert(now);
            if now.saturating_sub(since) >= STALL_LIMIT {
                self.end(Ended::Stalled);
            }
        } else {
            self.full_since = None;
        }
        if !self.established && now.saturating_sub(self.opened_at) >= HANDSHAKE_DEADLINE {
            self.end(Ended::Deadline);
        }
        if now.saturating_sub(self.last_read) >= IDLE_LIMIT {
            self.end(Ended::Deadline);
        }
    }

    pub(super) fn source(&mut self) -> &mut TcpStream {
        match &mut self.wire {
            Wire::Ws(ws) => ws.get_mut(),
            // Invariant: a TCP wire always has its stream.
            Wire::Tcp { .. } => self.tcp.as_mut().expect("a TCP link keeps its stream"),
        }
    }
}
