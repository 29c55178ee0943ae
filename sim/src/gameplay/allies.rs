//! Summoned allies (Summon spells): each tick, in id order, an ally counts down its time,
//! picks the nearest living monster near it, walks to it and strikes, or else follows its
//! summoner. Its blows count as its summoner's (XP, gold, the monster's anger).
//!
//! Our choices, where GAME_RULES.md only says "summon" (each at its constant):
//! - monsters do not fight back against an ally (their AI knows players only): an ally is a
//!   time-limited helper, not a second body to keep alive;
//! - one ally per player (a new summon sends the old one away); it vanishes when its time
//!   is up, when its summoner dies or leaves, and on a descent;
//! - its blow: base power/4 plus an attack of power/4 (10 + 10 at base), physical, once per
//!   second, crit 5% x1.5 like a monster's.

use super::hurt_monster;
use super::monsters::step_toward;
use crate::combat::{resolve, Hit};
use crate::entity::{MONSTER_CRIT_MULT_PERMILLE, MONSTER_CRIT_PERMILLE};
use crate::event::Event;
use crate::stats::Stats;
use crate::units::{px, ticks_from_millis, tiles};
use crate::world::World;

/// An ally notices monsters within 6 tiles of itself (the monsters' own detection range).
pub const ALLY_SIGHT: i32 = super::monsters::DETECT_RANGE;
/// It strikes within 48 px (a monster's melee reach).
pub const ALLY_REACH: i32 = px(48);
/// It strikes once per second.
pub const ALLY_ATTACK_COOLDOWN_MS: u32 = 1000;
/// It moves at 180 px/s: faster than a monster (100 base), slower than a player (200).
pub const ALLY_SPEED_PX: i32 = 180;
/// With nothing to fight it keeps within 2 tiles of its summoner...
pub const ALLY_FOLLOW: i32 = tiles(2);
/// ...and appears beside it when left over 15 tiles behind (after a blink).
pub const ALLY_CATCH_UP: i32 = tiles(15);

/// An ally's combat numbers from its spell's power.
pub fn ally_stats(power: i32) -> Stats {
    Stats {
        attack: power / 4,
        crit_permille: MONSTER_CRIT_PERMILLE,
        crit_mult_permille: MONSTER_CRIT_MULT_PERMILLE,
        ..Stats::ZERO
    }
}

impl World {
    pub(super) fn allies_tick(&mut self) {
        let st = &mut self.state;
        if st.allies.is_empty() {
            return;
        }
        let rate = st.config.tick_rate.max(1);
        let genre = st.config.genre;
        let speed = crate::units::per_tick(px(ALLY_SPEED_PX), rate);
        let cooldown = ticks_from_millis(ALLY_ATTACK_COOLDOWN_MS, rate);
        let map = &st.level.map;
        let mut i = 0;
        while i < st.allies.len() {
            let a = &mut st.allies[i];
            a.ticks_left = a.ticks_left.saturating_sub(1);
            a.attack_cd = a.attack_cd.saturating_sub(1);
            let owner = st
                .players
                .get(a.owner as usize)
                .and_then(Option::as_ref)
                .filter(|p| p.alive());
            let Some(owner) = owner.filter(|_| a.ticks_left > 0) else {
                self.events.push(Event::AllyGone {
                    ally: a.id,
                    owner: a.owner,
                });
                st.allies.remove(i);
                continue;
            };
            let owner_pos = owner.pos;
            i = i.saturating_add(1);
            let target = st
                .monsters
                .iter()
                .enumerate()
                .filter(|(_, m)| m.alive() && m.pos.within(a.pos, ALLY_SIGHT))
                .min_by_key(|(_, m)| (m.pos.dist_sq(a.pos), m.id))
                .map(|(j, _)| j);
            if let Some(j) = target {
                let in_reach = st.monsters[j].pos.within(a.pos, ALLY_REACH);
                if !in_reach {
                    a.pos = step_toward(map, a.pos, st.monsters[j].pos, speed);
                } else if a.attack_cd == 0 {
                    a.attack_cd = cooldown;
                    let m = &mut st.monsters[j];
                    let hit = Hit {
                        base: a.power / 4,
                        magic: false,
                        element: 0,
                    };
                    let o = resolve(
                        &mut st.streams.combat,
                        &ally_stats(a.power),
                        &m.stats(genre),
                        hit,
                        &mut 0,
                    );
                    hurt_monster(
                        m,
                        &mut self.events,
                        a.id,
                        a.owner,
                        o.damage,
                        o.crit,
                        o.evaded,
                    );
                }
            } else if !a.pos.within(owner_pos, ALLY_CATCH_UP) {
                a.pos = owner_pos;
            } else if !a.pos.within(owner_pos, ALLY_FOLLOW) {
                a.pos = step_toward(map, a.pos, owner_pos, speed);
            }
        }
    }
}
