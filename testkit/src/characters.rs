//! Saved characters for tests: a known character planted in a server's saves directory
//! (with the client's secret beside it), read back, and compared item by item.

use std::path::Path;

use venture_sim::character::Character;
use venture_sim::content::{roll_item, ItemKind};
use venture_sim::rng::{Purpose, Stream};
use venture_sim::{Genre, Progress};

/// Lower-case hex, as the saves and the client's secret files write bytes (the one
/// codec, `venture_net::secure`'s).
pub use venture_net::secure::hex;

/// A level-7 character with 555 gold, a weapon equipped and two more items carried.
pub fn veteran() -> Character {
    let mut rng = Stream::new(42, Purpose::Loot);
    let mut items = Vec::new();
    // Bounded: light items of both kinds are common in the fantasy tables.
    for _ in 0..10_000 {
        if items.len() == 3 {
            break;
        }
        let item = roll_item(&mut rng, Genre::Fantasy, 1, 500);
        if item.weight <= 20 && (items.is_empty() == (item.kind == ItemKind::Weapon)) {
            items.push(item);
        }
    }
    assert_eq!(
        items.len(),
        3,
        "the loot tables gave no light weapon and items"
    );
    let weapon = items.remove(0);
    let c = Character {
        progress: Progress {
            level: 7,
            xp: 10,
            skill_points: 6,
            gold: 555,
        },
        inventory: items,
        equipment: [Some(weapon), None, None],
    };
    c.validate().expect("the veteran is a valid character");
    c
}

/// Writes `character` as `saves/players/NAME.json` under `dir` (owned by `secret`), and
/// the secret as `NAME.secret` in `secrets`, where `venture-client --secret-dir` finds it.
pub fn plant(dir: &Path, secrets: &Path, name: &str, secret: &[u8; 16], character: &Character) {
    let file = serde_json::json!({
        "name": name,
        "secret_digest": hex(&venture_net::server::secret_digest(secret)),
        "character": character,
    });
    let players = dir.join("saves/players");
    std::fs::create_dir_all(&players).expect("create saves/players");
    std::fs::write(players.join(format!("{name}.json")), file.to_string())
        .expect("write the character file");
    std::fs::create_dir_all(secrets).expect("create the secret dir");
    std::fs::write(secrets.join(format!("{name}.secret")), hex(secret)).expect("write secret");
}

/// The character saved as `saves/players/NAME.json` under `dir`.
pub fn saved(dir: &Path, name: &str) -> Character {
    let path = dir.join(format!("saves/players/{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("character file {}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).expect("a character file is JSON");
    serde_json::from_value(v["character"].clone()).expect("a character")
}

/// The names of everything carried and equipped, sorted.
pub fn item_names(c: &Character) -> Vec<String> {
    let mut v: Vec<String> = c
        .inventory
        .iter()
        .chain(c.equipment.iter().flatten())
        .map(|i| i.name.clone())
        .collect();
    v.sort();
    v
}

/// Every item of `before` is still there in `after` (a bot may have picked up more).
pub fn assert_keeps_items(after: &Character, before: &Character) {
    let mut have = item_names(after);
    for name in item_names(before) {
        let i = have
            .iter()
            .position(|n| *n == name)
            .unwrap_or_else(|| panic!("lost {name}: {:?}", item_names(after)));
        have.remove(i);
    }
}
