//! Desync and resync: a snapshot asked for after a checksum disagreement or when the
//! session cannot confirm on, re-sent until one starts arriving (requests travel
//! unreliably); and the diagnostic desync (`inject_desync_at`) that runs that whole path
//! on purpose.

use std::time::Duration;

use super::{ClientSession, Phase};
use crate::protocol::{Message, SnapshotReason};

/// A snapshot we asked for (see [`ClientSession::maybe_resend_resync`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct ResyncRequest {
    reason: SnapshotReason,
    sent_at: Duration,
    /// The reassembler's snapshot when we asked: a different one is the answer arriving.
    snapshot_before: Option<u32>,
}

impl ClientSession {
    /// Diagnostics (`inject_desync_at`): alters the world just confirmed at `tick`, once,
    /// and returns its new checksum, which then disagrees with the server's at `tick`.
    pub(super) fn maybe_inject_desync(&mut self, tick: u64) -> Option<u32> {
        let due = self.config.inject_desync_at.is_some_and(|at| tick >= at);
        if !due || self.desync_injected {
            return None;
        }
        let (slot, sum) = self.rollback.as_mut()?.inject_fault_for_diagnostics()?;
        self.desync_injected = true;
        log::warn!(target: "venture::client", "diagnostics: injected a desync at tick {tick} (players[{slot}].gold changed)");
        Some(sum)
    }

    pub(super) fn request_resync(&mut self, reason: SnapshotReason) {
        self.phase = Phase::Syncing;
        self.rollback = None;
        self.early_frames.clear();
        self.welcomed_at = self.last_heard;
        self.resync_request = Some(ResyncRequest {
            reason,
            sent_at: self.last_heard,
            snapshot_before: self.reassembler.current().map(|(id, _)| id),
        });
        self.send(&Message::SnapshotRequest { reason });
    }

    /// Re-sends a resync request that no snapshot has answered within about two round
    /// trips: a lost request would otherwise leave us syncing forever while the server,
    /// still hearing from us, keeps us in the game.
    pub(super) fn maybe_resend_resync(&mut self, now: Duration) {
        let retry = self.config.handshake_retry.max(
            self.rtt.smoothed().unwrap_or(Duration::from_secs(1)) * 2 + Duration::from_millis(100),
        );
        let newest_snapshot = self.reassembler.current().map(|(id, _)| id);
        let Some(req) = self.resync_request.as_mut() else {
            return;
        };
        if newest_snapshot != req.snapshot_before || now < req.sent_at + retry {
            return;
        }
        req.sent_at = now;
        let reason = req.reason;
        self.send(&Message::SnapshotRequest { reason });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::tests::Link;
    use super::super::{ClientConfig, ClientEvent, Phase};
    use crate::protocol::{Message, SnapshotReason};

    fn desync_config() -> ClientConfig {
        let mut config = ClientConfig::new("ada");
        config.inject_desync_at = Some(40);
        config
    }

    #[test]
    fn a_desync_is_reported_and_a_new_snapshot_resumes_the_game() {
        let mut link = Link::new(desync_config());
        link.play();
        let resynced = link.run_until(Duration::from_secs(10), |l| {
            l.client.stats().resyncs == 1 && *l.client.phase() == Phase::Playing
        });
        assert!(resynced, "{:?}", link.client.stats());
        let desync = link.events.iter().find_map(|e| match e {
            ClientEvent::Desync {
                tick,
                client_checksum,
                server_checksum,
                state,
            } => Some((*tick, *client_checksum != *server_checksum, state.len())),
            _ => None,
        });
        let (tick, differ, state) = desync.expect("a desync event");
        assert!(tick >= 40 && differ && state > 0, "{desync:?}");
        assert_eq!(link.count(|e| matches!(e, ClientEvent::Synced { .. })), 2);
        assert!(link.sent.iter().any(|m| matches!(
            m,
            Message::SnapshotRequest {
                reason: SnapshotReason::Desync { .. }
            }
        )));
        assert_eq!(
            link.client.stats().desyncs,
            1,
            "the injection is once a session"
        );
    }

    #[test]
    fn a_lost_snapshot_request_is_sent_again() {
        let mut link = Link::new(desync_config());
        let mut lost = false;
        link.drop_up = Box::new(move |m| {
            let lose = matches!(m, Message::SnapshotRequest { .. }) && !lost;
            lost |= lose;
            lose
        });
        link.play();
        let resynced = link.run_until(Duration::from_secs(10), |l| l.client.stats().resyncs == 1);
        assert!(resynced, "{:?}", link.client.stats());
        let requests = link
            .sent
            .iter()
            .filter(|m| matches!(m, Message::SnapshotRequest { .. }))
            .count();
        assert!(requests >= 2, "{requests} requests");
    }
}
