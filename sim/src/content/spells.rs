//! Spells (GAME_RULES.md: 7 kinds, 9 elements, targets single / area / self / ally / cone /
//! line / chain; mana cost and cooldown per spell) with genre-themed names.
//!
//! Distances are in pixels as in the rules (32 px per tile), cooldowns in milliseconds.

use super::{scale, MAX_DEPTH};
use crate::genre::Genre;
use crate::rng::Stream;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SpellKind {
    Offensive,
    Defensive,
    Healing,
    Buff,
    Debuff,
    Utility,
    Summon,
}

impl SpellKind {
    pub const ALL: [SpellKind; 7] = [
        SpellKind::Offensive,
        SpellKind::Defensive,
        SpellKind::Healing,
        SpellKind::Buff,
        SpellKind::Debuff,
        SpellKind::Utility,
        SpellKind::Summon,
    ];
}

/// The nine damage elements (GAME_RULES.md). Resistances are indexed by `element as usize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Element {
    None,
    Fire,
    Ice,
    Lightning,
    Earth,
    Wind,
    Light,
    Dark,
    Arcane,
}

impl Element {
    pub const ALL: [Element; 9] = [
        Element::None,
        Element::Fire,
        Element::Ice,
        Element::Lightning,
        Element::Earth,
        Element::Wind,
        Element::Light,
        Element::Dark,
        Element::Arcane,
    ];

    /// The element a creature of this element is weak to (our choice of pairs).
    pub const fn opposite(self) -> Element {
        match self {
            Element::None => Element::None,
            Element::Fire => Element::Ice,
            Element::Ice => Element::Fire,
            Element::Lightning => Element::Earth,
            Element::Earth => Element::Wind,
            Element::Wind => Element::Lightning,
            Element::Light => Element::Dark,
            Element::Dark => Element::Light,
            Element::Arcane => Element::Arcane,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SpellTarget {
    Single,
    Area,
    SelfOnly,
    Ally,
    Cone,
    Line,
    Chain,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spell {
    pub name: String,
    pub kind: SpellKind,
    pub element: Element,
    pub target: SpellTarget,
    pub mana_cost: u32,
    pub cooldown_ms: u32,
    /// Damage, healing, shield points, or the permille a buff/debuff scales a stat by.
    pub power: u32,
    /// Cast range in px (0 for self-targeted spells).
    pub range_px: u32,
    /// Radius of the affected area in px (0 for single targets).
    pub area_radius_px: u32,
    /// Effect duration in ms (buffs, debuffs, shields, summons; 0 for instant spells).
    pub duration_ms: u32,
}

/// Our choice: base numbers per kind, at depth 0, before the ±20% roll:
/// (power, mana cost, cooldown ms, range px, duration ms).
const KIND_BASE: [(u32, u32, u32, u32, u32); 7] = [
    (25, 15, 1_000, 320, 0),          // offensive: a bolt for 25
    (30, 20, 8_000, 0, 6_000),        // defensive: a 30-point shield
    (30, 25, 6_000, 160, 0),          // healing: 30 HP
    (1_250, 25, 15_000, 160, 10_000), // buff: x1.25 for 10 s
    (800, 20, 12_000, 256, 8_000),    // debuff: x0.8 for 8 s
    (5, 10, 4_000, 192, 0),           // utility: a blink of `power` tiles
    (40, 40, 30_000, 96, 20_000),     // summon: 40-HP minion for 20 s
];
/// Our choice: power and mana grow 10% per depth, like item stats (GAME_RULES.md items).
const DEPTH_GROWTH_PERMILLE: u64 = 100;
/// Our choice: area radius for area/cone/chain spells, px (3 tiles).
const AREA_RADIUS_PX: u32 = 96;

const KIND_TARGETS: [&[SpellTarget]; 7] = [
    &[
        SpellTarget::Single,
        SpellTarget::Area,
        SpellTarget::Cone,
        SpellTarget::Line,
        SpellTarget::Chain,
    ],
    &[SpellTarget::SelfOnly, SpellTarget::Ally],
    &[SpellTarget::SelfOnly, SpellTarget::Ally, SpellTarget::Area],
    &[SpellTarget::SelfOnly, SpellTarget::Ally, SpellTarget::Area],
    &[SpellTarget::Single, SpellTarget::Area, SpellTarget::Cone],
    &[SpellTarget::SelfOnly, SpellTarget::Single],
    &[SpellTarget::Area],
];

/// Per genre: the word for each element (indexed by `Element as usize`).
fn element_word(genre: Genre, e: Element) -> &'static str {
    let t: [&str; 9] = match genre {
        Genre::Fantasy => [
            "Mystic", "Flame", "Frost", "Storm", "Stone", "Gale", "Holy", "Shadow", "Arcane",
        ],
        Genre::Scifi => [
            "Kinetic",
            "Plasma",
            "Cryo",
            "Arc",
            "Graviton",
            "Pneumatic",
            "Photon",
            "Void",
            "Quantum",
        ],
        Genre::Horror => [
            "Dread",
            "Pyre",
            "Grave-Chill",
            "Galvanic",
            "Bone",
            "Howling",
            "Candle",
            "Abyssal",
            "Eldritch",
        ],
        Genre::Cyberpunk => [
            "Data",
            "Thermite",
            "Coolant",
            "Taser",
            "Seismic",
            "Drone-Wash",
            "Neon",
            "Blackout",
            "Glitch",
        ],
        Genre::Postapoc => [
            "Scrap",
            "Napalm",
            "Freon",
            "Sparkplug",
            "Rubble",
            "Dust",
            "Flare",
            "Fallout",
            "Rad",
        ],
    };
    t[e as usize]
}

/// Per genre: the noun for each kind (indexed by `SpellKind as usize`).
fn kind_word(genre: Genre, k: SpellKind) -> &'static str {
    let t: [&str; 7] = match genre {
        Genre::Fantasy => [
            "Bolt", "Ward", "Mending", "Blessing", "Curse", "Step", "Familiar",
        ],
        Genre::Scifi => [
            "Blast",
            "Barrier",
            "Nanoheal",
            "Overclock",
            "Jammer",
            "Phase",
            "Drone",
        ],
        Genre::Horror => [
            "Lash", "Circle", "Salve", "Frenzy", "Hex", "Whisper", "Thrall",
        ],
        Genre::Cyberpunk => [
            "Spike", "Firewall", "Stim", "Boost", "Virus", "Ghost", "Bot",
        ],
        Genre::Postapoc => ["Shot", "Plating", "Patch", "Brew", "Gas", "Scout", "Hound"],
    };
    t[k as usize]
}

/// The ±20% roll: a permille in 800..=1200.
fn jitter(rng: &mut Stream) -> u64 {
    rng.range(800, 1200) as u64
}

/// Builds a spell of `kind` and `element` at `depth` with a ±20% roll `roll` (permille).
fn make(
    roll: u64,
    genre: Genre,
    depth: u32,
    kind: SpellKind,
    element: Element,
    target: SpellTarget,
) -> Spell {
    let depth = depth.min(MAX_DEPTH) as u64;
    let (power, mana, cooldown, range, duration) = KIND_BASE[kind as usize];
    let growth = DEPTH_GROWTH_PERMILLE
        .saturating_mul(depth)
        .saturating_add(1000);
    // Buffs and debuffs are multipliers: they vary but do not grow with depth.
    let power = match kind {
        SpellKind::Buff | SpellKind::Debuff => scale(power, roll, 1000),
        _ => scale(power, growth.saturating_mul(roll), 1_000_000),
    };
    let range_px = if target == SpellTarget::SelfOnly {
        0
    } else {
        range.max(64)
    };
    let area_radius_px = match target {
        SpellTarget::Area | SpellTarget::Cone | SpellTarget::Chain => AREA_RADIUS_PX,
        SpellTarget::Line => 32,
        _ => 0,
    };
    // Area spells cost half again as much.
    let area_cost = if area_radius_px >= AREA_RADIUS_PX {
        1500
    } else {
        1000
    };
    Spell {
        name: format!(
            "{} {}",
            element_word(genre, element),
            kind_word(genre, kind)
        ),
        kind,
        element,
        target,
        mana_cost: scale(mana, growth.saturating_mul(area_cost), 1_000_000).max(1),
        cooldown_ms: cooldown,
        power: power.max(1),
        range_px,
        area_radius_px,
        duration_ms: duration,
    }
}

/// A random spell for `genre` at `depth`: uniform kind, a target the kind allows, an element
/// (healing is light or none; the others any of the nine), power and mana growing 10% per
/// depth with a ±20% roll.
pub fn roll_spell(rng: &mut Stream, genre: Genre, depth: u32) -> Spell {
    let kind = SpellKind::ALL[rng.below(7) as usize];
    let targets = KIND_TARGETS[kind as usize];
    let target = targets[rng.below(targets.len() as u32) as usize];
    let element = match kind {
        SpellKind::Healing => {
            if rng.chance(500) {
                Element::Light
            } else {
                Element::None
            }
        }
        _ => Element::ALL[rng.below(9) as usize],
    };
    make(jitter(rng), genre, depth, kind, element, target)
}

/// The fixed spells every new character of `genre` starts with: a single-target fire
/// projectile and a self heal, at their base numbers (no randomness).
pub fn starter_spells(genre: Genre) -> Vec<Spell> {
    vec![
        make(
            1000,
            genre,
            0,
            SpellKind::Offensive,
            Element::Fire,
            SpellTarget::Single,
        ),
        make(
            1000,
            genre,
            0,
            SpellKind::Healing,
            Element::Light,
            SpellTarget::SelfOnly,
        ),
    ]
}

/// Spells in a player's book (see [`spellbook`]).
pub const SPELLBOOK_LEN: usize = 8;

/// The spell in slot `slot` of every player's book (our choice: a fixed book of eight, at
/// base numbers, so nothing about it needs to live in the world state; one of each kind
/// but the offensive, which has two):
/// 0 fire bolt (single-target projectile, sets the target burning), 1 self heal,
/// 2 self buff (strength), 3 arcane blast (area projectile that explodes), 4 shadow curse
/// (debuff projectile: weakness and vulnerability), 5 ward (a shield that absorbs damage),
/// 6 blink (a short jump the way the caster faces), 7 summon (an ally that follows and
/// fights). `None` past the end.
pub fn spellbook(genre: Genre, slot: usize) -> Option<Spell> {
    use SpellKind::*;
    use SpellTarget::*;
    let (kind, element, target) = match slot {
        0 => (Offensive, Element::Fire, Single),
        1 => (Healing, Element::Light, SelfOnly),
        2 => (Buff, Element::None, SelfOnly),
        3 => (Offensive, Element::Arcane, Area),
        4 => (Debuff, Element::Dark, Single),
        5 => (Defensive, Element::Arcane, SelfOnly),
        6 => (Utility, Element::Wind, SelfOnly),
        7 => (Summon, Element::None, Area),
        _ => return None,
    };
    Some(make(1000, genre, 0, kind, element, target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Purpose;

    #[test]
    fn rolls_cover_kinds_and_stay_in_range() {
        for genre in Genre::ALL {
            let mut rng = Stream::new(11, Purpose::Loot);
            let mut kinds = [0u32; 7];
            for i in 0..2000u32 {
                let depth = i % 40;
                let s = roll_spell(&mut rng, genre, depth);
                kinds[s.kind as usize] += 1;
                assert!(KIND_TARGETS[s.kind as usize].contains(&s.target));
                assert!(
                    s.mana_cost >= 1 && s.mana_cost <= 40 * 5 * 3 / 2 * 6 / 5 + 1,
                    "{s:?}"
                );
                assert!(s.power >= 1 && s.power <= 1_250 * 5 * 6 / 5, "{s:?}");
                assert!(s.range_px <= 320);
                assert!(!s.name.is_empty());
                if s.target == SpellTarget::SelfOnly {
                    assert_eq!(s.range_px, 0);
                }
            }
            assert!(kinds.iter().all(|&k| k > 200), "{kinds:?}");
        }
        let deep = roll_spell(&mut Stream::new(1, Purpose::Loot), Genre::Fantasy, u32::MAX);
        assert!(deep.power >= 1);
    }

    #[test]
    fn starters_and_determinism() {
        for genre in Genre::ALL {
            let s = starter_spells(genre);
            assert_eq!(s.len(), 2);
            assert_eq!(s[0].kind, SpellKind::Offensive);
            assert_eq!(s[1].kind, SpellKind::Healing);
            assert_eq!(s, starter_spells(genre));
        }
        let s = starter_spells(Genre::Fantasy);
        assert_eq!(s[0].name, "Flame Bolt");
        assert_eq!((s[0].power, s[0].mana_cost, s[0].range_px), (25, 15, 320));
        assert_eq!((s[1].power, s[1].range_px), (30, 0));
        let a = roll_spell(&mut Stream::new(3, Purpose::Loot), Genre::Scifi, 4);
        let b = roll_spell(&mut Stream::new(3, Purpose::Loot), Genre::Scifi, 4);
        assert_eq!(a, b);
    }
}
