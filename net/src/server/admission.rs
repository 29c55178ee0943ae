//! Handshake and admission: what the session does with datagrams from addresses it has
//! not admitted. A `Hello` gets a stateless cookie (`Challenge`), a `Join` or `Spectate`
//! echoing a valid cookie is admitted (a slot, a `Welcome`, a snapshot) or refused
//! (`Reject`: full, name taken, shutting down, bad cookie, version mismatch). Nothing is
//! remembered about a stranger before its cookie checks out, and no stranger is ever
//! answered with more bytes than it sent (no amplification).
//!
//! The stranger budget at the end of this file caps how many distinct strangers are
//! answered per laminar idle window; it exists only because laminar allocates connection
//! state for every address answered, and goes once a layer beneath laminar admits first.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use venture_sim::{Command, SIM_VERSION};

use super::peer::Client;
use super::{secret_digest, ServerEvent, ServerSession};
use crate::protocol::{self, Message, RejectReason, SnapshotReason, PROTOCOL_VERSION};

impl ServerSession {
    /// A datagram of another protocol version, from anyone: answered (so the operator of
    /// that client learns why) only with a reply no larger than what was sent.
    pub(super) fn on_version_mismatch(
        &mut self,
        addr: SocketAddr,
        got: u16,
        len: usize,
        now: Duration,
    ) {
        self.stats.invalid_datagrams += 1;
        self.events.push(ServerEvent::VersionMismatch {
            addr,
            client_protocol: got,
            client_sim: 0,
        });
        self.reply_bounded(
            addr,
            len,
            &Message::Reject {
                reason: RejectReason::VersionMismatch {
                    server_protocol: PROTOCOL_VERSION,
                    server_sim: SIM_VERSION,
                },
            },
            now,
        );
    }

    /// Sends `msg` to a not-yet-admitted address only if it is no larger than the
    /// datagram it answers (no amplification) and the stranger budget allows it.
    fn reply_bounded(&mut self, addr: SocketAddr, received: usize, msg: &Message, now: Duration) {
        match protocol::encode_bounded(msg) {
            Ok(bytes) if bytes.len() <= received && self.may_answer_stranger(addr, now) => {
                self.stats.datagrams_out += 1;
                self.stats.bytes_out += bytes.len() as u64;
                self.outgoing.push((addr, bytes));
            }
            _ => {}
        }
    }

    /// A message from an address that is neither a player nor a spectator.
    pub(super) fn on_stranger_message(
        &mut self,
        addr: SocketAddr,
        msg: Message,
        len: usize,
        now: Duration,
    ) {
        match msg {
            Message::Hello {
                protocol: p,
                sim_version,
                ..
            } => {
                if p != PROTOCOL_VERSION || sim_version != SIM_VERSION {
                    self.events.push(ServerEvent::VersionMismatch {
                        addr,
                        client_protocol: p,
                        client_sim: sim_version,
                    });
                    self.reject(
                        addr,
                        len,
                        RejectReason::VersionMismatch {
                            server_protocol: PROTOCOL_VERSION,
                            server_sim: SIM_VERSION,
                        },
                        now,
                    );
                } else if self.shutting_down {
                    self.reject(addr, len, RejectReason::ShuttingDown, now);
                } else {
                    let cookie = self.cookies.issue(addr, now);
                    self.reply_bounded(addr, len, &Message::Challenge { cookie }, now);
                }
            }
            Message::Join {
                cookie,
                name,
                character_secret,
            } => {
                if !self.cookies.verify(&cookie, addr, now) {
                    return self.reject(addr, len, RejectReason::BadCookie, now);
                }
                if self.shutting_down {
                    return self.reject(addr, len, RejectReason::ShuttingDown, now);
                }
                if self.clients.iter().flatten().any(|c| c.name == name) {
                    return self.reject(addr, len, RejectReason::NameTaken, now);
                }
                let restore = match self.claims.get(&name) {
                    Some(claim) if claim.secret_digest != secret_digest(&character_secret) => {
                        // Someone else's character: the name is taken for good.
                        return self.reject(addr, len, RejectReason::NameTaken, now);
                    }
                    Some(claim) => claim.restore.clone(),
                    None => Vec::new(),
                };
                let Some(slot) = self.free_slot() else {
                    return self.reject(addr, len, RejectReason::Full, now);
                };
                self.admit(addr, slot, name, character_secret, now);
                self.restore_queue
                    .extend(restore.into_iter().map(|c| c.for_slot(slot)));
            }
            Message::Spectate { cookie } => {
                if !self.cookies.verify(&cookie, addr, now) {
                    return self.reject(addr, len, RejectReason::BadCookie, now);
                }
                if self.shutting_down {
                    return self.reject(addr, len, RejectReason::ShuttingDown, now);
                }
                if self.spectators.is_full() {
                    let max = self.spectators.max();
                    return self.reject(addr, len, RejectReason::SpectatorsFull { max }, now);
                }
                let id = self.next_snapshot_id();
                let welcome = self.spectators.admit(
                    addr,
                    id,
                    &self.world,
                    &self.config.genre,
                    now,
                    &mut self.events,
                );
                self.stats.snapshots_sent += 1;
                self.send(addr, &welcome);
            }
            // Anything else from a stranger is noise (a client we already dropped, or junk).
            other => self.invalid(addr, format!("{} from an unadmitted address", other.kind())),
        }
    }

    /// Refuses a stranger with `reason` (if the answer is no larger than its datagram).
    fn reject(&mut self, addr: SocketAddr, len: usize, reason: RejectReason, now: Duration) {
        self.stats.rejected += 1;
        self.reply_bounded(
            addr,
            len,
            &Message::Reject {
                reason: reason.clone(),
            },
            now,
        );
        self.events.push(ServerEvent::Rejected { addr, reason });
    }

    /// A free slot: not held by a client, not claimed by a queued join, and either empty
    /// in the world or being vacated by a queued leave (commands apply in order, so a join
    /// queued after that leave takes the slot in the same tick).
    fn free_slot(&self) -> Option<u8> {
        (0..self.clients.len()).find_map(|s| {
            let queued = |leave: bool| {
                self.pending_commands.iter().any(|c| match c {
                    Command::Join { slot, .. } => !leave && *slot as usize == s,
                    Command::Leave { slot } => leave && *slot as usize == s,
                    _ => false,
                })
            };
            let vacant = self.world.player(s).is_none() || queued(true);
            (self.clients[s].is_none() && vacant && !queued(false)).then_some(s as u8)
        })
    }

    /// Gives `slot` to the player at `addr`: its `Join` command, its state, a snapshot and
    /// the `Welcome`.
    fn admit(&mut self, addr: SocketAddr, slot: u8, name: String, secret: [u8; 16], now: Duration) {
        self.pending_commands.push(Command::Join {
            slot,
            name: name.clone(),
        });
        self.clients[slot as usize] = Some(Client::new(
            addr,
            slot,
            name.clone(),
            secret,
            self.world.tick(),
            now,
        ));
        self.by_addr.insert(addr, slot);
        self.stats.admitted += 1;
        self.start_transfer(slot, SnapshotReason::Join);
        self.send_welcome(slot);
        self.events
            .push(ServerEvent::PlayerConnected { slot, name, addr });
    }

    /// The `Welcome` to the player in `slot`: on admission, and again for a retransmitted
    /// `Join` (the first `Welcome` was lost).
    pub(super) fn send_welcome(&mut self, slot: u8) {
        let Some(c) = self.clients[slot as usize].as_ref() else {
            return;
        };
        let (start_tick, snapshot_id) = c
            .transfer
            .as_ref()
            .map_or((c.acked, None), |t| (t.tick, Some(t.snapshot_id)));
        let msg = Message::Welcome {
            slot,
            tick_rate: self.world.config().tick_rate,
            seed: self.world.config().seed,
            genre: self.config.genre.clone(),
            sim_version: SIM_VERSION,
            start_tick,
            world_checksum: self.world.checksum(),
            snapshot_id,
        };
        let addr = c.addr;
        self.send(addr, &msg);
    }
}

// ---------------------------------------------------------------------------------------
// The stranger budget. Delete from here to the end of the file, the `strangers` field of
// `ServerSession`, `ServerConfig::{max_answered_strangers, stranger_memory}`,
// `ServerStats::hellos_dropped` and the "answered_strangers" cap (src/metrics.rs) together,
// once the layer beneath laminar admits before laminar sees an address.
// ---------------------------------------------------------------------------------------

/// Distinct strangers answered recently, capped: answering anyone makes laminar keep a
/// connection (about 1.8 MB) for that address until its idle timeout, so past the cap the
/// session stops answering strangers until old answers age out, and a Hello flood from many
/// addresses cannot grow memory.
#[derive(Debug)]
pub(super) struct StrangerBudget {
    /// When each address was last answered, oldest first.
    answered: VecDeque<(Duration, SocketAddr)>,
    max: usize,
    memory: Duration,
    /// In a cap episode (reported once; again only after it cleared).
    cap_hit: bool,
}

/// Whether a stranger may be answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Budget {
    Allowed,
    /// Over the cap; `first` is true for the first refusal of an episode.
    Refused {
        first: bool,
    },
}

impl StrangerBudget {
    /// At most `max` distinct addresses answered within `memory` (laminar's idle timeout
    /// plus margin).
    pub(super) fn new(max: usize, memory: Duration) -> StrangerBudget {
        StrangerBudget {
            answered: VecDeque::new(),
            max,
            memory,
            cap_hit: false,
        }
    }

    /// Whether `addr` may be answered at `now` (and if so, counts the answer).
    fn spend(&mut self, addr: SocketAddr, now: Duration) -> Budget {
        let memory = self.memory;
        // laminar keeps one connection per address until it has been idle for its
        // timeout, so what is bounded is distinct addresses answered recently; answering
        // the same address again (a client re-sending its Hello over a long link) costs
        // nothing new and refreshes its entry.
        self.answered
            .retain(|(t, _)| now.saturating_sub(*t) <= memory);
        if let Some(entry) = self.answered.iter_mut().find(|(_, a)| *a == addr) {
            entry.0 = now;
            return Budget::Allowed;
        }
        if self.answered.len() >= self.max {
            let first = !self.cap_hit;
            self.cap_hit = true;
            return Budget::Refused { first };
        }
        if self.answered.len() < self.max * 3 / 4 {
            self.cap_hit = false;
        }
        self.answered.push_back((now, addr));
        Budget::Allowed
    }
}

impl ServerSession {
    /// Whether another stranger may be answered now (and if so, counts the answer).
    fn may_answer_stranger(&mut self, addr: SocketAddr, now: Duration) -> bool {
        match self.strangers.spend(addr, now) {
            Budget::Allowed => true,
            Budget::Refused { first } => {
                self.stats.hellos_dropped += 1;
                if first {
                    self.events.push(ServerEvent::CapHit {
                        cap: "answered_strangers",
                    });
                }
                false
            }
        }
    }
}

#[cfg(test)]
mod stranger_budget_tests {
    use super::*;

    #[test]
    fn distinct_strangers_are_capped_per_memory_window_and_the_cap_reported_once() {
        let addr = |i: u8| SocketAddr::from(([127, 0, 0, i], 4000));
        let s = Duration::from_secs;
        let mut b = StrangerBudget::new(4, s(10));
        for i in 1..=4 {
            assert_eq!(b.spend(addr(i), s(0)), Budget::Allowed);
        }
        assert_eq!(b.spend(addr(5), s(1)), Budget::Refused { first: true });
        assert_eq!(b.spend(addr(6), s(1)), Budget::Refused { first: false });
        // Answering an address again costs nothing new (and refreshes it).
        assert_eq!(b.spend(addr(1), s(5)), Budget::Allowed);
        // Past the memory the others age out; address 1 was refreshed at 5 s.
        assert_eq!(b.spend(addr(5), s(11)), Budget::Allowed);
        assert_eq!(b.answered.len(), 2);
        // Below three quarters of the cap the episode is over: the next one is reported.
        for i in 6..=7 {
            assert_eq!(b.spend(addr(i), s(12)), Budget::Allowed);
        }
        assert_eq!(b.spend(addr(8), s(12)), Budget::Refused { first: true });
    }
}
