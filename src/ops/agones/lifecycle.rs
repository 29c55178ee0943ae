//! The Agones lifecycle policy as a sans-IO state machine: which SDK call goes out next,
//! when, and what a call's outcome changes. No sockets and no clock: the caller passes
//! `now`, starts the calls this returns, and reports how each went. That keeps every rule
//! testable in microseconds, and the I/O shell in `agones.rs` small:
//!
//! - Ready first, retried after a pause until acknowledged;
//! - Health on its interval, only while the tick loop is on schedule, never retried;
//! - the `players` List kept equal to the connected players' names: its capacity set once
//!   (`-max-players`), then one add or remove at a time, removes first (they free
//!   capacity), computed from the difference between who is connected and what the List
//!   acknowledged, so it is coalesced and bounded by construction (a player who joins and
//!   leaves between two calls costs nothing); a failed List call pauses the List work;
//! - Shutdown once the last player has left (after the List says so), once;
//! - on the way out only Shutdown, not retried.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use super::{AgonesStats, Call, PLAYERS_LIST};
use crate::ops::http_client::Failure;

/// Pause before a failed Ready, List call or (empty-server) Shutdown is tried again.
/// Health is not retried: the next ping is never more than one interval away.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Most calls waiting at once (Ready, Health and Shutdown fit easily; the List calls are
/// not queued but derived).
const MAX_QUEUE: usize = 8;

/// The parts of the configuration the policy needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub health_interval: Duration,
    pub shutdown_when_empty: bool,
    /// Keep the `players` List up to date.
    pub player_list: bool,
    /// The List's capacity (`-max-players`).
    pub max_players: u32,
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
    /// The connected players' names, as last observed.
    players: BTreeSet<String>,
    /// The names the List has acknowledged.
    listed: BTreeSet<String>,
    capacity_ok: bool,
    /// List work waits until then after a failed List call.
    list_paused_until: Option<Instant>,
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
            players: BTreeSet::new(),
            listed: BTreeSet::new(),
            capacity_ok: false,
            list_paused_until: None,
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
    pub fn in_flight(&self) -> Option<&Call> {
        self.in_flight.as_ref()
    }

    /// The names the `players` List has acknowledged.
    pub fn listed(&self) -> &BTreeSet<String> {
        &self.listed
    }

    /// True when nothing is in flight, queued, waiting to be retried, or left to do on
    /// the List.
    pub fn is_idle(&self) -> bool {
        self.nothing_to_send() && self.retries.is_empty() && self.list_call().is_none()
    }

    /// Nothing is in flight or queued (retries and paused List work may be pending).
    pub fn nothing_to_send(&self) -> bool {
        self.in_flight.is_none() && self.queue.is_empty()
    }

    /// When [`Lifecycle::observe`] / [`Lifecycle::start_next`] have something to do even
    /// without news: a call to start, a retry or a health ping coming due. (The deadline
    /// of the call in flight is the caller's, who owns the connection.)
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let idle = self.in_flight.is_none();
        let waiting = (idle && !self.queue.is_empty()).then_some(now);
        let list = (idle && self.list_call().is_some())
            .then(|| self.list_paused_until.map_or(now, |t| t.max(now)));
        let health = (!self.shutdown_queued).then_some(self.next_health);
        let retry = self.retries.iter().map(|(_, t)| *t).min();
        [waiting, list, health, retry].into_iter().flatten().min()
    }

    /// The server's state this turn: schedules health pings, the List's work and the
    /// Shutdown after the last player leaves.
    pub fn observe(&mut self, now: Instant, players: &BTreeSet<String>, on_schedule: bool) {
        self.requeue_due_retries(now);
        if self.players != *players {
            self.players.clone_from(players);
        }
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
        if !players.is_empty() {
            self.had_players = true;
        } else if self.had_players && self.policy.shutdown_when_empty {
            log::info!(target: "venture::agones", component = "agones"; "last player left: asking Agones to shut down");
            self.shutdown_queued = true;
            // A pending Ready still goes out, and the List work, before Shutdown.
            self.queue.retain(|c| matches!(c, Call::Ready));
            self.enqueue(Call::Shutdown);
        }
    }

    /// The List call due, if any (ignoring the pause): the capacity first, then removes,
    /// then adds.
    fn list_call(&self) -> Option<Call> {
        if !self.policy.player_list || self.stopping || self.shutdown_ok {
            return None;
        }
        if !self.capacity_ok {
            return Some(Call::PlayersCapacity(self.policy.max_players));
        }
        if let Some(gone) = self.listed.difference(&self.players).next() {
            return Some(Call::RemovePlayer(gone.clone()));
        }
        self.players
            .difference(&self.listed)
            .next()
            .map(|new| Call::AddPlayer(new.clone()))
    }

    /// The next call to start, now in flight; `None` when one is in flight or none waits.
    /// Order: Ready, Health, the List, Shutdown. So Shutdown after the last player waits
    /// for the List to drop them, unless the List is failing (paused): a List the
    /// sidecar refuses must not keep an empty server alive.
    pub fn start_next(&mut self, now: Instant) -> Option<Call> {
        self.requeue_due_retries(now);
        if self.in_flight.is_some() {
            return None;
        }
        let front_is_shutdown = matches!(self.queue.front(), Some(Call::Shutdown));
        let next = if !self.queue.is_empty() && !front_is_shutdown {
            self.queue.pop_front()
        } else if let Some(call) = self
            .list_call()
            .filter(|_| self.list_paused_until.is_none_or(|t| now >= t))
        {
            Some(call)
        } else {
            self.queue.pop_front()
        };
        self.in_flight = next.clone();
        next
    }

    /// How the call in flight went (`Ok(status)` for 2xx).
    pub fn finished(&mut self, result: Result<u16, Failure>, now: Instant) {
        let Some(call) = self.in_flight.take() else {
            return;
        };
        // Agones' answers that mean the List already is as wanted.
        let result = match (&call, result) {
            (Call::AddPlayer(_), Err(f)) if f.status == Some(409) => Ok(409),
            (Call::RemovePlayer(_), Err(f)) if f.status == Some(404) => Ok(404),
            (_, r) => r,
        };
        let (method, path) = call.route();
        match result {
            Ok(status) => {
                self.stats.ok += 1;
                if self.failing {
                    self.failing = false;
                    log::info!(target: "venture::agones", component = "agones"; "Agones SDK reachable again");
                }
                match &call {
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
                    Call::PlayersCapacity(n) => {
                        self.capacity_ok = true;
                        self.list_paused_until = None;
                        log::info!(target: "venture::agones", component = "agones", list = PLAYERS_LIST, capacity = n; "Agones: players List capacity set");
                    }
                    Call::AddPlayer(name) => {
                        self.listed.insert(name.clone());
                        self.list_paused_until = None;
                        log::debug!(target: "venture::agones", component = "agones", playerID = name.as_str(); "Agones: player added to the players List");
                    }
                    Call::RemovePlayer(name) => {
                        self.listed.remove(name);
                        self.list_paused_until = None;
                        log::debug!(target: "venture::agones", component = "agones", playerID = name.as_str(); "Agones: player removed from the players List");
                    }
                }
            }
            Err(failure) => {
                self.stats.failed += 1;
                let hint = match (&call, failure.status) {
                    (Call::PlayersCapacity(_) | Call::AddPlayer(_), Some(404)) => {
                        " (the GameServer declares no `players` List: add it under spec.lists in the Fleet, see deploy/agones/fleet.yaml)"
                    }
                    _ => "",
                };
                if self.failing {
                    log::debug!(target: "venture::agones", component = "agones", call = call.name(), method = method, path = path.as_str(), error:% = failure; "Agones SDK call failed{hint}");
                } else {
                    self.failing = true;
                    log::warn!(target: "venture::agones", component = "agones", call = call.name(), method = method, path = path.as_str(), error:% = failure; "Agones SDK call failed (not fatal; will keep trying){hint}");
                }
                if call.is_list() {
                    self.list_paused_until = Some(now + RETRY_AFTER);
                } else {
                    self.schedule_retry(call, now);
                }
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
        let abandon = self
            .in_flight
            .as_ref()
            .is_some_and(|c| *c != Call::Shutdown);
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
            Call::Shutdown => true,
            // The List's work is derived, not retried (see `list_paused_until`).
            Call::PlayersCapacity(_) | Call::AddPlayer(_) | Call::RemovePlayer(_) => false,
        };
        if retry && !self.stopping && !self.retries.iter().any(|(c, _)| *c == call) {
            self.retries.push((call, now + RETRY_AFTER));
        }
    }

    fn requeue_due_retries(&mut self, now: Instant) {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.retries)
            .into_iter()
            .partition(|(_, t)| now >= *t);
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
        if self.queue.contains(&call) || self.in_flight.as_ref() == Some(&call) {
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
        player_list: true,
        max_players: 4,
    };

    fn names(n: &[&str]) -> BTreeSet<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    fn status(code: u16) -> Failure {
        Failure {
            status: Some(code),
            message: String::new(),
        }
    }

    /// Runs the machine like the shell does, answering every call with `answer`, and
    /// returns the calls made.
    fn turn(
        l: &mut Lifecycle,
        now: Instant,
        players: &[&str],
        answer: impl Fn(&Call) -> Result<u16, Failure>,
    ) -> Vec<Call> {
        l.observe(now, &names(players), true);
        let mut made = Vec::new();
        while let Some(call) = l.start_next(now) {
            l.finished(answer(&call), now);
            made.push(call);
        }
        made
    }

    fn ok(_: &Call) -> Result<u16, Failure> {
        Ok(200)
    }

    fn refused(_: &Call) -> Result<u16, Failure> {
        Err(Failure::io("connection refused"))
    }

    /// A lifecycle past Ready and the List's capacity, and its start time.
    fn started() -> (Lifecycle, Instant) {
        let t0 = Instant::now();
        let mut l = Lifecycle::new(POLICY, t0);
        turn(&mut l, t0, &[], ok);
        (l, t0)
    }

    fn add(n: &str) -> Call {
        Call::AddPlayer(n.into())
    }

    fn remove(n: &str) -> Call {
        Call::RemovePlayer(n.into())
    }

    #[test]
    fn ready_first_then_health_on_its_interval_and_the_capacity_once() {
        let t0 = Instant::now();
        let mut l = Lifecycle::new(POLICY, t0);
        assert_eq!(
            turn(&mut l, t0, &[], ok),
            [Call::Ready, Call::Health, Call::PlayersCapacity(4)]
        );
        assert!(l.is_ready() && l.is_idle());
        assert_eq!(l.next_deadline(t0), Some(t0 + POLICY.health_interval));
        assert_eq!(turn(&mut l, t0 + Duration::from_secs(1), &[], ok), []);
        assert_eq!(
            turn(&mut l, t0 + Duration::from_secs(2), &[], ok),
            [Call::Health]
        );
        assert_eq!(l.stats().ok, 4);
    }

    #[test]
    fn no_health_while_behind_schedule() {
        let t0 = Instant::now();
        let mut l = Lifecycle::new(POLICY, t0);
        l.observe(t0, &names(&[]), false);
        assert_eq!(l.start_next(t0), Some(Call::Ready));
        l.finished(Ok(200), t0);
        assert_eq!(l.start_next(t0), Some(Call::PlayersCapacity(4)));
    }

    #[test]
    fn the_list_follows_the_players_removes_first_and_coalesced() {
        let (mut l, t0) = started();
        assert_eq!(
            turn(&mut l, t0, &["ann", "bob"], ok),
            [add("ann"), add("bob")]
        );
        assert_eq!(l.listed(), &names(&["ann", "bob"]));
        // Bob leaves, cy joins: the remove goes first (it frees capacity).
        assert_eq!(
            turn(&mut l, t0, &["ann", "cy"], ok),
            [remove("bob"), add("cy")]
        );
        // Dee joins and leaves before any call goes out: nothing at all.
        l.observe(t0, &names(&["ann", "cy", "dee"]), false);
        l.observe(t0, &names(&["ann", "cy"]), false);
        assert_eq!(l.start_next(t0), None);
        assert!(l.is_idle());
    }

    #[test]
    fn agones_answers_that_mean_done_count_as_done() {
        let (mut l, t0) = started();
        // ALREADY_EXISTS on add (a retry after a lost answer), NOT_FOUND on remove.
        assert_eq!(
            turn(&mut l, t0, &["ann"], |_| Err(status(409))),
            [add("ann")]
        );
        assert_eq!(l.listed(), &names(&["ann"]));
        let made = turn(&mut l, t0, &["bob"], |c| match c {
            Call::RemovePlayer(_) => Err(status(404)),
            _ => Ok(200),
        });
        assert_eq!(made, [remove("ann"), add("bob")]);
        assert_eq!(l.listed(), &names(&["bob"]));
    }

    #[test]
    fn a_failed_list_call_pauses_the_list_not_the_rest() {
        let (mut l, t0) = started();
        // OUT_OF_RANGE (400): the List is full in Agones' eyes.
        assert_eq!(
            turn(&mut l, t0, &["ann"], |_| Err(status(400))),
            [add("ann")]
        );
        assert_eq!(l.next_deadline(t0), Some(t0 + RETRY_AFTER));
        assert_eq!(turn(&mut l, t0 + RETRY_AFTER / 2, &["ann"], ok), []);
        let later = t0 + Duration::from_secs(2);
        assert_eq!(
            turn(&mut l, later, &["ann"], ok),
            [Call::Health, add("ann")]
        );
    }

    #[test]
    fn shutdown_once_after_the_list_says_the_last_player_left() {
        let (mut l, t0) = started();
        assert_eq!(
            turn(&mut l, t0, &["ann", "bob"], ok),
            [add("ann"), add("bob")]
        );
        assert_eq!(
            turn(&mut l, t0, &[], ok),
            [remove("ann"), remove("bob"), Call::Shutdown]
        );
        assert!(l.is_shut_down());
        // Nothing more, not even health, and SIGTERM does not send it again.
        assert_eq!(turn(&mut l, t0 + Duration::from_secs(10), &[], ok), []);
        assert_eq!(l.next_deadline(t0), None);
        assert!(!l.stop());
        assert!(l.start_next(t0).is_none());
    }

    #[test]
    fn failures_are_retried_after_a_pause_and_health_is_not() {
        let t0 = Instant::now();
        let mut l = Lifecycle::new(POLICY, t0);
        assert_eq!(
            turn(&mut l, t0, &[], refused),
            [Call::Ready, Call::Health, Call::PlayersCapacity(4)]
        );
        assert!(!l.is_ready());
        assert_eq!(l.next_deadline(t0), Some(t0 + RETRY_AFTER));
        // Not before the pause...
        assert_eq!(turn(&mut l, t0 + RETRY_AFTER / 2, &[], ok), []);
        // ...then Ready first, and the capacity (health waits for its interval).
        assert_eq!(
            turn(&mut l, t0 + RETRY_AFTER, &[], ok),
            [Call::Ready, Call::PlayersCapacity(4)]
        );
        assert!(l.is_ready());
        assert!(l.is_idle());
        assert_eq!(l.stats().failed, 3);
    }

    #[test]
    fn stopping_keeps_only_shutdown_and_tries_a_failed_one_again() {
        let t0 = Instant::now();
        let mut l = Lifecycle::new(POLICY, t0);
        turn(&mut l, t0, &["ann"], ok);
        let made = turn(&mut l, t0, &[], refused);
        assert_eq!(
            made,
            [remove("ann"), Call::Shutdown],
            "a failing List does not hold Shutdown back"
        );
        assert!(l.shutdown_queued() && l.nothing_to_send() && !l.is_idle());
        l.observe(t0, &names(&[]), true);
        assert_eq!(l.start_next(t0), None, "retries wait for their pause");
        assert!(!l.stop());
        assert_eq!(
            l.start_next(t0),
            Some(Call::Shutdown),
            "on the way out it goes at once"
        );
        l.finished(Err(Failure::io("refused again")), t0);
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
    fn without_the_list_policy_no_list_calls() {
        let t0 = Instant::now();
        let mut l = Lifecycle::new(
            Policy {
                player_list: false,
                ..POLICY
            },
            t0,
        );
        assert_eq!(turn(&mut l, t0, &["ann"], ok), [Call::Ready, Call::Health]);
        assert_eq!(turn(&mut l, t0, &[], ok), [Call::Shutdown]);
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
        // Nothing is started, so calls pile up: health coalesces; the List is not queued.
        for i in 0..100u32 {
            let n = format!("p{}", i % 3);
            l.observe(
                t0 + Duration::from_millis(u64::from(i)),
                &names(&[&n]),
                true,
            );
        }
        assert!(l.queue.len() <= MAX_QUEUE, "{:?}", l.queue);
        assert_eq!(l.queue.iter().filter(|c| **c == Call::Health).count(), 1);
    }
}
