//! Non-player entities: monsters, projectiles and items lying on the ground. Each lives in
//! a `Vec` of the world state sorted by its [`EntityId`] (ids are allocated monotonically
//! and appended, removals keep order), and every system iterates them in that order.

use crate::content::monsters::stat_factor_millionths;
use crate::content::{scale, templates, Element, Item, MonsterSpec, MonsterTemplate, Rarity};
use crate::genre::Genre;
use crate::player::EntityId;
use crate::stats::Stats;
use crate::status::{Status, StatusKind};
use crate::units::Vec2;
use serde::{Deserialize, Serialize};

/// GAME_RULES.md monster AI states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AiState {
    Idle,
    Patrol,
    /// Noticed a player: stands alert for one decision, then chases.
    Detect,
    Chase,
    Attack,
    Flee,
    Return,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Monster {
    pub id: EntityId,
    /// Index into `templates(genre)`: name, speed, range, element, boss flag and
    /// resistances are read from the template, not stored.
    pub template: u16,
    pub level: u32,
    pub rarity: Rarity,
    /// Current HP; the maximum and the other stats derive from (template, level, rarity)
    /// exactly as `roll_monster` computes them (see [`Monster::base`]), so they are not
    /// stored.
    pub hp: i32,
    pub pos: Vec2,
    /// Where it spawned; it gives up a chase 500 px from here.
    pub home: Vec2,
    pub ai: AiState,
    /// The player slot it is after (Detect / Chase / Attack / Flee).
    pub target: Option<u8>,
    /// Patrol: where it wanders to. Return: its position at the last decision.
    pub waypoint: Vec2,
    pub attack_cd: u32,
    pub statuses: Vec<Status>,
    /// The slot that hit it last: gets the kill (and the XP) even from a damage-over-time.
    pub last_hitter: Option<u8>,
}

/// Monsters' crit chance / crit multiplier / evasion (our choice; the rules give none).
pub const MONSTER_CRIT_PERMILLE: u32 = 50;
pub const MONSTER_CRIT_MULT_PERMILLE: u32 = 1500;
pub const MONSTER_EVASION_PERMILLE: u32 = 50;

fn stat(v: u32) -> i32 {
    v.min(i32::MAX as u32 / 2) as i32
}

impl Monster {
    pub fn from_spec(id: EntityId, spec: &MonsterSpec, pos: Vec2) -> Monster {
        Monster {
            id,
            template: spec.template,
            level: spec.level,
            rarity: spec.rarity,
            hp: stat(spec.hp).max(1),
            pos,
            home: pos,
            ai: AiState::Idle,
            target: None,
            waypoint: pos,
            attack_cd: 0,
            statuses: Vec::new(),
            last_hitter: None,
        }
    }

    /// The template (the index is validated on restore and set from a roll otherwise).
    pub fn template(&self, genre: Genre) -> &'static MonsterTemplate {
        let all = templates(genre);
        &all[(self.template as usize).min(all.len().saturating_sub(1))]
    }

    pub fn alive(&self) -> bool {
        self.hp > 0
    }

    /// Bosses and rare-or-better monsters are "strong": they drop loot 70% of the time.
    pub fn strong(&self, genre: Genre) -> bool {
        self.template(genre).is_boss || self.rarity >= Rarity::Rare
    }

    pub fn element(&self, genre: Genre) -> Element {
        self.template(genre).element
    }

    /// The rolled numbers for this template, level and rarity (as `roll_monster` computes
    /// them: template stats x (1 + 0.15 x (level - 1)) x rarity multiplier).
    pub fn base(&self, genre: Genre) -> MonsterBase {
        let tpl = self.template(genre);
        let f = stat_factor_millionths(self.level, self.rarity);
        let s = |v: u32| scale(v, f, 1_000_000);
        MonsterBase {
            max_hp: stat(s(tpl.hp).max(1)),
            attack: stat(s(tpl.attack)),
            defense: stat(s(tpl.defense)),
            magic_power: stat(s(tpl.magic_power)),
            magic_defense: stat(s(tpl.magic_defense)),
            xp: s(tpl.xp).max(1),
        }
    }

    pub fn max_hp(&self, genre: Genre) -> i32 {
        self.base(genre).max_hp
    }

    /// Combat stats including status effects.
    pub fn stats(&self, genre: Genre) -> Stats {
        let b = self.base(genre);
        let mut s = Stats {
            max_hp: b.max_hp,
            attack: b.attack,
            defense: b.defense,
            magic_power: b.magic_power,
            magic_defense: b.magic_defense,
            crit_permille: MONSTER_CRIT_PERMILLE,
            crit_mult_permille: MONSTER_CRIT_MULT_PERMILLE,
            evasion_permille: MONSTER_EVASION_PERMILLE,
            resist_permille: self.template(genre).resistances(),
        };
        crate::status::modify(&mut s, &self.statuses);
        s
    }
}

/// A monster's derived numbers (see [`Monster::base`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonsterBase {
    pub max_hp: i32,
    pub attack: i32,
    pub defense: i32,
    pub magic_power: i32,
    pub magic_defense: i32,
    /// XP for the kill (scaled by level and rarity).
    pub xp: u32,
}

/// A spell in flight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Projectile {
    pub id: EntityId,
    /// The casting player's slot (friendly fire is off: it never hits players).
    pub owner: u8,
    pub pos: Vec2,
    /// Sub-tile units per tick.
    pub vel: Vec2,
    pub ticks_left: u32,
    /// Spell damage (0: the projectile only applies its status).
    pub power: i32,
    /// The caster's magic power when cast.
    pub magic_power: i32,
    pub element: u8,
    /// Explosion radius in sub-tile units (0: hits one monster).
    pub radius: i32,
    /// Status applied to whatever it hits: (kind, magnitude, ticks).
    pub status: Option<(StatusKind, i32, u32)>,
}

/// Most sub-tile units a projectile may travel per tick (validated on restore).
pub const MAX_PROJECTILE_SPEED: i32 = 4 * crate::units::SUB;
/// Longest projectile life in ticks (validated on restore).
pub const MAX_PROJECTILE_TICKS: u32 = 10_000;

/// A creature a player summoned (Summon spells): it follows its summoner, fights the
/// monsters near it and vanishes when its time is up (see `gameplay/allies.rs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ally {
    pub id: EntityId,
    /// The summoner's slot: it follows that player and its kills are that player's.
    pub owner: u8,
    pub pos: Vec2,
    /// The spell's power when cast: its attack derives from it.
    pub power: i32,
    /// Ticks until it vanishes.
    pub ticks_left: u32,
    /// Ticks until its next blow.
    pub attack_cd: u32,
}

/// An item lying on the floor, picked up by walking over it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroundItem {
    pub id: EntityId,
    pub pos: Vec2,
    pub item: Item,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::roll_monster;
    use crate::rng::{Purpose, Stream};

    /// The stats a monster derives equal the ones `roll_monster` rolled, so storing only
    /// (template, level, rarity) loses nothing.
    #[test]
    fn derived_stats_match_the_roll() {
        let mut rng = Stream::new(3, Purpose::Spawn);
        for genre in Genre::ALL {
            for i in 0..300u32 {
                let spec = roll_monster(&mut rng, genre, 1 + i % 40, 500 + i * 10, i % 9 == 0);
                let m = Monster::from_spec(EntityId(1), &spec, Vec2::ZERO);
                let b = m.base(genre);
                assert_eq!(b.max_hp, m.hp);
                assert_eq!(
                    (b.attack, b.defense, b.magic_power, b.magic_defense, b.xp),
                    (
                        spec.attack as i32,
                        spec.defense as i32,
                        spec.magic_power as i32,
                        spec.magic_defense as i32,
                        spec.xp
                    )
                );
            }
        }
    }
}
