//! venture-sim: Venture's deterministic simulation.
//!
//! Everything here is pure: no I/O, no clocks, no threads, no floats in state or in
//! [`World::step`]. The same configuration and the same frames give the same checksums on
//! every machine and in debug and release builds. See ARCHITECTURE.md for the map of the
//! crate and docs/DETERMINISM.md for the determinism contract.

#![forbid(unsafe_code)]
// The determinism contract (docs/DETERMINISM.md) as far as the compiler can hold it: no
// float arithmetic; no float, hash-map, clock types and no thread, environment or file
// calls (the lists are in sim/clippy.toml). `deny`, not `warn`, so a plain `cargo clippy`
// fails too, not only CI's `-D warnings` run.
#![deny(
    clippy::float_arithmetic,
    clippy::disallowed_types,
    clippy::disallowed_methods
)]
// Arithmetic on state is explicit (saturating, checked or wrapping; the fixed-point helpers
// in `units` saturate) so an overflow behaves the same in debug and release builds, and
// is never a panic in `step` (a crash loop after every restart). Operators remain only
// under an `allow` whose reason proves the bound. Test code is exempt.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod input;
pub mod map;
pub mod units;

pub use input::{buttons, valid_name, Command, Frame, PlayerInput, Progress, MAX_SLOTS};
pub use map::{Rect, Room, RoomKind, Tile, TileMap};
pub use units::{Vec2, SUB};
pub mod content;
pub mod gen;
pub mod genre;
pub mod rng;
pub use genre::Genre;
pub mod config;
pub mod event;
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
