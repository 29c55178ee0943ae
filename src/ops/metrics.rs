//! The server's Prometheus metrics, served at `/metrics`.
//!
//! Built on the `prometheus-client` crate. [`Metrics::encode_as`] writes either
//! OpenMetrics text or the Prometheus text format 0.0.4, chosen from the scraper's
//! `Accept` header by [`exposition::negotiate`].
//!
//! The game's metric names start with `venture_`; the standard `process_*` family comes
//! from [`process::ProcessCollector`]. Label values are bounded: the helpers take
//! `&'static str` for labels so callers pass fixed reasons and cap names, never data from
//! the network, and per-player series are labelled by slot (at most `-max-players` of
//! them), never by name or address.
//!
//! The handles are cheap to clone (`Arc` inside) and atomic, so the event
//! loop updates them without locks; encoding reads a consistent-enough view.
//!
//! * [`collect`]: the series fed from the stats types of the server's parts, one line each;
//! * [`carriers`]: the per-carrier families;
//! * [`exposition`]: `Accept` negotiation, OpenMetrics to Prometheus text 0.0.4;
//! * [`process`]: the `process_*` family and the cgroup memory limit.

pub mod carriers;
pub mod collect;
pub mod exposition;
pub mod process;

use exposition::Format;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::Duration;
use venture_net::protocol::SnapshotReason;
use venture_net::server::{PlayerLink, SlotTraffic};
use venture_sim::{Frame, PlayerInput};

/// A label set of one label.
pub type Label1 = [(&'static str, &'static str); 1];
/// The build-info label set (`version`, `commit`).
pub type BuildLabels = [(&'static str, String); 2];
/// The label set of per-player series: the slot number.
pub type PlayerSlotLabel = [(&'static str, u8); 1];

/// Reasons the server reports to [`Metrics::invalid_datagram`]: dropped by the transport
/// (not laminar framing), undecodable or out of place, wrong version.
pub const INVALID_REASONS: [&str; 3] = ["transport", "protocol", "version"];

/// Caps reported to [`Metrics::cap_hits`]: the HTTP connection table. (The session's
/// stranger table went with protocol 6: the secure layer admits before laminar; its own
/// bound shows as `venture_datagrams_dropped_total{reason="busy"}`.)
pub const KNOWN_CAPS: [&str; 1] = ["http_connections"];

/// Resync reasons for [`Metrics::resyncs`] (a join's first snapshot is not a resync).
pub const RESYNC_REASONS: [&str; 2] = ["desync", "fell_behind"];

/// What `venture_server_info` says about the running world, and the bounds of the
/// per-player series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerInfo {
    pub seed: i64,
    pub genre: String,
    pub max_players: u32,
    pub tick_rate: u32,
    pub sim_version: u32,
    pub protocol_version: u16,
}

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
    /// `venture_spectators`: spectators watching (apart from players).
    pub spectators: Gauge,
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
    /// `venture_datagrams_dropped_total{reason}`: dropped by the secure layer before any
    /// decoding (forged, replayed, truncated, ...; see `venture_net::secure::DropReason`).
    pub datagrams_dropped: Family<Label1, Counter>,
    /// `venture_secure_handshakes_total`: secure layer handshakes completed.
    pub secure_handshakes: Counter,
    /// `venture_secure_sessions`: secure layer sessions held.
    pub secure_sessions: Gauge,
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
    /// `venture_max_players`: the `-max-players` in force.
    pub max_players: Gauge,
    /// `venture_target_ticks_per_second`: the `-tick-rate` in force.
    pub target_tick_rate: Gauge,
    /// `venture_resyncs_total{reason}`: snapshots sent to players already in the game.
    pub resyncs: Family<Label1, Counter>,
    /// `venture_player_rtt_seconds{slot}`: frame-to-ack round trip of a connected player.
    pub player_rtt: Family<PlayerSlotLabel, Gauge<f64, AtomicU64>>,
    /// `venture_player_input_lead_seconds{slot}`: how early the player's inputs arrive.
    pub player_input_lead: Family<PlayerSlotLabel, Gauge<f64, AtomicU64>>,
    /// `venture_player_late_inputs_total{slot}`.
    pub player_late_inputs: Family<PlayerSlotLabel, Counter>,
    /// `venture_player_sent_bytes_total{slot}` (UDP payload bytes to the slot's player).
    pub player_sent_bytes: Family<PlayerSlotLabel, Counter>,
    /// `venture_player_received_bytes_total{slot}`.
    pub player_received_bytes: Family<PlayerSlotLabel, Counter>,
    /// `venture_input_changes_total{slot}`: confirmed inputs that differ from the slot's
    /// previous one. Clients predict other players by repeating their last input, so each
    /// change makes every other client that predicted past that tick roll back.
    pub input_changes: Family<PlayerSlotLabel, Counter>,
    /// `venture_http_connections_evicted_total`: idle or incomplete HTTP connections
    /// closed to make room for a new one at the connection cap.
    pub http_evictions: Counter,
    /// The previous frame's inputs, for [`Metrics::observe_frame`].
    last_inputs: Mutex<Vec<PlayerInput>>,
    /// The `process_*` family (unprefixed).
    process: Registry,
    version: String,
    commit: String,
    /// `venture_persistence_ok`, `venture_persistence_lag_seconds`.
    pub persistence: PersistenceMetrics,
}

impl Metrics {
    /// Create and register every metric. `version` and `commit` label
    /// `venture_build_info` (pass [`crate::ops::cli::VERSION`] and
    /// [`crate::ops::cli::GIT_COMMIT`]).
    pub fn new(version: &str, commit: &str) -> Self {
        let mut registry = Registry::with_prefix("venture");
        let r = &mut registry;
        // Fields are evaluated in the order written: that is the registration order, and
        // so the order of the families in the exposition. One line per metric: its field,
        // name and help (rustfmt would spread each over five).
        #[rustfmt::skip]
        let m = Metrics {
            tick_duration: reg(r, "tick_duration_seconds", "Time to step the world and checksum it, per tick", Histogram::new(TICK_BUCKETS)),
            tick_overruns: reg(r, "tick_overruns", "Ticks whose work exceeded the tick period", Counter::default()),
            players: reg(r, "players", "Players currently in the game", Gauge::default()),
            spectators: reg(r, "spectators", "Spectators watching the game (they hold no player slot)", Gauge::default()),
            connections: reg(r, "connections", "Transport peers by state (pending = not yet admitted)", Family::default()),
            datagrams_in: reg(r, "datagrams_received", "UDP datagrams received", Counter::default()),
            datagrams_out: reg(r, "datagrams_sent", "UDP datagrams sent", Counter::default()),
            bytes_in: reg(r, "received_bytes", "UDP payload bytes received", Counter::default()),
            bytes_out: reg(r, "sent_bytes", "UDP payload bytes sent", Counter::default()),
            invalid_datagrams: reg(r, "invalid_datagrams", "Datagrams dropped as invalid, by reason", Family::default()),
            late_inputs: reg(r, "late_inputs", "Inputs that arrived for a tick already stepped", Counter::default()),
            datagrams_dropped: reg(r, "datagrams_dropped", "Datagrams the secure layer dropped before any decoding, by reason", Family::default()),
            secure_handshakes: reg(r, "secure_handshakes", "Secure layer handshakes completed", Counter::default()),
            secure_sessions: reg(r, "secure_sessions", "Secure layer sessions held (peers that completed a handshake)", Gauge::default()),
            desync_reports: reg(r, "desync_reports", "Desync reports received from clients", Counter::default()),
            snapshots_sent: reg(r, "snapshots_sent", "World snapshots sent to clients", Counter::default()),
            save_duration: reg(r, "save_duration_seconds", "Time to write a save atomically", Histogram::new(SAVE_BUCKETS)),
            save_failures: reg(r, "save_failures", "Saves that failed", Counter::default()),
            uptime: reg(r, "uptime_seconds", "Seconds since the server started", Gauge::default()),
            cap_hits: reg(r, "cap_hits", "Times a bounded table or queue refused an entry, by cap", Family::default()),
            build_info: reg(r, "build_info", "Build information; the value is always 1", Family::default()),
            max_players: reg(r, "max_players", "Most players admitted at once (-max-players)", Gauge::default()),
            target_tick_rate: reg(r, "target_ticks_per_second", "Ticks per second the loop is scheduled to close (-tick-rate)", Gauge::default()),
            resyncs: reg(r, "resyncs", "Snapshots sent to players already in the game, by reason (desync, fell_behind)", Family::default()),
            player_rtt: reg(r, "player_rtt_seconds", "Round trip from a tick's frame going out to the player's ack of it arriving (windowed minimum; includes up to one client tick), by slot", Family::default()),
            player_input_lead: reg(r, "player_input_lead_seconds", "How early the player's newest input arrived before its tick closed, worst over the last tick (negative: late), by slot", Family::default()),
            player_late_inputs: reg(r, "player_late_inputs", "Inputs that arrived after their tick had closed, by slot", Family::default()),
            player_sent_bytes: reg(r, "player_sent_bytes", "UDP payload bytes sent to the player in a slot", Family::default()),
            player_received_bytes: reg(r, "player_received_bytes", "UDP payload bytes received from the player in a slot", Family::default()),
            input_changes: reg(r, "input_changes", "Confirmed inputs that differ from the slot's previous one: each makes the other clients that predicted past it roll back, by slot", Family::default()),
            http_evictions: reg(r, "http_connections_evicted", "Idle or incomplete HTTP connections closed to make room for a new one at the connection cap", Counter::default()),
            persistence: {
                r.register_collector(Box::new(ErrorLogCollector));
                PersistenceMetrics::register(r)
            },
            last_inputs: Mutex::new(Vec::new()),
            process: {
                let mut process = Registry::default();
                process.register_collector(Box::new(process::ProcessCollector));
                process
            },
            version: version.to_owned(),
            commit: commit.to_owned(),
            registry,
        };
        // Series visible at 0 from the start (others appear when first counted): both
        // connection states, every reason, the caps known today.
        for state in CONN_STATES {
            m.connections.get_or_create(&[("state", state)]).set(0);
        }
        for reason in INVALID_REASONS {
            let _ = m.invalid_datagrams.get_or_create(&[("reason", reason)]);
        }
        for reason in venture_net::secure::DropReason::ALL {
            let _ = m
                .datagrams_dropped
                .get_or_create(&[("reason", reason.as_str())]);
        }
        for cap in KNOWN_CAPS {
            let _ = m.cap_hits.get_or_create(&[("cap", cap)]);
        }
        for reason in RESYNC_REASONS {
            let _ = m.resyncs.get_or_create(&[("reason", reason)]);
        }
        m.build_info
            .get_or_create(&[
                ("version", version.to_owned()),
                ("commit", commit.to_owned()),
            ])
            .set(1);
        m
    }

    /// Register `venture_server_info` and the configuration gauges, and make every slot's
    /// counters visible at 0 (so the per-player series exist before anyone joins and never
    /// outnumber the slots). Call once, right after [`Metrics::new`].
    pub fn describe_server(&mut self, info: &ServerInfo) {
        let labels = vec![
            ("seed".to_string(), info.seed.to_string()),
            ("genre".to_string(), info.genre.clone()),
            ("version".to_string(), self.version.clone()),
            ("commit".to_string(), self.commit.clone()),
            ("sim_version".to_string(), info.sim_version.to_string()),
            (
                "protocol_version".to_string(),
                info.protocol_version.to_string(),
            ),
        ];
        self.registry.register(
            "server",
            "The running world and build; the value is always 1",
            Info::new(labels),
        );
        self.max_players.set(i64::from(info.max_players));
        self.target_tick_rate.set(i64::from(info.tick_rate));
        for slot in 0..info.max_players.min(u32::from(u8::MAX) + 1) {
            let label = [("slot", slot as u8)];
            for family in [
                &self.player_late_inputs,
                &self.player_sent_bytes,
                &self.player_received_bytes,
                &self.input_changes,
            ] {
                let _ = family.get_or_create(&label);
            }
        }
    }

    /// Bring the per-player series up to date: counters from the session's per-slot
    /// traffic (which only grows), gauges for connected players, and no gauge for an
    /// empty slot (a stale round trip would mislead).
    pub fn sync_players(
        &self,
        traffic: &[SlotTraffic],
        links: impl Iterator<Item = PlayerLink>,
        tick_interval: Duration,
    ) {
        let catch_up = |c: &Counter, total: u64| {
            let seen = c.get();
            if total > seen {
                c.inc_by(total - seen);
            }
        };
        for (slot, t) in traffic.iter().enumerate() {
            let Ok(slot) = u8::try_from(slot) else { break };
            let label = [("slot", slot)];
            catch_up(&self.player_sent_bytes.get_or_create(&label), t.bytes_out);
            catch_up(
                &self.player_received_bytes.get_or_create(&label),
                t.bytes_in,
            );
            catch_up(
                &self.player_late_inputs.get_or_create(&label),
                t.late_inputs,
            );
        }
        let mut connected = vec![false; traffic.len()];
        for link in links {
            let label = [("slot", link.slot)];
            if let Some(c) = connected.get_mut(link.slot as usize) {
                *c = true;
            }
            match link.rtt {
                Some(rtt) => {
                    self.player_rtt.get_or_create(&label).set(rtt.as_secs_f64());
                }
                None => {
                    self.player_rtt.remove(&label);
                }
            }
            let lead = f64::from(link.input_lead_ticks) * tick_interval.as_secs_f64();
            self.player_input_lead.get_or_create(&label).set(lead);
        }
        for (slot, _) in connected.iter().enumerate().filter(|(_, c)| !**c) {
            let Ok(slot) = u8::try_from(slot) else { break };
            self.player_rtt.remove(&[("slot", slot)]);
            self.player_input_lead.remove(&[("slot", slot)]);
        }
    }

    /// Count the slots whose input in this confirmed frame differs from the previous one.
    pub fn observe_frame(&self, frame: &Frame) {
        // A poisoned lock only means a panic elsewhere mid-update; the inputs are still usable.
        let mut last = self.last_inputs.lock().unwrap_or_else(|e| e.into_inner());
        let slots = frame.inputs.len().max(last.len());
        for slot in 0..slots {
            let now = frame.input(slot);
            let before = last.get(slot).copied().unwrap_or(PlayerInput::IDLE);
            if now != before {
                if let Ok(s) = u8::try_from(slot) {
                    self.input_changes.get_or_create(&[("slot", s)]).inc();
                }
            }
        }
        last.clear();
        last.extend((0..frame.inputs.len()).map(|s| frame.input(s)));
    }

    /// Count a snapshot sent to a player; a join's first one is not a resync.
    pub fn observe_snapshot(&self, reason: &SnapshotReason) {
        self.snapshots_sent.inc();
        let reason = match reason {
            SnapshotReason::Join => return,
            SnapshotReason::Desync { .. } => "desync",
            SnapshotReason::FellBehind => "fell_behind",
        };
        self.resyncs.get_or_create(&[("reason", reason)]).inc();
    }

    /// Record one tick's duration, counting an overrun if it exceeded `period`.
    pub fn observe_tick(&self, took: Duration, period: Duration) {
        self.tick_duration.observe(took.as_secs_f64());
        if took > period {
            self.tick_overruns.inc();
        }
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

    /// The metrics as OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Invariant: writing into a String never fails, and every metric we
        // register encodes without error.
        encode_registry(&mut out, &self.process)
            .and_then(|()| encode_registry(&mut out, &self.registry))
            .and_then(|()| encode_eof(&mut out))
            .expect("encoding metrics into a String cannot fail");
        out
    }

    /// The metrics in the given exposition format.
    pub fn encode_as(&self, format: Format) -> String {
        match format {
            Format::OpenMetrics => self.encode(),
            Format::Text004 => exposition::openmetrics_to_text004(&self.encode()),
        }
    }
}

/// Registers `metric` under `name` with `help` and returns the handle (a clone shares the
/// value).
fn reg<M: prometheus_client::registry::Metric + Clone>(
    registry: &mut Registry,
    name: &str,
    help: &str,
    metric: M,
) -> M {
    registry.register(name, help, metric.clone());
    metric
}

/// Input substitutions (`venture_input_substitutions_total{slot}`): ticks the server
/// filled with a repeat of a player's last input because none had arrived in time. The
/// `slot` label is bounded by `-max-players`, never a name or an address.
pub type SlotLabel = [(&'static str, String); 1];

impl Metrics {
    /// Registers the series a serving primary feeds from its parts' stats
    /// (`venture_input_substitutions_total{slot}`, then the per-carrier series of
    /// [`carriers`]) and returns the [`collect::Collector`] that feeds them and the
    /// counters and gauges above from [`collect::Readings`].
    pub fn register_collector(&mut self) -> collect::Collector {
        let substitutions = Family::<SlotLabel, Counter>::default();
        self.registry.register(
            "input_substitutions",
            "Ticks filled with a repeated input because the player's input had not arrived, by slot",
            substitutions.clone(),
        );
        let carriers = carriers::CarrierMetrics::register(&mut self.registry);
        collect::Collector::new(self, &carriers, substitutions)
    }
}

/// The hot-standby pair, on both sides: `venture_role{role}` (1 for this process's role:
/// `primary` or `standby`), and the follower's lag behind the primary in ticks and seconds
/// (on the primary: its most lagging follower, measured by acks; on the standby: the
/// newest frame seen minus the newest applied) and how many followers the primary has.
#[derive(Clone, Debug, Default)]
pub struct StandbyMetrics {
    pub role: Family<Label1, Gauge>,
    pub followers: Gauge,
    pub lag_ticks: Gauge,
    pub lag_seconds: Gauge<f64, AtomicU64>,
    /// On a standby: seconds since the primary was last heard.
    pub primary_silence_seconds: Gauge<f64, AtomicU64>,
}

/// The values of `venture_role`.
pub const ROLES: [&str; 2] = ["primary", "standby"];

impl StandbyMetrics {
    /// Sets `venture_role`: 1 for `role`, 0 for the other.
    pub fn set_role(&self, role: &'static str) {
        for r in ROLES {
            self.role
                .get_or_create(&[("role", r)])
                .set(i64::from(r == role));
        }
    }

    /// Sets both lag gauges from ticks at `tick_rate`.
    pub fn set_lag(&self, ticks: u64, tick_rate: u32) {
        self.lag_ticks.set(i64::try_from(ticks).unwrap_or(i64::MAX));
        self.lag_seconds
            .set(ticks as f64 / f64::from(tick_rate.max(1)));
    }
}

impl Metrics {
    /// Registers the standby pair's series ([`StandbyMetrics`]).
    pub fn register_standby(&mut self) -> StandbyMetrics {
        let r = &mut self.registry;
        #[rustfmt::skip]
        let m = StandbyMetrics {
            role: reg(r, "role", "1 for this process's role in a primary/standby pair (primary or standby)", Family::default()),
            followers: reg(r, "followers", "Hot standbys following this primary", Gauge::default()),
            lag_ticks: reg(r, "follower_lag_ticks", "Confirmed ticks the follower is behind the primary (primary: the most lagging follower's ack; standby: newest frame seen minus newest applied)", Gauge::default()),
            lag_seconds: reg(r, "follower_lag_seconds", "venture_follower_lag_ticks in seconds of game time", Gauge::default()),
            primary_silence_seconds: reg(r, "standby_primary_silence_seconds", "On a standby: seconds since the primary was last heard (it takes over at -takeover-after)", Gauge::default()),
        };
        m
    }
}

/// `venture_errors_total`: records logged at error or fatal level, read from the logger's
/// own count at scrape time (the guide's "error rate" alert).
#[derive(Debug)]
struct ErrorLogCollector;

impl Collector for ErrorLogCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let c = ConstCounter::new(crate::ops::logging::error_records());
        let m = encoder.encode_descriptor(
            "errors",
            "Records logged at error or fatal level.",
            None,
            c.metric_type(),
        )?;
        c.encode(m)
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
    fn register(r: &mut Registry) -> Self {
        #[rustfmt::skip]
        let m = PersistenceMetrics {
            ok: reg(r, "persistence_ok", "1 while saves and the session log are being written; 0 while writes fail (play goes on, retrying)", Gauge::default()),
            lag_seconds: reg(r, "persistence_lag_seconds", "Game time since the last tick a kill -9 would recover (last log flush or save)", Gauge::default()),
        };
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
            let ours = |name: &str| name.starts_with("venture_") || name.starts_with("process_");
            if let Some(c) = line.strip_prefix("# ") {
                let named = ["HELP ", "TYPE ", "UNIT "]
                    .iter()
                    .any(|k| c.strip_prefix(k).is_some_and(ours));
                assert!(named || c == "EOF", "{line}");
                continue;
            }
            let (series, val) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
            assert!(ours(series), "{line}");
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

    fn described() -> Metrics {
        let mut m = Metrics::new("0.1.0", "abc123");
        m.describe_server(&ServerInfo {
            seed: 12345,
            genre: "scifi".into(),
            max_players: 3,
            tick_rate: 20,
            sim_version: 3,
            protocol_version: 2,
        });
        m
    }

    /// Every family in 0.0.4 text: its samples carry the family's name (plus `_bucket`,
    /// `_sum`, `_count` for histograms), and it has both HELP and TYPE, counters named
    /// `..._total` in both.
    fn assert_text004_families(text: &str) {
        assert!(
            !text.contains("# EOF") && !text.contains("# UNIT"),
            "{text}"
        );
        let mut help = std::collections::BTreeSet::new();
        let mut types = std::collections::BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, h) = rest.split_once(' ').expect("help text");
                assert!(!h.is_empty(), "{line}");
                help.insert(name.to_string());
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, t) = rest.split_once(' ').expect("type");
                if t == "counter" {
                    assert!(name.ends_with("_total"), "{line}");
                }
                types.insert(name.to_string(), t.to_string());
            }
        }
        assert_eq!(
            help,
            types.keys().cloned().collect(),
            "HELP and TYPE pair up"
        );
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = &line[..line.find(['{', ' ']).expect("sample")];
            let family = types.keys().find(|f| {
                name == f.as_str()
                    || (types[*f] == "histogram"
                        && ["_bucket", "_sum", "_count"]
                            .iter()
                            .any(|s| name.strip_suffix(s) == Some(f.as_str())))
            });
            assert!(family.is_some(), "sample without a family: {line}");
        }
    }

    #[test]
    fn text004_is_what_the_linters_want() {
        let m = described();
        m.observe_tick(Duration::from_micros(40), Duration::from_millis(50));
        m.invalid_datagram("bad_checksum");
        let text = m.encode_as(Format::Text004);
        assert_text004_families(&text);
        assert!(
            text.contains("# HELP venture_tick_overruns_total Ticks whose work"),
            "{text}"
        );
        assert!(text.contains("# TYPE venture_server_info gauge"), "{text}");
        assert!(
            text.contains("# TYPE process_cpu_seconds_total counter"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE venture_errors_total counter"),
            "{text}"
        );
        let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parses");
        assert!(value(&scrape, "process_resident_memory_bytes", None) > 0.0);
        assert!(value(&scrape, "process_max_fds", None) > 0.0);
        assert!(value(&scrape, "process_open_fds", None) > 0.0);
        assert!(value(&scrape, "process_start_time_seconds", None) > 1.6e9);
        assert!(value(&scrape, "venture_memory_limit_bytes", None) > 0.0);
        value(&scrape, "process_cpu_seconds_total", None);
        // OpenMetrics keeps its own conventions.
        let om = m.encode_as(Format::OpenMetrics);
        assert!(om.ends_with("# EOF\n"));
        assert!(om.contains("# TYPE venture_tick_overruns counter"), "{om}");
        assert!(om.contains("# TYPE venture_server info"), "{om}");
    }

    #[test]
    fn server_info_and_bounded_slots() {
        let m = described();
        let (_, s) = scrape(&m);
        let info = s
            .samples
            .iter()
            .find(|x| x.metric == "venture_server_info")
            .expect("server info");
        for (k, v) in [
            ("seed", "12345"),
            ("genre", "scifi"),
            ("version", "0.1.0"),
            ("commit", "abc123"),
            ("sim_version", "3"),
            ("protocol_version", "2"),
        ] {
            assert_eq!(info.labels.get(k), Some(v), "{k}: {:?}", info.labels);
        }
        assert_eq!(value(&s, "venture_max_players", None), 3.0);
        assert_eq!(value(&s, "venture_target_ticks_per_second", None), 20.0);
        for name in [
            "venture_player_sent_bytes_total",
            "venture_player_received_bytes_total",
            "venture_player_late_inputs_total",
            "venture_input_changes_total",
        ] {
            let mut slots: Vec<&str> = s
                .samples
                .iter()
                .filter(|x| x.metric == name)
                .map(|x| x.labels.get("slot").expect("slot label"))
                .collect();
            slots.sort_unstable();
            assert_eq!(slots, ["0", "1", "2"], "{name}");
        }
        for reason in RESYNC_REASONS {
            assert_eq!(
                value(&s, "venture_resyncs_total", Some(("reason", reason))),
                0.0
            );
        }
    }

    #[test]
    fn players_frames_and_snapshots() {
        let m = described();
        let traffic = [
            SlotTraffic {
                bytes_in: 100,
                bytes_out: 2000,
                late_inputs: 1,
            },
            SlotTraffic::default(),
            SlotTraffic {
                bytes_in: 7,
                bytes_out: 9,
                late_inputs: 0,
            },
        ];
        let links = [
            PlayerLink {
                slot: 0,
                rtt: Some(Duration::from_millis(120)),
                input_lead_ticks: 2,
                syncing: false,
            },
            PlayerLink {
                slot: 2,
                rtt: None,
                input_lead_ticks: -1,
                syncing: true,
            },
        ];
        m.sync_players(&traffic, links.into_iter(), Duration::from_millis(50));
        // Syncing again with the same totals adds nothing.
        m.sync_players(&traffic, links.into_iter(), Duration::from_millis(50));
        let (text, s) = scrape(&m);
        assert_strict_lines(&text);
        let slot = |name: &str, slot: &str| value(&s, name, Some(("slot", slot)));
        assert_eq!(slot("venture_player_sent_bytes_total", "0"), 2000.0);
        assert_eq!(slot("venture_player_received_bytes_total", "0"), 100.0);
        assert_eq!(slot("venture_player_late_inputs_total", "0"), 1.0);
        assert_eq!(slot("venture_player_sent_bytes_total", "2"), 9.0);
        assert_eq!(slot("venture_player_rtt_seconds", "0"), 0.12);
        assert!((slot("venture_player_input_lead_seconds", "0") - 0.1).abs() < 1e-9);
        assert!((slot("venture_player_input_lead_seconds", "2") + 0.05).abs() < 1e-9);
        let rtt_slots = s
            .samples
            .iter()
            .filter(|x| x.metric == "venture_player_rtt_seconds")
            .count();
        assert_eq!(rtt_slots, 1, "no round trip measured for slot 2 yet");

        // Slot 0 leaves: its gauges go, its counters stay.
        m.sync_players(
            &traffic,
            links[1..].iter().copied(),
            Duration::from_millis(50),
        );
        let (_, s) = scrape(&m);
        assert!(!s
            .samples
            .iter()
            .any(|x| x.metric.starts_with("venture_player_")
                && x.metric.ends_with("_seconds")
                && x.labels.get("slot") == Some("0")));
        assert_eq!(
            value(&s, "venture_player_sent_bytes_total", Some(("slot", "0"))),
            2000.0
        );

        let input = |move_x: i8| PlayerInput {
            move_x,
            ..PlayerInput::IDLE
        };
        let frame = |tick: u64, inputs: &[PlayerInput]| {
            let mut f = Frame::new(tick);
            for (i, x) in inputs.iter().enumerate() {
                f.set_input(i, *x);
            }
            f
        };
        m.observe_frame(&frame(1, &[input(1), PlayerInput::IDLE]));
        m.observe_frame(&frame(2, &[input(1), input(3)]));
        m.observe_frame(&frame(3, &[input(2), input(3)]));
        m.observe_frame(&frame(4, &[]));
        let (_, s) = scrape(&m);
        assert_eq!(
            value(&s, "venture_input_changes_total", Some(("slot", "0"))),
            3.0
        );
        assert_eq!(
            value(&s, "venture_input_changes_total", Some(("slot", "1"))),
            2.0
        );

        m.observe_snapshot(&SnapshotReason::Join);
        m.observe_snapshot(&SnapshotReason::FellBehind);
        m.observe_snapshot(&SnapshotReason::Desync {
            tick: 5,
            client_checksum: 1,
            server_checksum: 2,
        });
        let (_, s) = scrape(&m);
        assert_eq!(value(&s, "venture_snapshots_sent_total", None), 3.0);
        assert_eq!(
            value(&s, "venture_resyncs_total", Some(("reason", "desync"))),
            1.0
        );
        assert_eq!(
            value(&s, "venture_resyncs_total", Some(("reason", "fell_behind"))),
            1.0
        );
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
        m.connections.get_or_create(&[("state", "pending")]).set(2);
        m.connections
            .get_or_create(&[("state", "connected")])
            .set(3);
        m.datagrams_in.inc_by(2);
        m.bytes_in.inc_by(150);
        m.datagrams_out.inc();
        m.bytes_out.inc_by(1200);
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
