//! Terrain generation: each generator turns (random stream, size) into a [`Level`]: the tile
//! map, its rooms (if it has any), the spawn point and the exit. Every generator guarantees
//! that all walkable tiles are reachable from the spawn and that spawn and exit differ.

// The generators do index and coordinate arithmetic on tile positions and counts. Every
// value derives from the map's sides, which every public generator entry clamps to
// MIN_SIDE..=MAX_SIDE (20..=1024, `clamp_sides`), and from random draws bounded by them: the largest products are areas
// (at most 2^20) and sub-tile positions (at most 2^18), far inside i32 and usize. So no
// operation here can overflow, in debug or release, and the lint is allowed for them.
#[allow(
    clippy::arithmetic_side_effects,
    reason = "bounded by the clamped map sides (see above)"
)]
pub mod bsp;
#[allow(
    clippy::arithmetic_side_effects,
    reason = "bounded by the clamped map sides (see above)"
)]
pub mod caves;
#[allow(
    clippy::arithmetic_side_effects,
    reason = "bounded by the clamped map sides (see above)"
)]
pub mod city;
#[allow(
    clippy::arithmetic_side_effects,
    reason = "bounded by the clamped map sides (see above)"
)]
mod common;
#[allow(
    clippy::arithmetic_side_effects,
    reason = "bounded by the clamped map sides (see above)"
)]
pub mod composite;
#[allow(
    clippy::arithmetic_side_effects,
    reason = "bounded by the clamped map sides (see above)"
)]
pub mod forest;
#[allow(
    clippy::arithmetic_side_effects,
    reason = "bounded by the clamped map sides (see above)"
)]
pub mod maze;

use crate::map::{Room, TileMap, MAX_SIDE, MIN_SIDE};
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

/// The sides every generator works with: clamped to `MIN_SIDE..=MAX_SIDE`. Each public
/// generator entry point applies it (callers may reach `gen::bsp::generate` directly), so
/// the bound the modules' arithmetic relies on holds on every path.
pub(crate) fn clamp_sides(width: u16, height: u16) -> (u16, u16) {
    (
        width.clamp(MIN_SIDE, MAX_SIDE),
        height.clamp(MIN_SIDE, MAX_SIDE),
    )
}

/// A generator made of a draft and the shared finishing pass ([`common::finish`]): the
/// sides clamped, the draft drawn, then finished, from the same stream.
fn drafted(
    rng: &mut Stream,
    width: u16,
    height: u16,
    draft: fn(&mut Stream, u16, u16) -> common::Draft,
) -> Level {
    let (width, height) = clamp_sides(width, height);
    let d = draft(rng, width, height);
    common::finish(rng, d)
}

/// Generates a level with the generator `kind`. Sides are clamped to
/// `MIN_SIDE..=MAX_SIDE` (20..=1024: `SimConfig` validation already refuses others); every
/// generator upholds the guarantees documented on [`Level`] for every size in that range,
/// and the clamp is what keeps the generators' arithmetic in bounds.
pub fn generate(kind: GeneratorKind, rng: &mut Stream, width: u16, height: u16) -> Level {
    let (width, height) = clamp_sides(width, height);
    match kind {
        GeneratorKind::Bsp => bsp::generate(rng, width, height),
        GeneratorKind::Caves => caves::generate(rng, width, height),
        GeneratorKind::Maze => maze::generate(rng, width, height),
        GeneratorKind::Forest => forest::generate(rng, width, height),
        GeneratorKind::City => city::generate(rng, width, height),
        GeneratorKind::Composite => composite::generate(rng, width, height),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::{MAX_SIDE, MIN_SIDE};
    use crate::rng::Purpose;

    #[test]
    fn dispatch_reaches_every_generator_deterministically() {
        for kind in GeneratorKind::ALL {
            let a = generate(kind, &mut Stream::new(12345, Purpose::Terrain), 100, 100);
            let b = generate(kind, &mut Stream::new(12345, Purpose::Terrain), 100, 100);
            assert_eq!(a.generator, kind);
            assert_eq!(a, b, "{kind:?}");
            common::check_level(&a, kind.name());
            let c = generate(kind, &mut Stream::new(12346, Purpose::Terrain), 100, 100);
            assert_ne!(a.map, c.map, "{kind:?}: seed ignored");
        }
    }

    #[test]
    fn extreme_sizes_never_panic() {
        for kind in GeneratorKind::ALL {
            for (w, h) in [
                (MIN_SIDE, MIN_SIDE),
                (MIN_SIDE + 1, MIN_SIDE),
                (MIN_SIDE, MIN_SIDE + 3),
                (MIN_SIDE, MAX_SIDE),
                (MAX_SIDE, MIN_SIDE),
            ] {
                let l = generate(kind, &mut Stream::new(1, Purpose::Terrain), w, h);
                common::check_level(&l, &format!("{kind:?} {w}x{h}"));
            }
        }
    }

    /// Every size from 20 to 70 on both sides, every generator (slow in debug:
    /// `cargo test --release -p venture-sim -- --ignored`).
    #[test]
    #[ignore]
    fn size_sweep() {
        for kind in GeneratorKind::ALL {
            for w in MIN_SIDE..=70 {
                for h in MIN_SIDE..=70 {
                    let seed = (w as u64) << 16 | h as u64;
                    let l = generate(kind, &mut Stream::new(seed, Purpose::Terrain), w, h);
                    common::check_level(&l, &format!("{kind:?} {w}x{h}"));
                }
            }
        }
    }

    /// One full-size map per generator (slow in debug; run with --ignored in release).
    #[test]
    #[ignore]
    fn max_size() {
        for kind in GeneratorKind::ALL {
            let l = generate(
                kind,
                &mut Stream::new(5, Purpose::Terrain),
                MAX_SIDE,
                MAX_SIDE,
            );
            common::check_level(&l, &format!("{kind:?} max"));
        }
    }
}
