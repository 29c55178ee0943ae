//! Spectators of a server session: peers admitted by the same cookie handshake as players
//! (with `Spectate` instead of `Join`) that take no player slot, send no inputs and never
//! add a command to a frame, so the players' frames, checksums and the session log are the
//! same with or without them. A spectator gets a snapshot and then the confirmed frames
//! with their checksums, which it verifies like a player (a desync asks for a new
//! snapshot). They have their own cap ([`SessionConfig::max_spectators`]).
//!
//! Followers (hot standbys, [`super::followers`]) ride in the same list, marked: no delay,
//! no cap, a fresh snapshot, and counted and reported apart from spectators.
//!
//! Delay ([`SessionConfig::spectator_delay`], D ticks): a spectator only ever receives
//! frames up to `current - D`, and its snapshot must be at least that old too. Design: the
//! session keeps a *keyframe*, a serialized copy of the world taken every D ticks, and the
//! confirmed-frame history covers at least 2·D ticks. A spectator joining at tick `c` gets
//! the newest keyframe with tick <= `c - D` (at most 2·D old) and catches up from the
//! history. The cost is one world serialization per D ticks, only when D > 0; with D = 0 a
//! spectator gets a fresh snapshot like a player.

use crate::carrier::Remote;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use venture_sim::World;

use super::downlink::Downlink;
use super::frames;
use super::transfer::Transfer;
use super::{LeaveReason, ServerEvent, SessionConfig};
use crate::chunk::ChunkAck;
use crate::protocol::{self, ConfirmedFrame, Message, SnapshotReason};

/// What `/status` may show about one spectator (no address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpectatorInfo {
    pub id: u32,
    /// Newest confirmed frame it holds.
    pub acked: u64,
    /// Still receiving a snapshot.
    pub syncing: bool,
}

#[derive(Debug)]
struct Spectator {
    id: u32,
    down: Downlink,
    /// A hot standby (see [`super::followers`]): no delay, no cap, counted apart.
    follower: bool,
}

/// A serialized world kept for delayed spectators to start from.
#[derive(Debug)]
struct Keyframe {
    tick: u64,
    checksum: u32,
    data: Rc<Vec<u8>>,
}

/// Every spectator of a session, and the keyframes of the delay window.
#[derive(Debug)]
pub(super) struct Spectators {
    list: Vec<Spectator>,
    max: u16,
    delay_ticks: u64,
    keyframes: VecDeque<Keyframe>,
    next_id: u32,
    /// Payload bytes sent to followers since start.
    pub follower_bytes_out: u64,
}

/// The delay in whole ticks (rounded up: never less delay than configured).
pub fn delay_ticks(delay: Duration, interval: Duration) -> u64 {
    let i = interval.as_nanos().max(1);
    delay.as_nanos().div_ceil(i).min(u128::from(u32::MAX)) as u64
}

impl Spectators {
    pub(super) fn new(config: &SessionConfig, world: &World, interval: Duration) -> Self {
        let delay_ticks = delay_ticks(config.spectator_delay, interval);
        let mut s = Spectators {
            list: Vec::new(),
            max: config.max_spectators,
            delay_ticks,
            keyframes: VecDeque::new(),
            next_id: 1,
            follower_bytes_out: 0,
        };
        if delay_ticks > 0 {
            s.take_keyframe(world);
        }
        s
    }

    pub(super) fn delay_ticks(&self) -> u64 {
        self.delay_ticks
    }

    /// Spectators watching (followers not included).
    pub(super) fn count(&self) -> usize {
        self.list.iter().filter(|s| !s.follower).count()
    }

    pub(super) fn is_full(&self) -> bool {
        self.count() >= usize::from(self.max)
    }

    pub(super) fn is_follower(&self, addr: Remote) -> bool {
        self.list.iter().any(|s| s.down.addr == addr && s.follower)
    }

    /// Every follower: (id, address, newest confirmed frame it holds, still syncing).
    pub(super) fn followers(&self) -> impl Iterator<Item = (u32, Remote, u64, bool)> + '_ {
        self.list
            .iter()
            .filter(|s| s.follower)
            .map(|s| (s.id, s.down.addr, s.down.acked, s.down.syncing()))
    }

    pub(super) fn max(&self) -> u16 {
        self.max
    }

    pub(super) fn contains(&self, addr: Remote) -> bool {
        self.list.iter().any(|s| s.down.addr == addr)
    }

    pub(super) fn addrs(&self) -> Vec<Remote> {
        self.list.iter().map(|s| s.down.addr).collect()
    }

    pub(super) fn info(&self) -> impl Iterator<Item = SpectatorInfo> + '_ {
        self.list
            .iter()
            .filter(|s| !s.follower)
            .map(|s| SpectatorInfo {
                id: s.id,
                acked: s.down.acked,
                syncing: s.down.syncing(),
            })
    }

    /// The newest tick spectators may see when the server is at `current`.
    fn visible(&self, current: u64) -> u64 {
        let v = current.saturating_sub(self.delay_ticks);
        // Early in a session nothing is D old yet: the start is.
        v.max(self.keyframes.front().map_or(0, |k| k.tick))
    }

    fn take_keyframe(&mut self, world: &World) {
        self.keyframes.push_back(Keyframe {
            tick: world.tick(),
            checksum: world.checksum(),
            data: Rc::new(world.snapshot()),
        });
    }

    /// After each closed tick: a keyframe every D ticks; keyframes no spectator can need
    /// (a newer one is already old enough) are dropped.
    pub(super) fn on_tick(&mut self, world: &World) {
        if self.delay_ticks == 0 {
            return;
        }
        let due = self
            .keyframes
            .back()
            .is_none_or(|k| world.tick() >= k.tick + self.delay_ticks);
        if due {
            self.take_keyframe(world);
        }
        let visible = world.tick().saturating_sub(self.delay_ticks);
        while self.keyframes.len() > 1 && self.keyframes[1].tick <= visible {
            self.keyframes.pop_front();
        }
    }

    /// The snapshot a spectator starts from now: (tick, checksum, bytes). A follower
    /// always starts from the present.
    fn snapshot(&self, world: &World, follower: bool) -> (u64, u32, Rc<Vec<u8>>) {
        match self.keyframes.front() {
            Some(k) if self.delay_ticks > 0 && !follower => {
                (k.tick, k.checksum, Rc::clone(&k.data))
            }
            _ => (world.tick(), world.checksum(), Rc::new(world.snapshot())),
        }
    }

    /// Admits `addr` (a follower when `follower`); returns the `Welcome` to send it. The
    /// caller checked the cookie and the cap (or the follower's proof).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn admit(
        &mut self,
        addr: Remote,
        snapshot_id: u32,
        world: &World,
        genre: &str,
        now: Duration,
        follower: bool,
        events: &mut Vec<ServerEvent>,
    ) -> Message {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let (tick, checksum, data) = self.snapshot(world, follower);
        let transfer = Transfer::new(snapshot_id, tick, data);
        self.list.push(Spectator {
            id,
            down: Downlink::new(addr, tick, transfer, now),
            follower,
        });
        events.push(if follower {
            ServerEvent::FollowerConnected { id, addr }
        } else {
            ServerEvent::SpectatorConnected { id, addr }
        });
        welcome(world, genre, tick, checksum, snapshot_id)
    }

    /// The `Welcome` again for a spectator whose first one was lost (its snapshot's
    /// chunks are then sent again at once: it dropped those that came before).
    pub(super) fn rewelcome(
        &mut self,
        addr: Remote,
        world: &World,
        genre: &str,
    ) -> Option<Message> {
        let s = self.list.iter_mut().find(|s| s.down.addr == addr)?;
        let t = s.down.transfer.as_mut()?;
        t.restart_resends();
        let (tick, snapshot_id) = (t.tick, t.snapshot_id);
        let checksum = self
            .keyframes
            .iter()
            .find(|k| k.tick == tick)
            .map_or_else(|| world.checksum(), |k| k.checksum);
        Some(welcome(world, genre, tick, checksum, snapshot_id))
    }

    pub(super) fn remove(
        &mut self,
        addr: Remote,
        reason: LeaveReason,
        events: &mut Vec<ServerEvent>,
    ) {
        if let Some(i) = self.list.iter().position(|s| s.down.addr == addr) {
            let s = self.list.swap_remove(i);
            let id = s.id;
            events.push(if s.follower {
                ServerEvent::FollowerDisconnected { id, addr, reason }
            } else {
                ServerEvent::SpectatorDisconnected { id, addr, reason }
            });
        }
    }

    /// Drops spectators silent for longer than `timeout`.
    pub(super) fn drop_silent(
        &mut self,
        now: Duration,
        timeout: Duration,
        events: &mut Vec<ServerEvent>,
    ) {
        let silent: Vec<Remote> = self
            .list
            .iter()
            .filter(|s| s.down.is_silent(now, timeout))
            .map(|s| s.down.addr)
            .collect();
        for addr in silent {
            self.remove(addr, LeaveReason::TimedOut, events);
        }
    }

    /// A message from the admitted spectator at `addr`. Returns an answer to send, and
    /// whether it needs a fresh snapshot (`Some(reason)`; the caller starts it with
    /// [`Spectators::start_transfer`]).
    pub(super) fn on_message(
        &mut self,
        addr: Remote,
        msg: Message,
        current: u64,
        history_first: u64,
        now: Duration,
        events: &mut Vec<ServerEvent>,
    ) -> Result<Option<SnapshotReason>, Message> {
        let delayed = self.visible(current);
        let Some(s) = self.list.iter_mut().find(|s| s.down.addr == addr) else {
            return Ok(None);
        };
        let visible = if s.follower { current } else { delayed };
        s.down.last_heard = now;
        match msg {
            // Its frame ack. Inputs, if any, are ignored: a spectator never plays.
            Message::Inputs { ack_tick, .. } => {
                s.down.on_frame_ack(ack_tick, visible);
                Ok(s.down
                    .fell_behind(history_first)
                    .then_some(SnapshotReason::FellBehind))
            }
            Message::SnapshotChunkAck {
                snapshot_id,
                contiguous,
                mask,
            } => {
                let ack = ChunkAck { contiguous, mask };
                s.down.on_chunk_ack(current, snapshot_id, ack);
                Ok(None)
            }
            Message::SnapshotRequest { reason } => {
                if let SnapshotReason::Desync {
                    tick,
                    client_checksum,
                    server_checksum,
                } = reason
                {
                    events.push(ServerEvent::SpectatorDesync {
                        id: s.id,
                        tick,
                        client_checksum,
                        server_checksum,
                    });
                }
                Ok((!s.down.syncing()).then_some(reason))
            }
            Message::Ping { nonce } => Err(Message::Pong { nonce }),
            Message::Leave => {
                self.remove(addr, LeaveReason::Left, events);
                Ok(None)
            }
            // Retransmitted Spectate or Follow (our Welcome was lost): the caller answers
            // it. A follower's claim acks are the caller's too.
            Message::Spectate { .. }
            | Message::Follow { .. }
            | Message::ClaimAck { .. }
            | Message::Hello { .. } => Ok(None),
            // Chat, Join, server messages: a spectator has no say in frames.
            _ => Ok(None),
        }
    }

    /// Restarts the spectator at `addr` from a snapshot.
    pub(super) fn start_transfer(&mut self, addr: Remote, snapshot_id: u32, world: &World) {
        let follower = self.is_follower(addr);
        let (tick, _, data) = self.snapshot(world, follower);
        if let Some(s) = self.list.iter_mut().find(|s| s.down.addr == addr) {
            s.down.start(Transfer::new(snapshot_id, tick, data), tick);
            // Its sweep starts over from the snapshot.
            s.down.recovery_next = 0;
        }
    }

    /// This tick's datagrams to every spectator, encoded: snapshot chunks while syncing,
    /// else the frames [`frames::plan_spectator`] picks.
    pub(super) fn stream(
        &mut self,
        current: u64,
        history: &VecDeque<ConfirmedFrame>,
        history_first: u64,
        redundancy: usize,
        chunks_per_tick: usize,
    ) -> Vec<(Remote, Vec<u8>)> {
        let delayed = self.visible(current);
        let mut out = Vec::new();
        for s in &mut self.list {
            let visible = if s.follower { current } else { delayed };
            if s.down.send_chunks(current, chunks_per_tick, &mut out) {
                continue;
            }
            let plan = frames::plan_spectator(&frames::SpectatorStream {
                visible,
                acked: s.down.acked,
                sends: s.down.sends,
                recovery_next: s.down.recovery_next,
                history_first,
                redundancy,
            });
            let frames = frames::frames_in(history, history_first, plan.ticks.clone());
            let first_tick = frames.first().map_or(visible + 1, |f| f.frame.tick);
            let no_lead_hint = protocol::NO_LEAD_HINT;
            match frames::pack_frames(first_tick, &frames, 0, 0, no_lead_hint, plan.keep) {
                Ok(packed) => {
                    if plan.sweep {
                        s.down.recovery_next =
                            frames::sweep_cursor_after(&plan, &frames, &packed.kept);
                    }
                    out.push((s.down.addr, packed.bytes));
                }
                // Our own frames; failing is a bug worth seeing in logs, not a reason to
                // stop serving.
                Err(e) => log::error!(target: "venture::server", "cannot pack frames: {e}"),
            }
        }
        out
    }
}

fn welcome(world: &World, genre: &str, tick: u64, checksum: u32, snapshot_id: u32) -> Message {
    Message::Welcome {
        // Ignored by a spectator (it holds no slot); any valid slot decodes.
        slot: 0,
        tick_rate: world.config().tick_rate,
        seed: world.config().seed,
        genre: genre.to_string(),
        sim_version: venture_sim::SIM_VERSION,
        start_tick: tick,
        world_checksum: checksum,
        snapshot_id: Some(snapshot_id),
    }
}
