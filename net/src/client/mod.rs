//! The client session: handshake, snapshot sync, prediction ahead of the server with
//! rollback on mispredictions, checksum verification of every confirmed tick, desync
//! recovery, and pacing that holds the lead the server asks for.
//!
//! Pure state machine like [`crate::server`]: payloads and time in, payloads and events out.
//!
//! Lead: the client runs its present tick ahead of the server so its inputs arrive before
//! the server closes their ticks; [`pacing::LeadPacer`] decides when each tick is due from
//! the server's `lead_hint`s. After a (re)sync the client starts one round trip plus the
//! margin ahead of the snapshot tick. The prediction window follows the round trip
//! ([`rtt::prediction_window`]). When the server goes silent or shuts down the session
//! reconnects by itself ([`reconnect`]).
//!
//! Files: this one holds the session phases and message handling; `pacing.rs` the lead
//! pacing, `rtt.rs` the round-trip estimate and window size, `reconnect.rs` the reconnect
//! schedule.

pub mod follow;
pub mod pacing;
pub mod reconnect;
pub mod rtt;

use std::net::SocketAddr;
use std::time::Duration;

use pacing::{LeadPacer, PacerConfig};
use reconnect::{Reconnect, ReconnectCause, ReconnectPolicy, ReconnectStatus};
use rtt::RttEstimator;

use venture_sim::rollback::Rollback;
use venture_sim::{Frame, PlayerInput, World, SIM_VERSION};

use crate::chunk::{Progress, Reassembler, ReassemblyLimits};
use crate::protocol::{self, ConfirmedFrame, Message, RejectReason, SnapshotReason};
use crate::redundancy::{ReceiveTracker, RedundancyWindow};

#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub name: String,
    /// Proves ownership of a saved character across sessions.
    pub character_secret: [u8; 16],
    /// Most ticks predicted past the last confirmed one; beyond it the client waits.
    /// `None` (the default) adapts it to the round trip, up to 8 s of ticks.
    pub window: Option<usize>,
    /// How many ticks early inputs should reach the server at the slowest recent
    /// delivery (each input then rides in that many timely datagrams).
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
    /// What to do when the server goes silent or shuts down.
    pub reconnect: ReconnectPolicy,
    /// Diagnostics only (`venture-client --inject-desync TICK`): right after confirming the
    /// first tick at or after this one, alter the confirmed world
    /// ([`World::inject_fault_for_diagnostics`]) before its checksum is compared, so the
    /// whole desync path runs: detection at that tick, the report, the resync, and
    /// confirming again. Once per session; `None` (the default) never.
    pub inject_desync_at: Option<u64>,
    /// Watch instead of play (protocol 5): join with `Spectate`, send no inputs, predict
    /// nothing; confirmed frames are applied and verified as they come.
    pub spectate: bool,
    /// Follow as a hot standby (protocol 7; see [`follow`]): watch like a spectator,
    /// admitted by a proof of the server key, and receive the saved characters
    /// ([`ClientEvent::Claim`]).
    pub follow: Option<follow::FollowConfig>,
}

impl ClientConfig {
    pub fn new(name: impl Into<String>) -> Self {
        ClientConfig {
            name: name.into(),
            character_secret: [0; 16],
            window: None,
            jitter_margin_ticks: 3,
            input_redundancy: 8,
            handshake_retry: Duration::from_millis(250),
            connect_timeout: Duration::from_secs(15),
            server_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_millis(500),
            report_confirmed: false,
            protocol_version: protocol::PROTOCOL_VERSION,
            reconnect: ReconnectPolicy::default(),
            inject_desync_at: None,
            spectate: false,
            follow: None,
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
    /// The connection was refused beneath the game protocol (the server's key is not the
    /// one pinned, or it speaks another secure layer version): the reason, for people.
    Refused(String),
    /// The server went silent while playing (and did not come back within the
    /// reconnect policy's time, when reconnecting is on).
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
            CloseReason::Rejected(RejectReason::SpectatorsFull { max }) => write!(
                f,
                "rejected: the server allows {max} spectators and all places are taken"
            ),
            CloseReason::Rejected(RejectReason::AwaitingAllocation) => write!(
                f,
                "rejected: the server is waiting for an allocation (its world is not chosen yet)"
            ),
            CloseReason::Rejected(RejectReason::FollowerRefused) => write!(
                f,
                "rejected: the primary refused our proof (its server.key is not ours, or it takes no followers)"
            ),
            CloseReason::Rejected(RejectReason::Replaced) => {
                write!(f, "the server acknowledged that it was replaced")
            }
            CloseReason::Rejected(r) => write!(f, "rejected: {r:?}"),
            CloseReason::ServerShuttingDown => write!(f, "the server is shutting down"),
            CloseReason::Unreachable => write!(f, "no answer from the server"),
            CloseReason::Refused(why) => write!(f, "{why}"),
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
    /// A saved character from the primary (followers only).
    Claim(Box<crate::standby::ClaimRecord>),
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
    /// Snapshots installed after we asked for one (a desync, or falling behind); a join's
    /// or a rejoin's first snapshot is not a resync.
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
    /// Times the session joined again after losing its server.
    pub reconnects: u64,
}

const MAX_RTT_SAMPLES: usize = 4096;
/// Most ticks predicted in one `poll` (a catch-up after a stall continues next poll).
const MAX_TICKS_PER_POLL: u32 = 32;
/// Input send buffer and frame receive buffer bounds: more than the largest window at
/// 60 Hz (8 s).
const MAX_WINDOW_TICKS: usize = 512;

/// A snapshot we asked for (see [`ClientSession::maybe_resend_resync`]).
#[derive(Clone, Copy, Debug)]
struct ResyncRequest {
    reason: SnapshotReason,
    sent_at: Duration,
    /// The reassembler's snapshot when we asked: a different one is the answer arriving.
    snapshot_before: Option<u32>,
}

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
    inputs: RedundancyWindow<PlayerInput>,
    /// Last confirmed inputs per slot: the prediction for other players.
    last_confirmed: Vec<PlayerInput>,
    pacer: LeadPacer,
    /// Highest `input_ack` seen: a hint comes with news only when it moves.
    last_input_ack: u64,
    /// Highest confirmed tick seen in a `Frames` message.
    newest_frame_seen: u64,
    rtt: RttEstimator,
    /// When the first `Join` of this handshake left (its `Welcome` measures a round trip).
    first_join_at: Option<Duration>,
    reconnect: Reconnect,
    /// Joining needs no Challenge (see [`ClientSession::set_admitted_by_transport`]).
    admitted_by_transport: bool,
    /// Frames that arrived while the snapshot was still coming (the server streams them
    /// beside it); used once it is complete.
    early_frames: Vec<ConfirmedFrame>,
    outgoing: Vec<Vec<u8>>,
    events: Vec<ClientEvent>,
    stats: ClientStats,
    chat_seq: u32,
    /// A resync snapshot asked for and not installed yet: the request is re-sent (requests
    /// travel unreliably) until a new snapshot starts arriving.
    resync_request: Option<ResyncRequest>,
    /// `inject_desync_at` has been done.
    desync_injected: bool,
    /// Spectating: when the next frame ack is due.
    next_ack_at: Duration,
    /// The snapshot is complete but no `Frames` came since: our final chunk ack may have
    /// been lost, and the server sends no frames until it has it (and resends chunks only
    /// after a backoff of up to seconds), so it rides along with every `Inputs`.
    reack_snapshot: bool,
    /// Followers: saved characters under reassembly.
    claims: follow::ClaimInbox,
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
            inputs: RedundancyWindow::new(1, MAX_WINDOW_TICKS + 8),
            last_confirmed: Vec::new(),
            pacer: LeadPacer::new(PacerConfig::new(Duration::from_millis(50)), now),
            last_input_ack: 0,
            newest_frame_seen: 0,
            rtt: RttEstimator::default(),
            first_join_at: None,
            reconnect: Reconnect::new(config.reconnect.clone()),
            admitted_by_transport: false,
            early_frames: Vec::new(),
            outgoing: Vec::new(),
            events: Vec::new(),
            stats: ClientStats::default(),
            chat_seq: 0,
            resync_request: None,
            desync_injected: false,
            next_ack_at: now,
            reack_snapshot: false,
            claims: follow::ClaimInbox::default(),
            config,
        }
    }

    /// Watching without playing: a spectator or a follower.
    fn watching(&self) -> bool {
        self.config.spectate || self.config.follow.is_some()
    }

    /// How long since the server was last heard from.
    pub fn silent_for(&self, now: Duration) -> Duration {
        now.saturating_sub(self.last_heard)
    }

    /// The newest confirmed tick seen in a `Frames` message (a follower's view of the
    /// primary's present).
    pub fn newest_frame_seen(&self) -> u64 {
        self.newest_frame_seen
    }

    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
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
        self.rtt.smoothed()
    }

    /// The reconnect episode under way, if any (for status lines and banners).
    pub fn reconnecting(&self, now: Duration) -> Option<ReconnectStatus> {
        self.reconnect.status(now)
    }

    /// The current prediction window in ticks.
    pub fn window(&self) -> usize {
        self.config
            .window
            .unwrap_or_else(|| rtt::prediction_window(&self.rtt, self.interval))
            .max(1)
    }

    /// The lead pacer (for diagnostics and tests).
    pub fn pacer(&self) -> &LeadPacer {
        &self.pacer
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
        let due = match self.phase {
            Phase::Playing if self.watching() => self.next_ack_at,
            Phase::Playing => self.pacer.next_tick_at(),
            _ => self
                .last_handshake_send
                .map_or(self.started, |t| t + self.config.handshake_retry),
        };
        match self.reconnect.next_hello_at() {
            Some(t) => due.min(t),
            None => due,
        }
    }

    fn send(&mut self, msg: &Message) {
        match protocol::encode_bounded(msg) {
            Ok(mut bytes) => {
                if self.config.protocol_version != protocol::PROTOCOL_VERSION {
                    bytes[..protocol::HEADER_LEN]
                        .copy_from_slice(&self.config.protocol_version.to_le_bytes());
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
        if self.phase != Phase::Playing
            || self.watching()
            || text.len() > crate::chat::MAX_CHAT_WIRE_BYTES
        {
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
                if !matches!(self.phase, Phase::Playing) || self.reconnect.active() =>
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
                self.reconnect.on_rejoining();
                self.phase = Phase::Joining { cookie };
                self.first_join_at = Some(now);
                self.send_join();
                self.last_handshake_send = Some(now);
            }
            Message::Challenge { cookie } if self.reconnect.active() => {
                // Our Hello was answered, so this server does not hold our session (it
                // restarted, or timed us out): join again from scratch.
                self.begin_rejoin(cookie, now);
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
                    if let Some(rtt) = self.first_join_at.take().and_then(|t| now.checked_sub(t)) {
                        // Answers the first Join unless it was lost: at worst an
                        // overestimate by a retry interval, which only adds lead.
                        self.record_rtt(rtt);
                    }
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
                if self.reconnect.active() {
                    match reason {
                        // Passing refusals (our old slot or name not yet released, a
                        // server still shutting down or, restarted in an Agones fleet,
                        // not yet given its world back, a cookie that aged): try again.
                        RejectReason::Full
                        | RejectReason::NameTaken
                        | RejectReason::ShuttingDown
                        | RejectReason::AwaitingAllocation
                        | RejectReason::BadCookie => {
                            if !matches!(self.phase, Phase::Playing | Phase::Syncing) {
                                self.phase = Phase::Connecting;
                            }
                            self.reconnect.on_refused(now);
                        }
                        other => self.close(CloseReason::Rejected(other)),
                    }
                } else if !matches!(self.phase, Phase::Playing) {
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
                if self.phase == Phase::Syncing {
                    for cf in frames {
                        if self.early_frames.len() >= MAX_WINDOW_TICKS {
                            break;
                        }
                        self.early_frames.push(cf);
                    }
                } else if self.phase == Phase::Playing {
                    self.reack_snapshot = false;
                    if self.reconnect.active()
                        && self.reconnect.cause() != Some(ReconnectCause::ShutDown)
                    {
                        // The old server answers again: the drop healed before it let us go.
                        self.reconnect.cancel();
                    }
                    self.inputs.ack(input_ack);
                    self.stats.late_inputs = late_inputs;
                    self.on_lead_hint(&frames, input_ack, lead_hint, now);
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
            Message::Claim {
                seq,
                name,
                secret_digest,
                part,
                parts,
                bytes,
            } if self.config.follow.is_some() => {
                match self
                    .claims
                    .on_part(seq, &name, secret_digest, part, parts, &bytes)
                {
                    Ok((ack, record)) => {
                        if let Some(ack) = ack {
                            self.send(&ack);
                        }
                        if let Some(r) = record {
                            self.events.push(ClientEvent::Claim(Box::new(r)));
                        }
                    }
                    Err(_) => self.stats.invalid_datagrams += 1,
                }
            }
            Message::ShuttingDown => {
                if self.config.reconnect.enabled() && !matches!(self.phase, Phase::Connecting) {
                    self.reconnect.start(ReconnectCause::ShutDown, now);
                } else {
                    self.close(CloseReason::ServerShuttingDown);
                }
            }
            _ => self.stats.invalid_datagrams += 1,
        }
    }

    /// A lead hint counts only in a message carrying the newest frames (not a sweep of
    /// older ones, nor a reordered copy) and only if inputs arrived for it to measure. It
    /// was measured while the server's last closed tick was the one before the newest
    /// frame.
    fn on_lead_hint(
        &mut self,
        frames: &[ConfirmedFrame],
        input_ack: u64,
        hint: i32,
        now: Duration,
    ) {
        let Some(newest) = frames.last().map(|f| f.frame.tick) else {
            return;
        };
        let fresh = hint != protocol::NO_LEAD_HINT && newest >= self.newest_frame_seen;
        self.last_input_ack = self.last_input_ack.max(input_ack);
        self.newest_frame_seen = self.newest_frame_seen.max(newest);
        if fresh {
            self.pacer.on_hint(newest - 1, hint, now);
        }
    }

    /// Forgets the old server's session and joins the one that answered our Hello.
    fn begin_rejoin(&mut self, cookie: [u8; 16], now: Duration) {
        self.reconnect.on_rejoining();
        self.resync_request = None;
        self.rollback = None;
        self.early_frames.clear();
        self.snapshot_id = None;
        self.completed_snapshot = None;
        self.reassembler = Reassembler::new(ReassemblyLimits::default());
        self.last_confirmed.clear();
        self.last_input_ack = 0;
        self.newest_frame_seen = 0;
        self.pacer.reset(now);
        self.phase = Phase::Joining { cookie };
        self.first_join_at = Some(now);
        self.send_join();
        self.last_handshake_send = Some(now);
    }

    fn record_rtt(&mut self, rtt: Duration) {
        if self.stats.rtt_ms.len() >= MAX_RTT_SAMPLES {
            self.stats.rtt_ms.remove(0);
        }
        self.stats
            .rtt_ms
            .push(rtt.as_millis().min(u32::MAX as u128) as u32);
        self.rtt.on_sample(rtt);
        if self.config.window.is_none() {
            let window = self.window();
            if let Some(rb) = self.rollback.as_mut() {
                rb.set_window(window);
            }
        }
    }

    fn send_join(&mut self) {
        if let Phase::Joining { cookie } = self.phase {
            self.send_join_with(cookie);
        }
    }

    fn send_join_with(&mut self, cookie: [u8; 16]) {
        if let Some(f) = &self.config.follow {
            let msg = f.message(cookie);
            return self.send(&msg);
        }
        if self.config.spectate {
            return self.send(&Message::Spectate { cookie });
        }
        let msg = Message::Join {
            cookie,
            name: self.config.name.clone(),
            character_secret: self.config.character_secret,
        };
        self.send(&msg);
    }

    /// Closes the session because the transport beneath refused the server (`why` is for
    /// people).
    pub fn refuse(&mut self, why: String) {
        self.close(CloseReason::Refused(why));
    }

    /// Says that the transport beneath admits us (the secure layer): join without waiting
    /// for the server's Challenge.
    pub fn set_admitted_by_transport(&mut self, on: bool) {
        self.admitted_by_transport = on;
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
                self.reack_snapshot = true;
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
                // A snapshot that does not restore: ask again (re-sent until answered)
                // rather than play on nothing.
                log::warn!(target: "venture::client", "snapshot did not restore: {e}");
                self.request_resync(SnapshotReason::FellBehind);
                return;
            }
        };
        let tick = world.tick();
        let slots = world.config().max_players as usize;
        self.last_confirmed = vec![PlayerInput::IDLE; slots];
        let window = self.window();
        self.frames = ReceiveTracker::new(tick + 1, MAX_WINDOW_TICKS * 4 + 64);
        self.inputs = RedundancyWindow::new(tick + 1, MAX_WINDOW_TICKS + 8);
        self.rollback = Some(Rollback::new(world, window));
        for cf in std::mem::take(&mut self.early_frames) {
            if cf.frame.tick > tick {
                self.frames.insert(cf.frame.tick, cf);
            }
        }
        self.phase = Phase::Playing;
        self.last_input_ack = 0;
        self.newest_frame_seen = 0;
        let mut pacing = PacerConfig::new(self.interval);
        pacing.margin_ticks = self.config.jitter_margin_ticks.clamp(0, 1000) as u32;
        self.pacer = LeadPacer::new(pacing, now + self.interval);
        if self.reconnect.status(now).is_some_and(|st| st.rejoining) {
            self.reconnect.on_playing();
            self.stats.reconnects += 1;
        } else {
            // Silence during a slow snapshot transfer that ended by itself: no rejoin.
            self.reconnect.cancel();
        }
        if self.resync_request.take().is_some() {
            self.stats.resyncs += 1;
        }
        self.events.push(ClientEvent::Synced { tick });
        if self.watching() {
            // A spectator predicts nothing: it shows the newest confirmed world.
            self.next_ack_at = now;
            return self.apply_confirmed(now);
        }
        // Start ahead by the time since the server took the snapshot (about half a round
        // trip plus the transfer) and the time our inputs need to get there; the pacer
        // corrects this as soon as the first hint comes back (a round trip later).
        let rtt = self.rtt.smoothed().unwrap_or(Duration::from_millis(100));
        let ahead = now.saturating_sub(self.welcomed_at) + rtt;
        let ahead_ticks = (ahead.as_nanos() / self.interval.as_nanos().max(1)) as u64
            + self.config.jitter_margin_ticks.max(0) as u64;
        let room = (window as u64).saturating_sub(self.config.jitter_margin_ticks.max(0) as u64);
        for _ in 0..ahead_ticks.min(room) {
            if !self.predict_one(&mut |_, _| PlayerInput::IDLE) {
                break;
            }
        }
        self.apply_confirmed(now);
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
            let mut confirmed = match result {
                Ok(c) => c,
                Err(e) => {
                    log::warn!(target: "venture::client", "cannot confirm tick {}: {e}", cf.frame.tick);
                    self.request_resync(SnapshotReason::FellBehind);
                    return;
                }
            };
            if let Some(sum) = self.maybe_inject_desync(cf.frame.tick) {
                confirmed.checksum = sum;
            }
            if behind_prediction && !self.watching() {
                // The server got ahead of us: our own inputs for this tick were not ours.
                self.pacer.hurry(now);
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

    /// Diagnostics (`inject_desync_at`): alters the world just confirmed at `tick`, once,
    /// and returns its new checksum, which then disagrees with the server's at `tick`.
    fn maybe_inject_desync(&mut self, tick: u64) -> Option<u32> {
        let due = self.config.inject_desync_at.is_some_and(|at| tick >= at);
        if !due || self.desync_injected {
            return None;
        }
        let (slot, sum) = self.rollback.as_mut()?.inject_fault_for_diagnostics()?;
        self.desync_injected = true;
        log::warn!(target: "venture::client", "diagnostics: injected a desync at tick {tick} (players[{slot}].gold changed)");
        Some(sum)
    }

    fn request_resync(&mut self, reason: SnapshotReason) {
        self.phase = Phase::Syncing;
        self.rollback = None;
        self.early_frames.clear();
        self.welcomed_at = self.last_heard;
        self.resync_request = Some(ResyncRequest {
            reason,
            sent_at: self.last_heard,
            snapshot_before: self.reassembler.current().map(|(id, _)| id),
        });
        self.send(&Message::SnapshotRequest { reason });
    }

    /// Re-sends a resync request that no snapshot has answered within about two round
    /// trips: a lost request would otherwise leave us syncing forever while the server,
    /// still hearing from us, keeps us in the game.
    fn maybe_resend_resync(&mut self, now: Duration) {
        let retry = self.config.handshake_retry.max(
            self.rtt.smoothed().unwrap_or(Duration::from_secs(1)) * 2 + Duration::from_millis(100),
        );
        let newest_snapshot = self.reassembler.current().map(|(id, _)| id);
        let Some(req) = self.resync_request.as_mut() else {
            return;
        };
        if newest_snapshot != req.snapshot_before || now < req.sent_at + retry {
            return;
        }
        req.sent_at = now;
        let reason = req.reason;
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
            self.inputs = RedundancyWindow::new(tick, MAX_WINDOW_TICKS + 8);
            let _ = self.inputs.push(tick, local);
        }
        true
    }

    fn send_inputs(&mut self, now: Duration) {
        let Some(rb) = self.rollback.as_ref() else {
            return;
        };
        let ack_tick = rb.confirmed_tick();
        // Sent every tick even with nothing new to say: it carries our frame ack, and a
        // client that stops acking (a full window) would otherwise stop the frames too.
        let (first, inputs) = match self.inputs.select(
            self.config.input_redundancy * 6,
            crate::redundancy::Prefer::Newest,
            |_| 6,
        ) {
            Some((first, items)) => (first, items.into_iter().copied().collect()),
            None => (self.inputs.next_tick().max(1), Vec::new()),
        };
        if !inputs.is_empty() {
            self.pacer.on_sent(first + inputs.len() as u64 - 1, now);
        }
        if let Some((snapshot_id, count)) = self.completed_snapshot.filter(|_| self.reack_snapshot)
        {
            self.send(&Message::SnapshotChunkAck {
                snapshot_id,
                contiguous: count,
                mask: 0,
            });
        }
        self.send(&Message::Inputs {
            ack_tick,
            first_tick: first,
            inputs,
        });
    }

    /// Does what is due at `now`: handshake resends and timeouts, pings, and predicted
    /// ticks (each with `input_for(world, slot)` as the local player's input).
    pub fn poll(&mut self, now: Duration, input_for: &mut dyn FnMut(&World, u8) -> PlayerInput) {
        if self.is_closed() || self.poll_reconnect(now) {
            return;
        }
        let reconnecting = self.config.reconnect.enabled();
        let silent = now.saturating_sub(self.last_heard) > self.config.server_timeout;
        match self.phase {
            Phase::Closed(_) => {}
            Phase::Connecting | Phase::Joining { .. } | Phase::Syncing => {
                let handshaking = !matches!(self.phase, Phase::Syncing);
                let first_join = !self.reconnect.active() && self.stats.reconnects == 0;
                if handshaking
                    && first_join
                    && now.saturating_sub(self.started) > self.config.connect_timeout
                {
                    return self.close(CloseReason::Unreachable);
                }
                if !handshaking && !reconnecting && silent {
                    return self.close(CloseReason::ServerTimedOut);
                }
                let due = self
                    .last_handshake_send
                    .is_none_or(|t| now >= t + self.config.handshake_retry);
                if due {
                    match self.phase {
                        // While reconnecting, Hellos follow the reconnect schedule.
                        Phase::Connecting if self.reconnect.active() => {}
                        Phase::Connecting => {
                            self.last_handshake_send = Some(now);
                            self.send(&Message::hello(SIM_VERSION));
                            // A follower's proof is over the server's cookie: it waits for
                            // the Challenge.
                            if self.admitted_by_transport && self.config.follow.is_none() {
                                // The layer beneath proved our address: join right behind
                                // the Hello (the server refuses it if the Hello fails).
                                self.first_join_at.get_or_insert(now);
                                self.send_join_with([0; 16]);
                            }
                        }
                        Phase::Joining { .. } => {
                            self.last_handshake_send = Some(now);
                            self.send_join();
                        }
                        _ => {}
                    }
                }
                if !handshaking {
                    self.maybe_resend_resync(now);
                }
                self.maybe_ping(now);
            }
            Phase::Playing => {
                if !reconnecting && silent {
                    return self.close(CloseReason::ServerTimedOut);
                }
                self.maybe_ping(now);
                if self.watching() {
                    if now >= self.next_ack_at {
                        // Its frame ack, once a tick: an `Inputs` without inputs.
                        self.send_inputs(now);
                        self.next_ack_at = now + self.interval;
                    }
                    return;
                }
                let mut stepped = 0;
                while now >= self.pacer.next_tick_at() && stepped < MAX_TICKS_PER_POLL {
                    stepped += 1;
                    let advanced = self.predict_one(input_for);
                    self.send_inputs(now);
                    if !advanced {
                        self.pacer.on_stalled(now);
                        break;
                    }
                    let tick = self.rollback.as_ref().map_or(0, |r| r.current_tick());
                    self.pacer.on_predicted(tick, now);
                }
            }
        }
    }

    /// Starts, runs and ends reconnect episodes. Returns true when the session closed.
    fn poll_reconnect(&mut self, now: Duration) -> bool {
        if !self.config.reconnect.enabled() {
            return false;
        }
        let in_game = matches!(self.phase, Phase::Playing | Phase::Syncing);
        if in_game
            && !self.reconnect.active()
            && now.saturating_sub(self.last_heard) > self.config.reconnect.probe_after
        {
            self.reconnect.start(ReconnectCause::Silence, now);
        }
        let rejoining = self.reconnect.status(now).is_some_and(|st| st.rejoining);
        let patience = self.config.reconnect.probe_after
            + self.rtt.smoothed().unwrap_or(Duration::from_secs(1)) * 2;
        if rejoining && now.saturating_sub(self.last_heard) > patience {
            // The server that answered went quiet mid-rejoin (restarted again?): probe.
            self.reconnect.on_refused(now);
        }
        if self.reconnect.expired(now) {
            let reason = match self.reconnect.cause() {
                Some(ReconnectCause::ShutDown) => CloseReason::ServerShuttingDown,
                _ => CloseReason::ServerTimedOut,
            };
            self.reconnect.cancel();
            self.close(reason);
            return true;
        }
        if self.reconnect.hello_due(now) {
            self.send(&Message::hello(SIM_VERSION));
        }
        false
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
}
