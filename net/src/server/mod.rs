//! The authoritative server session: admission, lockstep tick closing, per-client frame
//! streams with redundancy, late-input accounting and snapshot transfer.
//!
//! This module is the facade: [`ServerSession`], its config ([`SessionConfig`]), its state
//! and the public API. The rest is one job per child module, as quinn-proto separates its
//! `Endpoint` from its `Connection`s:
//! - `events`: [`ServerEvent`], [`LeaveReason`], [`ServerStats`];
//! - `dispatch`: datagrams in by sender (player, spectator, stranger), timeouts and
//!   disconnects, and the one counted path out;
//! - `schedule`: the tick schedule, closing ticks (inputs or repeats, the confirmed-frame
//!   history) and sending every peer its datagram;
//! - `characters`: saved characters (claims, secret digests, the character a player
//!   leaves with);
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

use crate::standby::FollowerKey;
use venture_sim::{Command, World};

use crate::cookie::CookieKey;
use crate::protocol::{self, ConfirmedFrame, Message};

mod admission;
mod characters;
mod dispatch;
mod downlink;
mod events;
pub mod followers;
pub mod frames;
mod player;
mod schedule;
pub mod spectators;
mod transfer;

pub use characters::{secret_digest, CharacterClaim, RESTORE_PER_TICK};
pub use events::{LeaveReason, ServerEvent, ServerStats};
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
}

/// The encoding of one of the session's own messages. They are sized to fit, so failing
/// is a bug worth seeing in logs, not a reason to stop serving.
fn encode_own(msg: &Message) -> Option<Vec<u8>> {
    protocol::encode_bounded(msg)
        .map_err(|e| log::error!(target: "venture::server", "cannot encode {msg:?}: {e}"))
        .ok()
}
