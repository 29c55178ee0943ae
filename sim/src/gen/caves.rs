//! Cellular-automaton caves (GAME_RULES.md: fill 0.40, 5 iterations, birth 4 / death 3,
//! then a connectivity pass so every floor tile is reachable).
//!
//! The interior is filled with wall at 40%; each iteration counts a tile's wall neighbours
//! (8-neighbourhood, off-map counts as wall): a wall with fewer than `DEATH` wall neighbours
//! opens, an open tile with more than `BIRTH` wall neighbours closes. Specks smaller than
//! `MIN_REGION` are filled, a few water and lava pools are dropped in, and the shared
//! finishing pass tunnels every remaining region to the spawn's.

use super::common::Draft;
use super::Level;
use crate::gen::GeneratorKind;
use crate::map::{Rect, Tile, TileMap};
use crate::rng::Stream;

/// GAME_RULES.md: initial wall fill 0.40.
pub const FILL_PERMILLE: u32 = 400;
/// GAME_RULES.md: 5 smoothing iterations.
pub const ITERATIONS: u32 = 5;
/// GAME_RULES.md: birth limit 4 (an open tile with more wall neighbours becomes wall).
pub const BIRTH: u8 = 4;
/// GAME_RULES.md: death limit 3 (a wall with fewer wall neighbours opens).
pub const DEATH: u8 = 3;
/// Our choice: open regions smaller than this are filled rather than tunnelled to.
const MIN_REGION: usize = 8;
/// Our choice: one pool per this many tiles, at least one; each is water (70%) or lava.
const TILES_PER_POOL: usize = 1200;
const LAVA_PERMILLE: u32 = 300;
/// Our choice: pool radius range (tiles).
const POOL_RADIUS: (i32, i32) = (2, 4);

pub fn generate(rng: &mut Stream, width: u16, height: u16) -> Level {
    super::drafted(rng, width, height, draft)
}

/// The unfinished map (used directly by the composite generator).
pub(crate) fn draft(rng: &mut Stream, width: u16, height: u16) -> Draft {
    let (w, h) = (width as usize, height as usize);
    // true = wall
    let mut cells = vec![true; w * h];
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            cells[y * w + x] = rng.chance(FILL_PERMILLE);
        }
    }
    let mut next = cells.clone();
    for _ in 0..ITERATIONS {
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let mut walls = 0u8;
                for yy in y - 1..=y + 1 {
                    let row = yy * w;
                    for xx in x - 1..=x + 1 {
                        walls += u8::from(cells[row + xx]);
                    }
                }
                let i = y * w + x;
                walls -= u8::from(cells[i]);
                next[i] = if cells[i] {
                    walls >= DEATH
                } else {
                    walls > BIRTH
                };
            }
        }
        std::mem::swap(&mut cells, &mut next);
    }
    let mut map = TileMap::new(width, height, Tile::Wall);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            if !cells[y * w + x] {
                map.set(x as i32, y as i32, Tile::Floor);
            }
        }
    }
    fill_small_regions(&mut map, MIN_REGION);

    // Pools: a disc of deep water (or lava) with a shallow-water rim, centred on floor.
    let pools = (w * h / TILES_PER_POOL).clamp(1, 400);
    for _ in 0..pools {
        let r = rng.range(POOL_RADIUS.0, POOL_RADIUS.1);
        let lava = rng.chance(LAVA_PERMILLE);
        // A few tries to land the centre on floor.
        let mut c = (0, 0);
        for _ in 0..8 {
            c = (rng.range(1, w as i32 - 2), rng.range(1, h as i32 - 2));
            if map.get(c.0, c.1) == Tile::Floor {
                break;
            }
        }
        if map.get(c.0, c.1) != Tile::Floor {
            continue;
        }
        for y in c.1 - r..=c.1 + r {
            for x in c.0 - r..=c.0 + r {
                let d2 = (x - c.0) * (x - c.0) + (y - c.1) * (y - c.1);
                if d2 > r * r || map.get(x, y) != Tile::Floor {
                    continue;
                }
                let inner = d2 * 4 <= r * r * 2;
                let t = match (inner, lava) {
                    (true, false) => Tile::DeepWater,
                    (true, true) => Tile::Lava,
                    (false, false) => Tile::ShallowWater,
                    // Lava is rimmed by plain floor (cooled rock).
                    (false, true) => Tile::Floor,
                };
                map.set(x, y, t);
            }
        }
    }

    let hint = (rng.range(1, w as i32 / 4 + 1), rng.range(1, h as i32 - 2));
    let areas = open_areas(rng, &map);
    Draft {
        generator: GeneratorKind::Caves,
        map,
        spawn_hint: hint,
        areas,
        carve: Tile::Floor,
    }
}

/// Walls in walkable regions smaller than `min` tiles (4-neighbourhood).
pub(crate) fn fill_small_regions(map: &mut TileMap, min: usize) {
    let (w, h) = (map.width() as usize, map.height() as usize);
    let mut seen = vec![false; w * h];
    let mut region = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if seen[start] || !map.tiles()[start].is_walkable() {
            continue;
        }
        region.clear();
        seen[start] = true;
        stack.push(start);
        while let Some(i) = stack.pop() {
            region.push(i);
            for nb in map.neighbours4(i) {
                if !seen[nb] && map.tiles()[nb].is_walkable() {
                    seen[nb] = true;
                    stack.push(nb);
                }
            }
        }
        if region.len() < min {
            for &i in &region {
                map.set((i % w) as i32, (i / w) as i32, Tile::Wall);
            }
        }
    }
}

/// Candidate content areas: 5x5 squares that are entirely floor, sampled at random.
fn open_areas(rng: &mut Stream, map: &TileMap) -> Vec<Rect> {
    let (w, h) = (map.width() as i32, map.height() as i32);
    let want = ((w * h) as usize / 1200).clamp(3, 40);
    let mut out = Vec::new();
    for _ in 0..want * 8 {
        if out.len() >= want {
            break;
        }
        let r = Rect {
            x: rng.range(1, w - 6),
            y: rng.range(1, h - 6),
            w: 5,
            h: 5,
        };
        let open = (r.y..r.y + r.h).all(|y| (r.x..r.x + r.w).all(|x| map.get(x, y) == Tile::Floor));
        if open && !out.iter().any(|o: &Rect| overlaps(o, &r)) {
            out.push(r);
        }
    }
    out
}

pub(crate) fn overlaps(a: &Rect, b: &Rect) -> bool {
    a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
}

#[cfg(test)]
mod tests {
    use super::*;
    /// crc32 of the map bytes, seed 12345, 100x100 (pinned: a change here changes worlds).
    const GOLDEN: u32 = 121577281;
    use crate::gen::common::{golden, run_suite};

    #[test]
    fn caves_satisfy_the_rules() {
        run_suite(generate, "caves");
    }

    #[test]
    fn caves_golden() {
        assert_eq!(golden(generate), GOLDEN);
    }

    #[test]
    fn caves_look_like_caves() {
        let l = generate(&mut Stream::new(7, crate::rng::Purpose::Terrain), 100, 100);
        let walk = l.map.walkable_count();
        assert!(walk > 2500 && walk < 8000, "{walk}");
    }
}
