//! What happened during a tick, for logs and clients. Events are derived output: they are
//! not part of the state, the snapshot or the checksum, and nothing reads them back.

use crate::player::EntityId;
use crate::units::Vec2;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    PlayerJoined {
        slot: u8,
        name: String,
    },
    PlayerLeft {
        slot: u8,
        name: String,
    },
    /// A command the rules ignored, with why (slot taken, bad name, no such player...).
    CommandIgnored {
        slot: u8,
        reason: IgnoredReason,
    },
    /// `source` hurt `target` (ids of players or monsters; `EntityId(0)` is a status effect
    /// or an explosion's fall-off without a living source).
    Damage {
        source: EntityId,
        target: EntityId,
        amount: i32,
        crit: bool,
    },
    /// A hit that `target` evaded.
    Evaded {
        source: EntityId,
        target: EntityId,
    },
    /// HP restored to `target` (spell, potion, regeneration).
    Healed {
        target: EntityId,
        amount: i32,
    },
    /// A monster died; `slot` got the kill (if a player did), with `xp` and `gold`.
    Kill {
        monster: EntityId,
        slot: Option<u8>,
        xp: u32,
        gold: u32,
    },
    LevelUp {
        slot: u8,
        level: u32,
    },
    /// An item fell to the ground (monster loot).
    LootDropped {
        item: EntityId,
        from: EntityId,
    },
    Pickup {
        slot: u8,
        item: EntityId,
    },
    /// A consumable from inventory slot `index` was used.
    ItemUsed {
        slot: u8,
        index: u8,
    },
    /// Equipment slot `equip` (0 weapon, 1 armor, 2 accessory) changed.
    Equipped {
        slot: u8,
        equip: u8,
    },
    Unequipped {
        slot: u8,
        equip: u8,
    },
    Cast {
        slot: u8,
        spell: u8,
    },
    /// The player in `slot` raised a shield of `amount` points (Defensive spell).
    Shielded {
        slot: u8,
        amount: i32,
    },
    /// `target`'s shield took `amount` of a hit (the rest, if any, is a `Damage`).
    Absorbed {
        target: EntityId,
        amount: i32,
    },
    /// The shield of the player in `slot` faded or broke.
    ShieldGone {
        slot: u8,
    },
    /// The player in `slot` blinked from `from` to `to` (Utility spell).
    Blinked {
        slot: u8,
        from: Vec2,
        to: Vec2,
    },
    /// The player in `slot` summoned `ally` (Summon spell).
    Summoned {
        slot: u8,
        ally: EntityId,
    },
    /// `ally`, summoned by the player in `owner`, vanished.
    AllyGone {
        ally: EntityId,
        owner: u8,
    },
    Death {
        slot: u8,
    },
    Respawn {
        slot: u8,
    },
    /// The party went down the stairs to `depth`.
    Descend {
        depth: u32,
    },
    /// Inventory item `index` of `slot` was dropped and lies on the floor as `item`.
    Dropped {
        slot: u8,
        index: u8,
        item: EntityId,
    },
    /// The player in `slot` (named `name`) said `text`.
    Chat {
        slot: u8,
        name: String,
        text: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IgnoredReason {
    SlotOutOfRange,
    SlotTaken,
    InvalidName,
    NoSuchPlayer,
    /// A restored item did not fit (inventory full or too heavy).
    NoRoom,
    /// A chat line that is empty, too long or carries control characters.
    InvalidChat,
}
