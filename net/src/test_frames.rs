//! Confirmed frames for this crate's unit tests (the codec's and the frame streams'), in
//! one place. Integration tests take theirs from `venture-testkit`, which cannot serve
//! unit tests: it depends on this crate, so its types would be another copy's.

use venture_sim::{Command, Frame, PlayerInput};

use crate::protocol::ConfirmedFrame;

/// An input whose fields all follow `i`.
pub fn input(i: u8) -> PlayerInput {
    PlayerInput {
        move_x: i as i8,
        move_y: (i as i8).wrapping_neg(),
        aim_x: 1,
        aim_y: -1,
        buttons: i,
        slot: 2,
    }
}

/// The frame of `tick` with `players` inputs that change every tick, a `Join` every tenth
/// tick, and a checksum derived from the tick.
pub fn frame(tick: u64, players: usize) -> ConfirmedFrame {
    let mut f = Frame::new(tick);
    for s in 0..players {
        f.set_input(s, input(tick as u8 ^ s as u8));
    }
    if tick % 10 == 0 {
        f.commands.push(Command::Join {
            slot: 1,
            name: "alice".into(),
        });
    }
    ConfirmedFrame {
        frame: f,
        checksum: tick as u32 * 7919,
    }
}

/// [`frame`] plus a chat line of `chars` characters: frames of very different sizes.
pub fn frame_with_chat(tick: u64, players: usize, chars: usize) -> ConfirmedFrame {
    let mut cf = frame(tick, players);
    cf.frame.commands.push(Command::Chat {
        slot: 0,
        text: "x".repeat(chars),
    });
    cf
}
