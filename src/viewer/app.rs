//! The viewer's terminal loop: the terminal client's guard (raw mode, alternate screen
//! and cursor restored on every way out, a panic included), stdin and the signals in one
//! mio poll as in the client (a hung-up terminal or SIGINT/SIGTERM/SIGHUP ends the loop
//! through the guard), playback stepped by real time, and at most 30 frames a second,
//! drawn only when something changed.

use std::io::{self, IsTerminal};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event as TermEvent};
use ratatui::Terminal;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGWINCH};
use signal_hook_mio::v1_0::Signals;

use super::Timeline;
use super::Viewer;
use crate::client::tui::terminal::{StdinState, TerminalGuard};

const STDIN: Token = Token(0);
const SIGNALS: Token = Token(1);
const FRAME_INTERVAL: Duration = Duration::from_millis(33);

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
    let mut poll = Poll::new()?;
    let stdin_fd = io::stdin().as_raw_fd();
    poll.registry()
        .register(&mut SourceFd(&stdin_fd), STDIN, Interest::READABLE)?;
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP, SIGWINCH])?;
    poll.registry()
        .register(&mut signals, SIGNALS, Interest::READABLE)?;

    let mut viewer = Viewer::new(timeline);
    viewer.playing = playing;
    viewer.view.colors = crate::client::tui::terminal::detect_colors();
    let guard = TerminalGuard::enter()?;
    let mut term = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    term.clear()?;
    let ended = play(&mut viewer, &mut term, &mut poll, &mut signals);
    drop(guard);
    Ok(ended?)
}

fn play(
    viewer: &mut Viewer,
    term: &mut Terminal<CrosstermBackend<io::Stdout>>,
    poll: &mut Poll,
    signals: &mut Signals,
) -> io::Result<Ended> {
    let mut events = Events::with_capacity(16);
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let mut last_step = Instant::now();
    loop {
        if viewer.quit {
            return Ok(Ended::Quit);
        }
        let now = Instant::now();
        let mut wait = viewer
            .next_tick_in()
            .unwrap_or(Duration::from_millis(500))
            .min(Duration::from_millis(500));
        if dirty {
            let due = last_draw.map_or(now, |t| t + FRAME_INTERVAL);
            wait = wait.min(due.saturating_duration_since(now));
        }
        match poll.poll(&mut events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if events.iter().any(|e| e.token() == SIGNALS) {
            for sig in signals.pending() {
                if sig == SIGWINCH {
                    dirty = true;
                } else {
                    return Ok(Ended::Signal);
                }
            }
        }
        // As in the client: input only when mio says stdin has some; end on a hang-up.
        let StdinState { ready, gone } = StdinState::of(&events, STDIN);
        if gone {
            return Ok(Ended::Signal);
        }
        while ready && event::poll(Duration::ZERO)? {
            match event::read()? {
                TermEvent::Key(k) => {
                    let was_playing = viewer.playing;
                    super::keys::key(viewer, k);
                    if viewer.playing && !was_playing {
                        last_step = Instant::now();
                    }
                    dirty = true;
                }
                TermEvent::Resize(..) => dirty = true,
                _ => {}
            }
        }
        let now = Instant::now();
        if viewer.playing {
            dirty |= viewer.advance(now.duration_since(last_step));
            // Reaching the end pauses: the status line must say so.
            dirty |= !viewer.playing;
        }
        last_step = now;
        if dirty && last_draw.is_none_or(|t| now >= t + FRAME_INTERVAL) {
            term.draw(|f| {
                let area = f.area();
                super::draw::draw(viewer, area, f.buffer_mut())
            })?;
            dirty = false;
            last_draw = Some(now);
        }
    }
}
