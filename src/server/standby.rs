//! The hot standby (`venture-server --standby-of HOST:PORT`): follows a primary, keeps its
//! own copy of the world, and takes over.
//!
//! Following: one follower session (`venture_net::client`'s follower mode, over the same
//! secure layer as players, pinned to our own `server.key`, which the primary must hold
//! too) gives a snapshot and then every confirmed frame. The standby steps its own world
//! with each frame and checks the primary's checksum, records frames through the same
//! [`Recorder`] as a primary (so `venture-replay verify` reads its log, and the promoted
//! server continues it as a new segment), writes the world on the autosave schedule and
//! every saved character the primary sends. Its disk alone can resume the world.
//!
//! While following it serves `/healthz` (200 while the process runs), `/readyz` (503: a
//! standby serves no players, so a load balancer or keepalived check sends no one here),
//! `/status` and `/metrics` (role, lag in ticks and seconds, the primary's silence) on
//! `-standby-http-port` (default `-port`).
//!
//! Promotion: when the primary has been silent for `-takeover-after` (default 1 s), or on
//! SIGUSR1 (the operator's command), the standby writes its world, characters and log,
//! lets go of everything, and starts as a primary on `-port` from its own saves
//! ([`ServerApp::bind`]). Fencing on shared storage: the world lock. A standby whose saves
//! directory is the primary's cannot lock the world while the primary lives (even frozen):
//! it follows in memory only (the newest frames kept) and refuses to take over until the
//! lock is free; then it completes the primary's session log with the frames the
//! primary's last flush missed, and continues it. Without
//! shared storage, the promoted server tells the old primary (see [`super::depose`]).
//!
//! The `ClientDriver` is built in one place, [`follower_driver`].

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Interest, Poll, Token};
use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
use signal_hook_mio::v1_0::Signals;
use venture_net::carrier::udp::UdpCarrier;
use venture_net::carrier::Carrier;
use venture_net::client::follow::FollowConfig;
use venture_net::client::{ClientConfig, ClientEvent, ClientSession, CloseReason, Phase};
use venture_net::driver::ClientDriver;
use venture_net::secure::initiator::{SecureEvent, Trust};
use venture_net::standby::FollowerKey;
use venture_replay::SessionWriter;
use venture_sim::character::Character;
use venture_sim::{Frame, World};

use super::characters::Characters;
use super::persist::{self, Recorder, WorldFiles};
use super::turn::{self, HTTP_BASE, SIGNALS};
use super::world_lock::WorldLock;
use super::{server_key, ServerApp, ServerError};
use crate::ops::cli::ServerConfig;
use crate::ops::http::{HttpLimits, HttpServer, Request, Response};
use crate::ops::metrics::{Metrics, StandbyMetrics};

/// Longest the loop sleeps without looking at the clock.
const MAX_SLEEP: Duration = Duration::from_millis(20);
/// A follower session that closed before it synced is started again after this.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);
/// A fenced or failed takeover is tried again after this.
const RETRY_TAKEOVER: Duration = Duration::from_secs(1);
/// Confirmed frames kept in memory while following without the world lock (saves shared
/// with the primary): 60 s at 20 Hz, far more than the primary's log can be behind (it
/// flushes every second), to complete that log at a takeover.
const MEMORY_FRAMES: usize = 1200;
/// How long the promoted server keeps trying to bind `-port` (the old primary's socket may
/// linger a moment after it died on the same host).
const BIND_PATIENCE: Duration = Duration::from_secs(30);

/// Why the standby took over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TakeoverCause {
    /// The primary was silent this long.
    Silence(Duration),
    /// SIGUSR1.
    Operator,
}

impl std::fmt::Display for TakeoverCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TakeoverCause::Silence(d) => {
                write!(f, "the primary was silent for {} ms", d.as_millis())
            }
            TakeoverCause::Operator => write!(f, "the operator asked (SIGUSR1)"),
        }
    }
}

/// What the promoted server knows of its past as a standby (for `/status`, the logs and
/// telling the old primary).
#[derive(Clone, Debug)]
pub struct Promotion {
    pub old_primary: SocketAddr,
    pub tick: u64,
    /// The newest confirmed tick the standby had received (above `tick` only if a frame
    /// after a hole had arrived: those ticks are lost).
    pub received: u64,
    /// The followed world (whatever `-seed`/`-genre` the standby was given).
    pub seed: u64,
    pub genre: venture_sim::Genre,
    pub cause: TakeoverCause,
    /// When the standby decided to take over.
    pub at: Instant,
}

/// The follower session to (or the depose session against) `primary`, over the secure
/// layer pinned to our own key: the one place this process builds a `ClientDriver`.
pub(super) fn follower_driver(
    primary: SocketAddr,
    key: &server_key::ServerKey,
    depose: bool,
    epoch: Instant,
) -> io::Result<ClientDriver<UdpCarrier>> {
    let bind: SocketAddr = if primary.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let socket = UdpCarrier::bind(bind)?;
    let mut config = ClientConfig::new("standby");
    config.follow = Some(FollowConfig {
        key: FollowerKey::derive(key.private()),
        depose,
    });
    config.report_confirmed = true;
    let now = Instant::now().saturating_duration_since(epoch);
    let session = ClientSession::new(config, primary, now);
    Ok(ClientDriver::with_trust(
        socket,
        session,
        Trust::Pinned(*key.public()),
        epoch,
    ))
}

/// Follows, takes over, then runs as the primary until stopped.
pub fn run(config: ServerConfig) -> Result<(), ServerError> {
    let Some(promotion) = Standby::new(&config)?.follow()? else {
        return Ok(());
    };
    // Start as a primary from our own saves: the world we just wrote.
    let started = Instant::now();
    let mut config = config;
    config.standby_of = None;
    config.new_world = false;
    config.seed = promotion.seed as i64;
    config.seed_is_random = false;
    config.genre = promotion.genre;
    let app = loop {
        match ServerApp::bind(config.clone()) {
            Ok(app) => break app,
            Err(e) if e.bind_port().is_some() && started.elapsed() < BIND_PATIENCE => {
                log::warn!(target: "venture::standby", component = "standby", error:% = e; "cannot bind the game port yet; retrying");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    };
    log::info!(
        target: "venture::standby", component = "standby", tick = promotion.tick,
        old_primary:% = promotion.old_primary, cause:% = promotion.cause,
        takeover_ms = promotion.at.elapsed().as_millis() as u64;
        "standby promoted: serving as the primary"
    );
    let mut app = app;
    app.promoted(promotion)?;
    app.run()
}

/// The follower's state.
struct Standby {
    config: ServerConfig,
    key: server_key::ServerKey,
    fingerprint: String,
    primary: SocketAddr,
    poll: Poll,
    signals: Signals,
    http: HttpServer,
    metrics: Metrics,
    standby_metrics: StandbyMetrics,
    epoch: Instant,
    started: Instant,
    driver: ClientDriver<UdpCarrier>,
    /// When a closed, never-synced follower session is started again.
    reconnect_at: Option<Instant>,
    /// Our own world, stepped with every confirmed frame (`None` until the first sync).
    world: Option<World>,
    files: Option<WorldFiles>,
    locks: Vec<WorldLock>,
    recorder: Option<Recorder>,
    /// Why the world cannot be locked (shared storage with a live primary).
    fenced: Option<String>,
    characters: Characters,
    /// Every claim the primary sent: name -> (secret digest, saved character).
    claims: BTreeMap<String, ([u8; 16], Option<Character>)>,
    next_autosave: Instant,
    takeover_requested: bool,
    next_takeover_try: Instant,
    /// Frames whose checksum differed from our own step (never expected: the session
    /// verified them against its own copy).
    mismatches: u64,
    /// Resyncs after the first sync.
    resyncs: u64,
    /// The newest confirmed frames, while following without the world lock.
    memory: VecDeque<(Frame, u32)>,
}

impl Standby {
    fn new(config: &ServerConfig) -> Result<Standby, ServerError> {
        let started = Instant::now();
        let target = config.standby_of.clone().unwrap_or_default();
        let primary = crate::client::resolve(&target)
            .map_err(|e| ServerError::Setup(format!("-standby-of {target}: {e}")))?;
        let key_path = config.saves_dir.join(server_key::KEY_FILE);
        let key = server_key::load(&key_path).map_err(|e| {
            ServerError::Setup(format!(
                "-standby-of needs the primary's server key in {} (copy saves/server.key from the primary, mode 0600): {e}",
                key_path.display()
            ))
        })?;
        let poll = Poll::new()?;
        let mut signals = Signals::new([SIGTERM, SIGINT, SIGUSR1])?;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)?;
        let http_addr =
            SocketAddr::new(config.bind, config.standby_http_port.unwrap_or(config.port));
        let listener = TcpListener::bind(http_addr).map_err(|source| ServerError::BindTcp {
            addr: http_addr,
            source,
        })?;
        let mut http = HttpServer::new(listener, HttpLimits::default());
        http.register(poll.registry(), HTTP_BASE)
            .map_err(|e| ServerError::Setup(e.to_string()))?;
        let mut metrics = Metrics::new(crate::ops::cli::VERSION, crate::ops::cli::GIT_COMMIT);
        let standby_metrics = metrics.register_standby();
        standby_metrics.set_role("standby");
        let epoch = Instant::now();
        let driver = follower_driver(primary, &key, false, epoch)?;
        log::info!(
            target: "venture::standby", component = "standby", primary:% = primary,
            http:% = http_addr, takeover_after_ms = config.takeover_after.as_millis() as u64,
            server_key:% = key.fingerprint(), version = crate::ops::cli::VERSION;
            "Starting Venture standby: following the primary"
        );
        Ok(Standby {
            fingerprint: key.fingerprint(),
            characters: Characters::new(&config.saves_dir),
            config: config.clone(),
            key,
            primary,
            poll,
            signals,
            http,
            metrics,
            standby_metrics,
            epoch,
            started,
            driver,
            reconnect_at: None,
            world: None,
            files: None,
            locks: Vec::new(),
            recorder: None,
            fenced: None,
            claims: BTreeMap::new(),
            next_autosave: Instant::now() + config.autosave,
            takeover_requested: false,
            next_takeover_try: Instant::now(),
            mismatches: 0,
            resyncs: 0,
            memory: VecDeque::new(),
        })
    }

    /// Follows until it takes over (`Some`) or is stopped by SIGTERM/SIGINT (`None`).
    fn follow(mut self) -> Result<Option<Promotion>, ServerError> {
        let mut waiter = turn::Waiter::new(64, MAX_SLEEP);
        loop {
            let deadlines = [Some(self.driver.next_wakeup())];
            let woken = waiter.wait(&mut self.poll, &mut self.signals, &self.http, deadlines);
            let Some(woken) = woken? else {
                continue;
            };
            let mut stop = false;
            for sig in woken.signals.iter().copied() {
                if sig == SIGUSR1 {
                    log::info!(target: "venture::standby", component = "standby"; "takeover requested by the operator (SIGUSR1)");
                    self.takeover_requested = true;
                } else {
                    log::info!(target: "venture::standby", component = "standby", signal = sig; "shutdown requested");
                    stop = true;
                }
            }
            for token in woken.tokens() {
                if self.http.owns(token) {
                    self.answer_http(Some(token));
                }
            }
            self.answer_http(None);
            self.pump();
            if stop {
                self.stop();
                return Ok(None);
            }
            if let Some(p) = self.maybe_take_over()? {
                return Ok(Some(p));
            }
        }
    }

    /// Answers HTTP ([`turn::answer_http`]) with the standby's view.
    fn answer_http(&mut self, token: Option<Token>) {
        let now = Instant::now();
        let view = self.view(now);
        let metrics = &self.metrics;
        turn::answer_http(
            &mut self.http,
            self.poll.registry(),
            token,
            now,
            &mut |req| route(&view, metrics, req),
        );
    }

    fn pump(&mut self) {
        let now = Instant::now();
        if self.reconnect_at.is_some_and(|t| now >= t) {
            self.reconnect_at = None;
            match follower_driver(self.primary, &self.key, false, self.epoch) {
                Ok(d) => self.driver = d,
                Err(e) => {
                    log::error!(target: "venture::standby", component = "standby", error:% = e; "cannot open the follower's socket");
                    self.reconnect_at = Some(now + RECONNECT_PAUSE);
                }
            }
        }
        loop {
            self.driver
                .pump(Instant::now(), &mut |_, _| venture_sim::PlayerInput::IDLE);
            if !self.driver.carrier_mut().take_pending() {
                break;
            }
        }
        for event in self.driver.take_layer_events() {
            match event {
                SecureEvent::KeyMismatch { presented, .. } => {
                    let why = format!(
                        "the primary presents key {} (not this standby's server.key)",
                        venture_net::secure::fingerprint(&presented)
                    );
                    self.driver.session.refuse(why);
                }
                SecureEvent::VersionMismatch { server_version } => {
                    let why = format!("the primary speaks secure layer version {server_version}");
                    self.driver.session.refuse(why);
                }
                SecureEvent::KeyPinned(_) | SecureEvent::Established => {
                    log::debug!(target: "venture::standby", component = "standby"; "secure session with the primary established");
                }
            }
        }
        for ev in self.driver.session.drain_events() {
            self.on_event(ev);
        }
        let now = Instant::now();
        if let (Some(rec), Some(world)) = (self.recorder.as_mut(), self.world.as_ref()) {
            if let Err(e) = rec.maybe_flush(now, world) {
                log::error!(target: "venture::standby", component = "standby", error:% = e; "session log");
            }
        }
        if now >= self.next_autosave {
            self.next_autosave = now + self.config.autosave;
            self.save();
        }
        self.sync_metrics();
    }

    fn on_event(&mut self, ev: ClientEvent) {
        match ev {
            ClientEvent::Welcomed {
                seed,
                genre,
                start_tick,
                ..
            } => {
                log::info!(target: "venture::standby", component = "standby", primary:% = self.primary, seed = seed, genre = genre, tick = start_tick; "admitted as a follower");
            }
            ClientEvent::Synced { tick, world } => {
                if self.world.is_some() {
                    self.resyncs += 1;
                }
                self.start_recording(*world);
                log::info!(target: "venture::standby", component = "standby", tick = tick, recording = self.recorder.is_some(); "following from the primary's snapshot");
            }
            ClientEvent::Confirmed {
                frame, checksum, ..
            } => {
                let Some(world) = self.world.as_mut() else {
                    return;
                };
                if frame.tick != world.tick() + 1 {
                    return;
                }
                if let Err(e) = world.step(&frame) {
                    log::error!(target: "venture::standby", component = "standby", tick = frame.tick, error:% = e; "a confirmed frame does not step");
                    return;
                }
                if world.checksum() != checksum {
                    self.mismatches += 1;
                    log::error!(target: "venture::standby", component = "standby", tick = frame.tick, ours = world.checksum(), primary = checksum; "checksum differs from the primary's");
                }
                if let Some(rec) = self.recorder.as_mut() {
                    if let Err(e) = rec.record(&frame, checksum, world) {
                        log::error!(target: "venture::standby", component = "standby", error:% = e; "session log");
                    }
                } else if self.locks.is_empty() {
                    if self.memory.len() >= MEMORY_FRAMES {
                        self.memory.pop_front();
                    }
                    self.memory.push_back((frame, checksum));
                }
            }
            ClientEvent::Claim(r) => {
                // Written only under the world lock: saves shared with a live primary
                // are the primary's to write.
                if let (Some(c), false) = (&r.character, self.locks.is_empty()) {
                    if let Err(e) = self.characters.write(&r.name, c, r.secret_digest) {
                        log::error!(target: "venture::standby", component = "standby", error:% = e; "character not saved");
                    }
                }
                let r = *r;
                self.claims.insert(r.name, (r.secret_digest, r.character));
            }
            ClientEvent::Desync { tick, .. } => {
                log::error!(target: "venture::standby", component = "standby", tick = tick; "desync with the primary: resyncing from a snapshot");
            }
            ClientEvent::Closed(reason) => {
                if let CloseReason::Rejected(venture_net::protocol::RejectReason::FollowerRefused)
                | CloseReason::Refused(_) = reason
                {
                    log::error!(target: "venture::standby", component = "standby", primary:% = self.primary, reason:% = reason; "the primary refused this standby: both need the same server.key");
                } else {
                    log::warn!(target: "venture::standby", component = "standby", primary:% = self.primary, reason:% = reason; "follower session closed; starting another");
                }
                self.reconnect_at = Some(Instant::now() + RECONNECT_PAUSE);
            }
        }
    }

    /// Starts (or, after a resync, restarts) our own copy: the world files locked if we
    /// can, the old data of this world set aside, the snapshot written, a new log.
    fn start_recording(&mut self, world: World) {
        let config = world.config();
        let replay_dir = (!self.config.no_replay).then_some(self.config.replay_dir.as_path());
        let files = WorldFiles::new(
            &self.config.saves_dir,
            replay_dir,
            config.seed,
            config.genre,
        );
        if self.locks.is_empty() {
            match files.lock() {
                Ok(l) => {
                    self.locks = l;
                    self.fenced = None;
                }
                Err(e) => {
                    if self.fenced.is_none() {
                        log::warn!(target: "venture::standby", component = "standby", error:% = e; "the world is locked by another process (saves shared with the primary?): following in memory only; taking over waits for the lock");
                    }
                    self.fenced = Some(e.to_string());
                }
            }
        }
        if self.fenced.is_none() {
            self.recorder = None;
            for note in persist::retire_world(&files) {
                log::info!(target: "venture::standby", component = "standby"; "{note}");
            }
            if let Err(e) = persist::save_world(&files, &world) {
                log::error!(target: "venture::standby", component = "standby", error:% = e; "world not saved");
            }
            if let Some(log) = &files.log {
                match Recorder::create(log, &world) {
                    Ok(r) => self.recorder = Some(r),
                    Err(e) => {
                        log::error!(target: "venture::standby", component = "standby", error:% = e; "cannot record the session log")
                    }
                }
            }
            for (name, (digest, c)) in &self.claims {
                if let Some(c) = c {
                    let _ = self.characters.write(name, c, *digest);
                }
            }
        }
        self.files = Some(files);
        self.world = Some(world);
    }

    /// Writes the world, the characters of the players in it, and syncs the log.
    fn save(&mut self) {
        let (Some(world), Some(files)) = (self.world.as_ref(), self.files.as_ref()) else {
            return;
        };
        if self.locks.is_empty() {
            return;
        }
        for slot in 0..usize::from(world.config().max_players) {
            let Some(p) = world.player(slot) else {
                continue;
            };
            if let Some((digest, _)) = self.claims.get(&p.name) {
                let c = Character::of(p);
                if let Err(e) = self.characters.write(&p.name, &c, *digest) {
                    log::error!(target: "venture::standby", component = "standby", error:% = e; "character not saved");
                }
            }
        }
        if let Err(e) = persist::save_world(files, world) {
            log::error!(target: "venture::standby", component = "standby", error:% = e; "world not saved");
        }
        if let Some(rec) = self.recorder.as_mut() {
            if let Err(e) = rec.sync(Instant::now(), world) {
                log::error!(target: "venture::standby", component = "standby", error:% = e; "session log not synced");
            }
        }
    }

    fn stop(&mut self) {
        self.save();
        if let (Some(rec), Some(world)) = (self.recorder.take(), self.world.as_ref()) {
            if let Err(e) = rec.stop("standby stopped", world) {
                log::error!(target: "venture::standby", component = "standby", error:% = e; "session log: the stop could not be recorded");
            }
        }
        log::info!(target: "venture::standby", component = "standby", tick = self.world.as_ref().map_or(0, World::tick); "standby stopped");
    }

    fn silence(&self, now: Instant) -> Duration {
        self.driver.session.silent_for(self.driver.since_epoch(now))
    }

    /// Takes over when it is time and the world lock allows.
    fn maybe_take_over(&mut self) -> Result<Option<Promotion>, ServerError> {
        let now = Instant::now();
        let silence = self.silence(now);
        let due = self.takeover_requested || silence >= self.config.takeover_after;
        if !due || self.world.is_none() || now < self.next_takeover_try {
            return Ok(None);
        }
        let cause = if self.takeover_requested {
            TakeoverCause::Operator
        } else {
            TakeoverCause::Silence(silence)
        };
        if self.locks.is_empty() {
            let Some(files) = self.files.as_ref() else {
                return Ok(None);
            };
            match files.lock() {
                Ok(l) => {
                    log::info!(target: "venture::standby", component = "standby"; "the world lock is free: the primary is gone");
                    self.locks = l;
                    self.fenced = None;
                    self.complete_shared_log();
                }
                Err(e) => {
                    self.next_takeover_try = now + RETRY_TAKEOVER;
                    log::warn!(target: "venture::standby", component = "standby", error:% = e, cause:% = cause; "not taking over: fenced by the world lock (the primary still holds it)");
                    self.fenced = Some(e.to_string());
                    return Ok(None);
                }
            }
        }
        let tick = self.world.as_ref().map_or(0, World::tick);
        let received = self.driver.session.newest_frame_seen().max(tick);
        log::warn!(target: "venture::standby", component = "standby", tick = tick, received_tick = received, cause:% = cause; "taking over from the primary");
        self.save();
        if let (Some(rec), Some(world)) = (self.recorder.as_mut(), self.world.as_ref()) {
            // The promoted server continues this log with a Resume record (a new segment).
            if let Err(e) = rec.sync(now, world) {
                log::error!(target: "venture::standby", component = "standby", error:% = e; "session log not synced before the takeover");
            }
        }
        self.http.shutdown(self.poll.registry());
        Ok(Some(Promotion {
            old_primary: self.primary,
            tick,
            received,
            seed: self.world.as_ref().map_or(0, |w| w.config().seed),
            genre: self
                .world
                .as_ref()
                .map_or(self.config.genre, |w| w.config().genre),
            cause,
            at: now,
        }))
    }

    /// Saves shared with the dead primary: its session log ends where its last flush did;
    /// the frames after that, which we hold, are appended so that the promoted server
    /// continues one log (its `Resume` makes the takeover a new segment).
    fn complete_shared_log(&mut self) {
        let (Some(files), Some(world)) = (self.files.as_ref(), self.world.as_ref()) else {
            return;
        };
        let Some(path) = files.log.as_ref() else {
            return;
        };
        let (mut writer, recovered) = match SessionWriter::open_append(path) {
            Ok(x) => x,
            Err(e) => {
                log::warn!(target: "venture::standby", component = "standby", error:% = e; "cannot continue the primary's session log");
                return;
            }
        };
        let from = recovered.last_tick;
        if recovered.stopped.is_some() || from >= world.tick() {
            return;
        }
        if self.memory.front().is_none_or(|(f, _)| f.tick > from + 1) {
            log::warn!(target: "venture::standby", component = "standby", log_ends = from, tick = world.tick(); "the primary's log ends before the frames this standby holds");
            return;
        }
        let written = self
            .memory
            .iter()
            .filter(|(f, _)| f.tick > from)
            .try_for_each(|(f, c)| writer.append_frame(f, *c))
            .and_then(|()| writer.sync());
        match written {
            Ok(()) => {
                log::info!(target: "venture::standby", component = "standby", from = from, to = world.tick(); "completed the primary's session log with the frames this standby received")
            }
            Err(e) => {
                log::error!(target: "venture::standby", component = "standby", error:% = e; "cannot complete the primary's session log")
            }
        }
    }

    fn lag_ticks(&self) -> u64 {
        let ours = self.world.as_ref().map_or(0, World::tick);
        self.driver.session.newest_frame_seen().saturating_sub(ours)
    }

    fn sync_metrics(&mut self) {
        let rate = self.world.as_ref().map_or(20, |w| w.config().tick_rate);
        self.standby_metrics.set_lag(self.lag_ticks(), rate);
        let silence = self.silence(Instant::now());
        self.standby_metrics
            .primary_silence_seconds
            .set(silence.as_secs_f64());
        self.metrics.set_uptime(self.started.elapsed());
    }

    fn view(&self, now: Instant) -> View {
        let phase = match self.driver.session.phase() {
            Phase::Playing => "following",
            Phase::Syncing => "syncing",
            Phase::Closed(_) => "closed",
            _ => "connecting",
        };
        let world = self.world.as_ref();
        View {
            body: serde_json::json!({
                "role": "standby",
                "version": crate::ops::cli::VERSION,
                "commit": crate::ops::cli::GIT_COMMIT,
                "sim_version": venture_sim::SIM_VERSION,
                "protocol_version": venture_net::protocol::PROTOCOL_VERSION,
                "server_key": self.fingerprint,
                "primary": self.primary.to_string(),
                "phase": phase,
                "seed": world.map(|w| w.config().seed),
                "genre": world.map(|w| w.config().genre.id()),
                "tick": world.map_or(0, World::tick),
                "primary_tick": self.driver.session.newest_frame_seen(),
                "lag_ticks": self.lag_ticks(),
                "lag_s": self.lag_ticks() as f64 / f64::from(world.map_or(20, |w| w.config().tick_rate).max(1)),
                "primary_silent_ms": self.silence(now).as_millis() as u64,
                "takeover_after_ms": self.config.takeover_after.as_millis() as u64,
                "characters": self.claims.len(),
                "recording": self.recorder.is_some(),
                "fenced": self.fenced,
                "checksum_mismatches": self.mismatches,
                "resyncs": self.resyncs,
                "uptime_s": now.saturating_duration_since(self.started).as_secs(),
            }),
        }
    }
}

/// What the standby's routes show.
struct View {
    body: serde_json::Value,
}

fn route(view: &View, metrics: &Metrics, req: &Request) -> Response {
    match req.path.as_str() {
        "/healthz" => Response::text(200, "ok (standby)\n"),
        // Not ready: a standby serves no players (load balancers and keepalived's check
        // keep traffic on the primary).
        "/readyz" => Response::text(503, "standby: following the primary, not serving\n"),
        "/metrics" => {
            let format = crate::ops::metrics::exposition::negotiate(req.header("accept"));
            Response::new(200, format.content_type(), metrics.encode_as(format))
                .with_header("Vary", "Accept")
        }
        "/status" => Response::json(200, format!("{}\n", view.body)),
        _ => Response::not_found(),
    }
}
