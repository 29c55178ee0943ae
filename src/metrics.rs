//! The server's Prometheus metrics, served at `/metrics`.
//!
//! Built on the `prometheus-client` crate. [`Metrics::encode`] produces the
//! text exposition format (the OpenMetrics flavour that prometheus-client
//! writes and Prometheus scrapes: counters are exposed with a `_total`
//! suffix and the output ends with `# EOF`); serve it with
//! [`Metrics::CONTENT_TYPE`].
//!
//! All metric names start with `venture_`. Label values are bounded: the
//! helpers take `&'static str` for labels so callers pass fixed reasons and
//! cap names, never data from the network.
//!
//! The handles are cheap to clone (`Arc` inside) and atomic, so the event
//! loop updates them without locks; encoding reads a consistent-enough view.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// A label set of one label.
pub type Label1 = [(&'static str, &'static str); 1];
/// The build-info label set (`version`, `commit`).
pub type BuildLabels = [(&'static str, String); 2];

/// Connection states for [`Metrics::connections`].
pub const CONN_STATES: [&str; 2] = ["pending", "connected"];

/// Tick-duration buckets in seconds: 10 us to 100 ms.
pub const TICK_BUCKETS: [f64; 13] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1,
];

/// Save-duration buckets in seconds: 1 ms to 10 s.
pub const SAVE_BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0];

/// Every metric the server exports. Fields are public handles; the methods
/// are conveniences for the common updates.
pub struct Metrics {
    registry: Registry,
    /// `venture_tick_duration_seconds`: time to step the world and checksum it.
    pub tick_duration: Histogram,
    /// `venture_tick_overruns_total`: ticks that took longer than the tick period.
    pub tick_overruns: Counter,
    /// `venture_players`: players currently in the game.
    pub players: Gauge,
    /// `venture_connections{state}`: transport peers by state (pending, connected).
    pub connections: Family<Label1, Gauge>,
    /// `venture_datagrams_received_total`.
    pub datagrams_in: Counter,
    /// `venture_datagrams_sent_total`.
    pub datagrams_out: Counter,
    /// `venture_received_bytes_total` (UDP payload bytes).
    pub bytes_in: Counter,
    /// `venture_sent_bytes_total` (UDP payload bytes).
    pub bytes_out: Counter,
    /// `venture_invalid_datagrams_total{reason}`.
    pub invalid_datagrams: Family<Label1, Counter>,
    /// `venture_late_inputs_total`: inputs for ticks already stepped.
    pub late_inputs: Counter,
    /// `venture_desync_reports_total`.
    pub desync_reports: Counter,
    /// `venture_snapshots_sent_total`.
    pub snapshots_sent: Counter,
    /// `venture_save_duration_seconds`.
    pub save_duration: Histogram,
    /// `venture_save_failures_total`.
    pub save_failures: Counter,
    /// `venture_uptime_seconds`.
    pub uptime: Gauge<f64, AtomicU64>,
    /// `venture_cap_hits_total{cap}`: a bounded table or queue refused an entry.
    pub cap_hits: Family<Label1, Counter>,
    /// `venture_build_info{version,commit}`: always 1.
    pub build_info: Family<BuildLabels, Gauge>,
    /// `venture_persistence_ok`, `venture_persistence_lag_seconds`.
    pub persistence: PersistenceMetrics,
}

impl Metrics {
    /// Content type for the `/metrics` response.
    pub const CONTENT_TYPE: &'static str =
        "application/openmetrics-text; version=1.0.0; charset=utf-8";

    /// Create and register every metric. `version` and `commit` label
    /// `venture_build_info` (pass [`crate::cli::VERSION`] and
    /// [`crate::cli::GIT_COMMIT`]).
    pub fn new(version: &str, commit: &str) -> Self {
        let mut registry = Registry::with_prefix("venture");
        let tick_duration = Histogram::new(TICK_BUCKETS);
        registry.register(
            "tick_duration_seconds",
            "Time to step the world and checksum it, per tick",
            tick_duration.clone(),
        );
        let tick_overruns = Counter::default();
        registry.register(
            "tick_overruns",
            "Ticks whose work exceeded the tick period",
            tick_overruns.clone(),
        );
        let players = Gauge::default();
        registry.register("players", "Players currently in the game", players.clone());
        let connections = Family::<Label1, Gauge>::default();
        registry.register(
            "connections",
            "Transport peers by state (pending = not yet admitted)",
            connections.clone(),
        );
        // Make both states visible at 0 from the start.
        for state in CONN_STATES {
            connections.get_or_create(&[("state", state)]).set(0);
        }
        let datagrams_in = Counter::default();
        registry.register(
            "datagrams_received",
            "UDP datagrams received",
            datagrams_in.clone(),
        );
        let datagrams_out = Counter::default();
        registry.register(
            "datagrams_sent",
            "UDP datagrams sent",
            datagrams_out.clone(),
        );
        let bytes_in = Counter::default();
        registry.register(
            "received_bytes",
            "UDP payload bytes received",
            bytes_in.clone(),
        );
        let bytes_out = Counter::default();
        registry.register("sent_bytes", "UDP payload bytes sent", bytes_out.clone());
        let invalid_datagrams = Family::<Label1, Counter>::default();
        registry.register(
            "invalid_datagrams",
            "Datagrams dropped as invalid, by reason",
            invalid_datagrams.clone(),
        );
        let late_inputs = Counter::default();
        registry.register(
            "late_inputs",
            "Inputs that arrived for a tick already stepped",
            late_inputs.clone(),
        );
        let desync_reports = Counter::default();
        registry.register(
            "desync_reports",
            "Desync reports received from clients",
            desync_reports.clone(),
        );
        let snapshots_sent = Counter::default();
        registry.register(
            "snapshots_sent",
            "World snapshots sent to clients",
            snapshots_sent.clone(),
        );
        let save_duration = Histogram::new(SAVE_BUCKETS);
        registry.register(
            "save_duration_seconds",
            "Time to write a save atomically",
            save_duration.clone(),
        );
        let save_failures = Counter::default();
        registry.register("save_failures", "Saves that failed", save_failures.clone());
        let uptime = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "uptime_seconds",
            "Seconds since the server started",
            uptime.clone(),
        );
        let cap_hits = Family::<Label1, Counter>::default();
        registry.register(
            "cap_hits",
            "Times a bounded table or queue refused an entry, by cap",
            cap_hits.clone(),
        );
        let build_info = Family::<BuildLabels, Gauge>::default();
        registry.register(
            "build_info",
            "Build information; the value is always 1",
            build_info.clone(),
        );
        build_info
            .get_or_create(&[
                ("version", version.to_owned()),
                ("commit", commit.to_owned()),
            ])
            .set(1);
        let persistence = PersistenceMetrics::register(&mut registry);
        Metrics {
            registry,
            tick_duration,
            tick_overruns,
            players,
            connections,
            datagrams_in,
            datagrams_out,
            bytes_in,
            bytes_out,
            invalid_datagrams,
            late_inputs,
            desync_reports,
            snapshots_sent,
            save_duration,
            save_failures,
            uptime,
            cap_hits,
            build_info,
            persistence,
        }
    }

    /// Record one tick's duration, counting an overrun if it exceeded `period`.
    pub fn observe_tick(&self, took: Duration, period: Duration) {
        self.tick_duration.observe(took.as_secs_f64());
        if took > period {
            self.tick_overruns.inc();
        }
    }

    /// Set the connection gauges.
    pub fn set_connections(&self, pending: u64, connected: u64) {
        let g = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.connections
            .get_or_create(&[("state", "pending")])
            .set(g(pending));
        self.connections
            .get_or_create(&[("state", "connected")])
            .set(g(connected));
    }

    /// Count a received datagram of `bytes` payload bytes.
    pub fn datagram_in(&self, bytes: usize) {
        self.datagrams_in.inc();
        self.bytes_in.inc_by(bytes as u64);
    }

    /// Count a sent datagram of `bytes` payload bytes.
    pub fn datagram_out(&self, bytes: usize) {
        self.datagrams_out.inc();
        self.bytes_out.inc_by(bytes as u64);
    }

    /// Count an invalid datagram. `reason` must come from a fixed set.
    pub fn invalid_datagram(&self, reason: &'static str) {
        self.invalid_datagrams
            .get_or_create(&[("reason", reason)])
            .inc();
    }

    /// Count a refusal by a bounded table or queue. `cap` must come from a fixed set.
    pub fn cap_hit(&self, cap: &'static str) {
        self.cap_hits.get_or_create(&[("cap", cap)]).inc();
    }

    /// Record a save attempt.
    pub fn observe_save(&self, took: Duration, ok: bool) {
        self.save_duration.observe(took.as_secs_f64());
        if !ok {
            self.save_failures.inc();
        }
    }

    /// Set the uptime gauge.
    pub fn set_uptime(&self, up: Duration) {
        self.uptime.set(up.as_secs_f64());
    }

    /// The metrics in text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // Invariant: writing into a String never fails, and every metric we
        // register encodes without error.
        encode(&mut out, &self.registry).expect("encoding metrics into a String cannot fail");
        out
    }
}

// ---- persistence ------------------------------------------------------------------
// Whether saves and the session log are being written (src/server/durability.rs), and
// how far behind the last tick a kill -9 would recover is. Alert on
// `venture_persistence_ok == 0` or a lag over a few seconds.

/// The persistence gauges.
#[derive(Clone, Debug, Default)]
pub struct PersistenceMetrics {
    /// `venture_persistence_ok`: 1 while every save and session-log write succeeds.
    pub ok: Gauge,
    /// `venture_persistence_lag_seconds`: game time since the last durable tick.
    pub lag_seconds: Gauge<f64, AtomicU64>,
}

impl PersistenceMetrics {
    fn register(registry: &mut Registry) -> Self {
        let m = PersistenceMetrics::default();
        registry.register(
            "persistence_ok",
            "1 while saves and the session log are being written; 0 while writes fail (play goes on, retrying)",
            m.ok.clone(),
        );
        registry.register(
            "persistence_lag_seconds",
            "Game time since the last tick a kill -9 would recover (last log flush or save)",
            m.lag_seconds.clone(),
        );
        m.ok.set(1);
        m
    }

    /// Sets both gauges.
    pub fn set(&self, ok: bool, lag_seconds: f64) {
        self.ok.set(i64::from(ok));
        self.lag_seconds.set(lag_seconds);
    }
}
// ---- end persistence --------------------------------------------------------------

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_parse::{Scrape, Value};

    fn scrape(m: &Metrics) -> (String, Scrape) {
        let text = m.encode();
        let scrape =
            Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("metrics output parses");
        (text, scrape)
    }

    fn value(s: &Scrape, name: &str, label: Option<(&str, &str)>) -> f64 {
        let sample = s
            .samples
            .iter()
            .find(|x| x.metric == name && label.is_none_or(|(k, v)| x.labels.get(k) == Some(v)))
            .unwrap_or_else(|| panic!("no sample {name} {label:?}"));
        match &sample.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            other => panic!("{name}: unexpected {other:?}"),
        }
    }

    /// prometheus-parse is lenient (it skips lines it does not understand), so
    /// also check that every line is a comment or a well-formed sample.
    fn assert_strict_lines(text: &str) {
        assert!(text.ends_with("# EOF\n"), "{text}");
        for line in text.lines() {
            if let Some(c) = line.strip_prefix("# ") {
                assert!(
                    c.starts_with("HELP venture_")
                        || c.starts_with("TYPE venture_")
                        || c.starts_with("UNIT venture_")
                        || c == "EOF",
                    "{line}"
                );
                continue;
            }
            let (series, val) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
            assert!(series.starts_with("venture_"), "{line}");
            let name_end = series.find('{').unwrap_or(series.len());
            assert!(
                series[..name_end]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{line}"
            );
            if name_end < series.len() {
                assert!(series.ends_with('}'), "{line}");
            }
            assert!(val.parse::<f64>().is_ok() || val == "+Inf", "{line}");
        }
    }

    #[test]
    fn encodes_and_parses() {
        let m = Metrics::new("0.1.0", "abc123");
        let (text, s) = scrape(&m);
        assert_strict_lines(&text);
        assert_eq!(value(&s, "venture_tick_overruns_total", None), 0.0);
        assert_eq!(value(&s, "venture_players", None), 0.0);
        assert_eq!(
            value(&s, "venture_connections", Some(("state", "pending"))),
            0.0
        );
        assert_eq!(
            value(&s, "venture_connections", Some(("state", "connected"))),
            0.0
        );
        assert_eq!(
            value(&s, "venture_build_info", Some(("commit", "abc123"))),
            1.0
        );
        assert_eq!(
            value(&s, "venture_build_info", Some(("version", "0.1.0"))),
            1.0
        );
        for name in [
            "venture_datagrams_received_total",
            "venture_datagrams_sent_total",
            "venture_received_bytes_total",
            "venture_sent_bytes_total",
            "venture_late_inputs_total",
            "venture_desync_reports_total",
            "venture_snapshots_sent_total",
            "venture_save_failures_total",
            "venture_uptime_seconds",
        ] {
            assert_eq!(value(&s, name, None), 0.0, "{name}");
        }
        assert!(text.contains("# TYPE venture_tick_duration_seconds histogram"));
        assert!(
            text.contains("venture_tick_duration_seconds_bucket{le=\"0.00001\"} 0"),
            "{text}"
        );
    }

    #[test]
    fn counters_move() {
        let m = Metrics::new("0.1.0", "unknown");
        m.observe_tick(Duration::from_micros(40), Duration::from_millis(50));
        m.observe_tick(Duration::from_millis(60), Duration::from_millis(50));
        m.players.set(3);
        m.set_connections(2, 3);
        m.datagram_in(100);
        m.datagram_in(50);
        m.datagram_out(1200);
        m.invalid_datagram("bad_checksum");
        m.invalid_datagram("bad_checksum");
        m.invalid_datagram("too_short");
        m.late_inputs.inc();
        m.desync_reports.inc();
        m.snapshots_sent.inc_by(2);
        m.observe_save(Duration::from_millis(3), true);
        m.observe_save(Duration::from_millis(30), false);
        m.set_uptime(Duration::from_millis(1500));
        m.cap_hit("pending_peers");

        let (text, s) = scrape(&m);
        assert_strict_lines(&text);
        assert_eq!(value(&s, "venture_tick_overruns_total", None), 1.0);
        assert_eq!(value(&s, "venture_players", None), 3.0);
        assert_eq!(
            value(&s, "venture_connections", Some(("state", "pending"))),
            2.0
        );
        assert_eq!(
            value(&s, "venture_connections", Some(("state", "connected"))),
            3.0
        );
        assert_eq!(value(&s, "venture_datagrams_received_total", None), 2.0);
        assert_eq!(value(&s, "venture_received_bytes_total", None), 150.0);
        assert_eq!(value(&s, "venture_datagrams_sent_total", None), 1.0);
        assert_eq!(value(&s, "venture_sent_bytes_total", None), 1200.0);
        assert_eq!(
            value(
                &s,
                "venture_invalid_datagrams_total",
                Some(("reason", "bad_checksum"))
            ),
            2.0
        );
        assert_eq!(
            value(
                &s,
                "venture_invalid_datagrams_total",
                Some(("reason", "too_short"))
            ),
            1.0
        );
        assert_eq!(value(&s, "venture_late_inputs_total", None), 1.0);
        assert_eq!(value(&s, "venture_desync_reports_total", None), 1.0);
        assert_eq!(value(&s, "venture_snapshots_sent_total", None), 2.0);
        assert_eq!(value(&s, "venture_save_failures_total", None), 1.0);
        assert_eq!(value(&s, "venture_uptime_seconds", None), 1.5);
        assert_eq!(
            value(&s, "venture_cap_hits_total", Some(("cap", "pending_peers"))),
            1.0
        );

        // Histograms: prometheus-parse folds the buckets into one sample.
        let tick = s
            .samples
            .iter()
            .find(|x| x.metric == "venture_tick_duration_seconds")
            .expect("tick histogram sample");
        match &tick.value {
            Value::Histogram(buckets) => {
                let le = |bound: f64| {
                    buckets
                        .iter()
                        .find(|b| b.less_than == bound || (b.less_than - bound).abs() < 1e-12)
                        .map(|b| b.count)
                };
                assert_eq!(le(0.000_05), Some(1.0));
                assert_eq!(le(0.05), Some(1.0));
                assert_eq!(le(0.1), Some(2.0));
                assert_eq!(le(f64::INFINITY), Some(2.0));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(value(&s, "venture_tick_duration_seconds_count", None), 2.0);
        assert_eq!(value(&s, "venture_save_duration_seconds_count", None), 2.0);
    }
}
