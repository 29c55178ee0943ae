//! Genre-themed content: monster templates and rolls, items, spells and the shared rarity
//! scale. Everything is integer (stats are whole numbers, scale factors are permille) and
//! every random draw comes from the [`Stream`](crate::rng::Stream) the caller passes in, so
//! content rolls are part of the deterministic simulation.
//!
//! Rule numbers come from `GAME_RULES.md` and are named constants where they are used; the
//! numbers we chose ourselves are documented beside them.

pub mod items;
pub mod monsters;
pub mod rarity;
pub mod spells;

pub use items::{roll_item, Item, ItemKind};
pub use monsters::{roll_monster, templates, MonsterSpec, MonsterTemplate};
pub use rarity::Rarity;
pub use spells::{
    roll_spell, spellbook, starter_spells, Element, Spell, SpellKind, SpellTarget, SPELLBOOK_LEN,
};

/// Depth beyond which content stops getting stronger (our choice: keeps every product of
/// scale factors far inside u64 and the results inside u32).
pub const MAX_DEPTH: u32 = 1000;
/// Largest difficulty accepted, in permille (our choice: 10.0; the rules start at 0.5 and
/// add 0.1 per level, so this is level 96).
pub const MAX_DIFFICULTY_PERMILLE: u32 = 10_000;

/// `value * num / den`, computed in u64 and saturated to u32.
pub(crate) fn scale(value: u32, num: u64, den: u64) -> u32 {
    let v = (value as u64)
        .saturating_mul(num)
        .checked_div(den)
        .unwrap_or(0);
    v.min(u32::MAX as u64) as u32
}
