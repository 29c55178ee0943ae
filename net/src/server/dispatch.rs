//! Datagrams in, by sender: a player's (inputs and acks, snapshot requests, chat,
//! leave), a spectator's or follower's, or a stranger's (see `admission`); the
//! transport's timeouts and disconnects; and the one path out, which counts every byte.

use super::*;
use crate::chunk::ChunkAck;
use crate::protocol::SnapshotReason;

impl ServerSession {
    pub(super) fn send(&mut self, addr: Remote, msg: &Message) {
        if let Some(bytes) = encode_own(msg) {
            self.send_encoded(addr, bytes);
        }
    }

    /// Queues a datagram to a player or spectator, counting it.
    pub(super) fn send_encoded(&mut self, addr: Remote, bytes: Vec<u8>) {
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

    pub(super) fn invalid(&mut self, addr: Remote, reason: String) {
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

    pub(super) fn on_player_message(&mut self, slot: u8, msg: Message, len: usize, now: Duration) {
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

    pub(super) fn on_spectator_message(&mut self, addr: Remote, msg: Message, now: Duration) {
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

    /// The endpoint beneath timed `addr` out (nothing heard for the client timeout).
    pub fn on_timeout(&mut self, addr: impl Into<Remote>) {
        let addr = addr.into();
        self.spectators
            .remove(addr, LeaveReason::TimedOut, &mut self.events);
        if let Some(&slot) = self.by_addr.get(&addr) {
            self.remove_player(slot, LeaveReason::TimedOut);
        }
    }

    /// The transport says `addr` is gone.
    pub fn on_disconnect(&mut self, addr: impl Into<Remote>) {
        let addr = addr.into();
        self.spectators
            .remove(addr, LeaveReason::Disconnected, &mut self.events);
        if let Some(&slot) = self.by_addr.get(&addr) {
            self.remove_player(slot, LeaveReason::Disconnected);
        }
    }
}
