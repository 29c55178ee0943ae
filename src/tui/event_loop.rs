//! The terminal loop the client and the replay viewer share: the terminal's stdin and the
//! signals registered in one mio poll (a key wakes the loop at once), SIGWINCH redrawing,
//! SIGINT/SIGTERM/SIGHUP or a hung-up terminal ending the loop (the caller then leaves
//! through its [`TerminalGuard`](super::terminal::TerminalGuard)), and at most 30 frames a
//! second, drawn only when something changed. What a program does besides (the client's
//! network session, the viewer's playback) is its [`Screen`]; the client registers its
//! network sources on the same poll through [`EventLoop::registry`].

use std::io;
use std::ops::ControlFlow;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event};
use ratatui::{Frame, Terminal};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGWINCH};
use signal_hook_mio::v1_0::Signals;

use super::terminal::{StdinState, TerminalGuard};

const STDIN: Token = Token(0);
const SIGNALS: Token = Token(1);
/// The first token a program may register its own sources under.
pub const FIRST_FREE_TOKEN: usize = 2;
/// At most 30 frames per second.
const FRAME_INTERVAL: Duration = Duration::from_millis(33);

/// The terminal the loop draws on.
pub type Term = Terminal<CrosstermBackend<io::Stdout>>;

/// A program in the loop: its own work at each turn, its terminal events, its screen.
pub trait Screen {
    /// How the program ended.
    type End;

    /// The end a signal or a hung-up terminal brings.
    fn signalled(&self) -> Self::End;

    /// Checked at the top of each turn, before waiting: `Some` stops the loop (quit asked,
    /// a deadline passed).
    fn end(&mut self, now: Instant) -> Option<Self::End>;

    /// The latest time to wake without input or a signal (the network's next deadline,
    /// the next tick of playback).
    fn wake_by(&self, now: Instant) -> Instant;

    /// One terminal event (a resize redraws without asking); returns whether the screen
    /// changed.
    fn event(&mut self, event: Event, now: Instant) -> bool;

    /// The program's own work once the terminal's input is read: `Continue(changed)`, or
    /// `Break` to stop.
    fn turn(&mut self, now: Instant) -> ControlFlow<Self::End, bool>;

    /// Draws the screen at `now`.
    fn draw(&mut self, frame: &mut Frame, now: Instant);
}

/// The poll with the terminal's stdin and the signals in it.
pub struct EventLoop {
    poll: Poll,
    signals: Signals,
    events: Events,
}

impl EventLoop {
    /// Registers stdin and SIGINT, SIGTERM, SIGHUP and SIGWINCH.
    pub fn new() -> io::Result<EventLoop> {
        let poll = Poll::new()?;
        let stdin_fd = io::stdin().as_raw_fd();
        poll.registry()
            .register(&mut SourceFd(&stdin_fd), STDIN, Interest::READABLE)?;
        let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP, SIGWINCH])?;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)?;
        Ok(EventLoop {
            poll,
            signals,
            events: Events::with_capacity(64),
        })
    }

    /// Where a program registers its own sources (tokens from [`FIRST_FREE_TOKEN`] on).
    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// Runs `screen` on `term` until it ends, a signal arrives or the terminal hangs up.
    /// Each turn reads the terminal's input first (so a tick sampled in the turn sees the
    /// newest keys), then does the program's work, then draws if due.
    pub fn run<S: Screen>(&mut self, screen: &mut S, term: &mut Term) -> io::Result<S::End> {
        let mut dirty = true;
        let mut last_draw: Option<Instant> = None;
        loop {
            let now = Instant::now();
            if let Some(end) = screen.end(now) {
                return Ok(end);
            }
            // Sleep until the program needs us, a frame is due, or input/signals arrive.
            let mut wake = screen.wake_by(now);
            if dirty {
                wake = wake.min(last_draw.map_or(now, |t| t + FRAME_INTERVAL));
            }
            let timeout = wake.saturating_duration_since(now);
            match self.poll.poll(&mut self.events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if self.events.iter().any(|e| e.token() == SIGNALS) {
                for sig in self.signals.pending() {
                    if sig == SIGWINCH {
                        // Terminal::draw re-reads the size: a redraw is the re-layout.
                        dirty = true;
                    } else {
                        return Ok(screen.signalled());
                    }
                }
            }
            // Input only when mio says stdin has some; a hung-up stdin ends the loop.
            let StdinState { ready, gone } = StdinState::of(&self.events, STDIN);
            if gone {
                return Ok(screen.signalled());
            }
            while ready && event::poll(Duration::ZERO)? {
                match event::read()? {
                    Event::Resize(..) => dirty = true,
                    ev => dirty |= screen.event(ev, Instant::now()),
                }
            }
            match screen.turn(Instant::now()) {
                ControlFlow::Break(end) => return Ok(end),
                ControlFlow::Continue(changed) => dirty |= changed,
            }
            let now = Instant::now();
            if dirty && last_draw.is_none_or(|t| now >= t + FRAME_INTERVAL) {
                term.draw(|f| screen.draw(f, now))?;
                dirty = false;
                last_draw = Some(now);
            }
        }
    }
}

/// Puts the terminal in the programs' state ([`TerminalGuard`]) and opens a cleared
/// ratatui terminal on stdout.
pub fn enter() -> io::Result<(TerminalGuard, Term)> {
    let guard = TerminalGuard::enter()?;
    let mut term = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    term.clear()?;
    Ok((guard, term))
}
