//! Everything a Venture client needs besides drawing and its event source, shared by the
//! terminal client (`venture`'s `client::tui`, drawn by `venture`'s `tui`) and the browser
//! client (`venture-web`): [`keys`] (key events into one `PlayerInput` per tick; the spell
//! keys and the controls' texts from the spellbook's length), [`inventory`] (the inventory
//! window's rows, keys and texts), [`view`] (what the screen shows
//! besides the world), [`narrate`] (the message log from confirmed ticks only), [`text`]
//! (network strings made inert), [`palette`] (glyphs and colours per genre), [`names`], and
//! the replay viewer's model ([`replay_view`], [`replay_controls`]) over
//! `venture_replay::Timeline`. It depends on `venture-sim` and `venture-replay` only, so it
//! builds for wasm32.

#![forbid(unsafe_code)]

pub mod inventory;
pub mod keys;
pub mod names;
pub mod narrate;
pub mod palette;
pub mod replay_controls;
pub mod replay_view;
pub mod text;
pub mod view;
