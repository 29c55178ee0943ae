//! Fixed-point units of space and time shared by every rule.
//!
//! Space is measured in integer sub-tile units: one tile is [`SUB`] units, so one pixel
//! of the original game (32 px per tile) is 8 units. Time is measured in ticks; rules
//! written in seconds are converted with the world's tick rate, rounding up so a
//! non-zero duration never becomes zero ticks.

use serde::{Deserialize, Serialize};

/// Sub-tile units per tile.
pub const SUB: i32 = 256;
/// Sub-tile units per pixel of the original game (32 px per tile).
pub const SUB_PER_PX: i32 = SUB / 32;

/// Converts a distance in the original game's pixels to sub-tile units.
pub const fn px(pixels: i32) -> i32 {
    pixels.saturating_mul(SUB_PER_PX)
}

/// Converts whole tiles to sub-tile units.
pub const fn tiles(n: i32) -> i32 {
    n.saturating_mul(SUB)
}

/// A point or displacement in sub-tile units.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Vec2 {
    pub x: i32,
    pub y: i32,
}

impl Vec2 {
    pub const ZERO: Vec2 = Vec2 { x: 0, y: 0 };

    pub const fn new(x: i32, y: i32) -> Self {
        Vec2 { x, y }
    }

    /// The centre of tile (tx, ty).
    pub const fn tile_centre(tx: i32, ty: i32) -> Self {
        Vec2 {
            x: tx.saturating_mul(SUB).saturating_add(SUB / 2),
            y: ty.saturating_mul(SUB).saturating_add(SUB / 2),
        }
    }

    /// The tile this point lies in (floor division, so negative points map left/up).
    pub const fn tile(self) -> (i32, i32) {
        (self.x.div_euclid(SUB), self.y.div_euclid(SUB))
    }

    /// Squared distance as i64: positions are bounded by the map (at most 1024 tiles of
    /// 256 units), so the square of any difference fits comfortably; points further apart
    /// than any map saturate instead of wrapping.
    pub fn dist_sq(self, other: Vec2) -> i64 {
        // Differences of two i32 always fit an i64.
        let dx = (self.x as i64).saturating_sub(other.x as i64);
        let dy = (self.y as i64).saturating_sub(other.y as i64);
        dx.saturating_mul(dx).saturating_add(dy.saturating_mul(dy))
    }

    /// True when `other` is within `radius` units (inclusive).
    pub fn within(self, other: Vec2, radius: i32) -> bool {
        let r = radius as i64;
        self.dist_sq(other) <= r.saturating_mul(r)
    }
}

/// Integer square root (floor) of an i64; 0 for negatives. Exact integer math, no floats.
pub fn isqrt(n: i64) -> i64 {
    if n <= 0 {
        0
    } else {
        n.isqrt()
    }
}

/// Scales a direction (dx, dy) to length at most `len`, or zero for a zero direction.
/// Used for normalised movement and projectile velocities. The magnitude is rounded up so
/// the result never exceeds `len` (diagonals are never faster than straight lines).
pub fn scale_to_length(dx: i32, dy: i32, len: i32) -> Vec2 {
    let (dx, dy, len) = (dx as i64, dy as i64, len as i64);
    let sq = dx.saturating_mul(dx).saturating_add(dy.saturating_mul(dy));
    let mut mag = isqrt(sq);
    // mag = floor(sqrt(sq)), so mag * mag <= sq fits.
    if mag.saturating_mul(mag) < sq {
        mag = mag.saturating_add(1);
    }
    let Some(x) = dx.saturating_mul(len).checked_div(mag) else {
        return Vec2::ZERO; // a zero direction
    };
    let y = dy.saturating_mul(len).checked_div(mag).unwrap_or(0);
    Vec2 {
        x: x as i32,
        y: y as i32,
    }
}

/// Converts a duration in milliseconds to ticks at `tick_rate` Hz, rounding up.
pub const fn ticks_from_millis(ms: u32, tick_rate: u32) -> u32 {
    // Exact: a product of two u32 always fits a u64.
    let num = (ms as u64).saturating_mul(tick_rate as u64);
    num.div_ceil(1000) as u32
}

/// Converts a per-second rate (units/s) to units per tick, rounding down but never to 0
/// for a positive rate.
pub const fn per_tick(per_second: i32, tick_rate: u32) -> i32 {
    // The tick rate is validated (1 to 60); 0 would mean no ticks, so no movement.
    let v = match per_second.checked_div(tick_rate as i32) {
        Some(v) => v,
        None => 0,
    };
    if v == 0 && per_second > 0 {
        1
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isqrt_is_exact_floor() {
        for n in 0..10_000i64 {
            let r = isqrt(n);
            assert!(r * r <= n && (r + 1) * (r + 1) > n, "isqrt({n}) = {r}");
        }
        assert_eq!(isqrt(i64::MAX), 3_037_000_499);
    }

    #[test]
    fn diagonal_movement_is_normalised() {
        let d = scale_to_length(127, 127, 1000);
        assert!(
            d.x == d.y && (700..=708).contains(&d.x) && d.x * d.x * 2 <= 1_000_000,
            "{d:?}"
        );
        assert_eq!(scale_to_length(0, 0, 1000), Vec2::ZERO);
    }

    #[test]
    fn durations_round_up() {
        assert_eq!(ticks_from_millis(500, 20), 10);
        assert_eq!(ticks_from_millis(500, 1), 1);
        assert_eq!(ticks_from_millis(1, 60), 1);
        assert_eq!(per_tick(1600, 60), 26);
        assert_eq!(per_tick(5, 60), 1);
    }

    #[test]
    fn tiles_and_points() {
        assert_eq!(Vec2::tile_centre(3, 4).tile(), (3, 4));
        assert_eq!(Vec2::new(-1, -1).tile(), (-1, -1));
        assert_eq!(px(32), SUB);
    }
}
