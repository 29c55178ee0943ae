//! Characters that outlive a session: what a save keeps of a player (progress, inventory,
//! equipment), and the commands that put it back after the player joins again.
//!
//! Restoring goes through frame commands (`Restore`, `GiveItem`) rather than a side door, so
//! every client and every replay sees the same restore at the same tick.

use crate::content::Item;
use crate::input::{Command, Progress};
use crate::player::{base_stats, equip_slot, Player, EQUIP_SLOTS, INVENTORY_SLOTS, MAX_MANA};
use crate::stats::{xp_to_next, MAX_LEVEL};
use serde::{Deserialize, Serialize};

pub use crate::content::items::{MAX_ITEM_NAME, MAX_ITEM_STAT};

/// What a save keeps of a player.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Character {
    pub progress: Progress,
    pub inventory: Vec<Item>,
    pub equipment: [Option<Item>; EQUIP_SLOTS],
}

impl Character {
    /// The lasting part of `player`.
    pub fn of(player: &Player) -> Character {
        Character {
            progress: Progress {
                level: player.level,
                xp: player.xp,
                skill_points: player.skill_points,
                gold: player.gold,
            },
            inventory: player.inventory.clone(),
            equipment: player.equipment.clone(),
        }
    }

    /// Checks a character read from a file: bounded counts, names and numbers.
    pub fn validate(&self) -> Result<(), String> {
        if self.inventory.len() > INVENTORY_SLOTS {
            return Err(format!(
                "{} inventory items (at most {INVENTORY_SLOTS})",
                self.inventory.len()
            ));
        }
        for item in self.inventory.iter().chain(self.equipment.iter().flatten()) {
            item.validate()?;
        }
        for (slot, item) in self.equipment.iter().enumerate() {
            if let Some(item) = item {
                if equip_slot(item.kind) != Some(slot) {
                    return Err(format!(
                        "item {:?} is in the wrong equipment slot",
                        item.name
                    ));
                }
            }
        }
        Ok(())
    }

    /// The commands that restore this character onto the player in `slot` (after its Join):
    /// progress first, then equipment, then the inventory, one item per command.
    pub fn restore_commands(&self, slot: u8) -> Vec<Command> {
        let mut out = vec![Command::Restore {
            slot,
            progress: self.progress,
        }];
        for item in self.equipment.iter().flatten() {
            out.push(Command::GiveItem {
                slot,
                item: Box::new(item.clone()),
                equip: true,
            });
        }
        for item in &self.inventory {
            out.push(Command::GiveItem {
                slot,
                item: Box::new(item.clone()),
                equip: false,
            });
        }
        out
    }
}

/// Applies saved progress, clamped to the rules' ranges, and refills HP and mana.
pub(crate) fn restore(player: &mut Player, progress: &Progress) {
    player.level = progress.level.clamp(1, MAX_LEVEL);
    player.xp = match xp_to_next(player.level) {
        Some(next) => progress.xp.min(next.saturating_sub(1)),
        None => 0,
    };
    player.skill_points = progress.skill_points.min(MAX_LEVEL);
    player.gold = progress.gold;
    if player.alive() {
        player.hp = base_stats(player.level).max_hp.max(1);
        player.mana = MAX_MANA;
    }
}

/// Gives `item` back: into its equipment slot when `equip` and that slot is free, else into
/// the inventory if it fits. Returns false when it fits nowhere.
pub(crate) fn give_item(player: &mut Player, item: &Item, equip: bool) -> bool {
    if equip {
        if let Some(slot) = equip_slot(item.kind) {
            if player.equipment[slot].is_none()
                && player.weight().saturating_add(item.weight) <= crate::player::MAX_WEIGHT
            {
                player.equipment[slot] = Some(item.clone());
                return true;
            }
        }
    }
    if player.can_carry(item) {
        player.inventory.push(item.clone());
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{roll_item, ItemKind};
    use crate::rng::{Purpose, Stream};
    use crate::{Frame, Genre, SimConfig, World};

    fn saved_character() -> Character {
        let mut rng = Stream::new(9, Purpose::Loot);
        let mut inventory = Vec::new();
        let mut weapon = None;
        for _ in 0..200 {
            let item = roll_item(&mut rng, Genre::Fantasy, 1, 500);
            if item.kind == ItemKind::Weapon && weapon.is_none() && item.weight <= 30 {
                weapon = Some(item);
            } else if item.weight <= 5 && inventory.len() < 6 {
                inventory.push(item);
            }
        }
        Character {
            progress: Progress {
                level: 9,
                xp: 20,
                skill_points: 8,
                gold: 1234,
            },
            inventory,
            equipment: [weapon, None, None],
        }
    }

    #[test]
    fn restore_commands_reproduce_the_character() {
        let saved = saved_character();
        saved.validate().expect("valid");
        let mut world = World::new(&SimConfig {
            width: 30,
            height: 30,
            ..SimConfig::default()
        })
        .expect("valid");
        let mut frame = Frame::new(1);
        frame.commands.push(Command::Join {
            slot: 2,
            name: "keeper".into(),
        });
        frame.commands.extend(saved.restore_commands(2));
        world.step(&frame).expect("steps");
        let player = world.player(2).expect("joined");
        assert_eq!(Character::of(player), saved);
        assert_eq!(player.hp, base_stats(9).max_hp);
    }

    #[test]
    fn hostile_saves_are_refused_or_clamped() {
        let mut c = saved_character();
        c.inventory[0].attack = u32::MAX;
        assert!(c.validate().is_err());
        let mut c = saved_character();
        c.equipment.swap(0, 1);
        assert!(c.validate().is_err(), "a weapon in the armor slot");
        let mut world = World::new(&SimConfig {
            width: 30,
            height: 30,
            ..SimConfig::default()
        })
        .expect("valid");
        let mut frame = Frame::new(1);
        frame.commands.push(Command::Join {
            slot: 0,
            name: "x".into(),
        });
        frame.commands.push(Command::Restore {
            slot: 0,
            progress: Progress {
                level: u32::MAX,
                xp: u32::MAX,
                skill_points: u32::MAX,
                gold: 7,
            },
        });
        world.step(&frame).expect("steps");
        let p = world.player(0).expect("joined");
        assert_eq!(p.level, MAX_LEVEL);
        assert!(p.skill_points <= MAX_LEVEL);
    }
}
