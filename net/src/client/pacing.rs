//! Lead pacing: when the client predicts (and sends) its next tick, so that its inputs
//! reach the server a few ticks before the server closes those ticks.
//!
//! The server reports with its frames how early inputs arrive (`lead_hint`: an input's
//! tick minus the server's tick when it arrived). A hint describes an input sent about a
//! round trip ago; steering on the hint itself oscillates on long links, because every
//! correction shows in hints only a round trip later and gets corrected again meanwhile.
//! So each hint is turned into a clock offset that does not depend on anything the client
//! did since:
//!
//! ```text
//! offset = (server tick when input I arrived) * interval - (time we sent input I)
//! ```
//!
//! On a steady link the offset is constant; jitter spreads it and a latency change moves
//! it. Input J sent at time t then arrives with margin `J - (t + offset) / interval`, so
//! holding `margin_ticks` means tick J is due at `(J - margin) * interval - offset`, taken
//! with the largest offset seen within `memory` (the slowest recent delivery). Corrections
//! therefore take effect at once and are never counted twice, whatever the round trip
//! (GGRS's time sync and quinn's pacer likewise keep this arithmetic in a type of its own).
//!
//! Being late costs the player their own inputs (the server substitutes a repeat), being
//! early costs only a longer rollback: so lateness beyond a tick is caught up at once
//! (bounded bursts), small errors either way are paced out at 4% per tick, and an excess
//! lead beyond `hold_slack_ticks` is shed by holding still.

use std::collections::VecDeque;
use std::time::Duration;

/// Knobs of a [`LeadPacer`].
#[derive(Clone, Debug)]
pub struct PacerConfig {
    /// Nominal tick interval.
    pub interval: Duration,
    /// Ticks early an input should reach the server at the slowest recent delivery: each
    /// input then rides in that many datagrams that arrive in time (it is repeated in every
    /// datagram until acked), so a lost datagram costs nothing.
    pub margin_ticks: u32,
    /// How long the slowest delivery is remembered (a latency drop is followed after this).
    pub memory: Duration,
    /// An excess lead beyond this many ticks is shed by holding still, not by pacing.
    pub hold_slack_ticks: u32,
}

impl PacerConfig {
    pub fn new(interval: Duration) -> Self {
        PacerConfig {
            interval,
            margin_ticks: 3,
            memory: Duration::from_secs(6),
            hold_slack_ticks: 4,
        }
    }
}

/// Buckets the memory is split into (a windowed maximum over `memory`).
const BUCKETS: u32 = 6;
/// Send times remembered (more than 8 s of ticks at 60 Hz).
const MAX_SENT: usize = 1024;
/// Pace adjustment for small errors, in percent of the interval.
const PACE_PERCENT: u32 = 4;

/// Decides when each tick is due. See the module docs.
#[derive(Clone, Debug)]
pub struct LeadPacer {
    cfg: PacerConfig,
    interval_ns: i128,
    /// Latest send time of the datagram whose newest input was each tick (consecutive
    /// ticks from the front).
    sent: VecDeque<(u64, Duration)>,
    /// (bucket start, largest offset in it) in nanoseconds, oldest first.
    buckets: VecDeque<(Duration, i128)>,
    /// The last largest offset, kept when every bucket has aged out (a long loss burst
    /// says nothing new about the link).
    sticky: Option<i128>,
    next_at: Duration,
    samples: u64,
}

impl LeadPacer {
    /// A pacer whose first tick is due at `first_due`.
    pub fn new(cfg: PacerConfig, first_due: Duration) -> Self {
        LeadPacer {
            interval_ns: cfg.interval.as_nanos().max(1) as i128,
            cfg,
            sent: VecDeque::new(),
            buckets: VecDeque::new(),
            sticky: None,
            next_at: first_due,
            samples: 0,
        }
    }

    pub fn config(&self) -> &PacerConfig {
        &self.cfg
    }

    /// When the next tick is due.
    pub fn next_tick_at(&self) -> Duration {
        self.next_at
    }

    /// Hints turned into offsets so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// A datagram whose newest input is `tick` left at `now`.
    pub fn on_sent(&mut self, tick: u64, now: Duration) {
        match self.sent.back_mut() {
            Some((t, at)) if *t == tick => *at = now,
            Some((t, _)) if tick != *t + 1 => {
                // Not the next tick (a resync restarted the sequence): start afresh.
                self.sent.clear();
                self.sent.push_back((tick, now));
            }
            _ => self.sent.push_back((tick, now)),
        }
        while self.sent.len() > MAX_SENT {
            self.sent.pop_front();
        }
    }

    fn sent_at(&self, tick: u64) -> Option<Duration> {
        let first = self.sent.front()?.0;
        let i = usize::try_from(tick.checked_sub(first)?).ok()?;
        self.sent.get(i).map(|&(_, at)| at)
    }

    /// The server said an input arrived `hint` ticks before it closed tick `server_tick + 1`
    /// (that is, while its last closed tick was `server_tick`). Hints for inputs we have no
    /// send time for (too old, or from before a resync) are ignored.
    pub fn on_hint(&mut self, server_tick: u64, hint: i32, now: Duration) {
        let Some(input_tick) = server_tick.checked_add_signed(i64::from(hint)) else {
            return;
        };
        let Some(sent) = self.sent_at(input_tick) else {
            return;
        };
        let offset = server_tick as i128 * self.interval_ns - sent.as_nanos() as i128;
        self.samples += 1;
        let bucket_len = self.cfg.memory / BUCKETS;
        match self.buckets.back_mut() {
            Some((start, max)) if now < *start + bucket_len => *max = (*max).max(offset),
            _ => self.buckets.push_back((now, offset)),
        }
        self.expire(now);
        self.sticky = self.largest_offset();
    }

    fn expire(&mut self, now: Duration) {
        let memory = self.cfg.memory;
        while self
            .buckets
            .front()
            .is_some_and(|&(start, _)| now.saturating_sub(start) > memory)
        {
            self.buckets.pop_front();
        }
    }

    fn largest_offset(&self) -> Option<i128> {
        self.buckets.iter().map(|&(_, m)| m).max().or(self.sticky)
    }

    /// The latest time tick `tick` may be sent and still arrive `margin_ticks` early at the
    /// slowest recent delivery; `None` before the first hint.
    pub fn due(&self, tick: u64) -> Option<Duration> {
        let offset = self.largest_offset()?;
        let ns = (tick as i128 - i128::from(self.cfg.margin_ticks)) * self.interval_ns - offset;
        Some(Duration::from_nanos(ns.clamp(0, u64::MAX as i128) as u64))
    }

    /// How many ticks the present `present_tick` is behind (positive) or ahead (negative)
    /// of where it should be at `now`; `None` before the first hint.
    pub fn error_ticks(&self, present_tick: u64, now: Duration) -> Option<i64> {
        let due = self.due(present_tick + 1)?;
        let ns = now.as_nanos() as i128 - due.as_nanos() as i128;
        Some((ns.div_euclid(self.interval_ns)) as i64 + 1)
    }

    /// Tick `tick` was just predicted at `now`: schedules tick `tick + 1`.
    pub fn on_predicted(&mut self, tick: u64, now: Duration) {
        self.expire(now);
        let interval = self.cfg.interval;
        let nominal = self.next_at + interval;
        let step = interval * PACE_PERCENT / 100;
        self.next_at = match self.due(tick + 1) {
            None => {
                if nominal + interval * 8 < now {
                    // Far behind a schedule we cannot check (a stalled process before any
                    // hint): do not replay it all.
                    now + interval
                } else {
                    nominal
                }
            }
            Some(ideal) if ideal + interval < nominal => ideal,
            Some(ideal) if ideal < nominal => ideal.max(nominal.saturating_sub(step)),
            Some(ideal) if ideal > nominal + interval * self.cfg.hold_slack_ticks => ideal,
            Some(ideal) => ideal.min(nominal + step),
        };
    }

    /// The server confirmed past our present (we fell behind it): the next tick is due now.
    pub fn hurry(&mut self, now: Duration) {
        self.next_at = self.next_at.min(now);
    }

    /// Prediction could not advance (the window is full): look again in a tick.
    pub fn on_stalled(&mut self, now: Duration) {
        self.next_at = now + self.cfg.interval;
    }

    /// Forgets the link (a resync or reconnect: the server's clock may have changed).
    pub fn reset(&mut self, first_due: Duration) {
        self.sent.clear();
        self.buckets.clear();
        self.sticky = None;
        self.next_at = first_due;
        self.samples = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const IV: Duration = Duration::from_millis(50);

    /// A client and a server exchanging inputs and hints over a link whose up and down
    /// delays are given per moment, with datagrams lost as `lost(k)` says, and the client
    /// process frozen between the given times. The server closes tick T at T * IV (its
    /// clock started `server_origin` before ours).
    struct Link<'a> {
        up: &'a dyn Fn(Duration) -> Duration,
        down: &'a dyn Fn(Duration) -> Duration,
        lost: &'a dyn Fn(u64) -> bool,
        frozen: Option<(Duration, Duration)>,
        server_origin: Duration,
    }

    /// What a run saw: per input tick, its margin on arrival at the server (None: lost).
    struct Run {
        margins: Vec<(u64, Duration, Option<i64>)>,
        pacer: LeadPacer,
        present: u64,
    }

    impl Run {
        /// Inputs that arrived after their tick closed, or never, among those sent in
        /// `from..to` (an input is carried again by the next datagrams, as on the wire:
        /// it is late only if no datagram carrying it arrived in time).
        fn late(&self, from: Duration, to: Duration) -> (usize, usize) {
            let window: Vec<_> = self
                .margins
                .iter()
                .filter(|(_, at, _)| *at >= from && *at < to)
                .collect();
            let late = window
                .iter()
                .filter(|(tick, _, _)| {
                    // Carried by datagrams tick..tick+8; in time if any arrived with margin
                    // >= 1 for this tick.
                    !self.margins.iter().any(|(t, _, m)| {
                        *t >= *tick
                            && *t < tick + 8
                            && m.is_some_and(|m| m - (*t as i64 - *tick as i64) >= 1)
                    })
                })
                .count();
            (late, window.len())
        }
    }

    fn server_tick_at(link: &Link, t: Duration) -> u64 {
        ((t + link.server_origin).as_nanos() / IV.as_nanos()) as u64
    }

    fn run(link: &Link, start_tick: u64, until: Duration) -> Run {
        let mut pacer = LeadPacer::new(PacerConfig::new(IV), Duration::ZERO);
        let mut present = start_tick;
        // Hints in flight down: (arrival time, server tick, hint).
        let mut hints: Vec<(Duration, u64, i32)> = Vec::new();
        let mut margins = Vec::new();
        let mut k = 0u64;
        let mut t = Duration::ZERO;
        while t < until {
            let frozen = link.frozen.is_some_and(|(a, b)| t >= a && t < b);
            if !frozen {
                hints.retain(|&(at, tick, hint)| {
                    if at <= t {
                        pacer.on_hint(tick, hint, t);
                        false
                    } else {
                        true
                    }
                });
                let mut stepped = 0;
                while t >= pacer.next_tick_at() && stepped < 64 {
                    stepped += 1;
                    present += 1;
                    pacer.on_predicted(present, t);
                    pacer.on_sent(present, t);
                    k += 1;
                    let arrive = t + (link.up)(t);
                    let server = server_tick_at(link, arrive);
                    let margin = present as i64 - server as i64;
                    if (link.lost)(k) {
                        margins.push((present, t, None));
                    } else {
                        margins.push((present, t, Some(margin)));
                        // The hint goes back with the next frames (one tick later).
                        let back = arrive + IV + (link.down)(arrive);
                        if !(link.lost)(k.wrapping_mul(7919)) {
                            hints.push((back, server, margin as i32));
                        }
                    }
                }
            }
            t += MS;
        }
        Run {
            margins,
            pacer,
            present,
        }
    }

    fn steady(ms: u64) -> impl Fn(Duration) -> Duration {
        move |_| Duration::from_millis(ms)
    }

    fn never(_: u64) -> bool {
        false
    }

    #[test]
    fn converges_within_a_round_trip_of_the_first_hint() {
        for rtt in [50u64, 200, 2000, 5000] {
            let up = steady(rtt / 2);
            let down = steady(rtt / 2);
            // The client starts at the server's tick with no idea of the lead needed.
            let link = Link {
                up: &up,
                down: &down,
                lost: &never,
                frozen: None,
                server_origin: Duration::from_secs(100),
            };
            let start = server_tick_at(&link, Duration::ZERO);
            let r = run(&link, start, Duration::from_millis(4 * rtt + 3000));
            // The first hint arrives one round trip (plus a tick) after the first input;
            // from the next input on, every input arrives with the margin.
            let settled = Duration::from_millis(rtt + 200);
            let (late, total) = r.late(settled, Duration::from_millis(4 * rtt + 2000));
            assert_eq!(late, 0, "rtt {rtt}: {late} of {total} late");
            let last = r.margins.iter().rev().find_map(|m| m.2).expect("arrived");
            assert!((3..=5).contains(&last), "rtt {rtt}: margin {last}");
        }
    }

    #[test]
    fn follows_latency_steps_up_at_once_and_down_after_its_memory() {
        // 50 ms, then 5 s from t=10 s, then 50 ms again from t=40 s.
        let one_way = |t: Duration| {
            if t >= Duration::from_secs(10) && t < Duration::from_secs(40) {
                Duration::from_millis(2500)
            } else {
                Duration::from_millis(25)
            }
        };
        let link = Link {
            up: &one_way,
            down: &one_way,
            lost: &never,
            frozen: None,
            server_origin: Duration::from_secs(3),
        };
        let start = server_tick_at(&link, Duration::ZERO);
        let r = run(&link, start, Duration::from_secs(60));
        // After the step up, inputs are late until a hint from the slow link returns
        // (a round trip), then never.
        let (late, total) = r.late(Duration::from_secs(16), Duration::from_secs(40));
        assert_eq!(late, 0, "{late} of {total} late on the slow link");
        // After the step down, everything arrives early (no input is ever late) and the
        // excess lead is shed once the memory has passed.
        let (late, _) = r.late(Duration::from_secs(40), Duration::from_secs(59));
        assert_eq!(late, 0);
        let last = r.margins.iter().rev().find_map(|m| m.2).expect("arrived");
        assert!((3..=5).contains(&last), "margin {last} after the step down");
    }

    #[test]
    fn jitter_is_absorbed_by_the_slowest_recent_delivery() {
        // 2 s round trip with up to 200 ms of jitter each way (a cheap deterministic draw).
        let jittery = |t: Duration| {
            let x = (t.as_millis() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
            Duration::from_millis(1000 + x % 201)
        };
        let link = Link {
            up: &jittery,
            down: &jittery,
            lost: &never,
            frozen: None,
            server_origin: Duration::from_secs(7),
        };
        let start = server_tick_at(&link, Duration::ZERO);
        let r = run(&link, start, Duration::from_secs(40));
        let (late, total) = r.late(Duration::from_secs(10), Duration::from_secs(38));
        assert!(late * 1000 <= total, "{late} of {total} late");
    }

    #[test]
    fn loss_bursts_neither_drift_nor_trigger_corrections() {
        // 5% loss, plus a 3 s burst where everything is lost both ways.
        let burst = |k: u64| (100..160).contains(&(k % 10_000)) || k % 20 == 7;
        let up = steady(1000);
        let down = steady(1000);
        let link = Link {
            up: &up,
            down: &down,
            lost: &burst,
            frozen: None,
            server_origin: Duration::from_secs(1),
        };
        let start = server_tick_at(&link, Duration::ZERO);
        let r = run(&link, start, Duration::from_secs(30));
        let (late, total) = r.late(Duration::from_secs(8), Duration::from_secs(28));
        assert_eq!(late, 0, "{late} of {total}");
        // The memory aged out during the burst, and the schedule kept its offset.
        assert!(r.pacer.due(r.present + 1).is_some());
    }

    #[test]
    fn a_paused_process_catches_up_in_bounded_bursts_then_holds_its_lead() {
        // SIGSTOP for 8 s then SIGCONT, on a 200 ms link.
        let up = steady(100);
        let down = steady(100);
        let link = Link {
            up: &up,
            down: &down,
            lost: &never,
            frozen: Some((Duration::from_secs(10), Duration::from_secs(18))),
            server_origin: Duration::from_secs(2),
        };
        let start = server_tick_at(&link, Duration::ZERO);
        let r = run(&link, start, Duration::from_secs(30));
        // Nothing sent while frozen; right after, the missed ticks go out (64 per poll at
        // most in this harness), and from then on inputs arrive in time again.
        let during = r
            .margins
            .iter()
            .filter(|(_, at, _)| *at > Duration::from_secs(10) && *at < Duration::from_secs(18))
            .count();
        assert_eq!(during, 0);
        let (late, total) = r.late(Duration::from_millis(18_100), Duration::from_secs(29));
        assert_eq!(late, 0, "{late} of {total} late after the pause");
        let last = r.margins.iter().rev().find_map(|m| m.2).expect("arrived");
        assert!((3..=5).contains(&last), "margin {last}");
        // The pacer never schedules into the past by more than the catch-up needs.
        let err = r.pacer.error_ticks(r.present, Duration::from_secs(30));
        assert!(err.is_some_and(|e| e.abs() <= 2), "{err:?}");
    }

    #[test]
    fn without_hints_the_schedule_is_nominal_and_skips_a_stall() {
        let mut p = LeadPacer::new(PacerConfig::new(IV), Duration::from_millis(50));
        p.on_predicted(1, Duration::from_millis(50));
        assert_eq!(p.next_tick_at(), Duration::from_millis(100));
        // Woken 10 s late with no hint to check against: one tick from now, not 200 now.
        p.on_predicted(2, Duration::from_secs(10));
        assert_eq!(p.next_tick_at(), Duration::from_secs(10) + IV);
        // Hints for unknown ticks are ignored; a hint far in the past cannot overflow.
        p.on_hint(5, 1000, Duration::from_secs(10));
        p.on_hint(0, i32::MIN, Duration::from_secs(10));
        p.on_hint(u64::MAX, i32::MAX, Duration::from_secs(10));
        assert_eq!(p.samples(), 0);
        assert_eq!(p.due(3), None);
        p.reset(Duration::ZERO);
        assert_eq!(p.next_tick_at(), Duration::ZERO);
    }
}
