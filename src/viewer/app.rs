//! The viewer's side of the shared terminal loop (`crate::tui::event_loop`: the terminal's
//! guard, stdin and the signals in one mio poll, at most 30 frames a second, drawn only
//! when something changed): playback stepped by real time, keys into the viewer.

use std::io::{self, IsTerminal};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::Event;
use ratatui::Frame;

use super::Timeline;
use super::Viewer;
use crate::tui::event_loop::{self, EventLoop, Screen};
use crate::tui::terminal::detect_colors;

/// Why the viewer could not run.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    #[error("play needs a terminal (stdin and stdout must be a tty); use `venture-replay dump` or `verify` in scripts")]
    NoTerminal,
    #[error("terminal: {0}")]
    Io(#[from] io::Error),
}

/// How the viewer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Quit,
    Signal,
}

/// Watches `timeline` (from where it is, playing) in this terminal until the viewer quits
/// or a signal arrives.
pub fn run(timeline: Timeline) -> Result<Ended, PlayError> {
    run_with(timeline, true)
}

/// [`run`], paused at first unless `playing`.
pub fn run_with(timeline: Timeline, playing: bool) -> Result<Ended, PlayError> {
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err(PlayError::NoTerminal);
    }
    let mut events = EventLoop::new()?;
    let mut viewer = Viewer::new(timeline);
    viewer.playing = playing;
    viewer.view.colors = detect_colors();
    let (guard, mut term) = event_loop::enter()?;
    let mut playback = Playback {
        viewer,
        last_step: Instant::now(),
    };
    let ended = events.run(&mut playback, &mut term);
    drop(guard);
    Ok(ended?)
}

/// The viewer in the terminal loop: playback stepped by real time.
struct Playback {
    viewer: Viewer,
    /// When playback last advanced (or started playing).
    last_step: Instant,
}

impl Screen for Playback {
    type End = Ended;

    fn signalled(&self) -> Ended {
        Ended::Signal
    }

    fn end(&mut self, _now: Instant) -> Option<Ended> {
        self.viewer.quit.then_some(Ended::Quit)
    }

    fn wake_by(&self, now: Instant) -> Instant {
        let wait = self
            .viewer
            .next_tick_in()
            .unwrap_or(Duration::from_millis(500))
            .min(Duration::from_millis(500));
        now + wait
    }

    fn event(&mut self, event: Event, now: Instant) -> bool {
        let Event::Key(k) = event else {
            return false;
        };
        let was_playing = self.viewer.playing;
        super::keys::key(&mut self.viewer, k);
        if self.viewer.playing && !was_playing {
            self.last_step = now;
        }
        true
    }

    fn turn(&mut self, now: Instant) -> ControlFlow<Ended, bool> {
        let mut changed = false;
        if self.viewer.playing {
            changed |= self.viewer.advance(now.duration_since(self.last_step));
            // Reaching the end pauses: the status line must say so.
            changed |= !self.viewer.playing;
        }
        self.last_step = now;
        ControlFlow::Continue(changed)
    }

    fn draw(&mut self, frame: &mut Frame, _now: Instant) {
        let area = frame.area();
        super::draw::draw(&self.viewer, area, frame.buffer_mut())
    }
}
