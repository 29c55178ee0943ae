//! The game rules that run inside [`World::step`], in this fixed order each tick:
//!
//! 1. commands (join / leave), in world.rs;
//! 2. players: respawn countdown, status effects, mana regeneration, cooldowns;
//! 3. player actions in slot order: USE_ITEM, INTERACT, DROP (edge-triggered), ATTACK,
//!    CAST;
//! 4. player movement (world.rs), then automatic pickup of ground items;
//! 5. navigation goals (every decision period) and monsters in id order: status effects,
//!    AI decision (every 0.5 s, staggered by id), movement, attacks;
//! 6. summoned allies in id order: expiry, then a blow at the nearest monster, a step
//!    towards it, or following the summoner;
//! 7. projectiles in id order: travel, collision with walls and monsters, explosions;
//! 8. dead monsters give XP and gold to their last hitter and may drop loot; dead players
//!    start their respawn countdown;
//! 9. the descend check.
//!
//! Rules we chose where GAME_RULES.md is silent (each documented at its constant):
//! - **No respawning monsters:** monsters spawn only when a level is generated (at
//!   `World::new` and on descending). A cleared room stays cleared for the life of the level.
//! - **XP** of a kill is the monster's rolled XP: template XP x (1 + 0.15 x (level - 1)) x
//!   rarity multiplier (1 / 1.2 / 1.5 / 2 / 3), computed by `roll_monster`. It goes to the
//!   player who hit the monster last (also for a kill by burning). Gold: XP / 2 + 1.
//! - **Death:** a dead player respawns at the level's spawn after 3 s with full HP and
//!   mana, keeps level, XP and items, and loses 10% of its gold (rounded down).
//! - **Balance (issue 24),** measured with `venture-world --balance` (the README has the
//!   table): a monster's natural weapon adds nothing to its attack stat
//!   (`MONSTER_WEAPON_PERMILLE`), it strikes every 2 s (`MONSTER_ATTACK_COOLDOWN_MS`),
//!   never through walls or trees, and at most two go for one player at once
//!   (`MAX_ATTACKERS_PER_PLAYER`); bosses notice players within 2 tiles only
//!   (`BOSS_DETECT_RANGE`); monsters keep a quiet ring round the spawn at depth 1
//!   (`SAFE_SPAWN_RADIUS`, shrinking with depth); a respawned player has 5 s of grace
//!   (`RESPAWN_GRACE_MS`); out of combat HP comes back (`REST_DELAY_MS`,
//!   `REST_REGEN_PERCENT_PER_SEC`). Monster rarity and the heavies' defense are in
//!   `content/`.
//! - **Descending:** when every living player (at least one) stands on the exit stairs or
//!   a tile next to them, the party descends: depth + 1, difficulty + 0.1, a new level from
//!   (seed, depth) with new monsters; players are placed at the new spawn.
//!
//! Each step of that order lives in its own module: `population.rs` (level contents and
//! player placement), `players.rs` (upkeep and actions), `spells.rs`, `allies.rs`
//! (summoned allies), `loot.rs` (pickup,
//! deaths, drops, XP), `monsters.rs` (navigation goals and AI), `projectiles.rs` and
//! `descend.rs` (descending and level generation). This file runs them in order.

mod allies;
mod descend;
mod loot;
mod monsters;
mod players;
mod population;
mod projectiles;
mod spells;
#[cfg(test)]
mod tests;

pub use allies::{
    ally_stats, ALLY_ATTACK_COOLDOWN_MS, ALLY_CATCH_UP, ALLY_FOLLOW, ALLY_REACH, ALLY_SIGHT,
    ALLY_SPEED_PX,
};
pub(crate) use descend::generate_level;
pub use descend::DIFFICULTY_PER_DEPTH;
pub use loot::{DROP_PERMILLE, PICKUP_RADIUS, STRONG_DROP_PERMILLE};
pub use monsters::{
    BOSS_DETECT_RANGE, CHASE_SPEED_PERMILLE, DECIDE_MS, DETECT_RANGE, FLEE_BELOW_PERMILLE,
    FLEE_SPEED_PERMILLE, LEASH_RANGE, LOSE_RANGE, MAX_ATTACKERS_PER_PLAYER,
    MONSTER_ATTACK_COOLDOWN_MS, MONSTER_WEAPON_PERMILLE, PATROL_CHANCE_PERMILLE, PATROL_RADIUS,
    PATROL_SPEED_PERMILLE, RETURN_SPEED_PERMILLE,
};
pub use players::{
    DEATH_GOLD_LOSS_PERCENT, DROP_DISTANCE, MELEE_COOLDOWN_MS, MELEE_RANGE, PICK_UP_REACH,
    RESPAWN_GRACE_MS, RESPAWN_MS, REST_DELAY_MS, REST_REGEN_PERCENT_PER_SEC, UNEQUIP_BASE,
};
pub(crate) use population::spawn_position;
pub use population::{safe_spawn_radius, SAFE_SPAWN_RADIUS, SAFE_SPAWN_SHRINK_PER_DEPTH};
pub use projectiles::{PROJECTILE_RADIUS, PROJECTILE_SPEED_PX};
pub use spells::{BURN_MS, MAX_BLINK_TILES, MAX_SHIELD};

use crate::entity::{AiState, Monster};
use crate::event::Event;
use crate::input::Frame;
use crate::player::EntityId;
use crate::world::World;

fn alloc(next: &mut u32) -> EntityId {
    let id = EntityId(*next);
    *next = next.saturating_add(1);
    id
}

/// Applies a resolved hit to a monster: damage, event, aggro on the hitter.
fn hurt_monster(
    m: &mut Monster,
    events: &mut Vec<Event>,
    source: EntityId,
    slot: u8,
    amount: i32,
    crit: bool,
    evaded: bool,
) {
    if evaded {
        events.push(Event::Evaded {
            source,
            target: m.id,
        });
        return;
    }
    m.hp = m.hp.saturating_sub(amount.max(0));
    m.last_hitter = Some(slot);
    if matches!(m.ai, AiState::Idle | AiState::Patrol | AiState::Return) {
        // Being hit wakes a monster up: it goes for the attacker.
        m.ai = AiState::Chase;
        m.target = Some(slot);
    }
    events.push(Event::Damage {
        source,
        target: m.id,
        amount,
        crit,
    });
}

impl World {
    /// Everything after commands: see the module docs for the order.
    pub(crate) fn run_rules(&mut self, frame: &Frame) {
        self.players_tick();
        self.player_actions(frame);
        let speed = crate::units::per_tick(
            crate::player::PLAYER_SPEED_PER_SEC,
            self.state.config.tick_rate,
        );
        let map = &self.state.level.map;
        for (slot, player) in self.state.players.iter_mut().enumerate() {
            if let Some(player) = player {
                if player.alive() {
                    player.apply_movement(map, &frame.input(slot), speed);
                } else {
                    player.last_input = frame.input(slot);
                }
            }
        }
        self.pickups();
        self.update_nav();
        self.monsters_tick();
        self.allies_tick();
        self.projectiles_tick();
        self.reap_monsters();
        self.reap_players();
        self.check_descend();
    }
}

/// Applies one status-effect pulse of `delta` HP (damage over time or regeneration) and
/// reports damage as an event from no source. Healing never lifts HP above `max`; damage
/// never lifts it either (an HP above a lowered maximum stays until hurt). Players stop at
/// 0 (`floor_at_zero`); monsters may go below, which is how their death is seen.
pub(crate) fn pulse_hp(
    hp: &mut i32,
    delta: i32,
    max: i32,
    floor_at_zero: bool,
    target: EntityId,
    events: &mut Vec<Event>,
) {
    let before = *hp;
    let raised = hp.saturating_add(delta);
    *hp = if floor_at_zero {
        raised.clamp(0, max.max(before))
    } else {
        raised.min(max.max(before))
    };
    if delta < 0 {
        events.push(Event::Damage {
            source: EntityId(0),
            target,
            amount: before.saturating_sub(*hp),
            crit: false,
        });
    } else {
        *hp = (*hp).min(max);
    }
}
