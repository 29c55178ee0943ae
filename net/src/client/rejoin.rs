//! Reconnect episodes: silence past the policy's `probe_after`, or the server's
//! `ShuttingDown`, starts one; Hellos then follow the schedule in [`super::reconnect`]. A
//! Challenge means the server answering holds no session for us (it restarted): forget
//! the old one and join again. The episode ends playing again, or closes the session when
//! the policy's time is up.

use std::time::Duration;

use venture_sim::SIM_VERSION;

use super::reconnect::ReconnectCause;
use super::{ClientSession, CloseReason, Phase};
use crate::chunk::{Reassembler, ReassemblyLimits};
use crate::protocol::Message;

impl ClientSession {
    pub(super) fn on_shutting_down(&mut self, now: Duration) {
        if self.config.reconnect.enabled() && !matches!(self.phase, Phase::Connecting) {
            self.reconnect.start(ReconnectCause::ShutDown, now);
        } else {
            self.close(CloseReason::ServerShuttingDown);
        }
    }

    /// Forgets the old server's session and joins the one that answered our Hello.
    pub(super) fn begin_rejoin(&mut self, cookie: [u8; 16], now: Duration) {
        self.reconnect.on_rejoining();
        self.resync_request = None;
        self.rollback = None;
        self.early_frames.clear();
        self.snapshot_id = None;
        self.completed_snapshot = None;
        self.reassembler = Reassembler::new(ReassemblyLimits::default());
        self.last_confirmed.clear();
        self.last_input_ack = 0;
        self.newest_frame_seen = 0;
        self.pacer.reset(now);
        self.phase = Phase::Joining { cookie };
        self.first_join_at = Some(now);
        self.send_join();
        self.last_handshake_send = Some(now);
    }

    /// Starts, runs and ends reconnect episodes. Returns true when the session closed.
    pub(super) fn poll_reconnect(&mut self, now: Duration) -> bool {
        if !self.config.reconnect.enabled() {
            return false;
        }
        let in_game = matches!(self.phase, Phase::Playing | Phase::Syncing);
        if in_game
            && !self.reconnect.active()
            && now.saturating_sub(self.last_heard) > self.config.reconnect.probe_after
        {
            self.reconnect.start(ReconnectCause::Silence, now);
        }
        let rejoining = self.reconnect.status(now).is_some_and(|st| st.rejoining);
        let patience = self.config.reconnect.probe_after
            + self.rtt.smoothed().unwrap_or(Duration::from_secs(1)) * 2;
        if rejoining && now.saturating_sub(self.last_heard) > patience {
            // The server that answered went quiet mid-rejoin (restarted again?): probe.
            self.reconnect.on_refused(now);
        }
        if self.reconnect.expired(now) {
            let reason = match self.reconnect.cause() {
                Some(ReconnectCause::ShutDown) => CloseReason::ServerShuttingDown,
                _ => CloseReason::ServerTimedOut,
            };
            self.reconnect.cancel();
            self.close(reason);
            return true;
        }
        if self.reconnect.hello_due(now) {
            self.send(&Message::hello(SIM_VERSION));
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::reconnect::ReconnectPolicy;
    use super::super::tests::{server, Link};
    use super::super::{ClientConfig, CloseReason, Phase};
    use crate::protocol::Message;

    /// The server restarts (a new session that never heard of us): after the silence the
    /// client probes, the new server's Challenge makes it join again from scratch, and it
    /// plays on.
    #[test]
    fn a_restarted_server_is_joined_again() {
        let mut link = Link::new(ClientConfig::new("ada"));
        link.play();
        link.server = server(2, link.now);
        let probing = link.run_until(Duration::from_secs(5), |l| {
            l.client.reconnecting(l.now).is_some()
        });
        assert!(probing, "an episode after the silence");
        let back = link.run_until(Duration::from_secs(10), |l| {
            l.client.stats().reconnects == 1 && *l.client.phase() == Phase::Playing
        });
        assert!(back, "{:?} {:?}", link.client.phase(), link.client.stats());
        assert!(
            link.client.reconnecting(link.now).is_none(),
            "the episode ended"
        );
        assert_eq!(
            link.server.world().player(0).map(|p| p.name.as_str()),
            Some("ada")
        );
    }

    #[test]
    fn a_shutdown_without_reconnecting_closes_the_session() {
        let mut config = ClientConfig::new("ada");
        config.reconnect = ReconnectPolicy {
            give_up_after: Duration::ZERO,
            ..ReconnectPolicy::default()
        };
        let mut link = Link::new(config);
        link.play();
        link.server.shut_down();
        link.deliver_down();
        assert_eq!(
            *link.client.phase(),
            Phase::Closed(CloseReason::ServerShuttingDown)
        );
    }

    #[test]
    fn an_episode_gives_up_when_the_policy_says() {
        let mut config = ClientConfig::new("ada");
        config.reconnect.give_up_after = Duration::from_secs(3);
        let mut link = Link::new(config);
        link.play();
        link.drop_down = Box::new(|_| true);
        let closed = link.run_until(Duration::from_secs(10), |l| l.client.is_closed());
        assert!(closed);
        assert_eq!(
            *link.client.phase(),
            Phase::Closed(CloseReason::ServerTimedOut)
        );
        let hellos = link
            .sent
            .iter()
            .filter(|m| matches!(m, Message::Hello { .. }))
            .count();
        assert!(hellos >= 3, "probed the silent server: {hellos} Hellos");
    }
}
