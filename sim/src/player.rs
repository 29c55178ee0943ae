//! Players: who is in which slot, where they are, and how their input moves them.

use crate::content::{Item, ItemKind, SPELLBOOK_LEN};
use crate::input::PlayerInput;
use crate::map::TileMap;
use crate::movement::{move_body, BODY_HALF};
use crate::stats::Stats;
use crate::status::Status;
use crate::units::{px, scale_to_length, Vec2};
use serde::{Deserialize, Serialize};

/// GAME_RULES.md: inventory of 20 slots...
pub const INVENTORY_SLOTS: usize = 20;
/// ...and 100 weight (equipped items count too: they are carried).
pub const MAX_WEIGHT: u32 = 100;
/// GAME_RULES.md: a new character has 100 gold.
pub const START_GOLD: u32 = 100;
/// GAME_RULES.md: 100 mana (our choice: it does not grow with level).
pub const MAX_MANA: u32 = 100;
/// GAME_RULES.md: mana regenerates 5 per second.
pub const MANA_REGEN_PER_SEC: u32 = 5;
/// Equipment slots: weapon, armor, accessory (indexed by [`equip_slot`]).
pub const EQUIP_SLOTS: usize = 3;
/// GAME_RULES.md: melee attack 15 damage (plus the attack stat and the weapon's damage).
pub const MELEE_DAMAGE: i32 = 15;

/// The equipment slot an item goes into, or None for consumables.
pub fn equip_slot(kind: ItemKind) -> Option<usize> {
    match kind {
        ItemKind::Weapon => Some(0),
        ItemKind::Armor => Some(1),
        ItemKind::Accessory => Some(2),
        ItemKind::Consumable => None,
    }
}

fn stat(v: u32) -> i32 {
    v.min(i32::MAX as u32) as i32
}

/// What an item adds to its wearer's stats (weapon damage is separate: see
/// [`Player::weapon_damage`]).
pub fn item_stats(item: &Item) -> Stats {
    Stats {
        attack: stat(item.attack),
        defense: stat(item.defense),
        magic_power: stat(item.magic_power),
        magic_defense: stat(item.magic_defense),
        ..Stats::ZERO
    }
}

/// A level-`level` character's base stats: the level-1 numbers plus every level gain
/// (closed form of summing [`crate::stats::level_gain`] over levels 2..=level).
pub fn base_stats(level: u32) -> Stats {
    let n = (level.clamp(1, crate::stats::MAX_LEVEL) as i32).saturating_sub(1);
    let gain = |per_level_halves: i32| per_level_halves.saturating_mul(n) / 2;
    let mut s = Stats::PLAYER_BASE;
    s.max_hp = s.max_hp.saturating_add(gain(20));
    s.attack = s.attack.saturating_add(gain(4));
    s.defense = s.defense.saturating_add(gain(3));
    s.magic_power = s.magic_power.saturating_add(gain(4));
    s.magic_defense = s.magic_defense.saturating_add(gain(3));
    s
}

/// The rules' maximum movement speed: 200 px/s.
pub const PLAYER_SPEED_PER_SEC: i32 = px(200);
/// Inputs are analog in -127..=127 per axis; full deflection is full speed.
const FULL_DEFLECTION: i32 = 127;

/// Monotonic entity id: allocated in order, never reused, and the order of iteration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EntityId(pub u32);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Player {
    pub id: EntityId,
    pub name: String,
    pub pos: Vec2,
    /// Last non-zero aim or movement direction, as an input-scale vector.
    pub facing: (i8, i8),
    /// The previous tick's input (edge-triggered actions compare against it).
    pub last_input: PlayerInput,
    /// 0 while dead (then `respawn_in` > 0); at most the derived max HP.
    pub hp: i32,
    pub mana: u32,
    /// Regeneration accumulator: +5 per tick, one mana per `tick_rate` (exact at any rate).
    pub mana_acc: u32,
    pub level: u32,
    /// XP towards the next level.
    pub xp: u32,
    pub skill_points: u32,
    pub gold: u32,
    pub inventory: Vec<Item>,
    /// Weapon, armor, accessory.
    pub equipment: [Option<Item>; EQUIP_SLOTS],
    pub statuses: Vec<Status>,
    /// Ticks until the next melee attack.
    pub attack_cd: u32,
    /// Ticks until each spell of the book can be cast again.
    pub spell_cd: [u32; SPELLBOOK_LEN],
    /// Ticks until a dead player respawns; 0 while alive.
    pub respawn_in: u32,
    /// Shield points (Defensive spells): hits take them before HP.
    pub shield: i32,
    /// Ticks until the shield fades; 0 with no shield.
    pub shield_ticks: u32,
    /// Ticks since this player last lost HP (out-of-combat regeneration waits for it),
    /// saturating at [`CALM_CAP_TICKS`].
    pub calm_ticks: u32,
    /// Ticks of protection left after a respawn: monsters do not go for this player.
    pub grace_ticks: u32,
}

/// Where `calm_ticks` stops counting (an hour at 60 Hz: far past any regeneration delay).
pub const CALM_CAP_TICKS: u32 = 60 * 3600;

impl Player {
    pub fn new(id: EntityId, name: String, pos: Vec2) -> Self {
        Player {
            id,
            name,
            pos,
            facing: (0, 1),
            last_input: PlayerInput::IDLE,
            hp: Stats::PLAYER_BASE.max_hp,
            mana: MAX_MANA,
            mana_acc: 0,
            level: 1,
            xp: 0,
            skill_points: 0,
            gold: START_GOLD,
            inventory: Vec::new(),
            equipment: [None, None, None],
            statuses: Vec::new(),
            attack_cd: 0,
            spell_cd: [0; SPELLBOOK_LEN],
            respawn_in: 0,
            shield: 0,
            shield_ticks: 0,
            calm_ticks: 0,
            grace_ticks: 0,
        }
    }

    pub fn alive(&self) -> bool {
        self.respawn_in == 0 && self.hp > 0
    }

    /// Stats derived from base + level gains + equipment + status effects. Never stored.
    pub fn stats(&self) -> Stats {
        let mut s = base_stats(self.level);
        for item in self.equipment.iter().flatten() {
            s.add(&item_stats(item));
        }
        crate::status::modify(&mut s, &self.statuses);
        s
    }

    /// The equipped weapon's damage (0 bare-handed).
    pub fn weapon_damage(&self) -> i32 {
        self.equipment[0].as_ref().map_or(0, |w| stat(w.damage))
    }

    /// Total weight carried (inventory plus equipment).
    pub fn weight(&self) -> u32 {
        self.inventory
            .iter()
            .chain(self.equipment.iter().flatten())
            .fold(0u32, |a, i| a.saturating_add(i.weight))
    }

    /// True when `item` fits: a free slot and the weight limit.
    pub fn can_carry(&self, item: &Item) -> bool {
        self.inventory.len() < INVENTORY_SLOTS
            && self.weight().saturating_add(item.weight) <= MAX_WEIGHT
    }

    /// Applies one tick of movement input at `speed_per_tick` units of full-speed travel.
    pub fn apply_movement(&mut self, map: &TileMap, input: &PlayerInput, speed_per_tick: i32) {
        let mx = (input.move_x as i32).clamp(-FULL_DEFLECTION, FULL_DEFLECTION);
        let my = (input.move_y as i32).clamp(-FULL_DEFLECTION, FULL_DEFLECTION);
        // Partial deflection moves slower; anything past full deflection (including the
        // diagonal corner of the input square) is capped at full speed.
        let sq = (mx as i64)
            .saturating_mul(mx as i64)
            .saturating_add((my as i64).saturating_mul(my as i64));
        let deflection = crate::units::isqrt(sq).min(FULL_DEFLECTION as i64) as i32;
        let delta = scale_to_length(
            mx,
            my,
            speed_per_tick.saturating_mul(deflection) / FULL_DEFLECTION,
        );
        self.pos = move_body(map, self.pos, delta, BODY_HALF);
        if input.aim_x != 0 || input.aim_y != 0 {
            self.facing = (input.aim_x, input.aim_y);
        } else if mx != 0 || my != 0 {
            self.facing = (mx as i8, my as i8);
        }
        self.last_input = *input;
    }
}
