//! HTTP routes of the server: `/healthz`, `/readyz`, `/metrics`, `/status` (with the
//! role in a primary/standby pair and each follower's lag; the standby's own routes are in
//! `standby.rs`), and `/play`, where a WebSocket upgrade switches a connection to the
//! game's WebSocket carrier, and the browser client's page (`/`, its script, the wasm
//! module and its glue: [`PAGE`]).
//!
//! Player IP addresses are personal data: `/status` shows a player's `addr` only to a
//! request from loopback (127.0.0.0/8, ::1, or either as an IPv4-mapped IPv6 address), so
//! an operator on the host sees them and nobody else does; for any other caller the field
//! is left out. `/metrics` never carries an address (its labels are bounded enums and slot
//! numbers, see [`crate::ops::metrics`]).

use std::net::IpAddr;
use std::time::Instant;

use venture_net::server::ServerSession;

use super::Health;
use crate::ops::cli::ServerConfig;
use crate::ops::http::{Request, Response};
use crate::ops::metrics::exposition::negotiate;
use crate::ops::metrics::Metrics;

pub(crate) struct View<'a> {
    pub app: &'a ServerSession,
    pub health: &'a Health,
    pub metrics: &'a Metrics,
    pub config: &'a ServerConfig,
    /// The server key's fingerprint (64 lowercase hex digits).
    pub server_key: &'a str,
    /// When this server is a standby that took over: how, and whether the old primary
    /// acknowledged.
    pub promotion: Option<(&'a super::standby::Promotion, bool)>,
}

/// Whether a request from `peer` may see player IP addresses: only from loopback.
pub(crate) fn shows_addresses(peer: IpAddr) -> bool {
    peer.to_canonical().is_loopback()
}

/// The browser client (issue 22), embedded at build time so the binary serves it with no
/// file beside it and the page loads nothing from any other host: `web/www` is written by
/// hand, `web/dist` is built by `scripts/web-bundle.sh` and committed (CI rebuilds it and
/// compares; ARCHITECTURE.md says why). (path, content type, bytes).
pub(crate) const PAGE: [(&str, &str, &[u8]); 4] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_bytes!("../../web/www/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/www/app.js"),
    ),
    (
        "/venture_web.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/dist/venture_web.js"),
    ),
    (
        "/venture_web_bg.wasm",
        "application/wasm",
        include_bytes!("../../web/dist/venture_web_bg.wasm"),
    ),
];

/// What the page may load and connect to: this server only ('self' covers its WebSocket
/// too); wasm compilation allowed, nothing else evaluated.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; \
     frame-ancestors 'none'";

/// Where the page carries the server's key, which the browser pins (the page came from
/// this server; its key is what the game's WebSocket must prove to hold).
const KEY_PLACEHOLDER: &str = "{{venture-server-key}}";

/// The page's file at `path`, if it is one; `server_key` (64 hex digits) goes into the
/// HTML.
fn page(path: &str, server_key: &str) -> Option<Response> {
    let path = if path == "/index.html" { "/" } else { path };
    let (_, content_type, body) = PAGE.iter().find(|(p, _, _)| *p == path)?;
    let body = if path == "/" {
        String::from_utf8_lossy(body)
            .replace(KEY_PLACEHOLDER, server_key)
            .into_bytes()
    } else {
        body.to_vec()
    };
    Some(
        Response::new(200, *content_type, body)
            .with_header("Content-Security-Policy", PAGE_POLICY)
            .with_header("X-Content-Type-Options", "nosniff")
            .with_header("Cache-Control", "no-cache"),
    )
}

pub(crate) fn route(view: &View, req: &Request, now: Instant) -> Response {
    if let Some(resp) = page(&req.path, view.server_key) {
        return resp;
    }
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
            } else if view.health.awaiting_allocation {
                // Ready in Agones' sense: this server waits to be allocated.
                Response::text(200, "ready (waiting for an allocation)\n")
            } else if view.app.player_count() >= view.config.max_players as usize {
                // Still ready (the process is fine), but say why a join would be refused.
                Response::text(200, "ready (full)\n")
            } else {
                Response::text(200, "ready\n")
            }
        }
        "/play" => {
            let header = |name: &str| req.header(name).map(str::to_owned);
            match venture_net::carrier::stream::websocket_accept(&header) {
                Ok(accept) => Response::switching_protocols(accept),
                Err(why) => Response::text(426, format!("{why}\n"))
                    .with_header("Upgrade", "websocket")
                    .with_header("Sec-WebSocket-Version", "13"),
            }
        }
        "/metrics" => {
            let format = negotiate(req.header("accept"));
            Response::new(200, format.content_type(), view.metrics.encode_as(format))
                .with_header("Vary", "Accept")
        }
        "/status" => {
            let world = view.app.world();
            let with_addresses = shows_addresses(req.peer.ip());
            let players: Vec<serde_json::Value> = view
                .app
                .players()
                .map(|(slot, name, addr)| {
                    let t = view.app.input_timeliness(slot).unwrap_or_default();
                    let mut player = serde_json::json!({
                        "slot": slot, "name": name, "carrier": addr.carrier.as_str(),
                        "rtt_ms": t.rtt.map(|r| r.as_millis() as u64),
                        "inputs_on_time": t.on_time, "inputs_substituted": t.substituted,
                    });
                    if with_addresses {
                        player["addr"] = addr.to_string().into();
                    }
                    player
                })
                .collect();
            // Spectators apart from players, and without addresses.
            let spectator_list: Vec<serde_json::Value> = view
                .app
                .spectators()
                .map(|s| serde_json::json!({"id": s.id, "acked_tick": s.acked, "syncing": s.syncing}))
                .collect();
            // The hot standbys following us, and how far behind each is.
            let tick = world.tick();
            let rate = f64::from(view.config.tick_rate.max(1));
            let followers: Vec<serde_json::Value> = view
                .app
                .followers()
                .map(|f| {
                    let lag = tick.saturating_sub(f.acked);
                    serde_json::json!({"id": f.id, "acked_tick": f.acked, "lag_ticks": lag,
                        "lag_s": lag as f64 / rate, "syncing": f.syncing,
                        "characters_pending": f.claims_pending})
                })
                .collect();
            let promoted = view.promotion.map(|(p, told)| {
                serde_json::json!({"old_primary": p.old_primary.to_string(), "tick": p.tick,
                    "received_tick": p.received,
                    "cause": p.cause.to_string(), "old_primary_acknowledged": told})
            });
            let mut body = serde_json::json!({
                "role": "primary",
                "followers": followers,
                "promoted_from_standby": promoted,
                "version": crate::ops::cli::VERSION,
                "commit": crate::ops::cli::GIT_COMMIT,
                "sim_version": venture_sim::SIM_VERSION,
                "protocol_version": venture_net::protocol::PROTOCOL_VERSION,
                "server_key": view.server_key,
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
                "awaiting_allocation": view.health.awaiting_allocation,
            });
            if view.health.awaiting_allocation {
                // The stand-in world is not a world anyone plays: no seed, genre or tick.
                for key in ["seed", "genre", "tick"] {
                    body[key] = serde_json::Value::Null;
                }
            }
            Response::json(200, format!("{body}\n"))
        }
        _ => Response::not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::{page, shows_addresses, PAGE};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    #[test]
    fn only_loopback_callers_see_addresses() {
        let shown = [
            "127.0.0.1",
            "127.0.0.2",
            "127.255.255.254",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:127.1.2.3",
        ];
        let hidden = [
            "10.0.0.1",
            "192.168.1.20",
            "172.17.0.1",
            "8.8.8.8",
            "0.0.0.0",
            "128.0.0.1",
            "126.255.255.255",
            "::",
            "::2",
            "fe80::1",
            "fd00::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            // IPv4-compatible (deprecated) ::127.0.0.1 is not loopback.
            "::127.0.0.1",
        ];
        for ip in shown {
            assert!(shows_addresses(ip.parse().expect(ip)), "{ip}");
        }
        for ip in hidden {
            assert!(!shows_addresses(ip.parse().expect(ip)), "{ip}");
        }
        assert!(shows_addresses(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert!(shows_addresses(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    }

    #[test]
    fn the_page_is_served_from_the_binary_and_names_no_other_host() {
        let key = "ab".repeat(32);
        let index = page("/", &key).expect("the page");
        assert_eq!(index.status, 200);
        let html = String::from_utf8(index.body.clone()).expect("utf-8");
        assert!(html.contains("app.js") && html.contains("<canvas"));
        assert!(
            html.contains(&format!("content=\"{key}\"")),
            "the key goes in"
        );
        assert_eq!(page("/index.html", &key).expect("alias").body, index.body);
        let wasm = page("/venture_web_bg.wasm", &key).expect("the module");
        assert_eq!(&wasm.body[..4], b"\0asm");
        assert!(page("/nope.js", &key).is_none());
        // Every text file refers to this server only (comments aside: the generated glue
        // cites MDN and documents ws:// URLs in them; tests/web_browser.rs checks the requests a real browser makes).
        for (path, _, body) in PAGE {
            if path.ends_with(".wasm") {
                continue;
            }
            let text = String::from_utf8_lossy(body);
            let code = |l: &&str| {
                let l = l.trim_start();
                !(l.starts_with("//") || l.starts_with('*') || l.starts_with("/*"))
            };
            for line in text.lines().filter(code) {
                for scheme in ["http://", "https://", "//cdn", "ws://", "wss://"] {
                    assert!(!line.contains(scheme), "{path} names {scheme}: {line}");
                }
            }
        }
    }
}
