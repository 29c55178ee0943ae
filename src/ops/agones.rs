//! Agones integration: a small client for the Agones SDK sidecar's local REST API.
//!
//! With `-agones`, the server tells [Agones](https://agones.dev) about its lifecycle by
//! calling the SDK sidecar at `http://localhost:${AGONES_SDK_HTTP_PORT:-9358}`. Every
//! request matches Agones' published REST specification (`sdks/swagger/*.swagger.json`,
//! copied into `tests/data/agones/`, which the contract tests serve):
//!
//! | when | call |
//! |---|---|
//! | once the sockets are bound (the first loop turn) | `POST /ready` `{}` (retried every second until it succeeds) |
//! | every 2 s while the tick loop is on schedule | `POST /health` `{}` |
//! | after Ready, once | `PATCH /v1beta1/lists/players` `{"capacity":"<-max-players>"}` |
//! | a player joins | `POST /v1beta1/lists/players:addValue` `{"value":"<name>"}` |
//! | a player leaves | `POST /v1beta1/lists/players:removeValue` `{"value":"<name>"}` |
//! | after the last player leaves (only if a player was ever connected) | `POST /shutdown` `{}` |
//! | on SIGTERM/SIGINT, unless already sent | `POST /shutdown` `{}` |
//! | with `-await-allocation`, until the GameServer is seen Allocated | `GET /watch/gameserver` (a kept-open stream) |
//!
//! The `players` List (Agones' beta Counters and Lists) is what a FleetAutoscaler's List
//! policy scales on; the Fleet must declare it (`deploy/agones/fleet.yaml`). A failed
//! Ready or Shutdown is retried after a second ([`lifecycle::RETRY_AFTER`]); a failed List
//! call pauses the List work for as long; a failed health ping is not retried (the next
//! one is due within the interval). Failures are logged (a warning when the sidecar first
//! becomes unreachable, debug after that, info when it answers again) and are never
//! fatal: a server that cannot reach its sidecar keeps serving its players, and Agones,
//! seeing no health pings, decides what to do with it.
//!
//! # Why a non-blocking client driven by the mio loop
//! The server is one thread whose loop must close a tick every 50 ms. A blocking HTTP
//! call, even with 200 ms timeouts, could cost four ticks whenever the sidecar is slow
//! or restarting; a helper thread would break the one-thread design and need channels.
//! The policy (which call when, retries, coalescing) is the sans-IO [`lifecycle`] state
//! machine, the allocation's meaning is [`allocation`], the stream's framing is
//! [`watch::StreamDecoder`]; this file is their I/O shell. Each call is one
//! [`http_client::Connection`] over a non-blocking [`mio::net::TcpStream`] registered with
//! the server's [`Registry`] under its own token, so readiness wakes the loop, advanced by
//! [`AgonesClient::poll`] on every loop turn. [`AgonesClient::next_deadline`] tells the
//! loop when the next timer (health ping, retry, request timeout, watch reconnect) is due.
//! One call is in flight at a time (one connection per call, `Connection: close`), the
//! queue is bounded and coalesced, and every call has a deadline, so nothing here can grow
//! or stall.
//!
//! Only at process exit ([`AgonesClient::shut_down`]) does the client wait, in the mio
//! poll and for at most the given budget, so the Shutdown call has a chance to leave
//! before the process does.
//!
//! # Environment
//! * `AGONES_SDK_HTTP_PORT`: the sidecar's REST port (default 9358; set by Agones).
//! * `VENTURE_AGONES_HEALTH_INTERVAL_MS`: health ping period (default 2000, 100 to 60000).
//! * `VENTURE_AGONES_SHUTDOWN_WHEN_EMPTY`: `false` keeps the game server alive after the
//!   last player leaves (default `true`).
//! * `VENTURE_AGONES_PLAYER_LIST`: `false` stops the `players` List updates (default `true`).
//!
//! Invalid values are logged as warnings and replaced by the defaults.

pub mod allocation;
pub mod lifecycle;
pub mod watch;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use mio::{Events, Poll, Registry, Token};

use crate::ops::http_client::{Connection, Exchange, Failure};
use allocation::Allocation;
use lifecycle::{Lifecycle, Policy};

/// Default port of the SDK sidecar's REST (HTTP/JSON gateway) server.
pub const DEFAULT_SDK_HTTP_PORT: u16 = 9358;
/// Default period between `POST /health` calls.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(2);
/// Default time one call may take, connect to last byte.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
/// The List of connected player names (declared in the Fleet's GameServer spec).
pub const PLAYERS_LIST: &str = "players";
/// Longest response kept (the sidecar answers `{}`, a List, or a GameServer JSON).
const MAX_RESPONSE: usize = 64 * 1024;

/// How the client is set up. [`AgonesConfig::from_env`] reads it from the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgonesConfig {
    /// The sidecar's REST address (127.0.0.1 and `AGONES_SDK_HTTP_PORT`).
    pub addr: SocketAddr,
    /// Period of `POST /health`.
    pub health_interval: Duration,
    /// Deadline of one call.
    pub request_timeout: Duration,
    /// Call `POST /shutdown` once the last player has left.
    pub shutdown_when_empty: bool,
    /// Keep the `players` List up to date.
    pub player_list: bool,
    /// The `players` List's capacity (`-max-players`).
    pub max_players: u32,
    /// Watch the GameServer until it is Allocated (`-await-allocation`).
    pub await_allocation: bool,
}

impl Default for AgonesConfig {
    fn default() -> Self {
        AgonesConfig {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_SDK_HTTP_PORT)),
            health_interval: DEFAULT_HEALTH_INTERVAL,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            shutdown_when_empty: true,
            player_list: true,
            max_players: 4,
            await_allocation: false,
        }
    }
}

impl AgonesConfig {
    /// The configuration from the process environment, and warnings about invalid values.
    pub fn from_env() -> (AgonesConfig, Vec<String>) {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The configuration from any variable lookup (pure; used by the tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> (AgonesConfig, Vec<String>) {
        let mut c = AgonesConfig::default();
        let mut warnings = Vec::new();
        if let Some(raw) = get("AGONES_SDK_HTTP_PORT") {
            match raw.trim().parse::<u16>() {
                Ok(p) if p > 0 => c.addr.set_port(p),
                _ => warnings.push(format!(
                    "invalid AGONES_SDK_HTTP_PORT {raw:?} (valid: 1 to 65535); using {DEFAULT_SDK_HTTP_PORT}"
                )),
            }
        }
        if let Some(raw) = get("VENTURE_AGONES_HEALTH_INTERVAL_MS") {
            match raw.trim().parse::<u64>() {
                Ok(ms) if (100..=60_000).contains(&ms) => c.health_interval = Duration::from_millis(ms),
                _ => warnings.push(format!(
                    "invalid VENTURE_AGONES_HEALTH_INTERVAL_MS {raw:?} (valid: 100 to 60000); using 2000"
                )),
            }
        }
        for (var, field) in [
            (
                "VENTURE_AGONES_SHUTDOWN_WHEN_EMPTY",
                &mut c.shutdown_when_empty,
            ),
            ("VENTURE_AGONES_PLAYER_LIST", &mut c.player_list),
        ] {
            if let Some(raw) = get(var) {
                match raw.trim().to_ascii_lowercase().as_str() {
                    "1" | "t" | "true" | "yes" | "on" => *field = true,
                    "0" | "f" | "false" | "no" | "off" => *field = false,
                    _ => warnings.push(format!(
                        "invalid {var} {raw:?} (valid: true, false); using true"
                    )),
                }
            }
        }
        (c, warnings)
    }
}

/// One SDK call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// `POST /ready`: the game server can take players (or, awaiting an allocation, be
    /// allocated).
    Ready,
    /// `POST /health`: still alive.
    Health,
    /// `PATCH /v1beta1/lists/players`: the List's capacity.
    PlayersCapacity(u32),
    /// `POST /v1beta1/lists/players:addValue`: a player joined.
    AddPlayer(String),
    /// `POST /v1beta1/lists/players:removeValue`: a player left.
    RemovePlayer(String),
    /// `POST /shutdown`: delete this game server.
    Shutdown,
}

impl Call {
    /// HTTP method and path.
    pub fn route(&self) -> (&'static str, String) {
        match self {
            Call::Ready => ("POST", "/ready".into()),
            Call::Health => ("POST", "/health".into()),
            Call::PlayersCapacity(_) => ("PATCH", format!("/v1beta1/lists/{PLAYERS_LIST}")),
            Call::AddPlayer(_) => ("POST", format!("/v1beta1/lists/{PLAYERS_LIST}:addValue")),
            Call::RemovePlayer(_) => ("POST", format!("/v1beta1/lists/{PLAYERS_LIST}:removeValue")),
            Call::Shutdown => ("POST", "/shutdown".into()),
        }
    }

    /// JSON body. int64 fields are JSON strings, as the specification writes them.
    pub fn body(&self) -> String {
        match self {
            Call::PlayersCapacity(n) => {
                serde_json::json!({ "capacity": n.to_string() }).to_string()
            }
            Call::AddPlayer(name) | Call::RemovePlayer(name) => {
                serde_json::json!({ "value": name }).to_string()
            }
            Call::Ready | Call::Health | Call::Shutdown => "{}".to_string(),
        }
    }

    /// The whole HTTP/1.1 request.
    pub fn request(&self, addr: SocketAddr) -> Vec<u8> {
        let (method, path) = self.route();
        let body = self.body();
        format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost:{}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            addr.port(),
            body.len()
        )
        .into_bytes()
    }

    /// True for the `players` List calls.
    pub fn is_list(&self) -> bool {
        matches!(
            self,
            Call::PlayersCapacity(_) | Call::AddPlayer(_) | Call::RemovePlayer(_)
        )
    }

    fn name(&self) -> &'static str {
        match self {
            Call::Ready => "ready",
            Call::Health => "health",
            Call::PlayersCapacity(_) => "list_capacity",
            Call::AddPlayer(_) => "list_add",
            Call::RemovePlayer(_) => "list_remove",
            Call::Shutdown => "shutdown",
        }
    }
}

/// Counters of the client's calls (for logs and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AgonesStats {
    /// Calls answered with 2xx (or an answer that means done, see the lifecycle).
    pub ok: u64,
    /// Calls that failed (connect error, timeout, non-2xx, malformed answer).
    pub failed: u64,
    /// Calls dropped because the queue was full.
    pub dropped: u64,
}

/// The SDK client. Create it once the server is bound ([`AgonesClient::new`] queues
/// `Ready`), call [`poll`](AgonesClient::poll) on every loop turn, include
/// [`next_deadline`](AgonesClient::next_deadline) in the loop's sleep, and call
/// [`shut_down`](AgonesClient::shut_down) on the way out.
pub struct AgonesClient {
    config: AgonesConfig,
    token: Token,
    lifecycle: Lifecycle,
    connection: Option<Connection>,
    /// Following the GameServer until it is Allocated (`-await-allocation`).
    watch: Option<watch::Watch>,
    /// The allocation seen and not yet taken by the server.
    allocation: Option<Allocation>,
}

impl AgonesClient {
    /// A client that will call `Ready` first. `token` is the mio token its connections use;
    /// the owner need not handle it (readiness only has to wake the loop).
    pub fn new(config: AgonesConfig, token: Token, now: Instant) -> AgonesClient {
        log::info!(
            target: "venture::agones",
            component = "agones", sdk:% = config.addr, health_interval_ms = config.health_interval.as_millis() as u64,
            shutdown_when_empty = config.shutdown_when_empty, player_list = config.player_list,
            await_allocation = config.await_allocation;
            "Agones SDK integration enabled"
        );
        let policy = Policy {
            health_interval: config.health_interval,
            shutdown_when_empty: config.shutdown_when_empty,
            player_list: config.player_list,
            max_players: config.max_players,
        };
        AgonesClient {
            lifecycle: Lifecycle::new(policy, now),
            connection: None,
            token,
            watch: config.await_allocation.then(|| watch::Watch::new(now)),
            allocation: None,
            config,
        }
    }

    /// [`AgonesClient::new`] with [`AgonesConfig::from_env`] (and the flags' part of the
    /// configuration), logging any warnings.
    pub fn from_env(
        token: Token,
        now: Instant,
        max_players: u32,
        await_allocation: bool,
    ) -> AgonesClient {
        let (mut config, warnings) = AgonesConfig::from_env();
        for w in warnings {
            log::warn!(target: "venture::agones", component = "agones"; "{w}");
        }
        config.max_players = max_players;
        config.await_allocation = await_allocation;
        AgonesClient::new(config, token, now)
    }

    /// The configuration in use.
    pub fn config(&self) -> &AgonesConfig {
        &self.config
    }

    /// The lifecycle state (what has been acknowledged, what is pending).
    pub fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }

    /// Call counters.
    pub fn stats(&self) -> AgonesStats {
        self.lifecycle.stats()
    }

    /// True once `Ready` has been acknowledged.
    pub fn is_ready(&self) -> bool {
        self.lifecycle.is_ready()
    }

    /// True when no call is in flight, waiting or due for a retry.
    pub fn is_idle(&self) -> bool {
        self.lifecycle.is_idle()
    }

    /// The allocation, once the watched GameServer has been seen Allocated (given once).
    pub fn take_allocation(&mut self) -> Option<Allocation> {
        self.allocation.take()
    }

    /// When the loop should next call [`poll`](AgonesClient::poll) even without socket events.
    pub fn next_deadline(&self) -> Option<Instant> {
        let now = Instant::now();
        let call = self.connection.as_ref().map(|c| c.deadline);
        let watch = self.watch.as_ref().and_then(watch::Watch::next_deadline);
        [call, watch, self.lifecycle.next_deadline(now)]
            .into_iter()
            .flatten()
            .min()
    }

    /// Advance: schedule health pings and List and Shutdown calls from the connected
    /// players, progress the call in flight, start the next, follow the GameServer watch.
    /// Never blocks.
    pub fn poll(
        &mut self,
        registry: &Registry,
        now: Instant,
        players: &BTreeSet<String>,
        on_schedule: bool,
    ) {
        self.lifecycle.observe(now, players, on_schedule);
        self.drive(registry, now);
        self.follow_watch(registry, now);
    }

    fn follow_watch(&mut self, registry: &Registry, now: Instant) {
        let Some(w) = &mut self.watch else {
            return;
        };
        for game_server in w.poll(registry, self.token, self.config.addr, now) {
            if let Some(a) = Allocation::from_game_server(&game_server) {
                log::info!(target: "venture::agones", component = "agones", annotations:? = a.annotations; "Agones: this game server was allocated");
                // The watch has done its job: the world is chosen once.
                w.close(registry);
                self.watch = None;
                self.allocation = Some(a);
                return;
            }
        }
    }

    /// Leave: drop pending pings, send `Shutdown` unless it already succeeded, and wait for
    /// it for at most `budget`. The wait is in `poll` (the connection's readiness or the
    /// deadline wakes it), never a sleep; events for the owner's other tokens that arrive
    /// meanwhile are dropped, which is fine on the way out.
    pub fn shut_down(&mut self, poll: &mut Poll, budget: Duration) {
        let end = Instant::now() + budget;
        if let Some(mut w) = self.watch.take() {
            w.close(poll.registry());
        }
        if self.lifecycle.stop() {
            if let Some(c) = self.connection.take() {
                c.close(poll.registry());
            }
        }
        let mut events = Events::with_capacity(16);
        loop {
            let now = Instant::now();
            if let Some(c) = &mut self.connection {
                c.deadline = c.deadline.min(end);
            }
            self.drive(poll.registry(), now);
            if self.lifecycle.nothing_to_send() {
                break;
            }
            if now >= end {
                if let Some(c) = self.connection.take() {
                    c.close(poll.registry());
                }
                self.lifecycle.abandoned();
                log::warn!(target: "venture::agones", component = "agones", budget_ms = budget.as_millis() as u64; "Agones shutdown call did not finish in time");
                break;
            }
            let wake = self.next_deadline().map_or(end, |d| d.min(end));
            if let Err(e) = poll.poll(&mut events, Some(wake.saturating_duration_since(now))) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    log::warn!(target: "venture::agones", component = "agones", error:% = e; "poll failed during Agones shutdown");
                    break;
                }
            }
        }
    }

    fn drive(&mut self, registry: &Registry, now: Instant) {
        // A few rounds: finishing one call may let the next start (and even finish) at once.
        for _ in 0..4 {
            if self.connection.is_none() {
                let Some(call) = self.lifecycle.start_next(now) else {
                    return;
                };
                let exchange = Exchange::new(call.request(self.config.addr), MAX_RESPONSE);
                let deadline = now + self.config.request_timeout;
                match Connection::start(self.config.addr, exchange, registry, self.token, deadline)
                {
                    Ok(c) => self.connection = Some(c),
                    Err(e) => {
                        self.lifecycle
                            .finished(Err(Failure::io(format!("connect: {e}"))), now);
                        continue;
                    }
                }
            }
            let Some(c) = &mut self.connection else {
                return;
            };
            match c.advance(now) {
                None => return,
                Some(answer) => {
                    if let Some(c) = self.connection.take() {
                        c.close(registry);
                    }
                    self.lifecycle.finished(answer, now);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};
    use std::net::TcpListener;
    use venture_testkit::agones::Sidecar;

    #[test]
    fn config_from_lookup() {
        let (c, w) = AgonesConfig::from_lookup(|_| None);
        assert_eq!(c, AgonesConfig::default());
        assert!(w.is_empty());
        assert_eq!(c.addr.to_string(), "127.0.0.1:9358");
        let (c, w) = AgonesConfig::from_lookup(|k| {
            Some(match k {
                "AGONES_SDK_HTTP_PORT" => "59358".into(),
                "VENTURE_AGONES_HEALTH_INTERVAL_MS" => "250".into(),
                "VENTURE_AGONES_SHUTDOWN_WHEN_EMPTY" => "false".into(),
                _ => "nope".into(),
            })
        });
        assert_eq!(c.addr.port(), 59358);
        assert_eq!(c.health_interval, Duration::from_millis(250));
        assert!(!c.shutdown_when_empty);
        assert!(c.player_list, "invalid value keeps the default");
        assert_eq!(w.len(), 1, "{w:?}");
        let (c, w) =
            AgonesConfig::from_lookup(|k| (k == "AGONES_SDK_HTTP_PORT").then(|| "0".into()));
        assert_eq!(c.addr.port(), DEFAULT_SDK_HTTP_PORT);
        assert!(w[0].contains("AGONES_SDK_HTTP_PORT"), "{w:?}");
    }

    #[test]
    fn requests_are_well_formed() {
        let addr: SocketAddr = "127.0.0.1:9358".parse().unwrap();
        let r = String::from_utf8(Call::Ready.request(addr)).unwrap();
        assert!(r.starts_with("POST /ready HTTP/1.1\r\n"), "{r}");
        assert!(r.contains("Content-Length: 2\r\n"));
        assert!(r.ends_with("\r\n\r\n{}"));
        let body = |c: Call| -> serde_json::Value {
            let r = String::from_utf8(c.request(addr)).unwrap();
            serde_json::from_str(r.split("\r\n\r\n").nth(1).unwrap()).unwrap()
        };
        assert_eq!(
            body(Call::PlayersCapacity(4)),
            serde_json::json!({"capacity": "4"})
        );
        assert_eq!(
            body(Call::AddPlayer("a\"b".into())),
            serde_json::json!({"value": "a\"b"})
        );
        let r = String::from_utf8(Call::RemovePlayer("x".into()).request(addr)).unwrap();
        assert!(r.starts_with("POST /v1beta1/lists/players:removeValue HTTP/1.1\r\n"));
    }

    fn names(n: &[&str]) -> BTreeSet<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    fn run_until(
        poll: &mut Poll,
        client: &mut AgonesClient,
        players: &[&str],
        until: impl Fn(&AgonesClient) -> bool,
    ) {
        let mut events = Events::with_capacity(16);
        let end = Instant::now() + Duration::from_secs(10);
        let players = names(players);
        while !until(client) {
            assert!(Instant::now() < end, "timed out: {:?}", client.stats());
            poll.poll(&mut events, Some(Duration::from_millis(20)))
                .unwrap();
            client.poll(poll.registry(), Instant::now(), &players, true);
        }
    }

    #[test]
    fn lifecycle_against_the_contract_stand_in() {
        let sidecar = Sidecar::with_players_list(0);
        let mut poll = Poll::new().unwrap();
        let config = AgonesConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], sidecar.port())),
            health_interval: Duration::from_millis(100),
            ..AgonesConfig::default()
        };
        let mut client = AgonesClient::new(config, Token(7), Instant::now());
        run_until(&mut poll, &mut client, &[], |c| {
            c.is_ready() && c.stats().ok >= 4
        });
        assert_eq!(sidecar.list("players"), Some((4, vec![])));
        run_until(&mut poll, &mut client, &["ann", "bob"], |c| {
            c.lifecycle().listed().len() == 2
        });
        assert_eq!(
            sidecar.list("players"),
            Some((4, vec!["ann".into(), "bob".into()]))
        );
        run_until(&mut poll, &mut client, &[], |c| {
            c.lifecycle().is_shut_down()
        });
        client.shut_down(&mut poll, Duration::from_millis(200));
        let calls = sidecar.calls();
        assert_eq!(calls[0], "POST /ready", "{calls:?}");
        assert_eq!(calls.last().unwrap(), "POST /shutdown", "{calls:?}");
        assert_eq!(sidecar.count("POST /shutdown"), 1, "{calls:?}");
        assert_eq!(sidecar.list("players"), Some((4, vec![])));
        for r in sidecar.requests() {
            assert_eq!(r.status, 200, "outside the spec: {r:?}");
        }
        assert_eq!(client.stats().failed, 0);
    }

    #[test]
    fn unreachable_sidecar_is_not_fatal_and_ready_is_retried() {
        // A port that was free a moment ago: connection refused.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut poll = Poll::new().unwrap();
        let config = AgonesConfig {
            addr,
            ..AgonesConfig::default()
        };
        let mut client = AgonesClient::new(config, Token(7), Instant::now());
        run_until(&mut poll, &mut client, &[], |c| {
            c.stats().failed >= 1 && !c.lifecycle().is_idle()
        });
        assert!(!client.is_ready());
        // A player came and went; the Shutdown that follows waits for the List...
        run_until(&mut poll, &mut client, &["ann"], |c| {
            c.lifecycle().had_players()
        });
        run_until(&mut poll, &mut client, &[], |c| {
            c.lifecycle().shutdown_queued() && c.lifecycle().nothing_to_send()
        });
        let failed = client.stats().failed;
        // ...and SIGTERM sends it at once (and gives up within its budget).
        let started = Instant::now();
        client.shut_down(&mut poll, Duration::from_millis(300));
        assert!(started.elapsed() < Duration::from_millis(600));
        assert!(client.stats().failed > failed, "{:?}", client.stats());
    }
}
