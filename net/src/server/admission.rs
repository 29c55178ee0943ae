//! Handshake and admission: what the session does with datagrams from addresses it has
//! not admitted. A `Hello` gets a stateless cookie (`Challenge`), a `Join` or `Spectate`
//! echoing a valid cookie is admitted (a slot, a `Welcome`, a snapshot) or refused
//! (`Reject`: full, name taken, shutting down, awaiting an allocation, bad cookie, version
//! mismatch). Nothing is
//! remembered about a stranger before its cookie checks out, and no stranger is ever
//! answered with more bytes than it sent (no amplification).
//!
//! Beneath laminar the secure layer (`crate::secure`) has already proved each sender's
//! address with its own cookie and completed a handshake before anything reaches the
//! session, so drivers that run it turn on `admitted_by_transport`: then `Join` and
//! `Spectate` need no cookie of ours and a client joins right behind its `Hello`. Sessions
//! driven directly (tests, fuzzing) keep the cookie exchange.

use crate::carrier::Remote;
use std::time::Duration;

use venture_sim::{Command, SIM_VERSION};

use super::player::Player;
use super::{secret_digest, ServerEvent, ServerSession};
use crate::protocol::{self, Message, RejectReason, SnapshotReason, PROTOCOL_VERSION};

/// Addresses remembered as refused for their version (oldest forgotten first).
const MAX_VERSION_REFUSED: usize = 256;

impl ServerSession {
    /// A datagram of another protocol version, from anyone: answered (so the operator of
    /// that client learns why) only with a reply no larger than what was sent.
    pub(super) fn on_version_mismatch(&mut self, addr: Remote, got: u16, len: usize) {
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
        );
    }

    /// Sends `msg` to a not-yet-admitted address only if it is no larger than the
    /// datagram it answers (no amplification).
    fn reply_bounded(&mut self, addr: Remote, received: usize, msg: &Message) {
        match protocol::encode_bounded(msg) {
            Ok(bytes) if bytes.len() <= received => {
                self.stats.datagrams_out += 1;
                self.stats.bytes_out += bytes.len() as u64;
                self.outgoing.push((addr, bytes));
            }
            _ => {}
        }
    }

    /// Refuses every player and spectator with `AwaitingAllocation`: the server holds a
    /// stand-in world until an Agones allocation chooses the real one (the shell then
    /// replaces this session).
    pub fn set_awaiting_allocation(&mut self, on: bool) {
        self.awaiting_allocation = on;
    }

    /// Says that the transport beneath admits peers (see the module docs).
    pub fn set_admitted_by_transport(&mut self, on: bool) {
        self.admitted_by_transport = on;
    }

    fn cookie_ok(&self, cookie: &crate::cookie::Cookie, addr: Remote, now: Duration) -> bool {
        if self.admitted_by_transport {
            // A Join riding behind a refused Hello in the same handshake takes no slot.
            return !self.version_refused.contains(&addr);
        }
        self.cookies.verify(cookie, addr.addr, now)
    }

    /// Why a cookie-bearing request (a join or a spectator) is refused before its own
    /// checks: a bad cookie first, then a server that admits nobody now.
    fn cookie_refusal(
        &self,
        cookie: &crate::cookie::Cookie,
        addr: Remote,
        now: Duration,
    ) -> Option<RejectReason> {
        if !self.cookie_ok(cookie, addr, now) {
            return Some(RejectReason::BadCookie);
        }
        self.closed_reason()
    }

    /// Why the server admits nobody now, if it does not.
    fn closed_reason(&self) -> Option<RejectReason> {
        if self.shutting_down {
            Some(RejectReason::ShuttingDown)
        } else if self.awaiting_allocation {
            Some(RejectReason::AwaitingAllocation)
        } else {
            None
        }
    }

    fn note_version_refused(&mut self, addr: Remote) {
        if self.version_refused.len() >= MAX_VERSION_REFUSED {
            self.version_refused.pop_front();
        }
        self.version_refused.push_back(addr);
    }

    /// A message from an address that is neither a player nor a spectator.
    pub(super) fn on_stranger_message(
        &mut self,
        addr: Remote,
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
                    self.note_version_refused(addr);
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
                    );
                } else if let Some(reason) = self.closed_reason() {
                    self.reject(addr, len, reason);
                } else {
                    let cookie = self.cookies.issue(addr.addr, now);
                    self.reply_bounded(addr, len, &Message::Challenge { cookie });
                }
            }
            Message::Join {
                cookie,
                name,
                character_secret,
            } => {
                if let Some(reason) = self.cookie_refusal(&cookie, addr, now) {
                    return self.reject(addr, len, reason);
                }
                if self.players.iter().flatten().any(|c| c.name == name) {
                    return self.reject(addr, len, RejectReason::NameTaken);
                }
                let restore = match self.claims.get(&name) {
                    Some(claim) if claim.secret_digest != secret_digest(&character_secret) => {
                        // Someone else's character: the name is taken for good.
                        return self.reject(addr, len, RejectReason::NameTaken);
                    }
                    Some(claim) => claim.restore.clone(),
                    None => Vec::new(),
                };
                let Some(slot) = self.free_slot() else {
                    return self.reject(addr, len, RejectReason::Full);
                };
                if !self.followers.knows(&name) {
                    // A new character: its owner's digest goes to followers now, so the
                    // player is the same character on a standby that takes over.
                    self.followers.publish(&crate::standby::ClaimRecord {
                        name: name.clone(),
                        secret_digest: secret_digest(&character_secret),
                        character: None,
                    });
                }
                self.admit(addr, slot, name, character_secret, now);
                self.restore_queue
                    .extend(restore.into_iter().map(|c| c.for_slot(slot)));
            }
            Message::Spectate { cookie } => {
                if let Some(reason) = self.cookie_refusal(&cookie, addr, now) {
                    return self.reject(addr, len, reason);
                }
                if self.spectators.is_full() {
                    let max = self.spectators.max();
                    return self.reject(addr, len, RejectReason::SpectatorsFull { max });
                }
                self.welcome_watcher(addr, now, false);
            }
            Message::Follow {
                nonce,
                proof,
                depose,
            } => self.on_follow(addr, len, &nonce, &proof, depose, now),
            // Anything else from a stranger is noise (a client we already dropped, or junk).
            other => self.invalid(addr, format!("{} from an unadmitted address", other.kind())),
        }
    }

    /// A standby's `Follow`: the nonce must be our cookie for its address (which the
    /// secure layer cannot vouch for: the proof is over it), the proof must show the key.
    fn on_follow(
        &mut self,
        addr: Remote,
        len: usize,
        nonce: &crate::cookie::Cookie,
        proof: &[u8; 32],
        depose: bool,
        now: Duration,
    ) {
        use crate::standby::Purpose;
        if !self.cookies.verify(nonce, addr.addr, now) {
            return self.reject(addr, len, RejectReason::BadCookie);
        }
        let purpose = if depose {
            Purpose::Depose
        } else {
            Purpose::Follow
        };
        if !self.followers.check(purpose, nonce, proof) {
            self.events.push(ServerEvent::FollowerRefused { addr });
            return self.reject(addr, len, RejectReason::FollowerRefused);
        }
        if depose {
            self.events.push(ServerEvent::Deposed { addr });
            return self.reply_bounded(
                addr,
                len,
                &Message::Reject {
                    reason: RejectReason::Replaced,
                },
            );
        }
        if self.shutting_down {
            return self.reject(addr, len, RejectReason::ShuttingDown);
        }
        self.followers.add_peer(addr);
        self.welcome_watcher(addr, now, true);
    }

    /// Admits a spectator, or a `follower` (a hot standby), and sends its welcome
    /// snapshot.
    fn welcome_watcher(&mut self, addr: Remote, now: Duration, follower: bool) {
        let id = self.next_snapshot_id();
        let welcome = self.spectators.admit(
            addr,
            id,
            &self.world,
            &self.config.genre,
            now,
            follower,
            &mut self.events,
        );
        self.stats.snapshots_sent += 1;
        self.send(addr, &welcome);
    }

    /// Refuses a stranger with `reason` (if the answer is no larger than its datagram).
    fn reject(&mut self, addr: Remote, len: usize, reason: RejectReason) {
        self.stats.rejected += 1;
        self.reply_bounded(
            addr,
            len,
            &Message::Reject {
                reason: reason.clone(),
            },
        );
        self.events.push(ServerEvent::Rejected { addr, reason });
    }

    /// A free slot: not held by a client, not claimed by a queued join, and either empty
    /// in the world or being vacated by a queued leave (commands apply in order, so a join
    /// queued after that leave takes the slot in the same tick).
    fn free_slot(&self) -> Option<u8> {
        (0..self.players.len()).find_map(|s| {
            let queued = |leave: bool| {
                self.pending_commands.iter().any(|c| match c {
                    Command::Join { slot, .. } => !leave && *slot as usize == s,
                    Command::Leave { slot } => leave && *slot as usize == s,
                    _ => false,
                })
            };
            let vacant = self.world.player(s).is_none() || queued(true);
            (self.players[s].is_none() && vacant && !queued(false)).then_some(s as u8)
        })
    }

    /// Gives `slot` to the player at `addr`: its `Join` command, its state, a snapshot and
    /// the `Welcome`.
    fn admit(&mut self, addr: Remote, slot: u8, name: String, secret: [u8; 16], now: Duration) {
        self.pending_commands.push(Command::Join {
            slot,
            name: name.clone(),
        });
        self.players[slot as usize] = Some(Player::new(
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
        let Some(c) = self.players[slot as usize].as_ref() else {
            return;
        };
        let (start_tick, snapshot_id) = c
            .down
            .transfer
            .as_ref()
            .map_or((c.down.acked, None), |t| (t.tick, Some(t.snapshot_id)));
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
        let addr = c.down.addr;
        self.send(addr, &msg);
    }
}
