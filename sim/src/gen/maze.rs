//! Maze by recursive backtracking (GAME_RULES.md: room chance 0.1, corridor width 1).
//!
//! Cells sit on odd coordinates; the backtracker runs with an explicit stack (no recursion,
//! so 1024x1024 is safe) and knocks out the wall between a cell and a random unvisited
//! neighbour. Then the map is cut into sectors of `SECTOR` x `SECTOR` cells and each sector
//! gets a room with the rules' 10% chance; rooms are carved over the maze (so they open onto
//! its corridors) and become the level's content areas.

use super::common::Draft;
use super::{GeneratorKind, Level};
use crate::map::{Rect, Tile, TileMap};
use crate::rng::Stream;

/// GAME_RULES.md: room chance 0.1 (per sector of the maze).
pub const ROOM_PERMILLE: u32 = 100;
/// GAME_RULES.md: corridor width 1.
pub const CORRIDOR_WIDTH: i32 = 1;
/// Our choice: a sector is 6x6 cells (13x13 tiles); each may hold one room.
const SECTOR: i32 = 6;
/// Our choice: room sides in cells (a room of k cells is 2k-1 tiles wide).
const ROOM_CELLS: (i32, i32) = (2, 4);

pub fn generate(rng: &mut Stream, width: u16, height: u16) -> Level {
    super::drafted(rng, width, height, draft)
}

/// The unfinished map (used directly by the composite generator).
pub(crate) fn draft(rng: &mut Stream, width: u16, height: u16) -> Draft {
    let (w, h) = (width as i32, height as i32);
    let mut map = TileMap::new(width, height, Tile::Wall);
    // Cell (cx, cy) is tile (2cx+1, 2cy+1); the last cell's tile stays inside the border.
    let (cw, ch) = ((w - 1) / 2, (h - 1) / 2);
    let cell_tile = |cx: i32, cy: i32| (2 * cx + 1, 2 * cy + 1);
    let mut visited = vec![false; (cw * ch) as usize];
    let start = (rng.below(cw as u32) as i32, rng.below(ch as u32) as i32);
    let mut stack = vec![start];
    visited[(start.1 * cw + start.0) as usize] = true;
    let p = cell_tile(start.0, start.1);
    map.set(p.0, p.1, Tile::Corridor);
    while let Some(&(cx, cy)) = stack.last() {
        let mut options = [(0, 0); 4];
        let mut n = 0;
        for (dx, dy) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
            let (nx, ny) = (cx + dx, cy + dy);
            if nx >= 0 && ny >= 0 && nx < cw && ny < ch && !visited[(ny * cw + nx) as usize] {
                options[n] = (nx, ny);
                n += 1;
            }
        }
        if n == 0 {
            stack.pop();
            continue;
        }
        let (nx, ny) = options[rng.below(n as u32) as usize];
        visited[(ny * cw + nx) as usize] = true;
        let (ax, ay) = cell_tile(cx, cy);
        let (bx, by) = cell_tile(nx, ny);
        map.set((ax + bx) / 2, (ay + by) / 2, Tile::Corridor);
        map.set(bx, by, Tile::Corridor);
        stack.push((nx, ny));
    }

    // Rooms: one roll per sector.
    let mut areas = Vec::new();
    let mut sy = 0;
    while sy < ch {
        let mut sx = 0;
        while sx < cw {
            if rng.chance(ROOM_PERMILLE) {
                let rw = rng.range(ROOM_CELLS.0, ROOM_CELLS.1).min(cw - sx);
                let rh = rng.range(ROOM_CELLS.0, ROOM_CELLS.1).min(ch - sy);
                let ox = sx + rng.range(0, (SECTOR - rw).min(cw - sx - rw).max(0));
                let oy = sy + rng.range(0, (SECTOR - rh).min(ch - sy - rh).max(0));
                let (x0, y0) = cell_tile(ox, oy);
                let rect = Rect {
                    x: x0,
                    y: y0,
                    w: 2 * rw - 1,
                    h: 2 * rh - 1,
                };
                for y in rect.y..rect.y + rect.h {
                    for x in rect.x..rect.x + rect.w {
                        map.set(x, y, Tile::Floor);
                    }
                }
                areas.push(rect);
            }
            sx += SECTOR;
        }
        sy += SECTOR;
    }
    debug_assert_eq!(CORRIDOR_WIDTH, 1);
    Draft {
        generator: GeneratorKind::Maze,
        map,
        spawn_hint: (1, 1),
        areas,
        carve: Tile::Corridor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    /// crc32 of the map bytes, seed 12345, 100x100 (pinned: a change here changes worlds).
    const GOLDEN: u32 = 3284955863;
    use crate::gen::common::{golden, run_suite};

    #[test]
    fn mazes_satisfy_the_rules() {
        run_suite(generate, "maze");
    }

    #[test]
    fn maze_golden() {
        assert_eq!(golden(generate), GOLDEN);
    }

    #[test]
    fn maze_is_a_maze() {
        let l = generate(&mut Stream::new(3, crate::rng::Purpose::Terrain), 101, 101);
        // A perfect maze on 50x50 cells opens 2*2500-1 tiles, plus rooms.
        assert!(l.map.walkable_count() >= 4999, "{}", l.map.walkable_count());
        // No walkable 2x2 block outside rooms: corridors are one tile wide.
        let m = &l.map;
        for y in 1..100 {
            for x in 1..100 {
                let block = [(x, y), (x + 1, y), (x, y + 1), (x + 1, y + 1)];
                let open = block.iter().all(|&(a, b)| m.is_walkable(a, b));
                let in_room = block
                    .iter()
                    .any(|&(a, b)| l.rooms.iter().any(|r| r.rect.contains(a, b)));
                // A maze room holding the exit is not listed (the exit area replaces it).
                let near_exit = (x - l.exit.0).abs() <= 7 && (y - l.exit.1).abs() <= 7;
                assert!(!open || in_room || near_exit, "2x2 open at {x},{y}");
            }
        }
    }
}
