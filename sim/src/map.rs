//! The tile grid: tile kinds, the map itself, rooms, and the reachability check that every
//! generator must pass.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One tile of the grid. The discriminants are the wire/snapshot encoding: never reorder.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tile {
    Wall = 0,
    Floor = 1,
    Corridor = 2,
    Door = 3,
    ShallowWater = 4,
    DeepWater = 5,
    Tree = 6,
    StairsUp = 7,
    StairsDown = 8,
    TrapDoor = 9,
    SecretDoor = 10,
    Bridge = 11,
    Lava = 12,
    Pit = 13,
}

impl Tile {
    pub const ALL: [Tile; 14] = [
        Tile::Wall,
        Tile::Floor,
        Tile::Corridor,
        Tile::Door,
        Tile::ShallowWater,
        Tile::DeepWater,
        Tile::Tree,
        Tile::StairsUp,
        Tile::StairsDown,
        Tile::TrapDoor,
        Tile::SecretDoor,
        Tile::Bridge,
        Tile::Lava,
        Tile::Pit,
    ];

    pub fn from_u8(b: u8) -> Option<Tile> {
        Tile::ALL.get(b as usize).copied()
    }

    /// Whether creatures can stand on and walk through this tile. Deep water, trees, lava
    /// and pits block movement (hazards are impassable rather than lethal, so a level can
    /// never strand a player).
    pub const fn is_walkable(self) -> bool {
        matches!(
            self,
            Tile::Floor
                | Tile::Corridor
                | Tile::Door
                | Tile::ShallowWater
                | Tile::StairsUp
                | Tile::StairsDown
                | Tile::TrapDoor
                | Tile::SecretDoor
                | Tile::Bridge
        )
    }

    /// Whether this tile hides what is behind it (walls and trees): ranged attacks need a
    /// clear line.
    pub const fn blocks_sight(self) -> bool {
        matches!(self, Tile::Wall | Tile::Tree)
    }

    /// The ASCII glyph used by `venture-world`.
    pub const fn glyph(self) -> char {
        match self {
            Tile::Wall => '#',
            Tile::Floor => '.',
            Tile::Corridor => ',',
            Tile::Door => '+',
            Tile::ShallowWater => '~',
            Tile::DeepWater => 'W',
            Tile::Tree => 'T',
            Tile::StairsUp => '<',
            Tile::StairsDown => '>',
            Tile::TrapDoor => '^',
            Tile::SecretDoor => '%',
            Tile::Bridge => '=',
            Tile::Lava => 'L',
            Tile::Pit => 'O',
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Tile::Wall => "wall",
            Tile::Floor => "floor",
            Tile::Corridor => "corridor",
            Tile::Door => "door",
            Tile::ShallowWater => "shallow_water",
            Tile::DeepWater => "deep_water",
            Tile::Tree => "tree",
            Tile::StairsUp => "stairs_up",
            Tile::StairsDown => "stairs_down",
            Tile::TrapDoor => "trap_door",
            Tile::SecretDoor => "secret_door",
            Tile::Bridge => "bridge",
            Tile::Lava => "lava",
            Tile::Pit => "pit",
        }
    }
}

/// Smallest and largest map side accepted by generation.
pub const MIN_SIDE: u16 = 20;
pub const MAX_SIDE: u16 = 1024;

/// A width x height grid of tiles, row-major. Out-of-bounds reads are walls, so callers never
/// need to bounds-check before asking whether something blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TileMap {
    width: u16,
    height: u16,
    tiles: Vec<Tile>,
}

impl TileMap {
    pub fn new(width: u16, height: u16, fill: Tile) -> Self {
        TileMap {
            width,
            height,
            tiles: vec![fill; (width as usize).saturating_mul(height as usize)],
        }
    }

    pub fn width(&self) -> u16 {
        self.width
    }

    pub fn height(&self) -> u16 {
        self.height
    }

    pub fn in_bounds(&self, x: i32, y: i32) -> bool {
        x >= 0 && y >= 0 && x < self.width as i32 && y < self.height as i32
    }

    fn index(&self, x: i32, y: i32) -> Option<usize> {
        self.in_bounds(x, y).then(|| {
            (y as usize)
                .saturating_mul(self.width as usize)
                .saturating_add(x as usize)
        })
    }

    pub fn get(&self, x: i32, y: i32) -> Tile {
        self.index(x, y).map_or(Tile::Wall, |i| self.tiles[i])
    }

    /// Sets a tile; writes outside the map are ignored.
    pub fn set(&mut self, x: i32, y: i32, tile: Tile) {
        if let Some(i) = self.index(x, y) {
            self.tiles[i] = tile;
        }
    }

    pub fn is_walkable(&self, x: i32, y: i32) -> bool {
        self.get(x, y).is_walkable()
    }

    /// True when no tile strictly between tiles `a` and `b` blocks sight (Bresenham's
    /// line; the end tiles themselves are where the two stand). Tiles outside the map
    /// block (they read as walls).
    #[allow(
        clippy::arithmetic_side_effects,
        reason = "callers pass tiles of positions inside the map (at most 1024 a side), so \
                  differences and doubled errors stay far inside i32"
    )]
    pub fn clear_line(&self, a: (i32, i32), b: (i32, i32)) -> bool {
        let (dx, dy) = ((b.0 - a.0).abs(), -(b.1 - a.1).abs());
        let (sx, sy) = ((b.0 - a.0).signum(), (b.1 - a.1).signum());
        let (mut x, mut y, mut err) = (a.0, a.1, dx + dy);
        while (x, y) != b {
            if (x, y) != a && self.get(x, y).blocks_sight() {
                return false;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
        true
    }

    pub fn tiles(&self) -> &[Tile] {
        &self.tiles
    }

    /// The tiles as their u8 encoding (for checksums and pictures).
    pub fn as_bytes(&self) -> Vec<u8> {
        self.tiles.iter().map(|&t| t as u8).collect()
    }

    pub fn count(&self, tile: Tile) -> usize {
        self.tiles.iter().filter(|&&t| t == tile).count()
    }

    pub fn walkable_count(&self) -> usize {
        self.tiles.iter().filter(|t| t.is_walkable()).count()
    }

    /// The in-bounds 4-neighbours of tile index `i` (row-major), always in the order east,
    /// west, south, north: generation and flood fills depend on that order for determinism.
    pub fn neighbours4(&self, i: usize) -> impl Iterator<Item = usize> {
        let (w, h) = (self.width as usize, self.height as usize);
        let (x, y) = (i.checked_rem(w).unwrap_or(0), i.checked_div(w).unwrap_or(0));
        // Each neighbour is computed only when it exists (so it stays inside the map).
        [
            (x.saturating_add(1) < w).then(|| i.saturating_add(1)),
            (x > 0).then(|| i.saturating_sub(1)),
            (y.saturating_add(1) < h).then(|| i.saturating_add(w)),
            (y > 0).then(|| i.saturating_sub(w)),
        ]
        .into_iter()
        .flatten()
    }

    /// Breadth-first flood fill over walkable tiles (4-neighbourhood) from (x, y).
    /// Returns one flag per tile, row-major.
    pub fn reachable_from(&self, x: i32, y: i32) -> Vec<bool> {
        let mut seen = vec![false; self.tiles.len()];
        let Some(start) = self.index(x, y) else {
            return seen;
        };
        if !self.tiles[start].is_walkable() {
            return seen;
        }
        let mut queue = std::collections::VecDeque::new();
        seen[start] = true;
        queue.push_back(start);
        while let Some(i) = queue.pop_front() {
            for n in self.neighbours4(i) {
                if !seen[n] && self.tiles[n].is_walkable() {
                    seen[n] = true;
                    queue.push_back(n);
                }
            }
        }
        seen
    }

    /// Number of walkable tiles reachable from (x, y).
    pub fn reachable_count(&self, x: i32, y: i32) -> usize {
        self.reachable_from(x, y).iter().filter(|&&r| r).count()
    }

    /// Turns every walkable tile not reachable from (x, y) into wall, so the map satisfies
    /// the reachability guarantee. Returns how many tiles were filled.
    pub fn fill_unreachable(&mut self, x: i32, y: i32) -> usize {
        let seen = self.reachable_from(x, y);
        let mut filled = 0usize;
        for (tile, reached) in self.tiles.iter_mut().zip(seen) {
            if tile.is_walkable() && !reached {
                *tile = Tile::Wall;
                filled = filled.saturating_add(1);
            }
        }
        filled
    }
}

// The map is serialised as (width, height, bytes) so snapshots and checksums move it as one
// byte string rather than ten thousand enum values; decoding validates every byte.
impl Serialize for TileMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = s.serialize_tuple(3)?;
        t.serialize_element(&self.width)?;
        t.serialize_element(&self.height)?;
        t.serialize_element(&ByteSlice(&self.as_bytes()))?;
        t.end()
    }
}

struct ByteSlice<'a>(&'a [u8]);
impl Serialize for ByteSlice<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

struct ByteBuf(Vec<u8>);
impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("tile bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

impl<'de> Deserialize<'de> for TileMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (width, height, bytes): (u16, u16, ByteBuf) = Deserialize::deserialize(d)?;
        if !(MIN_SIDE..=MAX_SIDE).contains(&width) || !(MIN_SIDE..=MAX_SIDE).contains(&height) {
            return Err(D::Error::custom(format!(
                "map size {width}x{height} out of range"
            )));
        }
        if bytes.0.len() != (width as usize).saturating_mul(height as usize) {
            return Err(D::Error::custom("map byte count does not match its size"));
        }
        let tiles = bytes
            .0
            .iter()
            .map(|&b| Tile::from_u8(b).ok_or_else(|| D::Error::custom(format!("invalid tile {b}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TileMap {
            width,
            height,
            tiles,
        })
    }
}

/// An axis-aligned rectangle of tiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

impl Rect {
    pub const fn centre(&self) -> (i32, i32) {
        (
            self.x.saturating_add(self.w / 2),
            self.y.saturating_add(self.h / 2),
        )
    }

    /// One past the last column.
    pub const fn x_end(&self) -> i32 {
        self.x.saturating_add(self.w)
    }

    /// One past the last row.
    pub const fn y_end(&self) -> i32 {
        self.y.saturating_add(self.h)
    }

    pub const fn contains(&self, x: i32, y: i32) -> bool {
        x >= self.x && y >= self.y && x < self.x_end() && y < self.y_end()
    }

    pub const fn area(&self) -> i32 {
        self.w.saturating_mul(self.h)
    }
}

/// What a room is for; generators assign these and content placement reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoomKind {
    Spawn,
    Normal,
    Treasure,
    Trap,
    Boss,
    Exit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    pub rect: Rect,
    pub kind: RoomKind,
}

#[cfg(test)]
mod tests {

    #[test]
    fn walls_and_trees_block_the_line_of_sight() {
        let mut m = TileMap::new(20, 20, Tile::Floor);
        assert!(m.clear_line((2, 2), (12, 7)));
        assert!(m.clear_line((5, 5), (5, 5)));
        for y in 3..=6 {
            m.set(7, y, Tile::Wall);
        }
        assert!(!m.clear_line((2, 2), (12, 7)));
        assert!(!m.clear_line((12, 7), (2, 2)));
        assert!(
            m.clear_line((2, 2), (2, 12)),
            "a wall beside the line hides nothing"
        );
        m.set(2, 6, Tile::Tree);
        assert!(!m.clear_line((2, 2), (2, 12)));
        m.set(2, 6, Tile::DeepWater);
        assert!(m.clear_line((2, 2), (2, 12)), "water does not hide");
        // The end tiles are where the two stand: they never block.
        assert!(m.clear_line((7, 4), (9, 4)));
        assert!(m.clear_line((5, 4), (7, 4)));
    }

    use super::*;

    #[test]
    fn tile_encoding_round_trips() {
        for t in Tile::ALL {
            assert_eq!(Tile::from_u8(t as u8), Some(t));
        }
        assert_eq!(Tile::from_u8(14), None);
    }

    #[test]
    fn out_of_bounds_is_wall() {
        let m = TileMap::new(20, 20, Tile::Floor);
        assert_eq!(m.get(-1, 0), Tile::Wall);
        assert_eq!(m.get(20, 0), Tile::Wall);
        assert_eq!(m.get(19, 19), Tile::Floor);
    }

    #[test]
    fn flood_fill_finds_islands() {
        let mut m = TileMap::new(20, 20, Tile::Wall);
        for x in 1..5 {
            m.set(x, 1, Tile::Floor);
        }
        m.set(10, 10, Tile::Floor);
        assert_eq!(m.reachable_count(1, 1), 4);
        assert_eq!(m.walkable_count(), 5);
        assert_eq!(m.fill_unreachable(1, 1), 1);
        assert_eq!(m.walkable_count(), 4);
    }

    #[test]
    fn serde_round_trip_and_rejects_bad_bytes() {
        let cfg = bincode::config::standard();
        let mut m = TileMap::new(20, 21, Tile::Wall);
        m.set(3, 4, Tile::Lava);
        let bytes = bincode::serde::encode_to_vec(&m, cfg).unwrap();
        let (back, _): (TileMap, usize) = bincode::serde::decode_from_slice(&bytes, cfg).unwrap();
        assert_eq!(back, m);
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] = 99;
        assert!(bincode::serde::decode_from_slice::<TileMap, _>(&bad, cfg).is_err());
    }
}
