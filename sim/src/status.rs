//! Status effects (GAME_RULES.md "Combat"): burning and poison deal damage over time,
//! regeneration heals, strength / weakness / fortify / vulnerability scale stats.
//!
//! Stacking rule (ours; the rules give none): one effect per kind on a creature. Applying a
//! kind it already has keeps the larger magnitude and the longer remaining duration, so
//! spamming a weak effect never extends or weakens a strong one. Periodic effects act once
//! per second of game time, counted from when they were applied.

use crate::stats::Stats;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StatusKind {
    /// Fire damage per second (magnitude = HP per second).
    Burning,
    /// Damage per second (magnitude = HP per second).
    Poison,
    /// Healing per second (magnitude = HP per second).
    Regeneration,
    /// Attack and magic power +magnitude percent.
    Strength,
    /// Attack and magic power -magnitude percent.
    Weakness,
    /// Defense and magic defense +magnitude percent.
    Fortify,
    /// Defense and magic defense -magnitude percent.
    Vulnerability,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub kind: StatusKind,
    pub magnitude: i32,
    pub remaining_ticks: u32,
    /// Ticks since applied (drives the once-per-second pulses).
    pub age_ticks: u32,
}

/// Most effects one creature can carry (one per kind).
pub const MAX_STATUSES: usize = 7;

/// Adds or refreshes an effect per the stacking rule.
pub fn apply(list: &mut Vec<Status>, kind: StatusKind, magnitude: i32, duration_ticks: u32) {
    let magnitude = magnitude.clamp(0, 10_000);
    if let Some(s) = list.iter_mut().find(|s| s.kind == kind) {
        s.magnitude = s.magnitude.max(magnitude);
        s.remaining_ticks = s.remaining_ticks.max(duration_ticks);
    } else if list.len() < MAX_STATUSES {
        list.push(Status {
            kind,
            magnitude,
            remaining_ticks: duration_ticks,
            age_ticks: 0,
        });
        // Kept sorted by kind so iteration order never depends on application order.
        list.sort_by_key(|s| s.kind);
    }
}

/// Advances every effect by one tick; returns the net HP change (negative = damage) from
/// the pulses due this tick, and drops expired effects.
pub fn tick(list: &mut Vec<Status>, tick_rate: u32) -> i32 {
    let mut hp = 0i32;
    for s in list.iter_mut() {
        s.age_ticks = s.age_ticks.saturating_add(1);
        s.remaining_ticks = s.remaining_ticks.saturating_sub(1);
        if s.age_ticks.checked_rem(tick_rate.max(1)) == Some(0) {
            match s.kind {
                StatusKind::Burning | StatusKind::Poison => hp = hp.saturating_sub(s.magnitude),
                StatusKind::Regeneration => hp = hp.saturating_add(s.magnitude),
                _ => {}
            }
        }
    }
    list.retain(|s| s.remaining_ticks > 0);
    hp
}

/// Applies the stat-scaling effects to `stats` (percentages, floored; never below zero).
pub fn modify(stats: &mut Stats, list: &[Status]) {
    let scale = |v: &mut i32, pct: i32| {
        let factor = 100i32.saturating_add(pct).max(0) as i64;
        *v = ((*v as i64).saturating_mul(factor) / 100).clamp(0, i32::MAX as i64) as i32
    };
    for s in list {
        match s.kind {
            StatusKind::Strength | StatusKind::Weakness => {
                let pct = if s.kind == StatusKind::Strength {
                    s.magnitude
                } else {
                    s.magnitude.saturating_neg()
                };
                scale(&mut stats.attack, pct);
                scale(&mut stats.magic_power, pct);
            }
            StatusKind::Fortify | StatusKind::Vulnerability => {
                let pct = if s.kind == StatusKind::Fortify {
                    s.magnitude
                } else {
                    s.magnitude.saturating_neg()
                };
                scale(&mut stats.defense, pct);
                scale(&mut stats.magic_defense, pct);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacking_keeps_the_stronger_and_longer() {
        let mut l = Vec::new();
        apply(&mut l, StatusKind::Poison, 5, 100);
        apply(&mut l, StatusKind::Poison, 3, 200);
        assert_eq!(l.len(), 1);
        assert_eq!((l[0].magnitude, l[0].remaining_ticks), (5, 200));
    }

    #[test]
    fn pulses_once_per_second_and_expires() {
        let mut l = Vec::new();
        apply(&mut l, StatusKind::Burning, 4, 60);
        apply(&mut l, StatusKind::Regeneration, 1, 20);
        let total: i32 = (0..60).map(|_| tick(&mut l, 20)).sum();
        assert_eq!(total, -12 + 1);
        assert!(l.is_empty());
    }

    #[test]
    fn scaling() {
        let mut s = Stats::PLAYER_BASE;
        modify(
            &mut s,
            &[Status {
                kind: StatusKind::Strength,
                magnitude: 50,
                remaining_ticks: 1,
                age_ticks: 0,
            }],
        );
        assert_eq!(s.attack, 15);
        let mut s = Stats::PLAYER_BASE;
        modify(
            &mut s,
            &[Status {
                kind: StatusKind::Vulnerability,
                magnitude: 200,
                remaining_ticks: 1,
                age_ticks: 0,
            }],
        );
        assert_eq!(s.defense, 0);
    }
}
