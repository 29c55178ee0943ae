//! The inventory window both clients show: its rows (the three equipment slots, then the
//! items carried), what a key does there (move the cursor, or queue the sim's unequip,
//! equip, use or drop for the row), the lines describing it, and the hint for the row.
//! Each client maps its own keys to an [`InventoryKey`] and draws the [`Row`]s its way.

use venture_sim::buttons;
use venture_sim::content::{Item, ItemKind, Rarity};
use venture_sim::gameplay::UNEQUIP_BASE;
use venture_sim::player::{Player, INVENTORY_SLOTS, MAX_WEIGHT};

use crate::text::inert_cut;
use crate::view::Overlay;

/// The equipment rows come first, in this order.
pub const EQUIPMENT_SLOTS: [&str; 3] = ["weapon", "armor", "accessory"];
/// The first carried item's row.
pub const FIRST_ITEM_ROW: usize = EQUIPMENT_SLOTS.len();

/// What a key means in the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InventoryKey {
    Up,
    Down,
    /// Equip, unequip or use the row (Enter, E, U).
    Act,
    /// Drop the row's item (X).
    Drop,
    /// Close the window (I, Esc).
    Close,
    /// Any other key: nothing.
    Other,
}

/// What the key did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InventoryStep {
    Close,
    /// The window stays, with the cursor on `cursor`; `action` is the sim's button and
    /// slot to queue (edge-triggered, one tick each), if the key asked for one.
    Stay {
        cursor: usize,
        action: Option<(u8, u8)>,
    },
}

/// Where the cursor starts when the window opens: on the first item carried, or on the
/// accessory row when nothing is.
pub fn opening_cursor(p: &Player) -> usize {
    FIRST_ITEM_ROW.min(rows(p) - 1)
}

/// The window opened on `me`'s inventory (`None`: not in the world yet).
pub fn open(me: Option<&Player>) -> Overlay {
    Overlay::Inventory {
        cursor: me.map_or(FIRST_ITEM_ROW, opening_cursor),
    }
}

/// `key` in the window open on `me`'s inventory: the window as it is after it, with the
/// row's action handed to `queue` (the client's `InputMapper::queue`; closed when `me` is
/// not in the world).
pub fn handle(
    me: Option<&Player>,
    cursor: usize,
    key: InventoryKey,
    mut queue: impl FnMut(u8, u8),
) -> Overlay {
    match me.map_or(InventoryStep::Close, |p| press(p, cursor, key)) {
        InventoryStep::Close => Overlay::None,
        InventoryStep::Stay { cursor, action } => {
            if let Some((button, slot)) = action {
                queue(button, slot);
            }
            Overlay::Inventory { cursor }
        }
    }
}

/// Rows of the window: weapon, armor, accessory, then the carried items.
pub fn rows(p: &Player) -> usize {
    FIRST_ITEM_ROW + p.inventory.len()
}

/// What `key` does with the cursor on `cursor` (kept in range as the inventory changes).
pub fn press(p: &Player, cursor: usize, key: InventoryKey) -> InventoryStep {
    let last = rows(p) - 1;
    let cursor = cursor.min(last);
    let item = cursor
        .checked_sub(FIRST_ITEM_ROW)
        .and_then(|i| p.inventory.get(i).map(|it| (i as u8, it.kind)));
    let (cursor, action) = match key {
        InventoryKey::Close => return InventoryStep::Close,
        InventoryKey::Up => (cursor.saturating_sub(1), None),
        InventoryKey::Down => ((cursor + 1).min(last), None),
        InventoryKey::Act => (
            cursor,
            match item {
                None if cursor < FIRST_ITEM_ROW => {
                    Some((buttons::INTERACT, UNEQUIP_BASE + cursor as u8))
                }
                Some((i, ItemKind::Consumable)) => Some((buttons::USE_ITEM, i)),
                Some((i, _)) => Some((buttons::INTERACT, i)),
                None => None,
            },
        ),
        InventoryKey::Drop => (cursor, item.map(|(i, _)| (buttons::DROP, i))),
        InventoryKey::Other => (cursor, None),
    };
    InventoryStep::Stay { cursor, action }
}

/// One line describing an item: name and its numbers.
pub fn describe(item: &Item) -> String {
    let mut parts = Vec::new();
    if item.damage > 0 {
        parts.push(format!("dmg {}", item.damage));
    }
    for (v, n) in [
        (item.attack, "atk"),
        (item.defense, "def"),
        (item.magic_power, "mag"),
        (item.magic_defense, "mdef"),
        (item.heal_hp, "heal"),
        (item.restore_mana, "mana"),
    ] {
        if v > 0 {
            parts.push(format!("{n} +{v}"));
        }
    }
    parts.push(format!("wt {}", item.weight));
    format!("{} ({})", inert_cut(&item.name, 28), parts.join(", "))
}

/// A row of the window as text: its label ("weapon:" or the item's number and glyph
/// are the client's), what it holds, and its item's rarity (`None`: empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// "weapon", "armor", "accessory", or the item's number from 1.
    pub label: String,
    /// The item's description, or "(empty)".
    pub text: String,
    pub kind: Option<ItemKind>,
    pub rarity: Option<Rarity>,
}

/// The window's rows, in cursor order.
pub fn row_list(p: &Player) -> Vec<Row> {
    let equipped = EQUIPMENT_SLOTS.iter().enumerate().map(|(e, name)| {
        let item = p.equipment[e].as_ref();
        Row {
            label: (*name).to_string(),
            text: item.map_or_else(|| "(empty)".to_string(), describe),
            kind: item.map(|i| i.kind),
            rarity: item.map(|i| i.rarity),
        }
    });
    let carried = p.inventory.iter().enumerate().map(|(i, item)| Row {
        label: (i + 1).to_string(),
        text: describe(item),
        kind: Some(item.kind),
        rarity: Some(item.rarity),
    });
    equipped.chain(carried).collect()
}

/// "carried N/M items, weight W/MAX".
pub fn load_line(p: &Player) -> String {
    format!(
        "carried {}/{} items, weight {}/{}",
        p.inventory.len(),
        INVENTORY_SLOTS,
        p.weight(),
        MAX_WEIGHT
    )
}

/// The keys that work on the row under the cursor.
pub fn hint(p: &Player, cursor: usize) -> &'static str {
    match cursor.checked_sub(FIRST_ITEM_ROW) {
        None => "Up/Down: choose  E/Enter: unequip  I/Esc: close",
        Some(i) => match p.inventory.get(i).map(|i| i.kind) {
            Some(ItemKind::Consumable) => "Up/Down: choose  U/Enter: use  X: drop  I/Esc: close",
            Some(_) => "Up/Down: choose  E/Enter: equip  X: drop  I/Esc: close",
            None => "Up/Down: choose  I/Esc: close",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use venture_sim::content::roll_item;
    use venture_sim::rng::{Purpose, Stream};
    use venture_sim::{Command, Frame, SimConfig, World};

    /// Ada, joined, carrying eight rolled items (every kind among them).
    fn player_with_items() -> Player {
        let mut w = World::new(&SimConfig::default()).expect("the default world");
        let mut f = Frame::new(1);
        f.commands = vec![Command::Join {
            slot: 0,
            name: "Ada".into(),
        }];
        w.step(&f).expect("a join steps");
        let mut p = w.player(0).expect("joined").clone();
        let mut rng = Stream::new(7, Purpose::Loot);
        p.inventory = (0..8)
            .map(|_| roll_item(&mut rng, w.config().genre, 1, 1000))
            .collect();
        p
    }

    #[test]
    fn keys_move_the_cursor_within_the_rows_and_act_on_the_row() {
        let p = player_with_items();
        let n = rows(&p);
        assert_eq!(
            press(&p, 0, InventoryKey::Up),
            InventoryStep::Stay {
                cursor: 0,
                action: None
            }
        );
        assert_eq!(
            press(&p, n + 5, InventoryKey::Down),
            InventoryStep::Stay {
                cursor: n - 1,
                action: None
            }
        );
        assert_eq!(press(&p, 1, InventoryKey::Close), InventoryStep::Close);
        // The armor row: unequip.
        assert_eq!(
            press(&p, 1, InventoryKey::Act),
            InventoryStep::Stay {
                cursor: 1,
                action: Some((buttons::INTERACT, UNEQUIP_BASE + 1))
            }
        );
        for (i, item) in p.inventory.iter().enumerate() {
            let row = FIRST_ITEM_ROW + i;
            let want = match item.kind {
                ItemKind::Consumable => (buttons::USE_ITEM, i as u8),
                _ => (buttons::INTERACT, i as u8),
            };
            assert_eq!(
                press(&p, row, InventoryKey::Act),
                InventoryStep::Stay {
                    cursor: row,
                    action: Some(want)
                }
            );
            assert_eq!(
                press(&p, row, InventoryKey::Drop),
                InventoryStep::Stay {
                    cursor: row,
                    action: Some((buttons::DROP, i as u8))
                }
            );
        }
        // An equipment row has nothing to drop.
        assert_eq!(
            press(&p, 0, InventoryKey::Drop),
            InventoryStep::Stay {
                cursor: 0,
                action: None
            }
        );
    }

    #[test]
    fn rows_list_the_equipment_then_the_items() {
        let p = player_with_items();
        let list = row_list(&p);
        assert_eq!(list.len(), rows(&p));
        assert_eq!(list[0].label, "weapon");
        assert_eq!(list[2].label, "accessory");
        for (i, item) in p.inventory.iter().enumerate() {
            assert_eq!(list[FIRST_ITEM_ROW + i].label, (i + 1).to_string());
            assert_eq!(list[FIRST_ITEM_ROW + i].text, describe(item));
        }
        assert!(load_line(&p).starts_with(&format!("carried {}/", p.inventory.len())));
        assert!(hint(&p, 0).contains("unequip"));
        assert_eq!(opening_cursor(&p), FIRST_ITEM_ROW);
        let mut empty = p.clone();
        empty.inventory.clear();
        assert_eq!(opening_cursor(&empty), FIRST_ITEM_ROW - 1);
    }

    #[test]
    fn handle_queues_the_rows_action_and_open_starts_on_a_row_that_exists() {
        let p = player_with_items();
        let mut queued = Vec::new();
        let after = handle(Some(&p), 1, InventoryKey::Act, |b, slot| {
            queued.push((b, slot))
        });
        assert_eq!(after, Overlay::Inventory { cursor: 1 });
        assert_eq!(queued, vec![(buttons::INTERACT, UNEQUIP_BASE + 1)]);
        assert_eq!(
            handle(Some(&p), 1, InventoryKey::Close, |_, _| panic!(
                "nothing to queue"
            )),
            Overlay::None
        );
        assert_eq!(
            handle(None, 1, InventoryKey::Act, |_, _| panic!("no player")),
            Overlay::None
        );
        let mut empty = p.clone();
        empty.inventory.clear();
        assert_eq!(open(Some(&empty)), Overlay::Inventory { cursor: 2 });
        assert_eq!(
            open(Some(&p)),
            Overlay::Inventory {
                cursor: FIRST_ITEM_ROW
            }
        );
    }
}
