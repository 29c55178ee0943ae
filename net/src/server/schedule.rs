//! The tick schedule: tick T closes at `T * interval` after start (bounded catch-up, then
//! the schedule slips), each closed tick takes every player's input or repeats its last,
//! and then every peer gets this tick's datagram: snapshot chunks, or the frames its
//! planner picks.

use venture_sim::{Frame, PlayerInput};

use super::*;

impl ServerSession {
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
    pub(super) fn send_streams(&mut self) {
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
