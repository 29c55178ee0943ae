//! Forest (GAME_RULES.md: tree density 0.3, 3 clearings, water chance 0.3).
//!
//! Open ground with trees scattered at 30% density; three round clearings joined in order by winding dirt paths; with the
//! rules' 30% chance a river (deep water, shallow banks) crosses the map, with bridges where
//! the paths meet it; and, each with the same 30% chance, up to three ponds. The shared
//! finishing pass tunnels any pocket the trees or water closed off (through trees as floor,
//! through water as bridges).

use super::common::Draft;
use super::{GeneratorKind, Level};
use crate::map::{Rect, Tile, TileMap};
use crate::rng::Stream;

/// GAME_RULES.md: tree density 0.3.
pub const TREE_PERMILLE: u32 = 300;
/// GAME_RULES.md: 3 clearings.
pub const CLEARINGS: usize = 3;
/// GAME_RULES.md: water chance 0.3 (used for the river and for each of up to 3 ponds).
pub const WATER_PERMILLE: u32 = 300;
/// Our choice: ponds rolled per level (each with WATER_PERMILLE).
const POND_ROLLS: usize = 3;

pub fn generate(rng: &mut Stream, width: u16, height: u16) -> Level {
    super::drafted(rng, width, height, draft)
}

/// The unfinished map (used directly by the composite generator).
pub(crate) fn draft(rng: &mut Stream, width: u16, height: u16) -> Draft {
    let (w, h) = (width as i32, height as i32);
    let mut map = TileMap::new(width, height, Tile::Wall);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let t = if rng.chance(TREE_PERMILLE) {
                Tile::Tree
            } else {
                Tile::Floor
            };
            map.set(x, y, t);
        }
    }
    // Clearings: discs spread over the map (one per third along the longer side).
    let radius = (w.min(h) / 8).clamp(3, 12);
    let mut centres = Vec::with_capacity(CLEARINGS);
    let long_is_x = w >= h;
    for i in 0..CLEARINGS as i32 {
        let n = CLEARINGS as i32;
        let (along, across) = if long_is_x { (w, h) } else { (h, w) };
        let lo = 1 + radius + i * (along - 2 - 2 * radius) / n;
        let hi = 1 + radius + (i + 1) * (along - 2 - 2 * radius) / n - 1;
        let a = rng.range(lo, hi.max(lo));
        let b = rng.range(1 + radius, (across - 2 - radius).max(1 + radius));
        let c = if long_is_x { (a, b) } else { (b, a) };
        centres.push(c);
    }
    let mut areas = Vec::new();
    for &c in &centres {
        disc(&mut map, c, radius, |_| Some(Tile::Floor));
        areas.push(Rect {
            x: (c.0 - radius / 2).max(1),
            y: (c.1 - radius / 2).max(1),
            w: radius,
            h: radius,
        });
    }
    // Paths between consecutive clearings: a wandering walk biased towards the target.
    let mut path = vec![false; width as usize * height as usize];
    for pair in centres.windows(2) {
        let (mut x, mut y) = pair[0];
        let to = pair[1];
        let mut steps = 0;
        while (x, y) != to && steps < 8 * (w + h) {
            steps += 1;
            if map.get(x, y) == Tile::Tree || map.get(x, y) == Tile::Floor {
                map.set(x, y, Tile::Corridor);
            }
            path[(y * w + x) as usize] = true;
            // 3 in 4 steps go towards the target, the rest wander sideways.
            let towards = rng.chance(750);
            let (dx, dy) = (to.0 - x, to.1 - y);
            let horizontal = if towards {
                // Pick the axis in proportion to the distance left along it.
                rng.below(dx.unsigned_abs() + dy.unsigned_abs()) < dx.unsigned_abs()
            } else {
                rng.chance(500)
            };
            if horizontal {
                let s = if towards {
                    dx.signum()
                } else if rng.chance(500) {
                    1
                } else {
                    -1
                };
                x = (x + s).clamp(1, w - 2);
            } else {
                let s = if towards {
                    dy.signum()
                } else if rng.chance(500) {
                    1
                } else {
                    -1
                };
                y = (y + s).clamp(1, h - 2);
            }
        }
    }
    // River: a wandering band across the map, bridged where paths cross it.
    if rng.chance(WATER_PERMILLE) {
        let vertical = rng.chance(500);
        let (along, across) = if vertical { (h, w) } else { (w, h) };
        let mut pos = rng.range(across / 4, across * 3 / 4);
        let half = rng.range(1, 2);
        for a in 1..along - 1 {
            if rng.chance(300) {
                pos = (pos + if rng.chance(500) { 1 } else { -1 }).clamp(3, across - 4);
            }
            for off in -half - 1..=half + 1 {
                let b = pos + off;
                let (x, y) = if vertical { (b, a) } else { (a, b) };
                if x < 1 || y < 1 || x > w - 2 || y > h - 2 {
                    continue;
                }
                let t = if path[(y * w + x) as usize] {
                    Tile::Bridge
                } else if off.abs() <= half {
                    Tile::DeepWater
                } else {
                    Tile::ShallowWater
                };
                map.set(x, y, t);
            }
        }
    }
    // Ponds: deep centre, shallow rim, never on a path.
    for _ in 0..POND_ROLLS {
        if !rng.chance(WATER_PERMILLE) {
            continue;
        }
        let r = rng.range(2, (w.min(h) / 10).clamp(2, 6));
        let c = (rng.range(1 + r, w - 2 - r), rng.range(1 + r, h - 2 - r));
        disc(&mut map, c, r, |d2| {
            if d2 * 2 <= r * r {
                Some(Tile::DeepWater)
            } else {
                Some(Tile::ShallowWater)
            }
        });
        for y in c.1 - r..=c.1 + r {
            for x in c.0 - r..=c.0 + r {
                if map.in_bounds(x, y) && path[(y * w + x) as usize] {
                    map.set(x, y, Tile::Bridge);
                }
            }
        }
    }
    Draft {
        generator: GeneratorKind::Forest,
        map,
        spawn_hint: centres[0],
        areas,
        carve: Tile::Floor,
    }
}

/// Sets the tiles of the disc of radius `r` around `c` (inside the border) to what `f`
/// returns for their squared distance.
fn disc(map: &mut TileMap, c: (i32, i32), r: i32, f: impl Fn(i32) -> Option<Tile>) {
    let (w, h) = (map.width() as i32, map.height() as i32);
    for y in (c.1 - r).max(1)..=(c.1 + r).min(h - 2) {
        for x in (c.0 - r).max(1)..=(c.0 + r).min(w - 2) {
            let d2 = (x - c.0) * (x - c.0) + (y - c.1) * (y - c.1);
            if d2 <= r * r {
                if let Some(t) = f(d2) {
                    map.set(x, y, t);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    /// crc32 of the map bytes, seed 12345, 100x100 (pinned: a change here changes worlds).
    const GOLDEN: u32 = 1349239587;
    use crate::gen::common::{golden, run_suite};

    #[test]
    fn forests_satisfy_the_rules() {
        run_suite(generate, "forest");
    }

    #[test]
    fn forest_golden() {
        assert_eq!(golden(generate), GOLDEN);
    }

    #[test]
    fn forests_have_trees_and_sometimes_water() {
        let mut with_water = 0;
        for seed in 0..40 {
            let l = generate(
                &mut Stream::new(seed, crate::rng::Purpose::Terrain),
                100,
                100,
            );
            let trees = l.map.count(Tile::Tree);
            assert!(trees > 1500 && trees < 3500, "seed {seed}: {trees} trees");
            if l.map.count(Tile::DeepWater) > 0 {
                with_water += 1;
            }
        }
        assert!((5..=35).contains(&with_water), "{with_water}");
    }
}
