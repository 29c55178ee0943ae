//! Generated worlds, for every generator and genre: golden checksums per genre, and over
//! many seeds the rules hold: everything walkable is reachable, spawn and exit are present
//! and distinct, monster and item counts are within the rules, and generation never panics.
//! Debug runs 12 seeds per (generator, genre); release (scripts/test.sh) runs 200.

use venture_sim::content::templates;
use venture_sim::gen::GeneratorKind;
use venture_sim::{Genre, RoomKind, SimConfig, Tile, World};

/// World checksums at tick 0 of seed 12345, 100x100, depth 1, per genre. A change is a
/// rules or generation change: bump SIM_VERSION.
const GOLDEN_GENRES: [(Genre, u32); 5] = [
    (Genre::Fantasy, 1258963949),
    (Genre::Scifi, 380099537),
    (Genre::Horror, 1587821473),
    (Genre::Cyberpunk, 1124411723),
    (Genre::Postapoc, 2422891761),
];

#[test]
fn golden_world_per_genre() {
    let got: Vec<(Genre, u32)> = GOLDEN_GENRES
        .iter()
        .map(|&(g, _)| {
            (
                g,
                World::new(&SimConfig {
                    genre: g,
                    ..SimConfig::default()
                })
                .expect("valid")
                .checksum(),
            )
        })
        .collect();
    assert_eq!(got, GOLDEN_GENRES.to_vec());
}

/// The world of issue 24's newcomer (`-seed 4242 -genre horror`): a maze whose first room
/// lies inside the quiet ring round the spawn, so its monster stands at the room's far end.
/// A change is a rules or generation change: bump SIM_VERSION.
#[test]
fn golden_newcomer_world() {
    let w = World::new(&SimConfig {
        seed: 4242,
        genre: Genre::Horror,
        ..SimConfig::default()
    })
    .expect("valid");
    assert_eq!(w.checksum(), 917948178);
    let (sx, sy) = w.level().spawn;
    let nearest = w
        .monsters()
        .iter()
        .map(|m| {
            let (x, y) = m.pos.tile();
            (x - sx).pow(2) + (y - sy).pow(2)
        })
        .min()
        .expect("monsters");
    assert!(
        nearest >= 8 * 8,
        "a monster {nearest} (squared tiles) from the spawn"
    );
}

const SEEDS: u64 = if cfg!(debug_assertions) { 12 } else { 200 };

#[test]
fn every_generator_and_genre_follows_the_rules() {
    for generator in GeneratorKind::ALL {
        for genre in Genre::ALL {
            for seed in 0..SEEDS {
                let config = SimConfig {
                    seed,
                    genre,
                    generator: Some(generator),
                    ..SimConfig::default()
                };
                let world = World::new(&config).expect("valid");
                let level = world.level();
                let map = world.map();
                let ctx = format!("{generator:?} {genre:?} seed {seed}");
                assert_eq!(
                    map.walkable_count(),
                    map.reachable_count(level.spawn.0, level.spawn.1),
                    "{ctx}: unreachable tiles"
                );
                assert_ne!(level.spawn, level.exit, "{ctx}");
                assert!(map.is_walkable(level.spawn.0, level.spawn.1), "{ctx}");
                assert_eq!(
                    map.get(level.exit.0, level.exit.1),
                    Tile::StairsDown,
                    "{ctx}"
                );

                // Monsters: 1 to 3 per room except the spawn; the boss room holds the boss.
                let tmpl = templates(genre);
                let bosses = world
                    .monsters()
                    .iter()
                    .filter(|m| tmpl[m.template as usize].is_boss)
                    .count();
                let boss_rooms = level
                    .rooms
                    .iter()
                    .filter(|r| r.kind == RoomKind::Boss)
                    .count();
                assert_eq!(bosses, boss_rooms.min(1), "{ctx}: bosses");
                let monster_rooms = level
                    .rooms
                    .iter()
                    .filter(|r| !matches!(r.kind, RoomKind::Spawn | RoomKind::Boss))
                    .count();
                let others = world.monsters().len() - bosses;
                assert!(
                    others <= 3 * monster_rooms,
                    "{ctx}: {others} monsters for {monster_rooms} rooms"
                );
                assert!(others >= 1, "{ctx}: no monsters");
                let spawn_room = level.rooms[0].rect;
                assert!(
                    world.monsters().iter().all(|m| {
                        let (x, y) = m.home.tile();
                        !spawn_room.contains(x, y)
                    }),
                    "{ctx}: a monster in the spawn room"
                );
                // Items: 1 to 2 per treasure room at generation.
                let treasure = level
                    .rooms
                    .iter()
                    .filter(|r| r.kind == RoomKind::Treasure)
                    .count();
                assert!(world.ground_items().len() <= 2 * treasure, "{ctx}: items");
            }
        }
    }
}
