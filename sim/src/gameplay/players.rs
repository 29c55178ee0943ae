//! Player upkeep (respawn countdown, status effects, mana regeneration, cooldowns) and
//! player actions (items, equipment, melee; casting is in `spells`).

use super::population::spawn_position;
use super::{hurt_monster, spells};
use crate::combat::{resolve, Hit};
use crate::content::SPELLBOOK_LEN;
use crate::entity::GroundItem;
use crate::event::Event;
use crate::input::PICK_UP_SLOT;
use crate::input::{buttons, Frame, PlayerInput};
use crate::player::{
    equip_slot, Player, CALM_CAP_TICKS, INVENTORY_SLOTS, MANA_REGEN_PER_SEC, MAX_MANA,
};
use crate::status;
use crate::units::{px, scale_to_length, ticks_from_millis, Vec2};
use crate::world::World;

/// GAME_RULES.md: melee range 50 px and cooldown 0.5 s.
pub const MELEE_RANGE: i32 = px(50);
pub const MELEE_COOLDOWN_MS: u32 = 500;
/// Our choice (see module docs): respawn after 3 s, losing 10% of the gold.
pub const RESPAWN_MS: u32 = 3000;
pub const DEATH_GOLD_LOSS_PERCENT: u32 = 10;
/// Our choice (balance, issue 24): for 5 s after a respawn monsters do not go for the
/// player (those chasing it go home), so a newcomer is not killed again on arrival.
pub const RESPAWN_GRACE_MS: u32 = 5000;
/// Our choice (balance, issue 24): out of combat, HP comes back by itself. After 5 s
/// without losing HP a player regains 2% of its maximum HP per second (at least 1), so a
/// player who does not cast or carry potions can still go on after a fight; a fight in
/// progress is not made easier by it. The rules name regeneration only as a status
/// effect; this is the resting rule beside it.
pub const REST_DELAY_MS: u32 = 3000;
pub const REST_REGEN_PERCENT_PER_SEC: i32 = 4;
/// INTERACT with a slot in `UNEQUIP_BASE..UNEQUIP_BASE + 3` unequips weapon / armor /
/// accessory; a slot below 20 equips that inventory item.
pub const UNEQUIP_BASE: u8 = INVENTORY_SLOTS as u8;
/// Our choice: DROP puts the item 1.5 tiles in front of the player, past the 1-tile pickup
/// radius so walking does not take it straight back (walking over it later does).
pub const DROP_DISTANCE: i32 = px(48);
/// Our choice: INTERACT with `PICK_UP_SLOT` takes the nearest item within 2 tiles, also one
/// the player dropped, without walking onto it.
pub const PICK_UP_REACH: i32 = px(64);

/// The eight directions a drop may go, as input-scale vectors, in a fixed order.
const DROP_DIRECTIONS: [(i32, i32); 8] = [
    (0, 127),
    (127, 0),
    (0, -127),
    (-127, 0),
    (90, 90),
    (90, -90),
    (-90, 90),
    (-90, -90),
];

/// Where a dropped item lands: `DROP_DISTANCE` along the direction closest to `dir` whose
/// landing point and midway point are on walkable tiles (so nothing drops through a wall);
/// None when every direction is blocked.
fn drop_point(map: &crate::map::TileMap, from: Vec2, dir: (i32, i32)) -> Option<Vec2> {
    let facing = scale_to_length(dir.0, dir.1, 1024);
    let mut order: Vec<(std::cmp::Reverse<i64>, usize)> = DROP_DIRECTIONS
        .iter()
        .enumerate()
        .map(|(i, &(x, y))| {
            let d = scale_to_length(x, y, 1024);
            // Unit vectors of length 1024: the products stay far inside i64.
            let dot = (d.x as i64)
                .saturating_mul(facing.x as i64)
                .saturating_add((d.y as i64).saturating_mul(facing.y as i64));
            (std::cmp::Reverse(dot), i)
        })
        .collect();
    order.sort_unstable();
    order.into_iter().find_map(|(_, i)| {
        let (x, y) = DROP_DIRECTIONS[i];
        let walkable = |len: i32| {
            let d = scale_to_length(x, y, len);
            let at = Vec2::new(from.x.saturating_add(d.x), from.y.saturating_add(d.y));
            let (tx, ty) = at.tile();
            map.is_walkable(tx, ty).then_some(at)
        };
        walkable(DROP_DISTANCE / 2)?;
        walkable(DROP_DISTANCE)
    })
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

/// An inventory index holding equipment, with its equipment slot.
fn equip_slot_of(p: &Player, i: usize) -> Option<usize> {
    p.inventory.get(i).and_then(|item| equip_slot(item.kind))
}

impl World {
    pub(super) fn players_tick(&mut self) {
        let st = &mut self.state;
        let rate = st.config.tick_rate.max(1);
        let respawn = ticks_from_millis(RESPAWN_MS, rate).max(1);
        for (slot, p) in st.players.iter_mut().enumerate() {
            let Some(p) = p else { continue };
            if p.respawn_in > 0 {
                p.respawn_in = p.respawn_in.min(respawn).saturating_sub(1);
                if p.respawn_in == 0 {
                    p.pos = spawn_position(&st.level, slot);
                    p.statuses.clear();
                    p.hp = p.stats().max_hp.max(1);
                    p.mana = MAX_MANA;
                    p.mana_acc = 0;
                    p.attack_cd = 0;
                    p.spell_cd = [0; SPELLBOOK_LEN];
                    p.shield = 0;
                    p.shield_ticks = 0;
                    p.calm_ticks = 0;
                    p.grace_ticks = ticks_from_millis(RESPAWN_GRACE_MS, rate);
                    // The loss is a percentage (at most 100) of the gold held, so it never exceeds it.
                    let loss = (p.gold as u64).saturating_mul(DEATH_GOLD_LOSS_PERCENT as u64) / 100;
                    p.gold = p.gold.saturating_sub(loss as u32);
                    self.events.push(Event::Respawn { slot: slot as u8 });
                }
                continue;
            }
            let dhp = status::tick(&mut p.statuses, rate);
            if dhp != 0 {
                let max = p.stats().max_hp;
                super::pulse_hp(&mut p.hp, dhp, max, true, p.id, &mut self.events);
            }
            p.grace_ticks = p.grace_ticks.saturating_sub(1);
            if dhp < 0 {
                p.calm_ticks = 0;
            } else {
                p.calm_ticks = p.calm_ticks.saturating_add(1).min(CALM_CAP_TICKS);
            }
            let rest = ticks_from_millis(REST_DELAY_MS, rate);
            // Once a second (counted from the end of the delay) while calm.
            let due = p
                .calm_ticks
                .checked_sub(rest)
                .and_then(|t| t.checked_rem(rate))
                == Some(0);
            if due && p.calm_ticks > rest && p.hp > 0 {
                let max = p.stats().max_hp;
                if p.hp < max {
                    let heal = (max.saturating_mul(REST_REGEN_PERCENT_PER_SEC) / 100)
                        .max(1)
                        .min(max.saturating_sub(p.hp));
                    p.hp = p.hp.saturating_add(heal);
                }
            }
            if p.mana < MAX_MANA {
                p.mana_acc = p.mana_acc.saturating_add(MANA_REGEN_PER_SEC);
                // `rate` is the validated tick rate (at least 1): the fallbacks never apply.
                let gained = p.mana_acc.checked_div(rate).unwrap_or(0);
                p.mana = p.mana.saturating_add(gained).min(MAX_MANA);
                p.mana_acc = p.mana_acc.checked_rem(rate).unwrap_or(0);
            } else {
                p.mana_acc = 0;
            }
            if p.shield_ticks > 0 {
                p.shield_ticks = p.shield_ticks.saturating_sub(1);
                if p.shield_ticks == 0 {
                    p.shield = 0;
                    self.events.push(Event::ShieldGone { slot: slot as u8 });
                }
            }
            p.attack_cd = p.attack_cd.saturating_sub(1);
            for cd in &mut p.spell_cd {
                *cd = cd.saturating_sub(1);
            }
        }
    }

    pub(super) fn player_actions(&mut self, frame: &Frame) {
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
                if input.slot == PICK_UP_SLOT {
                    let nearest = st
                        .ground_items
                        .iter()
                        .enumerate()
                        .filter(|(_, g)| g.pos.within(p.pos, PICK_UP_REACH) && p.can_carry(&g.item))
                        .min_by_key(|(_, g)| (g.pos.dist_sq(p.pos), g.id))
                        .map(|(i, _)| i);
                    if let Some(gi) = nearest {
                        let g = st.ground_items.remove(gi);
                        p.inventory.push(g.item);
                        self.events.push(Event::Pickup {
                            slot: slot8,
                            item: g.id,
                        });
                    }
                } else if let Some(e) = equip_slot_of(p, i) {
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
            if edge(buttons::DROP) && (input.slot as usize) < p.inventory.len() {
                if let Some(at) = drop_point(&st.level.map, p.pos, dir) {
                    let item = p.inventory.remove(input.slot as usize);
                    let id = super::alloc(&mut st.next_entity);
                    // Ids grow monotonically, so pushing keeps the list sorted by id.
                    st.ground_items.push(GroundItem { id, pos: at, item });
                    self.events.push(Event::Dropped {
                        slot: slot8,
                        index: input.slot,
                        item: id,
                    });
                }
            }
            if input.pressed(buttons::ATTACK) && p.attack_cd == 0 {
                p.attack_cd = ticks_from_millis(MELEE_COOLDOWN_MS, rate);
                let target = st
                    .monsters
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.alive() && m.pos.within(p.pos, MELEE_RANGE))
                    .filter(|(_, m)| {
                        let dx = (m.pos.x as i64).saturating_sub(p.pos.x as i64);
                        let dy = (m.pos.y as i64).saturating_sub(p.pos.y as i64);
                        dx.saturating_mul(dir.0 as i64)
                            .saturating_add(dy.saturating_mul(dir.1 as i64))
                            >= 0
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
                spells::cast(
                    st,
                    &mut self.events,
                    slot,
                    input.slot as usize,
                    dir,
                    rate,
                    genre,
                );
            }
        }
    }
}
