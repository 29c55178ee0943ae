//! Input mapping: key events in, exactly one [`PlayerInput`] per tick out. Shared by the
//! terminal client (crossterm events) and the browser client (DOM keydown/keyup): each
//! turns its events into a [`Key`] and a [`KeyKind`]; time is a [`Duration`] since any
//! origin the caller keeps (sans-IO: no clock is read here).
//!
//! Movement (WASD, arrows), aiming (Shift + direction) and attacking (Space) are *held*
//! keys; spells (the digits from 1, one per slot of the spellbook: [`spell_slot`]) and
//! picking up (E), and the inventory's equip / use / drop, are one-shot actions queued
//! for the next ticks. The help and the key hints name the spell keys from the same
//! length ([`spell_keys`], [`controls`]), so a spell added to `venture_sim`'s book needs
//! no edit here.
//!
//! Terminals normally report presses (and auto-repeats, as presses) but never releases.
//! Where the terminal supports crossterm's keyboard enhancement ("report event types":
//! kitty, WezTerm, foot, ghostty), a key is held from its press to its release. Elsewhere
//! a key counts as held for a window after its last event: [`REPEAT_HOLD`] (150 ms) after
//! a repeat, so letting go stops within about that; after the first press, long enough to
//! bridge the keyboard's repeat delay (learned from the first repeat seen, 300 ms until
//! then), so holding a key walks without a stutter. Such terminals repeat only the newest
//! key of a chord, so while a key repeats, the other movement keys pressed before it and
//! still held stay held with it (that is how W+D walks diagonally); the chord ends when
//! the repeating key stops.
//!
//! The sim's USE_ITEM, INTERACT and DROP are edge-triggered: two queued actions with the
//! same button are separated by one tick without it.

use std::collections::VecDeque;
use std::time::Duration;

use venture_sim::content::SPELLBOOK_LEN;
use venture_sim::{buttons, PlayerInput, PICK_UP_SLOT};

/// A key, as far as the game cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyCode {
    Up,
    Down,
    Left,
    Right,
    /// A character key (letters as typed: an uppercase letter implies Shift).
    Char(char),
    /// Anything else (function keys, Enter, Tab, ...): never a game key.
    Other,
}

/// What happened to the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyEventKind {
    Press,
    /// An auto-repeat (terminals without release reporting send these as presses).
    Repeat,
    Release,
}

/// One key event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyEvent {
    pub code: KeyCode,
    pub kind: KeyEventKind,
    pub shift: bool,
}

impl KeyEvent {
    pub fn new(code: KeyCode, kind: KeyEventKind, shift: bool) -> KeyEvent {
        KeyEvent { code, kind, shift }
    }
}

// One digit key per spell: a book of more than nine needs another key scheme.
const _: () = assert!(SPELLBOOK_LEN >= 1 && SPELLBOOK_LEN <= 9);

/// The spellbook slot the key `c` casts: '1' the first, up to the book's length.
pub fn spell_slot(c: char) -> Option<u8> {
    let digit = c.to_digit(10)? as usize;
    let slot = digit.checked_sub(1).filter(|&s| s < SPELLBOOK_LEN)?;
    u8::try_from(slot).ok()
}

/// The spell keys, first to last, joined by `to` ("1-8", "1 to 8").
fn spell_range(to: &str) -> String {
    match SPELLBOOK_LEN {
        1 => "1".to_string(),
        n => format!("1{to}{n}"),
    }
}

/// The spell keys as the key hints write them: "1-8" for a book of eight.
pub fn spell_keys() -> String {
    spell_range("-")
}

/// The controls, as both clients' help screens and the README list them.
pub fn controls() -> Vec<(String, String)> {
    let spells = (
        spell_range(" - "),
        format!(
            "cast spell {} (the sidebar lists them)",
            spell_range(" to ")
        ),
    );
    let row = |(k, what): &(&str, &str)| (k.to_string(), what.to_string());
    let mut rows: Vec<(String, String)> = CONTROLS_BEFORE_SPELLS.iter().map(row).collect();
    rows.push(spells);
    rows.extend(CONTROLS_AFTER_SPELLS.iter().map(row));
    rows
}

const CONTROLS_BEFORE_SPELLS: [(&str, &str); 4] = [
    ("W A S D / arrows", "move (two at once: diagonals)"),
    ("Shift + direction", "aim without moving"),
    ("F", "aim at the target on/off"),
    ("Space", "attack (hold to keep swinging)"),
];

const CONTROLS_AFTER_SPELLS: [(&str, &str); 12] = [
    ("E", "pick up the nearest item in reach"),
    ("Tab", "next target"),
    ("I", "inventory (equip, unequip, use, drop)"),
    ("Enter", "chat: type a line, Enter sends, Esc cancels"),
    ("N", "network line on/off"),
    ("PgUp / PgDn", "follow another player (spectate)"),
    ("?", "this help"),
    ("Q / Esc", "quit (asks first)"),
    ("Ctrl-C", "quit at once"),
    ("walk over items", "picks them up"),
    ("stairs >", "the party descends when all stand on them"),
    ("dying", "respawn at the start after 3 s, minus 10% gold"),
];

/// How long a key stays held after an auto-repeat without key-release reporting.
pub const REPEAT_HOLD: Duration = Duration::from_millis(150);
/// How long a first press holds before the repeat delay is known.
pub const DEFAULT_FIRST_HOLD: Duration = Duration::from_millis(300);
/// Bounds of the learned first-press hold.
const MIN_FIRST_HOLD: Duration = Duration::from_millis(150);
const MAX_FIRST_HOLD: Duration = Duration::from_millis(700);
/// Added to the learned repeat delay so the first repeat lands inside the window.
const FIRST_HOLD_SLACK: Duration = Duration::from_millis(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Held {
    Up,
    Down,
    Left,
    Right,
    Attack,
}

const HELD_COUNT: usize = 5;

#[derive(Clone, Copy, Debug, Default)]
struct HoldState {
    /// Enhanced mode: between press and release.
    down: bool,
    /// Window mode: held until then.
    until: Option<Duration>,
    pressed_at: Option<Duration>,
    repeated: bool,
}

/// What a key event meant, besides the game input it may have changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapped {
    /// A game key: movement, aim, attack, spell, pick up.
    Game,
    /// Not a game key: the caller's UI handles it.
    Other,
}

/// Turns key events into per-tick inputs. See the module docs.
#[derive(Clone, Debug)]
pub struct InputMapper {
    enhanced: bool,
    held: [HoldState; HELD_COUNT],
    /// The direction we face: the last movement, or a Shift + direction.
    aim: (i8, i8),
    learned_delay: Option<Duration>,
    queue: VecDeque<(u8, u8)>,
    last_oneshot: u8,
}

fn direction_of(code: KeyCode) -> Option<Held> {
    match code {
        KeyCode::Up => Some(Held::Up),
        KeyCode::Down => Some(Held::Down),
        KeyCode::Left => Some(Held::Left),
        KeyCode::Right => Some(Held::Right),
        KeyCode::Char(c) => match c.to_ascii_lowercase() {
            'w' => Some(Held::Up),
            's' => Some(Held::Down),
            'a' => Some(Held::Left),
            'd' => Some(Held::Right),
            _ => None,
        },
        _ => None,
    }
}

fn vector(h: Held) -> (i32, i32) {
    match h {
        Held::Up => (0, -1),
        Held::Down => (0, 1),
        Held::Left => (-1, 0),
        Held::Right => (1, 0),
        Held::Attack => (0, 0),
    }
}

fn full(v: (i32, i32)) -> (i8, i8) {
    ((v.0.signum() * 127) as i8, (v.1.signum() * 127) as i8)
}

impl InputMapper {
    /// `enhanced`: the terminal reports key releases.
    pub fn new(enhanced: bool) -> Self {
        InputMapper {
            enhanced,
            held: [HoldState::default(); HELD_COUNT],
            aim: (0, 1),
            learned_delay: None,
            queue: VecDeque::new(),
            last_oneshot: 0,
        }
    }

    fn first_hold(&self) -> Duration {
        self.learned_delay.map_or(DEFAULT_FIRST_HOLD, |d| {
            (d + FIRST_HOLD_SLACK).clamp(MIN_FIRST_HOLD, MAX_FIRST_HOLD)
        })
    }

    fn is_held(&self, h: Held, now: Duration) -> bool {
        let s = &self.held[h as usize];
        if self.enhanced {
            s.down
        } else {
            s.until.is_some_and(|u| now < u)
        }
    }

    fn press(&mut self, h: Held, kind: KeyEventKind, now: Duration) {
        if self.enhanced {
            self.held[h as usize].down = kind != KeyEventKind::Release;
            return;
        }
        if kind == KeyEventKind::Release {
            self.held[h as usize].until = None;
            return;
        }
        let first_hold = self.first_hold();
        let held = self.is_held(h, now);
        let s = self.held[h as usize];
        let since_press = s.pressed_at.map(|p| now.saturating_sub(p));
        // The first repeat may come after the first-press window ran out (while the
        // repeat delay is unknown): a press soon after an unrepeated press is that repeat.
        let late_first_repeat = !s.repeated
            && since_press.is_some_and(|d| d >= Duration::from_millis(100) && d <= MAX_FIRST_HOLD);
        let until = if held || late_first_repeat {
            if !s.repeated {
                if let Some(d) = since_press.filter(|d| *d >= Duration::from_millis(100)) {
                    self.learned_delay = Some(d.min(MAX_FIRST_HOLD));
                }
            }
            let st = &mut self.held[h as usize];
            st.repeated = true;
            let until = now + REPEAT_HOLD;
            st.until = Some(st.until.map_or(until, |u| u.max(until)));
            until
        } else {
            let until = now + first_hold;
            self.held[h as usize] = HoldState {
                down: false,
                until: Some(until),
                pressed_at: Some(now),
                repeated: false,
            };
            until
        };
        // The chord: movement keys still held ride along with the newest one.
        if h != Held::Attack {
            for other in [Held::Up, Held::Down, Held::Left, Held::Right] {
                if other != h && self.is_held(other, now) {
                    let o = &mut self.held[other as usize];
                    o.until = Some(o.until.map_or(until, |u| u.max(until)));
                }
            }
        }
    }

    /// Feeds one key event. Game keys change the input; anything else is `Other`.
    pub fn key(&mut self, ev: KeyEvent, now: Duration) -> Mapped {
        if let Some(dir) = direction_of(ev.code) {
            let shifted = ev.shift || matches!(ev.code, KeyCode::Char(c) if c.is_ascii_uppercase());
            if shifted {
                if ev.kind != KeyEventKind::Release {
                    // Aim: a Shift + direction adds to the aim like a chord would.
                    let (x, y) = vector(dir);
                    let mut v = (x, y);
                    for other in [Held::Up, Held::Down, Held::Left, Held::Right] {
                        if other != dir && self.is_held(other, now) {
                            let (ox, oy) = vector(other);
                            v = (v.0 + ox, v.1 + oy);
                        }
                    }
                    if v != (0, 0) {
                        self.aim = full(v);
                    }
                }
                return Mapped::Game;
            }
            self.press(dir, ev.kind, now);
            return Mapped::Game;
        }
        if let (KeyCode::Char(c), false) = (ev.code, ev.kind == KeyEventKind::Release) {
            if let Some(slot) = spell_slot(c) {
                self.queue(buttons::CAST, slot);
                return Mapped::Game;
            }
        }
        match ev.code {
            KeyCode::Char(' ') => {
                self.press(Held::Attack, ev.kind, now);
                Mapped::Game
            }
            KeyCode::Char('e') | KeyCode::Char('E') if ev.kind != KeyEventKind::Release => {
                self.queue(buttons::INTERACT, PICK_UP_SLOT);
                Mapped::Game
            }
            _ => Mapped::Other,
        }
    }

    /// Queues a one-shot action (`button` with `slot`) for the coming ticks.
    pub fn queue(&mut self, button: u8, slot: u8) {
        // A stuck UI or a held key cannot grow this without bound.
        if self.queue.len() < 16 {
            self.queue.push_back((button, slot));
        }
    }

    /// Lets go of every held key (an overlay opened, the terminal lost focus).
    pub fn release_all(&mut self) {
        for s in &mut self.held {
            s.down = false;
            s.until = None;
        }
    }

    /// The movement direction held at `now`, as -1/0/1 per axis.
    fn movement(&self, now: Duration) -> (i32, i32) {
        let mut v = (0, 0);
        for h in [Held::Up, Held::Down, Held::Left, Held::Right] {
            if self.is_held(h, now) {
                let (x, y) = vector(h);
                v = (v.0 + x, v.1 + y);
            }
        }
        v
    }

    /// The input for the next tick at `now`. `aim_at` overrides the aim (aiming at a
    /// target). Call it once per simulated tick.
    pub fn sample(&mut self, now: Duration, aim_at: Option<(i8, i8)>) -> PlayerInput {
        let mv = self.movement(now);
        if mv != (0, 0) {
            self.aim = full(mv);
        }
        let (move_x, move_y) = full(mv);
        let (aim_x, aim_y) = aim_at.filter(|a| *a != (0, 0)).unwrap_or(self.aim);
        let mut input = PlayerInput {
            move_x,
            move_y,
            aim_x,
            aim_y,
            buttons: 0,
            slot: 0,
        };
        if self.is_held(Held::Attack, now) {
            input.buttons |= buttons::ATTACK;
        }
        let next = self.queue.front().copied();
        match next {
            Some((b, _)) if b == self.last_oneshot => {
                // The same edge-triggered button twice in a row would read as held: leave
                // one tick without it.
                self.last_oneshot = 0;
            }
            Some((b, slot)) => {
                self.queue.pop_front();
                input.buttons |= b;
                input.slot = slot;
                self.last_oneshot = b;
            }
            None => self.last_oneshot = 0,
        }
        input
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, kind: KeyEventKind) -> KeyEvent {
        KeyEvent::new(code, kind, false)
    }
    fn press(c: char) -> KeyEvent {
        ev(KeyCode::Char(c), KeyEventKind::Press)
    }
    fn ms(t0: Duration, n: u64) -> Duration {
        t0 + Duration::from_millis(n)
    }

    /// Samples one tick every 50 ms from `from` to `to` (exclusive), as (move_x, move_y).
    fn moves(m: &mut InputMapper, t0: Duration, from: u64, to: u64) -> Vec<(i8, i8)> {
        (from..to)
            .step_by(50)
            .map(|t| {
                let i = m.sample(ms(t0, t), None);
                (i.move_x, i.move_y)
            })
            .collect()
    }

    #[test]
    fn enhanced_holds_from_press_to_release() {
        let t0 = Duration::from_secs(1);
        let mut m = InputMapper::new(true);
        m.key(press('d'), t0);
        assert_eq!(moves(&mut m, t0, 0, 1000), vec![(127, 0); 20]);
        m.key(ev(KeyCode::Char('d'), KeyEventKind::Repeat), ms(t0, 1000));
        m.key(ev(KeyCode::Char('w'), KeyEventKind::Press), ms(t0, 1000));
        assert_eq!(moves(&mut m, t0, 1000, 1100), vec![(127, -127); 2]);
        m.key(ev(KeyCode::Char('d'), KeyEventKind::Release), ms(t0, 1100));
        assert_eq!(moves(&mut m, t0, 1100, 1200), vec![(0, -127); 2]);
        m.key(ev(KeyCode::Char('w'), KeyEventKind::Release), ms(t0, 1200));
        assert_eq!(moves(&mut m, t0, 1200, 1300), vec![(0, 0); 2]);
        // Aim stays where we last walked.
        let i = m.sample(ms(t0, 1300), None);
        assert_eq!((i.aim_x, i.aim_y), (0, -127));
    }

    #[test]
    fn without_releases_a_tap_holds_briefly_and_repeats_walk_smoothly() {
        let t0 = Duration::from_secs(1);
        let mut m = InputMapper::new(false);
        // A tap: held for the first-press window, then stops.
        m.key(press('a'), t0);
        let got = moves(&mut m, t0, 0, 500);
        assert_eq!(&got[..6], &[(-127, 0); 6], "held 300 ms");
        assert!(got[6..].iter().all(|&v| v == (0, 0)), "{got:?}");

        // Held: press, repeat delay 400 ms, then repeats every 33 ms, released at 1500.
        let t1 = ms(t0, 2000);
        let mut m = InputMapper::new(false);
        m.key(press('a'), t1);
        let mut t = 400;
        while t <= 1500 {
            m.key(press('a'), ms(t1, t));
            t += 33;
        }
        let got = moves(&mut m, t1, 0, 2000);
        // A stutter before the first repeat is allowed only while the delay is unknown
        // (300 ms window < 400 ms delay); after the last repeat it stops within 150 ms.
        let walking: Vec<bool> = got.iter().map(|&v| v == (-127, 0)).collect();
        assert!(walking[..6].iter().all(|&w| w));
        assert!(walking[8..30].iter().all(|&w| w), "{walking:?}");
        let stop = walking.iter().rposition(|&w| w).unwrap() as u64 * 50;
        assert!((1500..=1650).contains(&stop), "stopped at {stop} ms");

        // The delay is now learned: the next hold has no stutter.
        let t2 = ms(t1, 5000);
        m.key(press('a'), t2);
        let mut t = 400;
        while t <= 1000 {
            m.key(press('a'), ms(t2, t));
            t += 33;
        }
        let got = moves(&mut m, t2, 0, 1000);
        assert!(got.iter().all(|&v| v == (-127, 0)), "{got:?}");
    }

    #[test]
    fn without_releases_a_chord_walks_diagonally_while_the_newest_key_repeats() {
        let t0 = Duration::from_secs(1);
        let mut m = InputMapper::new(false);
        m.key(press('w'), t0);
        m.key(press('d'), ms(t0, 100));
        // Only d repeats from here on (as terminals do), until 1000 ms.
        let mut t = 350;
        while t <= 1000 {
            m.key(press('d'), ms(t0, t));
            t += 33;
        }
        let got = moves(&mut m, t0, 100, 1000);
        assert!(got.iter().all(|&v| v == (127, -127)), "{got:?}");
        let after = moves(&mut m, t0, 1200, 1400);
        assert!(after.iter().all(|&v| v == (0, 0)), "{after:?}");
    }

    #[test]
    fn the_spell_keys_follow_the_spellbook() {
        use venture_sim::content::spellbook;
        use venture_sim::Genre;
        let t0 = Duration::from_secs(1);
        let n = SPELLBOOK_LEN;
        // Every spell in every genre's book has its key, and it casts that slot.
        for slot in 0..n {
            for genre in Genre::ALL {
                assert!(spellbook(genre, slot).is_some(), "{genre} slot {slot}");
            }
            let key = char::from_digit(slot as u32 + 1, 10).expect("at most nine spells");
            let mut m = InputMapper::new(true);
            assert_eq!(m.key(press(key), t0), Mapped::Game, "key {key}");
            let i = m.sample(t0, None);
            assert_eq!(
                (i.buttons, i.slot),
                (buttons::CAST, slot as u8),
                "key {key}"
            );
        }
        // Past the book (and 0) a digit is not a game key.
        assert!(Genre::ALL.iter().all(|&g| spellbook(g, n).is_none()));
        for c in ['0', char::from_digit(n as u32 + 1, 10).unwrap_or('0')] {
            let mut m = InputMapper::new(true);
            assert_eq!(m.key(press(c), t0), Mapped::Other, "key {c}");
            assert_eq!(spell_slot(c), None);
        }
        // The texts name the same keys.
        assert_eq!(spell_keys(), format!("1-{n}"));
        let rows = controls();
        assert!(
            rows.iter().any(|(k, what)| *k == format!("1 - {n}")
                && what.starts_with(&format!("cast spell 1 to {n} "))),
            "{rows:?}"
        );
    }

    #[test]
    fn shift_aims_without_moving_and_one_shots_are_separated() {
        let t0 = Duration::from_secs(1);
        let mut m = InputMapper::new(false);
        let shift_left = KeyEvent::new(KeyCode::Left, KeyEventKind::Press, true);
        m.key(shift_left, t0);
        let i = m.sample(t0, None);
        assert_eq!((i.move_x, i.move_y, i.aim_x, i.aim_y), (0, 0, -127, 0));
        // Aiming at a target overrides.
        assert_eq!(m.sample(t0, Some((5, 9))).aim_x, 5);

        m.key(press('1'), t0);
        m.key(press('3'), t0);
        m.key(press('e'), t0);
        m.queue(buttons::DROP, 4);
        let seq: Vec<(u8, u8)> = (0..6)
            .map(|k| {
                let i = m.sample(ms(t0, 50 * k), None);
                (i.buttons, i.slot)
            })
            .collect();
        assert_eq!(
            seq,
            vec![
                (buttons::CAST, 0),
                (0, 0),
                (buttons::CAST, 2),
                (buttons::INTERACT, PICK_UP_SLOT),
                (buttons::DROP, 4),
                (0, 0)
            ]
        );
        // Space attacks while held.
        m.key(press(' '), ms(t0, 400));
        assert!(m.sample(ms(t0, 450), None).pressed(buttons::ATTACK));
        assert!(!m.sample(ms(t0, 900), None).pressed(buttons::ATTACK));
        // Other keys are the UI's.
        assert_eq!(m.key(press('i'), t0), Mapped::Other);
    }

    #[test]
    fn release_all_stops_everything() {
        let t0 = Duration::from_secs(1);
        for enhanced in [false, true] {
            let mut m = InputMapper::new(enhanced);
            m.key(press('s'), t0);
            m.key(press(' '), t0);
            m.release_all();
            let i = m.sample(t0, None);
            assert_eq!((i.move_y, i.buttons), (0, 0));
        }
    }
}
