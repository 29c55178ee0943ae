//! HTTP routes of the server: `/healthz`, `/readyz`, `/metrics`, `/status`.

use std::time::Instant;

use venture_net::server::ServerSession;

use super::Health;
use crate::cli::ServerConfig;
use crate::http::{Request, Response};
use crate::metrics::exposition::negotiate;
use crate::metrics::Metrics;

pub(crate) struct View<'a> {
    pub app: &'a ServerSession,
    pub health: &'a Health,
    pub metrics: &'a Metrics,
    pub config: &'a ServerConfig,
}

pub(crate) fn route(view: &View, req: &Request, now: Instant) -> Response {
    match req.path.as_str() {
        "/healthz" => {
            if view.health.on_schedule(now) {
                Response::text(200, "ok\n")
            } else {
                Response::text(503, "tick loop behind schedule\n")
            }
        }
        "/readyz" => {
            if view.health.shutting_down {
                Response::text(503, "shutting down\n")
            } else if let Some(reason) = &view.health.persistence {
                Response::text(503, format!("{reason}\n"))
            } else if view.app.player_count() >= view.config.max_players as usize {
                // Still ready (the process is fine), but say why a join would be refused.
                Response::text(200, "ready (full)\n")
            } else {
                Response::text(200, "ready\n")
            }
        }
        "/metrics" => {
            let format = negotiate(req.header("accept"));
            Response::new(200, format.content_type(), view.metrics.encode_as(format))
                .with_header("Vary", "Accept")
        }
        "/status" => {
            let world = view.app.world();
            let players: Vec<serde_json::Value> = view
                .app
                .players()
                .map(|(slot, name, addr)| {
                    let t = view.app.input_timeliness(slot).unwrap_or_default();
                    serde_json::json!({
                        "slot": slot, "name": name, "addr": addr.to_string(),
                        "rtt_ms": t.rtt.map(|r| r.as_millis() as u64),
                        "inputs_on_time": t.on_time, "inputs_substituted": t.substituted,
                    })
                })
                .collect();
            // Spectators apart from players, and without addresses.
            let spectator_list: Vec<serde_json::Value> = view
                .app
                .spectators()
                .map(|s| serde_json::json!({"id": s.id, "acked_tick": s.acked, "syncing": s.syncing}))
                .collect();
            let body = serde_json::json!({
                "version": crate::cli::VERSION,
                "commit": crate::cli::GIT_COMMIT,
                "sim_version": venture_sim::SIM_VERSION,
                "protocol_version": venture_net::protocol::PROTOCOL_VERSION,
                "seed": view.config.seed,
                "genre": view.config.genre.id(),
                "tick": world.tick(),
                "tick_rate": view.config.tick_rate,
                "max_players": view.config.max_players,
                "players": players,
                "spectators": spectator_list.len(),
                "max_spectators": view.config.max_spectators,
                "spectator_delay_s": view.config.spectator_delay.as_secs(),
                "spectator_list": spectator_list,
                "uptime_s": now.saturating_duration_since(view.health.started).as_secs(),
                "on_schedule": view.health.on_schedule(now),
            });
            Response::json(200, format!("{body}\n"))
        }
        _ => Response::not_found(),
    }
}
