//! Every loop turn, the metrics from the server's parts: their stats read into one
//! [`Readings`] for the [`Collector`](crate::ops::metrics::collect::Collector), then what
//! only the server knows (per-slot series, the standby pair, uptime, persistence). Also the
//! one log line per episode of the HTTP connection cap.

use std::time::Instant;

use venture_net::carrier::CarrierKind;

use super::ServerApp;
use crate::ops::metrics::collect::Readings;

impl ServerApp {
    /// What the parts counted and hold now.
    fn readings(&self) -> Readings {
        let session = &self.driver.session;
        let mut carriers = [Default::default(); 3];
        let mut carrier_players = [0; 3];
        let mut carrier_connections = [0; 3];
        for kind in CarrierKind::ALL {
            let k = kind.index();
            carriers[k] = self.driver.carrier_stats(kind);
            carrier_players[k] = session
                .players()
                .filter(|(_, _, r)| r.carrier == kind)
                .count() as u64;
            carrier_connections[k] = self.driver.carrier().second.count(kind) as u64;
        }
        Readings {
            session: session.stats(),
            layer: self.driver.layer_stats(),
            carriers,
            http: self.http.counters(),
            players: session.player_count() as u64,
            syncing: session.syncing_count() as u64,
            spectators: session.spectator_count() as u64,
            secure_peers: self.driver.secure_peers() as u64,
            carrier_players,
            carrier_connections,
        }
    }

    pub(super) fn sync_metrics(&mut self) {
        let readings = self.readings();
        // The HTTP connection cap: counted on every eviction or refusal (the collector),
        // logged once per episode.
        let refused = |r: &Readings| r.http.rejected_over_cap + r.http.evicted;
        if refused(&readings) > refused(self.collector.last()) {
            if !self.http_cap_logged {
                self.http_cap_logged = true;
                log::warn!(target: "venture::http", component = "http", cap = self.http.limits().max_connections; "HTTP connection cap reached; the oldest idle or incomplete connections are evicted to make room");
            }
        } else if self.http.open_connections() < self.http.limits().max_connections / 2 {
            self.http_cap_logged = false;
        }
        self.collector.collect(readings);
        let session = &self.driver.session;
        self.collector
            .substitutions(session.substitutions_by_slot());
        let tick = session.world().tick();
        let lag = session
            .followers()
            .map(|f| tick.saturating_sub(f.acked))
            .max();
        self.standby_metrics
            .followers
            .set(session.followers().count() as i64);
        self.standby_metrics
            .set_lag(lag.unwrap_or(0), self.config.tick_rate);
        self.metrics.set_uptime(self.health.started.elapsed());
        let session = &self.driver.session;
        self.metrics.sync_players(
            session.slot_traffic(),
            session.player_links(),
            self.health.interval,
        );
        let now = Instant::now();
        let world_tick = self.driver.session.world().tick();
        let durable = self
            .recorder
            .as_ref()
            .map_or(0, |r| r.durable_tick())
            .max(self.saved_tick);
        let lag = venture_replay::ticks_to_duration(
            world_tick.saturating_sub(durable),
            self.config.tick_rate,
        );
        self.metrics
            .persistence
            .set(self.durability.ok(), lag.as_secs_f64());
        self.health.persistence = self.durability.reason(now);
    }
}
