//! The terminal's state while playing, and putting it back on every way out: a guard that
//! restores on drop (quit, error), a panic hook that restores before the panic message
//! prints, and (in the app) SIGINT/SIGTERM/SIGHUP handled in the event loop, which then
//! leaves through the guard. Restoring is idempotent.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::crossterm::event::{
    KeyboardEnhancementFlags, PopKeyboardEnhancementFlags, PushKeyboardEnhancementFlags,
};
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, supports_keyboard_enhancement, EnterAlternateScreen,
    LeaveAlternateScreen,
};
use ratatui::crossterm::{cursor, execute};

/// Whether the terminal is in our state (raw, alternate screen) right now.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Whether we pushed keyboard enhancement flags that must be popped.
static ENHANCED: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back: enhancement flags popped, alternate screen left, cursor shown,
/// raw mode off. Safe to call any number of times, from any exit path.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    if ENHANCED.swap(false, Ordering::SeqCst) {
        let _ = execute!(out, PopKeyboardEnhancementFlags);
    }
    let _ = execute!(out, LeaveAlternateScreen, cursor::Show);
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// The terminal set up for play; restores it when dropped.
pub struct TerminalGuard {
    /// The terminal reports key releases (keyboard enhancement is on).
    pub key_releases: bool,
}

impl TerminalGuard {
    /// Raw mode, alternate screen, hidden cursor, and key-release reporting when the
    /// terminal supports it (`VENTURE_NO_KEY_RELEASE=1` turns that off, for testing the
    /// fallback on terminals that have it).
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut out = io::stdout();
        if let Err(e) = execute!(out, EnterAlternateScreen, cursor::Hide) {
            restore();
            return Err(e);
        }
        let wanted = std::env::var_os("VENTURE_NO_KEY_RELEASE").is_none();
        let key_releases = wanted && supports_keyboard_enhancement().unwrap_or(false);
        if key_releases {
            let flags = KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES
                | KeyboardEnhancementFlags::REPORT_EVENT_TYPES;
            if execute!(out, PushKeyboardEnhancementFlags(flags)).is_ok() {
                ENHANCED.store(true, Ordering::SeqCst);
            }
        }
        Ok(TerminalGuard {
            key_releases: key_releases && ENHANCED.load(Ordering::SeqCst),
        })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // Restore first, or the message lands on the alternate screen and vanishes.
        restore();
        previous(info);
    }));
}

/// What mio's events say of the terminal's stdin (registered under `token`): whether it
/// has input, and whether it hung up. Ask crossterm for input only when it is `ready`: on
/// a terminal that went away (SSH dropped, tmux pane killed) crossterm's reader re-reads
/// EOF forever inside `poll` (crossterm issue #793), so a `gone` stdin must end the loop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StdinState {
    pub ready: bool,
    pub gone: bool,
}

impl StdinState {
    pub fn of(events: &mio::Events, token: mio::Token) -> StdinState {
        let mut state = StdinState::default();
        for e in events.iter().filter(|e| e.token() == token) {
            state.ready |= e.is_readable();
            state.gone |= e.is_read_closed() || e.is_error();
        }
        state
    }
}

/// The terminal's colour capability: `NO_COLOR` (any value, per no-color.org) or a terminal
/// that reports no colours gives monochrome; anything else 256 colours.
pub fn detect_colors() -> venture_play::view::ColorMode {
    use venture_play::view::ColorMode;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb" || t.is_empty());
    let colors = ratatui::crossterm::style::available_color_count();
    if no_color || dumb || colors < 8 {
        ColorMode::Mono
    } else {
        ColorMode::Indexed
    }
}
