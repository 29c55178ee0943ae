//! The metrics a serving primary reads from its parts' own stats types: every loop turn the
//! server copies the stats it holds ([`ServerStats`], [`LayerStats`], each carrier's
//! [`CarrierStats`], the HTTP server's [`HttpCounters`]) and a few counts into one
//! [`Readings`], and the [`Collector`] brings every series fed from them up to date.
//!
//! A counter here follows a running total: each collection adds what the total grew by
//! since the previous one, so the stats types stay the one place that counts. Adding a
//! metric fed from a stats type is one field in that type and one line in
//! [`Collector::new`] (name the series, say which total or value feeds it).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use venture_net::carrier::{CarrierKind, CarrierStats};
use venture_net::secure::{DropReason, LayerStats};
use venture_net::server::ServerStats;

use super::carriers::CarrierMetrics;
use super::{Metrics, SlotLabel};
use crate::ops::http::HttpCounters;

/// What the server's parts counted and hold, read once per loop turn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readings {
    /// The game session's totals.
    pub session: ServerStats,
    /// The secure layer's totals (drops by reason, handshakes).
    pub layer: LayerStats,
    /// Each carrier's totals, by [`CarrierKind::index`].
    pub carriers: [CarrierStats; 3],
    /// The HTTP server's totals.
    pub http: HttpCounters,
    /// Players in the game, of which `syncing` are still receiving their snapshot.
    pub players: u64,
    pub syncing: u64,
    pub spectators: u64,
    /// Secure-layer sessions held.
    pub secure_peers: u64,
    /// Players by the carrier they came over, by [`CarrierKind::index`].
    pub carrier_players: [u64; 3],
    /// Open stream connections by carrier (0 for UDP), by [`CarrierKind::index`].
    pub carrier_connections: [u64; 3],
}

impl Readings {
    /// The sum over the carriers of one of their totals.
    fn all_carriers(&self, total: fn(&CarrierStats) -> u64) -> u64 {
        self.carriers.iter().map(total).sum()
    }
}

/// Reads one number out of the readings.
type Read = Box<dyn Fn(&Readings) -> u64 + Send>;

/// Feeds the counters and gauges that follow [`Readings`], and the input substitutions by
/// slot.
pub struct Collector {
    /// Counters and the total each follows.
    counters: Vec<(Counter, Read)>,
    /// Gauges and the value each shows.
    gauges: Vec<(Gauge, Read)>,
    /// The previous readings, which the counters have counted up to.
    last: Readings,
    /// `venture_input_substitutions_total{slot}`, following the session's per-slot totals.
    substitutions: Family<SlotLabel, Counter>,
    /// The per-slot totals the substitution series have counted up to.
    substituted: Vec<u64>,
}

impl Collector {
    /// The collector of `metrics`' series fed from readings, with the per-carrier series
    /// and the input substitutions ([`Metrics::register_collector`] registers them).
    pub(super) fn new(
        metrics: &Metrics,
        carriers: &CarrierMetrics,
        substitutions: Family<SlotLabel, Counter>,
    ) -> Collector {
        let m = metrics;
        let mut counters: Vec<(Counter, Read)> = vec![
            // Packets and bytes are counted at the carriers: the secure layer drops some
            // before the session sees them, and those must still show.
            (
                m.datagrams_in.clone(),
                Box::new(|r| r.all_carriers(|c| c.packets_in)),
            ),
            (
                m.bytes_in.clone(),
                Box::new(|r| r.all_carriers(|c| c.bytes_in)),
            ),
            (
                m.datagrams_out.clone(),
                Box::new(|r| r.all_carriers(|c| c.packets_out)),
            ),
            (
                m.bytes_out.clone(),
                Box::new(|r| r.all_carriers(|c| c.bytes_out)),
            ),
            // The layer is the transport now: what it drops is the "transport" reason of the
            // invalid-datagram total (the per-reason detail is venture_datagrams_dropped_total).
            (
                m.invalid_datagrams
                    .get_or_create(&[("reason", "transport")])
                    .clone(),
                Box::new(|r| r.layer.dropped_total()),
            ),
            (
                m.secure_handshakes.clone(),
                Box::new(|r| r.layer.handshakes),
            ),
            (m.late_inputs.clone(), Box::new(|r| r.session.late_inputs)),
            // The HTTP connection cap: every eviction or refusal.
            (
                m.cap_hits
                    .get_or_create(&[("cap", "http_connections")])
                    .clone(),
                Box::new(|r| r.http.rejected_over_cap + r.http.evicted),
            ),
            (m.http_evictions.clone(), Box::new(|r| r.http.evicted)),
        ];
        for reason in DropReason::ALL {
            let series = m
                .datagrams_dropped
                .get_or_create(&[("reason", reason.as_str())]);
            counters.push((series.clone(), Box::new(move |r| r.layer.dropped(reason))));
        }
        let mut gauges: Vec<(Gauge, Read)> = vec![
            (m.players.clone(), Box::new(|r| r.players)),
            (m.spectators.clone(), Box::new(|r| r.spectators)),
            (
                m.connections.get_or_create(&[("state", "pending")]).clone(),
                Box::new(|r| r.syncing),
            ),
            (
                m.connections
                    .get_or_create(&[("state", "connected")])
                    .clone(),
                Box::new(|r| r.players.saturating_sub(r.syncing)),
            ),
            (m.secure_sessions.clone(), Box::new(|r| r.secure_peers)),
        ];
        for kind in CarrierKind::ALL {
            let (c, k) = (kind.as_str(), kind.index());
            let series = |f: &Family<_, Counter>, d| {
                f.get_or_create(&[("carrier", c), ("direction", d)]).clone()
            };
            counters.push((
                series(&carriers.packets, "in"),
                Box::new(move |r| r.carriers[k].packets_in),
            ));
            counters.push((
                series(&carriers.packets, "out"),
                Box::new(move |r| r.carriers[k].packets_out),
            ));
            counters.push((
                series(&carriers.bytes, "in"),
                Box::new(move |r| r.carriers[k].bytes_in),
            ));
            counters.push((
                series(&carriers.bytes, "out"),
                Box::new(move |r| r.carriers[k].bytes_out),
            ));
            let label = [("carrier", c)];
            counters.push((
                carriers.dropped.get_or_create(&label).clone(),
                Box::new(move |r| r.carriers[k].dropped_out),
            ));
            gauges.push((
                carriers.players.get_or_create(&label).clone(),
                Box::new(move |r| r.carrier_players[k]),
            ));
            gauges.push((
                carriers.connections.get_or_create(&label).clone(),
                Box::new(move |r| r.carrier_connections[k]),
            ));
        }
        Collector {
            counters,
            gauges,
            last: Readings::default(),
            substitutions,
            substituted: Vec::new(),
        }
    }

    /// Brings every series up to `now`: each counter by what its total grew since the
    /// previous readings, each gauge to its value.
    pub fn collect(&mut self, now: Readings) {
        for (counter, read) in &self.counters {
            let grew = read(&now).saturating_sub(read(&self.last));
            if grew > 0 {
                counter.inc_by(grew);
            }
        }
        for (gauge, read) in &self.gauges {
            gauge.set(i64::try_from(read(&now)).unwrap_or(i64::MAX));
        }
        self.last = now;
    }

    /// The readings of the last [`Collector::collect`].
    pub fn last(&self) -> &Readings {
        &self.last
    }

    /// The session was replaced (an allocation opened the real world): its totals start
    /// again from zero, and so do the readings the counters follow.
    pub fn session_replaced(&mut self) {
        self.last.session = ServerStats::default();
    }

    /// Brings `venture_input_substitutions_total{slot}` up to the session's per-slot
    /// totals; every slot's series exists at 0 from the first call, so rates work from
    /// the first scrape.
    pub fn substitutions(&mut self, totals: &[u64]) {
        let family = &self.substitutions;
        if self.substituted.len() != totals.len() {
            self.substituted.resize(totals.len(), 0);
            for slot in 0..totals.len() {
                family
                    .get_or_create(&[("slot", slot.to_string())])
                    .inc_by(0);
            }
        }
        for (slot, (&total, seen)) in totals.iter().zip(self.substituted.iter_mut()).enumerate() {
            if total > *seen {
                family
                    .get_or_create(&[("slot", slot.to_string())])
                    .inc_by(total - *seen);
                *seen = total;
            }
        }
    }
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("counters", &self.counters.len())
            .field("gauges", &self.gauges.len())
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_parse::{Scrape, Value};

    fn series(m: &Metrics, name: &str, labels: &[(&str, &str)]) -> f64 {
        let text = m.encode();
        let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parses");
        let found: Vec<_> = scrape
            .samples
            .iter()
            .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .collect();
        assert_eq!(found.len(), 1, "{name} {labels:?} in\n{text}");
        found[0]
    }

    fn readings(scale: u64) -> Readings {
        let mut r = Readings::default();
        r.session.late_inputs = 3 * scale;
        r.layer.handshakes = 2 * scale;
        r.carriers[CarrierKind::Udp.index()].packets_in = 10 * scale;
        r.carriers[CarrierKind::Udp.index()].bytes_in = 1000 * scale;
        r.carriers[CarrierKind::Tcp.index()].packets_in = 5 * scale;
        r.carriers[CarrierKind::WebSocket.index()].packets_out = 7 * scale;
        r.carriers[CarrierKind::Tcp.index()].dropped_out = scale;
        r.http.evicted = scale;
        r.http.rejected_over_cap = 2 * scale;
        r.players = 4;
        r.syncing = 1;
        r.spectators = 2;
        r.secure_peers = 6;
        r.carrier_players = [3, 1, 0];
        r.carrier_connections = [0, 1, 0];
        r
    }

    #[test]
    fn counters_follow_the_totals_and_gauges_show_the_values() {
        let mut m = Metrics::new("0.1.0", "unknown");
        let mut c = m.register_collector();
        for scale in [1, 1, 2] {
            c.collect(readings(scale));
        }
        // Counted up to the last readings, once each, whatever the number of collections.
        assert_eq!(m.late_inputs.get(), 6);
        assert_eq!(m.secure_handshakes.get(), 4);
        assert_eq!(m.datagrams_in.get(), 30, "summed over the carriers");
        assert_eq!(m.bytes_in.get(), 2000);
        assert_eq!(m.datagrams_out.get(), 14);
        assert_eq!(m.http_evictions.get(), 2);
        let total = "venture_carrier_packets_total";
        assert_eq!(
            series(&m, total, &[("carrier", "udp"), ("direction", "in")]),
            20.0
        );
        assert_eq!(
            series(&m, total, &[("carrier", "tcp"), ("direction", "in")]),
            10.0
        );
        assert_eq!(
            series(&m, total, &[("carrier", "ws"), ("direction", "out")]),
            14.0
        );
        assert_eq!(
            series(&m, "venture_carrier_dropped_total", &[("carrier", "tcp")]),
            2.0
        );
        assert_eq!(
            series(&m, "venture_cap_hits_total", &[("cap", "http_connections")]),
            6.0
        );
        assert_eq!(series(&m, "venture_players", &[]), 4.0);
        assert_eq!(series(&m, "venture_spectators", &[]), 2.0);
        assert_eq!(
            series(&m, "venture_connections", &[("state", "pending")]),
            1.0
        );
        assert_eq!(
            series(&m, "venture_connections", &[("state", "connected")]),
            3.0
        );
        assert_eq!(series(&m, "venture_secure_sessions", &[]), 6.0);
        assert_eq!(
            series(&m, "venture_carrier_players", &[("carrier", "udp")]),
            3.0
        );
        assert_eq!(
            series(&m, "venture_carrier_connections", &[("carrier", "tcp")]),
            1.0
        );
    }

    #[test]
    fn every_drop_reason_is_its_own_series_and_all_are_transport() {
        let mut m = Metrics::new("0.1.0", "unknown");
        let mut c = m.register_collector();
        // LayerStats counts drops itself (no public setter): read a real layer's.
        let mut r = Readings::default();
        let mut responder = venture_net::secure::responder::Responder::new(
            venture_net::secure::StaticKeypair::generate().expect("key"),
            [7; 16],
            8,
        );
        let from = venture_net::carrier::Remote::udp("127.0.0.1:9".parse().expect("addr"));
        for junk in [&[0u8; 3][..], &[0xff; 40][..]] {
            responder.handle(std::time::Duration::ZERO, from, junk);
        }
        r.layer = responder.stats();
        assert!(r.layer.dropped_total() >= 2, "{:?}", r.layer);
        c.collect(r);
        let transport = series(
            &m,
            "venture_invalid_datagrams_total",
            &[("reason", "transport")],
        );
        assert_eq!(transport, r.layer.dropped_total() as f64);
        let mut sum = 0.0;
        for reason in DropReason::ALL {
            let v = series(
                &m,
                "venture_datagrams_dropped_total",
                &[("reason", reason.as_str())],
            );
            assert_eq!(v, r.layer.dropped(reason) as f64, "{reason:?}");
            sum += v;
        }
        assert_eq!(sum, transport);
    }

    #[test]
    fn a_replaced_session_counts_on_from_its_own_zero() {
        let mut m = Metrics::new("0.1.0", "unknown");
        let mut c = m.register_collector();
        c.collect(readings(5));
        assert_eq!(m.late_inputs.get(), 15);
        // The new session has counted 2 late inputs: fewer than the old one's 15.
        c.session_replaced();
        let mut r = readings(5);
        r.session.late_inputs = 2;
        c.collect(r);
        assert_eq!(m.late_inputs.get(), 17);
        assert_eq!(m.datagrams_in.get(), 75, "the carriers were not replaced");
    }

    #[test]
    fn substitutions_show_every_slot_from_the_start_and_only_grow() {
        let mut m = Metrics::new("0.1.0", "unknown");
        let mut c = m.register_collector();
        let name = "venture_input_substitutions_total";
        c.substitutions(&[0, 0, 0]);
        for slot in ["0", "1", "2"] {
            assert_eq!(series(&m, name, &[("slot", slot)]), 0.0);
        }
        c.substitutions(&[4, 0, 1]);
        c.substitutions(&[4, 2, 1]);
        assert_eq!(series(&m, name, &[("slot", "0")]), 4.0);
        assert_eq!(series(&m, name, &[("slot", "1")]), 2.0);
        assert_eq!(series(&m, name, &[("slot", "2")]), 1.0);
    }
}
