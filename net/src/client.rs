//! The client session: handshake, snapshot sync, prediction ahead of the server with
//! rollback on mispredictions, checksum verification of every confirmed tick, desync
//! recovery, and pacing that holds the lead the server asks for.
//!
//! Pure state machine like [`crate::server`]: payloads and time in, payloads and events out.
//!
//! Lead: the client runs its present tick ahead of the server so its inputs arrive before
//! the server closes their ticks. The server reports how early inputs arrive (`lead_hint`,
//! in ticks); the client stretches or shrinks its tick interval by a few percent to hold
//! that margin at `jitter_margin_ticks`. It never skips a tick; after a resync it starts
//! one round trip plus the margin ahead of the snapshot tick.

use std::net::SocketAddr;
use std::time::Duration;

use venture_sim::rollback::Rollback;
use venture_sim::{Frame, PlayerInput, World, SIM_VERSION};

use crate::chunk::{Progress, Reassembler, ReassemblyLimits};
use crate::protocol::{self, ConfirmedFrame, Message, RejectReason, SnapshotReason};
use crate::window::{ReceiveTracker, SendWindow};

#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub name: String,
    /// Proves ownership of a saved character across sessions.
    pub character_secret: [u8; 16],
    /// Most ticks predicted past the last confirmed one; beyond it the client waits.
    pub window: usize,
    /// How many ticks early inputs should reach the server (absorbs jitter).
    pub jitter_margin_ticks: i64,
    /// Most inputs repeated in one datagram.
    pub input_redundancy: usize,
    /// Handshake messages are re-sent at this interval until answered.
    pub handshake_retry: Duration,
    /// Give up if the handshake has not completed in this time.
    pub connect_timeout: Duration,
    /// Give up if nothing is heard from the server for this long while playing.
    pub server_timeout: Duration,
    pub ping_interval: Duration,
    /// Emit [`ClientEvent::Confirmed`] for every confirmed tick (for recording).
    pub report_confirmed: bool,
    /// Protocol version written in our datagram headers. Only diagnostics and tests set it
    /// to anything but [`protocol::PROTOCOL_VERSION`] (to see a mismatch handled).
    pub protocol_version: u16,
}

impl ClientConfig {
    pub fn new(name: impl Into<String>) -> Self {
        ClientConfig {
            name: name.into(),
            character_secret: [0; 16],
            window: venture_sim::rollback::DEFAULT_WINDOW,
            jitter_margin_ticks: 2,
            input_redundancy: 8,
            handshake_retry: Duration::from_millis(250),
            connect_timeout: Duration::from_secs(15),
            server_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_millis(500),
            report_confirmed: false,
            protocol_version: protocol::PROTOCOL_VERSION,
        }
    }
}

/// Where the session is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    Connecting,
    Joining {
        cookie: [u8; 16],
    },
    /// Admitted; waiting for a snapshot to start from.
    Syncing,
    Playing,
    Closed(CloseReason),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    Rejected(RejectReason),
    ServerShuttingDown,
    /// No answer to the handshake in time.
    Unreachable,
    /// The server went silent while playing.
    ServerTimedOut,
    /// We left.
    Left,
    /// The server speaks another protocol version than the one we announced.
    VersionMismatch {
        server_protocol: u16,
        client_protocol: u16,
    },
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            CloseReason::Rejected(RejectReason::Full) => write!(f, "rejected: the server is full"),
            CloseReason::Rejected(RejectReason::VersionMismatch { server_protocol, server_sim }) => {
                write!(f, "rejected: version mismatch (server protocol {server_protocol}")?;
                if *server_sim != 0 {
                    write!(f, ", simulation {server_sim}")?;
                }
                write!(f, "; this client protocol {}, simulation {SIM_VERSION})", protocol::PROTOCOL_VERSION)
            }
            CloseReason::Rejected(RejectReason::NameTaken) => {
                write!(f, "rejected: that name is in use or belongs to another player's saved character")
            }
            CloseReason::Rejected(r) => write!(f, "rejected: {r:?}"),
            CloseReason::ServerShuttingDown => write!(f, "the server is shutting down"),
            CloseReason::Unreachable => write!(f, "no answer from the server"),
            CloseReason::ServerTimedOut => write!(f, "the server stopped answering"),
            CloseReason::Left => write!(f, "left the game"),
            CloseReason::VersionMismatch { server_protocol, client_protocol } => write!(
                f,
                "version mismatch: the server speaks protocol {server_protocol}, this client protocol {client_protocol}"
            ),
        }
    }
}

#[derive(Clone, Debug)]
pub enum ClientEvent {
    Welcomed {
        slot: u8,
        tick_rate: u32,
        seed: u64,
        genre: String,
        start_tick: u64,
    },
    /// Started (or restarted) from a snapshot of tick `tick`.
    Synced {
        tick: u64,
    },
    /// Our world disagreed with the server's at `tick`; `state` is our snapshot of it.
    Desync {
        tick: u64,
        client_checksum: u32,
        server_checksum: u32,
        state: Vec<u8>,
    },
    /// A tick confirmed and verified (only with `report_confirmed`).
    Confirmed {
        frame: Frame,
        checksum: u32,
    },
    Closed(CloseReason),
}

/// Counters since start.
#[derive(Clone, Debug, Default)]
pub struct ClientStats {
    /// Predicted ticks simulated forward.
    pub ticks: u64,
    pub confirmed: u64,
    pub rollbacks: u64,
    pub max_rollback: u64,
    pub resimulated_ticks: u64,
    pub desyncs: u64,
    pub resyncs: u64,
    /// Round-trip samples in milliseconds (the most recent 4096).
    pub rtt_ms: Vec<u32>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub datagrams_sent: u64,
    pub datagrams_received: u64,
    pub invalid_datagrams: u64,
    /// Inputs the server reported as late.
    pub late_inputs: u32,
    /// Times prediction paused because the window was full.
    pub window_stalls: u64,
}

const MAX_RTT_SAMPLES: usize = 4096;
/// Lead errors up to this many ticks are left to pacing.
const LEAD_SLACK_TICKS: i64 = 3;

/// The client session. See the module docs.
pub struct ClientSession {
    config: ClientConfig,
    server: SocketAddr,
    phase: Phase,
    started: Duration,
    last_handshake_send: Option<Duration>,
    last_heard: Duration,
    last_ping: Option<Duration>,
    slot: u8,
    tick_rate: u32,
    interval: Duration,
    snapshot_id: Option<u32>,
    /// The last snapshot fully received (id, chunk count), to re-ack it.
    completed_snapshot: Option<(u32, u16)>,
    welcomed_at: Duration,
    reassembler: Reassembler,
    rollback: Option<Rollback>,
    frames: ReceiveTracker<ConfirmedFrame>,
    inputs: SendWindow<PlayerInput>,
    /// Last confirmed inputs per slot: the prediction for other players.
    last_confirmed: Vec<PlayerInput>,
    next_tick_at: Duration,
    lead_hint: Option<i32>,
    last_correction: Option<Duration>,
    smoothed_rtt: Option<Duration>,
    outgoing: Vec<Vec<u8>>,
    events: Vec<ClientEvent>,
    stats: ClientStats,
    chat_seq: u32,
}

impl ClientSession {
    pub fn new(config: ClientConfig, server: SocketAddr, now: Duration) -> Self {
        ClientSession {
            server,
            phase: Phase::Connecting,
            started: now,
            last_handshake_send: None,
            last_heard: now,
            last_ping: None,
            slot: 0,
            tick_rate: 20,
            interval: Duration::from_millis(50),
            snapshot_id: None,
            completed_snapshot: None,
            welcomed_at: now,
            reassembler: Reassembler::new(ReassemblyLimits::default()),
            rollback: None,
            frames: ReceiveTracker::new(1, 1),
            inputs: SendWindow::new(1, config.window + 8),
            last_confirmed: Vec::new(),
            next_tick_at: now,
            lead_hint: None,
            last_correction: None,
            smoothed_rtt: None,
            outgoing: Vec::new(),
            events: Vec::new(),
            stats: ClientStats::default(),
            chat_seq: 0,
            config,
        }
    }

    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    pub fn server(&self) -> SocketAddr {
        self.server
    }

    pub fn slot(&self) -> u8 {
        self.slot
    }

    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    /// The predicted present, once playing.
    pub fn world(&self) -> Option<&World> {
        self.rollback.as_ref().map(|r| r.current())
    }

    /// The last world the server confirmed.
    pub fn confirmed_world(&self) -> Option<&World> {
        self.rollback.as_ref().map(|r| r.confirmed())
    }

    /// While syncing: snapshot chunks received and expected, once the first arrived.
    pub fn sync_progress(&self) -> Option<(usize, u16)> {
        match self.phase {
            Phase::Syncing => self.reassembler.received(),
            _ => None,
        }
    }

    /// Ticks predicted past the last confirmed one.
    pub fn lead(&self) -> u64 {
        self.rollback
            .as_ref()
            .map_or(0, |r| r.current_tick().saturating_sub(r.confirmed_tick()))
    }

    pub fn rtt(&self) -> Option<Duration> {
        self.smoothed_rtt
    }

    pub fn drain_outgoing(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.outgoing)
    }

    pub fn drain_events(&mut self) -> Vec<ClientEvent> {
        std::mem::take(&mut self.events)
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed(_))
    }

    /// When `poll` next has something to do (for the shell's poll timeout).
    pub fn next_wakeup(&self) -> Duration {
        match self.phase {
            Phase::Playing => self.next_tick_at,
            _ => self
                .last_handshake_send
                .map_or(self.started, |t| t + self.config.handshake_retry),
        }
    }

    fn send(&mut self, msg: &Message) {
        match protocol::encode_bounded(msg) {
            Ok(mut bytes) => {
                if self.config.protocol_version != protocol::PROTOCOL_VERSION {
                    bytes[2..4].copy_from_slice(&self.config.protocol_version.to_le_bytes());
                }
                self.stats.bytes_sent += bytes.len() as u64;
                self.stats.datagrams_sent += 1;
                self.outgoing.push(bytes);
            }
            Err(e) => log::error!(target: "venture::client", "cannot encode {}: {e}", msg.kind()),
        }
    }

    fn close(&mut self, reason: CloseReason) {
        if !self.is_closed() {
            self.phase = Phase::Closed(reason.clone());
            self.events.push(ClientEvent::Closed(reason));
        }
    }

    /// Says goodbye (sent twice; it is unreliable) and closes.
    pub fn leave(&mut self) {
        if matches!(self.phase, Phase::Playing | Phase::Syncing) {
            self.send(&Message::Leave);
            self.send(&Message::Leave);
        }
        self.close(CloseReason::Left);
    }

    /// Sends a chat line to everyone (three copies: the message is unreliable and the
    /// server keeps one by its sequence number). Only while playing; returns whether it
    /// went out. The server cleans, caps and rate-limits it.
    pub fn send_chat(&mut self, text: &str) -> bool {
        if self.phase != Phase::Playing || text.len() > crate::chat::MAX_CHAT_WIRE_BYTES {
            return false;
        }
        self.chat_seq = self.chat_seq.wrapping_add(1);
        let msg = Message::Chat {
            seq: self.chat_seq,
            text: text.to_string(),
        };
        for _ in 0..3 {
            self.send(&msg);
        }
        true
    }

    /// One datagram payload from the server.
    pub fn on_datagram(&mut self, payload: &[u8], now: Duration) {
        self.stats.bytes_received += payload.len() as u64;
        self.stats.datagrams_received += 1;
        let msg = match protocol::decode(payload) {
            Ok(m) => m,
            Err(protocol::ProtocolError::VersionMismatch { got })
                if !matches!(self.phase, Phase::Playing) =>
            {
                // The server speaks another protocol: its answer (a Reject) is unreadable to
                // us, but the header alone says why.
                let client_protocol = self.config.protocol_version;
                self.close(CloseReason::VersionMismatch {
                    server_protocol: got,
                    client_protocol,
                });
                return;
            }
            Err(_) => {
                self.stats.invalid_datagrams += 1;
                return;
            }
        };
        if self.is_closed() {
            return;
        }
        self.last_heard = now;
        match msg {
            Message::Challenge { cookie } if self.phase == Phase::Connecting => {
                self.phase = Phase::Joining { cookie };
                self.send_join();
                self.last_handshake_send = Some(now);
            }
            Message::Welcome {
                slot,
                tick_rate,
                seed,
                genre,
                start_tick,
                snapshot_id,
                ..
            } => {
                if matches!(self.phase, Phase::Joining { .. } | Phase::Connecting) {
                    self.slot = slot;
                    self.tick_rate = tick_rate.max(1);
                    self.interval = Duration::from_nanos(1_000_000_000 / self.tick_rate as u64);
                    self.snapshot_id = snapshot_id;
                    self.welcomed_at = now;
                    self.phase = Phase::Syncing;
                    self.events.push(ClientEvent::Welcomed {
                        slot,
                        tick_rate,
                        seed,
                        genre,
                        start_tick,
                    });
                }
            }
            Message::Reject { reason } => {
                if !matches!(self.phase, Phase::Playing) {
                    self.close(CloseReason::Rejected(reason));
                }
            }
            Message::SnapshotChunk {
                snapshot_id,
                tick,
                index,
                count,
                bytes,
            } => {
                self.on_chunk(snapshot_id, tick, index, count, &bytes, now);
            }
            Message::Frames {
                frames,
                input_ack,
                late_inputs,
                lead_hint,
                ..
            } => {
                if self.phase == Phase::Playing {
                    self.inputs.ack(input_ack);
                    self.stats.late_inputs = late_inputs;
                    self.lead_hint = Some(lead_hint);
                    for cf in frames {
                        let tick = cf.frame.tick;
                        self.frames.insert(tick, cf);
                    }
                    self.apply_confirmed(now);
                }
            }
            Message::Pong { nonce } => {
                let sent = Duration::from_micros(nonce);
                if let Some(rtt) = now.checked_sub(sent) {
                    self.record_rtt(rtt);
                }
            }
            Message::ShuttingDown => self.close(CloseReason::ServerShuttingDown),
            _ => self.stats.invalid_datagrams += 1,
        }
    }

    fn record_rtt(&mut self, rtt: Duration) {
        if self.stats.rtt_ms.len() >= MAX_RTT_SAMPLES {
            self.stats.rtt_ms.remove(0);
        }
        self.stats
            .rtt_ms
            .push(rtt.as_millis().min(u32::MAX as u128) as u32);
        self.smoothed_rtt = Some(match self.smoothed_rtt {
            None => rtt,
            Some(s) => (s * 7 + rtt) / 8,
        });
    }

    fn send_join(&mut self) {
        if let Phase::Joining { cookie } = self.phase {
            let msg = Message::Join {
                cookie,
                name: self.config.name.clone(),
                character_secret: self.config.character_secret,
            };
            self.send(&msg);
        }
    }

    fn on_chunk(
        &mut self,
        snapshot_id: u32,
        tick: u64,
        index: u16,
        count: u16,
        bytes: &[u8],
        now: Duration,
    ) {
        if !matches!(self.phase, Phase::Syncing | Phase::Playing) {
            return;
        }
        // A chunk of a snapshot we already completed means our final ack was lost: say
        // again that we have it all, or the server keeps resending and never streams frames.
        if self.completed_snapshot == Some((snapshot_id, count)) {
            self.send(&Message::SnapshotChunkAck {
                snapshot_id,
                contiguous: count,
                mask: 0,
            });
            return;
        }
        let progress = self
            .reassembler
            .insert(snapshot_id, tick, index, count, bytes);
        let ack = match &progress {
            Ok(Progress::Complete(_)) => {
                self.completed_snapshot = Some((snapshot_id, count));
                Some(crate::chunk::ChunkAck {
                    contiguous: count,
                    mask: 0,
                })
            }
            _ => self.reassembler.ack().map(|(_, a)| a),
        };
        if let Some(a) = ack {
            self.send(&Message::SnapshotChunkAck {
                snapshot_id,
                contiguous: a.contiguous,
                mask: a.mask,
            });
        }
        if let Ok(Progress::Complete(data)) = progress {
            if self.phase == Phase::Syncing {
                self.start_from_snapshot(&data, now);
            }
        }
    }

    fn start_from_snapshot(&mut self, data: &[u8], now: Duration) {
        let world = match World::restore(data) {
            Ok(w) => w,
            Err(e) => {
                // A snapshot that does not restore: ask again rather than play on nothing.
                log::warn!(target: "venture::client", "snapshot did not restore: {e}");
                self.send(&Message::SnapshotRequest {
                    reason: SnapshotReason::FellBehind,
                });
                return;
            }
        };
        let tick = world.tick();
        let slots = world.config().max_players as usize;
        self.last_confirmed = vec![PlayerInput::IDLE; slots];
        self.frames = ReceiveTracker::new(tick + 1, self.config.window * 4 + 64);
        self.inputs = SendWindow::new(tick + 1, self.config.window + 8);
        self.rollback = Some(Rollback::new(world, self.config.window));
        self.phase = Phase::Playing;
        self.lead_hint = None;
        self.events.push(ClientEvent::Synced { tick });
        // Start ahead by the time since the server took the snapshot (about half a round
        // trip plus the transfer) and the time our inputs need to get there.
        let rtt = self.smoothed_rtt.unwrap_or(Duration::from_millis(100));
        let ahead = now.saturating_sub(self.welcomed_at) + rtt;
        let ahead_ticks = (ahead.as_nanos() / self.interval.as_nanos().max(1)) as u64
            + self.config.jitter_margin_ticks.max(0) as u64;
        for _ in 0..ahead_ticks.min(self.config.window as u64 / 2) {
            if !self.predict_one(&mut |_, _| PlayerInput::IDLE) {
                break;
            }
        }
        self.next_tick_at = now + self.interval;
    }

    /// Confirms every frame that is next in line.
    fn apply_confirmed(&mut self, now: Duration) {
        let _ = now;
        while let Some((_, cf)) = self.frames.pop_next() {
            let Some(rb) = self.rollback.as_mut() else {
                return;
            };
            let slot = self.slot as usize;
            let behind_prediction = cf.frame.tick > rb.current_tick();
            let result = rb.confirm_with(cf.frame.clone(), |confirmed, later| {
                for s in 0..later.inputs.len().max(confirmed.inputs.len()) {
                    if s != slot {
                        later.set_input(s, confirmed.input(s));
                    }
                }
            });
            let confirmed = match result {
                Ok(c) => c,
                Err(e) => {
                    log::warn!(target: "venture::client", "cannot confirm tick {}: {e}", cf.frame.tick);
                    self.request_resync(SnapshotReason::FellBehind);
                    return;
                }
            };
            if behind_prediction {
                // The server got ahead of us: our own inputs for this tick were not ours.
                self.next_tick_at = self.next_tick_at.min(now);
            }
            self.stats.confirmed += 1;
            for s in 0..self.last_confirmed.len() {
                self.last_confirmed[s] = cf.frame.input(s);
            }
            if confirmed.resimulated > 0 {
                self.stats.rollbacks += 1;
                self.stats.resimulated_ticks += confirmed.resimulated as u64;
                self.stats.max_rollback = self.stats.max_rollback.max(confirmed.resimulated as u64);
            }
            if self.config.report_confirmed && confirmed.checksum == cf.checksum {
                self.events.push(ClientEvent::Confirmed {
                    frame: cf.frame.clone(),
                    checksum: cf.checksum,
                });
            }
            if confirmed.checksum != cf.checksum {
                self.stats.desyncs += 1;
                let state = self
                    .rollback
                    .as_ref()
                    .map(|r| r.confirmed().snapshot())
                    .unwrap_or_default();
                self.events.push(ClientEvent::Desync {
                    tick: cf.frame.tick,
                    client_checksum: confirmed.checksum,
                    server_checksum: cf.checksum,
                    state,
                });
                self.request_resync(SnapshotReason::Desync {
                    tick: cf.frame.tick,
                    client_checksum: confirmed.checksum,
                    server_checksum: cf.checksum,
                });
                return;
            }
        }
    }

    fn request_resync(&mut self, reason: SnapshotReason) {
        self.stats.resyncs += 1;
        self.phase = Phase::Syncing;
        self.rollback = None;
        self.welcomed_at = self.last_heard;
        self.send(&Message::SnapshotRequest { reason });
    }

    /// Predicts one tick with the local input. Returns false when the window is full.
    fn predict_one(&mut self, input_for: &mut dyn FnMut(&World, u8) -> PlayerInput) -> bool {
        let Some(rb) = self.rollback.as_mut() else {
            return false;
        };
        if rb.pending() >= rb.window() {
            self.stats.window_stalls += 1;
            return false;
        }
        let tick = rb.current_tick() + 1;
        let local = input_for(rb.current(), self.slot);
        let mut frame = Frame::new(tick);
        frame.inputs = self.last_confirmed.clone();
        frame.set_input(self.slot as usize, local);
        while frame.inputs.last() == Some(&PlayerInput::IDLE) {
            frame.inputs.pop();
        }
        if let Err(e) = rb.advance(frame) {
            log::warn!(target: "venture::client", "prediction failed: {e}");
            return false;
        }
        self.stats.ticks += 1;
        if self.inputs.push(tick, local).is_err() {
            // Ticks were not consecutive (after a resync): start the window afresh.
            self.inputs = SendWindow::new(tick, self.config.window + 8);
            let _ = self.inputs.push(tick, local);
        }
        true
    }

    fn send_inputs(&mut self) {
        let Some(rb) = self.rollback.as_ref() else {
            return;
        };
        let ack_tick = rb.confirmed_tick();
        // Sent every tick even with nothing new to say: it carries our frame ack, and a
        // client that stops acking (a full window) would otherwise stop the frames too.
        let (first, inputs) = match self.inputs.select(
            self.config.input_redundancy * 6,
            crate::window::Prefer::Newest,
            |_| 6,
        ) {
            Some((first, items)) => (first, items.into_iter().copied().collect()),
            None => (self.inputs.next_tick().max(1), Vec::new()),
        };
        self.send(&Message::Inputs {
            ack_tick,
            first_tick: first,
            inputs,
        });
    }

    /// Does what is due at `now`: handshake resends and timeouts, pings, and predicted
    /// ticks (each with `input_for(world, slot)` as the local player's input).
    pub fn poll(&mut self, now: Duration, input_for: &mut dyn FnMut(&World, u8) -> PlayerInput) {
        match self.phase {
            Phase::Closed(_) => {}
            Phase::Connecting | Phase::Joining { .. } | Phase::Syncing => {
                let handshaking = !matches!(self.phase, Phase::Syncing);
                if handshaking && now.saturating_sub(self.started) > self.config.connect_timeout {
                    return self.close(CloseReason::Unreachable);
                }
                if !handshaking && now.saturating_sub(self.last_heard) > self.config.server_timeout
                {
                    return self.close(CloseReason::ServerTimedOut);
                }
                let due = self
                    .last_handshake_send
                    .is_none_or(|t| now >= t + self.config.handshake_retry);
                if due {
                    self.last_handshake_send = Some(now);
                    match self.phase {
                        Phase::Connecting => self.send(&Message::hello(SIM_VERSION)),
                        Phase::Joining { .. } => self.send_join(),
                        _ => {}
                    }
                }
                self.maybe_ping(now);
            }
            Phase::Playing => {
                if now.saturating_sub(self.last_heard) > self.config.server_timeout {
                    return self.close(CloseReason::ServerTimedOut);
                }
                self.maybe_ping(now);
                self.correct_lead(now, input_for);
                let mut stepped = 0;
                while now >= self.next_tick_at && stepped < 8 {
                    stepped += 1;
                    self.next_tick_at += self.paced_interval();
                    let advanced = self.predict_one(input_for);
                    self.send_inputs();
                    if !advanced {
                        break;
                    }
                }
                if now >= self.next_tick_at {
                    // Far behind schedule (a stalled process): do not try to replay it all.
                    self.next_tick_at = now + self.interval;
                }
            }
        }
    }

    fn maybe_ping(&mut self, now: Duration) {
        if matches!(self.phase, Phase::Connecting | Phase::Joining { .. }) {
            return;
        }
        if self
            .last_ping
            .is_none_or(|t| now >= t + self.config.ping_interval)
        {
            self.last_ping = Some(now);
            self.send(&Message::Ping {
                nonce: now.as_micros() as u64,
            });
        }
    }

    /// Large lead errors (after joining, a resync or a latency change) are corrected in one
    /// step rather than by pacing: run the missing ticks now, or hold still for the excess.
    /// At most once per round trip, since a hint reflects inputs sent half a round trip ago
    /// and a correction shows in hints only a round trip later.
    fn correct_lead(
        &mut self,
        now: Duration,
        input_for: &mut dyn FnMut(&World, u8) -> PlayerInput,
    ) {
        let Some(hint) = self.lead_hint else { return };
        let rtt = self.smoothed_rtt.unwrap_or(Duration::from_millis(200));
        if self
            .last_correction
            .is_some_and(|t| now < t + rtt + self.interval * 2)
        {
            return;
        }
        let error = hint as i64 - self.config.jitter_margin_ticks;
        if error < -LEAD_SLACK_TICKS {
            self.last_correction = Some(now);
            for _ in 0..(-error) {
                if !self.predict_one(input_for) {
                    break;
                }
                self.send_inputs();
            }
        } else if error > 4 * LEAD_SLACK_TICKS {
            self.last_correction = Some(now);
            self.next_tick_at += self.interval * (error - LEAD_SLACK_TICKS) as u32;
        }
    }

    /// The tick interval adjusted to hold the lead: 4% faster when inputs arrive later
    /// than the margin, 4% slower when they arrive well earlier.
    fn paced_interval(&self) -> Duration {
        let target = self.config.jitter_margin_ticks;
        match self.lead_hint {
            Some(h) if (h as i64) < target => self.interval * 96 / 100,
            Some(h) if (h as i64) > target + 2 => self.interval * 104 / 100,
            _ => self.interval,
        }
    }
}
