//! The terminal client a person plays: ratatui + crossterm.
//!
//! Three parts kept apart: [`render`] (a pure function of world, [`view::ViewState`] and
//! size into a buffer; no network, shared with spectator and replay views), [`input`]
//! (crossterm key events into the shared `venture_play::keys` mapper: one `PlayerInput` per
//! tick) and [`app`] (the loop around the network
//! session). [`narrate`] (the message log from confirmed ticks), [`text`] (network
//! strings made inert) and [`view`] live in `venture-play`; [`terminal`] restores the terminal on every way out.

pub mod app;
pub mod input;
pub mod name;
pub mod render;
pub mod spectate;
pub mod terminal;
// Shared with the browser client (crate `venture-play`); re-exported under their old
// paths so the terminal's modules and the replay viewer read them where they always did.
pub use venture_play::{narrate, text, view};

#[cfg(test)]
mod tests;
