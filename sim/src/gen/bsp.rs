//! BSP rooms and corridors (the rules: 6 to 15 rooms; the first is the spawn, the last the
//! exit with stairs down, a boss room among the last three, ~30% treasure and ~25% trap
//! rooms).
//!
//! The map is split by repeatedly cutting the largest leaf until the drawn room count is
//! reached; each leaf gets one room; rooms are chained nearest-first from the top-left one
//! and consecutive rooms are joined by L-shaped corridors, so the chain makes every room
//! reachable and the last room in it is far from the first.

use super::{GeneratorKind, Level};
use crate::map::{Rect, Room, RoomKind, Tile, TileMap};
use crate::rng::Stream;

const MIN_ROOMS: i32 = 6;
const MAX_ROOMS: i32 = 15;
/// Smallest leaf side: a 4-tile room plus margins.
const MIN_LEAF: i32 = 8;
const TREASURE_PERMILLE: u32 = 300;
const TRAP_PERMILLE: u32 = 250;

pub fn generate(rng: &mut Stream, width: u16, height: u16) -> Level {
    let (width, height) = super::clamp_sides(width, height);
    let mut map = TileMap::new(width, height, Tile::Wall);
    let leaves = split_leaves(
        rng,
        Rect {
            x: 1,
            y: 1,
            w: width as i32 - 2,
            h: height as i32 - 2,
        },
    );
    let rects: Vec<Rect> = leaves.iter().map(|leaf| room_in_leaf(rng, leaf)).collect();
    let order = nearest_chain(&rects);
    let rects: Vec<Rect> = order.into_iter().map(|i| rects[i]).collect();

    for r in &rects {
        for y in r.y..r.y + r.h {
            for x in r.x..r.x + r.w {
                map.set(x, y, Tile::Floor);
            }
        }
    }
    for pair in rects.windows(2) {
        carve_corridor(rng, &mut map, pair[0].centre(), pair[1].centre());
    }
    for r in &rects {
        place_doors(&mut map, r);
    }

    let rooms = assign_kinds(rng, &rects);
    for room in &rooms {
        if room.kind == RoomKind::Trap {
            for _ in 0..rng.range(1, 3) {
                let (x, y) = random_inner_tile(rng, &room.rect);
                map.set(x, y, Tile::TrapDoor);
            }
        }
    }
    let spawn = rects[0].centre();
    // The exit is the last room's centre; with a single-room map (impossible with MIN_ROOMS
    // >= 2 leaves, but cheap to guard) it is moved off the spawn tile.
    let mut exit = rects[rects.len() - 1].centre();
    if exit == spawn {
        exit.0 += 1;
    }
    map.set(spawn.0, spawn.1, Tile::StairsUp);
    map.set(exit.0, exit.1, Tile::StairsDown);
    map.fill_unreachable(spawn.0, spawn.1);
    Level {
        generator: GeneratorKind::Bsp,
        map,
        rooms,
        spawn,
        exit,
    }
}

/// Cuts `area` into leaves: the drawn number of rooms, fewer only if no leaf can be cut.
fn split_leaves(rng: &mut Stream, area: Rect) -> Vec<Rect> {
    let target = rng.range(MIN_ROOMS, MAX_ROOMS) as usize;
    let mut leaves = vec![area];
    while leaves.len() < target {
        // The largest splittable leaf (first on ties, so the choice is deterministic).
        let Some(i) = (0..leaves.len())
            .filter(|&i| leaves[i].w >= 2 * MIN_LEAF || leaves[i].h >= 2 * MIN_LEAF)
            .max_by_key(|&i| (leaves[i].area(), std::cmp::Reverse(i)))
        else {
            break;
        };
        let leaf = leaves[i];
        let vertical_cut = if leaf.w >= 2 * MIN_LEAF && leaf.h >= 2 * MIN_LEAF {
            if leaf.w == leaf.h {
                rng.chance(500)
            } else {
                leaf.w > leaf.h
            }
        } else {
            leaf.w >= 2 * MIN_LEAF
        };
        let (a, b) = if vertical_cut {
            let cut = rng.range(
                MIN_LEAF.max(leaf.w * 2 / 5),
                (leaf.w - MIN_LEAF).min(leaf.w * 3 / 5),
            );
            (
                Rect { w: cut, ..leaf },
                Rect {
                    x: leaf.x + cut,
                    w: leaf.w - cut,
                    ..leaf
                },
            )
        } else {
            let cut = rng.range(
                MIN_LEAF.max(leaf.h * 2 / 5),
                (leaf.h - MIN_LEAF).min(leaf.h * 3 / 5),
            );
            (
                Rect { h: cut, ..leaf },
                Rect {
                    y: leaf.y + cut,
                    h: leaf.h - cut,
                    ..leaf
                },
            )
        };
        leaves[i] = a;
        leaves.push(b);
    }
    leaves
}

/// A room inside a leaf, leaving at least one wall tile on each side.
fn room_in_leaf(rng: &mut Stream, leaf: &Rect) -> Rect {
    let max_w = (leaf.w - 2).max(3);
    let max_h = (leaf.h - 2).max(3);
    let w = rng.range((max_w / 2).max(4).min(max_w), max_w.min(14));
    let h = rng.range((max_h / 2).max(4).min(max_h), max_h.min(12));
    let x = rng.range(leaf.x + 1, leaf.x + leaf.w - 1 - w);
    let y = rng.range(leaf.y + 1, leaf.y + leaf.h - 1 - h);
    Rect { x, y, w, h }
}

/// Orders rooms as a greedy nearest-neighbour chain from the top-left-most room.
fn nearest_chain(rects: &[Rect]) -> Vec<usize> {
    let dist = |a: (i32, i32), b: (i32, i32)| (a.0 - b.0).abs() + (a.1 - b.1).abs();
    let start = (0..rects.len())
        .min_by_key(|&i| (rects[i].x + rects[i].y, i))
        .unwrap_or(0);
    let mut order = vec![start];
    let mut used = vec![false; rects.len()];
    used[start] = true;
    while order.len() < rects.len() {
        let here = rects[order[order.len() - 1]].centre();
        // Unwrap: the loop runs only while some room is unused.
        let next = (0..rects.len())
            .filter(|&i| !used[i])
            .min_by_key(|&i| (dist(here, rects[i].centre()), i))
            .unwrap();
        used[next] = true;
        order.push(next);
    }
    order
}

fn carve_corridor(rng: &mut Stream, map: &mut TileMap, a: (i32, i32), b: (i32, i32)) {
    let horizontal_first = rng.chance(500);
    let corner = if horizontal_first {
        (b.0, a.1)
    } else {
        (a.0, b.1)
    };
    for (from, to) in [(a, corner), (corner, b)] {
        let (mut x, mut y) = from;
        loop {
            if map.get(x, y) == Tile::Wall {
                map.set(x, y, Tile::Corridor);
            }
            if (x, y) == to {
                break;
            }
            x += (to.0 - x).signum();
            y += (to.1 - y).signum();
        }
    }
}

/// Turns corridor tiles in the wall ring around a room into doors where they form a proper
/// doorway (walls on both sides across the passage).
fn place_doors(map: &mut TileMap, r: &Rect) {
    let mut ring = Vec::new();
    for x in r.x..r.x + r.w {
        ring.push((x, r.y - 1, true));
        ring.push((x, r.y + r.h, true));
    }
    for y in r.y..r.y + r.h {
        ring.push((r.x - 1, y, false));
        ring.push((r.x + r.w, y, false));
    }
    for (x, y, horizontal_wall) in ring {
        if map.get(x, y) != Tile::Corridor {
            continue;
        }
        let sides_are_walls = if horizontal_wall {
            map.get(x - 1, y) == Tile::Wall && map.get(x + 1, y) == Tile::Wall
        } else {
            map.get(x, y - 1) == Tile::Wall && map.get(x, y + 1) == Tile::Wall
        };
        if sides_are_walls {
            map.set(x, y, Tile::Door);
        }
    }
}

fn assign_kinds(rng: &mut Stream, rects: &[Rect]) -> Vec<Room> {
    let n = rects.len();
    // The boss room is one of the last three rooms other than the exit itself.
    let boss = if n >= 4 {
        Some(n - 2 - rng.below(2.min(n as u32 - 3)) as usize)
    } else {
        None
    };
    rects
        .iter()
        .enumerate()
        .map(|(i, &rect)| {
            let kind = if i == 0 {
                RoomKind::Spawn
            } else if i == n - 1 {
                RoomKind::Exit
            } else if Some(i) == boss {
                RoomKind::Boss
            } else if rng.chance(TREASURE_PERMILLE) {
                RoomKind::Treasure
            } else if rng.chance(TRAP_PERMILLE * 1000 / (1000 - TREASURE_PERMILLE)) {
                RoomKind::Trap
            } else {
                RoomKind::Normal
            };
            Room { rect, kind }
        })
        .collect()
}

fn random_inner_tile(rng: &mut Stream, r: &Rect) -> (i32, i32) {
    (
        rng.range(r.x + 1, r.x + r.w - 2),
        rng.range(r.y + 1, r.y + r.h - 2),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Purpose;

    #[test]
    fn levels_satisfy_the_rules_over_many_seeds() {
        for seed in 0..300u64 {
            for (w, h) in [(100u16, 100u16), (20, 20), (37, 91), (256, 256)] {
                if (w, h) == (256, 256) && seed % 10 != 0 {
                    continue;
                }
                let level = generate(&mut Stream::new(seed, Purpose::Terrain), w, h);
                let m = &level.map;
                assert_eq!(
                    m.walkable_count(),
                    m.reachable_count(level.spawn.0, level.spawn.1),
                    "seed {seed} {w}x{h}"
                );
                assert_ne!(level.spawn, level.exit);
                assert_eq!(m.get(level.exit.0, level.exit.1), Tile::StairsDown);
                assert!(m.is_walkable(level.spawn.0, level.spawn.1));
                assert!(level.rooms.len() <= MAX_ROOMS as usize);
                if (w, h) == (100, 100) {
                    assert!(
                        level.rooms.len() >= MIN_ROOMS as usize,
                        "seed {seed}: {} rooms",
                        level.rooms.len()
                    );
                    assert_eq!(
                        level
                            .rooms
                            .iter()
                            .filter(|r| r.kind == RoomKind::Boss)
                            .count(),
                        1
                    );
                }
                assert_eq!(level.rooms[0].kind, RoomKind::Spawn);
                assert_eq!(level.rooms.last().map(|r| r.kind), Some(RoomKind::Exit));
                // The outer border stays solid.
                for x in 0..w as i32 {
                    assert!(!m.is_walkable(x, 0) && !m.is_walkable(x, h as i32 - 1));
                }
            }
        }
    }
}
