//! What the screen shows besides the world: which player the view follows, the target,
//! the message log, the network line, open overlays and transient effects. The renderer
//! reads it; the app (or a spectator view, or a replay player) owns and updates it.

use std::collections::VecDeque;

use venture_sim::player::EntityId;
use venture_sim::units::Vec2;
use venture_sim::World;

/// How far Tab looks for targets, and the automatic target's reach, in tiles.
pub const TARGET_RANGE_TILES: i64 = 12;
pub const AUTO_TARGET_TILES: i64 = 6;

/// How many log lines are kept (the screen shows the newest that fit).
pub const LOG_CAPACITY: usize = 200;

/// Colour capability of the screen (the terminal client detects it; a browser has colours).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorMode {
    /// 256-colour palette.
    Indexed,
    /// No colours: glyphs and bold/reverse only (NO_COLOR, or a terminal without colours).
    Mono,
}

/// What kind of line the log holds (its colour).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    /// Damage we dealt, kills of ours, pickups.
    Good,
    /// Damage we took, our death.
    Bad,
    /// Level-ups, descents.
    Great,
    /// Joins, leaves, other players' news.
    Info,
    Chat,
}

/// One line of the message log. `text` may contain network strings: the renderer makes
/// it inert before drawing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub tick: u64,
    pub kind: LogKind,
    pub text: String,
}

/// The network figures shown when the network line is on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NetLine {
    pub rtt_ms: Option<u32>,
    pub lead_ticks: u64,
    pub rollbacks_per_sec: f32,
    pub confirmed_tick: u64,
    pub late_inputs: u32,
    /// The carrier in use (`udp`, `tcp`, `ws`; `udp/tcp` while racing).
    pub carrier: Option<&'static str>,
}

/// An area spell that went off: drawn as a ring for a few ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Explosion {
    pub pos: Vec2,
    pub radius: i32,
    /// Drawn until the world reaches this tick.
    pub until_tick: u64,
}

/// How long an explosion stays on screen, in ticks.
pub const EXPLOSION_TICKS: u64 = 4;

/// Turns area projectiles that vanished into [`Explosion`]s: it remembers the area
/// projectiles of the world it last saw. The client updates it before each frame, the
/// replay viewer after each stepped tick (and resets it when it seeks).
#[derive(Clone, Debug, Default)]
pub struct Explosions {
    seen: Vec<(EntityId, Vec2, i32)>,
}

impl Explosions {
    /// Adds the explosions of area projectiles gone since the last call to `shown`, and
    /// drops the ones whose time is over (or that belong to another time: after a seek).
    pub fn update(&mut self, world: &World, shown: &mut Vec<Explosion>) {
        let tick = world.tick();
        let now: Vec<_> = world
            .projectiles()
            .iter()
            .filter(|p| p.radius > 0)
            .map(|p| (p.id, p.pos, p.radius))
            .collect();
        for (id, pos, radius) in &self.seen {
            if !now.iter().any(|(n, _, _)| n == id) {
                shown.push(Explosion {
                    pos: *pos,
                    radius: *radius,
                    until_tick: tick + EXPLOSION_TICKS,
                });
            }
        }
        self.seen = now;
        shown.retain(|e| e.until_tick > tick && e.until_tick <= tick + EXPLOSION_TICKS + 1);
    }

    /// Forgets what was seen (the world jumped: a seek, a resync).
    pub fn reset(&mut self, world: &World, shown: &mut Vec<Explosion>) {
        shown.clear();
        self.seen.clear();
        self.update(world, shown);
    }
}

/// A window over the map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    /// The inventory with the cursor on row `cursor` (equipment rows first, then items).
    Inventory {
        cursor: usize,
    },
    /// Typing a chat line.
    Chat {
        line: String,
    },
    QuitConfirm,
}

/// Everything the renderer needs besides the world.
#[derive(Clone, Debug)]
pub struct ViewState {
    /// The slot the viewport follows and the HUD describes.
    pub follow: usize,
    pub target: Option<EntityId>,
    pub colors: ColorMode,
    pub log: VecDeque<LogLine>,
    pub show_net: bool,
    pub net: NetLine,
    pub overlay: Overlay,
    pub explosions: Vec<Explosion>,
    /// Aiming at the target instead of along the last movement.
    pub aim_at_target: bool,
    /// Key releases are reported by the terminal (shown in the help screen).
    pub key_releases: bool,
    /// A short notice in the status line (e.g. "chat: too fast").
    pub notice: Option<String>,
    /// Spectating with a free camera: the tile at the viewport's centre (else the view
    /// centres on the followed player).
    pub free_camera: Option<(i32, i32)>,
    /// Watching as a spectator (the bottom line shows the spectator's keys).
    pub spectating: bool,
    /// The sidebar's target section when there is none (the client names its Tab key).
    pub no_target: &'static str,
}

impl ViewState {
    /// A view that follows `slot`, with everything else off.
    pub fn following(slot: usize) -> ViewState {
        ViewState {
            follow: slot,
            target: None,
            colors: ColorMode::Indexed,
            log: VecDeque::new(),
            show_net: false,
            net: NetLine::default(),
            overlay: Overlay::None,
            explosions: Vec::new(),
            aim_at_target: false,
            key_releases: false,
            notice: None,
            free_camera: None,
            spectating: false,
            no_target: " none (Tab)",
        }
    }

    pub fn push_log(&mut self, line: LogLine) {
        if self.log.len() >= LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }
}

/// The slot after `current` (before it, with `back`) among the players in `world`, in slot
/// order and wrapping round; `None` when nobody is in the world. Tab in the client and in
/// the replay viewer.
pub fn next_follow(world: &World, current: usize, back: bool) -> Option<usize> {
    let slots: Vec<usize> = world.players().map(|(s, _)| s).collect();
    if slots.is_empty() {
        return None;
    }
    let i = slots.iter().position(|&s| s == current);
    let next = match (i, back) {
        (Some(i), false) => (i + 1) % slots.len(),
        (Some(i), true) => (i + slots.len() - 1) % slots.len(),
        // Not a player now: the first one after it in slot order.
        (None, false) => slots.iter().position(|&s| s > current).unwrap_or(0),
        (None, true) => slots
            .iter()
            .rposition(|&s| s < current)
            .unwrap_or(slots.len() - 1),
    };
    Some(slots[next])
}

fn tiles_sq(n: i64) -> i64 {
    let u = n * venture_sim::SUB as i64;
    u * u
}

/// Monsters within `range` tiles of the player in `slot`, nearest first.
pub fn monsters_near(world: &World, slot: usize, range: i64) -> Vec<EntityId> {
    let Some(p) = world.player(slot) else {
        return Vec::new();
    };
    let mut v: Vec<(i64, EntityId)> = world
        .monsters()
        .iter()
        .map(|m| (m.pos.dist_sq(p.pos), m.id))
        .filter(|(d, _)| *d <= tiles_sq(range))
        .collect();
    v.sort_unstable();
    v.into_iter().map(|(_, id)| id).collect()
}

/// The target to show for the player in `follow`: `current` while it lives within
/// [`TARGET_RANGE_TILES`], else the nearest monster within [`AUTO_TARGET_TILES`].
pub fn auto_target(world: &World, follow: usize, current: Option<EntityId>) -> Option<EntityId> {
    let alive = |id: EntityId| world.monsters().iter().any(|m| m.id == id);
    let in_range = |id: EntityId| monsters_near(world, follow, TARGET_RANGE_TILES).contains(&id);
    if current.is_some_and(|t| alive(t) && in_range(t)) {
        return current;
    }
    monsters_near(world, follow, AUTO_TARGET_TILES)
        .first()
        .copied()
}
