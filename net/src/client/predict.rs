//! Prediction: while playing, each tick the pacer says is due is simulated ahead with the
//! local input (other players repeat their last confirmed input) and the inputs not yet
//! acknowledged go out with it, newest first, with the frame ack. A full prediction
//! window pauses prediction. Watchers predict nothing and only ack, once a tick.

use std::time::Duration;

use venture_sim::{Frame, PlayerInput, World};

use super::{ClientSession, CloseReason, MAX_PREDICTION_TICKS, MAX_TICKS_PER_POLL};
use crate::protocol::Message;
use crate::redundancy::RedundancyWindow;

impl ClientSession {
    /// `poll` while playing: the silence timeout, pings, and the ticks now due.
    pub(super) fn poll_playing(
        &mut self,
        now: Duration,
        silent: bool,
        input_for: &mut dyn FnMut(&World, u8) -> PlayerInput,
    ) {
        if !self.config.reconnect.enabled() && silent {
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

    /// Predicts one tick with the local input. Returns false when the prediction window is
    /// full.
    pub(super) fn predict_one(
        &mut self,
        input_for: &mut dyn FnMut(&World, u8) -> PlayerInput,
    ) -> bool {
        let Some(rb) = self.rollback.as_mut() else {
            return false;
        };
        if rb.pending() >= rb.prediction_window() {
            self.stats.prediction_stalls += 1;
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
            // Ticks were not consecutive (after a resync): start the send buffer afresh.
            self.inputs = RedundancyWindow::new(tick, MAX_PREDICTION_TICKS + 8);
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
        // client that stops acking (a full prediction window) would otherwise stop the frames too.
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
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use venture_sim::PlayerInput;

    use super::super::tests::Link;
    use super::super::ClientConfig;
    use crate::protocol::Message;

    #[test]
    fn the_local_input_is_predicted_sent_and_played_by_the_server() {
        let mut link = Link::new(ClientConfig::new("ada"));
        link.play();
        link.input = PlayerInput {
            move_x: 1,
            ..PlayerInput::IDLE
        };
        link.run_until(Duration::from_secs(2), |_| false);
        assert!(link.client.stats().ticks >= 30, "{:?}", link.client.stats());
        assert!(
            link.client.lead() > 0,
            "predicting ahead of the confirmed tick"
        );
        let sent_move = link.sent.iter().any(|m| match m {
            Message::Inputs { inputs, .. } => inputs.iter().any(|i| i.move_x == 1),
            _ => false,
        });
        assert!(sent_move);
        let played = link.received.iter().any(|m| match m {
            Message::Frames { frames, .. } => frames.iter().any(|f| f.frame.input(0).move_x == 1),
            _ => false,
        });
        assert!(played, "the server's frames carry ada's inputs");
    }

    #[test]
    fn prediction_stops_at_the_prediction_window() {
        let mut config = ClientConfig::new("ada");
        config.prediction_window = Some(3);
        let mut link = Link::new(config);
        link.play();
        link.drop_down = Box::new(|m| matches!(m, Message::Frames { .. }));
        link.run_until(Duration::from_secs(1), |_| false);
        assert!(link.client.lead() <= 3, "lead {}", link.client.lead());
        assert!(link.client.stats().prediction_stalls > 0);
        assert_eq!(link.client.prediction_window(), 3);
    }

    #[test]
    fn a_spectator_predicts_nothing_and_acks_every_tick() {
        let mut config = ClientConfig::new("eve");
        config.spectate = true;
        let mut link = Link::new(config);
        link.play();
        let before = link.sent.len();
        link.run_until(Duration::from_secs(1), |_| false);
        assert_eq!(link.client.stats().ticks, 0);
        assert_eq!(link.client.lead(), 0);
        let acks: Vec<&Message> = link.sent[before..]
            .iter()
            .filter(|m| matches!(m, Message::Inputs { inputs, .. } if inputs.is_empty()))
            .collect();
        // 20 ticks a second: about one ack each.
        assert!((15..=25).contains(&acks.len()), "{} acks", acks.len());
    }
}
