//! The world: all simulation state, generated from a [`SimConfig`] and advanced one tick per
//! [`Frame`]. Systems run in a fixed order each tick and iterate entities in id order; the
//! game rules and their order are in [`crate::gameplay`].

use crate::config::{ConfigError, SimConfig};
use crate::entity::{Ally, GroundItem, Monster, Projectile};
use crate::event::{Event, IgnoredReason};
use crate::gen::Level;
use crate::input::{valid_chat, valid_name, Command, Frame};
use crate::map::TileMap;
use crate::nav::{FlowField, NavGoals};
use crate::player::{EntityId, Player};
use crate::rng::{Purpose, Stream};
use crate::units::Vec2;
use serde::{Deserialize, Serialize};

/// Version of the simulation rules and state layout. Bump it whenever a golden checksum
/// changes: replays and peers refuse a different version.
pub const SIM_VERSION: u32 = 7;

/// A frame that cannot be applied to this world.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("frame for tick {got} does not follow tick {current} (expected {})", current.saturating_add(1))]
    WrongTick { current: u64, got: u64 },
    #[error("frame has {0} commands (at most {max})", max = crate::input::MAX_COMMANDS_PER_FRAME)]
    TooManyCommands(usize),
}

/// The random streams the rules draw from, one per purpose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Streams {
    pub combat: Stream,
    pub ai: Stream,
    pub loot: Stream,
    pub spawn: Stream,
}

impl Streams {
    fn new(seed: u64) -> Self {
        Streams {
            combat: Stream::new(seed, Purpose::Combat),
            ai: Stream::new(seed, Purpose::Ai),
            loot: Stream::new(seed, Purpose::Loot),
            spawn: Stream::new(seed, Purpose::Spawn),
        }
    }
}

/// Every byte of simulation state. The checksum and the snapshot are this struct's
/// encoding, so nothing outside it can influence the next tick.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WorldState {
    pub config: SimConfig,
    pub tick: u64,
    pub level: Level,
    pub next_entity: u32,
    /// Indexed by slot; `None` is a free slot. Length is `config.max_players`.
    pub players: Vec<Option<Player>>,
    pub streams: Streams,
    /// Living monsters, sorted by id.
    pub monsters: Vec<Monster>,
    /// Spells in flight, sorted by id.
    pub projectiles: Vec<Projectile>,
    /// Items on the floor, sorted by id.
    pub ground_items: Vec<GroundItem>,
    /// Summoned allies, sorted by id.
    pub allies: Vec<Ally>,
    /// The goals the monsters' flow field is built from (the field is a cache in `World`).
    pub nav: NavGoals,
}

/// The simulation. Cloning is cheap enough for rollback (a few tens of KB).
#[derive(Clone, Debug)]
pub struct World {
    pub(crate) state: WorldState,
    /// What the last `step` did (derived output; never read by the rules).
    pub(crate) events: Vec<Event>,
    /// Flow-field cache derived from `state.nav` (rebuilt on demand; not state).
    pub(crate) flow: FlowField,
}

impl PartialEq for World {
    /// Worlds are equal when their states are; events are output, not state.
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state
    }
}
impl Eq for World {}

impl World {
    /// Generates the world for `config` at tick 0.
    pub fn new(config: &SimConfig) -> Result<World, ConfigError> {
        config.validate()?;
        let level = crate::gameplay::generate_level(config);
        let state = WorldState {
            config: config.clone(),
            tick: 0,
            level,
            next_entity: 1,
            players: vec![None; config.max_players as usize],
            streams: Streams::new(config.seed),
            monsters: Vec::new(),
            projectiles: Vec::new(),
            ground_items: Vec::new(),
            allies: Vec::new(),
            nav: NavGoals::default(),
        };
        let mut world = World::from_state(state);
        world.populate();
        Ok(world)
    }

    pub(crate) fn from_state(state: WorldState) -> World {
        World {
            state,
            events: Vec::new(),
            flow: FlowField::default(),
        }
    }

    /// Current dungeon depth (1 at the start, +1 per descent).
    pub fn depth(&self) -> u32 {
        self.state.config.depth
    }

    /// Living monsters in id order.
    pub fn monsters(&self) -> &[Monster] {
        &self.state.monsters
    }

    /// Spells in flight in id order.
    pub fn projectiles(&self) -> &[Projectile] {
        &self.state.projectiles
    }

    /// Items on the floor in id order.
    pub fn ground_items(&self) -> &[GroundItem] {
        &self.state.ground_items
    }

    /// Summoned allies in id order.
    pub fn allies(&self) -> &[Ally] {
        &self.state.allies
    }

    /// The tick of the last applied frame (0 right after generation).
    pub fn tick(&self) -> u64 {
        self.state.tick
    }

    pub fn config(&self) -> &SimConfig {
        &self.state.config
    }

    pub fn level(&self) -> &Level {
        &self.state.level
    }

    pub fn map(&self) -> &TileMap {
        &self.state.level.map
    }

    /// The player in `slot`, if any.
    pub fn player(&self, slot: usize) -> Option<&Player> {
        self.state.players.get(slot).and_then(Option::as_ref)
    }

    /// Occupied slots with their players, in slot order.
    pub fn players(&self) -> impl Iterator<Item = (usize, &Player)> {
        self.state
            .players
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i, p)))
    }

    pub fn player_count(&self) -> usize {
        self.state.players.iter().filter(|p| p.is_some()).count()
    }

    /// DIAGNOSTICS ONLY: makes this world disagree with every other copy of it, so a
    /// client can watch the desync path work (`venture-client --inject-desync TICK`). It
    /// changes exactly one field: the gold of the player in the lowest occupied slot, by +1
    /// (by -1 at `u32::MAX`, so it always changes), which keeps the state valid (any gold
    /// is a legal amount) and makes a dump diff name exactly `players[N].gold`. Returns the
    /// slot altered, or `None` (nothing changed) when no player is present.
    ///
    /// Never call it on an authoritative world: the server does not, and a world altered
    /// by it is by definition wrong.
    pub fn inject_fault_for_diagnostics(&mut self) -> Option<usize> {
        let (slot, player) = self
            .state
            .players
            .iter_mut()
            .enumerate()
            .find_map(|(i, p)| p.as_mut().map(|p| (i, p)))?;
        player.gold = match player.gold.checked_add(1) {
            Some(more) => more,
            None => player.gold.saturating_sub(1),
        };
        Some(slot)
    }

    /// Every byte of state as its serde form (the fields the checksum and the snapshot
    /// cover, under their Rust names), for inspection tools: whole-state dumps and diffs.
    pub fn state_view(&self) -> impl Serialize + '_ {
        &self.state
    }

    /// Events of the last step.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Advances one tick. `frame.tick` must be `self.tick() + 1`; a rejected frame leaves
    /// the world unchanged.
    pub fn step(&mut self, frame: &Frame) -> Result<(), StepError> {
        let current = self.state.tick;
        if frame.tick != current.wrapping_add(1) {
            return Err(StepError::WrongTick {
                current,
                got: frame.tick,
            });
        }
        if frame.commands.len() > crate::input::MAX_COMMANDS_PER_FRAME {
            return Err(StepError::TooManyCommands(frame.commands.len()));
        }
        self.events.clear();
        self.state.tick = frame.tick;
        for command in &frame.commands {
            self.apply_command(command);
        }
        self.run_rules(frame);
        Ok(())
    }

    fn apply_command(&mut self, command: &Command) {
        match command {
            Command::Join { slot, name } => {
                let reason = match self.state.players.get(*slot as usize) {
                    None => Some(IgnoredReason::SlotOutOfRange),
                    Some(Some(_)) => Some(IgnoredReason::SlotTaken),
                    Some(None) if !valid_name(name) => Some(IgnoredReason::InvalidName),
                    Some(None) => None,
                };
                if let Some(reason) = reason {
                    self.events.push(Event::CommandIgnored {
                        slot: *slot,
                        reason,
                    });
                    return;
                }
                let id = self.allocate_id();
                let pos = self.spawn_position(*slot as usize);
                self.state.players[*slot as usize] = Some(Player::new(id, name.clone(), pos));
                self.events.push(Event::PlayerJoined {
                    slot: *slot,
                    name: name.clone(),
                });
            }
            Command::Leave { slot } => match self
                .state
                .players
                .get_mut(*slot as usize)
                .and_then(Option::take)
            {
                Some(p) => self.events.push(Event::PlayerLeft {
                    slot: *slot,
                    name: p.name,
                }),
                None => self.events.push(Event::CommandIgnored {
                    slot: *slot,
                    reason: IgnoredReason::NoSuchPlayer,
                }),
            },
            Command::Restore { slot, progress } => {
                match self
                    .state
                    .players
                    .get_mut(*slot as usize)
                    .and_then(Option::as_mut)
                {
                    Some(p) => crate::character::restore(p, progress),
                    None => self.events.push(Event::CommandIgnored {
                        slot: *slot,
                        reason: IgnoredReason::NoSuchPlayer,
                    }),
                }
            }
            Command::GiveItem { slot, item, equip } => {
                match self
                    .state
                    .players
                    .get_mut(*slot as usize)
                    .and_then(Option::as_mut)
                {
                    Some(p) => {
                        if !crate::character::give_item(p, item, *equip) {
                            self.events.push(Event::CommandIgnored {
                                slot: *slot,
                                reason: IgnoredReason::NoRoom,
                            });
                        }
                    }
                    None => self.events.push(Event::CommandIgnored {
                        slot: *slot,
                        reason: IgnoredReason::NoSuchPlayer,
                    }),
                }
            }
            Command::Chat { slot, text } => match self.player(*slot as usize) {
                Some(p) if valid_chat(text) => {
                    let name = p.name.clone();
                    self.events.push(Event::Chat {
                        slot: *slot,
                        name,
                        text: text.clone(),
                    });
                }
                Some(_) => self.events.push(Event::CommandIgnored {
                    slot: *slot,
                    reason: IgnoredReason::InvalidChat,
                }),
                None => self.events.push(Event::CommandIgnored {
                    slot: *slot,
                    reason: IgnoredReason::NoSuchPlayer,
                }),
            },
        }
    }

    fn allocate_id(&mut self) -> EntityId {
        let id = EntityId(self.state.next_entity);
        // Ids are never reused; 4 billion entities is far beyond any session, and saturating
        // keeps a pathological one deterministic instead of wrapping into live ids.
        self.state.next_entity = self.state.next_entity.saturating_add(1);
        id
    }

    fn spawn_position(&self, slot: usize) -> Vec2 {
        crate::gameplay::spawn_position(&self.state.level, slot)
    }
}
