//! Per-peer state of an admitted player: who it is, its downlink (acked frames, a
//! snapshot in flight; see [`super::downlink`]), its buffered inputs, and the measurements
//! of its link that the
//! rest of the session acts on: the loss rate of its input stream (which sets the frame
//! redundancy), its ack lag (which sets the input lead it may use and the frame stream's
//! sweep), its inputs' timeliness, and the per-slot counters and gauges for metrics.

use crate::carrier::Remote;
use std::collections::BTreeMap;
use std::time::Duration;

use venture_sim::PlayerInput;

use super::downlink::Downlink;

/// Input ticks per loss-rate sample.
pub(super) const LOSS_SAMPLE_TICKS: u64 = 100;

/// Loss rate of one client's datagrams, estimated from its input stream: the client sends
/// one `Inputs` per predicted tick, each ending at that tick, so newest ticks that never
/// arrive as a datagram's newest were lost on the way (up; the path down is assumed alike).
#[derive(Debug, Default)]
pub(super) struct LossMeter {
    newest: u64,
    expected: u64,
    received: u64,
    /// Smoothed loss in parts per million; `None` until the first sample.
    pub(super) estimate_ppm: Option<u64>,
}

impl LossMeter {
    pub(super) fn on_inputs(&mut self, newest: u64) {
        if newest <= self.newest {
            return; // Reordered, duplicated, or no new tick (a stalled client).
        }
        if self.newest != 0 {
            // A long silence (a stall, a resync) says nothing about loss: cap the jump.
            self.expected += (newest - self.newest).min(2 * LOSS_SAMPLE_TICKS);
            self.received += 1;
        }
        self.newest = newest;
        if self.expected >= LOSS_SAMPLE_TICKS {
            let sample =
                (self.expected - self.received.min(self.expected)) * 1_000_000 / self.expected;
            // Rises faster than it decays, but smoothed either way: one unlucky sample
            // must not flip a client into high-loss mode.
            self.estimate_ppm = Some(match self.estimate_ppm {
                Some(e) if sample < e => (e * 3 + sample) / 4,
                Some(e) => (e + sample) / 2,
                None => sample,
            });
            self.expected = 0;
            self.received = 0;
        }
    }
}

/// How far a client's frame ack trails the current tick when nothing is missing: about a
/// round trip in ticks. A windowed minimum over acks, so late acks after a loss do not
/// inflate it.
#[derive(Debug, Default)]
pub(super) struct AckLag {
    current: Option<u64>,
    previous: Option<u64>,
    samples: u32,
    /// Largest lag in the current and the previous window (for the accepted lead, which
    /// must cover the slowest recent delivery, not the fastest).
    high: u64,
    previous_high: u64,
}

impl AckLag {
    pub(super) fn on_ack(&mut self, lag: u64) {
        self.current = Some(self.current.map_or(lag, |m| m.min(lag)));
        self.high = self.high.max(lag);
        self.samples += 1;
        if self.samples >= 2 * LOSS_SAMPLE_TICKS as u32 {
            self.previous = self.current.take();
            self.previous_high = std::mem::take(&mut self.high);
            self.samples = 0;
        }
    }

    pub(super) fn ceiling(&self) -> Option<u64> {
        self.floor().map(|_| self.high.max(self.previous_high))
    }

    pub(super) fn floor(&self) -> Option<u64> {
        match (self.current, self.previous) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The lead accepted from a client whose ack lag (about a round trip in ticks) peaked at
/// `lag_ceiling` recently: twice that plus 2 s, within `max_ticks` (all of it until the lag
/// is measured). Twice, because a client follows a latency drop only after its pacer's
/// memory, and runs that much further ahead meanwhile; its inputs must still count.
pub fn accepted_lead(lag_ceiling: Option<u64>, tick_rate: u32, max_ticks: u64) -> u64 {
    match lag_ceiling {
        Some(lag) => lag
            .saturating_mul(2)
            .saturating_add(2 * u64::from(tick_rate))
            .min(max_ticks),
        None => max_ticks,
    }
}

/// How one player's inputs arrived, tick by tick, while streaming (not during a snapshot
/// transfer, when the client cannot be playing yet).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InputTimeliness {
    /// Ticks closed with the input the client sent for them.
    pub on_time: u64,
    /// Ticks filled with a repeat of the last input because none had arrived.
    pub substituted: u64,
    /// Round trip from the client's frame acks (as [`PlayerLink::rtt`]).
    pub rtt: Option<Duration>,
}

/// Traffic of one player slot since the session started, whoever held it (for per-slot
/// metrics: counters never go back, and the label set stays bounded by the slot count).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlotTraffic {
    /// Payload bytes received from the slot's client.
    pub bytes_in: u64,
    /// Payload bytes sent to the slot's client.
    pub bytes_out: u64,
    /// Inputs that arrived after their tick had closed.
    pub late_inputs: u64,
}

/// How a connected player's link looks now (for per-slot gauges).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlayerLink {
    pub slot: u8,
    /// Time from a tick closing (its frame going out) to the client's ack of it arriving:
    /// a round trip plus up to one client tick of send cadence. Windowed minimum, so acks
    /// delayed by a loss do not inflate it; `None` until the first ack.
    pub rtt: Option<Duration>,
    /// How many ticks early the client's newest input arrived, worst case over the last
    /// tick (negative: late, and the server repeated the previous input instead).
    pub input_lead_ticks: i32,
    /// Still receiving a snapshot.
    pub syncing: bool,
}

/// An admitted player, as the server sees it.
#[derive(Debug)]
pub(super) struct Player {
    pub(super) down: Downlink,
    pub(super) slot: u8,
    pub(super) name: String,
    pub(super) secret: [u8; 16],
    pub(super) inputs: BTreeMap<u64, PlayerInput>,
    pub(super) last_input: PlayerInput,
    /// Highest tick of any input received (the ack sent back).
    pub(super) input_high: u64,
    pub(super) late_inputs: u32,
    pub(super) timeliness: InputTimeliness,
    /// Smallest (input tick - current tick) seen recently: how early inputs arrive.
    pub(super) margin: Option<i64>,
    pub(super) last_margin: i32,
    pub(super) loss: LossMeter,
    pub(super) ack_lag: AckLag,
    /// Windowed minimum, in nanoseconds, of the time from a tick's scheduled close to its ack.
    pub(super) ack_rtt_nanos: AckLag,
    /// First tick streamed as the newest frame since the last snapshot: acks of older
    /// frames (the catch-up after a snapshot) say nothing about the round trip.
    pub(super) stream_start: Option<u64>,
    pub(super) chat: crate::chat::ChatGate,
}

impl Player {
    /// A player just admitted into `slot` at tick `tick` (its snapshot starts separately).
    pub(super) fn new(
        addr: Remote,
        slot: u8,
        name: String,
        secret: [u8; 16],
        tick: u64,
        now: Duration,
    ) -> Player {
        Player {
            down: Downlink::new(addr, tick, None, now),
            slot,
            name,
            secret,
            inputs: BTreeMap::new(),
            last_input: PlayerInput::IDLE,
            input_high: 0,
            late_inputs: 0,
            timeliness: InputTimeliness::default(),
            margin: None,
            last_margin: 0,
            loss: LossMeter::default(),
            ack_lag: AckLag::default(),
            ack_rtt_nanos: AckLag::default(),
            stream_start: None,
            chat: crate::chat::ChatGate::new(now),
        }
    }

    /// An `Inputs` from this player at tick `current`: its frame ack (which measures the
    /// ack lag and round trip; `closed_at` gives when a tick closed on the schedule, `None`
    /// before the schedule's anchor), then its inputs for ticks up to `max_lead` ahead.
    /// Returns how many inputs arrived after their tick closed, never received before.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_inputs(
        &mut self,
        ack_tick: u64,
        first_tick: u64,
        inputs: Vec<PlayerInput>,
        current: u64,
        max_lead: u64,
        now: Duration,
        closed_at: impl Fn(u64) -> Option<Duration>,
    ) -> u64 {
        let mut late = 0;
        if self.down.on_frame_ack(ack_tick, current)
            && self.stream_start.is_some_and(|s| ack_tick >= s)
        {
            // Moves the ack first (the left side), then measures only streamed frames.
            self.ack_lag.on_ack(current - ack_tick);
            if let Some(closed) = closed_at(ack_tick) {
                let rtt = now.saturating_sub(closed);
                self.ack_rtt_nanos
                    .on_ack(rtt.as_nanos().min(u64::MAX as u128) as u64);
            }
        }
        // How early this datagram's newest input arrived (negative: late). The
        // smallest value per tick goes back as the client's lead hint.
        // Inputs beyond the accepted lead are ignored below; they neither move the
        // margin nor the loss estimate (and a forged far-future tick cannot
        // overflow the arithmetic).
        let newest = first_tick
            .saturating_add(inputs.len() as u64)
            .saturating_sub(1);
        if !inputs.is_empty() && newest <= current.saturating_add(max_lead) {
            self.loss.on_inputs(newest);
            let margin = newest as i64 - current as i64;
            self.margin = Some(self.margin.map_or(margin, |m| m.min(margin)));
        }
        for (i, input) in inputs.into_iter().enumerate() {
            let tick = first_tick + i as u64;
            if tick <= current {
                if tick > self.input_high.max(self.down.acked) && !self.inputs.contains_key(&tick) {
                    // Arrived after its tick closed and was never received before.
                    self.late_inputs = self.late_inputs.saturating_add(1);
                    late += 1;
                }
                continue;
            }
            if tick > current + max_lead {
                break;
            }
            self.inputs.insert(tick, input);
            self.input_high = self.input_high.max(tick);
        }
        late
    }

    /// The link as the per-slot gauges show it.
    pub(super) fn link(&self) -> PlayerLink {
        PlayerLink {
            slot: self.slot,
            rtt: self.rtt(),
            input_lead_ticks: self.last_margin,
            syncing: self.down.syncing(),
        }
    }

    /// Round trip from the frame acks (see [`PlayerLink::rtt`]).
    pub(super) fn rtt(&self) -> Option<Duration> {
        self.ack_rtt_nanos.floor().map(Duration::from_nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::frames::repeats_for_loss;

    impl LossMeter {
        fn redundancy(&self, min: usize, max: usize) -> usize {
            repeats_for_loss(self.estimate_ppm, min, max)
        }
    }

    #[test]
    fn redundancy_follows_measured_loss() {
        let mut m = LossMeter::default();
        assert_eq!(m.redundancy(2, 8), 8, "unmeasured: the maximum");
        for t in 1..=200 {
            m.on_inputs(t);
        }
        assert_eq!(m.estimate_ppm, Some(0));
        assert_eq!(m.redundancy(2, 8), 2);
        // Every 20th datagram lost (5%): 0.05^3 < 1e-3 < 0.05^2.
        let mut t = 200;
        for _ in 0..400 {
            t += 1;
            if t % 20 != 0 {
                m.on_inputs(t);
            }
        }
        assert_eq!(m.redundancy(2, 8), 3, "{:?}", m.estimate_ppm);
        // 20%: five repeats; capped at the maximum.
        for _ in 0..400 {
            t += 1;
            if t % 5 != 0 {
                m.on_inputs(t);
            }
        }
        assert_eq!(m.redundancy(2, 8), 5, "{:?}", m.estimate_ppm);
        assert_eq!(m.redundancy(2, 4), 4);
        assert_eq!(m.redundancy(8, 8), 8);
        // Reordered and repeated datagrams, and long stalls, are not loss.
        let before = (m.expected, m.received);
        let newest = m.newest;
        m.on_inputs(newest - 3);
        m.on_inputs(newest);
        assert_eq!((m.expected, m.received), before);
        // Loss going away decays the estimate.
        for _ in 0..2000 {
            t += 1;
            m.on_inputs(t);
        }
        assert_eq!(m.redundancy(2, 8), 2, "{:?}", m.estimate_ppm);
        m.on_inputs(t + 10_000);
        assert!(m.expected <= 2 * LOSS_SAMPLE_TICKS);
        assert_eq!(m.redundancy(0, 0), 1);
    }

    #[test]
    fn accepted_lead_follows_the_slowest_recent_round_trip_up_to_the_cap() {
        assert_eq!(accepted_lead(None, 20, 160), 160, "unmeasured: the cap");
        assert_eq!(accepted_lead(Some(2), 20, 160), 44, "50 ms: 2 s and a bit");
        assert_eq!(accepted_lead(Some(100), 20, 160), 160, "5 s: capped at 8 s");
        assert_eq!(accepted_lead(Some(100), 60, 480), 320);
        assert_eq!(accepted_lead(Some(u64::MAX), 60, 480), 480);
        let mut a = AckLag::default();
        assert_eq!(a.ceiling(), None);
        for lag in [9, 7, 30, 8] {
            a.on_ack(lag);
        }
        assert_eq!(a.ceiling(), Some(30));
        for _ in 0..4 * LOSS_SAMPLE_TICKS {
            a.on_ack(20);
        }
        assert_eq!(a.ceiling(), Some(20), "old peak forgotten");
    }

    #[test]
    fn ack_lag_is_a_windowed_minimum() {
        let mut a = AckLag::default();
        assert_eq!(a.floor(), None);
        for lag in [9, 7, 30, 8] {
            a.on_ack(lag);
        }
        assert_eq!(a.floor(), Some(7));
        for _ in 0..4 * LOSS_SAMPLE_TICKS {
            a.on_ack(20);
        }
        assert_eq!(a.floor(), Some(20), "old minimum forgotten");
    }
}
