//! One terminal key into the replay viewer: the help window closes on any key, the seek
//! prompt edits its text (Enter seeks, Esc cancels), else the key's action (`controls::action`).

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind};
use venture_play::replay_view::{Viewer, MAX_PROMPT_CHARS};

use super::controls;

/// Acts on one key.
pub fn key(viewer: &mut Viewer, key: KeyEvent) {
    if key.kind == KeyEventKind::Release {
        return;
    }
    if viewer.help {
        viewer.help = false;
        return;
    }
    if let Some(text) = viewer.prompt.as_mut() {
        match key.code {
            KeyCode::Esc => viewer.prompt = None,
            KeyCode::Enter => {
                let text = viewer.prompt.take().unwrap_or_default();
                viewer.submit_seek(&text);
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) if c.is_ascii_graphic() && text.len() < MAX_PROMPT_CHARS => {
                text.push(c)
            }
            _ => {}
        }
        return;
    }
    if let Some(a) = controls::action(&key) {
        viewer.act(a);
    }
}
