//! Casting a spell from the spellbook: mana and cooldown, then healing, buffs, a
//! projectile for offensive and debuff spells, a shield (defensive), a blink (utility) or
//! an ally (summon).

use super::{alloc, projectiles::PROJECTILE_SPEED_PX};
use crate::content::{spellbook, SpellKind, SPELLBOOK_LEN};
use crate::entity::{Ally, Projectile, MAX_PROJECTILE_SPEED};
use crate::event::Event;
use crate::genre::Genre;
use crate::movement::{move_body, BODY_HALF};
use crate::status::{self, StatusKind};
use crate::units::{px, scale_to_length, ticks_from_millis, tiles};
use crate::world::WorldState;

/// Our choice: fire projectiles set the target burning for power/5 per second, 3 s.
pub const BURN_MS: u32 = 3000;
/// Our choice: a shield never holds more than this many points, however it was cast (a
/// new ward tops the shield up to its power, it does not stack).
pub const MAX_SHIELD: i32 = 10_000;
/// Our choice: a blink jumps `power` tiles (5 at base), never more than this; it stops at
/// the first wall like a walk would (the sliding collision), so it never passes one.
pub const MAX_BLINK_TILES: i32 = 10;

/// A CAST press by the player of `slot` with spell slot `s`, facing `dir`.
pub(super) fn cast(
    st: &mut WorldState,
    events: &mut Vec<Event>,
    slot: usize,
    s: usize,
    dir: (i32, i32),
    rate: u32,
    genre: Genre,
) {
    let Some(p) = st.players[slot].as_mut() else {
        return;
    };
    let slot8 = slot as u8;
    if s < SPELLBOOK_LEN && p.spell_cd[s] == 0 {
        if let Some(spell) = spellbook(genre, s) {
            if p.mana >= spell.mana_cost {
                p.mana = p.mana.saturating_sub(spell.mana_cost);
                p.spell_cd[s] = ticks_from_millis(spell.cooldown_ms, rate);
                let power = spell.power.min(1_000_000) as i32;
                let duration = ticks_from_millis(spell.duration_ms, rate);
                match spell.kind {
                    SpellKind::Healing => {
                        let max = p.stats().max_hp;
                        let heal = power.min(max.saturating_sub(p.hp).max(0));
                        p.hp = p.hp.saturating_add(heal);
                        events.push(Event::Healed {
                            target: p.id,
                            amount: heal,
                        });
                    }
                    SpellKind::Buff => status::apply(
                        &mut p.statuses,
                        StatusKind::Strength,
                        power.saturating_sub(1000) / 10,
                        duration,
                    ),
                    SpellKind::Offensive | SpellKind::Debuff => {
                        let speed = crate::units::per_tick(px(PROJECTILE_SPEED_PX), rate)
                            .min(MAX_PROJECTILE_SPEED);
                        let range = px(spell.range_px.min(10_000) as i32);
                        let status = if spell.kind == SpellKind::Debuff {
                            Some((
                                StatusKind::Weakness,
                                1000i32.saturating_sub(power) / 10,
                                duration,
                            ))
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
                    SpellKind::Defensive => {
                        p.shield = p.shield.max(power.min(MAX_SHIELD));
                        p.shield_ticks = duration.max(1);
                        events.push(Event::Shielded {
                            slot: slot8,
                            amount: p.shield,
                        });
                    }
                    SpellKind::Utility => {
                        let reach = tiles(power.clamp(1, MAX_BLINK_TILES));
                        let from = p.pos;
                        let delta = scale_to_length(dir.0, dir.1, reach);
                        p.pos = move_body(&st.level.map, from, delta, BODY_HALF);
                        events.push(Event::Blinked {
                            slot: slot8,
                            from,
                            to: p.pos,
                        });
                    }
                    SpellKind::Summon => {
                        // One ally per player: a new summon sends the old one away.
                        let pos = p.pos;
                        st.allies.retain(|a| {
                            if a.owner == slot8 {
                                events.push(Event::AllyGone {
                                    ally: a.id,
                                    owner: slot8,
                                });
                            }
                            a.owner != slot8
                        });
                        let id = alloc(&mut st.next_entity);
                        // Ids grow monotonically, so pushing keeps the list sorted by id.
                        st.allies.push(Ally {
                            id,
                            owner: slot8,
                            pos,
                            power,
                            ticks_left: duration.max(1),
                            attack_cd: 0,
                        });
                        events.push(Event::Summoned {
                            slot: slot8,
                            ally: id,
                        });
                    }
                }
                events.push(Event::Cast {
                    slot: slot8,
                    spell: s as u8,
                });
            }
        }
    }
}
