//! Headless bot players: each turns the predicted world into this tick's input.

use venture_sim::script::scripted_input;
use venture_sim::{PlayerInput, Vec2, World};

/// How a bot plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BotKind {
    /// Wanders with changing directions and presses buttons now and then.
    Random,
    /// Walks from room to room across the level.
    Explore,
    /// Hunts monsters: fights, heals, loots and equips.
    Fight,
}

/// The `-bot` values, for the flag table.
pub fn valid_kinds() -> String {
    "random, explore or fight".to_owned()
}

impl std::str::FromStr for BotKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "random" => Ok(BotKind::Random),
            "explore" => Ok(BotKind::Explore),
            "fight" => Ok(BotKind::Fight),
            other => Err(format!(
                "unknown bot {other:?} (valid: random, explore, fight)"
            )),
        }
    }
}

/// A bot's memory between ticks (which room it heads for).
#[derive(Clone, Debug)]
pub struct Bot {
    kind: BotKind,
    seed: u64,
    target_room: usize,
}

impl Bot {
    pub fn new(kind: BotKind, seed: u64) -> Self {
        Bot {
            kind,
            seed,
            target_room: (seed % 7) as usize,
        }
    }

    pub fn input(&mut self, world: &World, slot: u8) -> PlayerInput {
        let tick = world.tick() + 1;
        match self.kind {
            BotKind::Random => {
                // The scripted input changes its slot field every tick; a player holds it.
                let input = scripted_input(self.seed, tick, slot as usize);
                PlayerInput { slot: 0, ..input }
            }
            BotKind::Explore => self.explore(world, slot, tick),
            // Hunts monsters and loot, heals, drinks potions, equips upgrades (a pure
            // function of the predicted world, shared with the simulation's tests).
            BotKind::Fight => venture_sim::script::fight_input(world, slot as usize),
        }
    }

    fn explore(&mut self, world: &World, slot: u8, tick: u64) -> PlayerInput {
        let Some(me) = world.player(slot as usize) else {
            return PlayerInput::IDLE;
        };
        let rooms = &world.level().rooms;
        if rooms.is_empty() {
            return scripted_input(self.seed, tick, slot as usize);
        }
        let room = rooms[self.target_room % rooms.len()];
        let (cx, cy) = room.rect.centre();
        let goal = Vec2::tile_centre(cx, cy);
        if me.pos.within(goal, venture_sim::SUB) {
            self.target_room = self.target_room.wrapping_add(1 + (self.seed as usize % 3));
        }
        // Head for the room; mix in the scripted wander so bots get unstuck from corners.
        let wander = scripted_input(self.seed, tick / 8, slot as usize);
        let dx = (goal.x - me.pos.x).clamp(-127, 127) + wander.move_x as i32 / 3;
        let dy = (goal.y - me.pos.y).clamp(-127, 127) + wander.move_y as i32 / 3;
        PlayerInput {
            move_x: dx.clamp(-127, 127) as i8,
            move_y: dy.clamp(-127, 127) as i8,
            aim_x: dx.clamp(-127, 127) as i8,
            aim_y: dy.clamp(-127, 127) as i8,
            buttons: 0,
            slot: 0,
        }
    }
}
