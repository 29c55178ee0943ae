//! The rarity scale shared by monsters and items.

use crate::rng::Stream;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Rarity {
    Common,
    Uncommon,
    Rare,
    Epic,
    Legendary,
}

/// GAME_RULES.md: rarity thresholds on a uniform roll 0.50 / 0.80 / 0.93 / 0.98 (permille).
pub const THRESHOLDS_PERMILLE: [u32; 4] = [500, 800, 930, 980];
/// GAME_RULES.md: each threshold is lowered by min(0.01 x depth, 0.3): 10 permille per depth.
pub const LOWER_PER_DEPTH_PERMILLE: u32 = 10;
/// GAME_RULES.md: the lowering is capped at 0.3.
pub const MAX_LOWER_PERMILLE: u32 = 300;
/// Our choice (balance, issue 24; monsters used the loot thresholds before): the rules
/// give monsters the rarity multipliers but no thresholds. At depth 1 a monster is common
/// 80% of the time, uncommon 14%, rare 4.5%, epic 1.2%, legendary 0.3% (loot's 2% legendary
/// made one level-1 monster in fifty a x3 brute); each depth below the first lowers every
/// threshold by 0.03 (capped at the rules' 0.3 like loot), so deeper monsters are rarer
/// and stronger.
pub const MONSTER_THRESHOLDS_PERMILLE: [u32; 4] = [800, 940, 985, 997];
pub const MONSTER_LOWER_PER_DEPTH_PERMILLE: u32 = 30;

impl Rarity {
    pub const ALL: [Rarity; 5] = [
        Rarity::Common,
        Rarity::Uncommon,
        Rarity::Rare,
        Rarity::Epic,
        Rarity::Legendary,
    ];

    /// GAME_RULES.md: stat multiplier 1 / 1.2 / 1.5 / 2 / 3, in permille.
    pub const fn multiplier_permille(self) -> u32 {
        match self {
            Rarity::Common => 1000,
            Rarity::Uncommon => 1200,
            Rarity::Rare => 1500,
            Rarity::Epic => 2000,
            Rarity::Legendary => 3000,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Rarity::Common => "common",
            Rarity::Uncommon => "uncommon",
            Rarity::Rare => "rare",
            Rarity::Epic => "epic",
            Rarity::Legendary => "legendary",
        }
    }

    /// The thresholds at `depth`: a roll below the first is common, below the second
    /// uncommon, and so on; at or above the last, legendary.
    pub fn thresholds(depth: u32) -> [u32; 4] {
        let lower = depth
            .saturating_mul(LOWER_PER_DEPTH_PERMILLE)
            .min(MAX_LOWER_PERMILLE);
        THRESHOLDS_PERMILLE.map(|t| t.saturating_sub(lower))
    }

    /// The rarity for a uniform roll in 0..1000 at `depth`.
    pub fn from_roll(roll_permille: u32, depth: u32) -> Rarity {
        let t = Rarity::thresholds(depth);
        match t.iter().position(|&th| roll_permille < th) {
            Some(i) => Rarity::ALL[i],
            None => Rarity::Legendary,
        }
    }

    /// One draw from the stream.
    pub fn roll(rng: &mut Stream, depth: u32) -> Rarity {
        Rarity::from_roll(rng.below(1000), depth)
    }

    /// A monster's rarity at `depth` (see [`MONSTER_THRESHOLDS_PERMILLE`]).
    pub fn roll_monster(rng: &mut Stream, depth: u32) -> Rarity {
        let roll = rng.below(1000);
        let lower = depth
            .saturating_sub(1)
            .saturating_mul(MONSTER_LOWER_PER_DEPTH_PERMILLE)
            .min(MAX_LOWER_PERMILLE);
        let t = MONSTER_THRESHOLDS_PERMILLE.map(|t| t.saturating_sub(lower));
        Rarity::ALL[t.iter().filter(|&&t| roll >= t).count()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Purpose;

    #[test]
    fn thresholds_and_lowering() {
        assert_eq!(Rarity::thresholds(0), [500, 800, 930, 980]);
        assert_eq!(Rarity::thresholds(5), [450, 750, 880, 930]);
        assert_eq!(Rarity::thresholds(30), [200, 500, 630, 680]);
        assert_eq!(Rarity::thresholds(u32::MAX), [200, 500, 630, 680]);
        assert_eq!(Rarity::from_roll(0, 1), Rarity::Common);
        assert_eq!(Rarity::from_roll(999, 1), Rarity::Legendary);
        assert_eq!(Rarity::from_roll(490, 1), Rarity::Uncommon);
    }

    #[test]
    fn distribution_matches_thresholds() {
        let mut rng = Stream::new(5, Purpose::Loot);
        let mut counts = [0u32; 5];
        for _ in 0..10_000 {
            counts[Rarity::roll(&mut rng, 0) as usize] += 1;
        }
        // Expected 5000 / 3000 / 1300 / 500 / 200, within a few standard deviations.
        let expected = [5000, 3000, 1300, 500, 200];
        for (c, e) in counts.iter().zip(expected) {
            assert!(c.abs_diff(e) <= e / 8 + 40, "{counts:?}");
        }
    }
}
