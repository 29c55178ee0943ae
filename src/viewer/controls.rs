//! The terminal viewer's keys: crossterm key events into the shared [`Action`]s
//! (`venture_play::replay_controls`, which also holds the speeds, the seek syntax, the time
//! format and the help lines, re-exported here).

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
pub use venture_play::replay_controls::*;

/// The action of `key` in the viewer's normal mode (no prompt, no help window open).
pub fn action(key: &KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c') | KeyCode::Char('d') if ctrl => Action::Quit,
        KeyCode::Char(' ') => Action::TogglePlay,
        KeyCode::Right | KeyCode::Char('.') => Action::StepForward,
        KeyCode::Left | KeyCode::Char(',') => Action::StepBack,
        KeyCode::Char('+') | KeyCode::Char('=') => Action::Faster,
        KeyCode::Char('-') | KeyCode::Char('_') => Action::Slower,
        KeyCode::PageUp | KeyCode::Char(']') => Action::JumpForward,
        KeyCode::PageDown | KeyCode::Char('[') => Action::JumpBack,
        KeyCode::Char('g') | KeyCode::Char('G') => Action::OpenSeek,
        KeyCode::Tab => Action::FollowNext,
        KeyCode::BackTab => Action::FollowPrevious,
        KeyCode::Char('?') | KeyCode::F(1) => Action::Help,
        KeyCode::Char('q') | KeyCode::Char('Q') | KeyCode::Esc => Action::Quit,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let k = |c| KeyEvent::new(c, KeyModifiers::NONE);
        assert_eq!(action(&k(KeyCode::Char(' '))), Some(Action::TogglePlay));
        assert_eq!(action(&k(KeyCode::Char('.'))), Some(Action::StepForward));
        assert_eq!(action(&k(KeyCode::Left)), Some(Action::StepBack));
        assert_eq!(action(&k(KeyCode::PageUp)), Some(Action::JumpForward));
        assert_eq!(action(&k(KeyCode::Char('['))), Some(Action::JumpBack));
        assert_eq!(action(&k(KeyCode::Esc)), Some(Action::Quit));
        assert_eq!(action(&k(KeyCode::Char('x'))), None);
    }
}
