//! Round-trip estimate (smoothed RTT and its variation, as TCP keeps them) and the
//! prediction window it implies.

use std::time::Duration;

/// Smoothed round trip and mean deviation (RFC 6298 gains: 1/8 and 1/4).
#[derive(Clone, Copy, Debug, Default)]
pub struct RttEstimator {
    smoothed: Option<Duration>,
    deviation: Duration,
}

impl RttEstimator {
    pub fn on_sample(&mut self, rtt: Duration) {
        match self.smoothed {
            None => {
                self.smoothed = Some(rtt);
                self.deviation = rtt / 2;
            }
            Some(s) => {
                let diff = rtt.abs_diff(s);
                self.deviation = (self.deviation * 3 + diff) / 4;
                self.smoothed = Some((s * 7 + rtt) / 8);
            }
        }
    }

    pub fn smoothed(&self) -> Option<Duration> {
        self.smoothed
    }

    /// Mean deviation of the samples: the jitter of the round trip.
    pub fn deviation(&self) -> Duration {
        self.deviation
    }

    /// Forgets everything (a new server).
    pub fn reset(&mut self) {
        *self = RttEstimator::default();
    }
}

/// Longest prediction window, in time: the latency promise is 5 s round trip, and the
/// window must hold a round trip plus jitter plus the lead margin.
pub const MAX_PREDICTION_TIME: Duration = Duration::from_secs(8);
/// Shortest prediction window: a short link still rides out a second of silence.
pub const MIN_PREDICTION_TIME: Duration = Duration::from_secs(2);

/// Ticks in `d` at `interval`, rounded to the nearest.
pub fn ticks_in(d: Duration, interval: Duration) -> usize {
    let iv = interval.as_nanos().max(1);
    ((d.as_nanos() + iv / 2) / iv).min(usize::MAX as u128) as usize
}

/// The most ticks a client predicts past the last confirmed one, for a link with this
/// round trip and jitter: twice the round trip plus four deviations plus a second (a
/// latency rise is followed before pongs tell of it), between [`MIN_PREDICTION_TIME`] and
/// [`MAX_PREDICTION_TIME`] at any tick rate.
pub fn prediction_window(rtt: &RttEstimator, interval: Duration) -> usize {
    let need = match rtt.smoothed() {
        Some(s) => s * 2 + rtt.deviation() * 4 + Duration::from_secs(1),
        // Unknown: the largest, so the first seconds on a long link do not stall.
        None => MAX_PREDICTION_TIME,
    };
    ticks_in(
        need.clamp(MIN_PREDICTION_TIME, MAX_PREDICTION_TIME),
        interval,
    )
    .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_adapts_to_the_round_trip_within_bounds_at_any_tick_rate() {
        let iv20 = Duration::from_millis(50);
        let mut r = RttEstimator::default();
        assert_eq!(prediction_window(&r, iv20), 160, "unknown: 8 s");
        for _ in 0..50 {
            r.on_sample(Duration::from_millis(50));
        }
        assert_eq!(prediction_window(&r, iv20), 40, "short link: 2 s");
        let mut r = RttEstimator::default();
        for i in 0..200 {
            r.on_sample(Duration::from_millis(2000 + (i % 3) * 50));
        }
        let w = prediction_window(&r, iv20);
        assert!((100..=120).contains(&w), "{w}");
        let mut r = RttEstimator::default();
        for _ in 0..200 {
            r.on_sample(Duration::from_millis(5000));
        }
        assert_eq!(prediction_window(&r, iv20), 160, "5 s: capped at 8 s");
        let iv60 = Duration::from_nanos(1_000_000_000 / 60);
        assert_eq!(prediction_window(&r, iv60), 480, "8 s at 60 Hz");
        assert_eq!(ticks_in(Duration::from_millis(101), iv20), 2);
        assert_eq!(ticks_in(Duration::from_millis(126), iv20), 3);
    }

    #[test]
    fn deviation_tracks_jitter() {
        let mut r = RttEstimator::default();
        for i in 0..400u64 {
            r.on_sample(Duration::from_millis(1000 + (i * 37 % 200)));
        }
        let d = r.deviation();
        assert!(
            d > Duration::from_millis(20) && d < Duration::from_millis(120),
            "{d:?}"
        );
    }
}
