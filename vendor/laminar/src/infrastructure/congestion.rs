use std::time::Instant;

use crate::{
    net::{NetworkQuality, RttMeasurer},
    sequence_buffer::{CongestionData, SequenceBuffer},
    Config,
};

/// Sequence numbers whose send time is kept for RTT measurement.
///
/// Venture patch (vendor/laminar/PATCHES.md; upstream issue TimonPost/laminar#272): was
/// `u16::max_value()`, a 65,535-entry buffer (about 1.8 MB) allocated and touched for
/// every connection. An ack arrives for a packet at most `max_packets_in_flight` (default
/// 512) plus the 32-packet ack window behind the newest sequence number, so 1,024 entries
/// cover it. A power of two that divides 65,536, so `seq % len` stays continuous where the
/// u16 sequence number wraps.
pub(crate) const CONGESTION_WINDOW: u16 = 1024;

/// Keeps track of congestion information.
pub struct CongestionHandler {
    rtt_measurer: RttMeasurer,
    congestion_data: SequenceBuffer<CongestionData>,
    _quality: NetworkQuality,
}

impl CongestionHandler {
    /// Constructs a new `CongestionHandler` which you can use for keeping track of congestion information.
    pub fn new(config: &Config) -> CongestionHandler {
        CongestionHandler {
            rtt_measurer: RttMeasurer::new(config),
            congestion_data: SequenceBuffer::with_capacity(CONGESTION_WINDOW),
            _quality: NetworkQuality::Good,
        }
    }

    /// Processes incoming sequence number.
    ///
    /// This will calculate the RTT-time and smooth down the RTT-value to prevent uge RTT-spikes.
    pub fn process_incoming(&mut self, incoming_seq: u16) {
        let congestion_data = self.congestion_data.get_mut(incoming_seq);
        self.rtt_measurer.calculate_rrt(congestion_data);
    }

    /// Processes outgoing sequence number.
    ///
    /// This will insert an entry which is used for keeping track of the sending time.
    /// Once we process incoming sequence numbers we can calculate the `RTT` time.
    pub fn process_outgoing(&mut self, seq: u16, time: Instant) {
        self.congestion_data
            .insert(seq, CongestionData::new(seq, time));
    }
}

#[cfg(test)]
mod test {
    use std::time::Instant;

    use crate::infrastructure::CongestionHandler;
    use crate::Config;

    #[test]
    fn congestion_entry_created() {
        let mut congestion_handler = CongestionHandler::new(&Config::default());

        congestion_handler.process_outgoing(1, Instant::now());

        assert_eq!(congestion_handler.congestion_data.exists(1), true);
    }

    #[test]
    fn congestion_window_is_bounded_and_wraps_cleanly() {
        use super::CONGESTION_WINDOW;
        assert!(CONGESTION_WINDOW.is_power_of_two());
        assert_eq!(65_536 % u32::from(CONGESTION_WINDOW), 0);

        let mut congestion_handler = CongestionHandler::new(&Config::default());
        // Across the u16 wrap: every recent sequence number keeps its own entry.
        let start = 0u16.wrapping_sub(CONGESTION_WINDOW / 2);
        for i in 0..CONGESTION_WINDOW {
            congestion_handler.process_outgoing(start.wrapping_add(i), Instant::now());
        }
        for i in 0..CONGESTION_WINDOW {
            assert!(congestion_handler
                .congestion_data
                .exists(start.wrapping_add(i)));
        }
        // One more evicts only the oldest.
        congestion_handler.process_outgoing(start.wrapping_add(CONGESTION_WINDOW), Instant::now());
        assert!(!congestion_handler.congestion_data.exists(start));
        assert!(congestion_handler
            .congestion_data
            .exists(start.wrapping_add(1)));
    }

    #[test]
    fn rtt_value_is_updated() {
        let mut congestion_handler = CongestionHandler::new(&Config::default());

        assert_eq!(
            congestion_handler.rtt_measurer.get_rtt().abs() < std::f32::EPSILON,
            true
        );
        congestion_handler.process_outgoing(1, Instant::now());
        congestion_handler.process_incoming(1);
        assert_eq!(congestion_handler.rtt_measurer.get_rtt() != 0., true);
    }
}
