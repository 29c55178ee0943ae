//! Terminal styles over the shared palette (`venture_play::palette`: glyphs and colours per
//! genre for tiles, per kind and rarity for things on the map). Colours are 256-colour palette indices; in monochrome every style is colourless and
//! the few things that must stand out use bold and reverse.

use ratatui::style::{Color, Modifier, Style};
pub use venture_play::palette::{item_glyph, rarity_color, tile};
use venture_play::view::ColorMode;

/// A style that respects the colour mode: `fg` (a palette index) only with colours.
pub fn fg(mode: ColorMode, index: u8) -> Style {
    match mode {
        ColorMode::Indexed => Style::default().fg(Color::Indexed(index)),
        ColorMode::Mono => Style::default(),
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
