//! City (GAME_RULES.md: block size 12, street width 2, building density 0.7, plaza density
//! 0.2).
//!
//! A grid of streets (corridor tiles, `STREET` wide) every `BLOCK + STREET` tiles; each
//! block inside is a plaza with the rules' 20% chance (open floor with a fountain of shallow
//! water), otherwise each of its lots (the block, or its two halves) holds a building with
//! the rules' 70% chance: a wall rectangle one tile in from the pavement, floor inside, and
//! a door in a wall facing the pavement. Lots without a building are small parks (floor with
//! a few trees). Building interiors and plazas are the level's content areas.

use super::common::Draft;
use super::{GeneratorKind, Level};
use crate::map::{Rect, Tile, TileMap};
use crate::rng::Stream;

/// GAME_RULES.md: block size 12.
pub const BLOCK: i32 = 12;
/// GAME_RULES.md: street width 2.
pub const STREET: i32 = 2;
/// GAME_RULES.md: building density 0.7 (chance per lot).
pub const BUILDING_PERMILLE: u32 = 700;
/// GAME_RULES.md: plaza density 0.2 (chance per block).
pub const PLAZA_PERMILLE: u32 = 200;
/// Our choice: a block is split into two lots with this chance.
const SPLIT_PERMILLE: u32 = 400;
/// Our choice: smallest building side including its walls (3x3 floor inside).
const MIN_BUILDING: i32 = 5;
/// Our choice: tree chance on a park tile.
const PARK_TREE_PERMILLE: u32 = 150;

pub fn generate(rng: &mut Stream, width: u16, height: u16) -> Level {
    super::drafted(rng, width, height, draft)
}

/// The unfinished map (used directly by the composite generator).
pub(crate) fn draft(rng: &mut Stream, width: u16, height: u16) -> Draft {
    let (w, h) = (width as i32, height as i32);
    let mut map = TileMap::new(width, height, Tile::Floor);
    let period = BLOCK + STREET;
    // Streets: the first STREET tiles of every period, starting just inside the border.
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            if (x - 1) % period < STREET || (y - 1) % period < STREET {
                map.set(x, y, Tile::Corridor);
            }
        }
    }
    let mut areas = Vec::new();
    let mut by = 1 + STREET;
    while by < h - 1 {
        let mut bx = 1 + STREET;
        while bx < w - 1 {
            let block = Rect {
                x: bx,
                y: by,
                w: BLOCK.min(w - 1 - bx),
                h: BLOCK.min(h - 1 - by),
            };
            fill_block(rng, &mut map, block, &mut areas);
            bx += period;
        }
        by += period;
    }
    let hint = (rng.range(1, w - 2), rng.range(1, h - 2));
    Draft {
        generator: GeneratorKind::City,
        map,
        spawn_hint: hint,
        areas,
        carve: Tile::Corridor,
    }
}

fn fill_block(rng: &mut Stream, map: &mut TileMap, block: Rect, areas: &mut Vec<Rect>) {
    if block.w < 1 || block.h < 1 {
        return;
    }
    if rng.chance(PLAZA_PERMILLE) {
        // Plaza: open floor with a fountain in the middle when there is room.
        if block.w >= 7 && block.h >= 7 {
            let (cx, cy) = block.centre();
            for y in cy - 1..=cy {
                for x in cx - 1..=cx {
                    map.set(x, y, Tile::ShallowWater);
                }
            }
        }
        areas.push(block);
        return;
    }
    let lots = if rng.chance(SPLIT_PERMILLE) {
        if block.w >= block.h {
            let cut = block.w / 2;
            [
                Rect { w: cut, ..block },
                Rect {
                    x: block.x + cut,
                    w: block.w - cut,
                    ..block
                },
            ]
            .to_vec()
        } else {
            let cut = block.h / 2;
            [
                Rect { h: cut, ..block },
                Rect {
                    y: block.y + cut,
                    h: block.h - cut,
                    ..block
                },
            ]
            .to_vec()
        }
    } else {
        vec![block]
    };
    for lot in lots {
        // The building stands one tile in from the lot's edge (pavement all round).
        let b = Rect {
            x: lot.x + 1,
            y: lot.y + 1,
            w: lot.w - 2,
            h: lot.h - 2,
        };
        if b.w >= MIN_BUILDING && b.h >= MIN_BUILDING && rng.chance(BUILDING_PERMILLE) {
            for y in b.y..b.y + b.h {
                for x in b.x..b.x + b.w {
                    let edge = x == b.x || y == b.y || x == b.x + b.w - 1 || y == b.y + b.h - 1;
                    map.set(x, y, if edge { Tile::Wall } else { Tile::Floor });
                }
            }
            // A door in a random wall, away from the corners.
            let door = match rng.below(4) {
                0 => (rng.range(b.x + 1, b.x + b.w - 2), b.y),
                1 => (rng.range(b.x + 1, b.x + b.w - 2), b.y + b.h - 1),
                2 => (b.x, rng.range(b.y + 1, b.y + b.h - 2)),
                _ => (b.x + b.w - 1, rng.range(b.y + 1, b.y + b.h - 2)),
            };
            map.set(door.0, door.1, Tile::Door);
            areas.push(Rect {
                x: b.x + 1,
                y: b.y + 1,
                w: b.w - 2,
                h: b.h - 2,
            });
        } else {
            for y in lot.y..lot.y + lot.h {
                for x in lot.x..lot.x + lot.w {
                    if rng.chance(PARK_TREE_PERMILLE) {
                        map.set(x, y, Tile::Tree);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    /// crc32 of the map bytes, seed 12345, 100x100 (pinned: a change here changes worlds).
    const GOLDEN: u32 = 1222379499;
    use crate::gen::common::{golden, run_suite};

    #[test]
    fn cities_satisfy_the_rules() {
        run_suite(generate, "city");
    }

    #[test]
    fn city_golden() {
        assert_eq!(golden(generate), GOLDEN);
    }

    #[test]
    fn cities_have_buildings_with_doors() {
        let l = generate(&mut Stream::new(9, crate::rng::Purpose::Terrain), 100, 100);
        assert!(l.map.count(Tile::Door) >= 10, "{}", l.map.count(Tile::Door));
        assert!(l.map.count(Tile::Corridor) > 1000);
    }
}
