//! The game rules that run inside [`World::step`], in this fixed order each tick:
//!
//! 1. commands (join / leave), in world.rs;
//! 2. players: respawn countdown, status effects, mana regeneration, cooldowns;
//! 3. player actions in slot order: USE_ITEM, INTERACT (edge-triggered), ATTACK, CAST;
//! 4. player movement (world.rs), then automatic pickup of ground items;
//! 5. navigation goals (every decision period) and monsters in id order: status effects,
//!    AI decision (every 0.5 s, staggered by id), movement, attacks;
//! 6. projectiles in id order: travel, collision with walls and monsters, explosions;
//! 7. dead monsters give XP and gold to their last hitter and may drop loot; dead players
//!    start their respawn countdown;
//! 8. the descend check.
//!
//! Rules we chose where GAME_RULES.md is silent (each documented at its constant):
//! - **No respawning monsters:** monsters spawn only when a level is generated (at
//!   `World::new` and on descending). A cleared room stays cleared for the life of the level.
//! - **XP** of a kill is the monster's rolled XP: template XP x (1 + 0.15 x (level - 1)) x
//!   rarity multiplier (1 / 1.2 / 1.5 / 2 / 3), computed by `roll_monster`. It goes to the
//!   player who hit the monster last (also for a kill by burning). Gold: XP / 2 + 1.
//! - **Death:** a dead player respawns at the level's spawn after 3 s with full HP and
//!   mana, keeps level, XP and items, and loses 10% of its gold (rounded down).
//! - **Descending:** when every living player (at least one) stands on the exit stairs or
//!   a tile next to them, the party descends: depth + 1, difficulty + 0.1, a new level from
//!   (seed, depth) with new monsters; players are placed at the new spawn.

use crate::combat::{resolve, Hit};
use crate::content::{roll_item, roll_monster, spellbook, SpellKind, SPELLBOOK_LEN};
use crate::entity::{AiState, GroundItem, Monster, Projectile, MAX_PROJECTILE_SPEED};
use crate::event::Event;
use crate::gen::{self, Level};
use crate::input::{buttons, Frame, PlayerInput};
use crate::map::{RoomKind, TileMap};
use crate::movement::{move_body, BODY_HALF};
use crate::nav::NavGoals;
use crate::player::{equip_slot, EntityId, Player, INVENTORY_SLOTS, MANA_REGEN_PER_SEC, MAX_MANA};
use crate::rng::{Purpose, Stream};
use crate::stats::{xp_to_next, Stats};
use crate::status::{self, StatusKind};
use crate::units::{isqrt, px, scale_to_length, ticks_from_millis, Vec2, SUB};
use crate::world::World;

/// GAME_RULES.md: monsters detect players within 200 px.
pub const DETECT_RANGE: i32 = px(200);
/// GAME_RULES.md: monsters flee below 20% HP.
pub const FLEE_BELOW_PERMILLE: i64 = 200;
/// GAME_RULES.md: monsters give up the chase beyond 500 px from home.
pub const LEASH_RANGE: i32 = px(500);
/// GAME_RULES.md: monsters decide every 0.5 s.
pub const DECIDE_MS: u32 = 500;
/// GAME_RULES.md: speed scale per AI state (permille of the template speed, whose base is
/// the rules' 100 px/s).
pub const PATROL_SPEED_PERMILLE: i32 = 500;
pub const CHASE_SPEED_PERMILLE: i32 = 1000;
pub const FLEE_SPEED_PERMILLE: i32 = 1500;
pub const RETURN_SPEED_PERMILLE: i32 = 800;
/// Our choice: patrols wander up to 3 tiles from home; an idle monster starts a patrol
/// with 30% chance per decision, a patrolling one stops with 30%.
pub const PATROL_RADIUS: i32 = 3 * SUB;
pub const PATROL_CHANCE_PERMILLE: u32 = 300;
/// Our choice: a chase is dropped when the target is over 2 x detection range away.
pub const LOSE_RANGE: i32 = 2 * DETECT_RANGE;
/// Our choice: a monster attacks once per second; its natural weapon deals its attack
/// (or magic power, for casters) as base damage, plus the stat itself (combat formula).
pub const MONSTER_ATTACK_COOLDOWN_MS: u32 = 1000;
/// GAME_RULES.md: melee range 50 px and cooldown 0.5 s.
pub const MELEE_RANGE: i32 = px(50);
pub const MELEE_COOLDOWN_MS: u32 = 500;
/// Our choice: projectiles fly at 400 px/s. GAME_RULES.md: collision radius 16 px (against
/// a monster's body, so centres within 16 px + the body half-size).
pub const PROJECTILE_SPEED_PX: i32 = 400;
pub const PROJECTILE_RADIUS: i32 = px(16);
/// Our choice: fire projectiles set the target burning for power/5 per second, 3 s.
pub const BURN_MS: u32 = 3000;
/// GAME_RULES.md: pickup radius 32 px.
pub const PICKUP_RADIUS: i32 = px(32);
/// GAME_RULES.md: 30% drop chance, 70% for strong (boss or rare+) monsters.
pub const DROP_PERMILLE: u32 = 300;
pub const STRONG_DROP_PERMILLE: u32 = 700;
/// Our choice (see module docs): respawn after 3 s, losing 10% of the gold.
pub const RESPAWN_MS: u32 = 3000;
pub const DEATH_GOLD_LOSS_PERCENT: u32 = 10;
/// GAME_RULES.md: +0.1 difficulty per level descended (permille).
pub const DIFFICULTY_PER_DEPTH: u32 = 100;
/// INTERACT with a slot in `UNEQUIP_BASE..UNEQUIP_BASE + 3` unequips weapon / armor /
/// accessory; a slot below 20 equips that inventory item.
pub const UNEQUIP_BASE: u8 = INVENTORY_SLOTS as u8;

fn alloc(next: &mut u32) -> EntityId {
    let id = EntityId(*next);
    *next = next.saturating_add(1);
    id
}

/// Where the player of `slot` appears: a walkable tile near the spawn, spread by slot so
/// players do not all stand on the stairs.
pub(crate) fn spawn_position(level: &Level, slot: usize) -> Vec2 {
    let (sx, sy) = level.spawn;
    const OFFSETS: [(i32, i32); 9] = [
        (0, 0),
        (1, 0),
        (-1, 0),
        (0, 1),
        (0, -1),
        (1, 1),
        (-1, -1),
        (1, -1),
        (-1, 1),
    ];
    let (dx, dy) = OFFSETS[slot % OFFSETS.len()];
    if level.map.is_walkable(sx + dx, sy + dy) {
        Vec2::tile_centre(sx + dx, sy + dy)
    } else {
        Vec2::tile_centre(sx, sy)
    }
}

/// The direction this tick's input faces: aim, else movement, else the stored facing.
fn facing_of(p: &Player, input: &PlayerInput) -> (i32, i32) {
    let (x, y) = if input.aim_x != 0 || input.aim_y != 0 {
        (input.aim_x, input.aim_y)
    } else if input.move_x != 0 || input.move_y != 0 {
        (input.move_x, input.move_y)
    } else {
        p.facing
    };
    if x == 0 && y == 0 {
        (0, 1)
    } else {
        (x as i32, y as i32)
    }
}

/// Moves a body straight towards `goal` by at most `speed` units.
fn step_toward(map: &TileMap, pos: Vec2, goal: Vec2, speed: i32) -> Vec2 {
    let dx = goal.x.saturating_sub(pos.x);
    let dy = goal.y.saturating_sub(pos.y);
    let dist = isqrt(pos.dist_sq(goal)).min(i32::MAX as i64) as i32;
    let delta = scale_to_length(dx, dy, speed.min(dist));
    move_body(map, pos, delta, BODY_HALF)
}

/// A random walkable tile of `rect` (8 tries), for placing monsters and items.
fn random_tile_in(map: &TileMap, rng: &mut Stream, r: &crate::map::Rect) -> Option<Vec2> {
    for _ in 0..8 {
        let x = rng.range(r.x, r.x + r.w - 1);
        let y = rng.range(r.y, r.y + r.h - 1);
        if map.is_walkable(x, y) {
            return Some(Vec2::tile_centre(x, y));
        }
    }
    None
}

/// Applies a resolved hit to a monster: damage, event, aggro on the hitter.
fn hurt_monster(
    m: &mut Monster,
    events: &mut Vec<Event>,
    source: EntityId,
    slot: u8,
    amount: i32,
    crit: bool,
    evaded: bool,
) {
    if evaded {
        events.push(Event::Evaded {
            source,
            target: m.id,
        });
        return;
    }
    m.hp = m.hp.saturating_sub(amount.max(0));
    m.last_hitter = Some(slot);
    if matches!(m.ai, AiState::Idle | AiState::Patrol | AiState::Return) {
        // Being hit wakes a monster up: it goes for the attacker.
        m.ai = AiState::Chase;
        m.target = Some(slot);
    }
    events.push(Event::Damage {
        source,
        target: m.id,
        amount,
        crit,
    });
}

/// Adds XP, levelling up per XP_TABLE (+1 skill point, level gains, full heal per level).
pub(crate) fn gain_xp(p: &mut Player, slot: u8, xp: u32, events: &mut Vec<Event>) {
    p.xp = p.xp.saturating_add(xp);
    while let Some(need) = xp_to_next(p.level) {
        if p.xp < need {
            break;
        }
        p.xp -= need;
        p.level += 1;
        p.skill_points = p.skill_points.saturating_add(1);
        if p.alive() {
            p.hp = p.stats().max_hp;
        }
        events.push(Event::LevelUp {
            slot,
            level: p.level,
        });
    }
}

impl World {
    /// Places the level's monsters and treasure (at `World::new` and after descending):
    /// 1 to 3 monsters in every room but the spawn room, the boss alone in the boss room,
    /// 1 to 2 items in each treasure room. Draws from the spawn stream only.
    pub(crate) fn populate(&mut self) {
        let st = &mut self.state;
        let genre = st.config.genre;
        let (depth, diff) = (st.config.depth, st.config.difficulty_permille);
        for i in 0..st.level.rooms.len() {
            let room = st.level.rooms[i];
            let rng = &mut st.streams.spawn;
            let (count, boss) = match room.kind {
                RoomKind::Spawn => continue,
                RoomKind::Boss => (1, true),
                _ => (rng.range(1, 3), false),
            };
            for _ in 0..count {
                let spec = roll_monster(rng, genre, depth, diff, boss);
                if let Some(pos) = random_tile_in(&st.level.map, rng, &room.rect) {
                    let id = alloc(&mut st.next_entity);
                    st.monsters.push(Monster::from_spec(id, &spec, pos));
                }
            }
            if room.kind == RoomKind::Treasure {
                for _ in 0..rng.range(1, 2) {
                    let item = roll_item(rng, genre, depth, diff);
                    if let Some(pos) = random_tile_in(&st.level.map, rng, &room.rect) {
                        let id = alloc(&mut st.next_entity);
                        st.ground_items.push(GroundItem { id, pos, item });
                    }
                }
            }
        }
    }

    /// Spawns `n` extra regular monsters on random walkable tiles (for benchmarks and
    /// stress tests). It changes the state like a command would: every peer must call it
    /// identically. Returns how many were placed.
    pub fn spawn_extra_monsters(&mut self, n: u32) -> u32 {
        let st = &mut self.state;
        let (w, h) = (st.level.map.width() as i32, st.level.map.height() as i32);
        let area = crate::map::Rect { x: 0, y: 0, w, h };
        let mut placed = 0;
        for _ in 0..n {
            let rng = &mut st.streams.spawn;
            let spec = roll_monster(
                rng,
                st.config.genre,
                st.config.depth,
                st.config.difficulty_permille,
                false,
            );
            let pos = (0..4).find_map(|_| random_tile_in(&st.level.map, rng, &area));
            if let Some(pos) = pos {
                let id = alloc(&mut st.next_entity);
                st.monsters.push(Monster::from_spec(id, &spec, pos));
                placed += 1;
            }
        }
        placed
    }

    /// Everything after commands: see the module docs for the order.
    pub(crate) fn run_rules(&mut self, frame: &Frame) {
        self.players_tick();
        self.player_actions(frame);
        let speed = crate::units::per_tick(
            crate::player::PLAYER_SPEED_PER_SEC,
            self.state.config.tick_rate,
        );
        let map = &self.state.level.map;
        for (slot, player) in self.state.players.iter_mut().enumerate() {
            if let Some(player) = player {
                if player.alive() {
                    player.apply_movement(map, &frame.input(slot), speed);
                } else {
                    player.last_input = frame.input(slot);
                }
            }
        }
        self.pickups();
        self.update_nav();
        self.monsters_tick();
        self.projectiles_tick();
        self.reap_monsters();
        self.reap_players();
        self.check_descend();
    }

    fn players_tick(&mut self) {
        let st = &mut self.state;
        let rate = st.config.tick_rate.max(1);
        let respawn = ticks_from_millis(RESPAWN_MS, rate).max(1);
        for (slot, p) in st.players.iter_mut().enumerate() {
            let Some(p) = p else { continue };
            if p.respawn_in > 0 {
                p.respawn_in = p.respawn_in.min(respawn) - 1;
                if p.respawn_in == 0 {
                    p.pos = spawn_position(&st.level, slot);
                    p.statuses.clear();
                    p.hp = p.stats().max_hp.max(1);
                    p.mana = MAX_MANA;
                    p.mana_acc = 0;
                    p.attack_cd = 0;
                    p.spell_cd = [0; SPELLBOOK_LEN];
                    p.gold -= (p.gold as u64 * DEATH_GOLD_LOSS_PERCENT as u64 / 100) as u32;
                    self.events.push(Event::Respawn { slot: slot as u8 });
                }
                continue;
            }
            let dhp = status::tick(&mut p.statuses, rate);
            if dhp != 0 {
                let max = p.stats().max_hp;
                let before = p.hp;
                p.hp = p.hp.saturating_add(dhp).clamp(0, max.max(before));
                if dhp < 0 {
                    self.events.push(Event::Damage {
                        source: EntityId(0),
                        target: p.id,
                        amount: before - p.hp,
                        crit: false,
                    });
                } else {
                    p.hp = p.hp.min(max);
                }
            }
            if p.mana < MAX_MANA {
                p.mana_acc = p.mana_acc.saturating_add(MANA_REGEN_PER_SEC);
                p.mana = p.mana.saturating_add(p.mana_acc / rate).min(MAX_MANA);
                p.mana_acc %= rate;
            } else {
                p.mana_acc = 0;
            }
            p.attack_cd = p.attack_cd.saturating_sub(1);
            for cd in &mut p.spell_cd {
                *cd = cd.saturating_sub(1);
            }
        }
    }

    fn player_actions(&mut self, frame: &Frame) {
        let st = &mut self.state;
        let rate = st.config.tick_rate.max(1);
        let genre = st.config.genre;
        for slot in 0..st.players.len() {
            let input = frame.input(slot);
            let Some(p) = st.players[slot].as_mut() else {
                continue;
            };
            if !p.alive() || input.buttons & buttons::ALL == 0 {
                continue;
            }
            let last = p.last_input;
            let edge = |b: u8| input.pressed(b) && !last.pressed(b);
            let slot8 = slot as u8;
            if edge(buttons::USE_ITEM) {
                let i = input.slot as usize;
                if let Some(item) = p.inventory.get(i) {
                    if item.kind == crate::content::ItemKind::Consumable {
                        let item = p.inventory.remove(i);
                        let max = p.stats().max_hp;
                        let heal = (item.heal_hp.min(i32::MAX as u32) as i32)
                            .min(max.saturating_sub(p.hp).max(0));
                        p.hp = p.hp.saturating_add(heal);
                        p.mana = p.mana.saturating_add(item.restore_mana).min(MAX_MANA);
                        self.events.push(Event::ItemUsed {
                            slot: slot8,
                            index: i as u8,
                        });
                        if heal > 0 {
                            self.events.push(Event::Healed {
                                target: p.id,
                                amount: heal,
                            });
                        }
                    }
                }
            }
            if edge(buttons::INTERACT) {
                let i = input.slot as usize;
                if let Some(e) = equip_slot_of(p, i) {
                    // Swap the inventory item with whatever is equipped there.
                    let item = p.inventory.remove(i);
                    if let Some(old) = p.equipment[e].replace(item) {
                        p.inventory.insert(i, old);
                    }
                    self.events.push(Event::Equipped {
                        slot: slot8,
                        equip: e as u8,
                    });
                } else if let Some(e) = (input.slot as usize).checked_sub(UNEQUIP_BASE as usize) {
                    if e < p.equipment.len()
                        && p.equipment[e].is_some()
                        && p.inventory.len() < INVENTORY_SLOTS
                    {
                        if let Some(old) = p.equipment[e].take() {
                            p.inventory.push(old);
                            self.events.push(Event::Unequipped {
                                slot: slot8,
                                equip: e as u8,
                            });
                        }
                    }
                }
            }
            let dir = facing_of(p, &input);
            if input.pressed(buttons::ATTACK) && p.attack_cd == 0 {
                p.attack_cd = ticks_from_millis(MELEE_COOLDOWN_MS, rate);
                let target = st
                    .monsters
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.alive() && m.pos.within(p.pos, MELEE_RANGE))
                    .filter(|(_, m)| {
                        let (dx, dy) = ((m.pos.x - p.pos.x) as i64, (m.pos.y - p.pos.y) as i64);
                        dx * dir.0 as i64 + dy * dir.1 as i64 >= 0
                    })
                    .min_by_key(|(_, m)| (m.pos.dist_sq(p.pos), m.id))
                    .map(|(i, _)| i);
                if let Some(i) = target {
                    let m = &mut st.monsters[i];
                    let hit = Hit {
                        base: crate::player::MELEE_DAMAGE.saturating_add(p.weapon_damage()),
                        magic: false,
                        element: 0,
                    };
                    let o = resolve(
                        &mut st.streams.combat,
                        &p.stats(),
                        &m.stats(genre),
                        hit,
                        &mut 0,
                    );
                    hurt_monster(m, &mut self.events, p.id, slot8, o.damage, o.crit, o.evaded);
                }
            }
            if input.pressed(buttons::CAST) {
                let s = input.slot as usize;
                if s < SPELLBOOK_LEN && p.spell_cd[s] == 0 {
                    if let Some(spell) = spellbook(genre, s) {
                        if p.mana >= spell.mana_cost {
                            p.mana -= spell.mana_cost;
                            p.spell_cd[s] = ticks_from_millis(spell.cooldown_ms, rate);
                            let power = spell.power.min(1_000_000) as i32;
                            let duration = ticks_from_millis(spell.duration_ms, rate);
                            match spell.kind {
                                SpellKind::Healing => {
                                    let max = p.stats().max_hp;
                                    let heal = power.min(max.saturating_sub(p.hp).max(0));
                                    p.hp += heal;
                                    self.events.push(Event::Healed {
                                        target: p.id,
                                        amount: heal,
                                    });
                                }
                                SpellKind::Buff => status::apply(
                                    &mut p.statuses,
                                    StatusKind::Strength,
                                    (power - 1000) / 10,
                                    duration,
                                ),
                                SpellKind::Offensive | SpellKind::Debuff => {
                                    let speed =
                                        crate::units::per_tick(px(PROJECTILE_SPEED_PX), rate)
                                            .min(MAX_PROJECTILE_SPEED);
                                    let range = px(spell.range_px.min(10_000) as i32);
                                    let status = if spell.kind == SpellKind::Debuff {
                                        Some((StatusKind::Weakness, (1000 - power) / 10, duration))
                                    } else if spell.element == crate::content::Element::Fire {
                                        Some((
                                            StatusKind::Burning,
                                            (power / 5).max(1),
                                            ticks_from_millis(BURN_MS, rate),
                                        ))
                                    } else {
                                        None
                                    };
                                    let id = alloc(&mut st.next_entity);
                                    st.projectiles.push(Projectile {
                                        id,
                                        owner: slot8,
                                        pos: p.pos,
                                        vel: scale_to_length(dir.0, dir.1, speed),
                                        ticks_left: (range as u32).div_ceil(speed as u32).max(1),
                                        power: if spell.kind == SpellKind::Offensive {
                                            power
                                        } else {
                                            0
                                        },
                                        magic_power: p.stats().magic_power,
                                        element: spell.element as u8,
                                        radius: px(spell.area_radius_px.min(1000) as i32),
                                        status,
                                    });
                                }
                                _ => {}
                            }
                            self.events.push(Event::Cast {
                                slot: slot8,
                                spell: s as u8,
                            });
                        }
                    }
                }
            }
        }
    }

    fn pickups(&mut self) {
        let st = &mut self.state;
        if st.ground_items.is_empty() {
            return;
        }
        for (slot, p) in st.players.iter_mut().enumerate() {
            let Some(p) = p else { continue };
            if !p.alive() {
                continue;
            }
            let mut i = 0;
            while i < st.ground_items.len() {
                let g = &st.ground_items[i];
                if g.pos.within(p.pos, PICKUP_RADIUS) && p.can_carry(&g.item) {
                    let g = st.ground_items.remove(i);
                    p.inventory.push(g.item);
                    self.events.push(Event::Pickup {
                        slot: slot as u8,
                        item: g.id,
                    });
                } else {
                    i += 1;
                }
            }
        }
    }

    /// Records the living players' tiles as flow-field goals, once per decision period.
    fn update_nav(&mut self) {
        let st = &mut self.state;
        let period = ticks_from_millis(DECIDE_MS, st.config.tick_rate).max(1) as u64;
        if st.tick % period != 0 {
            return;
        }
        let tiles: Vec<(i32, i32)> = st
            .players
            .iter()
            .flatten()
            .filter(|p| p.alive())
            .map(|p| p.pos.tile())
            .collect();
        if st.nav.tiles != tiles {
            st.nav = NavGoals { tiles };
        }
    }

    fn monsters_tick(&mut self) {
        let st = &mut self.state;
        if st.monsters.is_empty() {
            return;
        }
        let rate = st.config.tick_rate.max(1);
        let genre = st.config.genre;
        let period = ticks_from_millis(DECIDE_MS, rate).max(1) as u64;
        let cooldown = ticks_from_millis(MONSTER_ATTACK_COOLDOWN_MS, rate);
        let tick = st.tick;
        let targets: Vec<(u8, Vec2)> = st
            .players
            .iter()
            .enumerate()
            .filter_map(|(s, p)| p.as_ref().filter(|p| p.alive()).map(|p| (s as u8, p.pos)))
            .collect();
        let map = &st.level.map;
        let flow = &mut self.flow;
        let mut field_ready = false;
        for m in st.monsters.iter_mut() {
            if !m.alive() {
                continue;
            }
            if !m.statuses.is_empty() {
                let d = status::tick(&mut m.statuses, rate);
                if d != 0 {
                    let before = m.hp;
                    let max = m.max_hp(genre);
                    m.hp = m.hp.saturating_add(d).min(max.max(before));
                    if d < 0 {
                        self.events.push(Event::Damage {
                            source: EntityId(0),
                            target: m.id,
                            amount: before - m.hp,
                            crit: false,
                        });
                    } else {
                        m.hp = m.hp.min(max);
                    }
                    if !m.alive() {
                        continue;
                    }
                }
            }
            m.attack_cd = m.attack_cd.saturating_sub(1);
            let tpl = m.template(genre);
            if (tick.wrapping_add(m.id.0 as u64)) % period == 0 {
                let max = m.max_hp(genre);
                decide(
                    m,
                    &targets,
                    &mut st.streams.ai,
                    map,
                    tpl.attack_range as i32,
                    max,
                );
            }
            let speed = |permille: i32| {
                crate::units::per_tick(px(tpl.speed.min(10_000) as i32) * permille / 1000, rate)
            };
            let target_pos = m
                .target
                .and_then(|t| targets.iter().find(|(s, _)| *s == t))
                .map(|&(_, pos)| pos);
            match m.ai {
                AiState::Idle | AiState::Detect => {}
                AiState::Patrol => {
                    m.pos = step_toward(map, m.pos, m.waypoint, speed(PATROL_SPEED_PERMILLE));
                }
                AiState::Return => {
                    m.pos = step_toward(map, m.pos, m.home, speed(RETURN_SPEED_PERMILLE));
                }
                AiState::Flee => {
                    if let Some(t) = target_pos {
                        let away = Vec2::new(
                            m.pos.x.saturating_mul(2).saturating_sub(t.x),
                            m.pos.y.saturating_mul(2).saturating_sub(t.y),
                        );
                        m.pos = step_toward(map, m.pos, away, speed(FLEE_SPEED_PERMILLE));
                    }
                }
                AiState::Chase | AiState::Attack => {
                    let Some(t) = target_pos else { continue };
                    let range = px(tpl.attack_range.min(10_000) as i32);
                    if m.pos.within(t, range) {
                        if m.attack_cd == 0 {
                            m.attack_cd = cooldown;
                            let slot = m.target.unwrap_or(0) as usize;
                            if let Some(p) = st.players.get_mut(slot).and_then(Option::as_mut) {
                                let ms = m.stats(genre);
                                let magic = ms.magic_power > ms.attack;
                                let hit = Hit {
                                    base: if magic { ms.magic_power } else { ms.attack },
                                    magic,
                                    element: m.element(genre) as u8,
                                };
                                let o =
                                    resolve(&mut st.streams.combat, &ms, &p.stats(), hit, &mut 0);
                                if o.evaded {
                                    self.events.push(Event::Evaded {
                                        source: m.id,
                                        target: p.id,
                                    });
                                } else {
                                    p.hp = p.hp.saturating_sub(o.damage).max(0);
                                    self.events.push(Event::Damage {
                                        source: m.id,
                                        target: p.id,
                                        amount: o.damage,
                                        crit: o.crit,
                                    });
                                }
                            }
                        }
                    } else {
                        let (tx, ty) = m.pos.tile();
                        let goal = if m.pos.within(t, 2 * SUB) {
                            t
                        } else {
                            if !field_ready {
                                flow.ensure(map, &st.nav);
                                field_ready = true;
                            }
                            flow.next_step(tx, ty)
                                .map_or(t, |(nx, ny)| Vec2::tile_centre(nx, ny))
                        };
                        m.pos = step_toward(map, m.pos, goal, speed(CHASE_SPEED_PERMILLE));
                    }
                }
            }
        }
    }

    fn projectiles_tick(&mut self) {
        let st = &mut self.state;
        if st.projectiles.is_empty() {
            return;
        }
        let genre = st.config.genre;
        let map = &st.level.map;
        let mut projectiles = std::mem::take(&mut st.projectiles);
        let mut candidates: Vec<usize> = Vec::new();
        for pr in projectiles.iter_mut() {
            let steps = pr
                .vel
                .x
                .unsigned_abs()
                .max(pr.vel.y.unsigned_abs())
                .div_ceil(64)
                .max(1) as i32;
            let start = pr.pos;
            let mut impact: Option<Option<usize>> = None;
            let reach = PROJECTILE_RADIUS + BODY_HALF;
            // Only monsters within this tick's travel (plus the reach) can be hit: find them
            // once instead of at every sub-step.
            let span = pr.vel.x.abs().max(pr.vel.y.abs()) * 2 + reach;
            candidates.clear();
            candidates.extend(
                st.monsters
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.alive() && m.pos.within(start, span))
                    .map(|(i, _)| i),
            );
            for i in 1..=steps {
                let next = Vec2::new(
                    start.x + pr.vel.x * i / steps,
                    start.y + pr.vel.y * i / steps,
                );
                let (tx, ty) = next.tile();
                if !map.is_walkable(tx, ty) {
                    impact = Some(None);
                    break;
                }
                pr.pos = next;
                let hit = candidates
                    .iter()
                    .map(|&i| (i, &st.monsters[i]))
                    .filter(|(_, m)| m.pos.within(pr.pos, reach))
                    .min_by_key(|(_, m)| (m.pos.dist_sq(pr.pos), m.id))
                    .map(|(i, _)| i);
                if hit.is_some() {
                    impact = Some(hit);
                    break;
                }
            }
            pr.ticks_left = pr.ticks_left.saturating_sub(1);
            if impact.is_none() && pr.ticks_left == 0 && pr.radius > 0 {
                impact = Some(None); // area spells explode at the end of their range
            }
            let Some(direct) = impact else { continue };
            pr.ticks_left = 0;
            let source = st
                .players
                .get(pr.owner as usize)
                .and_then(Option::as_ref)
                .map_or(EntityId(0), |p| p.id);
            let attacker = Stats {
                magic_power: pr.magic_power,
                ..Stats::PLAYER_BASE
            };
            let hit = Hit {
                base: pr.power,
                magic: true,
                element: pr.element,
            };
            let mut affect = |m: &mut Monster, falloff: Option<i64>, events: &mut Vec<Event>| {
                if pr.power > 0 {
                    let o = resolve(
                        &mut st.streams.combat,
                        &attacker,
                        &m.stats(genre),
                        hit,
                        &mut 0,
                    );
                    let dmg = match falloff {
                        // Explosions fall off as 1 - d/r.
                        Some(d) => (o.damage as i64 * (pr.radius as i64 - d) / pr.radius as i64)
                            .max(0) as i32,
                        None => o.damage,
                    };
                    hurt_monster(m, events, source, pr.owner, dmg, o.crit, o.evaded);
                }
                if let Some((kind, mag, ticks)) = pr.status {
                    status::apply(&mut m.statuses, kind, mag, ticks);
                    m.last_hitter = Some(pr.owner);
                }
            };
            if pr.radius > 0 {
                for m in st.monsters.iter_mut() {
                    if m.alive() && m.pos.within(pr.pos, pr.radius) {
                        let d = isqrt(m.pos.dist_sq(pr.pos));
                        affect(m, Some(d), &mut self.events);
                    }
                }
            } else if let Some(i) = direct {
                affect(&mut st.monsters[i], None, &mut self.events);
            }
        }
        projectiles.retain(|p| p.ticks_left > 0);
        st.projectiles = projectiles;
    }

    fn reap_monsters(&mut self) {
        let st = &mut self.state;
        if st.monsters.iter().all(Monster::alive) {
            return;
        }
        let genre = st.config.genre;
        let (depth, diff) = (st.config.depth, st.config.difficulty_permille);
        for m in st.monsters.iter().filter(|m| !m.alive()) {
            let xp = m.base(genre).xp;
            let gold = xp / 2 + 1;
            let killer = m
                .last_hitter
                .filter(|&s| st.players.get(s as usize).is_some_and(Option::is_some));
            if let Some(s) = killer {
                if let Some(p) = st.players[s as usize].as_mut() {
                    p.gold = p.gold.saturating_add(gold);
                    gain_xp(p, s, xp, &mut self.events);
                }
            }
            self.events.push(Event::Kill {
                monster: m.id,
                slot: killer,
                xp,
                gold,
            });
            let chance = if m.strong(genre) {
                STRONG_DROP_PERMILLE
            } else {
                DROP_PERMILLE
            };
            if st.streams.loot.chance(chance) {
                let item = roll_item(&mut st.streams.loot, genre, depth, diff);
                let id = alloc(&mut st.next_entity);
                st.ground_items.push(GroundItem {
                    id,
                    pos: m.pos,
                    item,
                });
                self.events.push(Event::LootDropped {
                    item: id,
                    from: m.id,
                });
            }
        }
        st.monsters.retain(Monster::alive);
    }

    fn reap_players(&mut self) {
        let st = &mut self.state;
        let respawn = ticks_from_millis(RESPAWN_MS, st.config.tick_rate).max(1);
        for (slot, p) in st.players.iter_mut().enumerate() {
            let Some(p) = p else { continue };
            if p.respawn_in == 0 && p.hp <= 0 {
                p.hp = 0;
                p.respawn_in = respawn;
                p.statuses.clear();
                self.events.push(Event::Death { slot: slot as u8 });
            } else if p.respawn_in == 0 {
                // Unequipping or an expired effect may have lowered the maximum.
                p.hp = p.hp.min(p.stats().max_hp);
            }
        }
    }

    fn check_descend(&mut self) {
        let st = &self.state;
        let (ex, ey) = st.level.exit;
        let mut any = false;
        for p in st.players.iter().flatten().filter(|p| p.alive()) {
            let (x, y) = p.pos.tile();
            if (x - ex).abs() > 1 || (y - ey).abs() > 1 {
                return;
            }
            any = true;
        }
        if any && st.config.depth < crate::config::MAX_DEPTH {
            self.descend();
        }
    }

    /// Goes one level deeper: see the module docs.
    pub(crate) fn descend(&mut self) {
        let st = &mut self.state;
        st.config.depth += 1;
        st.config.difficulty_permille = st
            .config
            .difficulty_permille
            .saturating_add(DIFFICULTY_PER_DEPTH)
            .min(crate::config::MAX_DIFFICULTY_PERMILLE);
        st.level = generate_level(&st.config);
        st.monsters.clear();
        st.projectiles.clear();
        st.ground_items.clear();
        st.nav = NavGoals::default();
        for (slot, p) in st.players.iter_mut().enumerate() {
            if let Some(p) = p {
                p.pos = spawn_position(&st.level, slot);
            }
        }
        let depth = st.config.depth;
        // The cached flow field belongs to the old map: drop it (goals alone could match).
        self.flow = crate::nav::FlowField::default();
        self.populate();
        self.events.push(Event::Descend { depth });
    }
}

/// The level for a config: terrain from (seed, depth) with the genre's generator.
pub(crate) fn generate_level(config: &crate::config::SimConfig) -> Level {
    let mut terrain = Stream::new(
        config.seed ^ (config.depth as u64).rotate_left(32),
        Purpose::Terrain,
    );
    gen::generate(
        config.generator_kind(),
        &mut terrain,
        config.width,
        config.height,
    )
}

/// An inventory index holding equipment, with its equipment slot.
fn equip_slot_of(p: &Player, i: usize) -> Option<usize> {
    p.inventory.get(i).and_then(|item| equip_slot(item.kind))
}

/// One AI decision (GAME_RULES.md states and numbers; see the constants).
fn decide(
    m: &mut Monster,
    targets: &[(u8, Vec2)],
    rng: &mut Stream,
    map: &TileMap,
    range_px: i32,
    max_hp: i32,
) {
    let nearest = targets
        .iter()
        .filter(|(_, pos)| pos.within(m.pos, DETECT_RANGE))
        .min_by_key(|(s, pos)| (pos.dist_sq(m.pos), *s))
        .map(|&(s, _)| s);
    let target_pos = m
        .target
        .and_then(|t| targets.iter().find(|(s, _)| *s == t))
        .map(|&(_, p)| p);
    let low = (m.hp as i64) * 1000 < (max_hp as i64) * FLEE_BELOW_PERMILLE;
    let leashed = !m.pos.within(m.home, LEASH_RANGE);
    let go_home = |m: &mut Monster| {
        m.ai = AiState::Return;
        m.target = None;
        m.waypoint = m.pos;
    };
    match m.ai {
        AiState::Idle | AiState::Patrol => {
            if let Some(t) = nearest {
                m.ai = AiState::Detect;
                m.target = Some(t);
            } else if m.ai == AiState::Idle {
                if rng.chance(PATROL_CHANCE_PERMILLE) {
                    let (w, h) = (map.width() as i32 * SUB, map.height() as i32 * SUB);
                    m.waypoint = Vec2::new(
                        (m.home.x + rng.range(-PATROL_RADIUS, PATROL_RADIUS)).clamp(0, w - 1),
                        (m.home.y + rng.range(-PATROL_RADIUS, PATROL_RADIUS)).clamp(0, h - 1),
                    );
                    m.ai = AiState::Patrol;
                }
            } else if rng.chance(PATROL_CHANCE_PERMILLE) || m.pos == m.waypoint {
                m.ai = AiState::Idle;
            }
        }
        AiState::Detect => match target_pos {
            Some(p) if p.within(m.pos, DETECT_RANGE * 3 / 2) => m.ai = AiState::Chase,
            _ => {
                m.ai = AiState::Idle;
                m.target = None;
            }
        },
        AiState::Chase | AiState::Attack => {
            if leashed {
                go_home(m);
            } else if low && nearest.is_some() {
                m.ai = AiState::Flee;
                m.target = nearest;
            } else {
                match target_pos {
                    Some(p) if p.within(m.pos, LOSE_RANGE) => {
                        m.ai = if p.within(m.pos, px(range_px.min(10_000))) {
                            AiState::Attack
                        } else {
                            AiState::Chase
                        };
                    }
                    _ => go_home(m),
                }
            }
        }
        AiState::Flee => {
            let threat = target_pos.is_some_and(|p| p.within(m.pos, DETECT_RANGE * 3 / 2));
            if leashed || !threat {
                go_home(m);
            }
        }
        AiState::Return => {
            if m.pos.within(m.home, SUB) {
                m.ai = AiState::Idle;
            } else if m.pos == m.waypoint {
                // Stuck behind something: settle here (this becomes its home).
                m.home = m.pos;
                m.ai = AiState::Idle;
            } else {
                m.waypoint = m.pos;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;
    use crate::content::{roll_monster, Item, ItemKind, Rarity};
    use crate::genre::Genre;
    use crate::input::Command;
    use crate::map::Tile;

    const G: Genre = Genre::Fantasy;

    /// An open 60x60 room, one player (slot 0) at tile (10, 10), no monsters.
    fn arena(tick_rate: u32) -> World {
        let mut w = World::new(&SimConfig {
            max_players: 2,
            width: 60,
            height: 60,
            tick_rate,
            ..SimConfig::default()
        })
        .unwrap();
        let mut map = TileMap::new(60, 60, Tile::Wall);
        for y in 1..59 {
            for x in 1..59 {
                map.set(x, y, Tile::Floor);
            }
        }
        w.state.level.map = map;
        w.state.level.spawn = (10, 10);
        w.state.level.exit = (50, 50);
        w.state.monsters.clear();
        w.state.ground_items.clear();
        let mut f = Frame::new(1);
        f.commands.push(Command::Join {
            slot: 0,
            name: "hero".into(),
        });
        w.step(&f).unwrap();
        w
    }

    fn add_monster(w: &mut World, tile: (i32, i32)) -> EntityId {
        let mut rng = Stream::new(77, Purpose::Spawn);
        // Template 0 of fantasy is the goblin.
        let mut spec = roll_monster(&mut rng, w.state.config.genre, 1, 500, false);
        spec.template = 0;
        spec.rarity = Rarity::Common;
        let id = alloc(&mut w.state.next_entity);
        let mut m = Monster::from_spec(id, &spec, Vec2::tile_centre(tile.0, tile.1));
        m.hp = m.max_hp(G);
        w.state.monsters.push(m);
        id
    }

    fn monster(w: &World, id: EntityId) -> Option<&Monster> {
        w.state.monsters.iter().find(|m| m.id == id)
    }

    fn step(w: &mut World, input: PlayerInput) {
        let mut f = Frame::new(w.tick() + 1);
        f.set_input(0, input);
        w.step(&f).unwrap();
    }

    fn hero(w: &World) -> &Player {
        w.state.players[0].as_ref().unwrap()
    }

    fn hero_mut(w: &mut World) -> &mut Player {
        w.state.players[0].as_mut().unwrap()
    }

    fn press(b: u8, slot: u8, aim: (i8, i8)) -> PlayerInput {
        PlayerInput {
            buttons: b,
            slot,
            aim_x: aim.0,
            aim_y: aim.1,
            ..PlayerInput::IDLE
        }
    }

    fn item(kind: ItemKind) -> Item {
        Item {
            name: "test".into(),
            kind,
            rarity: Rarity::Common,
            depth: 1,
            damage: if kind == ItemKind::Weapon { 12 } else { 0 },
            attack: 0,
            defense: if kind == ItemKind::Armor { 4 } else { 0 },
            magic_power: 0,
            magic_defense: 0,
            heal_hp: if kind == ItemKind::Consumable { 35 } else { 0 },
            restore_mana: 0,
            weight: 2,
            value: 10,
        }
    }

    #[test]
    fn levels_are_populated_per_room() {
        let w = World::new(&SimConfig::default()).unwrap();
        let level = &w.state.level;
        assert!(!w.state.monsters.is_empty());
        assert!(w.state.monsters.windows(2).all(|p| p[0].id < p[1].id));
        for m in &w.state.monsters {
            let (x, y) = m.pos.tile();
            let room = level.rooms.iter().find(|r| r.rect.contains(x, y)).unwrap();
            assert_ne!(room.kind, RoomKind::Spawn, "monster in the spawn room");
            assert!(level.map.is_walkable(x, y));
        }
        if level.rooms.iter().any(|r| r.kind == RoomKind::Boss) {
            assert!(w
                .state
                .monsters
                .iter()
                .any(|m| m.template(w.state.config.genre).is_boss));
        }
        let treasure = level
            .rooms
            .iter()
            .filter(|r| r.kind == RoomKind::Treasure)
            .count();
        assert!(w.state.ground_items.len() >= treasure);
        assert!(w.state.monsters.len() <= 3 * level.rooms.len());
    }

    #[test]
    fn melee_hits_in_front_with_cooldown() {
        let mut w = arena(20);
        let front = add_monster(&mut w, (10, 11)); // 32 px below (facing is down)
        let behind = add_monster(&mut w, (10, 9));
        let hp0 = monster(&w, front).unwrap().hp;
        let swings = |w: &World| {
            w.events()
                .iter()
                .filter(|e| matches!(e, Event::Damage { target, .. } | Event::Evaded { target, .. } if *target == front))
                .count()
        };
        step(&mut w, press(buttons::ATTACK, 0, (0, 100)));
        assert_eq!(swings(&w), 1);
        assert_eq!(hero(&w).attack_cd, 10, "0.5 s at 20 Hz");
        let mut total = 1;
        for _ in 0..9 {
            step(&mut w, press(buttons::ATTACK, 0, (0, 100)));
            total += swings(&w);
        }
        assert_eq!(total, 1, "cooldown holds for 0.5 s");
        step(&mut w, press(buttons::ATTACK, 0, (0, 100)));
        assert_eq!(swings(&w), 1);
        assert_eq!(
            monster(&w, behind).unwrap().hp,
            monster(&w, behind).unwrap().max_hp(G)
        );
        let hit = monster(&w, front).map_or(0, |m| m.hp);
        assert!(hit < hp0, "front monster took damage");
    }

    #[test]
    fn kills_give_xp_gold_and_levels() {
        let mut w = arena(20);
        let id = add_monster(&mut w, (10, 11));
        w.state.monsters[0].hp = 1;
        hero_mut(&mut w).xp = 95; // the goblin gives 10
        let gold = hero(&w).gold;
        while monster(&w, id).is_some() {
            step(&mut w, press(buttons::ATTACK, 0, (0, 100)));
            assert!(w.tick() < 200);
        }
        let p = hero(&w);
        assert_eq!((p.level, p.xp, p.skill_points), (2, 5, 1));
        assert_eq!(p.gold, gold + 6);
        assert_eq!(p.stats().max_hp, 110);
        assert_eq!(p.hp, 110, "full heal on level-up");
    }

    #[test]
    fn ai_detects_chases_attacks_and_returns() {
        let mut w = arena(20);
        let id = add_monster(&mut w, (15, 10)); // 160 px away: inside detection
        for _ in 0..10 {
            step(&mut w, PlayerInput::IDLE);
        }
        assert!(matches!(
            monster(&w, id).unwrap().ai,
            AiState::Detect | AiState::Chase
        ));
        let hp = hero(&w).hp;
        for _ in 0..100 {
            step(&mut w, PlayerInput::IDLE);
        }
        let m = monster(&w, id).unwrap();
        assert!(m.pos.within(hero(&w).pos, px(64)), "{m:?}");
        assert!(hero(&w).hp < hp, "the monster attacked");
        // Far from home: it gives up and returns.
        let m = w.state.monsters.iter_mut().find(|m| m.id == id).unwrap();
        m.home = Vec2::tile_centre(40, 40);
        for _ in 0..10 {
            step(&mut w, PlayerInput::IDLE);
        }
        assert_eq!(monster(&w, id).unwrap().ai, AiState::Return);
    }

    #[test]
    fn wounded_monsters_flee() {
        let mut w = arena(20);
        let id = add_monster(&mut w, (12, 10));
        for _ in 0..25 {
            step(&mut w, PlayerInput::IDLE);
        }
        let m = w.state.monsters.iter_mut().find(|m| m.id == id).unwrap();
        m.hp = (m.max_hp(G) / 10).max(1);
        let d0 = m.pos.dist_sq(hero(&w).pos);
        for _ in 0..20 {
            step(&mut w, PlayerInput::IDLE);
        }
        let m = monster(&w, id).unwrap();
        assert_eq!(m.ai, AiState::Flee);
        assert!(m.pos.dist_sq(hero(&w).pos) > d0);
    }

    #[test]
    fn spells_cost_mana_and_work() {
        let mut w = arena(20);
        // Bolt at a monster 5 tiles right: projectile, damage, burning.
        let id = add_monster(&mut w, (15, 10));
        w.state.monsters[0].ai = AiState::Return; // not walking into the bolt by itself
        let cost = spellbook(w.state.config.genre, 0).unwrap().mana_cost;
        step(&mut w, press(buttons::CAST, 0, (127, 0)));
        assert_eq!(hero(&w).mana, MAX_MANA - cost);
        assert_eq!(w.state.projectiles.len(), 1);
        let mut hit = false;
        for _ in 0..20 {
            step(&mut w, PlayerInput::IDLE);
            hit |= w.events().iter().any(|e| matches!(e, Event::Damage { target, .. } | Event::Evaded { target, .. } if *target == id));
        }
        assert!(hit);
        assert!(w.state.projectiles.is_empty());
        // Heal.
        hero_mut(&mut w).hp = 40;
        step(&mut w, press(buttons::CAST, 1, (0, 0)));
        assert!(hero(&w).hp >= 40 + 30 - 1);
        // Buff.
        step(&mut w, press(buttons::CAST, 2, (0, 0)));
        assert!(hero(&w)
            .statuses
            .iter()
            .any(|s| s.kind == StatusKind::Strength));
        assert!(hero(&w).stats().attack > crate::player::base_stats(1).attack);
    }

    #[test]
    fn explosions_fall_off_with_distance() {
        let mut w = arena(20);
        let near = add_monster(&mut w, (20, 10));
        let far = add_monster(&mut w, (20, 12));
        for m in &mut w.state.monsters {
            m.ai = AiState::Return;
            m.level = 100;
            m.hp = m.max_hp(G);
        }
        let full = w.state.monsters[0].hp;
        let id = alloc(&mut w.state.next_entity);
        w.state.projectiles.push(Projectile {
            id,
            owner: 0,
            pos: Vec2::tile_centre(19, 10),
            vel: Vec2::new(100, 0),
            ticks_left: 1,
            power: 100,
            magic_power: 0,
            element: 0,
            radius: px(96),
            status: None,
        });
        step(&mut w, PlayerInput::IDLE);
        let dmg = |id| full - monster(&w, id).unwrap().hp;
        assert!(dmg(near) > dmg(far), "{} vs {}", dmg(near), dmg(far));
        assert!(dmg(far) > 0);
    }

    #[test]
    fn mana_regenerates_exactly_at_any_rate() {
        for rate in [20, 60, 7] {
            let mut w = arena(rate);
            hero_mut(&mut w).mana = 0;
            for _ in 0..rate * 4 {
                step(&mut w, PlayerInput::IDLE);
            }
            assert_eq!(hero(&w).mana, 20, "rate {rate}");
        }
    }

    #[test]
    fn status_effects_tick_on_players_and_monsters() {
        let mut w = arena(20);
        let id = add_monster(&mut w, (30, 30));
        status::apply(&mut w.state.monsters[0].statuses, StatusKind::Poison, 3, 40);
        status::apply(&mut hero_mut(&mut w).statuses, StatusKind::Burning, 2, 40);
        let (mhp, php) = (monster(&w, id).unwrap().hp, hero(&w).hp);
        for _ in 0..40 {
            step(&mut w, PlayerInput::IDLE);
        }
        assert_eq!(monster(&w, id).unwrap().hp, mhp - 6);
        assert_eq!(hero(&w).hp, php - 4);
        assert!(hero(&w).statuses.is_empty());
    }

    #[test]
    fn pickup_use_equip_and_unequip() {
        let mut w = arena(20);
        let pos = hero(&w).pos;
        for kind in [ItemKind::Consumable, ItemKind::Weapon] {
            let id = alloc(&mut w.state.next_entity);
            w.state.ground_items.push(GroundItem {
                id,
                pos,
                item: item(kind),
            });
        }
        step(&mut w, PlayerInput::IDLE);
        assert_eq!(hero(&w).inventory.len(), 2);
        assert!(w.state.ground_items.is_empty());
        hero_mut(&mut w).hp = 50;
        step(&mut w, press(buttons::USE_ITEM, 0, (0, 0)));
        assert_eq!(hero(&w).hp, 85);
        assert_eq!(hero(&w).inventory.len(), 1);
        // Held button: no second use (edge-triggered).
        step(&mut w, press(buttons::USE_ITEM, 0, (0, 0)));
        step(&mut w, PlayerInput::IDLE);
        step(&mut w, press(buttons::INTERACT, 0, (0, 0)));
        assert_eq!(hero(&w).weapon_damage(), 12);
        assert!(hero(&w).inventory.is_empty());
        step(&mut w, PlayerInput::IDLE);
        step(&mut w, press(buttons::INTERACT, UNEQUIP_BASE, (0, 0)));
        assert_eq!(hero(&w).weapon_damage(), 0);
        assert_eq!(hero(&w).inventory.len(), 1);
    }

    #[test]
    fn full_inventory_leaves_items_on_the_ground() {
        let mut w = arena(20);
        hero_mut(&mut w).inventory = vec![item(ItemKind::Consumable); INVENTORY_SLOTS];
        let id = alloc(&mut w.state.next_entity);
        let pos = hero(&w).pos;
        w.state.ground_items.push(GroundItem {
            id,
            pos,
            item: item(ItemKind::Armor),
        });
        step(&mut w, PlayerInput::IDLE);
        assert_eq!(w.state.ground_items.len(), 1);
        assert_eq!(hero(&w).inventory.len(), INVENTORY_SLOTS);
    }

    #[test]
    fn dead_players_respawn_at_spawn() {
        let mut w = arena(20);
        hero_mut(&mut w).hp = 1;
        hero_mut(&mut w).pos = Vec2::tile_centre(30, 30);
        status::apply(&mut hero_mut(&mut w).statuses, StatusKind::Poison, 5, 100);
        let mut died = false;
        for _ in 0..20 {
            step(&mut w, PlayerInput::IDLE);
            died |= w.events().contains(&Event::Death { slot: 0 });
        }
        assert!(died);
        assert!(!hero(&w).alive());
        let mut respawned = false;
        for _ in 0..60 {
            step(&mut w, PlayerInput::IDLE);
            respawned |= w.events().contains(&Event::Respawn { slot: 0 });
        }
        assert!(respawned);
        let p = hero(&w);
        assert!(p.alive());
        assert_eq!(p.hp, p.stats().max_hp);
        assert_eq!(p.gold, 90, "10% of the gold lost");
        assert_eq!(p.pos, Vec2::tile_centre(10, 10));
    }

    #[test]
    fn cleared_rooms_stay_cleared() {
        let mut w = World::new(&SimConfig::default()).unwrap();
        w.state.monsters.clear();
        for _ in 0..2000 {
            step(&mut w, PlayerInput::IDLE);
        }
        assert!(w.state.monsters.is_empty());
    }

    #[test]
    fn standing_on_the_exit_descends() {
        let mut w = World::new(&SimConfig::default()).unwrap();
        let mut f = Frame::new(1);
        f.commands.push(Command::Join {
            slot: 0,
            name: "a".into(),
        });
        w.step(&f).unwrap();
        let old_map = w.state.level.map.clone();
        let (ex, ey) = w.state.level.exit;
        w.state.players[0].as_mut().unwrap().pos = Vec2::tile_centre(ex, ey);
        step(&mut w, PlayerInput::IDLE);
        assert!(w.events().contains(&Event::Descend { depth: 2 }));
        assert_eq!(w.depth(), 2);
        assert_eq!(w.state.config.difficulty_permille, 600);
        assert_ne!(w.state.level.map, old_map);
        assert!(!w.state.monsters.is_empty());
        assert_eq!(
            hero(&w).pos,
            spawn_position(&w.state.level, 0),
            "placed at the new spawn"
        );
        assert!(w.state.monsters.iter().all(|m| m.level >= 1));
        let mut back = World::restore(&w.snapshot()).unwrap();
        assert_eq!(back, w);
        // The restored world (fresh flow-field cache) and the original (whose cache was
        // built on the old map) keep stepping identically.
        for _ in 0..300 {
            let f = crate::script::fight_frame(&w, 1);
            w.step(&f).unwrap();
            back.step(&f).unwrap();
            assert_eq!(w.checksum(), back.checksum(), "tick {}", w.tick());
        }
    }

    #[test]
    fn validate_rejects_broken_entities() {
        let mut w = arena(20);
        add_monster(&mut w, (20, 20));
        add_monster(&mut w, (21, 20));
        assert!(w.state.validate().is_ok());
        let cases: Vec<Breaker> = vec![
            Box::new(|s| s.monsters.swap(0, 1)),
            Box::new(|s| s.monsters[0].hp = s.monsters[0].max_hp(G) + 1),
            Box::new(|s| s.monsters[0].level = 0),
            Box::new(|s| s.monsters[0].template = 999),
            Box::new(|s| s.monsters[0].pos = Vec2::new(-1, 5)),
            Box::new(|s| s.monsters[0].target = Some(9)),
            Box::new(|s| s.monsters[1].id = EntityId(s.next_entity)),
            Box::new(|s| {
                s.players[0].as_mut().unwrap().inventory = vec![item(ItemKind::Armor); 21]
            }),
            Box::new(|s| s.players[0].as_mut().unwrap().hp = 1000),
            Box::new(|s| s.players[0].as_mut().unwrap().level = 0),
            Box::new(|s| s.players[0].as_mut().unwrap().mana = MAX_MANA + 1),
            Box::new(|s| {
                s.players[0].as_mut().unwrap().equipment[1] = Some(item(ItemKind::Weapon))
            }),
            Box::new(|s| s.players[0].as_mut().unwrap().hp = 0),
        ];
        for (i, break_it) in cases.iter().enumerate() {
            let mut bad = w.state.clone();
            break_it(&mut bad);
            assert!(bad.validate().is_err(), "case {i} accepted");
        }
    }

    type WorldStateRef = crate::world::WorldState;
    type Breaker = Box<dyn Fn(&mut WorldStateRef)>;

    #[test]
    fn hostile_but_valid_states_do_not_panic() {
        // Extreme numbers that validate accepts must step without overflow.
        let mut w = arena(60);
        add_monster(&mut w, (10, 11));
        let m = &mut w.state.monsters[0];
        m.level = 100_000;
        m.hp = m.max_hp(G);
        let p = hero_mut(&mut w);
        p.gold = u32::MAX;
        p.xp = u32::MAX;
        p.level = crate::stats::MAX_LEVEL;
        p.hp = p.stats().max_hp;
        let mut big = item(ItemKind::Weapon);
        big.damage = 1 << 24;
        p.equipment[0] = Some(big);
        assert!(w.state.validate().is_ok());
        for t in 0..200u32 {
            step(
                &mut w,
                press(
                    buttons::ATTACK | buttons::CAST,
                    (t % 6) as u8,
                    (100, (t % 7) as i8),
                ),
            );
            assert!(w.state.validate().is_ok(), "tick {t}");
        }
    }
}
