//! After a takeover, the promoted server tells the old primary that it was replaced: a
//! follower session with `depose` (the same proof of the server key, for the other
//! purpose) to the primary's address, tried again every second until the old primary
//! answers `Reject { Replaced }`. An old primary that was only frozen (SIGSTOP, a stalled
//! VM, a partition) reads it as soon as it runs again and stops serving the world (see
//! `ServerEvent::Deposed` in the server loop). One that died never answers; the attempts
//! cost a Hello a second.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use venture_net::carrier::udp::UdpCarrier;
use venture_net::client::{ClientEvent, CloseReason};
use venture_net::driver::ClientDriver;
use venture_net::protocol::RejectReason;

use super::server_key::ServerKey;
use super::standby::follower_driver;

/// Pause between attempts.
const RETRY: Duration = Duration::from_secs(1);
/// A silent attempt is given up after this (the old primary is dead or unreachable).
const ATTEMPT: Duration = Duration::from_secs(5);

pub(super) struct Deposer {
    old_primary: SocketAddr,
    key: ServerKey,
    epoch: Instant,
    attempt: Option<(ClientDriver<UdpCarrier>, Instant)>,
    next_try: Instant,
    done: bool,
}

impl Deposer {
    pub(super) fn new(old_primary: SocketAddr, key: ServerKey) -> Deposer {
        let now = Instant::now();
        Deposer {
            old_primary,
            key,
            epoch: now,
            attempt: None,
            next_try: now,
            done: false,
        }
    }

    /// A deposer with nothing to do (the old primary's address is our own).
    pub(super) fn finished(old_primary: SocketAddr, key: ServerKey) -> Deposer {
        let mut d = Deposer::new(old_primary, key);
        d.done = true;
        d
    }

    /// The local address of the attempt under way (its datagrams are ours, not a peer's).
    pub(super) fn local_addr(&self) -> Option<SocketAddr> {
        self.attempt
            .as_ref()
            .and_then(|(d, _)| d.carrier().inner().local_addr().ok())
    }

    /// Whether the old primary acknowledged.
    pub(super) fn done(&self) -> bool {
        self.done
    }

    pub(super) fn pump(&mut self, now: Instant) {
        if self.done {
            return;
        }
        if self.attempt.is_none() && now >= self.next_try {
            match follower_driver(self.old_primary, &self.key, true, self.epoch) {
                Ok(d) => self.attempt = Some((d, now)),
                Err(e) => {
                    log::warn!(target: "venture::standby", component = "standby", error:% = e; "cannot open a socket to tell the old primary");
                    self.next_try = now + RETRY;
                }
            }
        }
        let Some((driver, started)) = self.attempt.as_mut() else {
            return;
        };
        driver.pump(now, &mut |_, _| venture_sim::PlayerInput::IDLE);
        let mut over = now.saturating_duration_since(*started) > ATTEMPT;
        for ev in driver.session.drain_events() {
            if let ClientEvent::Closed(reason) = ev {
                over = true;
                if reason == CloseReason::Rejected(RejectReason::Replaced) {
                    self.done = true;
                    log::info!(target: "venture::standby", component = "standby", old_primary:% = self.old_primary; "the old primary acknowledged that it was replaced");
                }
            }
        }
        if over {
            self.attempt = None;
            self.next_try = now + RETRY;
        }
    }
}
