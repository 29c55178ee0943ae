//! Terrain generation: each generator turns (random stream, size) into a [`Level`]: the tile
//! map, its rooms (if it has any), the spawn point and the exit. Every generator guarantees
//! that all walkable tiles are reachable from the spawn and that spawn and exit differ.

pub mod bsp;
pub mod caves;
pub mod city;
mod common;
pub mod composite;
pub mod forest;
pub mod maze;

use crate::map::{Room, TileMap};
use crate::rng::Stream;
use serde::{Deserialize, Serialize};

/// The terrain generators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GeneratorKind {
    Bsp,
    Caves,
    Maze,
    Forest,
    City,
    Composite,
}

impl GeneratorKind {
    pub const ALL: [GeneratorKind; 6] = [
        GeneratorKind::Bsp,
        GeneratorKind::Caves,
        GeneratorKind::Maze,
        GeneratorKind::Forest,
        GeneratorKind::City,
        GeneratorKind::Composite,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            GeneratorKind::Bsp => "bsp",
            GeneratorKind::Caves => "caves",
            GeneratorKind::Maze => "maze",
            GeneratorKind::Forest => "forest",
            GeneratorKind::City => "city",
            GeneratorKind::Composite => "composite",
        }
    }

    pub fn from_name(name: &str) -> Option<GeneratorKind> {
        GeneratorKind::ALL
            .into_iter()
            .find(|g| g.name().eq_ignore_ascii_case(name))
    }
}

/// A generated level: the terrain plus where things are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    pub generator: GeneratorKind,
    pub map: TileMap,
    /// Rooms in generation order: the first is the spawn room, the last the exit room.
    /// Room-less generators synthesise small areas around spawn and exit.
    pub rooms: Vec<Room>,
    /// Spawn tile (walkable).
    pub spawn: (i32, i32),
    /// Exit tile: stairs down.
    pub exit: (i32, i32),
}

/// Generates a level with the generator `kind`. Sides must be in
/// `MIN_SIDE..=MAX_SIDE` (20..=1024); every generator upholds the guarantees documented on
/// [`Level`] for every size in that range.
pub fn generate(kind: GeneratorKind, rng: &mut Stream, width: u16, height: u16) -> Level {
    match kind {
        GeneratorKind::Bsp => bsp::generate(rng, width, height),
        GeneratorKind::Caves => caves::generate(rng, width, height),
        GeneratorKind::Maze => maze::generate(rng, width, height),
        GeneratorKind::Forest => forest::generate(rng, width, height),
        GeneratorKind::City => city::generate(rng, width, height),
        GeneratorKind::Composite => composite::generate(rng, width, height),
    }
}
