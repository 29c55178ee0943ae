//! The terminal's side of input mapping: crossterm key events into the shared mapper's
//! events (`venture_play::keys`, which holds the rules: held keys, the repeat windows for
//! terminals without key releases, one-shot actions, one `PlayerInput` per tick) and the
//! terminal's `Instant`s into the mapper's time since this mapper's creation.

use std::time::Instant;

use ratatui::crossterm::event::{self as ct, KeyModifiers};
use venture_play::keys::{self, KeyCode, KeyEventKind};
pub use venture_play::keys::{Mapped, DEFAULT_FIRST_HOLD, REPEAT_HOLD};
use venture_sim::PlayerInput;

/// The shared mapper with the terminal's clock origin.
#[derive(Clone, Debug)]
pub struct InputMapper {
    inner: keys::InputMapper,
    epoch: Instant,
}

/// The shared form of a crossterm key event.
pub fn key_event(ev: &ct::KeyEvent) -> keys::KeyEvent {
    let code = match ev.code {
        ct::KeyCode::Up => KeyCode::Up,
        ct::KeyCode::Down => KeyCode::Down,
        ct::KeyCode::Left => KeyCode::Left,
        ct::KeyCode::Right => KeyCode::Right,
        ct::KeyCode::Char(c) => KeyCode::Char(c),
        _ => KeyCode::Other,
    };
    let kind = match ev.kind {
        ct::KeyEventKind::Press => KeyEventKind::Press,
        ct::KeyEventKind::Repeat => KeyEventKind::Repeat,
        ct::KeyEventKind::Release => KeyEventKind::Release,
    };
    keys::KeyEvent::new(code, kind, ev.modifiers.contains(KeyModifiers::SHIFT))
}

impl InputMapper {
    /// `enhanced`: the terminal reports key releases.
    pub fn new(enhanced: bool) -> Self {
        InputMapper {
            inner: keys::InputMapper::new(enhanced),
            epoch: Instant::now(),
        }
    }

    fn since(&self, now: Instant) -> std::time::Duration {
        now.saturating_duration_since(self.epoch)
    }

    /// Feeds one key event. Game keys change the input; anything else is `Other`.
    pub fn key(&mut self, ev: ct::KeyEvent, now: Instant) -> Mapped {
        let t = self.since(now);
        self.inner.key(key_event(&ev), t)
    }

    /// Queues a one-shot action (`button` with `slot`) for the coming ticks.
    pub fn queue(&mut self, button: u8, slot: u8) {
        self.inner.queue(button, slot);
    }

    /// Lets go of every held key (an overlay opened, the terminal lost focus).
    pub fn release_all(&mut self) {
        self.inner.release_all();
    }

    /// The input for the next tick at `now` (see `venture_play::keys::InputMapper::sample`).
    pub fn sample(&mut self, now: Instant, aim_at: Option<(i8, i8)>) -> PlayerInput {
        let t = self.since(now);
        self.inner.sample(t, aim_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyEventState;
    use std::time::Duration;

    #[test]
    fn crossterm_events_map_to_the_shared_keys() {
        let ev = ct::KeyEvent {
            code: ct::KeyCode::Left,
            modifiers: KeyModifiers::SHIFT,
            kind: ct::KeyEventKind::Press,
            state: KeyEventState::NONE,
        };
        assert_eq!(
            key_event(&ev),
            keys::KeyEvent::new(KeyCode::Left, KeyEventKind::Press, true)
        );
        // Through the terminal's clock: a held 'd' walks right until released.
        let mut m = InputMapper::new(true);
        let t0 = Instant::now();
        let d = |kind| ct::KeyEvent {
            code: ct::KeyCode::Char('d'),
            modifiers: KeyModifiers::NONE,
            kind,
            state: KeyEventState::NONE,
        };
        assert_eq!(m.key(d(ct::KeyEventKind::Press), t0), Mapped::Game);
        assert_eq!(m.sample(t0 + Duration::from_millis(50), None).move_x, 127);
        m.key(d(ct::KeyEventKind::Release), t0 + Duration::from_millis(60));
        assert_eq!(m.sample(t0 + Duration::from_millis(100), None).move_x, 0);
        assert_eq!(m.key(d(ct::KeyEventKind::Press), t0), Mapped::Game);
        let f1 = ct::KeyEvent {
            code: ct::KeyCode::F(1),
            ..d(ct::KeyEventKind::Press)
        };
        assert_eq!(m.key(f1, t0), Mapped::Other);
    }
}
