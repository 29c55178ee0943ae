//! Scripted inputs: a pure function from (seed, tick, slot) to a plausible player input, for
//! tests, benchmarks, fuzzing and the reference scenario; and fighting bots
//! ([`fight_input`]), a pure function of the world state. Inputs hold a direction for a
//! stretch of ticks, then change, like a wandering player pressing buttons now and then.

use crate::content::{spellbook, Item, ItemKind};
use crate::input::{buttons, Command, Frame, PlayerInput};
use crate::player::equip_slot;
use crate::units::{px, scale_to_length, tiles, Vec2};
use crate::world::World;

mod novice;
pub use novice::{novice_input, skilled_input, Explorer};

/// splitmix64: a tiny, well-mixed hash; fine for test inputs, never used for game rules.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The commands that seat `players` bots in slots 0.. (named bot0, bot1, ...): what every
/// bot game sends on tick 1.
pub fn bot_joins(players: usize) -> Vec<Command> {
    (0..players)
        .map(|s| Command::Join {
            slot: s as u8,
            name: format!("bot{s}"),
        })
        .collect()
}

/// Slot `slot`'s scripted input at `tick`: the direction changes every 16 ticks.
pub fn scripted_input(seed: u64, tick: u64, slot: usize) -> PlayerInput {
    let stretch = mix(seed ^ mix((tick / 16) ^ ((slot as u64) << 48)));
    let press = mix(stretch ^ tick);
    PlayerInput {
        move_x: (stretch & 0xff) as u8 as i8,
        move_y: ((stretch >> 8) & 0xff) as u8 as i8,
        aim_x: ((stretch >> 16) & 0xff) as u8 as i8,
        aim_y: ((stretch >> 24) & 0xff) as u8 as i8,
        buttons: if press % 8 == 0 {
            (press >> 8) as u8 & buttons::SCRIPTED
        } else {
            0
        },
        slot: ((press >> 16) % 4) as u8,
    }
}

/// The scripted frame for `tick` with `players` bots: they all join at tick 1 (named
/// bot0, bot1, ...), then play.
pub fn scripted_frame(seed: u64, tick: u64, players: usize) -> Frame {
    let mut frame = Frame::new(tick);
    if tick == 1 {
        frame.commands = bot_joins(players);
    }
    frame.inputs = (0..players)
        .map(|s| scripted_input(seed, tick, s))
        .collect();
    frame
}

/// How far (in tiles) a fighting bot looks for monsters and loot along walkable paths.
const BOT_SIGHT: i32 = 20;

fn item_score(item: &Item) -> u64 {
    [
        item.damage,
        item.attack,
        item.defense,
        item.magic_power,
        item.magic_defense,
    ]
    .iter()
    .map(|&v| v as u64)
    .sum()
}

fn toward(from: Vec2, to: Vec2) -> (i8, i8) {
    let d = scale_to_length(
        to.x.saturating_sub(from.x),
        to.y.saturating_sub(from.y),
        127,
    );
    (d.x.clamp(-127, 127) as i8, d.y.clamp(-127, 127) as i8)
}

/// First step (a neighbouring tile, or the player's own tile) of a shortest walkable path
/// from `from` to the nearest tile where `is_target` holds, within `BOT_SIGHT` tiles.
#[allow(
    clippy::arithmetic_side_effects,
    reason = "`from` is a player's tile (inside a map of at most 1024 tiles a side) and every \
              other tile here is within BOT_SIGHT of it, so all values stay below 2^12 and \
              the window index below (2 * BOT_SIGHT + 1)^2"
)]
fn path_step(
    world: &World,
    from: (i32, i32),
    is_target: impl Fn(i32, i32) -> bool,
) -> Option<(i32, i32)> {
    let map = world.map();
    let side = 2 * BOT_SIGHT + 1;
    let index = |x: i32, y: i32| -> Option<usize> {
        let (lx, ly) = (x - from.0 + BOT_SIGHT, y - from.1 + BOT_SIGHT);
        ((0..side).contains(&lx) && (0..side).contains(&ly)).then(|| (ly * side + lx) as usize)
    };
    // parent[i] = index of the tile we came from (+1; 0 = unvisited).
    let mut parent = vec![0u32; (side * side) as usize];
    let start = index(from.0, from.1)?;
    parent[start] = start as u32 + 1;
    let mut queue = std::collections::VecDeque::from([from]);
    while let Some((x, y)) = queue.pop_front() {
        if is_target(x, y) {
            // Walk back to the tile right after the start.
            let (mut cx, mut cy) = (x, y);
            loop {
                let i = index(cx, cy)?;
                let p = parent[i] as usize - 1;
                if p == start {
                    return Some((cx, cy));
                }
                if i == start {
                    return Some(from);
                }
                let p = p as i32;
                (cx, cy) = (p % side + from.0 - BOT_SIGHT, p / side + from.1 - BOT_SIGHT);
            }
        }
        let here = index(x, y)? as u32;
        for (nx, ny) in [(x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)] {
            if let Some(n) = index(nx, ny) {
                if parent[n] == 0 && map.is_walkable(nx, ny) {
                    parent[n] = here + 1;
                    queue.push_back((nx, ny));
                }
            }
        }
    }
    None
}

/// A bot that plays the game: a pure function of the world for the player in `slot`.
/// It drinks a potion or casts its heal when low (except every fourth bot, slot 3, 7...,
/// which is reckless and never heals, so deaths happen), equips better gear, walks (by a
/// breadth-first path) to the nearest monster or item it can carry, melees whatever is in
/// reach, casts the area blast at groups, the buff and the curse in melee, and bolts at
/// range. With nothing in sight it wanders like [`scripted_input`]. Edge-triggered buttons
/// (use item, interact) are pressed on even ticks only, so they register.
pub fn fight_input(world: &World, slot: usize) -> PlayerInput {
    fight_step(world, slot).0
}

/// [`fight_input`], and whether it had something to go for (a monster or an item within
/// sight); without one it wanders.
fn fight_step(world: &World, slot: usize) -> (PlayerInput, bool) {
    let Some(p) = world.player(slot) else {
        return (PlayerInput::IDLE, false);
    };
    if !p.alive() {
        return (PlayerInput::IDLE, false);
    }
    let tick = world.tick().saturating_add(1);
    let edge_ok = tick % 2 == 0;
    let stats = p.stats();
    let cautious = slot % 4 != 3;
    let mut input = PlayerInput::IDLE;
    let genre = world.config().genre;
    let cost = |s: usize| spellbook(genre, s).map_or(u32::MAX, |sp| sp.mana_cost);
    let can_cast = |s: usize| p.spell_cd[s] == 0 && p.mana >= cost(s);

    let hp_pct = (p.hp as i64).saturating_mul(100);
    let hurt = hp_pct < (stats.max_hp as i64).saturating_mul(80);
    let low = hp_pct < (stats.max_hp as i64).saturating_mul(40);
    let potion = p.inventory.iter().position(|it| {
        it.kind == ItemKind::Consumable
            && ((hurt && it.heal_hp > 0) || (p.mana < 50 && it.restore_mana > 0))
    });
    if cautious && (potion.is_some() || low) {
        if let Some(i) = potion {
            if edge_ok {
                input.buttons = buttons::USE_ITEM;
                input.slot = i as u8;
            }
        } else if can_cast(1) {
            input.buttons = buttons::CAST;
            input.slot = 1;
        }
    } else if edge_ok {
        let upgrade = p.inventory.iter().position(|it| {
            equip_slot(it.kind).is_some_and(|e| {
                p.equipment[e]
                    .as_ref()
                    .is_none_or(|cur| item_score(it) > item_score(cur))
            })
        });
        if let Some(i) = upgrade {
            input.buttons = buttons::INTERACT;
            input.slot = i as u8;
        }
    }

    let nearest = world
        .monsters()
        .iter()
        .min_by_key(|m| (m.pos.dist_sq(p.pos), m.id));
    if let Some(m) = nearest {
        let (ax, ay) = toward(p.pos, m.pos);
        if m.pos.within(p.pos, tiles(8)) {
            input.aim_x = ax;
            input.aim_y = ay;
        }
        if m.pos.within(p.pos, px(40)) {
            input.buttons |= buttons::ATTACK;
            if input.buttons & (buttons::CAST | buttons::USE_ITEM | buttons::INTERACT) == 0 {
                let group = world
                    .monsters()
                    .iter()
                    .filter(|o| o.pos.within(p.pos, px(96)))
                    .count();
                let pick = if group >= 2 && can_cast(3) {
                    Some(3)
                } else if can_cast(2) && p.mana >= 60 {
                    Some(2)
                } else if can_cast(4) && p.mana >= 60 {
                    Some(4)
                } else {
                    None
                };
                if let Some(s) = pick {
                    input.buttons |= buttons::CAST;
                    input.slot = s;
                }
            }
            return (input, true);
        }
        if m.pos.within(p.pos, tiles(6)) && input.buttons == 0 && can_cast(0) && p.mana >= 40 {
            input.buttons = buttons::CAST;
            input.slot = 0;
        }
    }

    // Walk to the nearest monster or carriable item along a path.
    let mut goals: Vec<(i32, i32)> = world.monsters().iter().map(|m| m.pos.tile()).collect();
    goals.extend(
        world
            .ground_items()
            .iter()
            .filter(|g| p.can_carry(&g.item))
            .map(|g| g.pos.tile()),
    );
    let here = p.pos.tile();
    let near: Vec<(i32, i32)> = goals
        .into_iter()
        .filter(|&(x, y)| {
            x.abs_diff(here.0) <= BOT_SIGHT as u32 && y.abs_diff(here.1) <= BOT_SIGHT as u32
        })
        .collect();
    let step = if near.is_empty() {
        None
    } else {
        path_step(world, here, |x, y| near.contains(&(x, y)))
    };
    let has_goal = step.is_some();
    match step {
        Some(t) if t == here => {
            if let Some(m) = nearest {
                (input.move_x, input.move_y) = toward(p.pos, m.pos);
            }
        }
        Some((x, y)) => {
            (input.move_x, input.move_y) = toward(p.pos, Vec2::tile_centre(x, y));
        }
        None => {
            let wander = scripted_input(world.config().seed, tick, slot);
            input.move_x = wander.move_x;
            input.move_y = wander.move_y;
        }
    }
    (input, has_goal)
}

/// The next frame for a game of `players` fighting bots (they join on tick 1).
pub fn fight_frame(world: &World, players: usize) -> Frame {
    let tick = world.tick().saturating_add(1);
    let mut frame = Frame::new(tick);
    if tick == 1 {
        frame.commands = bot_joins(players);
    }
    frame.inputs = (0..players).map(|s| fight_input(world, s)).collect();
    frame
}
