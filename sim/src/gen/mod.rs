//! Terrain generation: each generator turns (random stream, size) into a [`Level`]: the tile
//! map, its rooms (if it has any), the spawn point and the exit. Every generator guarantees
//! that all walkable tiles are reachable from the spawn and that spawn and exit differ.

pub mod bsp;

use crate::map::{Room, TileMap};
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
