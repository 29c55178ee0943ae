//! `venture-replay play FILE`: watch a recorded session in the terminal, with the terminal
//! client's renderer, guard and narrator.
//!
//! - [`timeline`]: the log in memory, verified once; seeking by keyframes plus
//!   re-simulation; the playable range ends before the first bad tick.
//! - [`controls`]: keys into actions, speeds, the seek prompt's syntax.
//! - [`state`]: the viewer (playing/paused, speed, follow, log, prompt, help).
//! - [`draw`]: the screen: the client's renderer plus the viewer's status line and help.
//! - [`app`]: the terminal loop.

pub mod app;
pub mod controls;
pub mod draw;
pub mod state;
pub mod timeline;

pub use app::{run, run_with, Ended, PlayError};
pub use state::Viewer;
pub use timeline::{Halt, LoadError, SeekError, Timeline, MAX_LOG_BYTES};
