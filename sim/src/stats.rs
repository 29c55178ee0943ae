//! Combat statistics, the level table and per-level gains (GAME_RULES.md "Entities and
//! stats" and "Progression"), all in integers.

use serde::{Deserialize, Serialize};

/// Number of elements (none, fire, ice, lightning, earth, wind, light, dark, arcane).
pub const ELEMENTS: usize = 9;

/// The numbers the damage formula reads. Percent-like values are permille.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub max_hp: i32,
    pub attack: i32,
    pub defense: i32,
    pub magic_power: i32,
    pub magic_defense: i32,
    /// Chance of a critical hit, permille (rules: 5% = 50).
    pub crit_permille: u32,
    /// Critical damage multiplier, permille (rules: x2 = 2000).
    pub crit_mult_permille: u32,
    /// Chance to evade a hit entirely, permille.
    pub evasion_permille: u32,
    /// Resistance per element, permille of damage removed (negative = weakness).
    pub resist_permille: [i16; ELEMENTS],
}

impl Stats {
    /// A level-1 player (rules: 100 HP, attack 10, defense 5, magic power 10, magic
    /// defense 5, crit 5%, crit x2). Evasion 5% is our choice (the rules roll evasion but
    /// give no base number).
    pub const PLAYER_BASE: Stats = Stats {
        max_hp: 100,
        attack: 10,
        defense: 5,
        magic_power: 10,
        magic_defense: 5,
        crit_permille: 50,
        crit_mult_permille: 2000,
        evasion_permille: 50,
        resist_permille: [0; ELEMENTS],
    };

    /// Adds `other`'s numbers to these (equipment and buffs), saturating.
    pub fn add(&mut self, other: &Stats) {
        self.max_hp = self.max_hp.saturating_add(other.max_hp);
        self.attack = self.attack.saturating_add(other.attack);
        self.defense = self.defense.saturating_add(other.defense);
        self.magic_power = self.magic_power.saturating_add(other.magic_power);
        self.magic_defense = self.magic_defense.saturating_add(other.magic_defense);
        self.crit_permille = self.crit_permille.saturating_add(other.crit_permille);
        self.crit_mult_permille = self
            .crit_mult_permille
            .saturating_add(other.crit_mult_permille);
        self.evasion_permille = self.evasion_permille.saturating_add(other.evasion_permille);
        for (r, o) in self.resist_permille.iter_mut().zip(other.resist_permille) {
            *r = r.saturating_add(o);
        }
    }

    pub const ZERO: Stats = Stats {
        max_hp: 0,
        attack: 0,
        defense: 0,
        magic_power: 0,
        magic_defense: 0,
        crit_permille: 0,
        crit_mult_permille: 0,
        evasion_permille: 0,
        resist_permille: [0; ELEMENTS],
    };
}

/// Highest character level.
pub const MAX_LEVEL: u32 = 99;

/// XP needed to go from level L to L+1, for L in 1..MAX_LEVEL: 100 at level 1, then
/// 100 x L^1.5 (rules), computed exactly as floor(sqrt(10^4 x L^3)).
pub const XP_TABLE: [u32; MAX_LEVEL as usize] = xp_table();

const fn isqrt_u64(n: u64) -> u64 {
    // Binary search: const-evaluable and exact.
    let (mut lo, mut hi) = (0u64, 1u64 << 32);
    while lo < hi {
        let mid = lo.saturating_add(hi).div_ceil(2);
        if mid.saturating_mul(mid) <= n {
            lo = mid;
        } else {
            hi = mid.saturating_sub(1);
        }
    }
    lo
}

const fn xp_table() -> [u32; MAX_LEVEL as usize] {
    let mut t = [0u32; MAX_LEVEL as usize];
    let mut l = 1u64;
    while l < MAX_LEVEL as u64 {
        t[l as usize] =
            isqrt_u64(l.saturating_mul(l).saturating_mul(l).saturating_mul(10_000)) as u32;
        l = l.saturating_add(1);
    }
    t
}

/// XP to go from `level` to the next (None at the cap).
pub fn xp_to_next(level: u32) -> Option<u32> {
    (1..MAX_LEVEL)
        .contains(&level)
        .then(|| XP_TABLE[level as usize])
}

/// What one level-up adds (rules: +10 HP, +2 attack, +1.5 defense, +2 magic power,
/// +1.5 magic defense). The halves alternate so level L has gained floor(1.5 x (L-1)).
pub fn level_gain(new_level: u32) -> Stats {
    let half = |l: u32| (l as i32).saturating_mul(3) / 2;
    let d = half(new_level.saturating_sub(1)).saturating_sub(half(new_level.saturating_sub(2)));
    Stats {
        max_hp: 10,
        attack: 2,
        defense: d,
        magic_power: 2,
        magic_defense: d,
        ..Stats::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xp_table_follows_the_rules() {
        assert_eq!(xp_to_next(1), Some(100));
        assert_eq!(xp_to_next(4), Some(800));
        assert_eq!(xp_to_next(9), Some(2700));
        assert_eq!(xp_to_next(2), Some(282));
        assert_eq!(xp_to_next(MAX_LEVEL), None);
        assert!(XP_TABLE.windows(2).skip(1).all(|w| w[0] < w[1]));
    }

    #[test]
    fn defense_gains_average_one_and_a_half() {
        let total: i32 = (2..=11).map(|l| level_gain(l).defense).sum();
        assert_eq!(total, 15);
        assert_eq!(level_gain(2).max_hp, 10);
    }
}
