//! Pickup of ground items, deaths (monsters give XP and gold and may drop loot; players
//! start their respawn countdown) and levelling up.

use super::alloc;
use super::players::RESPAWN_MS;
use crate::content::roll_item;
use crate::entity::{GroundItem, Monster};
use crate::event::Event;
use crate::player::Player;
use crate::stats::xp_to_next;
use crate::units::{px, ticks_from_millis};
use crate::world::World;

/// GAME_RULES.md: pickup radius 32 px.
pub const PICKUP_RADIUS: i32 = px(32);
/// GAME_RULES.md: 30% drop chance, 70% for strong (boss or rare+) monsters.
pub const DROP_PERMILLE: u32 = 300;
pub const STRONG_DROP_PERMILLE: u32 = 700;

/// Adds XP, levelling up per XP_TABLE (+1 skill point, level gains, full heal per level).
pub(crate) fn gain_xp(p: &mut Player, slot: u8, xp: u32, events: &mut Vec<Event>) {
    p.xp = p.xp.saturating_add(xp);
    while let Some(need) = xp_to_next(p.level) {
        if p.xp < need {
            break;
        }
        // `p.xp >= need` was just checked; `xp_to_next` is None at the last level.
        p.xp = p.xp.saturating_sub(need);
        p.level = p.level.saturating_add(1);
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
    pub(super) fn pickups(&mut self) {
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
                    i = i.saturating_add(1);
                }
            }
        }
    }

    pub(super) fn reap_monsters(&mut self) {
        let st = &mut self.state;
        if st.monsters.iter().all(Monster::alive) {
            return;
        }
        let genre = st.config.genre;
        let (depth, diff) = (st.config.depth, st.config.difficulty_permille);
        for m in st.monsters.iter().filter(|m| !m.alive()) {
            let xp = m.base(genre).xp;
            let gold = (xp / 2).saturating_add(1);
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

    pub(super) fn reap_players(&mut self) {
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
}
