//! The Agones lifecycle policy as a sans-IO state machine: which SDK call goes out next,
//! when, and what a call's outcome changes. No sockets and no clock: the caller passes
//! `now`, starts the calls this returns, and reports how each went. That keeps every rule
//! (Ready first and retried; Health only while on schedule; a coalesced players label;
//! Shutdown once the last player has left, once; retries with a pause; a bounded queue)
//! testable in microseconds, and the I/O shell in `agones.rs` small.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{AgonesStats, Call};

/// Pause before a failed Ready, players label or (empty-server) Shutdown is tried again.
/// Health is not retried: the next ping is never more than one interval away.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Most calls waiting at once (Ready, Health, label, Shutdown fit easily).
const MAX_QUEUE: usize = 8;

/// The parts of the configuration the policy needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub health_interval: Duration,
    pub shutdown_when_empty: bool,
    pub player_label: bool,
}

/// Where the game server is in its Agones life.
#[derive(Clone, Debug)]
pub struct Lifecycle {
    policy: Policy,
    queue: VecDeque<Call>,
    in_flight: Option<Call>,
    /// Calls to queue again once their time comes (at most one per kind).
    retries: Vec<(Call, Instant)>,
    ready_ok: bool,
    next_health: Instant,
    had_players: bool,
    labelled: Option<usize>,
    shutdown_queued: bool,
    shutdown_ok: bool,
    /// The process is exiting: only Shutdown is left to do, and it is not retried.
    stopping: bool,
    failing: bool,
    stats: AgonesStats,
}

impl Lifecycle {
    /// A lifecycle whose first call is `Ready`; the first health ping is due at `now`.
    pub fn new(policy: Policy, now: Instant) -> Lifecycle {
        Lifecycle {
            policy,
            queue: VecDeque::from([Call::Ready]),
            in_flight: None,
            retries: Vec::new(),
            ready_ok: false,
            next_health: now,
            had_players: false,
            labelled: None,
            shutdown_queued: false,
            shutdown_ok: false,
            stopping: false,
            failing: false,
            stats: AgonesStats::default(),
        }
    }

    pub fn stats(&self) -> AgonesStats {
        self.stats
    }

    /// True once `Ready` has been acknowledged.
    pub fn is_ready(&self) -> bool {
        self.ready_ok
    }

    /// True once a `Shutdown` has been acknowledged.
    pub fn is_shut_down(&self) -> bool {
        self.shutdown_ok
    }

    /// True once a player has been seen.
    pub fn had_players(&self) -> bool {
        self.had_players
    }

    /// True once Shutdown has been decided (last player left, or the process is stopping).
    pub fn shutdown_queued(&self) -> bool {
        self.shutdown_queued
    }

    /// The call in flight, if any.
    pub fn in_flight(&self) -> Option<Call> {
        self.in_flight
    }

    /// True when nothing is in flight, queued or waiting to be retried.
    pub fn is_idle(&self) -> bool {
        self.in_flight.is_none() && self.queue.is_empty() && self.retries.is_empty()
    }

    /// Nothing is in flight or queued (retries may be pending).
    pub fn nothing_to_send(&self) -> bool {
        self.in_flight.is_none() && self.queue.is_empty()
    }

    /// When [`Lifecycle::observe`] / [`Lifecycle::start_next`] have something to do even
    /// without news: a call to start, a retry or a health ping coming due. (The deadline
    /// of the call in flight is the caller's, who owns the connection.)
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let waiting = (self.in_flight.is_none() && !self.queue.is_empty()).then_some(now);
        let health = (!self.shutdown_queued).then_some(self.next_health);
        let retry = self.retries.iter().map(|(_, t)| *t).min();
        [waiting, health, retry].into_iter().flatten().min()
    }

    /// The server's state this turn: schedules health pings, the players label and the
    /// Shutdown after the last player leaves.
    pub fn observe(&mut self, now: Instant, players: usize, on_schedule: bool) {
        self.requeue_due_retries(now);
        if self.shutdown_queued {
            return;
        }
        if now >= self.next_health {
            self.next_health = now + self.policy.health_interval;
            // No ping while the tick loop is behind: Agones then sees the stall too.
            if on_schedule {
                self.enqueue(Call::Health);
            }
        }
        if self.policy.player_label && self.labelled != Some(players) {
            self.labelled = Some(players);
            self.queue.retain(|c| !matches!(c, Call::PlayersLabel(_)));
            self.retries
                .retain(|(c, _)| !matches!(c, Call::PlayersLabel(_)));
            self.enqueue(Call::PlayersLabel(players));
        }
        if players > 0 {
            self.had_players = true;
        } else if self.had_players && self.policy.shutdown_when_empty {
            log::info!(target: "venture::agones", component = "agones"; "last player left: asking Agones to shut down");
            self.shutdown_queued = true;
            // Pending Ready and the final players label still go out, before Shutdown.
            self.queue
                .retain(|c| matches!(c, Call::Ready | Call::PlayersLabel(_)));
            self.enqueue(Call::Shutdown);
        }
    }

    /// The next call to start, now in flight; `None` when one is in flight or none waits.
    pub fn start_next(&mut self, now: Instant) -> Option<Call> {
        self.requeue_due_retries(now);
        if self.in_flight.is_some() {
            return None;
        }
        self.in_flight = self.queue.pop_front();
        self.in_flight
    }

    /// How the call in flight went (`Ok(status)` for 2xx, `Err(why)` otherwise).
    pub fn finished(&mut self, result: Result<u16, String>, now: Instant) {
        let Some(call) = self.in_flight.take() else {
            return;
        };
        let (method, path) = call.route();
        match result {
            Ok(status) => {
                self.stats.ok += 1;
                if self.failing {
                    self.failing = false;
                    log::info!(target: "venture::agones", component = "agones"; "Agones SDK reachable again");
                }
                match call {
                    Call::Ready => {
                        self.ready_ok = true;
                        log::info!(target: "venture::agones", component = "agones", status = status; "Agones: game server Ready");
                    }
                    Call::Shutdown => {
                        self.shutdown_ok = true;
                        log::info!(target: "venture::agones", component = "agones", status = status; "Agones: Shutdown acknowledged");
                    }
                    Call::Health => {
                        log::debug!(target: "venture::agones", component = "agones"; "Agones: health ping")
                    }
                    Call::PlayersLabel(n) => {
                        log::debug!(target: "venture::agones", component = "agones", players = n; "Agones: players label set")
                    }
                }
            }
            Err(error) => {
                self.stats.failed += 1;
                if self.failing {
                    log::debug!(target: "venture::agones", component = "agones", call = call.name(), method = method, path = path, error:% = error; "Agones SDK call failed");
                } else {
                    self.failing = true;
                    log::warn!(target: "venture::agones", component = "agones", call = call.name(), method = method, path = path, error:% = error; "Agones SDK call failed (not fatal; will keep trying)");
                }
                self.schedule_retry(call, now);
            }
        }
    }

    /// The call in flight was dropped without an answer (its connection was abandoned).
    pub fn abandoned(&mut self) {
        self.in_flight = None;
    }

    /// The process is exiting: drop everything but Shutdown, and queue Shutdown unless it
    /// already succeeded (also when an earlier one failed: try once more). Returns whether
    /// the call in flight, if any, should be abandoned (it is not the Shutdown).
    pub fn stop(&mut self) -> bool {
        self.stopping = true;
        self.retries.clear();
        self.queue.retain(|c| *c == Call::Shutdown);
        let abandon = self.in_flight.is_some_and(|c| c != Call::Shutdown);
        if abandon {
            self.in_flight = None;
        }
        let pending =
            self.queue.contains(&Call::Shutdown) || self.in_flight == Some(Call::Shutdown);
        if !self.shutdown_ok && !pending {
            self.shutdown_queued = true;
            self.queue.push_back(Call::Shutdown);
            log::info!(target: "venture::agones", component = "agones"; "server stopping: asking Agones to shut down");
        }
        abandon
    }

    fn schedule_retry(&mut self, call: Call, now: Instant) {
        let retry = match call {
            Call::Health => false,
            // A Ready after the server decided to shut down would be a lie.
            Call::Ready => !self.shutdown_queued,
            // Only the label still current; a newer count has queued its own.
            Call::PlayersLabel(n) => self.labelled == Some(n),
            Call::Shutdown => true,
        };
        if retry && !self.stopping && !self.retries.iter().any(|(c, _)| *c == call) {
            self.retries.push((call, now + RETRY_AFTER));
        }
    }

    fn requeue_due_retries(&mut self, now: Instant) {
        let (due, later): (Vec<_>, Vec<_>) = self.retries.iter().partition(|(_, t)| now >= *t);
        self.retries = later;
        for (call, _) in due {
            if call == Call::Ready {
                // Ready goes before anything else: Agones ignores health before Ready.
                self.queue.push_front(call);
            } else {
                self.enqueue(call);
            }
        }
    }

    fn enqueue(&mut self, call: Call) {
        let coalesce = matches!(call, Call::Health | Call::Shutdown);
        if coalesce && (self.queue.contains(&call) || self.in_flight == Some(call)) {
            return;
        }
        if self.queue.len() >= MAX_QUEUE {
            self.stats.dropped += 1;
            return;
        }
        self.queue.push_back(call);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        health_interval: Duration::from_secs(2),
        shutdown_when_empty: true,
        player_label: true,
    };

    /// Runs the machine like the shell does, answering every call with `answer`, and
    /// returns the calls made.
    fn turn(
        l: &mut Lifecycle,
        now: Instant,
        players: usize,
        answer: impl Fn(Call) -> Result<u16, String>,
    ) -> Vec<Call> {
        l.observe(now, players, true);
        let mut made = Vec::new();
        while let Some(call) = l.start_next(now) {
            made.push(call);
            l.finished(answer(call), now);
        }
        made
    }

    fn ok(_: Call) -> Result<u16, String> {
        Ok(200)
    }

    fn refused(_: Call) -> Result<u16, String> {
        Err("connection refused".into())
    }

    #[test]
    fn ready_first_then_health_on_its_interval_and_the_label_once() {
        let t0 = Instant::now();
        let mut l = Lifecycle::new(POLICY, t0);
        assert_eq!(
            turn(&mut l, t0, 0, ok),
            [Call::Ready, Call::Health, Call::PlayersLabel(0)]
        );
        assert!(l.is_ready());
        assert_eq!(l.next_deadline(t0), Some(t0 + POLICY.health_interval));
        assert_eq!(turn(&mut l, t0 + Duration::from_secs(1), 0, ok), []);
        assert_eq!(
            turn(&mut l, t0 + Duration::from_secs(2), 0, ok),
            [Call::Health]
        );
        assert_eq!(l.stats().ok, 4);
    }

    #[test]
    fn no_health_while_behind_schedule() {
        let t0 = Instant::now();
        let mut l = Lifecycle::new(POLICY, t0);
        l.observe(t0, 0, false);
        assert_eq!(l.start_next(t0), Some(Call::Ready));
        l.finished(Ok(200), t0);
        assert_eq!(l.start_next(t0), Some(Call::PlayersLabel(0)));
    }

    #[test]
    fn the_label_is_coalesced_to_the_latest_count() {
        let t0 = Instant::now();
        let mut l = Lifecycle::new(POLICY, t0);
        l.observe(t0, 1, false);
        l.observe(t0, 2, false);
        l.observe(t0, 3, false);
        let mut made = Vec::new();
        while let Some(c) = l.start_next(t0) {
            made.push(c);
            l.finished(Ok(200), t0);
        }
        assert_eq!(made, [Call::Ready, Call::PlayersLabel(3)]);
    }

    #[test]
    fn shutdown_once_after_the_last_player_leaves() {
        let t0 = Instant::now();
        let mut l = Lifecycle::new(POLICY, t0);
        turn(&mut l, t0, 0, ok);
        assert_eq!(turn(&mut l, t0, 2, ok), [Call::PlayersLabel(2)]);
        assert_eq!(
            turn(&mut l, t0, 0, ok),
            [Call::PlayersLabel(0), Call::Shutdown]
        );
        assert!(l.is_shut_down());
        // Nothing more, not even health, and SIGTERM does not send it again.
        assert_eq!(turn(&mut l, t0 + Duration::from_secs(10), 0, ok), []);
        assert_eq!(l.next_deadline(t0), None);
        assert!(!l.stop());
        assert!(l.start_next(t0).is_none());
    }

    #[test]
    fn failures_are_retried_after_a_pause_and_health_is_not() {
        let t0 = Instant::now();
        let mut l = Lifecycle::new(POLICY, t0);
        assert_eq!(
            turn(&mut l, t0, 0, refused),
            [Call::Ready, Call::Health, Call::PlayersLabel(0)]
        );
        assert!(!l.is_ready());
        assert_eq!(l.next_deadline(t0), Some(t0 + RETRY_AFTER));
        // Not before the pause...
        assert_eq!(turn(&mut l, t0 + RETRY_AFTER / 2, 0, ok), []);
        // ...then Ready first, and the label (health waits for its interval).
        assert_eq!(
            turn(&mut l, t0 + RETRY_AFTER, 0, ok),
            [Call::Ready, Call::PlayersLabel(0)]
        );
        assert!(l.is_ready());
        assert!(l.is_idle());
        assert_eq!(l.stats().failed, 3);
    }

    #[test]
    fn a_stale_label_is_not_retried() {
        let t0 = Instant::now();
        let mut l = Lifecycle::new(POLICY, t0);
        turn(&mut l, t0, 0, ok);
        l.observe(t0, 1, false);
        assert_eq!(l.start_next(t0), Some(Call::PlayersLabel(1)));
        l.observe(t0, 2, false); // the count changes while label 1 is in flight
        l.finished(Err("HTTP 500".into()), t0);
        assert_eq!(
            turn(&mut l, t0 + RETRY_AFTER, 2, ok),
            [Call::PlayersLabel(2)],
            "label 1 is stale: only the current count goes out"
        );
    }

    #[test]
    fn stopping_keeps_only_shutdown_and_tries_a_failed_one_again() {
        let t0 = Instant::now();
        let mut l = Lifecycle::new(POLICY, t0);
        turn(&mut l, t0, 1, ok);
        turn(&mut l, t0, 0, refused); // label 0 and the empty-server Shutdown fail
        assert!(l.shutdown_queued() && l.nothing_to_send() && !l.is_idle());
        l.observe(t0, 0, true);
        assert_eq!(l.start_next(t0), None, "retries wait for their pause");
        assert!(!l.stop());
        assert_eq!(l.start_next(t0), Some(Call::Shutdown));
        l.finished(Err("refused again".into()), t0);
        assert!(l.is_idle(), "no retry once the process is exiting");
    }

    #[test]
    fn stopping_abandons_a_call_in_flight_that_is_not_shutdown() {
        let t0 = Instant::now();
        let mut l = Lifecycle::new(POLICY, t0);
        assert_eq!(l.start_next(t0), Some(Call::Ready));
        assert!(l.stop(), "Ready in flight is abandoned");
        assert_eq!(l.start_next(t0), Some(Call::Shutdown));
        l.finished(Ok(200), t0);
        assert!(l.is_shut_down() && l.is_idle());
    }

    #[test]
    fn the_queue_is_bounded() {
        let t0 = Instant::now();
        let mut l = Lifecycle::new(
            Policy {
                health_interval: Duration::from_millis(1),
                ..POLICY
            },
            t0,
        );
        // Nothing is started, so calls pile up: health coalesces, labels coalesce.
        for i in 0..100u32 {
            l.observe(
                t0 + Duration::from_millis(u64::from(i)),
                1 + i as usize % 3,
                true,
            );
        }
        assert!(l.queue.len() <= MAX_QUEUE, "{:?}", l.queue);
        assert_eq!(l.queue.iter().filter(|c| **c == Call::Health).count(), 1);
    }
}
