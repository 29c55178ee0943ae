//! The terminal client a person plays: ratatui + crossterm, drawn by the shared terminal UI
//! (`crate::tui`: renderer, terminal guard, loop).
//!
//! * [`app`]: the game in the shared terminal loop, around the network session (set up and
//!   pumped by `client::shell`);
//! * [`input`]: crossterm key events into the shared `venture_play::keys` mapper (one
//!   `PlayerInput` per tick);
//! * [`spectate`]: the interactive spectator's keys;
//! * [`name`]: the remembered player name.

pub mod app;
pub mod input;
pub mod name;
pub mod spectate;
