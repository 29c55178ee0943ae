//! What a replay viewer is doing: the [`Timeline`] plus playing or paused, the speed, the
//! followed player, the message log, the seek prompt and the help window. Requests come
//! in as [`Action`]s and seek texts, time as [`Viewer::advance`]; no terminal or browser
//! here: the terminal viewer maps its keys onto this, the browser its keys and buttons.

use std::time::Duration;

use venture_replay::Timeline;

use venture_sim::glossary::Glossary;

use crate::narrate::describe;
use crate::replay_controls::{self as controls, Action, JUMP_SECONDS, NORMAL_SPEED, SPEEDS};
use crate::view::{auto_target, next_follow, Explosions, LogKind, LogLine, ViewState};

/// The most ticks one [`Viewer::advance`] steps (16x at 60 Hz for a quarter second): a
/// stalled loop catches up in bounded time instead of freezing on a backlog.
const MAX_TICKS_PER_ADVANCE: u64 = 240;
/// The longest seek prompt.
pub const MAX_PROMPT_CHARS: usize = 16;

/// The viewer's state.
pub struct Viewer {
    pub timeline: Timeline,
    pub view: ViewState,
    pub playing: bool,
    /// Index into [`SPEEDS`].
    pub speed: usize,
    /// The seek prompt's text while it is open.
    pub prompt: Option<String>,
    pub help: bool,
    /// A short message in the status line (a seek that missed, a stop).
    pub notice: Option<String>,
    pub quit: bool,
    /// Area spells going off, drawn as rings like in the client.
    explosions: Explosions,
    /// Real time played but not yet stepped (less than a tick, bar a capped backlog), ns.
    owed_nanos: u128,
}

impl Viewer {
    /// A viewer playing `timeline` from its start at 1x, following the first player.
    pub fn new(timeline: Timeline) -> Viewer {
        let mut v = Viewer {
            timeline,
            view: ViewState {
                // Tab follows players here, not targets.
                no_target: " none",
                ..ViewState::following(0)
            },
            playing: true,
            speed: NORMAL_SPEED,
            prompt: None,
            help: false,
            notice: None,
            quit: false,
            explosions: Explosions::default(),
            owed_nanos: 0,
        };
        v.follow_someone();
        if let Some(h) = v.timeline.halt().filter(|h| h.is_failure()) {
            let (tick, last) = (v.timeline.tick(), v.timeline.last_tick());
            v.view.push_log(LogLine {
                tick,
                kind: LogKind::Bad,
                text: format!(
                    "This log fails verification: it plays to tick {last}. {}",
                    h.message()
                ),
            });
        }
        v
    }

    /// After the world or the followed player changed: follow a player when the followed
    /// slot is empty (nobody joined yet, or they left), and show the monster nearest them
    /// as the target, as the client does.
    fn follow_someone(&mut self) {
        let world = self.timeline.world();
        if world.player(self.view.follow).is_none() {
            if let Some(s) = next_follow(world, self.view.follow, false) {
                self.view.follow = s;
            }
        }
        self.view.target = auto_target(world, self.view.follow, self.view.target);
    }

    /// Steps one tick forward, narrating its events into the log.
    fn step_forward(&mut self) -> bool {
        let me = self.view.follow;
        let mut lines = Vec::new();
        let stepped = self
            .timeline
            .step_forward_with(Glossary::of, |world, before| {
                lines = describe(world.events(), me, &before, &Glossary::of(world));
            });
        lines.into_iter().for_each(|l| self.view.push_log(l));
        match stepped {
            Ok(s) => {
                self.follow_someone();
                let world = self.timeline.world();
                self.explosions.update(world, &mut self.view.explosions);
                s
            }
            Err(e) => {
                self.stop_with(e.to_string());
                false
            }
        }
    }

    fn stop_with(&mut self, text: String) {
        self.playing = false;
        self.notice = Some(text);
    }

    /// Seeks to `tick` (clamped to the log); the log restarts with a line saying where.
    pub fn seek(&mut self, tick: u64) {
        let asked = tick;
        match self.timeline.seek(tick) {
            Ok(at) => {
                self.view.log.clear();
                let rate = self.timeline.tick_rate();
                let since = at - self.timeline.first_tick();
                self.view.push_log(LogLine {
                    tick: at,
                    kind: LogKind::Info,
                    text: format!("At tick {at} ({}).", controls::time_text(since, rate)),
                });
                self.notice = (at != asked).then(|| {
                    format!(
                        "no tick {asked} in the log ({}-{}): at {at}",
                        self.timeline.first_tick(),
                        self.timeline.last_tick()
                    )
                });
                self.follow_someone();
                let world = self.timeline.world();
                self.explosions.reset(world, &mut self.view.explosions);
            }
            Err(e) => self.stop_with(e.to_string()),
        }
        self.owed_nanos = 0;
    }

    /// Seeks to what `text` asks for (a tick, `mm:ss` or `90s`), or says why it cannot.
    pub fn submit_seek(&mut self, text: &str) {
        let t = &self.timeline;
        match controls::parse_seek(text, t.first_tick(), t.tick_rate()) {
            Some(tick) => self.seek(tick),
            None => {
                self.notice = Some(format!(
                    "not a tick or a time: {text:?} (try 1234, 01:30 or 90s)"
                ))
            }
        }
    }

    /// Carries out `action`.
    pub fn act(&mut self, action: Action) {
        let rate = u64::from(self.timeline.tick_rate());
        match action {
            Action::TogglePlay => {
                self.playing = !self.playing;
                self.owed_nanos = 0;
                if self.playing && self.timeline.tick() >= self.timeline.last_tick() {
                    // At the end: play from the start again.
                    self.seek(self.timeline.first_tick());
                }
            }
            Action::StepForward => {
                self.playing = false;
                self.step_forward();
            }
            Action::StepBack => {
                self.playing = false;
                let t = self.timeline.tick();
                if t > self.timeline.first_tick() {
                    self.seek(t - 1);
                }
            }
            Action::Faster => self.speed = (self.speed + 1).min(SPEEDS.len() - 1),
            Action::Slower => self.speed = self.speed.saturating_sub(1),
            Action::JumpForward => {
                let t = self.timeline.tick().saturating_add(JUMP_SECONDS * rate);
                self.seek(t.min(self.timeline.last_tick()));
            }
            Action::JumpBack => {
                let t = self.timeline.tick().saturating_sub(JUMP_SECONDS * rate);
                self.seek(t.max(self.timeline.first_tick()));
            }
            Action::OpenSeek => self.prompt = Some(String::new()),
            Action::FollowNext | Action::FollowPrevious => {
                let back = action == Action::FollowPrevious;
                match next_follow(self.timeline.world(), self.view.follow, back) {
                    Some(s) => {
                        self.view.follow = s;
                        self.view.target = None;
                        self.follow_someone();
                    }
                    None => self.notice = Some("nobody to follow at this tick".into()),
                }
            }
            Action::Help => self.help = true,
            Action::Quit => self.quit = true,
        }
    }

    /// Plays `elapsed` of real time at the current speed; returns whether the world moved.
    pub fn advance(&mut self, elapsed: Duration) -> bool {
        if !self.playing {
            return false;
        }
        let (num, den) = SPEEDS[self.speed];
        let rate = u128::from(self.timeline.tick_rate());
        // One tick is 1e9 * den / (rate * num) ns of real time.
        let per_tick = 1_000_000_000u128 * u128::from(den) / (rate * u128::from(num));
        self.owed_nanos += elapsed.as_nanos();
        let due = (self.owed_nanos / per_tick).min(u128::from(MAX_TICKS_PER_ADVANCE));
        self.owed_nanos = (self.owed_nanos - due * per_tick).min(per_tick * 4);
        let mut moved = false;
        for _ in 0..due {
            if !self.step_forward() {
                self.playing = false;
                break;
            }
            moved = true;
        }
        moved
    }

    /// How long until the next tick is due while playing (for the loop's sleep).
    pub fn next_tick_in(&self) -> Option<Duration> {
        if !self.playing {
            return None;
        }
        let (num, den) = SPEEDS[self.speed];
        let rate = u128::from(self.timeline.tick_rate());
        let per_tick = 1_000_000_000u128 * u128::from(den) / (rate * u128::from(num));
        let left = per_tick.saturating_sub(self.owed_nanos);
        Some(Duration::from_nanos(
            u64::try_from(left).unwrap_or(u64::MAX),
        ))
    }

    /// The status line: tick, time, speed, playing or paused (or, at the end of a log that
    /// stops early, why), the followed player, a notice.
    pub fn status(&self) -> String {
        let t = &self.timeline;
        let tick = t.tick();
        let time = controls::time_text(tick - t.first_tick(), t.tick_rate());
        let end = controls::time_text(t.last_tick() - t.first_tick(), t.tick_rate());
        let state = if self.playing { "playing" } else { "paused" };
        let who = t.world().player(self.view.follow).map_or_else(
            || "nobody".to_string(),
            |p| {
                format!(
                    "{} (slot {})",
                    crate::text::inert(&p.name),
                    self.view.follow
                )
            },
        );
        let head = format!(
            "tick {tick}/{} | {time} of {end} | {}",
            t.last_tick(),
            controls::speed_text(self.speed)
        );
        // At the end of a log that stops early, why comes first: it must fit the width.
        if let Some(h) = t.halt().filter(|_| tick >= t.last_tick()) {
            return format!("{head} | {} | following {who}", h.message());
        }
        let mut s = format!("{head} | {state} | following {who}");
        match &self.notice {
            Some(n) => {
                s.push_str(" | ");
                s.push_str(n);
            }
            None => s.push_str(" | ?: help"),
        }
        s
    }
}
