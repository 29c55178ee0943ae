//! Players: who is in which slot, where they are, and how their input moves them.

use crate::input::PlayerInput;
use crate::map::TileMap;
use crate::movement::{move_body, BODY_HALF};
use crate::units::{px, scale_to_length, Vec2};
use serde::{Deserialize, Serialize};

/// The rules' maximum movement speed: 200 px/s.
pub const PLAYER_SPEED_PER_SEC: i32 = px(200);
/// Inputs are analog in -127..=127 per axis; full deflection is full speed.
const FULL_DEFLECTION: i32 = 127;

/// Monotonic entity id: allocated in order, never reused, and the order of iteration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EntityId(pub u32);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Player {
    pub id: EntityId,
    pub name: String,
    pub pos: Vec2,
    /// Last non-zero aim or movement direction, as an input-scale vector.
    pub facing: (i8, i8),
    /// The previous tick's input (edge-triggered actions compare against it).
    pub last_input: PlayerInput,
}

impl Player {
    pub fn new(id: EntityId, name: String, pos: Vec2) -> Self {
        Player {
            id,
            name,
            pos,
            facing: (0, 1),
            last_input: PlayerInput::IDLE,
        }
    }

    /// Applies one tick of movement input at `speed_per_tick` units of full-speed travel.
    pub fn apply_movement(&mut self, map: &TileMap, input: &PlayerInput, speed_per_tick: i32) {
        let mx = (input.move_x as i32).clamp(-FULL_DEFLECTION, FULL_DEFLECTION);
        let my = (input.move_y as i32).clamp(-FULL_DEFLECTION, FULL_DEFLECTION);
        // Partial deflection moves slower; anything past full deflection (including the
        // diagonal corner of the input square) is capped at full speed.
        let deflection =
            crate::units::isqrt((mx * mx + my * my) as i64).min(FULL_DEFLECTION as i64) as i32;
        let delta = scale_to_length(mx, my, speed_per_tick * deflection / FULL_DEFLECTION);
        self.pos = move_body(map, self.pos, delta, BODY_HALF);
        if input.aim_x != 0 || input.aim_y != 0 {
            self.facing = (input.aim_x, input.aim_y);
        } else if mx != 0 || my != 0 {
            self.facing = (mx as i8, my as i8);
        }
        self.last_input = *input;
    }
}
