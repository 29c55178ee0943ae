//! Glyphs and colours: per genre for tiles, per kind and rarity for things on the map.
//! Colours are 256-colour palette indices; in monochrome every style is colourless and
//! the few things that must stand out use bold and reverse.

use ratatui::style::{Color, Modifier, Style};
use venture_sim::content::{ItemKind, Rarity};
use venture_sim::{Genre, Tile};

use crate::client::tui::view::ColorMode;

/// A style that respects the colour mode: `fg` (a palette index) only with colours.
pub fn fg(mode: ColorMode, index: u8) -> Style {
    match mode {
        ColorMode::Indexed => Style::default().fg(Color::Indexed(index)),
        ColorMode::Mono => Style::default(),
    }
}

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

/// The player the view follows: always visible, also in monochrome.
pub fn me(mode: ColorMode) -> Style {
    fg(mode, 226).add_modifier(Modifier::BOLD | Modifier::REVERSED)
}

pub fn other_player(mode: ColorMode) -> Style {
    fg(mode, 51).add_modifier(Modifier::BOLD)
}

pub fn boss(mode: ColorMode) -> Style {
    fg(mode, 196).add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
}
