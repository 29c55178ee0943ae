//! Screens without a world: too small, connecting, syncing (with the snapshot's progress),
//! and refusals that say what to do.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::{MIN_HEIGHT, MIN_WIDTH};
use venture_play::text::inert;

/// "Make the window larger", with the sizes, centred as far as it fits.
pub fn too_small(area: Rect, buf: &mut Buffer) {
    let lines = vec![
        Line::from("Make the window larger").style(Style::default().add_modifier(Modifier::BOLD)),
        Line::from(format!(
            "need {MIN_WIDTH}x{MIN_HEIGHT}, have {}x{}",
            area.width, area.height
        )),
    ];
    let y = area.y + area.height.saturating_sub(2) / 2;
    let rect = Rect::new(area.x, y, area.width, area.height.clamp(1, 2));
    ratatui::widgets::Clear.render(area, buf);
    Paragraph::new(lines)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true })
        .render(rect, buf);
}

/// A centred box with a title and lines of text (connecting, syncing, refused).
pub fn message(area: Rect, title: &str, lines: &[String], buf: &mut Buffer) {
    ratatui::widgets::Clear.render(area, buf);
    let w = (lines.iter().map(|l| l.chars().count()).max().unwrap_or(10) as u16 + 4)
        .clamp(30, area.width.max(1));
    // Wrapped here, so the box is as tall as the text it shows (a long refusal must not
    // lose its last line, which says what to do).
    let inner_w = usize::from(w.saturating_sub(2)).max(1);
    let lines: Vec<String> = lines
        .iter()
        .flat_map(|l| venture_play::text::wrap(&inert(l), inner_w))
        .collect();
    let h = (lines.len() as u16 + 2).min(area.height.max(1));
    let rect = Rect::new(
        area.x + area.width.saturating_sub(w) / 2,
        area.y + area.height.saturating_sub(h) / 2,
        w.min(area.width),
        h,
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {title} "));
    let inner = block.inner(rect);
    block.render(rect, buf);
    let text: Vec<Line> = lines.into_iter().map(Line::from).collect();
    Paragraph::new(text).render(inner, buf);
}
