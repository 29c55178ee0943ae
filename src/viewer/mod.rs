//! `venture-replay play FILE`: watch a recorded session in the terminal, with the terminal
//! UI the client uses too (`crate::tui`: renderer, terminal guard, loop).
//!
//! - `venture_replay::timeline`: the log in memory, verified once; seeking by keyframes
//!   plus re-simulation; the playable range ends before the first bad tick.
//! - `venture_play::replay_view` (the viewer: playing/paused, speed, follow, log, prompt,
//!   help) and `venture_play::replay_controls` (actions, speeds, seek syntax): shared
//!   with the browser.
//! - [`controls`]: the terminal's keys into actions; [`keys`]: a key into the viewer (the
//!   seek prompt's editing).
//! - [`draw`]: the screen: the shared renderer plus the viewer's status line and help.
//! - [`app`]: playback in the shared terminal loop.

pub mod app;
pub mod controls;
pub mod draw;
pub mod keys;

pub use app::{run, run_with, Ended, PlayError};
pub use venture_play::replay_view::Viewer;
pub use venture_replay::timeline::{Halt, LoadError, SeekError, Timeline, MAX_LOG_BYTES};
