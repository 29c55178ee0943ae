//! The browser's picture of a world: a pure function of (`&World`, `ViewState`, the
//! window's size, the status line) into a list of [`Shape`]s, which `canvas.rs` paints.
//! Kept apart from the canvas so it is tested natively (what is drawn where, that it
//! fits 1280x720 and 1920x1080) and so the paint loop is one pass over a flat list.
//!
//! Layout, like the terminal's: the map (left), the sidebar (right: HP, MP, XP, gold,
//! depth, effects, spells with their cooldowns, the target), the message log (below),
//! one status line at the bottom; help over the map when asked.

use venture_play::inventory;
use venture_play::names::{seconds, status_name};
use venture_play::palette::{self, camera, rgb};
use venture_play::text::{inert, inert_cut, wrap};
use venture_play::view::{LogKind, Overlay, ViewState};
use venture_sim::content::spellbook;
use venture_sim::player::MAX_MANA;
use venture_sim::stats::xp_to_next;
use venture_sim::status::StatusKind;
use venture_sim::{Genre, Tile, World, SUB};

/// An RGB colour.
pub type Rgb = (u8, u8, u8);

/// One thing to paint, in CSS pixels.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        color: Rgb,
    },
    /// A disc, or a ring of width 2 when `ring`.
    Circle {
        x: f64,
        y: f64,
        r: f64,
        color: Rgb,
        ring: bool,
    },
    /// Text with its top-left corner at (x, y), in the monospace font of size `px`.
    Text {
        x: f64,
        y: f64,
        text: String,
        color: Rgb,
        px: f64,
        bold: bool,
    },
}

/// The window's size in CSS pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Size {
    pub w: f64,
    pub h: f64,
}

/// Where each part goes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Layout {
    pub map: (f64, f64, f64, f64),
    pub sidebar: (f64, f64, f64, f64),
    pub log: (f64, f64, f64, f64),
    pub status: (f64, f64, f64, f64),
    /// Font size of the HUD, the log and the status line.
    pub px: f64,
    /// Side of a map tile.
    pub tile: f64,
}

/// The background behind everything.
pub const BACKGROUND: Rgb = (10, 10, 14);

impl Layout {
    pub fn of(size: Size) -> Layout {
        // Text grows with the window: 14 px at 720 lines, 18 at 1080.
        let px = (size.h / 52.0).clamp(12.0, 22.0).round();
        let line = px * 1.25;
        let side = (px * 19.0).min(size.w * 0.4);
        let log_h = (line * 7.0 + 8.0).min(size.h * 0.3);
        let status_h = line + 6.0;
        let top_h = (size.h - log_h - status_h).max(0.0);
        // About 40 tiles across the map at any window size, never below 12 px.
        let tile = ((size.w - side) / 40.0).clamp(12.0, 40.0).floor();
        Layout {
            map: (0.0, 0.0, size.w - side, top_h),
            sidebar: (size.w - side, 0.0, side, top_h),
            log: (0.0, top_h, size.w, log_h),
            status: (0.0, size.h - status_h, size.w, status_h),
            px,
            tile,
        }
    }

    fn line(&self) -> f64 {
        self.px * 1.25
    }
}

/// What to draw besides the world and the view: the status line and a help window.
#[derive(Clone, Debug, Default)]
pub struct Extras {
    pub status: String,
    /// Help lines (key, meaning) drawn over the map, when open.
    pub help: Option<Vec<(String, String)>>,
    /// A line above the status line in a stronger colour (a stop, a desync).
    pub banner: Option<String>,
}

/// A list of shapes with a few helpers.
struct Painter {
    out: Vec<Shape>,
    px: f64,
}

impl Painter {
    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, color: Rgb) {
        self.out.push(Shape::Rect { x, y, w, h, color });
    }
    fn text(&mut self, x: f64, y: f64, text: impl Into<String>, color: Rgb) {
        self.out.push(Shape::Text {
            x,
            y,
            text: text.into(),
            color,
            px: self.px,
            bold: false,
        });
    }
    fn bold(&mut self, x: f64, y: f64, text: impl Into<String>, color: Rgb) {
        self.out.push(Shape::Text {
            x,
            y,
            text: text.into(),
            color,
            px: self.px,
            bold: true,
        });
    }
    fn circle(&mut self, x: f64, y: f64, r: f64, color: Rgb, ring: bool) {
        self.out.push(Shape::Circle {
            x,
            y,
            r,
            color,
            ring,
        });
    }
}

/// In horror, tiles beyond this many tiles of the followed player stay dark.
const HORROR_SIGHT: i32 = 9;

fn dim(c: Rgb, num: u16, den: u16) -> Rgb {
    let f = |v: u8| (u16::from(v) * num / den) as u8;
    (f(c.0), f(c.1), f(c.2))
}

/// The shapes of `world` as `view` sees it on a window of `size`.
pub fn scene(world: &World, view: &ViewState, size: Size, extras: &Extras) -> Vec<Shape> {
    let layout = Layout::of(size);
    let mut p = Painter {
        out: Vec::with_capacity(4096),
        px: layout.px,
    };
    p.rect(0.0, 0.0, size.w, size.h, BACKGROUND);
    draw_map(world, view, &layout, &mut p);
    draw_sidebar(world, view, &layout, &mut p);
    draw_log(view, &layout, &mut p);
    let (sx, sy, sw, _) = layout.status;
    p.rect(sx, sy, sw, 1.0, (60, 60, 70));
    if let Some(b) = &extras.banner {
        let y = layout.log.1 + layout.log.3 - layout.line() - 2.0;
        p.rect(sx, y - 2.0, sw, layout.line() + 2.0, (90, 20, 20));
        p.bold(sx + 6.0, y, inert(b).into_owned(), (255, 220, 220));
    }
    p.text(
        sx + 6.0,
        sy + 4.0,
        inert(&extras.status).into_owned(),
        rgb(250),
    );
    if let Some(help) = &extras.help {
        draw_help(help, &layout, &mut p);
    }
    if let Overlay::Inventory { cursor } = view.overlay {
        draw_inventory(world, view, cursor, &layout, &mut p);
    }
    p.out
}

/// The screen before there is a world (connecting, receiving it): the log and the status.
pub fn waiting(view: &ViewState, size: Size, extras: &Extras) -> Vec<Shape> {
    let layout = Layout::of(size);
    let mut p = Painter {
        out: Vec::new(),
        px: layout.px,
    };
    p.rect(0.0, 0.0, size.w, size.h, BACKGROUND);
    draw_log(view, &layout, &mut p);
    let (sx, sy, _, _) = layout.status;
    if let Some(b) = &extras.banner {
        p.bold(
            sx + 6.0,
            sy - layout.line() - 4.0,
            inert(b).into_owned(),
            rgb(203),
        );
    }
    p.text(
        sx + 6.0,
        sy + 4.0,
        inert(&extras.status).into_owned(),
        rgb(250),
    );
    p.out
}

fn draw_map(world: &World, view: &ViewState, l: &Layout, p: &mut Painter) {
    let (mx, my, mw, mh) = l.map;
    let ts = l.tile;
    let map = world.map();
    let genre = world.config().genre;
    let me = world.player(view.follow);
    let centre = view
        .free_camera
        .unwrap_or_else(|| me.map_or(world.level().spawn, |p| p.pos.tile()));
    let vw = (mw / ts).ceil() as i32;
    let vh = (mh / ts).ceil() as i32;
    let origin = camera(map.width() as i32, map.height() as i32, centre, vw, vh);
    let dark = |tx: i32, ty: i32| {
        genre == Genre::Horror
            && me.is_some()
            && (tx - centre.0).abs().max((ty - centre.1).abs()) > HORROR_SIGHT
    };
    let at = |tx: i32, ty: i32| {
        (
            mx + f64::from(tx - origin.0) * ts,
            my + f64::from(ty - origin.1) * ts,
        )
    };
    let on_screen = |x: f64, y: f64| x + ts > mx && y + ts > my && x < mx + mw && y < my + mh;
    // Tiles: runs of one colour along a row become one rect, and the rects go out grouped
    // by colour (the painter sets the fill only when it changes): a 1080p map is a few
    // hundred canvas calls instead of thousands. Glyphs only on the few tiles that need
    // one to read (stairs, doors, traps), on top.
    let mut runs: Vec<(Rgb, i32, i32, i32)> = Vec::new();
    let mut glyphs = Vec::new();
    for ty in origin.1..origin.1 + vh {
        let mut run: Option<(Rgb, i32, i32)> = None;
        for tx in origin.0..=origin.0 + vw {
            let color = (tx < origin.0 + vw)
                .then(|| tile_color(map, genre, tx, ty, dark(tx, ty)))
                .flatten();
            if let Some((glyph, _)) = color.filter(|(g, _)| g.is_some()) {
                glyphs.push((tx, ty, glyph.unwrap_or(' ')));
            }
            let color = color.map(|(_, c)| c);
            match (run, color) {
                (Some((c, start, len)), Some(now)) if c == now => run = Some((c, start, len + 1)),
                (prev, now) => {
                    if let Some((c, start, len)) = prev {
                        runs.push((c, start, ty, len));
                    }
                    run = now.map(|c| (c, tx, 1));
                }
            }
        }
    }
    runs.sort_by_key(|r| r.0);
    for (color, tx, ty, len) in runs {
        let (x, y) = at(tx, ty);
        p.rect(x, y, ts * f64::from(len), ts, color);
    }
    for (tx, ty, glyph) in glyphs {
        let (x, y) = at(tx, ty);
        p.bold(
            x + (ts - p.px * 0.6) / 2.0,
            y + (ts - p.px) / 2.0,
            glyph.to_string(),
            (255, 255, 255),
        );
    }
    let visible = |pos: venture_sim::Vec2| {
        let t = pos.tile();
        if dark(t.0, t.1) {
            return None;
        }
        // Sub-tile positions: things move smoothly between tiles.
        let x = mx + (f64::from(pos.x) / f64::from(SUB) - f64::from(origin.0)) * ts;
        let y = my + (f64::from(pos.y) / f64::from(SUB) - f64::from(origin.1)) * ts;
        on_screen(x - ts / 2.0, y - ts / 2.0).then_some((x, y))
    };
    for g in world.ground_items() {
        if let Some((x, y)) = visible(g.pos) {
            let c = rgb(palette::rarity_color(g.item.rarity));
            p.rect(x - ts * 0.3, y - ts * 0.3, ts * 0.6, ts * 0.6, dim(c, 1, 3));
            p.bold(
                x - p.px * 0.3,
                y - p.px * 0.55,
                palette::item_glyph(g.item.kind).to_string(),
                c,
            );
        }
    }
    for m in world.monsters() {
        let Some((x, y)) = visible(m.pos) else {
            continue;
        };
        let tpl = m.template(genre);
        let (c, r) = if tpl.is_boss {
            (rgb(196), ts * 0.55)
        } else {
            (rgb(palette::rarity_color(m.rarity)), ts * 0.4)
        };
        p.circle(x, y, r, c, false);
        let letter = tpl.name.chars().next().unwrap_or('m');
        let letter = if tpl.is_boss {
            letter.to_ascii_uppercase()
        } else {
            letter.to_ascii_lowercase()
        };
        p.bold(
            x - p.px * 0.3,
            y - p.px * 0.55,
            letter.to_string(),
            (0, 0, 0),
        );
        if view.target == Some(m.id) {
            p.circle(x, y, r + 3.0, (255, 255, 255), true);
            let max = m.max_hp(genre).max(1);
            let frac = f64::from(m.hp.clamp(0, max)) / f64::from(max);
            p.rect(x - ts / 2.0, y - r - 6.0, ts, 3.0, (60, 0, 0));
            p.rect(x - ts / 2.0, y - r - 6.0, ts * frac, 3.0, rgb(160));
        }
    }
    for pr in world.projectiles() {
        if let Some((x, y)) = visible(pr.pos) {
            let c = if pr.radius > 0 { rgb(208) } else { rgb(220) };
            p.circle(x, y, ts * 0.18, c, false);
        }
    }
    for e in &view.explosions {
        if let Some((x, y)) = visible(e.pos) {
            let r = f64::from(e.radius) / f64::from(SUB) * ts;
            p.circle(x, y, r, rgb(202), true);
        }
    }
    let mut players: Vec<_> = world.players().collect();
    // The followed player last, on top.
    players.sort_by_key(|(s, _)| *s == view.follow);
    for (slot, pl) in players {
        let Some((x, y)) = visible(pl.pos) else {
            continue;
        };
        let mine = slot == view.follow;
        let c = match (pl.alive(), mine) {
            (false, _) => rgb(244),
            (true, true) => rgb(226),
            (true, false) => rgb(51),
        };
        p.circle(x, y, ts * 0.45, c, false);
        p.bold(
            x - p.px * 0.3,
            y - p.px * 0.55,
            if pl.alive() { "@" } else { "%" },
            (0, 0, 0),
        );
        if !mine {
            p.text(x - ts, y - ts * 1.3, inert_cut(&pl.name, 16), rgb(159));
        }
    }
}

/// The colour a tile is drawn in (and its glyph, for the few that show one), or None when
/// it is not drawn: off the map, in the dark, or solid rock away from anything walkable.
fn tile_color(
    map: &venture_sim::TileMap,
    genre: Genre,
    tx: i32,
    ty: i32,
    dark: bool,
) -> Option<(Option<char>, Rgb)> {
    if !map.in_bounds(tx, ty) || dark {
        return None;
    }
    let tile = map.get(tx, ty);
    if matches!(tile, Tile::Wall | Tile::SecretDoor)
        && !(-1..=1).any(|dy| (-1..=1).any(|dx| map.is_walkable(tx + dx, ty + dy)))
    {
        return None;
    }
    let (glyph, c) = palette::tile(genre, tile);
    let color = match tile {
        Tile::Floor | Tile::Corridor => dim(rgb(c), 1, 2),
        Tile::Pit => (0, 0, 0),
        _ => rgb(c),
    };
    let shown = matches!(
        tile,
        Tile::StairsDown | Tile::StairsUp | Tile::Door | Tile::TrapDoor | Tile::Bridge
    );
    Some((shown.then_some(glyph), color))
}

/// A bar over `(x, y, w, h)` filled in proportion to `value / max`.
fn bar(p: &mut Painter, (x, y, w, h): (f64, f64, f64, f64), value: i64, max: i64, color: Rgb) {
    let max = max.max(1);
    let frac = value.clamp(0, max) as f64 / max as f64;
    p.rect(x, y, w, h, dim(color, 1, 4));
    p.rect(x, y, w * frac, h, color);
}

fn draw_sidebar(world: &World, view: &ViewState, l: &Layout, p: &mut Painter) {
    let (sx, sy, sw, sh) = l.sidebar;
    p.rect(sx, sy, sw, sh, (18, 18, 24));
    p.rect(sx, sy, 1.0, sh, (60, 60, 70));
    let line = l.line();
    let x = sx + 10.0;
    let mut y = sy + 8.0;
    let label = rgb(245);
    let rate = world.config().tick_rate;
    let genre = world.config().genre;
    let Some(pl) = world.player(view.follow) else {
        p.text(x, y, "(not in the world)", label);
        return;
    };
    let stats = pl.stats();
    p.bold(x, y, inert_cut(&pl.name, 16), rgb(226));
    p.text(x + l.px * 11.0, y, format!("Lv {}", pl.level), rgb(252));
    y += line;
    let bar_w = sw - 20.0 - l.px * 6.0;
    p.text(x, y, "HP", label);
    bar(
        p,
        (x + l.px * 1.8, y + 2.0, bar_w, l.px - 2.0),
        i64::from(pl.hp),
        i64::from(stats.max_hp),
        rgb(160),
    );
    p.text(
        x + l.px * 2.0 + bar_w,
        y,
        format!("{}/{}", pl.hp.max(0), stats.max_hp),
        rgb(252),
    );
    y += line;
    p.text(x, y, "MP", label);
    bar(
        p,
        (x + l.px * 1.8, y + 2.0, bar_w, l.px - 2.0),
        i64::from(pl.mana),
        i64::from(MAX_MANA),
        rgb(33),
    );
    p.text(
        x + l.px * 2.0 + bar_w,
        y,
        format!("{}/{}", pl.mana, MAX_MANA),
        rgb(252),
    );
    y += line;
    let xp = match xp_to_next(pl.level) {
        Some(next) => format!(
            "XP {}/{} (next in {})",
            pl.xp,
            next,
            next.saturating_sub(pl.xp)
        ),
        None => format!("XP {} (max level)", pl.xp),
    };
    p.text(x, y, xp, rgb(252));
    y += line;
    p.text(x, y, "Gold", label);
    p.text(x + l.px * 3.0, y, pl.gold.to_string(), rgb(220));
    y += line;
    p.text(
        x,
        y,
        format!("Depth {}  {}", world.depth(), genre),
        rgb(252),
    );
    y += line;
    if !pl.alive() {
        p.bold(
            x,
            y,
            format!("DEAD: respawn in {}", seconds(pl.respawn_in, rate)),
            rgb(196),
        );
        y += line;
    }
    y += line * 0.4;
    p.text(x, y, "Effects", label);
    y += line;
    if pl.statuses.is_empty() {
        p.text(x + 8.0, y, "none", label);
        y += line;
    }
    for s in &pl.statuses {
        let bad = matches!(
            s.kind,
            StatusKind::Burning
                | StatusKind::Poison
                | StatusKind::Weakness
                | StatusKind::Vulnerability
        );
        p.text(
            x + 8.0,
            y,
            format!(
                "{} {}",
                status_name(s.kind),
                seconds(s.remaining_ticks, rate)
            ),
            if bad { rgb(203) } else { rgb(114) },
        );
        y += line;
    }
    y += line * 0.4;
    p.text(x, y, "Spells", label);
    y += line;
    for (i, cd) in pl.spell_cd.iter().enumerate() {
        let Some(sp) = spellbook(genre, i) else {
            continue;
        };
        let (state, c) = if *cd > 0 {
            (seconds(*cd, rate), rgb(244))
        } else if pl.mana < sp.mana_cost {
            ("no mana".to_string(), rgb(244))
        } else {
            ("ready".to_string(), rgb(114))
        };
        p.text(
            x + 8.0,
            y,
            format!("{} {} {}mp", i + 1, inert_cut(&sp.name, 14), sp.mana_cost),
            rgb(252),
        );
        p.text(sx + sw - l.px * 4.6, y, state, c);
        y += line;
    }
    // The target at the bottom of the sidebar.
    let ty = sy + sh - line * 3.0 - 8.0;
    if ty > y {
        p.text(x, ty, "Target", label);
        match view
            .target
            .and_then(|id| world.monsters().iter().find(|m| m.id == id))
        {
            Some(m) => {
                let tpl = m.template(genre);
                let max = m.max_hp(genre);
                let c = if tpl.is_boss {
                    rgb(196)
                } else {
                    rgb(palette::rarity_color(m.rarity))
                };
                p.text(
                    x + 8.0,
                    ty + line,
                    format!(
                        "{} Lv {}{}",
                        tpl.name,
                        m.level,
                        if tpl.is_boss { " BOSS" } else { "" }
                    ),
                    c,
                );
                bar(
                    p,
                    (x + 8.0, ty + line * 2.0 + 2.0, bar_w, l.px - 2.0),
                    i64::from(m.hp),
                    i64::from(max),
                    rgb(160),
                );
                p.text(
                    x + 16.0 + bar_w,
                    ty + line * 2.0,
                    format!("{}/{}", m.hp.max(0), max),
                    rgb(252),
                );
            }
            None => p.text(x + 8.0, ty + line, view.no_target.trim(), label),
        }
    }
}

fn log_color(kind: LogKind) -> Rgb {
    rgb(match kind {
        LogKind::Good => 114,
        LogKind::Bad => 203,
        LogKind::Great => 220,
        LogKind::Info => 250,
        LogKind::Chat => 159,
    })
}

fn draw_log(view: &ViewState, l: &Layout, p: &mut Painter) {
    let (lx, ly, lw, lh) = l.log;
    p.rect(lx, ly, lw, 1.0, (60, 60, 70));
    let line = l.line();
    let rows = ((lh - 8.0) / line).floor().max(0.0) as usize;
    // Monospace: a character is about 0.6 of the font size wide.
    let cols = ((lw - 12.0) / (l.px * 0.6)).floor().max(1.0) as usize;
    let mut lines: Vec<(String, Rgb)> = Vec::new();
    for entry in view.log.iter().skip(view.log.len().saturating_sub(rows)) {
        for part in wrap(&inert(&entry.text), cols) {
            lines.push((part, log_color(entry.kind)));
        }
    }
    let skip = lines.len().saturating_sub(rows);
    for (i, (text, c)) in lines.into_iter().skip(skip).enumerate() {
        p.text(lx + 6.0, ly + 4.0 + line * i as f64, text, c);
    }
}

/// The followed player's inventory over the map: the equipment rows, the load, the items,
/// the cursor's row highlighted, and the keys for that row.
fn draw_inventory(world: &World, view: &ViewState, cursor: usize, l: &Layout, p: &mut Painter) {
    let Some(player) = world.player(view.follow) else {
        return;
    };
    let rows = inventory::row_list(player);
    let (mx, my, mw, mh) = l.map;
    let line = l.line();
    // Title, rows, the load line, "nothing carried" when empty, a gap and the hint.
    let lines = rows.len() + 1 + usize::from(player.inventory.is_empty()) + 2;
    let w = (l.px * 62.0).min(mw - 20.0);
    let h = (12.0 + line * (lines as f64 + 1.5)).min(mh - 20.0);
    let x = mx + (mw - w) / 2.0;
    let y = my + (mh - h) / 2.0;
    p.rect(x, y, w, h, (24, 24, 34));
    p.bold(x + 10.0, y + 6.0, "Inventory", rgb(252));
    let mut at = 1.5;
    let mut next = |p: &mut Painter, text: String, color, selected: bool, label: String| {
        let ry = y + 6.0 + line * at;
        at += 1.0;
        if ry + line > y + h {
            return;
        }
        if selected {
            p.rect(x + 4.0, ry - 2.0, w - 8.0, line, (60, 60, 96));
        }
        if !label.is_empty() {
            p.text(x + 10.0, ry, label, rgb(245));
        }
        if !text.is_empty() {
            p.text(x + 10.0 + l.px * 11.0, ry, text, color);
        }
    };
    for (row, r) in rows.iter().enumerate() {
        if row == inventory::FIRST_ITEM_ROW {
            next(
                p,
                inventory::load_line(player),
                rgb(245),
                false,
                String::new(),
            );
        }
        let label = match r.kind {
            Some(kind) if row >= inventory::FIRST_ITEM_ROW => {
                format!("{:>3} {}", r.label, palette::item_glyph(kind))
            }
            _ => format!("{}:", r.label),
        };
        let color = r.rarity.map_or(rgb(244), |q| rgb(palette::rarity_color(q)));
        next(p, r.text.clone(), color, row == cursor, label);
    }
    if player.inventory.is_empty() {
        next(
            p,
            inventory::load_line(player),
            rgb(245),
            false,
            String::new(),
        );
        next(
            p,
            "(nothing carried)".into(),
            rgb(244),
            false,
            String::new(),
        );
    }
    next(p, String::new(), rgb(245), false, String::new());
    next(
        p,
        inventory::hint(player, cursor).into(),
        rgb(245),
        false,
        String::new(),
    );
}

fn draw_help(help: &[(String, String)], l: &Layout, p: &mut Painter) {
    let (mx, my, mw, mh) = l.map;
    let line = l.line();
    let w = (l.px * 40.0).min(mw - 20.0);
    let h = (line * (help.len() as f64 + 2.5)).min(mh - 20.0);
    let x = mx + (mw - w) / 2.0;
    let y = my + (mh - h) / 2.0;
    p.rect(x, y, w, h, (24, 24, 34));
    p.bold(x + 10.0, y + 6.0, "Help (any key closes)", rgb(252));
    for (i, (k, what)) in help.iter().enumerate() {
        let ry = y + 6.0 + line * (i as f64 + 1.5);
        if ry + line > y + h {
            break;
        }
        p.text(x + 10.0, ry, k.clone(), rgb(220));
        p.text(x + 10.0 + l.px * 12.0, ry, what.clone(), rgb(250));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use venture_play::view::LogLine;
    use venture_sim::script::scripted_frame;
    use venture_sim::SimConfig;

    fn world() -> World {
        let mut w = World::new(&SimConfig::default()).expect("default config is valid");
        for t in 1..=40 {
            w.step(&scripted_frame(7, t, 2))
                .expect("scripted frames step");
        }
        w
    }

    fn texts(shapes: &[Shape]) -> Vec<&str> {
        shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_hud_the_log_and_the_status_line_are_drawn_and_fit_common_windows() {
        let w = world();
        let mut view = ViewState::following(0);
        view.push_log(LogLine {
            tick: 1,
            kind: LogKind::Chat,
            text: "<bob> hi\u{1b}[2J".into(),
        });
        let extras = Extras {
            status: "tick 40".into(),
            ..Extras::default()
        };
        for (wd, ht) in [(1280.0, 720.0), (1920.0, 1080.0)] {
            let shapes = scene(&w, &view, Size { w: wd, h: ht }, &extras);
            let t = texts(&shapes);
            for want in ["HP", "MP", "Gold", "Effects", "Spells", "Target", "tick 40"] {
                assert!(t.iter().any(|s| s.contains(want)), "{want} missing: {t:?}");
            }
            assert!(t.iter().any(|s| s.starts_with("Depth 1")), "{t:?}");
            // Network text is made inert before it is drawn.
            assert!(t.contains(&"<bob> hi?[2J"), "{t:?}");
            // Everything inside the window, text at a readable size.
            for s in &shapes {
                match s {
                    Shape::Text { x, y, px, .. } => {
                        assert!(*x >= -40.0 && *x < wd && *y >= -40.0 && *y < ht, "{s:?}");
                        assert!(*px >= 13.0, "{s:?}");
                    }
                    Shape::Rect { x, y, .. } => assert!(*x < wd && *y < ht, "{s:?}"),
                    Shape::Circle { .. } => {}
                }
            }
            let l = Layout::of(Size { w: wd, h: ht });
            assert!(l.map.2 / l.tile >= 30.0, "at least 30 tiles across: {l:?}");
        }
    }

    #[test]
    fn the_followed_player_is_drawn_in_the_middle_of_the_map() {
        let w = world();
        let view = ViewState::following(1);
        let size = Size {
            w: 1920.0,
            h: 1080.0,
        };
        let shapes = scene(&w, &view, size, &Extras::default());
        let l = Layout::of(size);
        let me = rgb(226);
        let (x, y) = shapes
            .iter()
            .find_map(|s| match s {
                Shape::Circle { x, y, color, .. } if *color == me => Some((*x, *y)),
                _ => None,
            })
            .expect("the followed player is drawn");
        let (mx, my, mw, mh) = l.map;
        let map = w.map();
        // Unless the camera is clamped at an edge, the player is within a tile of the centre.
        let t = w.player(1).expect("slot 1 joined").pos.tile();
        let vw = (mw / l.tile).ceil() as i32;
        if t.0 > vw / 2 && t.0 < map.width() as i32 - vw / 2 {
            assert!((x - (mx + mw / 2.0)).abs() <= l.tile * 1.5, "x {x}");
        }
        assert!(x >= mx && x <= mx + mw && y >= my && y <= my + mh);
    }

    #[test]
    fn the_inventory_is_drawn_over_the_map_with_the_rows_keys() {
        let w = world();
        let mut view = ViewState::following(0);
        view.overlay = Overlay::Inventory { cursor: 0 };
        let size = Size {
            w: 1280.0,
            h: 720.0,
        };
        let shapes = scene(&w, &view, size, &Extras::default());
        let t = texts(&shapes);
        let player = w.player(0).expect("slot 0 plays");
        assert!(t.contains(&"Inventory"), "{t:?}");
        assert!(t.contains(&"weapon:") && t.contains(&"accessory:"), "{t:?}");
        let load = inventory::load_line(player);
        assert!(t.contains(&load.as_str()), "{t:?}");
        assert!(t.contains(&inventory::hint(player, 0)), "{t:?}");
        // Closed, none of it.
        let shapes = scene(&w, &ViewState::following(0), size, &Extras::default());
        assert!(!texts(&shapes).contains(&"Inventory"));
    }

    #[test]
    fn help_is_drawn_over_the_map() {
        let w = world();
        let extras = Extras {
            help: Some(vec![("Space".into(), "play / pause".into())]),
            ..Extras::default()
        };
        let shapes = scene(
            &w,
            &ViewState::following(0),
            Size {
                w: 1280.0,
                h: 720.0,
            },
            &extras,
        );
        let t = texts(&shapes);
        assert!(t.contains(&"play / pause") && t.contains(&"Help (any key closes)"));
    }
}
