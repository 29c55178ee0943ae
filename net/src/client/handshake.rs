//! The handshake: Hello (and, without the secure layer's admission, the server's
//! Challenge), then a Join, Spectate or Follow answering the cookie, re-sent until the
//! Welcome or a Reject; the first Join's Welcome is the first round-trip sample. After the
//! Welcome the session syncs (see `snapshot`).

use std::time::Duration;

use venture_sim::SIM_VERSION;

use super::{ClientEvent, ClientSession, CloseReason, Phase};
use crate::protocol::{Message, RejectReason};

impl ClientSession {
    pub(super) fn on_challenge(&mut self, cookie: [u8; 16], now: Duration) {
        self.reconnect.on_rejoining();
        self.phase = Phase::Joining { cookie };
        self.first_join_at = Some(now);
        self.send_join();
        self.last_handshake_send = Some(now);
    }

    #[allow(clippy::too_many_arguments)] // the Welcome's fields, taken apart by the dispatch
    pub(super) fn on_welcome(
        &mut self,
        slot: u8,
        tick_rate: u32,
        seed: u64,
        genre: String,
        start_tick: u64,
        snapshot_id: Option<u32>,
        now: Duration,
    ) {
        if !matches!(self.phase, Phase::Joining { .. } | Phase::Connecting) {
            return;
        }
        if let Some(rtt) = self.first_join_at.take().and_then(|t| now.checked_sub(t)) {
            // Answers the first Join unless it was lost: at worst an overestimate by a
            // retry interval, which only adds lead.
            self.record_rtt(rtt);
        }
        self.slot = slot;
        self.tick_rate = tick_rate.max(1);
        self.interval = Duration::from_nanos(1_000_000_000 / self.tick_rate as u64);
        self.snapshot_id = snapshot_id;
        self.welcomed_at = now;
        self.phase = Phase::Syncing;
        self.events.push(ClientEvent::Welcomed {
            slot,
            tick_rate,
            seed,
            genre,
            start_tick,
        });
    }

    pub(super) fn on_reject(&mut self, reason: RejectReason, now: Duration) {
        if self.reconnect.active() {
            match reason {
                // Passing refusals (our old slot or name not yet released, a server still
                // shutting down or, restarted in an Agones fleet, not yet given its world
                // back, a cookie that aged): try again.
                RejectReason::Full
                | RejectReason::NameTaken
                | RejectReason::ShuttingDown
                | RejectReason::AwaitingAllocation
                | RejectReason::BadCookie => {
                    if !matches!(self.phase, Phase::Playing | Phase::Syncing) {
                        self.phase = Phase::Connecting;
                    }
                    self.reconnect.on_refused(now);
                }
                other => self.close(CloseReason::Rejected(other)),
            }
        } else if !matches!(self.phase, Phase::Playing) {
            self.close(CloseReason::Rejected(reason));
        }
    }

    pub(super) fn send_join(&mut self) {
        if let Phase::Joining { cookie } = self.phase {
            self.send_join_with(cookie);
        }
    }

    fn send_join_with(&mut self, cookie: [u8; 16]) {
        if let Some(f) = &self.config.follow {
            let msg = f.message(cookie);
            return self.send(&msg);
        }
        if self.config.spectate {
            return self.send(&Message::Spectate { cookie });
        }
        let msg = Message::Join {
            cookie,
            name: self.config.name.clone(),
            character_secret: self.config.character_secret,
        };
        self.send(&msg);
    }

    /// `poll` before playing: handshake resends and timeouts, resync requests while
    /// syncing, pings.
    pub(super) fn poll_handshake(&mut self, now: Duration, silent: bool) {
        let reconnecting = self.config.reconnect.enabled();
        let handshaking = !matches!(self.phase, Phase::Syncing);
        let first_join = !self.reconnect.active() && self.stats.reconnects == 0;
        if handshaking
            && first_join
            && now.saturating_sub(self.started) > self.config.connect_timeout
        {
            return self.close(CloseReason::Unreachable);
        }
        if !handshaking && !reconnecting && silent {
            return self.close(CloseReason::ServerTimedOut);
        }
        let due = self
            .last_handshake_send
            .is_none_or(|t| now >= t + self.config.handshake_retry);
        if due {
            match self.phase {
                // While reconnecting, Hellos follow the reconnect schedule.
                Phase::Connecting if self.reconnect.active() => {}
                Phase::Connecting => {
                    self.last_handshake_send = Some(now);
                    self.send(&Message::hello(SIM_VERSION));
                    // A follower's proof is over the server's cookie: it waits for the
                    // Challenge.
                    if self.admitted_by_transport && self.config.follow.is_none() {
                        // The layer beneath proved our address: join right behind the
                        // Hello (the server refuses it if the Hello fails).
                        self.first_join_at.get_or_insert(now);
                        self.send_join_with([0; 16]);
                    }
                }
                Phase::Joining { .. } => {
                    self.last_handshake_send = Some(now);
                    self.send_join();
                }
                _ => {}
            }
        }
        if !handshaking {
            self.maybe_resend_resync(now);
        }
        self.maybe_ping(now);
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Duration;

    use super::super::tests::{server, Link};
    use super::super::{ClientConfig, ClientEvent, CloseReason, Phase};
    use crate::protocol::{Message, RejectReason};

    #[test]
    fn joins_the_server_and_the_welcome_measures_the_round_trip() {
        let mut link = Link::new(ClientConfig::new("ada"));
        link.play();
        let kinds: Vec<&str> = link.sent.iter().take(2).map(|m| m.kind()).collect();
        assert_eq!(
            kinds,
            ["hello", "join"],
            "Hello, then a Join on the Challenge"
        );
        assert_eq!(
            link.count(|e| matches!(e, ClientEvent::Welcomed { slot: 0, .. })),
            1
        );
        assert!(
            link.client.rtt().is_some(),
            "the Welcome answered the first Join"
        );
        assert_eq!(
            link.server.world().player(0).map(|p| p.name.as_str()),
            Some("ada")
        );
    }

    #[test]
    fn a_lost_join_is_sent_again_until_welcomed() {
        let mut link = Link::new(ClientConfig::new("ada"));
        let mut joins_lost = 0;
        link.drop_up = Box::new(move |m| {
            let lose = matches!(m, Message::Join { .. }) && joins_lost < 2;
            joins_lost += lose as u32;
            lose
        });
        link.play();
        let joins = link
            .sent
            .iter()
            .filter(|m| matches!(m, Message::Join { .. }))
            .count();
        assert!(joins >= 3, "{joins} joins");
    }

    #[test]
    fn a_full_server_closes_the_session_with_the_reason() {
        let mut link = Link::new(ClientConfig::new("ada"));
        link.server = server(1, link.now);
        link.play();
        let other = SocketAddr::from(([127, 0, 0, 3], 5000));
        let mut second = Link::with_server(ClientConfig::new("bob"), link.server, other, link.now);
        // The slot is taken (by ada, silent now but not yet timed out).
        let closed = second.run_until(Duration::from_secs(5), |l| l.client.is_closed());
        assert!(closed);
        assert_eq!(
            *second.client.phase(),
            Phase::Closed(CloseReason::Rejected(RejectReason::Full))
        );
    }

    #[test]
    fn an_unanswered_handshake_gives_up_after_the_connect_timeout() {
        let mut config = ClientConfig::new("ada");
        config.connect_timeout = Duration::from_secs(2);
        let mut link = Link::new(config);
        link.drop_up = Box::new(|_| true);
        assert!(link.run_until(Duration::from_secs(3), |l| l.client.is_closed()));
        assert_eq!(
            *link.client.phase(),
            Phase::Closed(CloseReason::Unreachable)
        );
        assert!(link.now >= Duration::from_secs(2));
        let hellos = link
            .sent
            .iter()
            .filter(|m| matches!(m, Message::Hello { .. }))
            .count();
        assert!(hellos >= 7, "re-sent every 250 ms: {hellos}");
    }
}
