//! The damage formula (GAME_RULES.md "Combat"): evasion roll; base = weapon damage + attack
//! (or magic power for spells); crit roll x crit damage; minus defense (or magic defense);
//! x (1 - resistance); at least 1; absorbed by a shield first.

use crate::rng::Stream;
use crate::stats::{Stats, ELEMENTS};
use serde::{Deserialize, Serialize};

/// What a hit is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    /// Weapon or spell damage before the attacker's stat is added.
    pub base: i32,
    /// Magic hits use magic power and magic defense.
    pub magic: bool,
    /// Element index (0 = none).
    pub element: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Damage to HP after the shield took its part.
    pub damage: i32,
    /// Damage the shield absorbed.
    pub absorbed: i32,
    pub crit: bool,
    pub evaded: bool,
}

/// Resolves one hit. Draws exactly two numbers from `rng` (evasion, crit) whatever happens,
/// so the stream's position never depends on the outcome.
pub fn resolve(
    rng: &mut Stream,
    attacker: &Stats,
    defender: &Stats,
    hit: Hit,
    shield: &mut i32,
) -> Outcome {
    let evade_roll = rng.below(1000);
    let crit_roll = rng.below(1000);
    if evade_roll < defender.evasion_permille.min(750) {
        return Outcome {
            damage: 0,
            absorbed: 0,
            crit: false,
            evaded: true,
        };
    }
    let stat = if hit.magic {
        attacker.magic_power
    } else {
        attacker.attack
    };
    let mut dmg = (hit.base.max(0) as i64).saturating_add(stat.max(0) as i64);
    let crit = crit_roll < attacker.crit_permille;
    if crit {
        dmg = dmg.saturating_mul(attacker.crit_mult_permille as i64) / 1000;
    }
    dmg = dmg.saturating_sub(
        (if hit.magic {
            defender.magic_defense
        } else {
            defender.defense
        })
        .max(0) as i64,
    );
    let resist =
        defender.resist_permille[(hit.element as usize).min(ELEMENTS - 1)].clamp(-1000, 900) as i64;
    // `resist` is clamped to -1000..=900 above, so the factor is 100..=2000.
    dmg = dmg.saturating_mul(1000i64.saturating_sub(resist)) / 1000;
    let dmg = dmg.clamp(1, i32::MAX as i64) as i32;
    let absorbed = dmg.min((*shield).max(0));
    *shield = shield.saturating_sub(absorbed);
    Outcome {
        damage: dmg.saturating_sub(absorbed),
        absorbed,
        crit,
        evaded: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Purpose;

    fn no_luck(s: Stats) -> Stats {
        Stats {
            crit_permille: 0,
            evasion_permille: 0,
            ..s
        }
    }

    #[test]
    fn formula_in_order() {
        let mut rng = Stream::new(1, Purpose::Combat);
        let att = no_luck(Stats::PLAYER_BASE);
        let def = no_luck(Stats::PLAYER_BASE);
        let mut shield = 0;
        let o = resolve(
            &mut rng,
            &att,
            &def,
            Hit {
                base: 15,
                magic: false,
                element: 0,
            },
            &mut shield,
        );
        assert_eq!(o.damage, 15 + 10 - 5);
        let mut resistant = def;
        resistant.resist_permille[1] = 500;
        let o = resolve(
            &mut rng,
            &att,
            &resistant,
            Hit {
                base: 15,
                magic: true,
                element: 1,
            },
            &mut shield,
        );
        assert_eq!(o.damage, (15 + 10 - 5) / 2);
    }

    #[test]
    fn minimum_one_and_shield_first() {
        let mut rng = Stream::new(2, Purpose::Combat);
        let att = no_luck(Stats::PLAYER_BASE);
        let tank = Stats {
            defense: 1000,
            ..no_luck(Stats::PLAYER_BASE)
        };
        let mut shield = 0;
        assert_eq!(
            resolve(
                &mut rng,
                &att,
                &tank,
                Hit {
                    base: 1,
                    magic: false,
                    element: 0
                },
                &mut shield
            )
            .damage,
            1
        );
        let mut shield = 12;
        let o = resolve(
            &mut rng,
            &att,
            &no_luck(Stats::PLAYER_BASE),
            Hit {
                base: 15,
                magic: false,
                element: 0,
            },
            &mut shield,
        );
        assert_eq!((o.damage, o.absorbed, shield), (8, 12, 0));
    }

    #[test]
    fn crits_and_evasion_happen_at_their_rates() {
        let mut rng = Stream::new(3, Purpose::Combat);
        let att = Stats {
            crit_permille: 250,
            ..Stats::PLAYER_BASE
        };
        let def = Stats {
            evasion_permille: 100,
            ..Stats::PLAYER_BASE
        };
        let (mut crits, mut evades) = (0, 0);
        for _ in 0..10_000 {
            let o = resolve(
                &mut rng,
                &att,
                &def,
                Hit {
                    base: 15,
                    magic: false,
                    element: 0,
                },
                &mut 0,
            );
            crits += o.crit as u32;
            evades += o.evaded as u32;
        }
        assert!((2000..2600).contains(&crits), "{crits}");
        assert!((850..1150).contains(&evades), "{evades}");
    }
}
