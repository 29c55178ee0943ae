//! Confirmation: the server's frames go into the receive buffer and every frame next in
//! line is confirmed on the rollback (re-simulating the prediction when it was wrong, with
//! the other players' newly confirmed inputs), its checksum compared with the server's.
//! A disagreement is a desync (see `resync`). Lead hints from fresh frames go to the pacer.

use std::time::Duration;

use venture_sim::glossary::Glossary;

use super::reconnect::ReconnectCause;
use super::{ClientEvent, ClientSession, Phase, Story, MAX_PREDICTION_TICKS};
use crate::protocol::{self, ConfirmedFrame, SnapshotReason};

impl ClientSession {
    /// A `Frames` message: kept for after the snapshot while syncing, confirmed while
    /// playing.
    pub(super) fn on_frames(
        &mut self,
        frames: Vec<ConfirmedFrame>,
        input_ack: u64,
        late_inputs: u32,
        lead_hint: i32,
        now: Duration,
    ) {
        if self.phase == Phase::Syncing {
            for cf in frames {
                if self.early_frames.len() >= MAX_PREDICTION_TICKS {
                    break;
                }
                self.early_frames.push(cf);
            }
        } else if self.phase == Phase::Playing {
            self.reack_snapshot = false;
            if self.reconnect.active() && self.reconnect.cause() != Some(ReconnectCause::ShutDown) {
                // The old server answers again: the drop healed before it let us go.
                self.reconnect.cancel();
            }
            self.inputs.ack(input_ack);
            self.stats.late_inputs = late_inputs;
            self.on_lead_hint(&frames, input_ack, lead_hint, now);
            for cf in frames {
                let tick = cf.frame.tick;
                self.frames.insert(tick, cf);
            }
            self.apply_confirmed(now);
        }
    }

    /// A lead hint counts only in a message carrying the newest frames (not a sweep of
    /// older ones, nor a reordered copy) and only if inputs arrived for it to measure. It
    /// was measured while the server's last closed tick was the one before the newest
    /// frame.
    fn on_lead_hint(
        &mut self,
        frames: &[ConfirmedFrame],
        input_ack: u64,
        hint: i32,
        now: Duration,
    ) {
        let Some(newest) = frames.last().map(|f| f.frame.tick) else {
            return;
        };
        let fresh = hint != protocol::NO_LEAD_HINT && newest >= self.newest_frame_seen;
        self.last_input_ack = self.last_input_ack.max(input_ack);
        self.newest_frame_seen = self.newest_frame_seen.max(newest);
        if fresh {
            self.pacer.on_hint(newest - 1, hint, now);
        }
    }

    /// Confirms every frame that is next in line.
    pub(super) fn apply_confirmed(&mut self, now: Duration) {
        while let Some((_, cf)) = self.frames.pop_next() {
            let Some(rb) = self.rollback.as_mut() else {
                return;
            };
            let slot = self.slot as usize;
            let behind_prediction = cf.frame.tick > rb.current_tick();
            let result = rb.confirm_with(cf.frame.clone(), |confirmed, later| {
                for s in 0..later.inputs.len().max(confirmed.inputs.len()) {
                    if s != slot {
                        later.set_input(s, confirmed.input(s));
                    }
                }
            });
            let mut confirmed = match result {
                Ok(c) => c,
                Err(e) => {
                    log::warn!(target: "venture::client", "cannot confirm tick {}: {e}", cf.frame.tick);
                    self.request_resync(SnapshotReason::FellBehind);
                    return;
                }
            };
            if let Some(sum) = self.maybe_inject_desync(cf.frame.tick) {
                confirmed.checksum = sum;
            }
            if behind_prediction && !self.watching() {
                // The server got ahead of us: our own inputs for this tick were not ours.
                self.pacer.hurry(now);
            }
            self.stats.confirmed += 1;
            for s in 0..self.last_confirmed.len() {
                self.last_confirmed[s] = cf.frame.input(s);
            }
            if confirmed.resimulated > 0 {
                self.stats.rollbacks += 1;
                self.stats.resimulated_ticks += confirmed.resimulated as u64;
                self.stats.max_rollback = self.stats.max_rollback.max(confirmed.resimulated as u64);
            }
            if self.config.report_confirmed && confirmed.checksum == cf.checksum {
                let story = match self.rollback.as_ref() {
                    Some(r) if self.config.narrate => Some(Box::new(Story {
                        events: r.confirmed().events().to_vec(),
                        names: Glossary::of(r.confirmed()),
                    })),
                    _ => None,
                };
                self.events.push(ClientEvent::Confirmed {
                    frame: cf.frame.clone(),
                    checksum: cf.checksum,
                    story,
                });
            }
            if confirmed.checksum != cf.checksum {
                self.stats.desyncs += 1;
                let state = self
                    .rollback
                    .as_ref()
                    .map(|r| r.confirmed().snapshot())
                    .unwrap_or_default();
                self.events.push(ClientEvent::Desync {
                    tick: cf.frame.tick,
                    client_checksum: confirmed.checksum,
                    server_checksum: cf.checksum,
                    state,
                });
                self.request_resync(SnapshotReason::Desync {
                    tick: cf.frame.tick,
                    client_checksum: confirmed.checksum,
                    server_checksum: cf.checksum,
                });
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use venture_sim::glossary::Glossary;

    use super::super::tests::Link;
    use super::super::{ClientConfig, ClientEvent};
    use venture_sim::event::Event;

    /// Every confirmed tick is reported once, in order, with the events and names that
    /// stepping the confirmed world with its frame gives, and the server's checksum.
    #[test]
    fn confirmed_ticks_carry_the_events_of_their_step() {
        let mut config = ClientConfig::new("ada");
        config.report_confirmed = true;
        config.narrate = true;
        let mut link = Link::new(config);
        link.play();
        link.events.clear();
        let mut mirror = link.client.confirmed_world().expect("playing").clone();
        assert!(link.client.send_chat("hello"));
        link.run_until(Duration::from_secs(2), |_| false);
        let mut chats = 0;
        let mut confirmed = 0;
        for e in &link.events {
            let ClientEvent::Confirmed {
                frame,
                checksum,
                story: Some(story),
            } = e
            else {
                continue;
            };
            let (events, names) = (&story.events, &story.names);
            mirror.step(frame).expect("confirmed ticks follow on");
            assert_eq!(*checksum, mirror.checksum(), "tick {}", frame.tick);
            assert_eq!(events.as_slice(), mirror.events(), "tick {}", frame.tick);
            assert_eq!(*names, Glossary::of(&mirror), "tick {}", frame.tick);
            chats += events
                .iter()
                .filter(|e| matches!(e, Event::Chat { .. }))
                .count();
            confirmed += 1;
        }
        assert!(confirmed >= 30, "{confirmed} confirmed");
        assert_eq!(chats, 1, "the chat line, once");
        assert_eq!(link.client.stats().desyncs, 0);
    }

    /// Narrators and recordings start from `Synced`'s world: the first `Confirmed` after it
    /// follows on from it, even when it came in the same batch (before the caller saw
    /// `Synced`, when the session's confirmed world has already moved past the snapshot).
    #[test]
    fn the_first_confirmed_tick_follows_on_from_the_synced_world() {
        let mut config = ClientConfig::new("ada");
        config.report_confirmed = true;
        config.narrate = true;
        let mut link = Link::new(config);
        link.play();
        link.run_until(Duration::from_secs(1), |_| false);
        let synced = link
            .events
            .iter()
            .position(|e| matches!(e, ClientEvent::Synced { .. }))
            .expect("synced");
        let ClientEvent::Synced { tick, world } = &link.events[synced] else {
            unreachable!("found above");
        };
        assert_eq!(world.tick(), *tick, "the snapshot's own world");
        let names = Glossary::of(world);
        let first = link.events[synced..]
            .iter()
            .find_map(|e| match e {
                ClientEvent::Confirmed { story, .. } => story.as_ref().map(|s| s.names.tick),
                _ => None,
            })
            .expect("a confirmed tick after the sync");
        assert_eq!(first, tick + 1);
        // The snapshot comes before our join: the join itself is a confirmed tick's event,
        // so a narrator started from the sync's names tells "You joined".
        assert!(names.player(0).is_none(), "{names:?}");
        let joined = link.events[synced..].iter().any(|e| {
            matches!(e, ClientEvent::Confirmed { story: Some(story), .. }
                if story.events.iter().any(|e| matches!(e, Event::PlayerJoined { slot: 0, .. })))
        });
        assert!(
            joined,
            "our join is among the confirmed ticks after the sync"
        );
    }

    /// A recorder (no narrator) gets every confirmed tick without a story: nothing is
    /// copied or built for it per tick.
    #[test]
    fn without_narrate_confirmed_ticks_carry_no_story() {
        let mut config = ClientConfig::new("ada");
        config.report_confirmed = true;
        let mut link = Link::new(config);
        link.play();
        link.run_until(Duration::from_secs(1), |_| false);
        let confirmed = link.count(|e| matches!(e, ClientEvent::Confirmed { .. }));
        assert!(confirmed >= 15, "{confirmed} confirmed");
        assert_eq!(
            link.count(|e| matches!(e, ClientEvent::Confirmed { story: Some(_), .. })),
            0
        );
    }

    #[test]
    fn without_report_confirmed_nothing_is_reported() {
        let mut link = Link::new(ClientConfig::new("ada"));
        link.play();
        link.run_until(Duration::from_secs(1), |_| false);
        assert!(link.client.stats().confirmed >= 15);
        assert_eq!(
            link.count(|e| matches!(e, ClientEvent::Confirmed { .. })),
            0
        );
    }
}
