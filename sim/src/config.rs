//! What a world is generated from, and its validation.

use crate::gen::GeneratorKind;
use crate::genre::Genre;
use crate::input::MAX_SLOTS;
use crate::map::{MAX_SIDE, MIN_SIDE};
use serde::{Deserialize, Serialize};

pub const DEFAULT_SIDE: u16 = 100;
pub const MIN_TICK_RATE: u32 = 1;
pub const MAX_TICK_RATE: u32 = 60;
/// Deepest level a world can reach (keeps every depth-scaled number far from overflow).
pub const MAX_DEPTH: u32 = 1000;
/// Difficulty is in permille: 500 is the rules' 0.5. Capped at 10.0.
pub const MAX_DIFFICULTY_PERMILLE: u32 = 10_000;

/// Everything a world is generated from. Two worlds with equal configs are identical.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimConfig {
    pub seed: u64,
    pub genre: Genre,
    /// Dungeon depth, 1 at the start (the rules: deeper levels add 0.1 difficulty each).
    pub depth: u32,
    /// Difficulty in permille (500 = 0.5, the rules' starting difficulty).
    pub difficulty_permille: u32,
    pub width: u16,
    pub height: u16,
    /// Ticks per second: speeds and durations per tick derive from it.
    pub tick_rate: u32,
    /// Player slots (1..=64).
    pub max_players: u8,
    /// Force a terrain generator instead of the genre's choice for the depth.
    pub generator: Option<GeneratorKind>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 12345,
            genre: Genre::Fantasy,
            depth: 1,
            difficulty_permille: 500,
            width: DEFAULT_SIDE,
            height: DEFAULT_SIDE,
            tick_rate: 20,
            max_players: 4,
            generator: None,
        }
    }
}

/// A configuration value out of range; the message names the field and the valid range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {value} (valid: {valid})")]
pub struct ConfigError {
    pub field: &'static str,
    pub value: String,
    pub valid: String,
}

impl SimConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field, value: String, valid: String| {
            Err(ConfigError {
                field,
                value,
                valid,
            })
        };
        if !(MIN_SIDE..=MAX_SIDE).contains(&self.width) {
            return bad(
                "width",
                self.width.to_string(),
                format!("{MIN_SIDE} to {MAX_SIDE}"),
            );
        }
        if !(MIN_SIDE..=MAX_SIDE).contains(&self.height) {
            return bad(
                "height",
                self.height.to_string(),
                format!("{MIN_SIDE} to {MAX_SIDE}"),
            );
        }
        if !(MIN_TICK_RATE..=MAX_TICK_RATE).contains(&self.tick_rate) {
            return bad(
                "tick rate",
                self.tick_rate.to_string(),
                format!("{MIN_TICK_RATE} to {MAX_TICK_RATE}"),
            );
        }
        if self.max_players == 0 || self.max_players as usize > MAX_SLOTS {
            return bad(
                "max players",
                self.max_players.to_string(),
                format!("1 to {MAX_SLOTS}"),
            );
        }
        if !(1..=MAX_DEPTH).contains(&self.depth) {
            return bad("depth", self.depth.to_string(), format!("1 to {MAX_DEPTH}"));
        }
        if self.difficulty_permille > MAX_DIFFICULTY_PERMILLE {
            return bad(
                "difficulty",
                format!("{}", self.difficulty_permille),
                format!("0 to {MAX_DIFFICULTY_PERMILLE} permille"),
            );
        }
        Ok(())
    }

    /// The generator this configuration uses.
    pub fn generator_kind(&self) -> GeneratorKind {
        self.generator
            .unwrap_or_else(|| self.genre.generator_for_depth(self.depth))
    }
}
