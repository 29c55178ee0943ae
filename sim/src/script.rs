//! Scripted inputs: a pure function from (seed, tick, slot) to a plausible player input, for
//! tests, benchmarks, fuzzing and the reference scenario. Inputs hold a direction for a
//! stretch of ticks, then change, like a wandering player pressing buttons now and then.

use crate::input::{buttons, Command, Frame, PlayerInput};

/// splitmix64: a tiny, well-mixed hash; fine for test inputs, never used for game rules.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Slot `slot`'s scripted input at `tick`: the direction changes every 16 ticks.
pub fn scripted_input(seed: u64, tick: u64, slot: usize) -> PlayerInput {
    let stretch = mix(seed ^ mix((tick / 16) ^ ((slot as u64) << 48)));
    let press = mix(stretch ^ tick);
    PlayerInput {
        move_x: (stretch & 0xff) as u8 as i8,
        move_y: ((stretch >> 8) & 0xff) as u8 as i8,
        aim_x: ((stretch >> 16) & 0xff) as u8 as i8,
        aim_y: ((stretch >> 24) & 0xff) as u8 as i8,
        buttons: if press % 8 == 0 {
            (press >> 8) as u8 & buttons::ALL
        } else {
            0
        },
        slot: ((press >> 16) % 4) as u8,
    }
}

/// The scripted frame for `tick` with `players` bots: they all join at tick 1 (named
/// bot0, bot1, ...), then play.
pub fn scripted_frame(seed: u64, tick: u64, players: usize) -> Frame {
    let mut frame = Frame::new(tick);
    if tick == 1 {
        frame.commands = (0..players)
            .map(|s| Command::Join {
                slot: s as u8,
                name: format!("bot{s}"),
            })
            .collect();
    }
    frame.inputs = (0..players)
        .map(|s| scripted_input(seed, tick, s))
        .collect();
    frame
}
