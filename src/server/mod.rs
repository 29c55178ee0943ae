//! The dedicated server process: one thread, one mio loop owning the UDP game socket, the
//! TCP listener on the same port number (HTTP, and the game's TCP and WebSocket streams
//! it hands over), SIGTERM/SIGINT, and the tick schedule.
//!
//! The game itself is [`venture_net::server::ServerSession`] behind the secure layer's
//! driver on the carriers (UDP, and the stream table); this module is the shell around
//! it: sockets, clock, logs, metrics, health.

mod allocation;
mod characters;
mod depose;
mod durability;
mod journal;
mod persist;
mod routes;
pub mod server_key;
pub mod standby;
mod world;
mod world_lock;

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;
use venture_net::carrier::stream::{Link, StreamTable};
use venture_net::carrier::udp::UdpCarrier;
use venture_net::carrier::{Both, Carrier, CarrierKind};
use venture_net::driver::{ServerDriver, ServerLayer};
use venture_net::server::{ServerEvent, ServerStats};

use crate::ops::cli::ServerConfig;
use crate::ops::http::{HttpLimits, HttpServer};
use crate::ops::metrics::Metrics;

const UDP: Token = Token(0);
const SIGNALS: Token = Token(1);
/// Connections of the Agones SDK client (`-agones`); their events only wake the loop.
const AGONES: Token = Token(2);
const HTTP_BASE: Token = Token(1024);
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
    last_stats: ServerStats,
    last_carriers: [venture_net::carrier::CarrierStats; 3],
    carrier_metrics: crate::ops::metrics::carriers::CarrierMetrics,
    last_layer: venture_net::secure::LayerStats,
    http_refused_seen: u64,
    http_cap_logged: bool,
    local_addr: SocketAddr,
    files: persist::WorldFiles,
    recorder: Option<persist::Recorder>,
    next_autosave: Instant,
    save_requested: bool,
    characters: characters::Characters,
    agones: Option<crate::ops::agones::AgonesClient>,
    /// `venture_input_substitutions_total{slot}` and the per-slot totals last exported.
    substitutions: (
        prometheus_client::metrics::family::Family<
            crate::ops::metrics::SlotLabel,
            prometheus_client::metrics::counter::Counter,
        >,
        Vec<u64>,
    ),
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

/// The server key from the saves directory, generated there on first start. A key file
/// that exists but cannot be used stops the server (an operator must decide); a saves
/// directory the key cannot be written to gives a key for this run only, said loudly.
fn load_server_key(saves_dir: &std::path::Path) -> Result<server_key::ServerKey, ServerError> {
    match server_key::load_or_create(saves_dir) {
        Ok((key, server_key::KeyOrigin::Loaded(path))) => {
            log::info!(target: "venture::server", component = "server", path:% = path.display(), server_key:% = key.fingerprint(); "server key loaded");
            Ok(key)
        }
        Ok((key, server_key::KeyOrigin::Created(path))) => {
            log::info!(target: "venture::server", component = "server", path:% = path.display(), server_key:% = key.fingerprint(); "server key generated (first start): back this file up; clients pin its public key");
            Ok(key)
        }
        Err(server_key::ServerKeyError::Unwritable { path, source }) => {
            let key = server_key::generate().map_err(server_key::ServerKeyError::Generate)?;
            log::error!(target: "venture::server", component = "server", path:% = path.display(), error:% = source, server_key:% = key.fingerprint(); "server key cannot be saved: using an ephemeral key for this run; clients that pin it will refuse this server after a restart");
            Ok(key)
        }
        Err(e) => Err(e.into()),
    }
}

impl ServerApp {
    /// Binds the sockets and generates the world; the server accepts players from here on.
    pub fn bind(config: ServerConfig) -> Result<ServerApp, ServerError> {
        let started = Instant::now();
        let mut config = config;
        let server_key = load_server_key(&config.saves_dir)?;
        // With -await-allocation the real world waits for Agones (allocation.rs).
        let opened = if config.await_allocation {
            allocation::stand_in(&config)?
        } else {
            world::open(&mut config)?
        };

        let addr = config.listen_addr();
        let mut udp =
            UdpCarrier::bind(addr).map_err(|source| ServerError::BindUdp { addr, source })?;
        let local_addr = udp.local_addr()?;
        // The HTTP listener takes the same port number over TCP (health checks like
        // `nc -zv host 8080` and Kubernetes tcpSocket probes hit it).
        let tcp_addr = SocketAddr::new(addr.ip(), local_addr.port());
        let listener = TcpListener::bind(tcp_addr).map_err(|source| ServerError::BindTcp {
            addr: tcp_addr,
            source,
        })?;

        let poll = Poll::new()?;
        udp.register(poll.registry(), UDP)?;
        let mut http = HttpServer::new(listener, HttpLimits::default());
        http.register(poll.registry(), HTTP_BASE)
            .map_err(|e| ServerError::Setup(e.to_string()))?;
        let mut signals = Signals::new([SIGTERM, SIGINT])?;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)?;

        // Players and spectators, each possibly mid-reconnect from a new port, plus room
        // for handshakes under way.
        let max_peers = 2 * (config.max_players as usize + config.max_spectators as usize) + 32;
        let epoch = Instant::now();
        let characters = characters::Characters::new(&config.saves_dir);
        let mut session = world::session(
            opened.world,
            &config,
            &characters,
            &server_key,
            Duration::ZERO,
        )?;
        session.set_awaiting_allocation(config.await_allocation);
        let interval = session.tick_interval();
        let layer = ServerLayer {
            keypair: server_key.clone(),
            max_peers,
        };
        let carriers = Both::new(
            udp,
            &[CarrierKind::Udp],
            StreamTable::new(STREAM_BASE, max_peers),
        );
        let driver = ServerDriver::with_layer(carriers, session, layer, epoch)
            .map_err(|e| ServerError::Setup(e.to_string()))?;
        let mut metrics = Metrics::new(crate::ops::cli::VERSION, crate::ops::cli::GIT_COMMIT);
        let substitutions = (metrics.register_input_substitutions(), Vec::new());
        let carrier_metrics = metrics.register_carriers();
        let standby_metrics = metrics.register_standby();
        standby_metrics.set_role("primary");
        if !config.await_allocation {
            world::describe(&mut metrics, &config);
        }
        let config_autosave = config.autosave;
        log::info!(
            target: "venture::server",
            component = "server", addr:% = local_addr, port = local_addr.port(), max_players = config.max_players,
            tick_rate = config.tick_rate, seed = config.seed, seed_random = config.seed_is_random,
            genre = config.genre.id(), version = crate::ops::cli::VERSION, server_key:% = server_key.fingerprint(),
            startup_ms = started.elapsed().as_millis() as u64, awaiting_allocation = config.await_allocation;
            "Starting Venture Game Server"
        );
        let await_allocation = config.await_allocation;
        // Ready goes out on the first loop turn: the sockets are bound by now.
        let agones = config.agones.then(|| {
            crate::ops::agones::AgonesClient::from_env(
                AGONES,
                Instant::now(),
                config.max_players,
                config.await_allocation,
            )
        });
        Ok(ServerApp {
            config,
            poll,
            driver,
            http,
            signals,
            metrics,
            health: Health {
                started,
                last_tick: Instant::now(),
                interval,
                shutting_down: false,
                stalled_until: None,
                persistence: None,
                awaiting_allocation: await_allocation,
            },
            last_stats: ServerStats::default(),
            last_carriers: Default::default(),
            carrier_metrics,
            last_layer: Default::default(),
            http_refused_seen: 0,
            http_cap_logged: false,
            local_addr,
            files: opened.files,
            recorder: opened.recorder,
            next_autosave: Instant::now() + config_autosave,
            save_requested: false,
            characters,
            agones,
            substitutions,
            durability: opened.durability,
            save_retry: durability::Backoff::default(),
            unsaved_characters: BTreeMap::new(),
            saved_tick: opened.saved_tick,
            fingerprint: server_key.fingerprint(),
            _locks: opened.locks,
            standby_metrics,
            server_key,
            promotion: None,
            deposed: None,
        })
    }

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
        let mut events = Events::with_capacity(256);
        loop {
            let now = Instant::now();
            let mut wake = self.driver.next_wakeup().min(now + MAX_SLEEP);
            if let Some(d) = self.http.next_deadline() {
                wake = wake.min(d);
            }
            if let Some(d) = self.agones.as_ref().and_then(|a| a.next_deadline()) {
                wake = wake.min(d);
            }
            match self
                .poll
                .poll(&mut events, Some(wake.saturating_duration_since(now)))
            {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
            let mut stop = None;
            for event in events.iter() {
                match event.token() {
                    SIGNALS => {
                        for sig in self.signals.pending() {
                            log::info!(target: "venture::server", component = "server", signal = sig; "shutdown requested");
                            stop = Some(if sig == SIGINT { "SIGINT" } else { "SIGTERM" });
                        }
                    }
                    UDP => {}
                    token if self.driver.carrier().second.owns(token) => {
                        let t = self.driver.since_epoch(Instant::now());
                        let registry = self.poll.registry();
                        self.driver
                            .carrier_mut()
                            .second
                            .handle_token(registry, token, t);
                    }
                    token if self.http.owns(token) => {
                        // HTTP first: a probe that waited through a stall sees the stall.
                        let now = Instant::now();
                        let view = routes::View {
                            app: &self.driver.session,
                            health: &self.health,
                            metrics: &self.metrics,
                            config: &self.config,
                            server_key: &self.fingerprint,
                            promotion: self.promotion.as_ref().map(|(p, d)| (p, d.done())),
                        };
                        self.http
                            .handle_token(self.poll.registry(), token, now, &mut |req| {
                                routes::route(&view, req, now)
                            });
                    }
                    _ => {}
                }
            }
            let now = Instant::now();
            let view = routes::View {
                app: &self.driver.session,
                health: &self.health,
                metrics: &self.metrics,
                config: &self.config,
                server_key: &self.fingerprint,
                promotion: self.promotion.as_ref().map(|(p, d)| (p, d.done())),
            };
            self.http.tick(self.poll.registry(), now, &mut |req| {
                routes::route(&view, req, now)
            });
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

    fn after_pump(&mut self, started: Instant) {
        let mut closed = 0u32;
        for event in self.driver.session.drain_events() {
            match event {
                ServerEvent::TickClosed { frame, checksum } => {
                    closed += 1;
                    self.metrics.observe_frame(&frame);
                    if let Some(rec) = self.recorder.as_mut() {
                        if let Err(e) = rec.record(&frame, checksum, self.driver.session.world()) {
                            let now = Instant::now();
                            self.durability
                                .note(durability::Source::Journal, Err(e), now);
                        }
                    }
                }
                ServerEvent::PlayerConnected { slot, name, addr } => {
                    log::info!(target: "venture::server", component = "server", playerID:% = name, slot = slot, addr:% = addr, tick = self.driver.session.world().tick(); "player connected");
                }
                ServerEvent::PlayerDisconnected {
                    slot,
                    name,
                    addr,
                    reason,
                    character,
                } => {
                    log::info!(target: "venture::server", component = "server", playerID:% = name, slot = slot, addr:% = addr, reason = reason.as_str(); "player disconnected");
                    if let Some(c) = character {
                        let (character, digest) = *c;
                        self.save_character(&name, &character, digest);
                    }
                    self.save_requested = true;
                }
                ServerEvent::Rejected { addr, reason } => {
                    log::info!(target: "venture::server", component = "server", addr:% = addr, reason:? = reason; "player rejected");
                }
                ServerEvent::Overrun { behind, closed } => {
                    if self.health.interval * behind.min(u32::MAX as u64) as u32 >= STALL {
                        self.health.stalled_until = Some(Instant::now() + STALL_REPORT);
                    }
                    log::warn!(target: "venture::server", component = "server", behind_ticks = behind, caught_up = closed; "tick overrun: the loop fell behind schedule");
                }
                ServerEvent::DesyncReported {
                    slot,
                    tick,
                    client_checksum,
                    server_checksum,
                } => {
                    log::warn!(target: "venture::server", component = "server", slot = slot, tick = tick, client_checksum = client_checksum, server_checksum = server_checksum; "client reported a desync");
                    self.metrics.desync_reports.inc();
                }
                ServerEvent::SnapshotStarted {
                    slot,
                    tick,
                    bytes,
                    reason,
                } => {
                    log::debug!(target: "venture::server", component = "server", slot = slot, tick = tick, bytes = bytes, reason:? = reason; "sending snapshot");
                    self.metrics.observe_snapshot(&reason);
                }
                ServerEvent::VersionMismatch {
                    addr,
                    client_protocol,
                    client_sim,
                } => {
                    log::warn!(
                        target: "venture::server",
                        component = "server", addr:% = addr, client_protocol = client_protocol, client_sim = client_sim,
                        server_protocol = venture_net::protocol::PROTOCOL_VERSION, server_sim = venture_sim::SIM_VERSION;
                        "client rejected: protocol or simulation version mismatch"
                    );
                    self.metrics.invalid_datagram("version");
                }
                ServerEvent::CapHit { cap } => {
                    log::warn!(target: "venture::server", component = "server", cap = cap; "resource cap reached; excess requests are dropped until it clears");
                    self.metrics.cap_hit(cap);
                }
                ServerEvent::SpectatorConnected { id, addr } => {
                    log::info!(target: "venture::server", component = "server", spectator = id, addr:% = addr, tick = self.driver.session.world().tick(); "spectator connected");
                }
                ServerEvent::SpectatorDisconnected { id, addr, reason } => {
                    log::info!(target: "venture::server", component = "server", spectator = id, addr:% = addr, reason = reason.as_str(); "spectator disconnected");
                }
                ServerEvent::SpectatorDesync {
                    id,
                    tick,
                    client_checksum,
                    server_checksum,
                } => {
                    log::warn!(target: "venture::server", component = "server", spectator = id, tick = tick, client_checksum = client_checksum, server_checksum = server_checksum; "spectator reported a desync");
                    self.metrics.desync_reports.inc();
                }
                ServerEvent::FollowerConnected { id, addr } => {
                    log::info!(target: "venture::standby", component = "standby", follower = id, addr:% = addr, tick = self.driver.session.world().tick(); "standby following");
                }
                ServerEvent::FollowerDisconnected { id, addr, reason } => {
                    log::warn!(target: "venture::standby", component = "standby", follower = id, addr:% = addr, reason = reason.as_str(); "standby stopped following");
                }
                ServerEvent::FollowerRefused { addr } => {
                    log::warn!(target: "venture::standby", component = "standby", addr:% = addr; "a standby was refused: its proof does not match this server's key");
                }
                ServerEvent::Deposed { addr }
                    if self
                        .promotion
                        .as_ref()
                        .and_then(|(_, d)| d.local_addr())
                        .is_some_and(|own| own.port() == addr.addr.port()) =>
                {
                    // Our own deposer reached us (the old primary's address is ours).
                }
                ServerEvent::Deposed { addr } => {
                    self.deposed = Some(addr.addr);
                    log::error!(target: "venture::standby", component = "standby", addr:% = addr; "this server was replaced: its standby took over and proved the server key; stopping without serving this world again");
                }
                ServerEvent::InvalidDatagram { addr, reason } => {
                    log::debug!(target: "venture::net", component = "net", addr:% = addr, reason:% = reason; "invalid datagram");
                    self.metrics.invalid_datagram("protocol");
                }
            }
        }
        if closed > 0 {
            let now = Instant::now();
            self.health.last_tick = now;
            let took = now.saturating_duration_since(started) / closed;
            for _ in 0..closed {
                self.metrics.observe_tick(took, self.health.interval);
            }
        }
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

    fn sync_metrics(&mut self) {
        // The HTTP connection cap: counted on every eviction or refusal, logged once per
        // episode.
        let counters = self.http.counters();
        let refused = counters.rejected_over_cap + counters.evicted;
        if refused > self.http_refused_seen {
            self.metrics
                .cap_hits
                .get_or_create(&[("cap", "http_connections")])
                .inc_by(refused - self.http_refused_seen);
            if !self.http_cap_logged {
                self.http_cap_logged = true;
                log::warn!(target: "venture::ops::http", component = "http", cap = self.http.limits().max_connections; "HTTP connection cap reached; the oldest idle or incomplete connections are evicted to make room");
            }
            self.http_refused_seen = refused;
        } else if self.http.open_connections() < self.http.limits().max_connections / 2 {
            self.http_cap_logged = false;
        }
        let s = self.driver.session.stats();
        let p = self.last_stats;
        // Packets and bytes are counted at the carriers: the secure layer drops some before
        // the session sees them, and those must still show.
        for kind in CarrierKind::ALL {
            let now = self.driver.carrier_stats(kind);
            let prev = self.last_carriers[kind.index()];
            self.metrics
                .datagrams_in
                .inc_by(now.packets_in.saturating_sub(prev.packets_in));
            self.metrics
                .bytes_in
                .inc_by(now.bytes_in.saturating_sub(prev.bytes_in));
            self.metrics
                .datagrams_out
                .inc_by(now.packets_out.saturating_sub(prev.packets_out));
            self.metrics
                .bytes_out
                .inc_by(now.bytes_out.saturating_sub(prev.bytes_out));
            self.carrier_metrics.count(kind, &prev, &now);
            let c = kind.as_str();
            let players = self
                .driver
                .session
                .players()
                .filter(|(_, _, r)| r.carrier == kind)
                .count();
            self.carrier_metrics
                .players
                .get_or_create(&[("carrier", c)])
                .set(players as i64);
            self.carrier_metrics
                .connections
                .get_or_create(&[("carrier", c)])
                .set(self.driver.carrier().second.count(kind) as i64);
            self.last_carriers[kind.index()] = now;
        }
        let layer = self.driver.layer_stats();
        let before = self.last_layer;
        for reason in venture_net::secure::DropReason::ALL {
            let n = layer.dropped(reason) - before.dropped(reason);
            if n > 0 {
                self.metrics
                    .datagrams_dropped
                    .get_or_create(&[("reason", reason.as_str())])
                    .inc_by(n);
            }
        }
        // The layer is the transport now: what it drops is the "transport" reason of the
        // invalid-datagram total (the per-reason detail is venture_datagrams_dropped_total).
        let dropped = layer.dropped_total() - before.dropped_total();
        if dropped > 0 {
            self.metrics
                .invalid_datagrams
                .get_or_create(&[("reason", "transport")])
                .inc_by(dropped);
        }
        self.metrics
            .secure_handshakes
            .inc_by(layer.handshakes - before.handshakes);
        self.metrics
            .secure_sessions
            .set(self.driver.secure_peers() as i64);
        self.last_layer = layer;
        self.metrics
            .late_inputs
            .inc_by(s.late_inputs - p.late_inputs);
        self.last_stats = s;
        let totals = self.driver.session.substitutions_by_slot();
        let (family, exported) = &mut self.substitutions;
        if exported.len() != totals.len() {
            // Every slot visible at 0 from the start, so rates work from the first scrape.
            exported.resize(totals.len(), 0);
            for slot in 0..totals.len() {
                family
                    .get_or_create(&[("slot", slot.to_string())])
                    .inc_by(0);
            }
        }
        for (slot, (&now, seen)) in totals.iter().zip(exported.iter_mut()).enumerate() {
            if now > *seen {
                family
                    .get_or_create(&[("slot", slot.to_string())])
                    .inc_by(now - *seen);
                *seen = now;
            }
        }
        let session = &self.driver.session;
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
        let players = self.driver.session.player_count() as i64;
        self.metrics.players.set(players);
        self.metrics
            .spectators
            .set(self.driver.session.spectator_count() as i64);
        let syncing = self.driver.session.syncing_count() as u64;
        self.metrics
            .set_connections(syncing, players as u64 - syncing);
        self.metrics.set_uptime(self.health.started.elapsed());
        let session = &self.driver.session;
        self.metrics.sync_players(
            session.slot_traffic(),
            session.player_links(),
            self.health.interval,
        );
        let evicted = self.http.counters().evicted;
        self.metrics
            .http_evictions
            .inc_by(evicted.saturating_sub(self.metrics.http_evictions.get()));
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
        let now = Instant::now();
        self.driver.flush(now);
        // Give the kernel a moment to send the goodbyes before the socket closes.
        std::thread::sleep(SHUTDOWN_GRACE.min(Duration::from_millis(50)));
        self.driver.flush(Instant::now());
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
