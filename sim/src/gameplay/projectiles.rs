//! Projectiles in id order: travel in sub-steps, collision with walls and monsters,
//! direct hits and explosions.

use super::hurt_monster;
use crate::combat::{resolve, Hit};
use crate::entity::Monster;
use crate::event::Event;
use crate::movement::BODY_HALF;
use crate::player::EntityId;
use crate::stats::Stats;
use crate::status;
use crate::units::{isqrt, px, Vec2};
use crate::world::World;

/// Our choice: projectiles fly at 400 px/s. GAME_RULES.md: collision radius 16 px (against
/// a monster's body, so centres within 16 px + the body half-size).
pub const PROJECTILE_SPEED_PX: i32 = 400;
pub const PROJECTILE_RADIUS: i32 = px(16);

impl World {
    pub(super) fn projectiles_tick(&mut self) {
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
            let span = pr
                .vel
                .x
                .saturating_abs()
                .max(pr.vel.y.saturating_abs())
                .saturating_mul(2)
                .saturating_add(reach);
            candidates.clear();
            candidates.extend(
                st.monsters
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.alive() && m.pos.within(start, span))
                    .map(|(i, _)| i),
            );
            for i in 1..=steps {
                // `steps` is at least 1 here (the loop runs from 1 to it).
                let along = |v: i32| v.saturating_mul(i).checked_div(steps).unwrap_or(0);
                let next = Vec2::new(
                    start.x.saturating_add(along(pr.vel.x)),
                    start.y.saturating_add(along(pr.vel.y)),
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
                        Some(d) => (o.damage as i64)
                            .saturating_mul((pr.radius as i64).saturating_sub(d))
                            .checked_div(pr.radius as i64)
                            .unwrap_or(0)
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
}
