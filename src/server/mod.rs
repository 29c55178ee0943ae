//! The dedicated server process: one thread, one mio loop owning the UDP game socket, the
//! TCP listener on the same port number (HTTP, and the game's TCP and WebSocket streams
//! it hands over), SIGTERM/SIGINT, and the tick schedule.
//!
//! The game itself is [`venture_net::server::ServerSession`] behind the secure layer's
//! driver on the carriers (UDP, and the stream table); this module is the shell around
//! it: sockets, clock, logs, metrics, health. Here: the loop, saves and shutdown; and
//!
//! * [`bind`]: startup (key, world, sockets, session, metrics, Agones);
//! * [`events`]: the session's events into logs, the journal and counters;
//! * [`readings`]: the metrics' turn (the parts' stats into the collector);
//! * [`world`], [`allocation`]: the world served, and the stand-in until Agones allocates;
//! * [`persist`], [`journal`], [`durability`], [`world_lock`]: saves, the session log,
//!   whether writes keep up, one writer per world;
//! * [`characters`]: players' saved characters;
//! * [`server_key`]: the server's key file;
//! * [`routes`]: `/healthz`, `/readyz`, `/metrics`, `/status`, the web client's files;
//! * [`standby`], [`depose`]: the hot standby and the telling of a replaced primary;
//! * [`turn`]: the wait and HTTP answering of a loop turn, shared with the standby.

mod allocation;
mod bind;
mod characters;
mod depose;
mod durability;
mod events;
mod journal;
mod persist;
mod readings;
mod routes;
pub mod server_key;
pub mod standby;
mod turn;
mod world;
mod world_lock;

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::{Poll, Token};
use signal_hook::consts::SIGINT;
use signal_hook_mio::v1_0::Signals;
use venture_net::carrier::stream::{Link, StreamTable};
use venture_net::carrier::udp::UdpCarrier;
use venture_net::carrier::{Both, Carrier};
use venture_net::driver::ServerDriver;

use crate::ops::cli::ServerConfig;
use crate::ops::http::HttpServer;
use crate::ops::metrics::Metrics;
use turn::{HTTP_BASE, SIGNALS};

const UDP: Token = Token(0);
/// Connections of the Agones SDK client (`-agones`); their events only wake the loop.
const AGONES: Token = Token(2);
/// Stream connections' tokens start here (far above the HTTP server's range).
const STREAM_BASE: Token = Token(1 << 20);

/// The server's carriers: the UDP socket, and the stream connections (TCP, WebSocket).
type Carriers = Both<UdpCarrier, StreamTable>;
/// Longest the loop sleeps without looking at its timers.
const MAX_SLEEP: Duration = Duration::from_millis(100);
/// How long shutdown may take before the process leaves anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(300);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("failed to bind UDP {addr}: {source}")]
    BindUdp { addr: SocketAddr, source: io::Error },
    #[error("failed to bind TCP {addr} (HTTP health and metrics): {source}")]
    BindTcp { addr: SocketAddr, source: io::Error },
    #[error("invalid world configuration: {0}")]
    World(String),
    #[error("event loop: {0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Locked(#[from] world_lock::LockError),
    #[error(transparent)]
    Key(#[from] server_key::ServerKeyError),
    /// The standby at this address took over (and proved the server key): this process
    /// must not serve the world again.
    #[error("replaced by the standby at {0}, which serves this world now; start this server again with -standby-of {0} to follow it")]
    Replaced(SocketAddr),
}

impl ServerError {
    /// The port a bind failure was for (the guide's "failed to bind port N").
    pub fn bind_port(&self) -> Option<u16> {
        match self {
            ServerError::BindUdp { addr, .. } | ServerError::BindTcp { addr, .. } => {
                Some(addr.port())
            }
            _ => None,
        }
    }
}

/// What the HTTP routes read: a view of the running server.
pub(crate) struct Health {
    pub started: Instant,
    pub last_tick: Instant,
    pub interval: Duration,
    pub shutting_down: bool,
    /// After a large overrun the loop reports unhealthy until this instant, so a probe
    /// sees a stall even when the loop caught up before reading the probe.
    pub stalled_until: Option<Instant>,
    /// Why saves or the session log are failing (`/readyz` answers 503 with it).
    pub persistence: Option<String>,
    /// `-await-allocation` and no allocation yet: the world is a stand-in nobody sees.
    pub awaiting_allocation: bool,
}

/// An overrun at least this long counts as a stall for `/healthz`...
const STALL: Duration = Duration::from_secs(1);
/// ...and keeps it at 503 this long after the loop caught up.
const STALL_REPORT: Duration = Duration::from_secs(2);

impl Health {
    /// On schedule: a tick closed within the last second (or 10 intervals at slow rates)
    /// and no stall in the last two seconds.
    pub fn on_schedule(&self, now: Instant) -> bool {
        let recent_tick =
            now.saturating_duration_since(self.last_tick) <= (self.interval * 10).max(STALL);
        recent_tick && self.stalled_until.is_none_or(|t| now >= t)
    }
}

pub struct ServerApp {
    config: ServerConfig,
    poll: Poll,
    driver: ServerDriver<Carriers>,
    http: HttpServer,
    signals: Signals,
    metrics: Metrics,
    health: Health,
    /// The series fed from the parts' stats ([`readings`]).
    collector: crate::ops::metrics::collect::Collector,
    /// The HTTP connection cap was logged in this episode.
    http_cap_logged: bool,
    local_addr: SocketAddr,
    files: persist::WorldFiles,
    recorder: Option<persist::Recorder>,
    next_autosave: Instant,
    save_requested: bool,
    characters: characters::Characters,
    agones: Option<crate::ops::agones::AgonesClient>,
    durability: durability::Durability,
    save_retry: durability::Backoff,
    /// Characters of players who left while their save could not be written: retried with
    /// every save (autosave, the retry schedule, shutdown) until written, so a full disk
    /// never loses a departed player's progress.
    unsaved_characters: BTreeMap<String, (venture_sim::character::Character, [u8; 16])>,
    /// Tick of the last world snapshot written (what a kill -9 recovers without a log).
    saved_tick: u64,
    /// The fingerprint of the server key (`saves/server.key`), for `/status`.
    fingerprint: String,
    /// The world's and the log's locks, held until the process exits.
    _locks: Vec<world_lock::WorldLock>,
    /// The pair's series (`venture_role`, follower lag).
    standby_metrics: crate::ops::metrics::StandbyMetrics,
    server_key: server_key::ServerKey,
    /// Set when this server was a standby that took over, with the telling of the old
    /// primary.
    promotion: Option<(standby::Promotion, depose::Deposer)>,
    /// A standby proved that it took over from us.
    deposed: Option<SocketAddr>,
}

impl ServerApp {
    /// This server is a standby that took over: show it, and tell the old primary.
    pub(crate) fn promoted(&mut self, p: standby::Promotion) -> Result<(), ServerError> {
        let ours = p.old_primary.port() == self.local_addr.port()
            && (p.old_primary.ip().is_loopback() || p.old_primary.ip() == self.local_addr.ip());
        let mut deposer = depose::Deposer::new(p.old_primary, self.server_key.clone());
        if ours {
            // The old primary's address is ours now (same host and port): nobody to tell.
            log::info!(target: "venture::standby", component = "standby", old_primary:% = p.old_primary; "serving at the old primary's address");
            deposer = depose::Deposer::finished(p.old_primary, self.server_key.clone());
        }
        self.promotion = Some((p, deposer));
        Ok(())
    }

    /// The bound game address (useful when the port was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Runs until SIGTERM or SIGINT, then shuts down cleanly.
    pub fn run(mut self) -> Result<(), ServerError> {
        let mut waiter = turn::Waiter::new(256, MAX_SLEEP);
        loop {
            let deadlines = [
                Some(self.driver.next_wakeup()),
                self.agones.as_ref().and_then(|a| a.next_deadline()),
            ];
            let woken = waiter.wait(&mut self.poll, &mut self.signals, &self.http, deadlines);
            let Some(woken) = woken? else {
                continue;
            };
            let mut stop = None;
            for sig in woken.signals.iter().copied() {
                log::info!(target: "venture::server", component = "server", signal = sig; "shutdown requested");
                stop = Some(if sig == SIGINT { "SIGINT" } else { "SIGTERM" });
            }
            for token in woken.tokens() {
                match token {
                    UDP => {}
                    token if self.driver.carrier().second.owns(token) => {
                        let t = self.driver.since_epoch(Instant::now());
                        let registry = self.poll.registry();
                        self.driver
                            .carrier_mut()
                            .second
                            .handle_token(registry, token, t);
                    }
                    // HTTP first: a probe that waited through a stall sees the stall.
                    token if self.http.owns(token) => self.answer_http(Some(token)),
                    _ => {}
                }
            }
            self.answer_http(None);
            self.adopt_streams();
            self.pump();
            self.poll_agones();
            if let Some(allocated) = self.agones.as_mut().and_then(|a| a.take_allocation()) {
                self.allocate(allocated)?;
            }
            if let Some((_, deposer)) = self.promotion.as_mut() {
                deposer.pump(Instant::now());
            }
            if let Some(by) = self.deposed {
                self.shut_down("replaced by the standby")?;
                return Err(ServerError::Replaced(by));
            }
            if let Some(signal) = stop {
                return self.shut_down(signal);
            }
        }
    }

    /// Answers HTTP ([`turn::answer_http`]) with the routes' view of this server.
    fn answer_http(&mut self, token: Option<Token>) {
        let now = Instant::now();
        let view = routes::View {
            app: &self.driver.session,
            health: &self.health,
            metrics: &self.metrics,
            config: &self.config,
            server_key: &self.fingerprint,
            promotion: self.promotion.as_ref().map(|(p, d)| (p, d.done())),
        };
        let registry = self.poll.registry();
        turn::answer_http(&mut self.http, registry, token, now, &mut |req| {
            routes::route(&view, req, now)
        });
    }

    /// Takes the game's TCP and WebSocket connections over from the HTTP server.
    fn adopt_streams(&mut self) {
        let t = self.driver.since_epoch(Instant::now());
        for h in self.http.take_handoffs() {
            let link = match h.kind {
                crate::ops::http::HandoffKind::GameStream => {
                    Link::tcp(h.stream, h.peer, &h.rest, t)
                }
                crate::ops::http::HandoffKind::WebSocket => {
                    Link::websocket(h.stream, h.peer, h.rest, t)
                }
            };
            let carrier = link.remote().carrier;
            if let Err(e) = self
                .driver
                .carrier_mut()
                .second
                .adopt(self.poll.registry(), link, t)
            {
                log::warn!(target: "venture::net", component = "net", peer:% = h.peer, carrier:% = carrier, error:% = e; "cannot take over a game stream");
            }
        }
    }

    fn pump(&mut self) {
        // The carriers cap reads per poll so a flood cannot starve ticks; keep pumping while
        // they report more waiting (mio will not signal readiness for it again).
        loop {
            let started = Instant::now();
            self.driver.pump(started);
            let t = self.driver.since_epoch(started);
            let registry = self.poll.registry();
            self.driver.carrier_mut().second.reap(registry, t);
            self.after_pump(started);
            if !self.driver.carrier_mut().take_pending() {
                break;
            }
        }
    }

    /// After each pump: the session's events ([`events`]), the metrics ([`readings`]),
    /// the journal's flush and the autosave when due.
    fn after_pump(&mut self, started: Instant) {
        self.handle_events(started);
        self.sync_metrics();
        let now = Instant::now();
        if let Some(rec) = self.recorder.as_mut() {
            let flushed = rec.maybe_flush(now, self.driver.session.world());
            if !matches!(flushed, Ok(false)) {
                self.durability
                    .note(durability::Source::Journal, flushed.map(|_| ()), now);
            }
        }
        if self.save_requested || now >= self.next_autosave {
            self.save();
        }
    }

    fn save_character(
        &mut self,
        name: &str,
        character: &venture_sim::character::Character,
        digest: [u8; 16],
    ) {
        match self
            .characters
            .save(&mut self.driver.session, name, character, digest)
        {
            Ok(path) => {
                self.unsaved_characters.remove(name);
                log::debug!(target: "venture::save", component = "save", playerID = name, path:% = path.display(); "character saved")
            }
            Err(e) => {
                self.unsaved_characters
                    .insert(name.to_string(), (character.clone(), digest));
                self.metrics.observe_save(Duration::ZERO, false);
                let error = format!("character {name}: {e}");
                self.durability
                    .note(durability::Source::Save, Err(error), Instant::now());
            }
        }
    }

    /// Writes the world snapshot atomically, every connected player's character, and fsyncs
    /// the session log.
    fn save(&mut self) {
        if self.health.awaiting_allocation {
            // The stand-in world is nobody's: nothing of it is written.
            return;
        }
        let connected = self.driver.session.connected_characters();
        // Departed players whose save failed, unless they are back (then the connected
        // character below is newer).
        let unsaved: Vec<_> = std::mem::take(&mut self.unsaved_characters)
            .into_iter()
            .filter(|(name, _)| !connected.iter().any(|(n, _, _)| n == name))
            .collect();
        for (name, (character, digest)) in unsaved {
            self.save_character(&name, &character, digest);
        }
        for (name, character, digest) in connected {
            self.save_character(&name, &character, digest);
        }
        self.save_requested = false;
        let started = Instant::now();
        let world = self.driver.session.world();
        let result = persist::save_world(&self.files, world);
        let synced = self
            .recorder
            .as_mut()
            .map_or(Ok(false), |r| r.sync(started, world));
        let took = started.elapsed();
        let now = Instant::now();
        self.metrics.observe_save(took, result.is_ok());
        match result {
            Ok(bytes) => {
                self.saved_tick = world.tick();
                self.save_retry.reset();
                self.next_autosave = now + self.config.autosave;
                log::info!(
                    target: "venture::save",
                    component = "save", path:% = self.files.snapshot.display(), tick = world.tick(), bytes = bytes,
                    duration_ms = took.as_secs_f64() * 1000.0;
                    "save written"
                );
                self.durability.note(durability::Source::Save, Ok(()), now);
            }
            Err(e) => {
                // The previous save stays in place; retry sooner than the next autosave.
                let retry = self.save_retry.failed(now);
                self.next_autosave = retry.min(now + self.config.autosave);
                let error = format!("{}: {e}", self.files.snapshot.display());
                self.durability
                    .note(durability::Source::Save, Err(error), now);
            }
        }
        if self.recorder.is_some() {
            self.durability
                .note(durability::Source::Journal, synced.map(|_| ()), now);
        }
    }

    /// Agones SDK calls (Ready, Health, the players List, Shutdown once empty, the
    /// allocation watch); never blocks.
    fn poll_agones(&mut self) {
        if let Some(agones) = &mut self.agones {
            let now = Instant::now();
            let players = self
                .driver
                .session
                .players()
                .map(|(_, name, _)| name.to_string())
                .collect();
            agones.poll(
                self.poll.registry(),
                now,
                &players,
                self.health.on_schedule(now),
            );
        }
    }

    fn shut_down(mut self, signal: &str) -> Result<(), ServerError> {
        self.health.shutting_down = true;
        self.driver.session.shut_down();
        self.driver.flush();
        // Give the kernel a moment to send the goodbyes before the socket closes.
        std::thread::sleep(SHUTDOWN_GRACE.min(Duration::from_millis(50)));
        self.driver.flush();
        self.http.shutdown(self.poll.registry());
        self.save();
        if let Some(rec) = self.recorder.take() {
            let world = self.driver.session.world();
            match rec.stop(signal, world) {
                Ok(()) => {
                    log::info!(target: "venture::replay", component = "replay", tick = world.tick(); "session log: clean stop recorded")
                }
                Err(e) => {
                    log::error!(target: "venture::replay", component = "replay", error:% = e; "session log: the clean stop could not be recorded")
                }
            }
        }
        if let Some(agones) = &mut self.agones {
            agones.shut_down(&mut self.poll, SHUTDOWN_GRACE);
        }
        log::info!(
            target: "venture::server",
            component = "server", tick = self.driver.session.world().tick(), players = self.driver.session.player_count(),
            uptime_s = self.health.started.elapsed().as_secs();
            "server stopped"
        );
        Ok(())
    }
}
