//! The bots the balance harness plays with: a novice (a new player who walks about, hits
//! back what hits it and goes down the stairs when it sees them) and the skilled fighter
//! ([`super::fight_input`]) with an explorer's memory. A person remembers where they have
//! been, so both keep an [`Explorer`]: the tiles they have seen and the path they follow.
//! Given the same world and the same memory they press the same keys: the harness is
//! deterministic.

use super::{fight_step, path_step, toward};
use crate::content::ItemKind;
use crate::entity::AiState;
use crate::input::{buttons, PlayerInput};
use crate::units::{px, tiles, Vec2};
use crate::world::World;
use std::collections::VecDeque;

/// How far (tiles) a bot sees around itself; walls do not hide anything (a player sees
/// the whole screen around their character).
pub const SIGHT: i32 = 6;
/// A novice turns to fight a monster that attacks it within this distance.
pub const FIGHT_BACK: i32 = tiles(10);
/// A novice drinks a potion below this share of its HP (permille).
pub const POTION_BELOW_PERMILLE: i64 = 300;
/// A novice swings when its target is this close (inside the 50 px melee range).
const SWING: i32 = px(40);

/// What a bot remembers of the level: tiles seen and the path it is walking.
#[derive(Clone, Debug, Default)]
pub struct Explorer {
    /// The level the memory is about, as (depth, width, height): a descent starts afresh.
    level: (u32, u16, u16),
    seen: Vec<bool>,
    /// Tiles still to walk, the next one last.
    path: Vec<(i32, i32)>,
}

impl Explorer {
    pub fn new() -> Explorer {
        Explorer::default()
    }

    /// True when the bot has seen tile (x, y) on this level.
    pub fn has_seen(&self, world: &World, x: i32, y: i32) -> bool {
        index(world, x, y).is_some_and(|i| self.seen.get(i).copied().unwrap_or(false))
    }

    /// Marks what is in sight of `at` (and forgets the old level after a descent).
    #[allow(
        clippy::arithmetic_side_effects,
        reason = "tile coordinates inside a map of at most 1024 tiles a side, offsets of at \
                  most SIGHT: far from overflow"
    )]
    fn look(&mut self, world: &World, at: Vec2) {
        let map = world.map();
        let level = (world.depth(), map.width(), map.height());
        if self.level != level || self.seen.is_empty() {
            self.level = level;
            self.seen = vec![false; map.tiles().len()];
            self.path.clear();
        }
        let (cx, cy) = at.tile();
        for dy in -SIGHT..=SIGHT {
            for dx in -SIGHT..=SIGHT {
                if dx * dx + dy * dy <= SIGHT * SIGHT {
                    if let Some(i) = index(world, cx + dx, cy + dy) {
                        self.seen[i] = true;
                    }
                }
            }
        }
    }

    /// The movement towards the exit (`Goal::Exit`) or the nearest unseen tile, following
    /// the remembered path and searching a new one when it runs out or the bot was pushed
    /// off it.
    fn walk(&mut self, world: &World, pos: Vec2, goal: Goal) -> (i8, i8) {
        let exit = goal == Goal::Exit;
        let here = pos.tile();
        while self.path.last() == Some(&here) {
            self.path.pop();
        }
        let adjacent =
            |t: (i32, i32)| t.0.abs_diff(here.0).saturating_add(t.1.abs_diff(here.1)) <= 1;
        let stale = match (self.path.last(), self.path.first()) {
            (Some(&next), Some(&goal)) => !adjacent(next) || (exit && goal != world.level().exit),
            _ => true,
        };
        if stale {
            self.path = self.search(world, here, goal);
        }
        match self.path.last() {
            Some(&(x, y)) => toward(pos, Vec2::tile_centre(x, y)),
            None => (0, 0),
        }
    }

    /// A shortest walkable path (4-neighbour breadth-first search over the whole map) from
    /// `from` to the exit, or to the nearest tile not yet seen (around the stairs for
    /// `Goal::ExploreAvoidingExit`); empty when there is none.
    #[allow(
        clippy::arithmetic_side_effects,
        reason = "indices of a map of at most 1024 x 1024 tiles: below 2^20"
    )]
    fn search(&self, world: &World, from: (i32, i32), goal: Goal) -> Vec<(i32, i32)> {
        let exit = goal == Goal::Exit;
        let map = world.map();
        let w = map.width() as i32;
        let Some(start) = index(world, from.0, from.1) else {
            return Vec::new();
        };
        let goal_tile = world.level().exit;
        // The descend check takes a party standing on or beside the stairs.
        let near_exit =
            |x: i32, y: i32| x.abs_diff(goal_tile.0) <= 1 && y.abs_diff(goal_tile.1) <= 1;
        let avoid = goal == Goal::ExploreAvoidingExit;
        let is_goal = |i: usize| {
            let t = ((i as i32) % w, (i as i32) / w);
            if exit {
                t == goal_tile
            } else {
                !self.seen[i]
            }
        };
        // parent[i] = tile we came from + 1 (0: unvisited).
        let mut parent = vec![0u32; map.tiles().len()];
        parent[start] = start as u32 + 1;
        let mut queue = VecDeque::from([start]);
        while let Some(i) = queue.pop_front() {
            if i != start && is_goal(i) {
                let mut path = Vec::new();
                let mut c = i;
                while c != start {
                    path.push(((c as i32) % w, (c as i32) / w));
                    c = parent[c] as usize - 1;
                }
                return path;
            }
            for n in map.neighbours4(i) {
                let (x, y) = ((n as i32) % w, (n as i32) / w);
                if parent[n] == 0 && map.is_walkable(x, y) && !(avoid && near_exit(x, y)) {
                    parent[n] = i as u32 + 1;
                    queue.push_back(n);
                }
            }
        }
        Vec::new()
    }
}

/// Where a bot walks when nothing else calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Goal {
    Exit,
    Explore,
    /// Explore without stepping next to the stairs (which would take the party down).
    ExploreAvoidingExit,
}

fn index(world: &World, x: i32, y: i32) -> Option<usize> {
    let map = world.map();
    map.in_bounds(x, y).then(|| {
        (y as usize)
            .saturating_mul(map.width() as usize)
            .saturating_add(x as usize)
    })
}

/// The novice in `slot`, playing as a new player would: it drinks a potion below 30% HP if
/// it carries one; it turns on a monster that is after it (within 6 tiles) and swings at
/// it in reach; otherwise it walks to the exit stairs once it has seen them, and explores
/// towards the nearest unseen tile until then. It never casts, equips or flees.
pub fn novice_input(world: &World, slot: usize, memory: &mut Explorer) -> PlayerInput {
    let Some(p) = world.player(slot) else {
        return PlayerInput::IDLE;
    };
    if !p.alive() {
        return PlayerInput::IDLE;
    }
    memory.look(world, p.pos);
    let mut input = PlayerInput::IDLE;
    let edge_ok = world.tick().saturating_add(1) % 2 == 0;
    let max_hp = p.stats().max_hp.max(1) as i64;
    let low = (p.hp as i64).saturating_mul(1000) < max_hp.saturating_mul(POTION_BELOW_PERMILLE);
    if low && edge_ok {
        if let Some(i) = p
            .inventory
            .iter()
            .position(|it| it.kind == ItemKind::Consumable && it.heal_hp > 0)
        {
            input.buttons = buttons::USE_ITEM;
            input.slot = i as u8;
        }
    }
    let attacker = world
        .monsters()
        .iter()
        .filter(|m| {
            m.target == Some(slot as u8)
                && matches!(m.ai, AiState::Chase | AiState::Attack)
                && m.pos.within(p.pos, FIGHT_BACK)
        })
        .min_by_key(|m| (m.pos.dist_sq(p.pos), m.id));
    if let Some(m) = attacker {
        (input.aim_x, input.aim_y) = toward(p.pos, m.pos);
        if m.pos.within(p.pos, SWING) {
            input.buttons |= buttons::ATTACK;
        } else {
            // Around walls, not into them.
            let here = p.pos.tile();
            let goal = match path_step(world, here, |x, y| (x, y) == m.pos.tile()) {
                Some(t) if t != here => Vec2::tile_centre(t.0, t.1),
                _ => m.pos,
            };
            (input.move_x, input.move_y) = toward(p.pos, goal);
        }
        return input;
    }
    let (ex, ey) = world.level().exit;
    let exit_known = memory.has_seen(world, ex, ey);
    let goal = if exit_known {
        Goal::Exit
    } else {
        Goal::Explore
    };
    (input.move_x, input.move_y) = memory.walk(world, p.pos, goal);
    input
}

/// The skilled fighter in `slot`: [`super::fight_input`] (fights, heals, equips, loots
/// within 20 tiles), but with nothing in reach it explores the unseen part of the level
/// instead of wandering, keeping off the stairs, so it finds every monster; with the
/// level cleared it takes the stairs.
pub fn skilled_input(world: &World, slot: usize, memory: &mut Explorer) -> PlayerInput {
    let Some(p) = world.player(slot) else {
        return PlayerInput::IDLE;
    };
    if !p.alive() {
        return PlayerInput::IDLE;
    }
    memory.look(world, p.pos);
    let (mut input, has_goal) = fight_step(world, slot);
    if !has_goal {
        let goal = if world.monsters().is_empty() {
            Goal::Exit
        } else {
            Goal::ExploreAvoidingExit
        };
        (input.move_x, input.move_y) = memory.walk(world, p.pos, goal);
        if (input.move_x, input.move_y) == (0, 0) {
            // Everything seen: walk where the wanderer would.
            let w = super::scripted_input(world.config().seed, world.tick(), slot);
            (input.move_x, input.move_y) = (w.move_x, w.move_y);
        }
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Command, Frame};
    use crate::{Genre, SimConfig};

    fn play(seed: u64, ticks: u64) -> (World, Explorer, Vec<u32>) {
        let config = SimConfig {
            seed,
            genre: Genre::Fantasy,
            max_players: 1,
            ..SimConfig::default()
        };
        let mut world = World::new(&config).expect("valid config");
        let mut memory = Explorer::new();
        let mut sums = Vec::new();
        for t in 1..=ticks {
            let mut frame = Frame::new(t);
            if t == 1 {
                frame.commands.push(Command::Join {
                    slot: 0,
                    name: "novice".into(),
                });
            }
            frame.inputs = vec![novice_input(&world, 0, &mut memory)];
            world.step(&frame).expect("next tick");
            sums.push(world.checksum());
        }
        (world, memory, sums)
    }

    /// Same seed, same game; the novice explores (sees ever more of the level).
    #[test]
    fn novice_is_deterministic_and_explores() {
        let (a, mem, sums_a) = play(5, 600);
        let (_, _, sums_b) = play(5, 600);
        assert_eq!(sums_a, sums_b);
        let seen = mem.seen.iter().filter(|&&s| s).count();
        assert!(seen > 400, "saw only {seen} tiles");
        let start = a.level().spawn;
        let p = a.player(0).expect("joined");
        assert_ne!(p.pos.tile(), start, "the novice left the spawn");
    }

    /// With the exit in sight, the novice walks to it and the party descends.
    #[test]
    fn novice_takes_the_stairs_it_has_seen() {
        let (mut world, _, _) = play(9, 1);
        let mut memory = Explorer::new();
        let (ex, ey) = world.level().exit;
        // Pretend the novice already saw the whole level.
        memory.look(&world, Vec2::tile_centre(ex, ey));
        memory.seen.iter_mut().for_each(|s| *s = true);
        // Nothing in the way: this is about the way, not the fights.
        world.state.monsters.clear();
        let mut descended = false;
        for t in 2..4000 {
            let mut frame = Frame::new(t);
            frame.inputs = vec![novice_input(&world, 0, &mut memory)];
            world.step(&frame).expect("next tick");
            if world.depth() > 1 {
                descended = true;
                break;
            }
        }
        assert!(descended, "never reached the stairs");
    }
}
