//! The look both clients share: a glyph and a colour for each tile per genre, colours per
//! item rarity, item glyphs, and the camera that keeps the followed player centred. Colours
//! are xterm 256-colour palette indices (what the terminal draws); [`rgb`] gives the same
//! colour for a browser canvas.

use venture_sim::content::{ItemKind, Rarity};
use venture_sim::{Genre, Tile};

/// The glyph and colour of a tile in a genre.
pub fn tile(genre: Genre, t: Tile) -> (char, u8) {
    use Genre::*;
    // Walls and floors carry the genre's look; the rest is shared so that stairs, water
    // and hazards read the same everywhere.
    let (wall, wall_c, floor, floor_c) = match genre {
        Fantasy => ('#', 137, '.', 242),
        Scifi => ('#', 67, '.', 239),
        Horror => ('#', 95, '.', 237),
        Cyberpunk => ('#', 129, '.', 238),
        Postapoc => ('#', 136, '.', 240),
    };
    match t {
        Tile::Wall => (wall, wall_c),
        Tile::Floor => (floor, floor_c),
        Tile::Corridor => (
            match genre {
                Scifi | Cyberpunk => ':',
                _ => ',',
            },
            floor_c,
        ),
        Tile::Door => ('+', 130),
        Tile::ShallowWater => ('~', 38),
        Tile::DeepWater => ('~', 25),
        Tile::Tree => (
            match genre {
                Scifi | Cyberpunk => '|',
                Postapoc => '\'',
                _ => 'T',
            },
            match genre {
                Horror => 58,
                Postapoc => 101,
                _ => 28,
            },
        ),
        Tile::StairsUp => ('<', 250),
        Tile::StairsDown => ('>', 226),
        Tile::TrapDoor => ('^', 160),
        Tile::SecretDoor => (wall, wall_c),
        Tile::Bridge => ('=', 94),
        Tile::Lava => ('~', 202),
        Tile::Pit => (' ', 0),
    }
}

pub fn rarity_color(r: Rarity) -> u8 {
    match r {
        Rarity::Common => 252,
        Rarity::Uncommon => 77,
        Rarity::Rare => 75,
        Rarity::Epic => 171,
        Rarity::Legendary => 214,
    }
}

pub fn item_glyph(kind: ItemKind) -> char {
    match kind {
        ItemKind::Weapon => ')',
        ItemKind::Armor => '[',
        ItemKind::Consumable => '!',
        ItemKind::Accessory => '"',
    }
}

/// The map tile shown in the viewport's top-left cell: the followed player centred,
/// clamped so the viewport never shows past an edge (a map smaller than the viewport is
/// centred instead).
pub fn camera(map_w: i32, map_h: i32, centre: (i32, i32), view_w: i32, view_h: i32) -> (i32, i32) {
    let axis = |map: i32, c: i32, view: i32| {
        if map <= view {
            -((view - map) / 2)
        } else {
            (c - view / 2).clamp(0, map - view)
        }
    };
    (axis(map_w, centre.0, view_w), axis(map_h, centre.1, view_h))
}

/// The RGB value of xterm 256-colour palette index `i` (the 16 system colours as xterm's
/// defaults, the 6x6x6 cube, the grey ramp).
pub fn rgb(i: u8) -> (u8, u8, u8) {
    const SYSTEM: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    match i {
        0..=15 => SYSTEM[i as usize],
        16..=231 => {
            let n = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(n / 36), level((n / 6) % 6), level(n % 6))
        }
        _ => {
            let g = 8 + (i - 232) * 10;
            (g, g, g)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xterm_palette_corners() {
        assert_eq!(rgb(16), (0, 0, 0));
        assert_eq!(rgb(231), (255, 255, 255));
        assert_eq!(rgb(196), (255, 0, 0));
        assert_eq!(rgb(232), (8, 8, 8));
        assert_eq!(rgb(255), (238, 238, 238));
    }

    #[test]
    fn camera_centres_and_clamps() {
        assert_eq!(camera(100, 100, (50, 50), 20, 10), (40, 45));
        assert_eq!(camera(100, 100, (2, 2), 20, 10), (0, 0));
        assert_eq!(camera(10, 10, (5, 5), 20, 10), (-5, 0));
    }
}
