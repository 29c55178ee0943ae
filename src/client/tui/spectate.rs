//! Keys of the interactive spectator (`venture-client --spectate` in a terminal): Tab and
//! PgDn follow the next player, Shift-Tab and PgUp the previous one, `c` toggles a free
//! camera that arrows, WASD or hjkl move. A spectator sends no inputs, so movement keys
//! never reach the game, and the inventory and chat stay closed.

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use venture_sim::World;

use venture_play::view::ViewState;

/// Tiles the free camera moves per key press.
const CAMERA_STEP: i32 = 2;

/// Handles `key` if it is a spectator key; returns whether it was.
pub fn key(view: &mut ViewState, world: Option<&World>, key: KeyEvent) -> bool {
    match key.code {
        KeyCode::Tab | KeyCode::PageDown => follow_next(view, world, false),
        KeyCode::BackTab | KeyCode::PageUp => follow_next(view, world, true),
        KeyCode::Char('c') | KeyCode::Char('C') => {
            view.free_camera = match view.free_camera {
                Some(_) => None,
                None => Some(centre_of(view, world)),
            };
            view.notice = Some(if view.free_camera.is_some() {
                "Free camera: arrows or WASD move it, c follows a player again.".into()
            } else {
                "Following a player (Tab: the next one).".into()
            });
        }
        // Inventory and chat act for a player; a spectator has neither.
        KeyCode::Char('i') | KeyCode::Char('I') | KeyCode::Enter => {
            view.notice = Some("Spectating: no inventory or chat.".into());
        }
        code => {
            let Some((x, y)) = view.free_camera else {
                return false;
            };
            let (dx, dy) = match code {
                KeyCode::Left | KeyCode::Char('a') | KeyCode::Char('h') => (-1, 0),
                KeyCode::Right | KeyCode::Char('d') | KeyCode::Char('l') => (1, 0),
                KeyCode::Up | KeyCode::Char('w') | KeyCode::Char('k') => (0, -1),
                KeyCode::Down | KeyCode::Char('s') | KeyCode::Char('j') => (0, 1),
                _ => return false,
            };
            let (w, h) = world.map_or((i32::MAX, i32::MAX), |w| {
                (w.map().width() as i32, w.map().height() as i32)
            });
            view.free_camera = Some((
                (x + dx * CAMERA_STEP).clamp(0, w.saturating_sub(1)),
                (y + dy * CAMERA_STEP).clamp(0, h.saturating_sub(1)),
            ));
        }
    }
    true
}

/// The tile the view centres on now.
fn centre_of(view: &ViewState, world: Option<&World>) -> (i32, i32) {
    let Some(world) = world else { return (0, 0) };
    world
        .player(view.follow)
        .map_or(world.level().spawn, |p| p.pos.tile())
}

/// Follows the next (or previous) player in the world, leaving the free camera.
fn follow_next(view: &mut ViewState, world: Option<&World>, back: bool) {
    view.free_camera = None;
    let Some(world) = world else { return };
    let slots: Vec<usize> = world.players().map(|(s, _)| s).collect();
    if slots.is_empty() {
        return;
    }
    let next = match slots.iter().position(|&s| s == view.follow) {
        None => 0,
        Some(i) if back => (i + slots.len() - 1) % slots.len(),
        Some(i) => (i + 1) % slots.len(),
    };
    view.follow = slots[next];
    view.target = None;
    if let Some(p) = world.player(view.follow) {
        view.notice = Some(format!("Following {}.", venture_play::text::inert(&p.name)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;
    use venture_sim::{Command, Frame, SimConfig};

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn world_with(slots: &[u8]) -> World {
        let mut w = World::new(&SimConfig {
            seed: 3,
            width: 48,
            height: 48,
            ..SimConfig::default()
        })
        .expect("valid");
        let mut f = Frame::new(1);
        for &slot in slots {
            f.commands.push(Command::Join {
                slot,
                name: format!("p{slot}"),
            });
        }
        w.step(&f).expect("steps");
        w
    }

    #[test]
    fn tab_cycles_players_and_c_toggles_a_free_camera_that_moves() {
        let world = world_with(&[0, 2]);
        let mut view = ViewState::following(0);
        assert!(key(&mut view, Some(&world), press(KeyCode::Tab)));
        assert_eq!(view.follow, 2);
        assert!(key(&mut view, Some(&world), press(KeyCode::Tab)));
        assert_eq!(view.follow, 0);
        assert!(key(&mut view, Some(&world), press(KeyCode::BackTab)));
        assert_eq!(view.follow, 2);
        // Movement keys are not a spectator's until the free camera is on.
        assert!(!key(&mut view, Some(&world), press(KeyCode::Left)));
        assert!(key(&mut view, Some(&world), press(KeyCode::Char('c'))));
        let start = view.free_camera.expect("free camera on");
        assert_eq!(start, world.player(2).expect("p2").pos.tile());
        assert!(key(&mut view, Some(&world), press(KeyCode::Right)));
        assert!(key(&mut view, Some(&world), press(KeyCode::Char('s'))));
        assert_eq!(
            view.free_camera,
            Some((start.0 + CAMERA_STEP, start.1 + CAMERA_STEP))
        );
        // Tab follows a player again.
        assert!(key(&mut view, Some(&world), press(KeyCode::Tab)));
        assert_eq!((view.free_camera, view.follow), (None, 0));
    }
}
