//! Reconnecting: what a client does when its server stops answering (a restart, a crash,
//! a network drop) or says it is shutting down.
//!
//! After `probe_after` of silence the session sends padded Hellos on a backoff schedule.
//! A server that still holds our session ignores them, and its frames resuming end the
//! episode; a server that forgot us (restarted, or timed us out during a long partition)
//! answers with a Challenge, and the session joins again as the same character (same
//! name and character secret: the server restores saved characters by the secret's
//! digest). The episode ends in failure after `give_up_after`.
//!
//! The schedule grows linearly with the time spent trying, `first_retry + elapsed / 10`,
//! capped at `max_retry`: 250 ms at first, about 1.25 s ten seconds in (so a server that
//! systemd restarts within 10 s is found within about a second of accepting again), and
//! the 5 s cap after about 50 s. Pure bookkeeping: the session sends and times.

use std::time::Duration;

/// How a client reconnects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Silence while playing before probing starts (frames normally arrive every tick).
    pub probe_after: Duration,
    pub first_retry: Duration,
    pub max_retry: Duration,
    /// How long to keep trying; zero turns reconnecting off (a silent server then closes
    /// the session after `ClientConfig::server_timeout`).
    pub give_up_after: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            probe_after: Duration::from_secs(1),
            first_retry: Duration::from_millis(250),
            max_retry: Duration::from_secs(5),
            give_up_after: Duration::from_secs(120),
        }
    }
}

impl ReconnectPolicy {
    pub fn enabled(&self) -> bool {
        !self.give_up_after.is_zero()
    }

    /// Wait before the next attempt after `elapsed` of trying.
    pub fn retry_after(&self, elapsed: Duration) -> Duration {
        (self.first_retry + elapsed / 10).min(self.max_retry)
    }
}

/// Why an episode started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReconnectCause {
    /// Nothing heard from the server for `probe_after`.
    Silence,
    /// The server said it was shutting down.
    ShutDown,
    /// The server refused a rejoin for a reason that may pass (full, name still held).
    Refused,
}

impl std::fmt::Display for ReconnectCause {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(match self {
            ReconnectCause::Silence => "the server stopped answering",
            ReconnectCause::ShutDown => "the server shut down",
            ReconnectCause::Refused => "the server refused the rejoin",
        })
    }
}

/// A reconnect episode in progress, for status lines and banners.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconnectStatus {
    pub cause: ReconnectCause,
    /// How long it has been trying.
    pub elapsed: Duration,
    /// Hellos sent so far.
    pub attempts: u32,
    /// Time left before giving up.
    pub remaining: Duration,
    /// A server answered and the session is joining again.
    pub rejoining: bool,
}

impl std::fmt::Display for ReconnectStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "reconnecting ({}; {}attempt {}, {}s, giving up in {}s)",
            self.cause,
            if self.rejoining { "rejoining, " } else { "" },
            self.attempts,
            self.elapsed.as_secs(),
            self.remaining.as_secs()
        )
    }
}

#[derive(Clone, Debug)]
struct Episode {
    cause: ReconnectCause,
    since: Duration,
    attempts: u32,
    next_at: Duration,
    rejoining: bool,
}

/// Reconnect bookkeeping of one session. See the module docs.
#[derive(Clone, Debug)]
pub struct Reconnect {
    policy: ReconnectPolicy,
    episode: Option<Episode>,
    succeeded: u32,
}

impl Reconnect {
    pub fn new(policy: ReconnectPolicy) -> Self {
        Reconnect {
            policy,
            episode: None,
            succeeded: 0,
        }
    }

    pub fn policy(&self) -> &ReconnectPolicy {
        &self.policy
    }

    pub fn active(&self) -> bool {
        self.episode.is_some()
    }

    pub fn cause(&self) -> Option<ReconnectCause> {
        self.episode.as_ref().map(|e| e.cause)
    }

    /// Episodes that ended with the session playing again.
    pub fn succeeded(&self) -> u32 {
        self.succeeded
    }

    /// Starts an episode at `now` (the first Hello is due at once); no-op while one runs.
    pub fn start(&mut self, cause: ReconnectCause, now: Duration) {
        if self.episode.is_none() && self.policy.enabled() {
            self.episode = Some(Episode {
                cause,
                since: now,
                attempts: 0,
                next_at: now,
                rejoining: false,
            });
        }
    }

    /// Whether a Hello is due at `now`; if so it counts as sent and the next is scheduled.
    pub fn hello_due(&mut self, now: Duration) -> bool {
        let policy = &self.policy;
        match self.episode.as_mut() {
            Some(e) if !e.rejoining && now >= e.next_at => {
                e.attempts += 1;
                e.next_at = now + policy.retry_after(now.saturating_sub(e.since));
                true
            }
            _ => false,
        }
    }

    /// When the next Hello is due (for the shell's poll timeout).
    pub fn next_hello_at(&self) -> Option<Duration> {
        self.episode
            .as_ref()
            .filter(|e| !e.rejoining)
            .map(|e| e.next_at)
    }

    /// The episode ran out of time: give up.
    pub fn expired(&self, now: Duration) -> bool {
        self.episode
            .as_ref()
            .is_some_and(|e| now.saturating_sub(e.since) > self.policy.give_up_after)
    }

    /// A server answered; the session is joining (Hellos stop).
    pub fn on_rejoining(&mut self) {
        if let Some(e) = self.episode.as_mut() {
            e.rejoining = true;
        }
    }

    /// The rejoin was refused for a reason that may pass: probe again.
    pub fn on_refused(&mut self, now: Duration) {
        if let Some(e) = self.episode.as_mut() {
            e.rejoining = false;
            e.cause = ReconnectCause::Refused;
            e.next_at = now + self.policy.retry_after(now.saturating_sub(e.since));
        }
    }

    /// Playing again (rejoined).
    pub fn on_playing(&mut self) {
        if self.episode.take().is_some() {
            self.succeeded += 1;
        }
    }

    /// The old server answered after all (a drop that healed in time): nothing to redo.
    pub fn cancel(&mut self) {
        self.episode = None;
    }

    pub fn status(&self, now: Duration) -> Option<ReconnectStatus> {
        self.episode.as_ref().map(|e| {
            let elapsed = now.saturating_sub(e.since);
            ReconnectStatus {
                cause: e.cause,
                elapsed,
                attempts: e.attempts,
                remaining: self.policy.give_up_after.saturating_sub(elapsed),
                rejoining: e.rejoining,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: u64) -> Duration {
        Duration::from_millis(x)
    }

    #[test]
    fn backoff_starts_at_250_ms_and_is_capped_at_5_s() {
        let p = ReconnectPolicy::default();
        assert_eq!(p.retry_after(Duration::ZERO), s(250));
        assert_eq!(p.retry_after(Duration::from_secs(10)), s(1250));
        assert_eq!(p.retry_after(Duration::from_secs(100)), s(5000));
        // Every gap in the first 12 s is short enough to find a restarted server within
        // about a second and a half of it accepting again.
        let mut r = Reconnect::new(p);
        r.start(ReconnectCause::Silence, Duration::ZERO);
        let mut sent = Vec::new();
        let mut t = Duration::ZERO;
        while t < Duration::from_secs(130) {
            if r.hello_due(t) {
                sent.push(t);
            }
            t += s(10);
        }
        let gaps: Vec<Duration> = sent.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.windows(2).all(|g| g[1] >= g[0]), "never shrinks");
        for (at, gap) in sent.iter().zip(&gaps) {
            if *at < Duration::from_secs(12) {
                assert!(*gap <= s(1500), "{gap:?} at {at:?}");
            }
            assert!(*gap <= s(5010));
        }
        assert_eq!(*gaps.last().unwrap(), s(5000));
        assert!(!r.expired(Duration::from_secs(120)));
        assert!(r.expired(Duration::from_millis(120_001)));
    }

    #[test]
    fn an_episode_ends_in_success_cancel_or_refusal_then_retry() {
        let mut r = Reconnect::new(ReconnectPolicy::default());
        assert!(r.status(s(0)).is_none());
        r.start(ReconnectCause::Silence, s(1000));
        assert!(r.hello_due(s(1000)));
        assert!(!r.hello_due(s(1100)));
        r.on_rejoining();
        assert!(!r.hello_due(s(5000)), "no Hellos while joining");
        assert!(r.status(s(2000)).is_some_and(|st| st.rejoining));
        r.on_refused(s(2000));
        assert_eq!(r.cause(), Some(ReconnectCause::Refused));
        assert!(r.hello_due(s(2500)));
        let st = r.status(s(3000)).expect("active");
        assert_eq!(st.attempts, 2);
        assert!(st.to_string().contains("reconnecting"), "{st}");
        r.on_playing();
        assert_eq!(r.succeeded(), 1);
        assert!(!r.active());
        r.start(ReconnectCause::ShutDown, s(4000));
        r.cancel();
        assert_eq!(r.succeeded(), 1);
        // Off: never starts.
        let mut off = Reconnect::new(ReconnectPolicy {
            give_up_after: Duration::ZERO,
            ..ReconnectPolicy::default()
        });
        off.start(ReconnectCause::Silence, s(0));
        assert!(!off.active() && !off.hello_due(s(0)));
    }
}
