//! venture-sim: Venture's deterministic simulation.
//!
//! Everything here is pure: no I/O, no clocks, no threads, no floats in state or in
//! [`World::step`]. The same configuration and the same frames give the same checksums on
//! every machine and in debug and release builds. See ARCHITECTURE.md for the map of the
//! crate and docs/DETERMINISM.md for the determinism contract.
//!
//! - [`world`]: all state, generated from a [`config`] and advanced one tick per frame;
//!   [`snapshot`]: its checksums and snapshots; [`rollback`]: predict, confirm, re-simulate.
//! - [`input`]: per-slot inputs and commands grouped by tick into frames; [`event`]: what a
//!   tick did; [`glossary`]: what the ids in its events name.
//! - [`gameplay`]: the rules run inside `World::step`, in order; [`player`], [`entity`]
//!   (monsters, projectiles, ground items), [`character`] (what a save keeps), [`combat`],
//!   [`stats`], [`status`], [`movement`], [`nav`] (flow-field path finding).
//! - [`map`], [`gen`] (terrain generators), [`genre`], [`content`] (monsters, items, spells),
//!   [`rng`] (deterministic random streams), [`units`] (fixed point).
//! - [`script`]: scripted and bot inputs for tests, benches and the balance harness.
//!
//! Integer overflow behaves the same in debug and release by construction: arithmetic is
//! explicit (saturating, checked or wrapping), enforced by `clippy::arithmetic_side_effects`
//! below. The few places allowed plain operators carry the proven bound beside the allow.
//! Release builds keep overflow checks off on purpose: a panic in `step` would replay into
//! the same panic after every server restart.
#![forbid(unsafe_code)]
#![deny(clippy::arithmetic_side_effects)]
// Tests compute expected values; an overflow there should fail the test loudly.
#![cfg_attr(test, allow(clippy::arithmetic_side_effects))]
// The rest of the contract the compiler can hold: no float arithmetic; no float, hash-map
// or clock types and no thread, environment or file calls (the lists are in
// sim/clippy.toml). `deny`, not `warn`, so a plain `cargo clippy` fails too.
#![deny(
    clippy::float_arithmetic,
    clippy::disallowed_types,
    clippy::disallowed_methods
)]

pub mod input;
pub mod map;
pub mod units;

pub use input::{
    buttons, valid_chat, valid_name, Command, Frame, PlayerInput, Progress, MAX_CHAT_CHARS,
    MAX_SLOTS, PICK_UP_SLOT,
};
pub use map::{Rect, Room, RoomKind, Tile, TileMap};
pub use units::{Vec2, SUB};
pub mod content;
pub mod gen;
pub mod genre;
pub mod rng;
pub use genre::Genre;
pub mod config;
pub mod event;
pub mod glossary;
pub mod movement;
pub mod player;
pub mod rollback;
pub mod snapshot;
pub mod world;

pub use config::SimConfig;
pub use event::Event;
pub use rollback::{Rollback, RollbackError};
pub use snapshot::SnapshotError;
pub use world::{StepError, World, SIM_VERSION};
pub mod character;
pub mod combat;
pub mod entity;
pub mod gameplay;
pub mod nav;
pub mod script;
pub mod stats;
pub mod status;
