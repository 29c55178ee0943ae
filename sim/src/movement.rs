//! Moving a body through the tile grid: axis-separated moves with sliding along walls and
//! sub-steps no longer than half a tile, so nothing tunnels through a wall at any tick rate.

use crate::map::TileMap;
use crate::units::{Vec2, SUB};

/// Half the side of a creature's collision box (10 px of the original's 32 px tiles).
pub const BODY_HALF: i32 = crate::units::px(10);
/// Longest sub-step: well under one tile minus the body, so a step can never skip a tile.
const MAX_SUBSTEP: i32 = SUB / 2;

/// True when a box of half-size `half` centred at `p` overlaps any non-walkable tile.
pub fn blocked(map: &TileMap, p: Vec2, half: i32) -> bool {
    let (x0, y0) = Vec2::new(p.x.saturating_sub(half), p.y.saturating_sub(half)).tile();
    let (x1, y1) = Vec2::new(p.x.saturating_add(half), p.y.saturating_add(half)).tile();
    for ty in y0..=y1 {
        for tx in x0..=x1 {
            if !map.is_walkable(tx, ty) {
                return true;
            }
        }
    }
    false
}

/// Moves a body from `pos` by `delta`, stopping flush against walls on each axis
/// independently (so a diagonal push along a wall slides). Returns the new position.
pub fn move_body(map: &TileMap, pos: Vec2, delta: Vec2, half: i32) -> Vec2 {
    let steps = delta
        .x
        .unsigned_abs()
        .max(delta.y.unsigned_abs())
        .div_ceil(MAX_SUBSTEP as u32)
        .max(1) as i32;
    let mut p = pos;
    let mut done = Vec2::ZERO;
    for i in 1..=steps {
        // Integer interpolation keeps the total exactly `delta` without accumulating error.
        // `steps` is at least 1 (see above), and |target| <= |delta| fits in i32.
        let part = |v: i32| {
            (v as i64)
                .saturating_mul(i as i64)
                .checked_div(steps as i64)
                .unwrap_or(0) as i32
        };
        let target = Vec2::new(part(delta.x), part(delta.y));
        let step = Vec2::new(
            target.x.saturating_sub(done.x),
            target.y.saturating_sub(done.y),
        );
        done = target;
        p.x = move_axis(map, p, step.x, half, true);
        p.y = move_axis(map, p, step.y, half, false);
    }
    p
}

fn move_axis(map: &TileMap, p: Vec2, d: i32, half: i32, horizontal: bool) -> i32 {
    let (from, other) = if horizontal { (p.x, p.y) } else { (p.y, p.x) };
    if d == 0 {
        return from;
    }
    let to = from.saturating_add(d);
    let at = |c: i32| {
        if horizontal {
            Vec2::new(c, other)
        } else {
            Vec2::new(other, c)
        }
    };
    if !blocked(map, at(to), half) {
        return to;
    }
    // The leading edge entered a blocked tile column/row: stop flush against it. The
    // sub-step is shorter than a tile, so the blocking tile is the one the edge entered.
    let edge = if d > 0 {
        to.saturating_add(half)
    } else {
        to.saturating_sub(half)
    };
    let tile = edge.div_euclid(SUB);
    let flush = if d > 0 {
        tile.saturating_mul(SUB)
            .saturating_sub(half)
            .saturating_sub(1)
    } else {
        tile.saturating_add(1)
            .saturating_mul(SUB)
            .saturating_add(half)
    };
    // Never move backwards (can only happen if we started overlapping a wall).
    if d > 0 {
        flush.max(from).min(to)
    } else {
        flush.min(from).max(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::Tile;

    fn corridor() -> TileMap {
        let mut m = TileMap::new(20, 20, Tile::Wall);
        for x in 1..19 {
            m.set(x, 5, Tile::Floor);
        }
        m
    }

    #[test]
    fn stops_flush_against_wall() {
        let m = corridor();
        let p = move_body(
            &m,
            Vec2::tile_centre(2, 5),
            Vec2::new(100 * SUB, 0),
            BODY_HALF,
        );
        assert_eq!(p.x, 19 * SUB - BODY_HALF - 1);
        assert!(!blocked(&m, p, BODY_HALF));
        let p = move_body(
            &m,
            Vec2::tile_centre(2, 5),
            Vec2::new(-100 * SUB, 0),
            BODY_HALF,
        );
        assert_eq!(p.x, SUB + BODY_HALF);
    }

    #[test]
    fn slides_along_walls() {
        let m = corridor();
        let start = Vec2::tile_centre(5, 5);
        let p = move_body(&m, start, Vec2::new(300, 300), BODY_HALF);
        assert_eq!(p.x, start.x + 300);
        assert_eq!(p.y, 6 * SUB - BODY_HALF - 1);
    }

    #[test]
    fn never_tunnels_through_a_thin_wall() {
        let mut m = TileMap::new(20, 20, Tile::Floor);
        for y in 0..20 {
            m.set(10, y, Tile::Wall);
        }
        for speed in [1, 50, 127, 128, 255, 256, 1000, 1600, 5000] {
            let mut p = Vec2::tile_centre(8, 8);
            for _ in 0..50 {
                p = move_body(&m, p, Vec2::new(speed, speed / 3), BODY_HALF);
                assert!(p.x < 10 * SUB, "speed {speed} tunnelled to {p:?}");
                assert!(!blocked(&m, p, BODY_HALF));
            }
        }
    }
}
