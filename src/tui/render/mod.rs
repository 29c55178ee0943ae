//! The renderer: a pure function of (`&World`, [`ViewState`], area) into a ratatui
//! [`Buffer`]. It knows nothing of the network, so the spectator view and
//! `venture-replay play` can draw with it too: give it a world and a
//! `ViewState::following(slot)`.
//!
//! Layout: the map viewport (left), the sidebar (right), the message log (below), one
//! bottom line (key hints, a notice, or the network figures). Below [`MIN_WIDTH`] x
//! [`MIN_HEIGHT`] only a "make the window larger" message is drawn.

pub mod hud;
pub mod map;
pub mod overlay;
pub mod screens;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use venture_sim::World;

use venture_play::view::ViewState;

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 20;
const SIDEBAR_WIDTH: u16 = 30;

/// Where each part goes on a screen of `area`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub map: Rect,
    pub sidebar: Rect,
    pub log: Rect,
    pub bottom: Rect,
}

impl Layout {
    /// None when `area` is below the minimum size.
    pub fn of(area: Rect) -> Option<Layout> {
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            return None;
        }
        let side = SIDEBAR_WIDTH.min(area.width / 3);
        let log_h = (area.height / 4).clamp(4, 10);
        let top_h = area.height - log_h - 1;
        Some(Layout {
            map: Rect::new(area.x, area.y, area.width - side, top_h),
            sidebar: Rect::new(area.x + area.width - side, area.y, side, top_h),
            log: Rect::new(area.x, area.y + top_h, area.width, log_h),
            bottom: Rect::new(area.x, area.y + area.height - 1, area.width, 1),
        })
    }
}

/// Draws the whole game screen for `world` as `view` sees it into `buf` over `area`.
pub fn render(world: &World, view: &ViewState, area: Rect, buf: &mut Buffer) {
    let Some(layout) = Layout::of(area) else {
        screens::too_small(area, buf);
        return;
    };
    map::draw(world, view, layout.map, buf);
    hud::draw_sidebar(world, view, layout.sidebar, buf);
    hud::draw_log(view, layout.log, buf);
    hud::draw_bottom(world, view, layout.bottom, buf);
    overlay::draw(world, view, layout.map, buf);
}

/// The text of a buffer, one line per row (trailing spaces trimmed): for tests and for
/// comparing with what tmux shows.
pub fn buffer_text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.y..area.y + area.height {
        let mut line = String::new();
        for x in area.x..area.x + area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
