//! The authoritative server session: admission, lockstep tick closing, per-client frame
//! streams with redundancy, late-input accounting and snapshot transfer.
//!
//! This module is the facade ([`ServerSession`], its config, events and counters) and the
//! session's own job: dispatching datagrams by sender, the tick schedule, closing ticks and
//! the confirmed-frame history. The rest is one job per child module, as quinn-proto
//! separates its `Endpoint` from its `Connection`s:
//! - `admission`: datagrams from addresses not admitted (handshake, reject, admit), and
//!   the stranger budget;
//! - `downlink`: one peer's downlink (acked frames, snapshot in flight, silence), the
//!   same type for players, spectators and followers;
//! - `player`: one admitted player's state and link measurements;
//! - [`frames`]: which frames each datagram carries (pure planners) and the frame packer;
//! - `transfer`: snapshot transfer in chunks;
//! - [`spectators`]: spectators, their delay and their streams;
//! - [`followers`]: hot standbys (admitted by a proof of the server key; every frame at
//!   once; the saved characters).
//!
//! Pure state machine: it never touches a socket or a clock. The I/O shell feeds it
//! datagram payloads ([`ServerSession::on_datagram`]), transport-level disconnects, and the
//! current time as a `Duration` since start ([`ServerSession::poll`]); it hands back
//! payloads to send ([`ServerSession::drain_outgoing`]) and events to log, count and record
//! ([`ServerSession::drain_events`]). Tests drive it on a simulated network with a
//! virtual clock; the binary drives it from a mio loop.
//!
//! Timeline: tick T closes at `T * interval` after start. For every occupied slot the frame
//! takes the input that arrived for T, or repeats the slot's last input; joins and leaves
//! queued since the last tick become commands of T. The choice is final.

use crate::carrier::Remote;
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use venture_sim::character::Character;

use crate::standby::{ClaimRecord, FollowerKey};
use venture_sim::{Command, Frame, PlayerInput, World};

use crate::chunk::ChunkAck;
use crate::cookie::CookieKey;
use crate::protocol::{self, ConfirmedFrame, Message, RejectReason, SnapshotReason};

mod admission;
mod downlink;
pub mod followers;
pub mod frames;
mod player;
pub mod spectators;
mod transfer;

pub use followers::FollowerInfo;
pub use frames::TARGET_FRAME_LOSS;
use player::Player;
pub use player::{accepted_lead, InputTimeliness, PlayerLink, SlotTraffic};
pub use spectators::SpectatorInfo;

/// Knobs of a server session.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Players admitted at once (at most the world's slots).
    pub max_players: u8,
    /// A client silent this long is dropped and its slot freed.
    pub client_timeout: Duration,
    /// Most ticks closed in one `poll` when the loop fell behind; beyond that the
    /// schedule is moved forward (ticks are delayed, never skipped).
    pub max_catchup_ticks: u32,
    /// Confirmed frames kept for clients that fall behind (a client needing older ones gets
    /// a fresh snapshot instead).
    pub history_ticks: usize,
    /// Most a client's input may be ahead of the current tick and still be accepted, in
    /// time (so the same at any tick rate). Within it, each client's accepted lead follows
    /// its measured round trip (see [`accepted_lead`]).
    pub max_input_lead: Duration,
    /// Most frames repeated in one datagram to a client.
    pub frame_redundancy: usize,
    /// Fewest frames repeated in one datagram to a client. Between this and
    /// `frame_redundancy`, each client gets the fewest repeats that make losing a frame
    /// in every copy unlikely (below [`TARGET_FRAME_LOSS`]) at the loss rate measured on
    /// its input stream. Until loss is measured, and above `HIGH_LOSS_PPM` (8%), the
    /// maximum is used. Set it to `frame_redundancy` to always repeat the maximum.
    pub min_frame_redundancy: usize,
    /// Snapshot chunks sent to one client per tick.
    pub chunks_per_tick: usize,
    /// Genre name announced in `Welcome`.
    pub genre: String,
    /// Spectators admitted at once, apart from players (see [`spectators`]).
    pub max_spectators: u16,
    /// Game time by which spectators' frames (and their snapshot) lag the present.
    pub spectator_delay: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            max_players: 4,
            client_timeout: Duration::from_secs(10),
            max_catchup_ticks: 5,
            history_ticks: 1200,
            max_input_lead: Duration::from_secs(8),
            frame_redundancy: 8,
            min_frame_redundancy: 2,
            chunks_per_tick: 8,
            genre: "fantasy".into(),
            max_spectators: 8,
            spectator_delay: Duration::ZERO,
        }
    }
}

/// Why a player left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaveReason {
    /// The client said goodbye.
    Left,
    /// Nothing heard for `client_timeout`.
    TimedOut,
    /// The transport dropped the connection.
    Disconnected,
}

impl LeaveReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaveReason::Left => "left",
            LeaveReason::TimedOut => "timed out",
            LeaveReason::Disconnected => "disconnected",
        }
    }
}

/// What the session did, for logs, metrics and the session recorder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    PlayerConnected {
        slot: u8,
        name: String,
        addr: Remote,
    },
    PlayerDisconnected {
        slot: u8,
        name: String,
        addr: Remote,
        reason: LeaveReason,
        /// The player's character as it was when they left, with the digest of the secret
        /// that owns it; `None` when it is not theirs to save yet (never entered the world,
        /// or their saved character was still being restored).
        character: Option<Box<(Character, [u8; 16])>>,
    },
    Rejected {
        addr: Remote,
        reason: RejectReason,
    },
    /// Tick closed: the frame and the checksum after it (record these).
    TickClosed {
        frame: Frame,
        checksum: u32,
    },
    /// The loop was `behind` ticks late; `closed` were caught up in this poll.
    Overrun {
        behind: u64,
        closed: u32,
    },
    DesyncReported {
        slot: u8,
        tick: u64,
        client_checksum: u32,
        server_checksum: u32,
    },
    SnapshotStarted {
        slot: u8,
        tick: u64,
        bytes: usize,
        reason: SnapshotReason,
    },
    /// A client announced another protocol or simulation version.
    VersionMismatch {
        addr: Remote,
        client_protocol: u16,
        client_sim: u32,
    },
    /// A datagram that did not decode or made no sense in its context.
    InvalidDatagram {
        addr: Remote,
        reason: String,
    },
    /// A resource cap was hit (reported once per episode: again only after it cleared).
    CapHit {
        cap: &'static str,
    },
    /// A spectator was admitted (`id` numbers spectators of this session from 1).
    SpectatorConnected {
        id: u32,
        addr: Remote,
    },
    SpectatorDisconnected {
        id: u32,
        addr: Remote,
        reason: LeaveReason,
    },
    /// A spectator's world disagreed with the server's at `tick` (it resyncs).
    SpectatorDesync {
        id: u32,
        tick: u64,
        client_checksum: u32,
        server_checksum: u32,
    },
    /// A hot standby proved the server key and follows (`id` numbers it among spectators).
    FollowerConnected {
        id: u32,
        addr: Remote,
    },
    FollowerDisconnected {
        id: u32,
        addr: Remote,
        reason: LeaveReason,
    },
    /// A `Follow` whose proof failed (or this server takes no followers).
    FollowerRefused {
        addr: Remote,
    },
    /// Our standby took over and told us so with a valid proof: stop serving.
    Deposed {
        addr: Remote,
    },
}

/// A saved character: the digest of the secret that owns it, and the commands that put
/// it back into the world after its `Join` (level, gold, items...). The commands travel in
/// frames like any other, so replays reproduce the restore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CharacterClaim {
    pub secret_digest: [u8; 16],
    pub restore: Vec<Command>,
}

/// Most restore commands added to one frame: keeps every frame far below a datagram even
/// when a character carries a full inventory (it then restores over a few ticks).
pub const RESTORE_PER_TICK: usize = 4;

/// Digest of a character secret as stored in saves (the secret itself is never written).
pub fn secret_digest(secret: &[u8; 16]) -> [u8; 16] {
    use siphasher::sip128::{Hasher128, SipHasher24};
    use std::hash::Hasher;
    // A fixed, public key: this is a fingerprint of a 128-bit random secret, not a MAC.
    let mut h = SipHasher24::new_with_keys(0x7665_6e74_7572_6521, 0x6368_6172_6163_7465);
    h.write(secret);
    h.finish128().as_bytes()
}

/// Counters since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    pub ticks: u64,
    pub datagrams_in: u64,
    pub bytes_in: u64,
    pub datagrams_out: u64,
    pub bytes_out: u64,
    pub invalid_datagrams: u64,
    pub late_inputs: u64,
    pub overruns: u64,
    pub desync_reports: u64,
    pub snapshots_sent: u64,
    pub rejected: u64,
    pub admitted: u64,
}

/// The server session. See the module docs.
pub struct ServerSession {
    config: SessionConfig,
    world: World,
    interval: Duration,
    /// Time of tick `base_tick` on the schedule; tick T is due at origin + (T - base) * interval.
    origin: Duration,
    base_tick: u64,
    cookies: CookieKey,
    players: Vec<Option<Player>>,
    by_addr: BTreeMap<Remote, u8>,
    pending_commands: Vec<Command>,
    /// Confirmed frames of ticks `history_first..`.
    history: VecDeque<ConfirmedFrame>,
    history_first: u64,
    next_snapshot_id: u32,
    outgoing: Vec<(Remote, Vec<u8>)>,
    events: Vec<ServerEvent>,
    stats: ServerStats,
    shutting_down: bool,
    /// No world yet: every Hello, Join and Spectate is refused (see [`admission`]).
    awaiting_allocation: bool,
    /// Saved characters by name: who may claim them and the commands that restore them.
    claims: BTreeMap<String, CharacterClaim>,
    /// Restore commands waiting to enter frames, a few per tick (see `RESTORE_PER_TICK`).
    restore_queue: VecDeque<Command>,
    /// Set by drivers that run the secure layer beneath laminar (see [`admission`]).
    admitted_by_transport: bool,
    /// Addresses whose `Hello` was refused for its version recently.
    version_refused: VecDeque<Remote>,
    /// Substituted ticks per slot since start, whoever held the slot (for metrics).
    substituted_by_slot: Vec<u64>,
    /// Per slot, since start (see [`SlotTraffic`]).
    slot_traffic: Vec<SlotTraffic>,
    spectators: spectators::Spectators,
    followers: followers::Followers,
}

impl ServerSession {
    /// A session over `world`, starting its schedule at time `now`. `secret` keys the
    /// admission cookies (random per process).
    pub fn new(world: World, mut config: SessionConfig, secret: [u8; 16], now: Duration) -> Self {
        let slots = world.config().max_players.min(config.max_players.max(1)) as usize;
        let interval = Duration::from_nanos(1_000_000_000 / world.config().tick_rate.max(1) as u64);
        let tick = world.tick();
        // Delayed spectators start from a keyframe up to two delays old and catch up from
        // the history, so it must reach that far back (plus some slack for slow links).
        let delay = spectators::delay_ticks(config.spectator_delay, interval);
        let tick_rate = u64::from(world.config().tick_rate.max(1));
        let needed = delay.saturating_mul(2).saturating_add(10 * tick_rate);
        if delay > 0 && (config.history_ticks as u64) < needed {
            config.history_ticks = usize::try_from(needed).unwrap_or(usize::MAX);
        }
        let spectators = spectators::Spectators::new(&config, &world, interval);
        // A new session has no connections: anyone still in the world (resumed from a save
        // or a crash) has left, and comes back by joining again.
        let pending_commands = (0..world.config().max_players as usize)
            .filter(|&s| world.player(s).is_some())
            .map(|s| Command::Leave { slot: s as u8 })
            .collect();
        ServerSession {
            config,
            interval,
            origin: now,
            base_tick: tick,
            cookies: CookieKey::new(secret),
            players: (0..slots).map(|_| None).collect(),
            by_addr: BTreeMap::new(),
            pending_commands,
            history: VecDeque::new(),
            history_first: tick + 1,
            next_snapshot_id: 1,
            outgoing: Vec::new(),
            events: Vec::new(),
            stats: ServerStats::default(),
            shutting_down: false,
            awaiting_allocation: false,
            claims: BTreeMap::new(),
            restore_queue: VecDeque::new(),
            admitted_by_transport: false,
            version_refused: VecDeque::new(),
            substituted_by_slot: vec![0; slots],
            slot_traffic: vec![SlotTraffic::default(); slots],
            spectators,
            followers: followers::Followers::default(),
            world,
        }
    }

    /// Admits followers that prove `key` (none without one). See [`followers`].
    pub fn set_follower_key(&mut self, key: Option<FollowerKey>) {
        self.followers.set_key(key);
    }

    /// Every follower, without addresses (for `/status` and the lag gauges).
    pub fn followers(&self) -> impl Iterator<Item = FollowerInfo> + '_ {
        self.spectators
            .followers()
            .map(|(id, addr, acked, syncing)| FollowerInfo {
                id,
                acked,
                syncing,
                claims_pending: self.followers.pending(addr),
            })
    }

    /// Payload bytes sent to followers since start.
    pub fn follower_bytes_out(&self) -> u64 {
        self.spectators.follower_bytes_out
    }

    /// Registers `name`'s saved character (its claim, see [`ServerSession::set_claim`])
    /// and sends it to every follower.
    pub fn set_character(&mut self, name: &str, character: &Character, secret_digest: [u8; 16]) {
        self.set_claim(
            name.to_string(),
            CharacterClaim {
                secret_digest,
                restore: character.restore_commands(0),
            },
        );
        self.followers.publish(&ClaimRecord {
            name: name.to_string(),
            secret_digest,
            character: Some(character.clone()),
        });
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    pub fn stats(&self) -> ServerStats {
        self.stats
    }

    /// How long a silent peer is kept (the secure endpoint's idle timeout is set to it).
    pub fn client_timeout(&self) -> Duration {
        self.config.client_timeout
    }

    pub fn tick_interval(&self) -> Duration {
        self.interval
    }

    /// When the next tick is due (for the shell's poll timeout).
    pub fn next_tick_at(&self) -> Duration {
        self.origin + self.interval * (self.world.tick() + 1 - self.base_tick) as u32
    }

    /// Connected players: (slot, name, address).
    pub fn players(&self) -> impl Iterator<Item = (u8, &str, Remote)> {
        self.players
            .iter()
            .flatten()
            .map(|c| (c.slot, c.name.as_str(), c.down.addr))
    }

    /// How the player in `slot` gets its inputs in: on time or substituted.
    pub fn input_timeliness(&self, slot: u8) -> Option<InputTimeliness> {
        let c = self.players.get(slot as usize)?.as_ref()?;
        Some(InputTimeliness {
            rtt: c.rtt(),
            ..c.timeliness
        })
    }

    /// Ticks filled with a repeated input per slot since the session started.
    pub fn substitutions_by_slot(&self) -> &[u64] {
        &self.substituted_by_slot
    }

    /// Traffic per slot since start, indexed by slot.
    pub fn slot_traffic(&self) -> &[SlotTraffic] {
        &self.slot_traffic
    }

    /// The link of every connected player.
    pub fn player_links(&self) -> impl Iterator<Item = PlayerLink> + '_ {
        self.players.iter().flatten().map(Player::link)
    }

    /// Spectators watching now (they hold no player slot).
    pub fn spectator_count(&self) -> usize {
        self.spectators.count()
    }

    /// Every spectator, without addresses (for `/status`).
    pub fn spectators(&self) -> impl Iterator<Item = SpectatorInfo> + '_ {
        self.spectators.info()
    }

    /// The spectator delay in ticks.
    pub fn spectator_delay_ticks(&self) -> u64 {
        self.spectators.delay_ticks()
    }

    pub fn player_count(&self) -> usize {
        self.players.iter().flatten().count()
    }

    /// Players still receiving a snapshot.
    pub fn syncing_count(&self) -> usize {
        self.players
            .iter()
            .flatten()
            .filter(|c| c.down.syncing())
            .count()
    }

    pub fn drain_outgoing(&mut self) -> Vec<(Remote, Vec<u8>)> {
        std::mem::take(&mut self.outgoing)
    }

    pub fn drain_events(&mut self) -> Vec<ServerEvent> {
        std::mem::take(&mut self.events)
    }

    /// Stop admitting and tell every client the server is going away.
    pub fn shut_down(&mut self) {
        self.shutting_down = true;
        let mut addrs: Vec<Remote> = self.players.iter().flatten().map(|c| c.down.addr).collect();
        addrs.extend(self.spectators.addrs());
        for addr in addrs {
            // Sent three times: it is unreliable and there is no later chance.
            for _ in 0..3 {
                self.send(addr, &Message::ShuttingDown);
            }
        }
    }

    fn send(&mut self, addr: Remote, msg: &Message) {
        if let Some(bytes) = encode_own(msg) {
            self.send_encoded(addr, bytes);
        }
    }

    /// Queues a datagram to a player or spectator, counting it.
    fn send_encoded(&mut self, addr: Remote, bytes: Vec<u8>) {
        self.stats.datagrams_out += 1;
        self.stats.bytes_out += bytes.len() as u64;
        if let Some(t) = self
            .by_addr
            .get(&addr)
            .and_then(|&s| self.slot_traffic.get_mut(s as usize))
        {
            t.bytes_out += bytes.len() as u64;
        } else if self.spectators.is_follower(addr) {
            self.spectators.follower_bytes_out += bytes.len() as u64;
        }
        self.outgoing.push((addr, bytes));
    }

    fn invalid(&mut self, addr: Remote, reason: String) {
        self.stats.invalid_datagrams += 1;
        self.events
            .push(ServerEvent::InvalidDatagram { addr, reason });
    }

    /// One datagram payload from `addr`.
    pub fn on_datagram(&mut self, addr: impl Into<Remote>, payload: &[u8], now: Duration) {
        let addr = addr.into();
        self.stats.datagrams_in += 1;
        self.stats.bytes_in += payload.len() as u64;
        let msg = match protocol::decode(payload) {
            Ok(m) => m,
            Err(protocol::ProtocolError::VersionMismatch { got }) => {
                return self.on_version_mismatch(addr, got, payload.len());
            }
            Err(e) => return self.invalid(addr, e.to_string()),
        };
        if let Some(&slot) = self.by_addr.get(&addr) {
            if let Some(t) = self.slot_traffic.get_mut(slot as usize) {
                t.bytes_in += payload.len() as u64;
            }
            self.on_player_message(slot, msg, payload.len(), now);
        } else if self.spectators.contains(addr) {
            self.on_spectator_message(addr, msg, now);
        } else {
            self.on_stranger_message(addr, msg, payload.len(), now);
        }
    }

    /// Characters of connected players that are fully in the world (for autosave and
    /// shutdown): (name, character, secret digest).
    pub fn connected_characters(&self) -> Vec<(String, Character, [u8; 16])> {
        self.players
            .iter()
            .flatten()
            .filter(|c| !self.restore_queue.iter().any(|cmd| cmd.slot() == c.slot))
            .filter_map(|c| {
                let p = self
                    .world
                    .player(c.slot as usize)
                    .filter(|p| p.name == c.name)?;
                Some((c.name.clone(), Character::of(p), secret_digest(&c.secret)))
            })
            .collect()
    }

    /// Registers (or replaces) the saved character `name`.
    pub fn set_claim(&mut self, name: String, claim: CharacterClaim) {
        self.claims.insert(name, claim);
    }

    pub fn claim(&self, name: &str) -> Option<&CharacterClaim> {
        self.claims.get(name)
    }

    /// The character secret a client presented when it joined (for the save layer).
    pub fn character_secret(&self, slot: u8) -> Option<[u8; 16]> {
        self.players.get(slot as usize)?.as_ref().map(|c| c.secret)
    }

    fn on_player_message(&mut self, slot: u8, msg: Message, len: usize, now: Duration) {
        let current = self.world.tick();
        let tick_rate = self.world.config().tick_rate;
        let max_lead_ticks = (self.config.max_input_lead.as_nanos()
            / self.interval.as_nanos().max(1))
        .min(u64::MAX as u128) as u64;
        let history_first = self.history_first;
        // When tick T closed on the schedule (the schedule is re-anchored after overruns).
        let (origin, base_tick, interval) = (self.origin, self.base_tick, self.interval);
        let closed_at = |t: u64| {
            let ticks = t.saturating_sub(base_tick).min(u32::MAX as u64) as u32;
            (t > base_tick).then(|| origin + interval * ticks)
        };
        let traffic = self.slot_traffic.get_mut(slot as usize);
        let Some(c) = self.players[slot as usize].as_mut() else {
            return;
        };
        let max_lead = accepted_lead(c.ack_lag.ceiling(), tick_rate, max_lead_ticks);
        c.down.last_heard = now;
        match msg {
            Message::Inputs {
                ack_tick,
                first_tick,
                inputs,
            } => {
                let late = c.on_inputs(
                    ack_tick, first_tick, inputs, current, max_lead, now, closed_at,
                );
                self.stats.late_inputs += late;
                if let Some(t) = traffic {
                    t.late_inputs += late;
                }
                // A client stuck behind the history can only be helped with a snapshot.
                if c.down.fell_behind(history_first) {
                    self.start_transfer(slot, SnapshotReason::FellBehind);
                }
            }
            Message::SnapshotChunkAck {
                snapshot_id,
                contiguous,
                mask,
            } => c
                .down
                .on_chunk_ack(current, snapshot_id, ChunkAck { contiguous, mask }),
            Message::SnapshotRequest { reason } => {
                let in_flight = self.players[slot as usize]
                    .as_ref()
                    .is_some_and(|c| c.down.syncing());
                // A re-sent request (the client re-sends until chunks arrive) reports the
                // same desync: count it once.
                if in_flight {
                    return;
                }
                if let SnapshotReason::Desync {
                    tick,
                    client_checksum,
                    server_checksum,
                } = reason
                {
                    self.stats.desync_reports += 1;
                    self.events.push(ServerEvent::DesyncReported {
                        slot,
                        tick,
                        client_checksum,
                        server_checksum,
                    });
                }
                self.start_transfer(slot, reason);
            }
            Message::Ping { nonce } => {
                let addr = c.down.addr;
                self.send(addr, &Message::Pong { nonce });
            }
            Message::Leave => self.remove_player(slot, LeaveReason::Left),
            Message::Chat { seq, text } => {
                // Room is kept for every slot's join or leave and the restores.
                let room = venture_sim::input::MAX_COMMANDS_PER_FRAME
                    - venture_sim::MAX_SLOTS
                    - RESTORE_PER_TICK;
                if let Some(text) = c.chat.admit(seq, &text, now) {
                    if self.pending_commands.len() < room {
                        self.pending_commands.push(Command::Chat { slot, text });
                    }
                }
            }
            Message::Join { .. } => {
                // A retransmitted Join: the Welcome was lost, and with it the snapshot's
                // chunks that came before it (the client drops chunks it cannot place yet).
                // Say it again and resend those chunks at once, as for a spectator: backing
                // off further on them stalled a joiner on a lossy link for good.
                if let Some(t) = self.players[slot as usize]
                    .as_mut()
                    .and_then(|c| c.down.transfer.as_mut())
                {
                    t.restart_resends();
                }
                self.send_welcome(slot);
            }
            Message::Hello { .. } => {}
            other => {
                let addr = c.down.addr;
                let _ = len;
                self.invalid(addr, format!("{} from a client", other.kind()));
            }
        }
    }

    fn on_spectator_message(&mut self, addr: Remote, msg: Message, now: Duration) {
        if let Message::ClaimAck { seq } = msg {
            self.followers.on_ack(addr, seq);
        }
        let rewelcome = matches!(msg, Message::Spectate { .. } | Message::Follow { .. });
        let current = self.world.tick();
        match self.spectators.on_message(
            addr,
            msg,
            current,
            self.history_first,
            now,
            &mut self.events,
        ) {
            Ok(Some(reason)) => {
                if let SnapshotReason::Desync { .. } = reason {
                    self.stats.desync_reports += 1;
                }
                let id = self.next_snapshot_id();
                self.spectators.start_transfer(addr, id, &self.world);
                self.stats.snapshots_sent += 1;
            }
            Ok(None) => {}
            Err(answer) => self.send(addr, &answer),
        }
        if rewelcome {
            if let Some(w) = self
                .spectators
                .rewelcome(addr, &self.world, &self.config.genre)
            {
                self.send(addr, &w);
            }
        }
    }

    /// The transport says `addr` is gone.
    /// The endpoint beneath timed `addr` out (nothing heard for the client timeout).
    pub fn on_timeout(&mut self, addr: impl Into<Remote>) {
        let addr = addr.into();
        self.spectators
            .remove(addr, LeaveReason::TimedOut, &mut self.events);
        if let Some(&slot) = self.by_addr.get(&addr) {
            self.remove_player(slot, LeaveReason::TimedOut);
        }
    }

    pub fn on_disconnect(&mut self, addr: impl Into<Remote>) {
        let addr = addr.into();
        self.spectators
            .remove(addr, LeaveReason::Disconnected, &mut self.events);
        if let Some(&slot) = self.by_addr.get(&addr) {
            self.remove_player(slot, LeaveReason::Disconnected);
        }
    }

    fn remove_player(&mut self, slot: u8, reason: LeaveReason) {
        if let Some(c) = self.players[slot as usize].take() {
            self.by_addr.remove(&c.down.addr);
            // Captured now: the leave is stepped later, and then the player is gone. Not
            // when a restore was still under way: saving half a character would lose items.
            let restoring = self.restore_queue.iter().any(|cmd| cmd.slot() == slot);
            let character = match self.world.player(slot as usize) {
                Some(p) if p.name == c.name && !restoring => {
                    Some(Box::new((Character::of(p), secret_digest(&c.secret))))
                }
                _ => None,
            };
            // A join still queued cancels out; otherwise the player leaves the world.
            self.restore_queue.retain(|cmd| cmd.slot() != slot);
            let before = self.pending_commands.len();
            self.pending_commands
                .retain(|cmd| !matches!(cmd, Command::Join { slot: s, .. } if *s == slot));
            if self.pending_commands.len() == before {
                self.pending_commands.push(Command::Leave { slot });
            }
            self.events.push(ServerEvent::PlayerDisconnected {
                slot,
                name: c.name,
                addr: c.down.addr,
                reason,
                character,
            });
        }
    }

    /// Advances the schedule to `now`: closes every due tick (at most `max_catchup_ticks`;
    /// beyond that the schedule slips and an overrun is reported), drops silent clients,
    /// and sends each client its frames and snapshot chunks.
    pub fn poll(&mut self, now: Duration) {
        // Behind the secure layer silence is the endpoint's one idle timeout
        // (`on_timeout`); a session driven bare times peers out itself.
        if !self.admitted_by_transport {
            let timeout = self.config.client_timeout;
            let silent: Vec<u8> = self
                .players
                .iter()
                .flatten()
                .filter(|c| c.down.is_silent(now, timeout))
                .map(|c| c.slot)
                .collect();
            for slot in silent {
                self.remove_player(slot, LeaveReason::TimedOut);
            }
            self.spectators.drop_silent(now, timeout, &mut self.events);
        }
        let mut closed = 0u32;
        while now >= self.next_tick_at() && closed < self.config.max_catchup_ticks {
            self.close_tick();
            closed += 1;
        }
        if now >= self.next_tick_at() {
            let behind = ((now - self.next_tick_at()).as_nanos() / self.interval.as_nanos().max(1))
                as u64
                + 1;
            self.stats.overruns += 1;
            self.events.push(ServerEvent::Overrun { behind, closed });
            // Re-anchor the schedule: the next tick is due one interval from now.
            self.origin = now;
            self.base_tick = self.world.tick();
        }
        if closed > 0 {
            self.send_streams();
        }
    }

    /// Closes the next tick right away (tests and tools; `poll` is the scheduled path).
    pub fn close_tick(&mut self) {
        let tick = self.world.tick() + 1;
        let mut frame = Frame::new(tick);
        frame.commands = std::mem::take(&mut self.pending_commands);
        // Restores follow their Join (queued in an earlier tick or earlier in this frame).
        for _ in 0..RESTORE_PER_TICK {
            match self.restore_queue.pop_front() {
                Some(c) => frame.commands.push(c),
                None => break,
            }
        }
        for c in self.players.iter_mut().flatten() {
            // Inputs for ticks already closed are gone for good.
            while let Some((&t, _)) = c.inputs.first_key_value() {
                if t >= tick {
                    break;
                }
                c.inputs.pop_first();
            }
            match c.inputs.remove(&tick) {
                Some(input) => {
                    c.last_input = input;
                    if !c.down.syncing() {
                        c.timeliness.on_time += 1;
                    }
                }
                None if !c.down.syncing() => {
                    c.timeliness.substituted += 1;
                    if let Some(n) = self.substituted_by_slot.get_mut(c.slot as usize) {
                        *n += 1;
                    }
                }
                None => {}
            }
            frame.set_input(c.slot as usize, c.last_input);
        }
        // Trailing idle inputs carry nothing; trimming keeps frames small and canonical.
        while frame.inputs.last() == Some(&PlayerInput::IDLE) {
            frame.inputs.pop();
        }
        if let Err(e) = self.world.step(&frame) {
            // The session builds every frame itself with the next tick: unreachable.
            log::error!(target: "venture::server", "step failed: {e}");
            return;
        }
        let checksum = self.world.checksum();
        self.stats.ticks += 1;
        self.history.push_back(ConfirmedFrame {
            frame: frame.clone(),
            checksum,
        });
        while self.history.len() > self.config.history_ticks {
            self.history.pop_front();
            self.history_first += 1;
        }
        self.spectators.on_tick(&self.world);
        self.events
            .push(ServerEvent::TickClosed { frame, checksum });
    }

    /// This tick's datagrams to every peer: snapshot chunks while it syncs, else the
    /// frames [`frames::plan_player`] picks, with the input ack and this tick's lead hint.
    fn send_streams(&mut self) {
        let current = self.world.tick();
        let mut out: Vec<(Remote, Vec<u8>)> = Vec::new();
        for c in self.players.iter_mut().flatten() {
            if c.down
                .send_chunks(current, self.config.chunks_per_tick, &mut out)
            {
                continue;
            }
            // A hint is this tick's measurement only: repeating an old one would tell a
            // client whose inputs stopped arriving that they still arrive. `last_margin`
            // keeps the last measurement (for the per-slot gauges).
            let lead_hint = match c.margin.take() {
                Some(m) => {
                    c.last_margin = m.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
                    c.last_margin
                }
                None => protocol::NO_LEAD_HINT,
            };
            c.stream_start.get_or_insert(current);
            let plan = frames::plan_player(&frames::PlayerStream {
                current,
                acked: c.down.acked,
                sends: c.down.sends,
                recovery_next: c.down.recovery_next,
                loss_ppm: c.loss.estimate_ppm,
                ack_lag: c.ack_lag.floor(),
                min_redundancy: self.config.min_frame_redundancy,
                max_redundancy: self.config.frame_redundancy,
            });
            c.down.recovery_next = plan.recovery_next;
            let frames = frames::frames_in(&self.history, self.history_first, plan.ticks);
            let first_tick = frames.first().map_or(current + 1, |f| f.frame.tick);
            match frames::pack_frames(
                first_tick,
                &frames,
                c.input_high,
                c.late_inputs,
                lead_hint,
                plan.keep,
            ) {
                Ok(packed) => out.push((c.down.addr, packed.bytes)),
                Err(e) => log::error!(target: "venture::server", "cannot pack frames: {e}"),
            }
        }
        out.extend(self.spectators.stream(
            current,
            &self.history,
            self.history_first,
            self.config.frame_redundancy,
            self.config.chunks_per_tick,
        ));
        let spectators = &self.spectators;
        self.followers.retain_peers(|a| spectators.is_follower(a));
        out.extend(self.followers.stream(current));
        for (addr, bytes) in out {
            self.send_encoded(addr, bytes);
        }
    }
}

/// The encoding of one of the session's own messages. They are sized to fit, so failing
/// is a bug worth seeing in logs, not a reason to stop serving.
fn encode_own(msg: &Message) -> Option<Vec<u8>> {
    protocol::encode_bounded(msg)
        .map_err(|e| log::error!(target: "venture::server", "cannot encode {msg:?}: {e}"))
        .ok()
}
