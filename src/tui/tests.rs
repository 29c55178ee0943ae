//! Renderer tests on ratatui's TestBackend: a fixed world at a fixed tick, the small-screen
//! message, and network text that must render inert.

use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::Terminal;
use venture_sim::{Command, Frame, PlayerInput, SimConfig, World};

use super::render::{self, buffer_text, map::camera, Layout};
use venture_play::view::{ColorMode, LogKind, LogLine, Overlay, ViewState};

/// Seed 12345 fantasy with alice in slot 0 and bob in slot 1, 40 ticks in (bob walks east).
fn fixed_world() -> World {
    let mut w = World::new(&SimConfig::default()).unwrap();
    for tick in 1..=40 {
        let mut f = Frame::new(tick);
        if tick == 1 {
            f.commands = vec![
                Command::Join {
                    slot: 0,
                    name: "alice".into(),
                },
                Command::Join {
                    slot: 1,
                    name: "bob".into(),
                },
            ];
        }
        f.set_input(
            1,
            PlayerInput {
                move_x: 127,
                ..PlayerInput::IDLE
            },
        );
        w.step(&f).unwrap();
    }
    w
}

fn draw(world: &World, view: &ViewState, w: u16, h: u16) -> ratatui::buffer::Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| render::render(world, view, f.area(), f.buffer_mut()))
        .unwrap();
    term.backend().buffer().clone()
}

#[test]
fn fixed_world_shows_player_monster_and_hud_numbers() {
    let world = fixed_world();
    let mut view = ViewState::following(0);
    view.colors = ColorMode::Mono;
    let buf = draw(&world, &view, 200, 60);
    let text = buffer_text(&buf);
    let layout = Layout::of(buf.area).unwrap();
    let map = world.map();
    let me = world.player(0).unwrap();
    let origin = camera(
        map.width() as i32,
        map.height() as i32,
        me.pos.tile(),
        layout.map.width as i32,
        layout.map.height as i32,
    );
    let cell = |(tx, ty): (i32, i32)| {
        let (x, y) = (tx - origin.0, ty - origin.1);
        assert!(x >= 0 && y >= 0 && x < layout.map.width as i32 && y < layout.map.height as i32);
        buf[(layout.map.x + x as u16, layout.map.y + y as u16)]
            .symbol()
            .to_string()
    };
    assert_eq!(
        cell(me.pos.tile()),
        "@",
        "the player is drawn where it stands\n{text}"
    );
    // A monster in view, drawn with its template's letter.
    let genre = world.config().genre;
    let in_view = |(tx, ty): (i32, i32)| {
        let (x, y) = (tx - origin.0, ty - origin.1);
        x >= 0 && y >= 0 && x < layout.map.width as i32 && y < layout.map.height as i32
    };
    let m = world
        .monsters()
        .iter()
        .find(|m| in_view(m.pos.tile()))
        .expect("seed 12345 has a monster within a 170x44 view of the spawn");
    let tpl = m.template(genre);
    let first = tpl.name.chars().next().unwrap();
    let want = if tpl.is_boss {
        first.to_ascii_uppercase()
    } else {
        first.to_ascii_lowercase()
    };
    let got = cell(m.pos.tile());
    // Another monster or a player may stand on the same tile; any monster letter will do.
    assert!(
        got == want.to_string() || got.chars().all(char::is_alphabetic),
        "{got:?} at the monster\n{text}"
    );
    assert_eq!(
        got,
        want.to_string(),
        "monster {} at {:?}\n{text}",
        tpl.name,
        m.pos.tile()
    );
    // The other player with the name above.
    assert!(text.contains("bob"), "{text}");
    // The HUD numbers of a fresh level-1 character.
    for want in [
        "alice  Lv 1",
        "100/100",
        "XP 0/100",
        "Gold 100",
        "Depth 1  fantasy",
        "1 ",
    ] {
        assert!(text.contains(want), "missing {want:?}\n{text}");
    }
    // The exit stairs, when in view, are drawn as '>'.
    let exit = world.level().exit;
    if in_view(exit) {
        assert_eq!(cell(exit), ">");
    }
}

#[test]
fn viewport_is_clamped_at_the_map_edges() {
    assert_eq!(camera(100, 100, (2, 3), 40, 20), (0, 0));
    assert_eq!(camera(100, 100, (98, 99), 40, 20), (60, 80));
    assert_eq!(camera(100, 100, (50, 50), 40, 20), (30, 40));
    // A map smaller than the view is centred.
    assert_eq!(camera(20, 20, (5, 5), 40, 30), (-10, -5));
}

#[test]
fn a_small_terminal_gets_the_resize_message() {
    let world = fixed_world();
    let view = ViewState::following(0);
    for (w, h) in [(59, 30), (80, 19), (30, 5)] {
        let text = buffer_text(&draw(&world, &view, w, h));
        assert!(text.contains("Make the window larger"), "{w}x{h}:\n{text}");
        assert!(!text.contains("Gold"), "no HUD at {w}x{h}");
    }
    let text = buffer_text(&draw(&world, &view, 60, 20));
    assert!(!text.contains("Make the window larger"));
    assert!(text.contains("Gold 100"), "{text}");
}

#[test]
fn chat_with_escape_sequences_renders_inert() {
    let world = fixed_world();
    let mut view = ViewState::following(0);
    let evil = "<mallory> hi\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}31m\r\nbye";
    view.push_log(LogLine {
        tick: 40,
        kind: LogKind::Chat,
        text: evil.into(),
    });
    view.overlay = Overlay::Chat {
        line: "typed \u{1b}[H".into(),
    };
    let buf = draw(&world, &view, 120, 40);
    for cell in buf.content() {
        assert!(
            !cell.symbol().chars().any(|c| c.is_control()),
            "a control character reached a cell: {:?}",
            cell.symbol()
        );
    }
    let text = buffer_text(&buf);
    assert!(
        text.contains("<mallory> hi?[2J?]0;pwned??31m??bye"),
        "{text}"
    );
    // And through the real crossterm backend: the bytes for the terminal carry none of
    // the line's sequences (no OSC title, no BEL, no clear screen, no C1 CSI).
    let mut out = Vec::new();
    {
        // A fixed viewport: no size query and no clear of our own.
        let options = ratatui::TerminalOptions {
            viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, 120, 40)),
        };
        let mut term = Terminal::with_options(CrosstermBackend::new(&mut out), options).unwrap();
        term.draw(|f| render::render(&world, &view, f.area(), f.buffer_mut()))
            .unwrap();
    }
    let bytes = String::from_utf8_lossy(&out);
    assert!(!bytes.contains("\u{1b}]"), "an OSC sequence went out");
    assert!(!bytes.contains('\u{7}'), "a BEL went out");
    assert!(!bytes.contains("\u{1b}[2J"), "a clear-screen went out");
    assert!(!bytes.contains('\u{9b}'), "a C1 CSI went out");
    assert!(bytes.contains("pwned"));
}

#[test]
fn overlays_and_the_network_line_draw() {
    let world = fixed_world();
    let mut view = ViewState::following(0);
    view.overlay = Overlay::Help;
    let text = buffer_text(&draw(&world, &view, 120, 40));
    let spells = venture_sim::content::SPELLBOOK_LEN;
    assert!(
        text.contains("Controls") && text.contains(&format!("cast spell 1 to {spells} ")),
        "{text}"
    );
    // The help states the goal before the keys.
    assert!(
        text.contains("Goal: on each level find the stairs >"),
        "{text}"
    );
    // Every description fits whole (the longest once lost its last word to the border).
    for (_, what) in venture_play::keys::controls() {
        assert!(text.contains(&what), "{what:?} cut: {text}");
    }
    // The key hints and a newcomer's first lines name the spell keys from the book's length.
    view.overlay = Overlay::None;
    for (w, h) in [(120, 40), (80, 24)] {
        let text = buffer_text(&draw(&world, &view, w, h));
        assert!(
            text.contains(&format!("1-{spells}: spells")),
            "{w}x{h}: {text}"
        );
    }
    assert!(super::render::overlay::welcome()[1].contains(&format!("1-{spells} cast spells")));
    view.overlay = Overlay::Inventory { cursor: 0 };
    let text = buffer_text(&draw(&world, &view, 120, 40));
    assert!(
        text.contains("Inventory") && text.contains("weapon: (empty)"),
        "{text}"
    );
    view.overlay = Overlay::QuitConfirm;
    assert!(buffer_text(&draw(&world, &view, 120, 40)).contains("Leave the game? y / n"));
    view.overlay = Overlay::None;
    view.show_net = true;
    view.net.rtt_ms = Some(48);
    view.net.confirmed_tick = 37;
    let text = buffer_text(&draw(&world, &view, 120, 40));
    assert!(
        text.contains("rtt 48 ms") && text.contains("confirmed tick 37"),
        "{text}"
    );
}
