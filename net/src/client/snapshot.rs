//! Snapshot sync: chunks of the server's snapshot are reassembled and acked (the final
//! ack re-sent while the server has not heard it), and a complete snapshot becomes the
//! confirmed world: the session starts playing from it, a round trip plus the margin
//! ahead, with the frames that arrived beside it.

use std::time::Duration;

use venture_sim::rollback::Rollback;
use venture_sim::{PlayerInput, World};

use super::pacing::{LeadPacer, PacerConfig};
use super::{ClientEvent, ClientSession, Phase, MAX_PREDICTION_TICKS};
use crate::chunk::Progress;
use crate::protocol::{Message, SnapshotReason};
use crate::redundancy::{ReceiveTracker, RedundancyWindow};

impl ClientSession {
    pub(super) fn on_chunk(
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
        let start = Box::new(world.clone());
        let slots = world.config().max_players as usize;
        self.last_confirmed = vec![PlayerInput::IDLE; slots];
        let window = self.prediction_window();
        self.frames = ReceiveTracker::new(tick + 1, MAX_PREDICTION_TICKS * 4 + 64);
        self.inputs = RedundancyWindow::new(tick + 1, MAX_PREDICTION_TICKS + 8);
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
        self.events.push(ClientEvent::Synced { tick, world: start });
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
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::tests::Link;
    use super::super::{ClientConfig, ClientEvent, Phase};
    use crate::protocol::{Message, SnapshotReason};

    #[test]
    fn a_snapshot_whose_chunks_are_lost_once_each_still_starts_the_game() {
        let mut link = Link::new(ClientConfig::new("ada"));
        let mut seen = BTreeSet::new();
        link.drop_down = Box::new(move |m| match m {
            Message::SnapshotChunk { index, .. } => seen.insert(*index),
            _ => false,
        });
        link.play();
        let chunks = link
            .received
            .iter()
            .filter(|m| matches!(m, Message::SnapshotChunk { .. }))
            .count();
        let count = link.received.iter().find_map(|m| match m {
            Message::SnapshotChunk { count, .. } => Some(*count as usize),
            _ => None,
        });
        assert!(
            count.is_some_and(|c| chunks >= 2 * c),
            "{chunks} chunks of {count:?}"
        );
        let synced = link.events.iter().find_map(|e| match e {
            ClientEvent::Synced { tick, .. } => Some(*tick),
            _ => None,
        });
        let confirmed = link.client.confirmed_world().map(|w| w.tick());
        assert!(
            synced.is_some_and(|t| confirmed >= Some(t)),
            "{synced:?} {confirmed:?}"
        );
    }

    #[test]
    fn a_chunk_of_the_completed_snapshot_is_acked_again_in_full() {
        let mut link = Link::new(ClientConfig::new("ada"));
        link.play();
        let chunk = link
            .received
            .iter()
            .find(|m| matches!(m, Message::SnapshotChunk { .. }))
            .cloned()
            .expect("a snapshot came");
        let Message::SnapshotChunk {
            snapshot_id, count, ..
        } = chunk
        else {
            unreachable!("found as a chunk");
        };
        link.client.drain_outgoing();
        link.inject(&chunk);
        let acks: Vec<Message> = link
            .client
            .drain_outgoing()
            .iter()
            .filter_map(|b| crate::protocol::decode(b).ok())
            .collect();
        assert_eq!(
            acks,
            vec![Message::SnapshotChunkAck {
                snapshot_id,
                contiguous: count,
                mask: 0
            }]
        );
        assert_eq!(*link.client.phase(), Phase::Playing, "still playing on");
    }

    #[test]
    fn a_snapshot_that_does_not_restore_is_asked_for_again() {
        let mut link = Link::new(ClientConfig::new("ada"));
        link.drop_down = Box::new(|m| matches!(m, Message::SnapshotChunk { .. }));
        link.run_until(std::time::Duration::from_secs(5), |l| {
            *l.client.phase() == Phase::Syncing
        });
        link.client.drain_outgoing();
        link.inject(&Message::SnapshotChunk {
            snapshot_id: 99,
            tick: 5,
            index: 0,
            count: 1,
            bytes: b"not a world".to_vec(),
        });
        let sent: Vec<Message> = link
            .client
            .drain_outgoing()
            .iter()
            .filter_map(|b| crate::protocol::decode(b).ok())
            .collect();
        assert!(
            sent.contains(&Message::SnapshotRequest {
                reason: SnapshotReason::FellBehind
            }),
            "{sent:?}"
        );
        assert_eq!(*link.client.phase(), Phase::Syncing);
        assert!(link.client.world().is_none(), "nothing to play on");
    }
}
