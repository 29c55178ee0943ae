//! A character save (`saves/players/NAME.json`'s `character`) from arbitrary bytes: if it
//! parses and passes `Character::validate`, restoring it onto a player through frame
//! commands steps without panicking, keeps every validated item, and the world still
//! round-trips through a snapshot.
#![no_main]

use libfuzzer_sys::fuzz_target;
use venture_sim::character::Character;
use venture_sim::{Command, Frame, SimConfig, World};

fuzz_target!(|data: &[u8]| {
    let Ok(character) = serde_json::from_slice::<Character>(data) else {
        return;
    };
    if character.validate().is_err() {
        return;
    }
    let mut world = World::new(&SimConfig { width: 24, height: 24, ..SimConfig::default() }).expect("valid config");
    let mut frame = Frame::new(1);
    frame.commands.push(Command::Join { slot: 0, name: "fuzz".into() });
    frame.commands.extend(character.restore_commands(0));
    if frame.commands.len() > venture_sim::input::MAX_COMMANDS_PER_FRAME {
        return;
    }
    world.step(&frame).expect("a frame of valid commands steps");
    for t in 2..12 {
        world.step(&Frame::new(t)).expect("idle frame steps");
    }
    let back = World::restore(&world.snapshot()).expect("restores");
    assert_eq!(back.checksum(), world.checksum());
});
