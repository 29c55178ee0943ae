//! Casting a spell from the spellbook: mana and cooldown, then healing, buffs, or a
//! projectile for offensive and debuff spells.

use super::{alloc, projectiles::PROJECTILE_SPEED_PX};
use crate::content::{spellbook, SpellKind, SPELLBOOK_LEN};
use crate::entity::{Projectile, MAX_PROJECTILE_SPEED};
use crate::event::Event;
use crate::genre::Genre;
use crate::status::{self, StatusKind};
use crate::units::{px, scale_to_length, ticks_from_millis};
use crate::world::WorldState;

/// Our choice: fire projectiles set the target burning for power/5 per second, 3 s.
pub const BURN_MS: u32 = 3000;

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
                    _ => {}
                }
                events.push(Event::Cast {
                    slot: slot8,
                    spell: s as u8,
                });
            }
        }
    }
}
