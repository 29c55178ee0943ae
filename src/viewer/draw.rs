//! Drawing the viewer: the shared renderer (`crate::tui::render`) for the world, the log
//! and the sidebar, then the viewer's own status line over the bottom row, the seek prompt
//! and the help window. A pure function of the [`Viewer`] into a buffer, like the renderer.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::controls::HELP;
use super::Viewer;
use crate::tui::render::{self, overlay, Layout};
use crate::tui::theme;

/// Draws `viewer` into `buf` over `area`.
pub fn draw(viewer: &Viewer, area: Rect, buf: &mut Buffer) {
    render::render(viewer.timeline.world(), &viewer.view, area, buf);
    let Some(layout) = Layout::of(area) else {
        return;
    };
    let mode = viewer.view.colors;
    let status = match &viewer.prompt {
        Some(text) => Line::from(vec![
            Span::styled(
                "Seek to (1234 = tick, 01:30 or 90s = time; Enter goes, Esc cancels): ",
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!("{text}_")),
        ]),
        None => {
            let failed = viewer.timeline.halt().is_some_and(|h| h.is_failure())
                && viewer.timeline.tick() >= viewer.timeline.last_tick();
            let style = if failed {
                theme::fg(mode, 203).add_modifier(Modifier::BOLD)
            } else {
                theme::fg(mode, 250)
            };
            Line::from(Span::styled(viewer.status(), style))
        }
    };
    Clear.render(layout.bottom, buf);
    Paragraph::new(status).render(layout.bottom, buf);
    if viewer.help {
        draw_help(viewer, layout.map, buf);
    }
}

fn draw_help(viewer: &Viewer, area: Rect, buf: &mut Buffer) {
    let widest = HELP.iter().map(|(_, what)| what.len()).max().unwrap_or(0);
    let width = u16::try_from(widest + 14 + 2).unwrap_or(u16::MAX);
    let rect = overlay::centred(area, width, HELP.len() as u16 + 2);
    let inner = overlay::window(&viewer.view, " Replay controls ", rect, buf);
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(
                    format!("{k:>11}  "),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
                Span::raw(*what),
            ])
        })
        .collect();
    Paragraph::new(lines).render(inner, buf);
}
