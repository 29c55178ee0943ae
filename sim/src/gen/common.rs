//! Shared finishing pass for the room-less generators (caves, maze, forest, city,
//! composite): solid border, spawn placement, a connectivity pass that joins every walkable
//! region to the spawn's, the exit on the walkable tile farthest from the spawn, and the
//! synthesised content areas (Spawn first, Exit last, a Boss area before the exit, and
//! Normal/Treasure/Trap areas in between).
//!
//! All integer, no hashing, every random draw from the caller's [`Stream`].

use super::{GeneratorKind, Level};
use crate::map::{Rect, Room, RoomKind, Tile, TileMap};
use crate::rng::Stream;
use std::collections::VecDeque;

/// Same proportions as the BSP rooms (GAME_RULES.md: ~30% treasure, ~25% trap rooms).
const TREASURE_PERMILLE: u32 = 300;
const TRAP_PERMILLE: u32 = 250;
/// Our choice: half-side of a synthesised area (a 5x5 square around its point).
const AREA_RADIUS: i32 = 2;
/// Our choice: at least this many content areas between spawn and exit (Boss included).
const MIN_AREAS: usize = 4;
/// Our choice: at most this many content areas, so 1024x1024 maps stay bounded.
const MAX_AREAS: usize = 48;
/// Our choice: one extra synthesised area per this many walkable tiles (before the caps).
const TILES_PER_AREA: usize = 1500;

/// The tile a connection tunnel leaves where it passes through `t`.
fn carved(t: Tile, carve: Tile) -> Tile {
    match t {
        Tile::DeepWater | Tile::Lava | Tile::Pit => Tile::Bridge,
        Tile::Tree => Tile::Floor,
        _ => carve,
    }
}

/// Sets the outer ring of the map to wall.
pub(crate) fn solid_border(map: &mut TileMap) {
    let (w, h) = (map.width() as i32, map.height() as i32);
    for x in 0..w {
        map.set(x, 0, Tile::Wall);
        map.set(x, h - 1, Tile::Wall);
    }
    for y in 0..h {
        map.set(0, y, Tile::Wall);
        map.set(w - 1, y, Tile::Wall);
    }
}

/// Clamps a point into the map's interior (inside the border ring).
pub(crate) fn clamp_interior(map: &TileMap, p: (i32, i32)) -> (i32, i32) {
    (
        p.0.clamp(1, map.width() as i32 - 2),
        p.1.clamp(1, map.height() as i32 - 2),
    )
}

/// The walkable tile nearest to `p` (Manhattan distance, lowest row-major index on ties),
/// or None if nothing is walkable.
pub(crate) fn nearest_walkable(map: &TileMap, p: (i32, i32)) -> Option<(i32, i32)> {
    let w = map.width() as usize;
    let mut best: Option<(i32, usize)> = None;
    for (i, t) in map.tiles().iter().enumerate() {
        if !t.is_walkable() {
            continue;
        }
        let (x, y) = ((i % w) as i32, (i / w) as i32);
        let d = (x - p.0).abs() + (y - p.1).abs();
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, i));
        }
    }
    best.map(|(_, i)| ((i % w) as i32, (i / w) as i32))
}

/// The square of side 2r+1 around `p`, clipped to the interior.
pub(crate) fn rect_around(map: &TileMap, p: (i32, i32), r: i32) -> Rect {
    let (w, h) = (map.width() as i32, map.height() as i32);
    let x0 = (p.0 - r).max(1);
    let y0 = (p.1 - r).max(1);
    let x1 = (p.0 + r).min(w - 2);
    let y1 = (p.1 + r).min(h - 2);
    Rect {
        x: x0,
        y: y0,
        w: (x1 - x0 + 1).max(1),
        h: (y1 - y0 + 1).max(1),
    }
}

/// Joins every walkable region to the one containing `spawn` (which must be walkable and
/// inside the border). A 0-1 breadth-first search from the spawn (walkable steps cost 0,
/// solid steps cost 1, the border is never entered) gives each tile a cheapest way back to
/// the spawn; each unconnected region is tunnelled along that way until it meets connected
/// ground. Returns how many tiles were carved.
pub(crate) fn connect_all(map: &mut TileMap, spawn: (i32, i32), carve: Tile) -> usize {
    let (w, h) = (map.width() as usize, map.height() as usize);
    let n = w * h;
    let start = spawn.1 as usize * w + spawn.0 as usize;
    // Direction to the parent: 0 = none, 1 = +x, 2 = -x, 3 = +y, 4 = -y.
    let mut parent = vec![0u8; n];
    let mut cost = vec![u32::MAX; n];
    let walk: Vec<bool> = map.tiles().iter().map(|t| t.is_walkable()).collect();
    let mut dq = VecDeque::new();
    cost[start] = 0;
    dq.push_back(start);
    while let Some(i) = dq.pop_front() {
        let (x, y) = (i % w, i / w);
        let c = cost[i];
        // (neighbour, direction from the neighbour back to i)
        let mut nbs = [(usize::MAX, 0u8); 4];
        if x + 1 < w - 1 {
            nbs[0] = (i + 1, 2);
        }
        if x > 1 {
            nbs[1] = (i - 1, 1);
        }
        if y + 1 < h - 1 {
            nbs[2] = (i + w, 4);
        }
        if y > 1 {
            nbs[3] = (i - w, 3);
        }
        for (nb, dir) in nbs {
            if nb == usize::MAX {
                continue;
            }
            let step = u32::from(!walk[nb]);
            let nc = c + step;
            if nc < cost[nb] {
                cost[nb] = nc;
                parent[nb] = dir;
                if step == 0 {
                    dq.push_front(nb);
                } else {
                    dq.push_back(nb);
                }
            }
        }
    }
    drop(cost);

    let mut connected = map.reachable_from(spawn.0, spawn.1);
    let mut carved_count = 0;
    let mut stack = Vec::new();
    for idx in 0..n {
        if connected[idx] || !map.tiles()[idx].is_walkable() {
            continue;
        }
        // Tunnel back towards the spawn until connected ground.
        let mut cur = idx;
        while !connected[cur] {
            let (x, y) = ((cur % w) as i32, (cur / w) as i32);
            let t = map.get(x, y);
            if !t.is_walkable() {
                map.set(x, y, carved(t, carve));
                carved_count += 1;
            }
            cur = match parent[cur] {
                1 => cur + 1,
                2 => cur - 1,
                3 => cur + w,
                4 => cur - w,
                // Only the spawn has no parent, and it is connected; guard anyway.
                _ => break,
            };
        }
        // Flood the region, the tunnel and whatever else the tunnel touched.
        connected[idx] = true;
        stack.push(idx);
        while let Some(i) = stack.pop() {
            for nb in map.neighbours4(i) {
                if !connected[nb] && map.tiles()[nb].is_walkable() {
                    connected[nb] = true;
                    stack.push(nb);
                }
            }
        }
    }
    carved_count
}

/// Breadth-first step distances over walkable tiles from `from` (u32::MAX = unreachable).
pub(crate) fn distances(map: &TileMap, from: (i32, i32)) -> Vec<u32> {
    let (w, h) = (map.width() as usize, map.height() as usize);
    let mut dist = vec![u32::MAX; w * h];
    if !map.is_walkable(from.0, from.1) {
        return dist;
    }
    let start = from.1 as usize * w + from.0 as usize;
    dist[start] = 0;
    let mut q = VecDeque::new();
    q.push_back(start);
    while let Some(i) = q.pop_front() {
        for nb in map.neighbours4(i) {
            if dist[nb] == u32::MAX && map.tiles()[nb].is_walkable() {
                dist[nb] = dist[i] + 1;
                q.push_back(nb);
            }
        }
    }
    dist
}

/// Everything the finishing pass needs from a generator.
pub(crate) struct Draft {
    pub generator: GeneratorKind,
    pub map: TileMap,
    /// Where the spawn should be (moved to the nearest walkable tile).
    pub spawn_hint: (i32, i32),
    /// Natural content areas (maze rooms, clearings, buildings, plazas) in generation order.
    pub areas: Vec<Rect>,
    /// The tile connection tunnels leave through walls.
    pub carve: Tile,
}

/// Turns a draft into a level that satisfies every generator guarantee.
pub(crate) fn finish(rng: &mut Stream, draft: Draft) -> Level {
    let Draft {
        generator,
        mut map,
        spawn_hint,
        areas,
        carve,
    } = draft;
    let (w, h) = (map.width() as i32, map.height() as i32);
    solid_border(&mut map);
    // Stairs from sub-generators (composite) are not this level's stairs.
    for y in 0..h {
        for x in 0..w {
            if matches!(map.get(x, y), Tile::StairsUp | Tile::StairsDown) {
                map.set(x, y, Tile::Floor);
            }
        }
    }
    let hint = clamp_interior(&map, spawn_hint);
    let spawn = match nearest_walkable(&map, hint) {
        Some(p) => p,
        None => {
            map.set(hint.0, hint.1, carve);
            hint
        }
    };
    connect_all(&mut map, spawn, carve);

    let mut dist = distances(&map, spawn);
    let wu = w as usize;
    let far = |dist: &[u32]| {
        (0..dist.len())
            .filter(|&i| dist[i] != u32::MAX)
            .max_by_key(|&i| (dist[i], std::cmp::Reverse(i)))
            .unwrap_or(0)
    };
    let mut exit_i = far(&dist);
    if dist[exit_i] == 0 {
        // Only the spawn is walkable: open a neighbour inside the border (the interior is
        // at least 18 wide, so one of the two sides is inside).
        let nx = if spawn.0 < w - 2 {
            spawn.0 + 1
        } else {
            spawn.0 - 1
        };
        map.set(nx, spawn.1, carve);
        dist = distances(&map, spawn);
        exit_i = far(&dist);
    }
    let exit = ((exit_i % wu) as i32, (exit_i / wu) as i32);
    let max_d = dist[exit_i];
    let at = |p: (i32, i32)| dist[p.1 as usize * wu + p.0 as usize];

    // Content areas: natural ones whose centre is reachable and off the stairs.
    let spawn_rect = rect_around(&map, spawn, AREA_RADIUS);
    let exit_rect = rect_around(&map, exit, AREA_RADIUS);
    let mut cands: Vec<Rect> = areas
        .into_iter()
        .filter(|r| {
            let c = clamp_interior(&map, r.centre());
            at(c) != u32::MAX && c != spawn && c != exit && !r.contains(exit.0, exit.1)
        })
        .collect();
    // Boss: the natural area farthest from the spawn, else a synthesised one at about
    // three quarters of the way to the exit.
    let boss = match (0..cands.len()).max_by_key(|&i| {
        (
            at(clamp_interior(&map, cands[i].centre())),
            std::cmp::Reverse(i),
        )
    }) {
        Some(i) if at(clamp_interior(&map, cands[i].centre())) * 2 >= max_d => cands.remove(i),
        _ => {
            let target = max_d / 4 * 3 + (max_d % 4) * 3 / 4;
            let bi = (0..dist.len())
                .filter(|&i| dist[i] != u32::MAX && i != exit_i)
                .min_by_key(|&i| (dist[i].abs_diff(target), i))
                .unwrap_or(exit_i);
            rect_around(&map, ((bi % wu) as i32, (bi / wu) as i32), AREA_RADIUS)
        }
    };
    rng.shuffle(&mut cands);
    let walkable = dist.iter().filter(|&&d| d != u32::MAX).count();
    let wanted = cands
        .len()
        .max(MIN_AREAS - 1)
        .max(walkable / TILES_PER_AREA)
        .min(MAX_AREAS - 1);
    cands.truncate(wanted);
    // Synthesise the rest on random reachable tiles (bounded tries).
    let mut tries = 0;
    while cands.len() < wanted && tries < 64 * wanted {
        tries += 1;
        let p = (rng.range(1, w - 2), rng.range(1, h - 2));
        if at(p) != u32::MAX && at(p) > 0 && p != exit {
            cands.push(rect_around(&map, p, AREA_RADIUS));
        }
    }

    let mut rooms = Vec::with_capacity(cands.len() + 3);
    rooms.push(Room {
        rect: spawn_rect,
        kind: RoomKind::Spawn,
    });
    for rect in cands {
        let kind = if rng.chance(TREASURE_PERMILLE) {
            RoomKind::Treasure
        } else if rng.chance(TRAP_PERMILLE * 1000 / (1000 - TREASURE_PERMILLE)) {
            RoomKind::Trap
        } else {
            RoomKind::Normal
        };
        rooms.push(Room { rect, kind });
    }
    rooms.push(Room {
        rect: boss,
        kind: RoomKind::Boss,
    });
    rooms.push(Room {
        rect: exit_rect,
        kind: RoomKind::Exit,
    });
    // Trap areas get a few trap doors on plain walkable ground (trap doors are walkable, so
    // reachability is unchanged).
    for room in &rooms {
        if room.kind != RoomKind::Trap {
            continue;
        }
        for _ in 0..rng.range(1, 2) {
            let r = room.rect;
            let p = (rng.range(r.x, r.x + r.w - 1), rng.range(r.y, r.y + r.h - 1));
            if matches!(map.get(p.0, p.1), Tile::Floor | Tile::Corridor) {
                map.set(p.0, p.1, Tile::TrapDoor);
            }
        }
    }
    map.set(spawn.0, spawn.1, Tile::StairsUp);
    map.set(exit.0, exit.1, Tile::StairsDown);
    Level {
        generator,
        map,
        rooms,
        spawn,
        exit,
    }
}

/// Test helper: asserts every guarantee a generated level makes.
#[cfg(test)]
pub(crate) fn check_level(level: &Level, what: &str) {
    let m = &level.map;
    let (w, h) = (m.width() as i32, m.height() as i32);
    assert!(m.is_walkable(level.spawn.0, level.spawn.1), "{what}: spawn");
    assert_ne!(level.spawn, level.exit, "{what}: spawn == exit");
    assert_eq!(
        m.get(level.exit.0, level.exit.1),
        Tile::StairsDown,
        "{what}"
    );
    assert_eq!(
        m.walkable_count(),
        m.reachable_count(level.spawn.0, level.spawn.1),
        "{what}: unreachable tiles"
    );
    for x in 0..w {
        assert!(
            !m.is_walkable(x, 0) && !m.is_walkable(x, h - 1),
            "{what}: border"
        );
    }
    for y in 0..h {
        assert!(
            !m.is_walkable(0, y) && !m.is_walkable(w - 1, y),
            "{what}: border"
        );
    }
    assert_eq!(
        level.rooms.first().map(|r| r.kind),
        Some(RoomKind::Spawn),
        "{what}"
    );
    assert_eq!(
        level.rooms.last().map(|r| r.kind),
        Some(RoomKind::Exit),
        "{what}"
    );
    assert!(
        level.rooms.iter().any(|r| r.kind == RoomKind::Boss),
        "{what}: no boss area"
    );
    assert!(level.rooms.len() >= 3, "{what}: too few areas");
    for r in &level.rooms {
        assert!(r.rect.w >= 1 && r.rect.h >= 1, "{what}: empty area");
        assert!(r.rect.x >= 1 && r.rect.y >= 1, "{what}: area on border");
        assert!(r.rect.x + r.rect.w < w && r.rect.y + r.rect.h < h, "{what}");
    }
}

/// Test helper: the sizes every generator is exercised on, with how many seeds each.
#[cfg(test)]
pub(crate) fn run_suite(gen: fn(&mut Stream, u16, u16) -> Level, name: &str) {
    use crate::rng::Purpose;
    let sizes: [(u16, u16, u64); 7] = [
        (100, 100, 200),
        (20, 20, 40),
        (20, 1024, 3),
        (1024, 20, 3),
        (137, 61, 20),
        (21, 23, 20),
        (512, 512, 2),
    ];
    for (w, h, seeds) in sizes {
        for seed in 0..seeds {
            let level = gen(&mut Stream::new(seed, Purpose::Terrain), w, h);
            assert_eq!((level.map.width(), level.map.height()), (w, h));
            check_level(&level, &format!("{name} seed {seed} {w}x{h}"));
        }
    }
}

/// Test helper: crc32 of the map bytes for seed 12345 at 100x100.
#[cfg(test)]
pub(crate) fn golden(gen: fn(&mut Stream, u16, u16) -> Level) -> u32 {
    use crate::rng::Purpose;
    let a = gen(&mut Stream::new(12345, Purpose::Terrain), 100, 100);
    let b = gen(&mut Stream::new(12345, Purpose::Terrain), 100, 100);
    assert_eq!(a, b, "same seed, different level");
    crc32fast::hash(&a.map.as_bytes())
}
