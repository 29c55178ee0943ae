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
//! This module is the facade ([`ClientSession`], its accessors, sending and closing) and
//! the dispatch of datagrams and of `poll`. The rest is one job per child module:
//! - [`config`]: [`ClientConfig`] and its defaults;
//! - [`events`]: [`Phase`], [`CloseReason`], [`ClientEvent`], [`ClientStats`];
//! - `inbound`: decoding and dispatching datagrams, pings and pongs;
//! - `handshake`: Hello, Challenge, Join (or Spectate, Follow), Welcome and Reject;
//! - `snapshot`: snapshot chunks, their acks, and starting to play from a snapshot;
//! - `predict`: predicting ticks with the local input and sending inputs (and acks);
//! - `confirm`: confirming the server's frames, lead hints, checksum verification;
//! - `resync`: asking for a snapshot after a desync or falling behind, the diagnostic
//!   desync;
//! - `rejoin`: reconnect episodes (silence or shutdown, probing, rejoining);
//! - [`pacing`]: when each tick is due; [`rtt`]: the round trip and the prediction window;
//!   [`reconnect`]: the reconnect schedule; [`follow`]: the follower mode.

pub mod config;
mod confirm;
pub mod events;
pub mod follow;
mod handshake;
mod inbound;
pub mod pacing;
mod predict;
pub mod reconnect;
mod rejoin;
mod resync;
pub mod rtt;
mod snapshot;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::time::Duration;

pub use config::ClientConfig;
pub use events::{ClientEvent, ClientStats, CloseReason, Phase, Story};
use pacing::{LeadPacer, PacerConfig};
use reconnect::{Reconnect, ReconnectStatus};
use rtt::RttEstimator;

use venture_sim::rollback::Rollback;
use venture_sim::{PlayerInput, World};

use crate::chunk::{Reassembler, ReassemblyLimits};
use crate::protocol::{self, ConfirmedFrame, Message};
use crate::redundancy::{ReceiveTracker, RedundancyWindow};

const MAX_RTT_SAMPLES: usize = 4096;
/// Most ticks predicted in one `poll` (a catch-up after a stall continues next poll).
const MAX_TICKS_PER_POLL: u32 = 32;
/// Input send buffer and frame receive buffer bounds: more than the largest prediction
/// window at 60 Hz (8 s).
const MAX_PREDICTION_TICKS: usize = 512;

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
    resync_request: Option<resync::ResyncRequest>,
    /// `inject_desync_at` has been done.
    desync_injected: bool,
    /// Spectating: when the next frame ack is due.
    next_ack_at: Duration,
    /// The snapshot is complete but no `Frames` came since: our final chunk ack may have
    /// been lost, and the server sends no frames until it has it (and resends chunks only
    /// after a backoff of up to seconds), so it rides along with every `Inputs`.
    reack_snapshot: bool,
    /// Followers: saved characters under reassembly.
    claims: crate::standby::ClaimAssembler,
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
            inputs: RedundancyWindow::new(1, MAX_PREDICTION_TICKS + 8),
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
            claims: crate::standby::ClaimAssembler::default(),
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
    pub fn prediction_window(&self) -> usize {
        self.config
            .prediction_window
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

    /// Does what is due at `now`: handshake resends and timeouts, pings, and predicted
    /// ticks (each with `input_for(world, slot)` as the local player's input).
    pub fn poll(&mut self, now: Duration, input_for: &mut dyn FnMut(&World, u8) -> PlayerInput) {
        if self.is_closed() || self.poll_reconnect(now) {
            return;
        }
        let silent = now.saturating_sub(self.last_heard) > self.config.server_timeout;
        match self.phase {
            Phase::Closed(_) => {}
            Phase::Connecting | Phase::Joining { .. } | Phase::Syncing => {
                self.poll_handshake(now, silent)
            }
            Phase::Playing => self.poll_playing(now, silent, input_for),
        }
    }
}
