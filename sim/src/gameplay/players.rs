//! Player upkeep (respawn countdown, status effects, mana regeneration, cooldowns) and
//! player actions (items, equipment, melee; casting is in `spells`).

use super::population::spawn_position;
use super::{hurt_monster, spells};
use crate::combat::{resolve, Hit};
use crate::content::SPELLBOOK_LEN;
use crate::event::Event;
use crate::input::{buttons, Frame, PlayerInput};
use crate::player::{equip_slot, Player, INVENTORY_SLOTS, MANA_REGEN_PER_SEC, MAX_MANA};
use crate::status;
use crate::units::{px, ticks_from_millis};
use crate::world::World;

/// GAME_RULES.md: melee range 50 px and cooldown 0.5 s.
pub const MELEE_RANGE: i32 = px(50);
pub const MELEE_COOLDOWN_MS: u32 = 500;
/// Our choice (see module docs): respawn after 3 s, losing 10% of the gold.
pub const RESPAWN_MS: u32 = 3000;
pub const DEATH_GOLD_LOSS_PERCENT: u32 = 10;
/// INTERACT with a slot in `UNEQUIP_BASE..UNEQUIP_BASE + 3` unequips weapon / armor /
/// accessory; a slot below 20 equips that inventory item.
pub const UNEQUIP_BASE: u8 = INVENTORY_SLOTS as u8;

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
            if p.mana < MAX_MANA {
                p.mana_acc = p.mana_acc.saturating_add(MANA_REGEN_PER_SEC);
                // `rate` is the validated tick rate (at least 1): the fallbacks never apply.
                let gained = p.mana_acc.checked_div(rate).unwrap_or(0);
                p.mana = p.mana.saturating_add(gained).min(MAX_MANA);
                p.mana_acc = p.mana_acc.checked_rem(rate).unwrap_or(0);
            } else {
                p.mana_acc = 0;
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
