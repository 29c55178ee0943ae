//! The map viewport: tiles around the followed player (clamped at the map's edges), then
//! ground items, monsters, projectiles, explosions and players on top, in that order.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use venture_sim::{Genre, Tile, Vec2, World};

use crate::tui::theme;
use venture_play::text::inert_cut;
use venture_play::view::ViewState;

/// In horror, tiles beyond this many tiles of the followed player stay dark.
const HORROR_SIGHT: i32 = 9;

pub use venture_play::palette::camera;

struct Viewport {
    area: Rect,
    origin: (i32, i32),
}

impl Viewport {
    /// The buffer cell of map tile (tx, ty), if it is on screen.
    fn cell(&self, (tx, ty): (i32, i32)) -> Option<(u16, u16)> {
        let x = tx - self.origin.0;
        let y = ty - self.origin.1;
        (x >= 0 && y >= 0 && x < self.area.width as i32 && y < self.area.height as i32)
            .then(|| (self.area.x + x as u16, self.area.y + y as u16))
    }
}

fn put(buf: &mut Buffer, at: (u16, u16), c: char, style: Style) {
    if let Some(cell) = buf.cell_mut(at) {
        cell.set_char(c).set_style(style);
    }
}

fn borders_walkable(map: &venture_sim::TileMap, x: i32, y: i32) -> bool {
    (-1..=1).any(|dy| (-1..=1).any(|dx| map.is_walkable(x + dx, y + dy)))
}

pub fn draw(world: &World, view: &ViewState, area: Rect, buf: &mut Buffer) {
    let map = world.map();
    let genre = world.config().genre;
    let mode = view.colors;
    let me = world.player(view.follow);
    let centre = view
        .free_camera
        .unwrap_or_else(|| me.map_or(world.level().spawn, |p| p.pos.tile()));
    let vp = Viewport {
        area,
        origin: camera(
            map.width() as i32,
            map.height() as i32,
            centre,
            area.width as i32,
            area.height as i32,
        ),
    };
    let dark = |tx: i32, ty: i32| {
        genre == Genre::Horror
            && me.is_some()
            && (tx - centre.0).abs().max((ty - centre.1).abs()) > HORROR_SIGHT
    };
    for y in 0..area.height {
        for x in 0..area.width {
            let (tx, ty) = (vp.origin.0 + x as i32, vp.origin.1 + y as i32);
            let at = (area.x + x, area.y + y);
            if !map.in_bounds(tx, ty) || dark(tx, ty) {
                put(buf, at, ' ', Style::default());
                continue;
            }
            let tile = map.get(tx, ty);
            if tile == Tile::Wall && !borders_walkable(map, tx, ty) {
                // Solid rock: only walls next to somewhere walkable are drawn, so rooms
                // and corridors stand out instead of drowning in '#'.
                put(buf, at, ' ', Style::default());
                continue;
            }
            let (c, color) = theme::tile(genre, tile);
            let mut style = theme::fg(mode, color);
            if tile == Tile::StairsDown {
                style = style.add_modifier(Modifier::BOLD);
            }
            put(buf, at, c, style);
        }
    }
    let visible = |pos: Vec2| {
        let t = pos.tile();
        if dark(t.0, t.1) {
            None
        } else {
            vp.cell(t)
        }
    };
    for g in world.ground_items() {
        if let Some(at) = visible(g.pos) {
            let style =
                theme::fg(mode, theme::rarity_color(g.item.rarity)).add_modifier(Modifier::BOLD);
            put(buf, at, theme::item_glyph(g.item.kind), style);
        }
    }
    for m in world.monsters() {
        let Some(at) = visible(m.pos) else { continue };
        let tpl = m.template(genre);
        let first = tpl.name.chars().next().unwrap_or('m');
        let (c, mut style) = if tpl.is_boss {
            (first.to_ascii_uppercase(), theme::boss(mode))
        } else {
            (
                first.to_ascii_lowercase(),
                theme::fg(mode, theme::rarity_color(m.rarity)),
            )
        };
        if view.target == Some(m.id) {
            style = style.add_modifier(Modifier::REVERSED);
        }
        put(buf, at, c, style);
    }
    for a in world.allies() {
        if let Some(at) = visible(a.pos) {
            put(
                buf,
                at,
                '&',
                theme::fg(mode, 114).add_modifier(Modifier::BOLD),
            );
        }
    }
    for p in world.projectiles() {
        if let Some(at) = visible(p.pos) {
            let color = if p.radius > 0 { 208 } else { 220 };
            put(
                buf,
                at,
                '*',
                theme::fg(mode, color).add_modifier(Modifier::BOLD),
            );
        }
    }
    for e in &view.explosions {
        let (cx, cy) = e.pos.tile();
        let r = (e.radius + venture_sim::SUB / 2) / venture_sim::SUB;
        for ty in cy - r..=cy + r {
            for tx in cx - r..=cx + r {
                let d2 = (tx - cx).pow(2) + (ty - cy).pow(2);
                if d2 > r * r || !map.in_bounds(tx, ty) || !map.is_walkable(tx, ty) {
                    continue;
                }
                if let Some(at) = vp.cell((tx, ty)) {
                    put(buf, at, '*', theme::fg(mode, 202));
                }
            }
        }
    }
    // Other players first, with their names above them; the followed player last, on top.
    for (slot, p) in world.players() {
        if slot == view.follow {
            continue;
        }
        let Some(at) = visible(p.pos) else { continue };
        let style = if p.alive() {
            theme::other_player(mode)
        } else {
            theme::fg(mode, 244)
        };
        put(buf, at, if p.alive() { '@' } else { '%' }, style);
        if at.1 > area.y {
            let name = inert_cut(&p.name, 16);
            let len = name.chars().count() as u16;
            let start = at.0.saturating_sub(len / 2).max(area.x);
            let end = (area.x + area.width).min(start + len);
            for (i, c) in name.chars().enumerate() {
                let x = start + i as u16;
                if x >= end {
                    break;
                }
                put(buf, (x, at.1 - 1), c, theme::fg(mode, 159));
            }
        }
    }
    if let Some(p) = me {
        if let Some(at) = vp.cell(p.pos.tile()) {
            let c = if p.alive() { '@' } else { '%' };
            put(buf, at, c, theme::me(mode));
        }
    }
}
