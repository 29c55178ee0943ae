//! The terminal client a person plays: ratatui + crossterm.
//!
//! Three parts kept apart: [`render`] (a pure function of world, [`view::ViewState`] and
//! size into a buffer; no network, shared with spectator and replay views), [`input`]
//! (key events into one `PlayerInput` per tick) and [`app`] (the loop around the network
//! session). [`narrate`] turns confirmed ticks into the message log; [`text`] makes
//! network strings inert; [`terminal`] restores the terminal on every way out.

pub mod app;
pub mod input;
pub mod name;
pub mod narrate;
mod overlay_names;
pub mod render;
pub mod spectate;
pub mod terminal;
pub mod text;
pub mod view;

#[cfg(test)]
mod tests;
