//! Level contents: the monsters and treasure placed when a level is generated, extra
//! monsters for benchmarks, and where players appear.

use super::alloc;
use crate::content::{roll_item, roll_monster};
use crate::entity::{GroundItem, Monster};
use crate::gen::Level;
use crate::map::{RoomKind, TileMap};
use crate::rng::Stream;
use crate::units::Vec2;
use crate::world::World;

/// Where the player of `slot` appears: a walkable tile near the spawn, spread by slot so
/// players do not all stand on the stairs.
pub(crate) fn spawn_position(level: &Level, slot: usize) -> Vec2 {
    let (sx, sy) = level.spawn;
    const OFFSETS: [(i32, i32); 9] = [
        (0, 0),
        (1, 0),
        (-1, 0),
        (0, 1),
        (0, -1),
        (1, 1),
        (-1, -1),
        (1, -1),
        (-1, 1),
    ];
    let (dx, dy) = OFFSETS[slot.checked_rem(OFFSETS.len()).unwrap_or(0)];
    let (x, y) = (sx.saturating_add(dx), sy.saturating_add(dy));
    if level.map.is_walkable(x, y) {
        Vec2::tile_centre(x, y)
    } else {
        Vec2::tile_centre(sx, sy)
    }
}

/// Our choice (balance, issue 24): at depth 1 monsters are placed at least 12 tiles
/// (straight line) from the spawn tile where their room allows it, so a new player has a
/// few seconds to look around before the first fight; the quiet ring shrinks by 3 tiles a
/// depth (none from depth 5), so deeper starts are hotter. A room lying wholly inside the
/// ring still gets its 1 to 3 monsters (GAME_RULES.md), as far as the room allows.
pub const SAFE_SPAWN_RADIUS: i32 = 12;
pub const SAFE_SPAWN_SHRINK_PER_DEPTH: i32 = 3;

/// The quiet ring's radius at `depth` (tiles).
pub fn safe_spawn_radius(depth: u32) -> i32 {
    let below = depth.saturating_sub(1).min(100) as i32;
    SAFE_SPAWN_RADIUS
        .saturating_sub(below.saturating_mul(SAFE_SPAWN_SHRINK_PER_DEPTH))
        .max(0)
}

/// A random walkable tile of `rect` (8 tries), for placing monsters and items.
fn random_tile_in(map: &TileMap, rng: &mut Stream, r: &crate::map::Rect) -> Option<Vec2> {
    random_tile_avoiding(map, rng, r, None, None)
}

/// A random walkable tile of `rect` outside `avoid` and farther than the radius from the
/// spawn tile of `spawn` (8 tries); if those all miss (a cave area that is mostly rock, a
/// room near the spawn), the first tile in row order outside `avoid` and the radius, else
/// the tile outside `avoid` farthest from the spawn, so a room never goes without its
/// monsters (or a boss room without its boss). The scans draw nothing.
#[allow(
    clippy::arithmetic_side_effects,
    reason = "tile coordinates of a map of at most 1024 tiles a side: squares below 2^22"
)]
fn random_tile_avoiding(
    map: &TileMap,
    rng: &mut Stream,
    r: &crate::map::Rect,
    avoid: Option<&crate::map::Rect>,
    spawn: Option<((i32, i32), i32)>,
) -> Option<Vec2> {
    let ok = |x: i32, y: i32| map.is_walkable(x, y) && !avoid.is_some_and(|a| a.contains(x, y));
    let far = |x: i32, y: i32| {
        spawn.is_none_or(|((sx, sy), radius)| (x - sx).pow(2) + (y - sy).pow(2) > radius * radius)
    };
    for _ in 0..8 {
        let x = rng.range(r.x, r.x_end().saturating_sub(1));
        let y = rng.range(r.y, r.y_end().saturating_sub(1));
        if ok(x, y) && far(x, y) {
            return Some(Vec2::tile_centre(x, y));
        }
    }
    let tiles = || (r.y..r.y_end()).flat_map(|y| (r.x..r.x_end()).map(move |x| (x, y)));
    let fallback = match spawn {
        // Inside the ring: the room's tile farthest from the spawn (the first in row
        // order among equals), so the monster starts as far away as the room allows.
        Some(((sx, sy), _)) => tiles()
            .filter(|&(x, y)| ok(x, y))
            .max_by_key(|&(x, y)| ((x - sx).pow(2) + (y - sy).pow(2), std::cmp::Reverse((y, x)))),
        None => tiles().find(|&(x, y)| ok(x, y)),
    };
    tiles()
        .find(|&(x, y)| ok(x, y) && far(x, y))
        .or(fallback)
        .map(|(x, y)| Vec2::tile_centre(x, y))
}

impl World {
    /// Places the level's monsters and treasure (at `World::new` and after descending):
    /// 1 to 3 monsters in every room but the spawn room, the boss alone in the boss room,
    /// 1 to 2 items in each treasure room. Draws from the spawn stream only.
    pub(crate) fn populate(&mut self) {
        let st = &mut self.state;
        let genre = st.config.genre;
        let (depth, diff) = (st.config.depth, st.config.difficulty_permille);
        for i in 0..st.level.rooms.len() {
            let room = st.level.rooms[i];
            let rng = &mut st.streams.spawn;
            let (count, boss) = match room.kind {
                RoomKind::Spawn => continue,
                RoomKind::Boss => (1, true),
                _ => (rng.range(1, 3), false),
            };
            for _ in 0..count {
                let spec = roll_monster(rng, genre, depth, diff, boss);
                // Room-less generators' areas may overlap the spawn area: keep monsters out.
                let spawn_area = st
                    .level
                    .rooms
                    .first()
                    .filter(|r| r.kind == RoomKind::Spawn)
                    .map(|r| r.rect);
                if let Some(pos) = random_tile_avoiding(
                    &st.level.map,
                    rng,
                    &room.rect,
                    spawn_area.as_ref(),
                    Some((st.level.spawn, safe_spawn_radius(depth))),
                ) {
                    let id = alloc(&mut st.next_entity);
                    st.monsters.push(Monster::from_spec(id, &spec, pos));
                }
            }
            if room.kind == RoomKind::Treasure {
                for _ in 0..rng.range(1, 2) {
                    let item = roll_item(rng, genre, depth, diff);
                    if let Some(pos) = random_tile_in(&st.level.map, rng, &room.rect) {
                        let id = alloc(&mut st.next_entity);
                        st.ground_items.push(GroundItem { id, pos, item });
                    }
                }
            }
        }
    }

    /// Spawns `n` extra regular monsters on random walkable tiles (for benchmarks and
    /// stress tests). It changes the state like a command would: every peer must call it
    /// identically. Returns how many were placed.
    pub fn spawn_extra_monsters(&mut self, n: u32) -> u32 {
        let st = &mut self.state;
        let (w, h) = (st.level.map.width() as i32, st.level.map.height() as i32);
        let area = crate::map::Rect { x: 0, y: 0, w, h };
        let mut placed = 0u32;
        for _ in 0..n {
            let rng = &mut st.streams.spawn;
            let spec = roll_monster(
                rng,
                st.config.genre,
                st.config.depth,
                st.config.difficulty_permille,
                false,
            );
            let pos = (0..4).find_map(|_| random_tile_in(&st.level.map, rng, &area));
            if let Some(pos) = pos {
                let id = alloc(&mut st.next_entity);
                st.monsters.push(Monster::from_spec(id, &spec, pos));
                placed = placed.saturating_add(1);
            }
        }
        placed
    }
}
