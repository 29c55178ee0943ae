//! The terminal UI the terminal client (`src/client/tui`) and the replay viewer
//! (`src/viewer`) share; it depends on neither.
//!
//! * [`render`]: a pure function of (`&World`, `venture_play::view::ViewState`, area) into
//!   a ratatui buffer (no network): the map, the HUD, the overlays, the screens without a
//!   world;
//! * [`theme`]: ratatui styles over `venture_play::palette` (256 colours or monochrome);
//! * [`terminal`]: the terminal's state while a program runs in it, restored on every way
//!   out, the stdin readiness rule and colour detection;
//! * [`event_loop`]: the one loop around both programs: the terminal's stdin and the
//!   signals in a mio poll, at most 30 frames a second, drawn only when something changed.
//!
//! The message log's narration, the inert text helpers and the view state are
//! `venture_play`'s (`narrate`, `text`, `view`), shared with the browser client.

pub mod event_loop;
pub mod render;
pub mod terminal;
pub mod theme;

#[cfg(test)]
mod tests;
