//! Venture in a browser (issue 22): the same simulation, compiled to wasm32.
//!
//! - [`scene`]: a pure function of a world and its view state into shapes (tested
//!   natively); [`canvas`]: painting them on a 2D canvas sized to the window.
//! - [`replay_keys`]: the DOM's keys and the page's buttons into the shared replay
//!   viewer's actions.
//! - [`live`]: playing or watching over the server's WebSocket carrier with the shared
//!   `ClientSession` and secure layer.
//! - [`WebClient`] (this file): what the page's JavaScript (`web/www/app.js`) drives: join
//!   or watch a live game, load a dropped `.vrpl` into `venture_play::replay_view::Viewer`
//!   (verified as it plays by `venture_replay`'s re-simulation routine), keys, buttons,
//!   the seek box, chat, and one `frame` per animation frame.
//!
//! Rules, codecs, narration and the viewer's model all come from `venture-sim`,
//! `venture-replay` and `venture-play`; only drawing and the DOM's events live here.

#![forbid(unsafe_code)]

pub mod canvas;
pub mod live;
pub mod replay_keys;
pub mod scene;

use std::time::Duration;

use venture_play::replay_controls::{self, Action, HELP};
use venture_play::replay_view::Viewer;
use venture_play::view::ViewState;
use venture_replay::{Timeline, MAX_LOG_BYTES};
use venture_sim::{SimConfig, World};
use wasm_bindgen::prelude::*;

use scene::{Extras, Size};

/// What the page shows.
enum Mode {
    /// Nothing loaded: a world and an invitation to drop a replay.
    Idle {
        world: Box<World>,
        view: Box<ViewState>,
    },
    Replay(Box<Viewer>),
    Live(Box<live::Live>),
}

fn since_start(now_ms: f64) -> Duration {
    Duration::from_micros((now_ms.max(0.0) * 1000.0) as u64)
}

/// Frame times kept for the p99 the benchmark reads.
const FRAME_SAMPLES: usize = 1200;

/// The page's client.
#[wasm_bindgen]
pub struct WebClient {
    canvas: canvas::Canvas,
    mode: Mode,
    last_ms: Option<f64>,
    frame_ms: Vec<f64>,
    frames: u64,
    /// A message to show in the status line (a load error).
    message: Option<String>,
    /// What the last painted frame showed ([`WebClient::frame_key`]): an animation frame
    /// that would paint the same picture is skipped (the world moves 20 times a second,
    /// the screen refreshes 60 times).
    last_key: String,
}

/// The page's clock in ms with sub-millisecond resolution (frame times are a few ms).
fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

#[wasm_bindgen]
impl WebClient {
    /// Attaches to the canvas with id `canvas_id`.
    #[wasm_bindgen(constructor)]
    pub fn new(canvas_id: &str) -> Result<WebClient, JsError> {
        let canvas = canvas::Canvas::find(canvas_id).map_err(|e| JsError::new(e.0))?;
        let world = World::new(&SimConfig::default())
            .map_err(|e| JsError::new(&format!("default world: {e}")))?;
        Ok(WebClient {
            canvas,
            mode: Mode::Idle {
                world: Box::new(world),
                view: Box::new(ViewState::following(0)),
            },
            last_ms: None,
            frame_ms: Vec::with_capacity(FRAME_SAMPLES),
            frames: 0,
            message: None,
            last_key: String::new(),
        })
    }

    /// Loads and verifies a session log held in `bytes` and starts playing it. The error
    /// says why a file is not a usable log.
    pub fn load_replay(&mut self, bytes: &[u8]) -> Result<(), JsError> {
        if bytes.len() as u64 > MAX_LOG_BYTES {
            return Err(JsError::new(&format!(
                "the log is {} bytes, over the limit of {MAX_LOG_BYTES}",
                bytes.len()
            )));
        }
        let timeline = Timeline::from_bytes(bytes).map_err(|e| {
            let text = e.to_string();
            self.message = Some(text.clone());
            JsError::new(&text)
        })?;
        self.mode = Mode::Replay(Box::new(Viewer::new(timeline)));
        self.message = None;
        self.last_ms = None;
        Ok(())
    }

    /// A key went down (`down`) or up, as the DOM names it. Returns whether the page
    /// should not act on it itself (`preventDefault`).
    pub fn key(&mut self, key: &str, shift: bool, down: bool, repeat: bool, now_ms: f64) -> bool {
        if let Mode::Live(l) = &mut self.mode {
            return l.key(key, shift, down, repeat, since_start(now_ms));
        }
        let Mode::Replay(v) = &mut self.mode else {
            return false;
        };
        if !down {
            return false;
        }
        if v.help {
            v.help = false;
            return true;
        }
        match replay_keys::action(key, shift) {
            // The page opens its seek box for this one.
            Some(Action::OpenSeek) => false,
            Some(a) => {
                v.act(a);
                true
            }
            None => false,
        }
    }

    /// Joins the game at `url` (`ws://HOST:PORT/play`) as `name`, or watches it
    /// (`spectate`), trusting only `server_key` (the page's). `secret_hex`: the character
    /// secret this browser keeps (32 hex digits).
    pub fn join(
        &mut self,
        url: &str,
        name: &str,
        server_key: &str,
        secret_hex: &str,
        spectate: bool,
        now_ms: f64,
    ) -> Result<(), JsError> {
        let mut secret = [0u8; 16];
        let digits = secret_hex.as_bytes();
        if digits.len() != 32 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(JsError::new("the character secret is not 32 hex digits"));
        }
        for (i, b) in secret.iter_mut().enumerate() {
            let pair = std::str::from_utf8(&digits[2 * i..2 * i + 2]).unwrap_or("00");
            *b = u8::from_str_radix(pair, 16).unwrap_or(0);
        }
        let live = live::Live::start(url, name, server_key, secret, spectate, since_start(now_ms))
            .map_err(|e| JsError::new(&e.0))?;
        self.mode = Mode::Live(Box::new(live));
        Ok(())
    }

    /// Moves the live game's network and clock to `now_ms` (the page calls it between
    /// frames too, so a game keeps pace when frames are rare).
    pub fn pump(&mut self, now_ms: f64) {
        if let Mode::Live(l) = &mut self.mode {
            l.pump(since_start(now_ms));
        }
    }

    /// Sends a chat line; false when refused (empty, too long, too fast).
    pub fn chat(&mut self, text: &str) -> bool {
        match &mut self.mode {
            Mode::Live(l) => l.chat(text),
            _ => false,
        }
    }

    /// Whether the live game's inventory window is open (Enter then acts in it).
    pub fn inventory_open(&self) -> bool {
        matches!(&self.mode, Mode::Live(l) if l.inventory_open())
    }

    /// Lets go of every held key (focus lost, the chat box opened).
    pub fn release_keys(&mut self) {
        if let Mode::Live(l) = &mut self.mode {
            l.release_all();
        }
    }

    /// The first desync's report (JSON for `venture-replay diff`), if there was one.
    pub fn desync_report(&self) -> Option<String> {
        match &self.mode {
            Mode::Live(l) => l.desync_report.clone(),
            _ => None,
        }
    }

    /// The live game's figures as JSON: phase, slot, confirmed ticks verified, desyncs,
    /// the last confirmed tick and checksum, carrier bytes.
    pub fn live_info(&self) -> String {
        let Mode::Live(l) = &self.mode else {
            return "null".into();
        };
        let s = l.carrier_stats();
        serde_json::json!({
            "phase": format!("{:?}", l.driver.session.phase()),
            "slot": l.driver.session.slot(),
            "follow": l.view.follow,
            "confirmed": l.confirmed,
            "desyncs": l.desyncs,
            "last_confirmed": l.last_confirmed.map(|(t, c)| serde_json::json!([t, c])),
            "tick": l.driver.session.world().map(|w| w.tick()),
            "players": l.driver.session.world().map(|w| w.players().map(|(_, p)| p.name.clone()).collect::<Vec<_>>()),
            "closed": l.closed,
            "bytes_in": s.bytes_in,
            "bytes_out": s.bytes_out,
            "log": l.view.log.iter().rev().take(20).map(|x| x.text.clone()).collect::<Vec<_>>(),
        })
        .to_string()
    }

    /// The live game's confirmed ticks and checksums, flattened: `[tick, checksum, ...]`.
    pub fn confirmed_checksums(&self) -> Vec<f64> {
        match &self.mode {
            Mode::Live(l) => l
                .checksums
                .iter()
                .flat_map(|(t, c)| [*t as f64, f64::from(*c)])
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A page button (`data-act`): toggle, step, back, faster, slower, jump, jumpback,
    /// follow, followback, help.
    pub fn act(&mut self, name: &str) -> bool {
        match (&mut self.mode, replay_keys::named(name)) {
            (Mode::Replay(v), Some(a)) => {
                v.act(a);
                true
            }
            _ => false,
        }
    }

    /// The seek box: a tick (`1234`) or a time (`01:30`, `90s`).
    pub fn seek(&mut self, text: &str) {
        if let Mode::Replay(v) = &mut self.mode {
            v.submit_seek(text);
        }
    }

    /// Advances playback to `now_ms` (the page's clock) and draws a frame on a window of
    /// `css_w` x `css_h` CSS pixels at `ratio` device pixels each.
    pub fn frame(&mut self, now_ms: f64, css_w: f64, css_h: f64, ratio: f64) {
        let elapsed = self
            .last_ms
            .map_or(0.0, |l| (now_ms - l).clamp(0.0, 1000.0));
        self.last_ms = Some(now_ms);
        let start = self::now_ms();
        match &mut self.mode {
            Mode::Replay(v) => {
                v.advance(Duration::from_micros((elapsed * 1000.0) as u64));
            }
            Mode::Live(l) => l.pump(since_start(now_ms)),
            Mode::Idle { .. } => {}
        }
        let key = self.frame_key(css_w, css_h, ratio);
        if key == self.last_key {
            return;
        }
        self.last_key = key;
        let size = self.canvas.fit(
            Size {
                w: css_w.max(1.0),
                h: css_h.max(1.0),
            },
            ratio.clamp(0.5, 4.0),
        );
        let shapes = match &self.mode {
            Mode::Idle { world, view } => {
                let extras = Extras {
                    status: self.message.clone().unwrap_or_else(|| {
                        "Drop a .vrpl replay on the page (or choose one above) to watch it.".into()
                    }),
                    ..Extras::default()
                };
                scene::scene(world, view, size, &extras)
            }
            Mode::Replay(v) => {
                let extras = Extras {
                    status: v.status(),
                    help: v.help.then(|| {
                        HELP.iter()
                            .filter(|(k, _)| !k.contains("Esc"))
                            .map(|(k, w)| ((*k).to_string(), (*w).to_string()))
                            .collect()
                    }),
                    banner: v
                        .timeline
                        .halt()
                        .filter(|h| h.is_failure() && v.timeline.tick() >= v.timeline.last_tick())
                        .map(|h| h.message()),
                };
                scene::scene(v.timeline.world(), &v.view, size, &extras)
            }
            Mode::Live(l) => {
                let extras = Extras {
                    status: l.status(),
                    help: matches!(l.view.overlay, venture_play::view::Overlay::Help)
                        .then(venture_play::keys::controls),
                    banner: l.closed.clone(),
                };
                match l.driver.session.world() {
                    Some(w) => scene::scene(w, &l.view, size, &extras),
                    None => scene::waiting(&l.view, size, &extras),
                }
            }
        };
        self.canvas.paint(&shapes);
        let spent = self::now_ms() - start;
        if self.frame_ms.len() == FRAME_SAMPLES {
            self.frame_ms.remove(0);
        }
        self.frame_ms.push(spent);
        self.frames += 1;
    }

    /// Everything a frame depends on, as text: the world's tick (and, live, the rollbacks
    /// that may have changed the predicted world at the same tick), the window, the view's
    /// state and the status line.
    fn frame_key(&self, w: f64, h: f64, ratio: f64) -> String {
        let view = |v: &ViewState| {
            format!(
                "{} {:?} {:?} {:?} {} {} {}",
                v.follow,
                v.target,
                v.free_camera,
                v.overlay,
                v.log.len(),
                v.log.back().map_or(0, |l| l.tick),
                v.show_net
            )
        };
        let state = match &self.mode {
            Mode::Idle { world, view: v } => format!("idle {} {}", world.tick(), view(v)),
            Mode::Replay(v) => format!(
                "replay {} {} {} {}",
                v.timeline.tick(),
                v.help,
                v.timeline.halt().is_some(),
                view(&v.view)
            ),
            Mode::Live(l) => format!(
                "live {:?} {} {} {:?}",
                l.driver.session.world().map(|w| w.tick()),
                l.driver.session.stats().rollbacks,
                view(&l.view),
                l.closed
            ),
        };
        format!("{w} {h} {ratio} {state} {}", self.status())
    }

    /// The status line's text.
    pub fn status(&self) -> String {
        match &self.mode {
            Mode::Idle { .. } => self.message.clone().unwrap_or_else(|| "idle".into()),
            Mode::Replay(v) => v.status(),
            Mode::Live(l) => l.status(),
        }
    }

    /// The replay's current tick (0 when none is loaded).
    pub fn tick(&self) -> f64 {
        match &self.mode {
            Mode::Replay(v) => v.timeline.tick() as f64,
            Mode::Live(l) => l.driver.session.world().map_or(0.0, |w| w.tick() as f64),
            Mode::Idle { .. } => 0.0,
        }
    }

    /// The replay's first and last playable ticks, as `[first, last]`.
    pub fn range(&self) -> Vec<f64> {
        match &self.mode {
            Mode::Replay(v) => vec![
                v.timeline.first_tick() as f64,
                v.timeline.last_tick() as f64,
            ],
            _ => vec![0.0, 0.0],
        }
    }

    /// The current world's checksum (tests compare it with the log's).
    pub fn checksum(&self) -> u32 {
        match &self.mode {
            Mode::Replay(v) => v.timeline.world().checksum(),
            Mode::Idle { world, .. } => world.checksum(),
            Mode::Live(l) => l.driver.session.world().map_or(0, World::checksum),
        }
    }

    pub fn playing(&self) -> bool {
        matches!(&self.mode, Mode::Replay(v) if v.playing)
    }

    /// The speed as shown (`1x`, `1/4x`).
    pub fn speed(&self) -> String {
        match &self.mode {
            Mode::Replay(v) => replay_controls::speed_text(v.speed),
            _ => String::new(),
        }
    }

    /// Frames drawn so far.
    pub fn frames(&self) -> f64 {
        self.frames as f64
    }

    /// The 99th percentile of the last frames' build-and-paint time, in ms.
    pub fn frame_p99_ms(&self) -> f64 {
        let mut v = self.frame_ms.clone();
        if v.is_empty() {
            return 0.0;
        }
        v.sort_by(f64::total_cmp);
        v[(v.len() * 99 / 100).min(v.len() - 1)]
    }
}
