//! Windows drawn over the map: help, inventory, the chat prompt, quit confirmation.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};
use venture_sim::content::Rarity;
use venture_sim::World;

use crate::tui::theme;
use venture_play::inventory;
use venture_play::keys::{controls, spell_keys};
use venture_play::text::inert_cut;
use venture_play::view::{ColorMode, Overlay, ViewState};

/// What the game is about, at the top of the help screen.
pub const GOAL: &str = "Goal: on each level find the stairs > and stand on them to go deeper. \
Monsters grow stronger with depth; out of a fight your HP comes back.";

/// The message log's first lines for a new player, once per run of the client.
pub fn welcome() -> [String; 2] {
    [
        "Find the stairs > to descend; deeper levels are harder.".into(),
        format!(
            "Space attacks, {} cast spells, ? shows the keys.",
            spell_keys()
        ),
    ]
}

/// A `w` x `h` rectangle in the middle of `area` (clipped to it).
pub fn centred(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// A bordered window with `title` over `area` (cleared first); returns its inside.
pub fn window(view: &ViewState, title: &str, area: Rect, buf: &mut Buffer) -> Rect {
    Clear.render(area, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title.to_string())
        .border_style(theme::fg(view.colors, 250));
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

fn draw_inventory(world: &World, view: &ViewState, cursor: usize, area: Rect, buf: &mut Buffer) {
    let mode = view.colors;
    let Some(p) = world.player(view.follow) else {
        return;
    };
    // Borders, three equipment rows, the weight line, the items (or "nothing"), a blank
    // line and the key hints.
    let items = p.inventory.len().max(1) as u16;
    let rect = centred(area, 72, 2 + 3 + 1 + items + 2);
    let inner = window(view, " Inventory ", rect, buf);
    let mut lines = Vec::new();
    let row_style = |row: usize, rarity: Option<Rarity>| {
        let s = match rarity {
            Some(r) => theme::fg(mode, theme::rarity_color(r)),
            None => theme::fg(mode, 244),
        };
        if row == cursor {
            s.add_modifier(Modifier::REVERSED)
        } else {
            s
        }
    };
    let rows = inventory::row_list(p);
    for (row, r) in rows.iter().enumerate() {
        if row == inventory::FIRST_ITEM_ROW {
            lines.push(Line::from(Span::styled(
                inventory::load_line(p),
                theme::fg(mode, 245),
            )));
        }
        let label = match r.kind {
            Some(kind) if row >= inventory::FIRST_ITEM_ROW => {
                format!("{:>8} {} ", r.label, theme::item_glyph(kind))
            }
            _ => format!("{:>9}: ", r.label),
        };
        lines.push(Line::from(vec![
            Span::raw(label),
            Span::styled(r.text.clone(), row_style(row, r.rarity)),
        ]));
    }
    if p.inventory.is_empty() {
        lines.push(Line::from(Span::styled(
            inventory::load_line(p),
            theme::fg(mode, 245),
        )));
        lines.push(Line::from(Span::styled(
            "         (nothing carried)",
            theme::fg(mode, 244),
        )));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        inventory::hint(p, cursor),
        theme::fg(mode, 245),
    )));
    Paragraph::new(lines).render(inner, buf);
}

fn draw_help(view: &ViewState, area: Rect, buf: &mut Buffer) {
    // As wide as the longest control line (key column, gap, description) plus borders, so
    // no description is cut; the note below wraps inside it.
    let controls = controls();
    let widest = controls
        .iter()
        .map(|(_, what)| what.len())
        .max()
        .unwrap_or(0);
    let width = u16::try_from(widest + 20 + 2).unwrap_or(u16::MAX);
    let rect = centred(area, width, controls.len() as u16 + 9);
    let inner = window(view, " Controls ", rect, buf);
    let mut lines: Vec<Line> = vec![
        Line::from(Span::styled(
            GOAL,
            Style::default().add_modifier(Modifier::BOLD),
        )),
        Line::default(),
    ];
    lines.extend(controls.into_iter().map(|(k, what)| {
        Line::from(vec![
            Span::styled(
                format!("{k:>18}  "),
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::raw(what),
        ])
    }));
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        if view.key_releases {
            "This terminal reports key releases: keys stop the moment you let go."
        } else {
            "No key releases from this terminal: a key counts as held ~150 ms after its last repeat."
        },
        theme::fg(view.colors, 245),
    )));
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .render(inner, buf);
}

fn draw_prompt(view: &ViewState, text: Line<'static>, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let row = Rect::new(area.x, area.y + area.height - 1, area.width, 1);
    Clear.render(row, buf);
    let _ = view;
    Paragraph::new(text).render(row, buf);
}

pub fn draw(world: &World, view: &ViewState, map_area: Rect, buf: &mut Buffer) {
    let mode: ColorMode = view.colors;
    match &view.overlay {
        Overlay::None => {}
        Overlay::Help => draw_help(view, map_area, buf),
        Overlay::Inventory { cursor } => draw_inventory(world, view, *cursor, map_area, buf),
        Overlay::Chat { line } => {
            // Show the end of a long line so the cursor stays in view.
            let room = map_area.width.saturating_sub(8) as usize;
            let shown: String = {
                let n = line.chars().count();
                line.chars().skip(n.saturating_sub(room)).collect()
            };
            draw_prompt(
                view,
                Line::from(vec![
                    Span::styled("Say: ", theme::fg(mode, 159).add_modifier(Modifier::BOLD)),
                    Span::raw(inert_cut(&shown, room)),
                    Span::styled("_", Style::default().add_modifier(Modifier::SLOW_BLINK)),
                ]),
                map_area,
                buf,
            );
        }
        Overlay::QuitConfirm => {
            let rect = centred(map_area, 34, 3);
            let inner = window(view, " Quit ", rect, buf);
            Paragraph::new(Line::from(Span::styled(
                "Leave the game? y / n",
                Style::default().add_modifier(Modifier::BOLD),
            )))
            .render(inner, buf);
        }
    }
}
