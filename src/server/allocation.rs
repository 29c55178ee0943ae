//! `-agones -await-allocation`: the world waits for Agones. A server in a warm fleet binds,
//! goes Ready and serves health with no world of its own; when the Agones client sees its
//! GameServer Allocated, the allocation's annotations (`venture.dev/seed`,
//! `venture.dev/genre`) choose the world, which is then opened ([`super::world::open`]:
//! locked, resumed or generated) and served.
//!
//! Until then the game session holds a [`stand_in`]: the smallest valid world, because a
//! session (and the driver around it) needs one. Nobody ever sees it: the session refuses
//! every player and spectator with `AwaitingAllocation`, nothing of it is saved or
//! journaled, `/status` shows no seed or genre, and the metrics describe no world. On
//! allocation the session is replaced whole; the driver, its sockets and the secure
//! layer stay.

use std::time::Instant;

use venture_sim::{SimConfig, World};

use super::world::{self, OpenedWorld};
use super::{durability, persist, ServerApp, ServerError};
use crate::ops::agones::allocation::Allocation;
use crate::ops::cli::ServerConfig;

/// The stand-in world and no files: what a server awaiting its allocation holds.
pub(super) fn stand_in(config: &ServerConfig) -> Result<OpenedWorld, ServerError> {
    let sim = SimConfig {
        seed: 0,
        genre: config.genre,
        width: venture_sim::map::MIN_SIDE,
        height: venture_sim::map::MIN_SIDE,
        tick_rate: config.tick_rate,
        max_players: config.max_players as u8,
        ..SimConfig::default()
    };
    let world = World::new(&sim).map_err(|e| ServerError::World(e.to_string()))?;
    log::info!(target: "venture::world", component = "world"; "awaiting an Agones allocation: no world until then (players are told so)");
    Ok(OpenedWorld {
        world,
        // Paths only: nothing is locked, read or written while awaiting.
        files: persist::WorldFiles::new(&config.saves_dir, None, 0, config.genre),
        locks: Vec::new(),
        recorder: None,
        saved_tick: 0,
        durability: durability::Durability::default(),
    })
}

impl ServerApp {
    /// The allocation came: choose the world from its annotations (or the flags), open
    /// it, and serve it in place of the stand-in. An error here (the world is locked by
    /// another process, say) stops the server: an allocated server without its world is
    /// of no use to the players sent to it.
    pub(super) fn allocate(&mut self, allocation: Allocation) -> Result<(), ServerError> {
        if !self.health.awaiting_allocation {
            return Ok(());
        }
        let choice = allocation.world_choice();
        for error in &choice.errors {
            log::error!(target: "venture::agones", component = "agones"; "{error}; using the flag's value");
        }
        if let Some(seed) = choice.seed {
            self.config.seed = seed;
            self.config.seed_is_random = false;
        }
        if let Some(genre) = choice.genre {
            self.config.genre = genre;
        }
        log::info!(
            target: "venture::server",
            component = "server", seed = self.config.seed, seed_random = self.config.seed_is_random,
            genre = self.config.genre.id(), seed_from_allocation = choice.seed.is_some(),
            genre_from_allocation = choice.genre.is_some();
            "allocated: opening the world"
        );
        let opened = world::open(&mut self.config)?;
        let now = self.driver.since_epoch(Instant::now());
        let mut session = world::session(
            opened.world,
            &self.config,
            &self.characters,
            &self.server_key,
            now,
        )?;
        // As the driver set it on the session it was built with.
        session.set_admitted_by_transport(true);
        self.driver.session = session;
        self.collector.session_replaced();
        self.files = opened.files;
        self.recorder = opened.recorder;
        self._locks = opened.locks;
        self.saved_tick = opened.saved_tick;
        self.durability = opened.durability;
        self.next_autosave = Instant::now() + self.config.autosave;
        world::describe(&mut self.metrics, &self.config);
        self.health.awaiting_allocation = false;
        log::info!(target: "venture::server", component = "server", seed = self.config.seed, genre = self.config.genre.id(); "world ready: accepting players");
        Ok(())
    }
}
