//! Item generation (GAME_RULES.md: 40% weapons, 35% armor, 20% consumables, 5% accessories;
//! rarity thresholds 0.50 / 0.80 / 0.93 / 0.98 lowered by min(0.01 x depth, 0.3); stats x
//! (1 + 0.1 x depth) x rarity multiplier x (0.8 + 0.4 x difficulty); consumables heal).
//!
//! Names are themed per genre; rare and better items carry the genre's prefix (Ancient /
//! Prototype / Cursed / Augmented / Mutated), legendary ones a suffix as well.

use super::rarity::Rarity;
use super::{scale, MAX_DEPTH, MAX_DIFFICULTY_PERMILLE};
use crate::genre::Genre;
use crate::rng::Stream;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ItemKind {
    Weapon,
    Armor,
    Consumable,
    Accessory,
}

/// GAME_RULES.md: kind weights 40 / 35 / 20 / 5 (percent), in `ItemKind` order.
pub const KIND_WEIGHTS: [u32; 4] = [40, 35, 20, 5];
/// GAME_RULES.md: stats grow 0.1 per depth (permille per depth).
pub const DEPTH_GROWTH_PERMILLE: u64 = 100;
/// GAME_RULES.md: difficulty factor 0.8 + 0.4 x difficulty (permille parts).
pub const DIFFICULTY_BASE_PERMILLE: u64 = 800;
pub const DIFFICULTY_SLOPE_PERMILLE: u64 = 400;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    pub kind: ItemKind,
    pub rarity: Rarity,
    /// The depth the item was rolled for.
    pub depth: u32,
    /// Weapon damage added to attack (GAME_RULES.md combat: base = weapon damage + attack).
    pub damage: u32,
    /// Bonus to attack (accessories).
    pub attack: u32,
    pub defense: u32,
    pub magic_power: u32,
    pub magic_defense: u32,
    /// HP a consumable restores.
    pub heal_hp: u32,
    /// Mana a consumable restores.
    pub restore_mana: u32,
    /// Inventory weight (GAME_RULES.md: a player carries 100).
    pub weight: u32,
    /// Value in gold.
    pub value: u32,
}

/// Longest item name accepted from a snapshot or a save (generated names are far shorter).
pub const MAX_ITEM_NAME: usize = 64;
/// Largest number an item may carry from a snapshot or a save: far above anything
/// generation makes at depth 1000, low enough that sums of them cannot overflow.
pub const MAX_ITEM_STAT: u32 = 1 << 24;

impl Item {
    /// Bounds on an item that came from outside (a snapshot or a character save).
    pub fn validate(&self) -> Result<(), String> {
        if self.name.chars().count() > MAX_ITEM_NAME {
            return Err(format!(
                "an item name is longer than {MAX_ITEM_NAME} characters"
            ));
        }
        let numbers = [
            self.damage,
            self.attack,
            self.defense,
            self.magic_power,
            self.magic_defense,
            self.heal_hp,
            self.restore_mana,
            self.weight,
            self.value,
        ];
        if numbers.iter().any(|&n| n > MAX_ITEM_STAT) {
            return Err(format!(
                "item {:?} has a number over {MAX_ITEM_STAT}",
                self.name
            ));
        }
        Ok(())
    }
}

/// A base item: name, kind, and its stats at depth 0, common, difficulty 0.5.
/// (name, damage, attack, defense, magic power, magic defense, heal, mana, weight, value)
type Base = (&'static str, u32, u32, u32, u32, u32, u32, u32, u32, u32);

/// Our choice: base items per genre and kind. Weapons sit around the player's 15-point
/// melee attack; potions heal about a third of a level-1 player.
fn bases(genre: Genre, kind: ItemKind) -> &'static [Base] {
    use Genre::*;
    use ItemKind::*;
    match (genre, kind) {
        (Fantasy, Weapon) => &[
            ("Longsword", 12, 0, 0, 0, 0, 0, 0, 8, 60),
            ("Battle Axe", 16, 0, 0, 0, 0, 0, 0, 12, 70),
            ("Dagger", 7, 0, 0, 0, 0, 0, 0, 3, 30),
            ("Oak Staff", 5, 0, 0, 10, 0, 0, 0, 5, 65),
            ("Shortbow", 9, 0, 0, 0, 0, 0, 0, 4, 50),
        ],
        (Fantasy, Armor) => &[
            ("Leather Armor", 0, 0, 4, 0, 2, 0, 0, 8, 40),
            ("Chainmail", 0, 0, 7, 0, 2, 0, 0, 16, 80),
            ("Mage Robe", 0, 0, 2, 0, 6, 0, 0, 4, 60),
            ("Iron Shield", 0, 0, 5, 0, 1, 0, 0, 10, 50),
        ],
        (Fantasy, Consumable) => &[
            ("Healing Potion", 0, 0, 0, 0, 0, 35, 0, 1, 25),
            ("Mana Potion", 0, 0, 0, 0, 0, 0, 35, 1, 25),
            ("Elixir", 0, 0, 0, 0, 0, 20, 20, 1, 40),
        ],
        (Fantasy, Accessory) => &[
            ("Ring of Might", 0, 3, 0, 0, 0, 0, 0, 1, 90),
            ("Amulet of Wisdom", 0, 0, 0, 4, 2, 0, 0, 1, 90),
        ],
        (Scifi, Weapon) => &[
            ("Laser Pistol", 10, 0, 0, 0, 0, 0, 0, 4, 60),
            ("Plasma Rifle", 15, 0, 0, 0, 0, 0, 0, 9, 80),
            ("Vibro Blade", 12, 0, 0, 0, 0, 0, 0, 5, 60),
            ("Psi Amplifier", 4, 0, 0, 11, 0, 0, 0, 3, 70),
        ],
        (Scifi, Armor) => &[
            ("Flak Vest", 0, 0, 5, 0, 1, 0, 0, 8, 45),
            ("Power Armor", 0, 0, 9, 0, 3, 0, 0, 20, 110),
            ("Energy Shield", 0, 0, 3, 0, 6, 0, 0, 3, 70),
        ],
        (Scifi, Consumable) => &[
            ("Medkit", 0, 0, 0, 0, 0, 35, 0, 1, 25),
            ("Energy Cell", 0, 0, 0, 0, 0, 0, 35, 1, 25),
        ],
        (Scifi, Accessory) => &[
            ("Targeting Chip", 0, 3, 0, 0, 0, 0, 0, 1, 90),
            ("Neural Link", 0, 0, 0, 4, 2, 0, 0, 1, 90),
        ],
        (Horror, Weapon) => &[
            ("Rusty Cleaver", 13, 0, 0, 0, 0, 0, 0, 7, 40),
            ("Silver Dagger", 8, 0, 0, 0, 0, 0, 0, 2, 50),
            ("Shotgun", 16, 0, 0, 0, 0, 0, 0, 10, 80),
            ("Ritual Knife", 5, 0, 0, 10, 0, 0, 0, 2, 60),
        ],
        (Horror, Armor) => &[
            ("Heavy Coat", 0, 0, 4, 0, 2, 0, 0, 7, 35),
            ("Warded Vestments", 0, 0, 2, 0, 7, 0, 0, 4, 70),
            ("Riot Gear", 0, 0, 7, 0, 1, 0, 0, 14, 70),
        ],
        (Horror, Consumable) => &[
            ("Bandages", 0, 0, 0, 0, 0, 30, 0, 1, 20),
            ("Laudanum", 0, 0, 0, 0, 0, 0, 35, 1, 25),
        ],
        (Horror, Accessory) => &[
            ("Lucky Charm", 0, 2, 1, 0, 1, 0, 0, 1, 80),
            ("Occult Locket", 0, 0, 0, 4, 3, 0, 0, 1, 90),
        ],
        (Cyberpunk, Weapon) => &[
            ("Smart Pistol", 11, 0, 0, 0, 0, 0, 0, 4, 60),
            ("Monoblade", 14, 0, 0, 0, 0, 0, 0, 5, 75),
            ("Shock Baton", 9, 0, 0, 3, 0, 0, 0, 4, 45),
            ("Hacking Deck", 3, 0, 0, 12, 0, 0, 0, 3, 80),
        ],
        (Cyberpunk, Armor) => &[
            ("Armored Jacket", 0, 0, 5, 0, 2, 0, 0, 7, 50),
            ("Subdermal Plating", 0, 0, 7, 0, 2, 0, 0, 6, 100),
            ("ICE Shell", 0, 0, 2, 0, 7, 0, 0, 2, 80),
        ],
        (Cyberpunk, Consumable) => &[
            ("Stim Pack", 0, 0, 0, 0, 0, 35, 0, 1, 25),
            ("RAM Booster", 0, 0, 0, 0, 0, 0, 35, 1, 25),
        ],
        (Cyberpunk, Accessory) => &[
            ("Reflex Booster", 0, 3, 0, 0, 0, 0, 0, 1, 90),
            ("Cyberdeck Module", 0, 0, 0, 4, 2, 0, 0, 1, 90),
        ],
        (Postapoc, Weapon) => &[
            ("Pipe Rifle", 11, 0, 0, 0, 0, 0, 0, 8, 45),
            ("Machete", 12, 0, 0, 0, 0, 0, 0, 5, 40),
            ("Sledgehammer", 17, 0, 0, 0, 0, 0, 0, 14, 55),
            ("Geiger Rod", 4, 0, 0, 10, 0, 0, 0, 4, 60),
        ],
        (Postapoc, Armor) => &[
            ("Scrap Armor", 0, 0, 6, 0, 1, 0, 0, 14, 45),
            ("Hazmat Suit", 0, 0, 3, 0, 6, 0, 0, 6, 60),
            ("Tire Shield", 0, 0, 5, 0, 0, 0, 0, 9, 30),
        ],
        (Postapoc, Consumable) => &[
            ("Canned Food", 0, 0, 0, 0, 0, 30, 0, 1, 15),
            ("Rad-Away", 0, 0, 0, 0, 0, 0, 35, 1, 25),
            ("Dirty Water", 0, 0, 0, 0, 0, 15, 10, 1, 5),
        ],
        (Postapoc, Accessory) => &[
            ("Lucky Bottlecap", 0, 2, 1, 0, 1, 0, 0, 1, 70),
            ("Rad Goggles", 0, 0, 1, 3, 3, 0, 0, 1, 80),
        ],
    }
}

/// GAME_RULES.md: the genre name prefixes.
pub const fn genre_prefix(genre: Genre) -> &'static str {
    match genre {
        Genre::Fantasy => "Ancient",
        Genre::Scifi => "Prototype",
        Genre::Horror => "Cursed",
        Genre::Cyberpunk => "Augmented",
        Genre::Postapoc => "Mutated",
    }
}

/// Our choice: legendary suffixes per genre.
fn legendary_suffixes(genre: Genre) -> &'static [&'static str] {
    match genre {
        Genre::Fantasy => &["of the Dragon", "of Kings", "of the Archmage"],
        Genre::Scifi => &["Mk. X", "of the Void", "Omega"],
        Genre::Horror => &["of the Damned", "of Whispers", "of the Old Ones"],
        Genre::Cyberpunk => &["v9.9", "of the Net", "Zero-Day"],
        Genre::Postapoc => &["of the Wastes", "of the Last City", "Ground Zero"],
    }
}

/// The combined stat factor in billionths: (1000 + 100 x depth) x rarity permille x
/// (800 + 400 x difficulty).
pub fn stat_factor_billionths(depth: u32, rarity: Rarity, difficulty_permille: u32) -> u64 {
    let depth = depth.min(MAX_DEPTH) as u64;
    let diff = difficulty_permille.min(MAX_DIFFICULTY_PERMILLE) as u64;
    let growth = DEPTH_GROWTH_PERMILLE
        .saturating_mul(depth)
        .saturating_add(1000);
    let difficulty = DIFFICULTY_BASE_PERMILLE
        .saturating_add(DIFFICULTY_SLOPE_PERMILLE.saturating_mul(diff) / 1000);
    growth
        .saturating_mul(rarity.multiplier_permille() as u64)
        .saturating_mul(difficulty)
}

/// Rolls an item for `genre` at `depth` and `difficulty_permille` (500 = the rules' 0.5).
pub fn roll_item(rng: &mut Stream, genre: Genre, depth: u32, difficulty_permille: u32) -> Item {
    let kind = [
        ItemKind::Weapon,
        ItemKind::Armor,
        ItemKind::Consumable,
        ItemKind::Accessory,
    ][rng.weighted(&KIND_WEIGHTS)];
    let rarity = Rarity::roll(rng, depth);
    let list = bases(genre, kind);
    let b = list[rng.below(list.len() as u32) as usize];
    let f = stat_factor_billionths(depth, rarity, difficulty_permille);
    let s = |v: u32| scale(v, f, 1_000_000_000);
    let name = match rarity {
        Rarity::Common | Rarity::Uncommon => b.0.to_string(),
        Rarity::Rare | Rarity::Epic => format!("{} {}", genre_prefix(genre), b.0),
        Rarity::Legendary => {
            let sfx = legendary_suffixes(genre);
            let sfx = sfx[rng.below(sfx.len() as u32) as usize];
            format!("{} {} {}", genre_prefix(genre), b.0, sfx)
        }
    };
    Item {
        name,
        kind,
        rarity,
        depth,
        damage: s(b.1),
        attack: s(b.2),
        defense: s(b.3),
        magic_power: s(b.4),
        magic_defense: s(b.5),
        heal_hp: s(b.6),
        restore_mana: s(b.7),
        // Weight does not scale; value scales like the stats.
        weight: b.8,
        value: s(b.9).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Purpose;

    #[test]
    fn kind_and_rarity_distributions_match_the_rules() {
        let mut rng = Stream::new(77, Purpose::Loot);
        let mut kinds = [0u32; 4];
        let mut rar = [0u32; 5];
        for _ in 0..10_000 {
            let it = roll_item(&mut rng, Genre::Fantasy, 0, 500);
            kinds[it.kind as usize] += 1;
            rar[it.rarity as usize] += 1;
        }
        for (c, e) in kinds.iter().zip([4000u32, 3500, 2000, 500]) {
            assert!(c.abs_diff(e) <= e / 8 + 40, "{kinds:?}");
        }
        for (c, e) in rar.iter().zip([5000u32, 3000, 1300, 500, 200]) {
            assert!(c.abs_diff(e) <= e / 8 + 40, "{rar:?}");
        }
        // Depth 30 lowers every threshold by 300: 2000 / 3000 / 1300 / 500 / 3200.
        let mut rar = [0u32; 5];
        for _ in 0..10_000 {
            rar[roll_item(&mut rng, Genre::Scifi, 30, 500).rarity as usize] += 1;
        }
        for (c, e) in rar.iter().zip([2000u32, 3000, 1300, 500, 3200]) {
            assert!(c.abs_diff(e) <= e / 8 + 40, "{rar:?}");
        }
    }

    #[test]
    fn stats_scale_per_the_rules_and_stay_in_range() {
        // Depth 0, common, difficulty 0.5: x1 x1 x1.
        assert_eq!(
            stat_factor_billionths(0, Rarity::Common, 500),
            1_000_000_000
        );
        // Depth 10, epic, difficulty 1.0: x2 x2 x1.2.
        assert_eq!(
            stat_factor_billionths(10, Rarity::Epic, 1000),
            4_800_000_000
        );
        let mut rng = Stream::new(3, Purpose::Loot);
        for genre in Genre::ALL {
            for kind in [
                ItemKind::Weapon,
                ItemKind::Armor,
                ItemKind::Consumable,
                ItemKind::Accessory,
            ] {
                assert!(!bases(genre, kind).is_empty());
            }
            for depth in [0u32, 1, 5, 20] {
                for _ in 0..300 {
                    let it = roll_item(&mut rng, genre, depth, 500);
                    let f = stat_factor_billionths(depth, it.rarity, 500);
                    let max = scale(17, f, 1_000_000_000);
                    assert!(it.damage <= max && it.defense <= max, "{it:?}");
                    assert!(it.weight >= 1 && it.weight <= 20, "{it:?}");
                    assert!(it.value >= 1);
                    match it.kind {
                        ItemKind::Weapon => assert!(it.damage > 0, "{it:?}"),
                        ItemKind::Armor => assert!(it.defense + it.magic_defense > 0),
                        ItemKind::Consumable => assert!(it.heal_hp + it.restore_mana > 0),
                        ItemKind::Accessory => {
                            assert!(it.attack + it.magic_power + it.defense > 0)
                        }
                    }
                    let prefixed = it.name.starts_with(genre_prefix(genre));
                    assert_eq!(prefixed, it.rarity >= Rarity::Rare, "{it:?}");
                }
            }
        }
        let it = roll_item(&mut rng, Genre::Postapoc, u32::MAX, u32::MAX);
        assert!(it.value >= 1);
    }

    #[test]
    fn rolls_are_deterministic_and_round_trip() {
        let a = roll_item(&mut Stream::new(8, Purpose::Loot), Genre::Horror, 4, 800);
        let b = roll_item(&mut Stream::new(8, Purpose::Loot), Genre::Horror, 4, 800);
        assert_eq!(a, b);
        let cfg = bincode::config::standard();
        let bytes = bincode::serde::encode_to_vec(&a, cfg).unwrap();
        let (back, _): (Item, usize) = bincode::serde::decode_from_slice(&bytes, cfg).unwrap();
        assert_eq!(back, a);
    }
}
