//! The interactive client in the shared terminal loop (`crate::tui::event_loop`: the
//! terminal's input and the signals in one mio poll, at most 30 frames per second, only
//! when something changed), with its network session's carrier registered on the same
//! poll and pumped on the session's own schedule. Drawing and input never delay a network
//! pump: each loop turn does the network before drawing, and a frame costs well under a
//! tick (see benches/tui.rs). Setup, the pump and desync reports are the client shell's
//! (`client::shell`), shared with the headless client.

use std::io;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use mio::Token;
use ratatui::crossterm::event::{
    self, Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use ratatui::layout::Rect;
use ratatui::Frame;
use venture_net::carrier::client::ClientCarrier;
use venture_net::client::{ClientEvent, ClientSession, CloseReason, Phase};
use venture_net::driver::ClientDriver;
use venture_net::protocol::RejectReason;
use venture_play::inventory::{self, InventoryKey};
use venture_play::narrate::Narrator;
use venture_play::view::{
    auto_target, monsters_near, Explosions, LogKind, LogLine, Overlay, ViewState,
    TARGET_RANGE_TILES,
};
use venture_sim::World;

use super::input::{InputMapper, Mapped};
use crate::client::servers::{Failover, Step};
use crate::client::shell::{carrier_name, Shell};
use crate::client::{ClientArgs, ClientError, RunOutcome};
use crate::tui::event_loop::{self, EventLoop, Screen, Term, FIRST_FREE_TOKEN};
use crate::tui::render::{self, screens};
use crate::tui::terminal::detect_colors;

/// Why the loop ended.
enum End {
    Quit,
    Closed(CloseReason),
    Signal,
}

struct App {
    driver: ClientDriver<ClientCarrier>,
    mapper: InputMapper,
    view: ViewState,
    narrator: Option<Narrator>,
    /// Setup, pins and the pump, shared with the headless client.
    shell: Shell,
    /// `-server A,B`: a new session at the next address when the server is lost.
    failover: Failover,
    /// Where the failover's new sessions register their carriers.
    registry: mio::Registry,
    name: String,
    server_text: String,
    welcomed: Option<(u8, String)>,
    desync_dir: std::path::PathBuf,
    outcome: RunOutcome,
    /// Something changed since the loop last asked.
    dirty: bool,
    quit: bool,
    /// `--duration`: when to leave.
    deadline: Option<Instant>,
    /// The predicted and confirmed ticks last drawn.
    drawn_ticks: (u64, u64),
    /// Area projectiles seen last frame (to draw their explosion when they vanish).
    explosions: Explosions,
    /// For rollbacks per second.
    rollback_sample: (Instant, u64),
    notice_until: Option<Instant>,
}

/// The direction from `from` to `to` at full deflection.
fn toward(from: venture_sim::Vec2, to: venture_sim::Vec2) -> (i8, i8) {
    let d = venture_sim::units::scale_to_length(to.x - from.x, to.y - from.y, 127);
    (d.x.clamp(-127, 127) as i8, d.y.clamp(-127, 127) as i8)
}

/// What to tell a player who could not get in, with what to do about it.
fn refusal(reason: &CloseReason, server: &str, name: &str) -> (String, Vec<String>) {
    let what = match reason {
        CloseReason::Rejected(RejectReason::Full) => vec![
            format!("The server at {server} is full."),
            "Try again in a while, or join another server.".into(),
        ],
        CloseReason::Rejected(RejectReason::SpectatorsFull { max }) => vec![
            format!("The server at {server} allows {max} spectators and all places are taken."),
            "Try again in a while.".into(),
        ],
        CloseReason::Rejected(RejectReason::NameTaken) => vec![
            format!("The name {name:?} is in use, or belongs to another player's saved character."),
            "Start again with another name: venture-client --name OTHER".into(),
        ],
        CloseReason::Rejected(RejectReason::VersionMismatch { .. })
        | CloseReason::VersionMismatch { .. } => vec![
            format!("This client and the server at {server} are different versions:"),
            reason.to_string(),
            "Use the venture-client that comes with the server's version.".into(),
        ],
        CloseReason::Unreachable => vec![
            format!("No answer from {server}."),
            "Is the server running? Check the address and port (--server HOST:PORT)".into(),
            "and that UDP traffic to that port is allowed.".into(),
        ],
        CloseReason::ServerShuttingDown => vec![
            "The server is shutting down.".into(),
            "Join again when it is back.".into(),
        ],
        CloseReason::ServerTimedOut => vec![
            format!("The server at {server} stopped answering."),
            "Check your network, then join again.".into(),
        ],
        // The refusal is already sentences (a changed server key, what to do about it).
        CloseReason::Refused(why) => why.split(". ").map(str::to_string).collect(),
        other => vec![format!("Cannot play: {other}.")],
    };
    let title = match reason {
        CloseReason::ServerShuttingDown | CloseReason::ServerTimedOut => "Disconnected",
        _ => "Cannot join",
    };
    (title.to_string(), what)
}

impl App {
    fn session(&self) -> &ClientSession {
        &self.driver.session
    }

    fn log(&mut self, kind: LogKind, text: String) {
        let tick = self.session().world().map_or(0, World::tick);
        self.view.push_log(LogLine { tick, kind, text });
        self.dirty = true;
    }

    fn notice(&mut self, text: &str) {
        self.view.notice = Some(text.to_string());
        self.notice_until = Some(Instant::now() + Duration::from_secs(3));
        self.dirty = true;
    }

    /// Whose events the log tells as "you": nobody's for a spectator.
    fn narrated_slot(&self) -> usize {
        if self.driver.session.config().spectate {
            venture_sim::MAX_SLOTS
        } else {
            self.driver.session.slot() as usize
        }
    }

    fn handle_session_events(&mut self) -> Option<End> {
        let mut end = None;
        for ev in self.driver.session.drain_events() {
            self.dirty = true;
            match ev {
                ClientEvent::Welcomed { slot, genre, .. } => {
                    let first = self.welcomed.is_none();
                    self.welcomed = Some((slot, genre));
                    if first && !self.driver.session.config().spectate {
                        // A newcomer's first lines: the goal and where the keys are.
                        for (i, text) in render::overlay::welcome().into_iter().enumerate() {
                            self.view.push_log(LogLine {
                                tick: 0,
                                kind: if i == 0 {
                                    LogKind::Great
                                } else {
                                    LogKind::Info
                                },
                                text,
                            });
                        }
                    }
                    self.view.follow = slot as usize;
                    if self.driver.session.config().spectate {
                        self.view.spectating = true;
                        self.view.push_log(LogLine {
                            tick: 0,
                            kind: LogKind::Info,
                            text: "Watching as a spectator: Tab follows the next player, c a free camera.".into(),
                        });
                    }
                }
                ClientEvent::Synced { tick, world } => {
                    self.narrator = Some(Narrator::new(&world, self.narrated_slot()));
                    log::debug!(target: "venture::client", "synced at tick {tick}");
                }
                ClientEvent::Confirmed { story, .. } => {
                    if let (Some(narrator), Some(story)) = (self.narrator.as_mut(), story) {
                        narrator.tell(&story.events, story.names, &mut self.view);
                    }
                }
                ClientEvent::Desync {
                    tick,
                    client_checksum,
                    server_checksum,
                    state,
                } => {
                    self.narrator = None;
                    let report = self.outcome.desync(
                        &self.desync_dir,
                        &self.name,
                        tick,
                        client_checksum,
                        server_checksum,
                        &state,
                    );
                    let text = match report {
                        Ok(p) => format!(
                            "Out of sync at tick {tick}: resyncing (report {}).",
                            p.display()
                        ),
                        Err(e) => {
                            format!("Out of sync at tick {tick}: resyncing (no report: {e}).")
                        }
                    };
                    self.log(LogKind::Bad, text);
                }
                // Only a standby's follower session receives saved characters.
                ClientEvent::Claim(_) => {}
                // Lost, and trying the next address: a refusal or silence there is part
                // of trying, until the time to come back runs out.
                ClientEvent::Closed(reason)
                    if reason != CloseReason::Left && self.failover.trying() => {}
                ClientEvent::Closed(reason) => {
                    // The screen says why (`refusal`); the outcome sets the exit status.
                    let _ = self.outcome.closed(&self.name, &self.driver, &reason);
                    end = Some(End::Closed(reason));
                }
            }
        }
        end
    }

    /// `-server A,B`: when the server is lost, a new session at the next address (the
    /// character comes back there with the same secret); said in the message log.
    fn fail_over(&mut self) {
        let joined = self.welcomed.is_some();
        match self
            .failover
            .step(&mut self.driver, &self.shell, &self.registry, joined)
        {
            Ok(Step::Steady) => {}
            Ok(Step::PlayingAgain { host, port }) => {
                // The old session's "reconnecting" is over.
                self.view.notice = None;
                self.notice_until = None;
                self.log(LogKind::Great, format!("Playing again on {host}:{port}."));
            }
            Ok(Step::Trying { host, port }) => {
                // The new session's snapshot starts a new narrator.
                self.narrator = None;
                self.log(
                    LogKind::Bad,
                    format!("The server stopped answering: trying {host}:{port}."),
                );
            }
            Err(e) => self.log(LogKind::Bad, format!("Cannot start a session: {e}.")),
        }
    }

    /// Keeps the target valid (an automatic one when none), updates explosions and the
    /// network line. Called before drawing.
    fn refresh_view(&mut self, now: Instant) {
        if self.notice_until.is_some_and(|t| now >= t) {
            self.view.notice = None;
            self.notice_until = None;
        }
        // Reconnecting (the server went quiet or restarted): say so in the status line
        // for as long as it lasts.
        let since_epoch = self.driver.since_epoch(now);
        if let Some(st) = self.driver.session.reconnecting(since_epoch) {
            self.view.notice = Some(st.to_string());
            self.notice_until = Some(now + Duration::from_millis(500));
        }
        let s = self.driver.session.stats();
        if now.duration_since(self.rollback_sample.0) >= Duration::from_secs(1) {
            let secs = now.duration_since(self.rollback_sample.0).as_secs_f32();
            self.view.net.rollbacks_per_sec = (s.rollbacks - self.rollback_sample.1) as f32 / secs;
            self.rollback_sample = (now, s.rollbacks);
        }
        self.view.net.late_inputs = s.late_inputs;
        self.view.net.carrier = Some(carrier_name(&self.driver));
        self.view.net.rtt_ms = self.driver.session.rtt().map(|r| r.as_millis() as u32);
        self.view.net.lead_ticks = self.driver.session.lead();
        self.view.net.confirmed_tick = self.driver.session.confirmed_world().map_or(0, World::tick);
        let Some(world) = self.driver.session.world() else {
            return;
        };
        self.view.target = auto_target(world, self.view.follow, self.view.target);
        self.explosions.update(world, &mut self.view.explosions);
    }

    fn cycle_target(&mut self, back: bool) {
        let Some(world) = self.driver.session.world() else {
            return;
        };
        let near = monsters_near(world, self.view.follow, TARGET_RANGE_TILES);
        if near.is_empty() {
            self.notice("No monster in range to target.");
            return;
        }
        let i = self
            .view
            .target
            .and_then(|t| near.iter().position(|&n| n == t));
        let next = match (i, back) {
            (None, _) => 0,
            (Some(i), false) => (i + 1) % near.len(),
            (Some(i), true) => (i + near.len() - 1) % near.len(),
        };
        self.view.target = Some(near[next]);
    }

    fn cycle_follow(&mut self, back: bool) {
        let Some(world) = self.driver.session.world() else {
            return;
        };
        if let Some(next) = venture_play::view::next_follow(world, self.view.follow, back) {
            self.view.follow = next;
            self.view.target = None;
        }
    }

    fn inventory_key(&mut self, key: KeyEvent, cursor: usize) {
        let key = match key.code {
            KeyCode::Up | KeyCode::Char('w') | KeyCode::Char('k') => InventoryKey::Up,
            KeyCode::Down | KeyCode::Char('s') | KeyCode::Char('j') => InventoryKey::Down,
            KeyCode::Esc | KeyCode::Char('i') | KeyCode::Char('I') => InventoryKey::Close,
            KeyCode::Enter
            | KeyCode::Char('e')
            | KeyCode::Char('E')
            | KeyCode::Char('u')
            | KeyCode::Char('U') => InventoryKey::Act,
            KeyCode::Char('x') | KeyCode::Char('X') => InventoryKey::Drop,
            _ => InventoryKey::Other,
        };
        let me = self
            .driver
            .session
            .world()
            .and_then(|w| w.player(self.driver.session.slot() as usize));
        self.view.overlay =
            inventory::handle(me, cursor, key, |b, slot| self.mapper.queue(b, slot));
    }

    fn key(&mut self, key: KeyEvent, now: Instant) {
        self.dirty = true;
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('d')) {
            self.quit = true;
            return;
        }
        let playing = matches!(self.driver.session.phase(), Phase::Playing);
        if self.driver.session.config().spectate
            && self.view.overlay == Overlay::None
            && key.kind != KeyEventKind::Release
            && super::spectate::key(&mut self.view, self.driver.session.world(), key)
        {
            if self.view.notice.is_some() {
                // Spectator notices fade like the game's.
                self.notice_until = Some(now + Duration::from_secs(3));
            }
            return;
        }
        match self.view.overlay.clone() {
            Overlay::None => {
                if playing && self.mapper.key(key, now) == Mapped::Game {
                    return;
                }
                if key.kind == KeyEventKind::Release {
                    return;
                }
                match key.code {
                    KeyCode::Char('?') | KeyCode::F(1) => self.view.overlay = Overlay::Help,
                    KeyCode::Char('i') | KeyCode::Char('I') if playing => {
                        self.mapper.release_all();
                        // The inventory acts on our own character: look at it.
                        let me = self.driver.session.slot() as usize;
                        self.view.follow = me;
                        let player = self.driver.session.world().and_then(|w| w.player(me));
                        self.view.overlay = inventory::open(player);
                    }
                    KeyCode::Enter if playing => {
                        self.mapper.release_all();
                        self.view.overlay = Overlay::Chat {
                            line: String::new(),
                        };
                    }
                    KeyCode::Char('q') | KeyCode::Char('Q') | KeyCode::Esc => {
                        self.mapper.release_all();
                        self.view.overlay = Overlay::QuitConfirm;
                    }
                    KeyCode::Tab => self.cycle_target(false),
                    KeyCode::BackTab => self.cycle_target(true),
                    KeyCode::Char('n') | KeyCode::Char('N') => {
                        self.view.show_net = !self.view.show_net
                    }
                    KeyCode::Char('f') | KeyCode::Char('F') => {
                        self.view.aim_at_target = !self.view.aim_at_target;
                        let on = self.view.aim_at_target;
                        self.notice(if on {
                            "Aiming at the target."
                        } else {
                            "Aiming where you walk."
                        });
                    }
                    KeyCode::PageDown => self.cycle_follow(false),
                    KeyCode::PageUp => self.cycle_follow(true),
                    _ => {}
                }
            }
            _ if key.kind == KeyEventKind::Release => {}
            Overlay::Help => self.view.overlay = Overlay::None,
            Overlay::QuitConfirm => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => self.quit = true,
                _ => self.view.overlay = Overlay::None,
            },
            Overlay::Inventory { cursor } => self.inventory_key(key, cursor),
            Overlay::Chat { mut line } => match key.code {
                KeyCode::Esc => self.view.overlay = Overlay::None,
                KeyCode::Enter => {
                    self.view.overlay = Overlay::None;
                    if let Some(clean) = venture_net::chat::clean_line(&line) {
                        if !self.driver.session.send_chat(&clean) {
                            self.notice("Not connected: the line was not sent.");
                        }
                    }
                }
                KeyCode::Backspace => {
                    line.pop();
                    self.view.overlay = Overlay::Chat { line };
                }
                KeyCode::Char(c) if !c.is_control() => {
                    if line.chars().count() < venture_sim::MAX_CHAT_CHARS {
                        line.push(c);
                    }
                    self.view.overlay = Overlay::Chat { line };
                }
                _ => {}
            },
        }
    }

    /// The predicted and the confirmed tick.
    fn ticks(&self) -> (u64, u64) {
        (
            self.driver.session.world().map_or(0, World::tick),
            self.driver.session.confirmed_world().map_or(0, World::tick),
        )
    }

    /// The game, or the screen of the phase before it.
    fn draw_frame(&self, f: &mut Frame) {
        let server = &self.server_text;
        let area = f.area();
        let buf = f.buffer_mut();
        match (self.driver.session.phase(), self.driver.session.world()) {
            (Phase::Playing, Some(w)) => render::render(w, &self.view, area, buf),
            _ if area.width < render::MIN_WIDTH || area.height < render::MIN_HEIGHT => {
                screens::too_small(area, buf)
            }
            (Phase::Connecting | Phase::Joining { .. }, _) => screens::message(
                area,
                "Venture",
                &[
                    match self.failover.trying_at() {
                        Some(at) => format!("The server stopped answering: trying {at} ..."),
                        None => format!("Connecting to {server} ..."),
                    },
                    String::new(),
                    "Q or Ctrl-C gives up.".into(),
                ],
                buf,
            ),
            _ => {
                let (slot, genre) = self.welcomed.clone().unwrap_or((0, "?".into()));
                let got = match self.driver.session.sync_progress() {
                    Some((have, of)) => format!("Receiving the world: {have} of {of} parts"),
                    None => "Waiting for the world ...".into(),
                };
                screens::message(
                    area,
                    "Venture",
                    &[format!("Joined {server} as player {slot} ({genre})."), got],
                    buf,
                )
            }
        }
    }
}

impl Screen for App {
    type End = End;

    fn signalled(&self) -> End {
        End::Signal
    }

    fn end(&mut self, now: Instant) -> Option<End> {
        (self.quit || self.deadline.is_some_and(|d| now >= d)).then_some(End::Quit)
    }

    fn wake_by(&self, now: Instant) -> Instant {
        self.driver
            .next_wakeup()
            .min(now + Duration::from_millis(50))
    }

    fn event(&mut self, event: TermEvent, now: Instant) -> bool {
        match event {
            TermEvent::Key(k) => self.key(k, now),
            TermEvent::FocusLost => self.mapper.release_all(),
            _ => {}
        }
        std::mem::take(&mut self.dirty)
    }

    /// The network: one pump, sampling one input per simulated tick.
    fn turn(&mut self, _now: Instant) -> ControlFlow<End, bool> {
        let aim_at = self.view.aim_at_target;
        let target = self.view.target;
        let mapper = &mut self.mapper;
        let lines = self.shell.pump(&mut self.driver, &mut |world, slot| {
            let aim = target.filter(|_| aim_at).and_then(|t| {
                let me = world.player(slot as usize)?;
                let m = world.monsters().iter().find(|m| m.id == t)?;
                Some(toward(me.pos, m.pos))
            });
            mapper.sample(Instant::now(), aim)
        });
        for line in lines {
            self.log(LogKind::Info, line);
        }
        if let Some(end) = self.handle_session_events() {
            return ControlFlow::Break(end);
        }
        self.fail_over();
        let changed = std::mem::take(&mut self.dirty) || self.ticks() != self.drawn_ticks;
        ControlFlow::Continue(changed)
    }

    fn draw(&mut self, frame: &mut Frame, now: Instant) {
        self.refresh_view(now);
        self.draw_frame(frame);
        self.drawn_ticks = self.ticks();
    }
}

/// Shows why the game ended and waits for a key (at most `wait`).
fn show_end(term: &mut Term, title: &str, lines: &[String], wait: Duration) -> io::Result<()> {
    let mut lines = lines.to_vec();
    lines.push(String::new());
    lines.push("Press any key to exit.".into());
    let deadline = Instant::now() + wait;
    loop {
        term.draw(|f| {
            let area: Rect = f.area();
            screens::message(area, title, &lines, f.buffer_mut())
        })?;
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        if event::poll(left.min(Duration::from_millis(500)))? {
            if let TermEvent::Key(k) = event::read()? {
                if k.kind != KeyEventKind::Release {
                    return Ok(());
                }
            }
        }
    }
}

/// Plays interactively as `name` until the player quits, the server closes, or a signal.
pub fn run(args: &ClientArgs, name: String) -> Result<RunOutcome, ClientError> {
    let shell = Shell::new(args)?;
    let mut events = EventLoop::new()?;
    let mut config = shell.config(args, &name);
    // The message log narrates confirmed ticks.
    config.report_confirmed = true;
    config.narrate = true;
    let token = Token(FIRST_FREE_TOKEN);
    let driver = shell.connect(
        config.clone(),
        shell.servers.current_target(),
        events.registry(),
        token,
    )?;
    let failover = Failover::new(shell.servers.clone(), config, token);
    let registry = events.registry().try_clone()?;
    let epoch = shell.epoch;

    let (guard, mut term) = event_loop::enter()?;
    let mut view = ViewState::following(0);
    view.colors = detect_colors();
    view.key_releases = guard.key_releases;
    let deadline = args.duration.map(|d| epoch + Duration::from_secs(d));
    let mut app = App {
        driver,
        shell,
        failover,
        registry,
        mapper: InputMapper::new(guard.key_releases),
        view,
        narrator: None,
        name: name.clone(),
        server_text: args.server.clone(),
        welcomed: None,
        desync_dir: args.desync_dir.clone(),
        outcome: RunOutcome::default(),
        dirty: true,
        quit: false,
        deadline,
        drawn_ticks: (u64::MAX, u64::MAX),
        explosions: Explosions::default(),
        rollback_sample: (epoch, 0),
        notice_until: None,
    };
    // Whatever ends the loop, an error included, we say goodbye to the server first.
    let played = events.run(&mut app, &mut term);
    app.driver.session.leave();
    app.driver.flush(Instant::now());
    let end = played?;
    match &end {
        End::Closed(reason) if !matches!(reason, CloseReason::Left) => {
            let (title, lines) = refusal(reason, &app.server_text, &app.name);
            let wait = if deadline.is_some() {
                Duration::from_secs(2)
            } else {
                Duration::from_secs(120)
            };
            show_end(&mut term, &title, &lines, wait)?;
            drop(guard);
            eprintln!("venture-client: {}", lines.join(" "));
        }
        End::Signal => {
            drop(guard);
            eprintln!("venture-client: stopped by a signal; left the game.");
        }
        _ => {
            drop(guard);
            if let Some(p) = app
                .driver
                .session
                .confirmed_world()
                .filter(|_| !args.spectate)
                .and_then(|w| w.player(app.driver.session.slot() as usize))
            {
                println!(
                    "Left the game: {} at level {}, {} gold.",
                    venture_play::text::inert(&p.name),
                    p.level,
                    p.gold
                );
            }
        }
    }
    Ok(app.outcome)
}
