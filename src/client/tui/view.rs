//! What the screen shows besides the world: which player the view follows, the target,
//! the message log, the network line, open overlays and transient effects. The renderer
//! reads it; the app (or a spectator view, or a replay player) owns and updates it.

use std::collections::VecDeque;

use venture_sim::player::EntityId;
use venture_sim::units::Vec2;

/// How many log lines are kept (the screen shows the newest that fit).
pub const LOG_CAPACITY: usize = 200;

/// Colour capability of the terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorMode {
    /// 256-colour palette.
    Indexed,
    /// No colours: glyphs and bold/reverse only (NO_COLOR, or a terminal without colours).
    Mono,
}

impl ColorMode {
    /// `NO_COLOR` (any value, per no-color.org) or a terminal that reports no colours gives
    /// monochrome; anything else 256 colours.
    pub fn detect() -> ColorMode {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb" || t.is_empty());
        let colors = ratatui::crossterm::style::available_color_count();
        if no_color || dumb || colors < 8 {
            ColorMode::Mono
        } else {
            ColorMode::Indexed
        }
    }
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
}

/// An area spell that went off: drawn as a ring for a few ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Explosion {
    pub pos: Vec2,
    pub radius: i32,
    /// Drawn until the world reaches this tick.
    pub until_tick: u64,
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
        }
    }

    pub fn push_log(&mut self, line: LogLine) {
        if self.log.len() >= LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }
}
