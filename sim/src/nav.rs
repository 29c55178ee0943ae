//! Path finding for many monsters at once: a flow field (breadth-first distances over
//! walkable tiles from every living player), recomputed on a fixed tick schedule.
//!
//! The field is derived data. The state stores only the goals it was built from
//! (`NavGoals`); the field itself is a cache outside the state that is rebuilt from those
//! goals whenever it is missing or stale, so snapshots stay small and a restored world
//! steers exactly as the original did.

use crate::map::TileMap;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Distance value for tiles the field did not reach.
pub const UNREACHED: u16 = u16::MAX;
/// How far (in tile steps) the field spreads from the players; monsters give up the chase
/// at 15 tiles from home, so 32 steps covers every chase with margin and bounds the cost.
pub const MAX_FIELD_STEPS: u16 = 32;

/// The player tiles a field is built from, recorded in the state when the field is due.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NavGoals {
    pub tiles: Vec<(i32, i32)>,
}

#[derive(Clone, Debug, Default)]
pub struct FlowField {
    built_from: Option<NavGoals>,
    width: i32,
    dist: Vec<u16>,
}

impl FlowField {
    /// Makes sure the field matches `goals`, rebuilding it if not.
    pub fn ensure(&mut self, map: &TileMap, goals: &NavGoals) {
        if self.built_from.as_ref() == Some(goals) && self.dist.len() == map.tiles().len() {
            return;
        }
        self.build(map, goals);
    }

    fn build(&mut self, map: &TileMap, goals: &NavGoals) {
        let w = map.width() as i32;
        self.width = w;
        self.dist.clear();
        self.dist.resize(map.tiles().len(), UNREACHED);
        let mut queue = VecDeque::new();
        for &(x, y) in &goals.tiles {
            if map.is_walkable(x, y) {
                let i = index(w, x, y);
                if self.dist[i] != 0 {
                    self.dist[i] = 0;
                    queue.push_back((x, y));
                }
            }
        }
        while let Some((x, y)) = queue.pop_front() {
            let d = self.dist[index(w, x, y)];
            if d >= MAX_FIELD_STEPS {
                continue;
            }
            for (nx, ny) in neighbours(x, y) {
                if map.is_walkable(nx, ny) {
                    let n = index(w, nx, ny);
                    if self.dist[n] == UNREACHED {
                        self.dist[n] = d.saturating_add(1);
                        queue.push_back((nx, ny));
                    }
                }
            }
        }
        self.built_from = Some(goals.clone());
    }

    /// Steps from (x, y) to the nearest goal; UNREACHED when out of range.
    pub fn distance(&self, x: i32, y: i32) -> u16 {
        if x < 0 || y < 0 || x >= self.width {
            return UNREACHED;
        }
        self.dist
            .get(index(self.width, x, y))
            .copied()
            .unwrap_or(UNREACHED)
    }

    /// The neighbouring tile that leads closer to a player (fixed neighbour order breaks
    /// ties), or None when (x, y) is unreached or already at a goal.
    pub fn next_step(&self, x: i32, y: i32) -> Option<(i32, i32)> {
        let here = self.distance(x, y);
        if here == UNREACHED || here == 0 {
            return None;
        }
        neighbours(x, y)
            .into_iter()
            .filter(|&(nx, ny)| self.distance(nx, ny) < here)
            .min_by_key(|&(nx, ny)| self.distance(nx, ny))
    }
}

/// Row-major index of tile (x, y) in a field `w` wide. Callers pass in-map tiles (walkable
/// or bounds-checked); outside the map the index saturates far past the field's end.
fn index(w: i32, x: i32, y: i32) -> usize {
    y.saturating_mul(w).saturating_add(x) as usize
}

/// The 4-neighbours in the fixed order east, west, south, north (ties break by it).
fn neighbours(x: i32, y: i32) -> [(i32, i32); 4] {
    [
        (x.saturating_add(1), y),
        (x.saturating_sub(1), y),
        (x, y.saturating_add(1)),
        (x, y.saturating_sub(1)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::Tile;

    #[test]
    fn field_leads_around_walls() {
        let mut m = TileMap::new(20, 20, Tile::Floor);
        for y in 0..8 {
            m.set(10, y, Tile::Wall);
        }
        let mut f = FlowField::default();
        f.ensure(
            &m,
            &NavGoals {
                tiles: vec![(15, 2)],
            },
        );
        let (mut x, mut y) = (5, 2);
        let mut steps = 0;
        while let Some(n) = f.next_step(x, y) {
            (x, y) = n;
            assert!(m.is_walkable(x, y));
            steps += 1;
            assert!(steps < 100);
        }
        assert_eq!((x, y), (15, 2));
        assert_eq!(steps as u16, 10 + 2 * 6);
    }

    #[test]
    fn range_is_bounded() {
        let m = TileMap::new(100, 20, Tile::Floor);
        let mut f = FlowField::default();
        f.ensure(
            &m,
            &NavGoals {
                tiles: vec![(0, 0)],
            },
        );
        assert_eq!(f.distance(MAX_FIELD_STEPS as i32, 0), MAX_FIELD_STEPS);
        assert_eq!(f.distance(MAX_FIELD_STEPS as i32 + 1, 0), UNREACHED);
    }
}
