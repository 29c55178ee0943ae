//! The world a server serves, opened with everything tied to it: without `-seed` the most
//! recent unlocked world is resumed, else the chosen one; its files are locked (one writer
//! per world), `--new-world` retires the old saves, and the snapshot plus the session log
//! are resumed or the world is generated. [`open`] runs at start, or, with
//! `-await-allocation`, when Agones allocates the server (see `allocation.rs`).

use std::time::{Duration, Instant};

use venture_net::server::{ServerSession, SessionConfig};
use venture_sim::{SimConfig, World};

use super::{characters, durability, persist, world_lock, ServerError};
use crate::ops::cli::ServerConfig;
use crate::ops::metrics::Metrics;

/// A world and what is tied to it.
pub(super) struct OpenedWorld {
    pub world: World,
    pub files: persist::WorldFiles,
    pub locks: Vec<world_lock::WorldLock>,
    pub recorder: Option<persist::Recorder>,
    /// Tick of the snapshot it was resumed from (0 for a new world).
    pub saved_tick: u64,
    pub durability: durability::Durability,
}

/// Opens the world `config` names (and settles `config.seed`/`genre` when resuming the
/// most recent one).
pub(super) fn open(config: &mut ServerConfig) -> Result<OpenedWorld, ServerError> {
    // Without -seed, a restart resumes the most recent world instead of rolling a new one.
    // Worlds another process holds are skipped: one writer per world.
    let replay_dir = (!config.no_replay).then_some(config.replay_dir.as_path());
    let mut locks = None;
    if config.seed_is_random && !config.new_world {
        let (recent, skipped) = persist::most_recent_unlocked(&config.saves_dir, replay_dir);
        for note in skipped {
            log::warn!(target: "venture::server", component = "server"; "{note}");
        }
        if let Some((seed, genre, held)) = recent {
            log::info!(target: "venture::server", component = "server", seed = seed, genre = genre.id(); "resuming the most recent world (use -seed or --new-world to choose)");
            config.seed = seed as i64;
            config.seed_is_random = false;
            config.genre = genre;
            locks = Some(held);
        }
    }
    let sim = SimConfig {
        seed: config.seed as u64,
        genre: config.genre,
        tick_rate: config.tick_rate,
        max_players: config.max_players as u8,
        ..SimConfig::default()
    };
    sim.validate()
        .map_err(|e| ServerError::World(e.to_string()))?;
    let files = persist::WorldFiles::new(&config.saves_dir, replay_dir, sim.seed, sim.genre);
    let locks = match locks {
        Some(held) => held,
        None => files.lock()?,
    };
    for lock in &locks {
        log::debug!(target: "venture::save", component = "save", path:% = lock.path.display(); "lock held");
    }
    if config.new_world {
        for note in persist::retire_world(&files) {
            log::warn!(target: "venture::save", component = "save"; "{note}");
        }
    }
    let gen_started = Instant::now();
    let (world, recorder, report) = persist::resume(&files, &sim);
    let saved_tick = report.snapshot_tick.unwrap_or(0);
    let mut durability = durability::Durability::default();
    if recorder.as_ref().is_some_and(|r| r.is_failing()) {
        let why = "the session log cannot be written (see the error above)".to_string();
        durability.note(durability::Source::Journal, Err(why), Instant::now());
    }
    for note in &report.notes {
        log::info!(target: "venture::save", component = "save"; "{note}");
    }
    for warning in &report.warnings {
        log::error!(target: "venture::save", component = "save"; "{warning}");
    }
    if world.tick() > 0 {
        log::info!(
            target: "venture::save",
            component = "save", seed = config.seed, genre = config.genre.id(), tick = world.tick(),
            snapshot_tick = report.snapshot_tick.unwrap_or(0), journal_ticks = report.replayed_ticks;
            "world resumed"
        );
    }
    log::info!(
        target: "venture::world",
        component = "world", seed = config.seed, genre = config.genre.id(),
        generator = world.level().generator.name(), width = world.map().width(), height = world.map().height(),
        rooms = world.level().rooms.len(), tick = world.tick(), checksum = world.checksum(),
        generation_us = gen_started.elapsed().as_micros() as u64;
        "world generated"
    );
    Ok(OpenedWorld {
        world,
        files,
        locks,
        recorder,
        saved_tick,
        durability,
    })
}

/// The game session around `world`, with the saved characters loaded and our hot
/// standby's key (it holds the same `server.key` and proves it, see `standby`). `now` is
/// the driver's clock (time since its epoch).
pub(super) fn session(
    world: World,
    config: &ServerConfig,
    characters: &characters::Characters,
    server_key: &venture_net::secure::StaticKeypair,
    now: Duration,
) -> Result<ServerSession, ServerError> {
    let mut secret = [0u8; 16];
    getrandom::fill(&mut secret)
        .map_err(|e| ServerError::Setup(format!("no OS randomness for the cookie secret: {e}")))?;
    let session_config = SessionConfig {
        max_players: config.max_players as u8,
        genre: config.genre.id().to_string(),
        max_spectators: u16::try_from(config.max_spectators).unwrap_or(u16::MAX),
        spectator_delay: config.spectator_delay,
        ..SessionConfig::default()
    };
    let mut session = ServerSession::new(world, session_config, secret, now);
    session.set_follower_key(Some(venture_net::standby::FollowerKey::derive(
        server_key.private(),
    )));
    let (loaded, warnings) = characters.load_into(&mut session);
    for w in warnings {
        log::error!(target: "venture::save", component = "save"; "{w}");
    }
    if loaded > 0 {
        log::info!(target: "venture::save", component = "save", characters = loaded; "saved characters loaded");
    }
    Ok(session)
}

/// The world and build in the metrics (`venture_server_info`, the slot families): once,
/// when the world is known.
pub(super) fn describe(metrics: &mut Metrics, config: &ServerConfig) {
    metrics.describe_server(&crate::ops::metrics::ServerInfo {
        seed: config.seed,
        genre: config.genre.id().to_string(),
        max_players: config.max_players,
        tick_rate: config.tick_rate,
        sim_version: venture_sim::SIM_VERSION,
        protocol_version: venture_net::protocol::PROTOCOL_VERSION,
    });
}
