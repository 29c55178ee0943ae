//! Monsters: navigation goals for the flow field, and each monster's status effects, AI
//! decision, movement and attacks.

use crate::combat::{resolve, Hit};
use crate::entity::{AiState, Monster};
use crate::event::Event;
use crate::map::TileMap;
use crate::movement::{move_body, BODY_HALF};
use crate::nav::NavGoals;
use crate::rng::Stream;
use crate::status;
use crate::units::{isqrt, px, scale_to_length, ticks_from_millis, Vec2, SUB};
use crate::world::World;

/// GAME_RULES.md: monsters detect players within 200 px.
pub const DETECT_RANGE: i32 = px(200);
/// Our choice (balance, issue 24): a boss guards its room. It notices players only within
/// 3 tiles (or when hit), not at the rules' 200 px, so a newcomer who looks into the boss
/// room from its door is not run down by a fight meant for a party.
pub const BOSS_DETECT_RANGE: i32 = px(64);
/// GAME_RULES.md: monsters flee below 20% HP.
pub const FLEE_BELOW_PERMILLE: i64 = 200;
/// GAME_RULES.md: monsters give up the chase beyond 500 px from home.
pub const LEASH_RANGE: i32 = px(500);
/// GAME_RULES.md: monsters decide every 0.5 s.
pub const DECIDE_MS: u32 = 500;
/// GAME_RULES.md: speed scale per AI state (permille of the template speed, whose base is
/// the rules' 100 px/s).
pub const PATROL_SPEED_PERMILLE: i32 = 500;
pub const CHASE_SPEED_PERMILLE: i32 = 1000;
pub const FLEE_SPEED_PERMILLE: i32 = 1500;
pub const RETURN_SPEED_PERMILLE: i32 = 800;
/// Our choice: patrols wander up to 3 tiles from home; an idle monster starts a patrol
/// with 30% chance per decision, a patrolling one stops with 30%.
pub const PATROL_RADIUS: i32 = 3 * SUB;
pub const PATROL_CHANCE_PERMILLE: u32 = 300;
/// Our choice: a chase is dropped when the target is over 2 x detection range away.
pub const LOSE_RANGE: i32 = 2 * DETECT_RANGE;
/// Our choice (balance, issue 24; was 1 s): a monster attacks once every 1.5 s, a third
/// slower than a player's two swings a second, so a player who fights back wins an even
/// fight.
pub const MONSTER_ATTACK_COOLDOWN_MS: u32 = 2000;
/// Our choice (balance, issue 24; was 1000): a monster's natural weapon deals half its
/// attack (or magic power, for casters) as base damage, plus the stat itself (the combat
/// formula), so a level-1 common monster hits a level-1 player for about 1.5 x its stat
/// minus the player's defense: 4 to 19 instead of 7 to 27.
pub const MONSTER_WEAPON_PERMILLE: i32 = 0;
/// Our choice (balance, issue 24): at most 2 monsters go for the same player at once;
/// others that notice it stay alert (Detect) until a place is free. A monster that is hit
/// joins the fight anyway.
pub const MAX_ATTACKERS_PER_PLAYER: usize = 2;

/// Moves a body straight towards `goal` by at most `speed` units.
pub(super) fn step_toward(map: &TileMap, pos: Vec2, goal: Vec2, speed: i32) -> Vec2 {
    let dx = goal.x.saturating_sub(pos.x);
    let dy = goal.y.saturating_sub(pos.y);
    let dist = isqrt(pos.dist_sq(goal)).min(i32::MAX as i64) as i32;
    let delta = scale_to_length(dx, dy, speed.min(dist));
    move_body(map, pos, delta, BODY_HALF)
}

impl World {
    /// Records the living players' tiles as flow-field goals, once per decision period.
    pub(super) fn update_nav(&mut self) {
        let st = &mut self.state;
        let period = ticks_from_millis(DECIDE_MS, st.config.tick_rate).max(1) as u64;
        if st.tick.checked_rem(period) != Some(0) {
            return;
        }
        let tiles: Vec<(i32, i32)> = st
            .players
            .iter()
            .flatten()
            .filter(|p| p.alive())
            .map(|p| p.pos.tile())
            .collect();
        if st.nav.tiles != tiles {
            st.nav = NavGoals { tiles };
        }
    }

    pub(super) fn monsters_tick(&mut self) {
        let st = &mut self.state;
        if st.monsters.is_empty() {
            return;
        }
        let rate = st.config.tick_rate.max(1);
        let genre = st.config.genre;
        let period = ticks_from_millis(DECIDE_MS, rate).max(1) as u64;
        let cooldown = ticks_from_millis(MONSTER_ATTACK_COOLDOWN_MS, rate);
        let tick = st.tick;
        // Players in their respawn grace are not prey.
        let targets: Vec<(u8, Vec2)> = st
            .players
            .iter()
            .enumerate()
            .filter_map(|(s, p)| {
                p.as_ref()
                    .filter(|p| p.alive() && p.grace_ticks == 0)
                    .map(|p| (s as u8, p.pos))
            })
            .collect();
        // How many monsters are after each slot (chasing or attacking), kept up to date
        // as decisions are made in id order.
        let mut hunters = vec![0usize; st.players.len()];
        for m in st.monsters.iter().filter(|m| m.alive()) {
            if let (Some(t), AiState::Chase | AiState::Attack) = (m.target, m.ai) {
                if let Some(h) = hunters.get_mut(t as usize) {
                    *h = h.saturating_add(1);
                }
            }
        }
        let map = &st.level.map;
        let flow = &mut self.flow;
        let mut field_ready = false;
        for m in st.monsters.iter_mut() {
            if !m.alive() {
                continue;
            }
            if !m.statuses.is_empty() {
                let d = status::tick(&mut m.statuses, rate);
                if d != 0 {
                    let max = m.max_hp(genre);
                    super::pulse_hp(&mut m.hp, d, max, false, m.id, &mut self.events);
                    if !m.alive() {
                        continue;
                    }
                }
            }
            m.attack_cd = m.attack_cd.saturating_sub(1);
            let tpl = m.template(genre);
            if tick.wrapping_add(m.id.0 as u64).checked_rem(period) == Some(0) {
                let max = m.max_hp(genre);
                let was_hunting = matches!(m.ai, AiState::Chase | AiState::Attack)
                    .then_some(m.target)
                    .flatten();
                decide(
                    m,
                    &targets,
                    &mut st.streams.ai,
                    map,
                    Traits {
                        range_px: tpl.attack_range as i32,
                        max_hp: max,
                        detect_range: if tpl.is_boss {
                            BOSS_DETECT_RANGE
                        } else {
                            DETECT_RANGE
                        },
                    },
                    &hunters,
                );
                let hunting = matches!(m.ai, AiState::Chase | AiState::Attack)
                    .then_some(m.target)
                    .flatten();
                if was_hunting != hunting {
                    if let Some(h) = was_hunting.and_then(|t| hunters.get_mut(t as usize)) {
                        *h = h.saturating_sub(1);
                    }
                    if let Some(h) = hunting.and_then(|t| hunters.get_mut(t as usize)) {
                        *h = h.saturating_add(1);
                    }
                }
            }
            let speed = |permille: i32| {
                crate::units::per_tick(
                    px(tpl.speed.min(10_000) as i32).saturating_mul(permille) / 1000,
                    rate,
                )
            };
            let target_pos = m
                .target
                .and_then(|t| targets.iter().find(|(s, _)| *s == t))
                .map(|&(_, pos)| pos);
            match m.ai {
                AiState::Idle | AiState::Detect => {}
                AiState::Patrol => {
                    m.pos = step_toward(map, m.pos, m.waypoint, speed(PATROL_SPEED_PERMILLE));
                }
                AiState::Return => {
                    m.pos = step_toward(map, m.pos, m.home, speed(RETURN_SPEED_PERMILLE));
                }
                AiState::Flee => {
                    if let Some(t) = target_pos {
                        let away = Vec2::new(
                            m.pos.x.saturating_mul(2).saturating_sub(t.x),
                            m.pos.y.saturating_mul(2).saturating_sub(t.y),
                        );
                        m.pos = step_toward(map, m.pos, away, speed(FLEE_SPEED_PERMILLE));
                    }
                }
                AiState::Chase | AiState::Attack => {
                    let Some(t) = target_pos else { continue };
                    let range = px(tpl.attack_range.min(10_000) as i32);
                    // Our choice (balance, issue 24): no attack through walls or trees; a
                    // monster in range without a clear line keeps closing in.
                    if m.pos.within(t, range) && map.clear_line(m.pos.tile(), t.tile()) {
                        if m.attack_cd == 0 {
                            m.attack_cd = cooldown;
                            let slot = m.target.unwrap_or(0) as usize;
                            if let Some(p) = st.players.get_mut(slot).and_then(Option::as_mut) {
                                let ms = m.stats(genre);
                                let magic = ms.magic_power > ms.attack;
                                let stat = if magic { ms.magic_power } else { ms.attack };
                                let hit = Hit {
                                    base: stat.saturating_mul(MONSTER_WEAPON_PERMILLE) / 1000,
                                    magic,
                                    element: m.element(genre) as u8,
                                };
                                let stats = p.stats();
                                let o = resolve(
                                    &mut st.streams.combat,
                                    &ms,
                                    &stats,
                                    hit,
                                    &mut p.shield,
                                );
                                if o.evaded {
                                    self.events.push(Event::Evaded {
                                        source: m.id,
                                        target: p.id,
                                    });
                                } else {
                                    if o.absorbed > 0 {
                                        self.events.push(Event::Absorbed {
                                            target: p.id,
                                            amount: o.absorbed,
                                        });
                                        if p.shield == 0 && p.shield_ticks > 0 {
                                            p.shield_ticks = 0;
                                            self.events
                                                .push(Event::ShieldGone { slot: slot as u8 });
                                        }
                                    }
                                    if o.damage > 0 {
                                        p.hp = p.hp.saturating_sub(o.damage).max(0);
                                        p.calm_ticks = 0;
                                        self.events.push(Event::Damage {
                                            source: m.id,
                                            target: p.id,
                                            amount: o.damage,
                                            crit: o.crit,
                                        });
                                    }
                                }
                            }
                        }
                    } else {
                        let (tx, ty) = m.pos.tile();
                        let goal = if m.pos.within(t, 2 * SUB) {
                            t
                        } else {
                            if !field_ready {
                                flow.ensure(map, &st.nav);
                                field_ready = true;
                            }
                            flow.next_step(tx, ty)
                                .map_or(t, |(nx, ny)| Vec2::tile_centre(nx, ny))
                        };
                        m.pos = step_toward(map, m.pos, goal, speed(CHASE_SPEED_PERMILLE));
                    }
                }
            }
        }
    }
}

/// What a monster's decision needs to know of itself beyond its state.
struct Traits {
    /// Its attack range, px.
    range_px: i32,
    max_hp: i32,
    /// How near a player must be for it to notice (sub-tile units).
    detect_range: i32,
}

/// One AI decision (GAME_RULES.md states and numbers; see the constants).
fn decide(
    m: &mut Monster,
    targets: &[(u8, Vec2)],
    rng: &mut Stream,
    map: &TileMap,
    traits: Traits,
    hunters: &[usize],
) {
    let Traits {
        range_px,
        max_hp,
        detect_range,
    } = traits;
    let room_for = |slot: u8| {
        hunters
            .get(slot as usize)
            .is_none_or(|&n| n < MAX_ATTACKERS_PER_PLAYER)
    };
    let nearest = targets
        .iter()
        .filter(|(_, pos)| pos.within(m.pos, detect_range))
        .min_by_key(|(s, pos)| (pos.dist_sq(m.pos), *s))
        .map(|&(s, _)| s);
    let target_pos = m
        .target
        .and_then(|t| targets.iter().find(|(s, _)| *s == t))
        .map(|&(_, p)| p);
    let low =
        (m.hp as i64).saturating_mul(1000) < (max_hp as i64).saturating_mul(FLEE_BELOW_PERMILLE);
    let leashed = !m.pos.within(m.home, LEASH_RANGE);
    let go_home = |m: &mut Monster| {
        m.ai = AiState::Return;
        m.target = None;
        m.waypoint = m.pos;
    };
    match m.ai {
        AiState::Idle | AiState::Patrol => {
            if let Some(t) = nearest {
                m.ai = AiState::Detect;
                m.target = Some(t);
            } else if m.ai == AiState::Idle {
                if rng.chance(PATROL_CHANCE_PERMILLE) {
                    let (w, h) = (
                        (map.width() as i32).saturating_mul(SUB),
                        (map.height() as i32).saturating_mul(SUB),
                    );
                    m.waypoint = Vec2::new(
                        m.home
                            .x
                            .saturating_add(rng.range(-PATROL_RADIUS, PATROL_RADIUS))
                            .clamp(0, w.saturating_sub(1)),
                        m.home
                            .y
                            .saturating_add(rng.range(-PATROL_RADIUS, PATROL_RADIUS))
                            .clamp(0, h.saturating_sub(1)),
                    );
                    m.ai = AiState::Patrol;
                }
            } else if rng.chance(PATROL_CHANCE_PERMILLE) || m.pos == m.waypoint {
                m.ai = AiState::Idle;
            }
        }
        AiState::Detect => match target_pos {
            // Alert but waiting while enough others are on that player.
            Some(p) if p.within(m.pos, DETECT_RANGE * 3 / 2) => {
                if m.target.is_some_and(room_for) {
                    m.ai = AiState::Chase;
                }
            }
            _ => {
                m.ai = AiState::Idle;
                m.target = None;
            }
        },
        AiState::Chase | AiState::Attack => {
            if leashed {
                go_home(m);
            } else if low && nearest.is_some() {
                m.ai = AiState::Flee;
                m.target = nearest;
            } else {
                match target_pos {
                    Some(p) if p.within(m.pos, LOSE_RANGE) => {
                        m.ai = if p.within(m.pos, px(range_px.min(10_000))) {
                            AiState::Attack
                        } else {
                            AiState::Chase
                        };
                    }
                    _ => go_home(m),
                }
            }
        }
        AiState::Flee => {
            let threat = target_pos.is_some_and(|p| p.within(m.pos, DETECT_RANGE * 3 / 2));
            if leashed || !threat {
                go_home(m);
            }
        }
        AiState::Return => {
            if m.pos.within(m.home, SUB) {
                m.ai = AiState::Idle;
            } else if m.pos == m.waypoint {
                // Stuck behind something: settle here (this becomes its home).
                m.home = m.pos;
                m.ai = AiState::Idle;
            } else {
                m.waypoint = m.pos;
            }
        }
    }
}
