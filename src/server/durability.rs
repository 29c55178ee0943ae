//! Whether persistence is keeping up, as operators see it: which writers are failing and
//! since when, the retry schedule, one error line per failure episode and one line when it
//! ends, and the readiness reason `/readyz` reports while it lasts.
//!
//! An episode starts when a write fails while everything was healthy and ends when every
//! writer has succeeded again; repeated failures inside it are counted, not logged, so a
//! full disk gives two lines, not one per tick or per save.

use std::time::{Duration, Instant};

/// First retry delay after a failure, doubled per failed retry up to [`RETRY_MAX`].
pub const RETRY_MIN: Duration = Duration::from_secs(1);
/// Longest delay between retries.
pub const RETRY_MAX: Duration = Duration::from_secs(8);

/// A retry schedule: exponential backoff from [`RETRY_MIN`] to [`RETRY_MAX`].
#[derive(Clone, Debug)]
pub struct Backoff {
    delay: Duration,
    next: Option<Instant>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            delay: RETRY_MIN,
            next: None,
        }
    }
}

impl Backoff {
    /// Records a failed attempt at `now`; returns when to try again.
    pub fn failed(&mut self, now: Instant) -> Instant {
        let next = now + self.delay;
        self.next = Some(next);
        self.delay = (self.delay * 2).min(RETRY_MAX);
        next
    }

    /// Whether a retry is due (always, when nothing has failed).
    pub fn due(&self, now: Instant) -> bool {
        self.next.is_none_or(|t| now >= t)
    }

    pub fn reset(&mut self) {
        *self = Backoff::default();
    }
}

/// What writes to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The session log (the crash journal).
    Journal,
    /// The world snapshot and character saves.
    Save,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Journal => "session log",
            Source::Save => "save",
        }
    }
}

#[derive(Clone, Debug)]
struct Failing {
    since: Instant,
    error: String,
}

#[derive(Clone, Debug)]
struct Episode {
    started: Instant,
    failures: u64,
}

/// The persistence health of the process.
#[derive(Debug, Default)]
pub struct Durability {
    journal: Option<Failing>,
    save: Option<Failing>,
    episode: Option<Episode>,
}

impl Durability {
    fn slot(&mut self, source: Source) -> &mut Option<Failing> {
        match source {
            Source::Journal => &mut self.journal,
            Source::Save => &mut self.save,
        }
    }

    /// Records the outcome of one write by `source`, logging the start or the end of a
    /// failure episode.
    pub fn note(&mut self, source: Source, result: Result<(), String>, now: Instant) {
        match result {
            Err(error) => {
                match &mut self.episode {
                    None => {
                        log::error!(
                            target: "venture::save", component = "save", source = source.name(), error:% = error;
                            "persistence failing: {} write failed; play continues, retrying (readiness is 503 until it recovers)",
                            source.name()
                        );
                        self.episode = Some(Episode {
                            started: now,
                            failures: 1,
                        });
                    }
                    Some(ep) => {
                        ep.failures += 1;
                        log::debug!(target: "venture::save", component = "save", source = source.name(), error:% = error; "persistence still failing");
                    }
                }
                let slot = self.slot(source);
                match slot {
                    Some(f) => f.error = error,
                    None => *slot = Some(Failing { since: now, error }),
                }
            }
            Ok(()) => {
                if self.slot(source).take().is_none() {
                    return;
                }
                if self.ok() {
                    if let Some(ep) = self.episode.take() {
                        let lasted = now.saturating_duration_since(ep.started);
                        log::info!(
                            target: "venture::save", component = "save", failed_writes = ep.failures,
                            duration_s = lasted.as_secs_f64();
                            "persistence recovered: saves and the session log are being written again"
                        );
                    }
                }
            }
        }
    }

    /// Whether every writer is healthy.
    pub fn ok(&self) -> bool {
        self.journal.is_none() && self.save.is_none()
    }

    /// Why persistence is failing, for `/readyz`; `None` when healthy.
    pub fn reason(&self, now: Instant) -> Option<String> {
        let parts: Vec<String> = [(Source::Journal, &self.journal), (Source::Save, &self.save)]
            .into_iter()
            .filter_map(|(s, f)| {
                let f = f.as_ref()?;
                Some(format!(
                    "{} failing for {}s: {}",
                    s.name(),
                    now.saturating_duration_since(f.since).as_secs(),
                    f.error
                ))
            })
            .collect();
        (!parts.is_empty()).then(|| format!("persistence failing: {}", parts.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        assert!(b.due(t0));
        assert_eq!(b.failed(t0), t0 + RETRY_MIN);
        assert!(!b.due(t0));
        assert!(b.due(t0 + RETRY_MIN));
        let mut last = Duration::ZERO;
        for _ in 0..10 {
            last = b.failed(t0).saturating_duration_since(t0);
        }
        assert_eq!(last, RETRY_MAX);
        b.reset();
        assert!(b.due(t0));
    }

    #[test]
    fn an_episode_lasts_until_every_source_recovers() {
        let t0 = Instant::now();
        let mut d = Durability::default();
        assert!(d.ok() && d.reason(t0).is_none());
        d.note(Source::Journal, Err("No space left on device".into()), t0);
        d.note(Source::Save, Err("No space left on device".into()), t0);
        assert!(!d.ok());
        let reason = d.reason(t0 + Duration::from_secs(3)).expect("failing");
        assert!(reason.contains("session log failing for 3s"), "{reason}");
        assert!(reason.contains("save failing"), "{reason}");
        assert_eq!(d.episode.as_ref().map(|e| e.failures), Some(2));
        d.note(Source::Journal, Ok(()), t0);
        assert!(!d.ok(), "the save still fails");
        assert!(d.episode.is_some());
        d.note(Source::Save, Ok(()), t0);
        assert!(d.ok() && d.episode.is_none());
    }
}
