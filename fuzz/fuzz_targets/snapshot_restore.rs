//! `World::restore` on arbitrary bytes. A snapshot that restores must be a world that
//! steps (20 idle ticks) without panicking and whose snapshot round-trips exactly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use venture_sim::{Frame, World};

fuzz_target!(|data: &[u8]| {
    let Ok(mut world) = World::restore(data) else {
        return;
    };
    let sum = world.checksum();
    let again = World::restore(&world.snapshot()).expect("snapshot of a restored world restores");
    assert_eq!(again.checksum(), sum);
    for _ in 0..20 {
        let Some(next) = world.tick().checked_add(1) else {
            break;
        };
        world.step(&Frame::new(next)).expect("idle frame steps");
    }
    let snap = world.snapshot();
    let back = World::restore(&snap).expect("snapshot after stepping restores");
    assert_eq!(back.checksum(), world.checksum());
    assert_eq!(back.tick(), world.tick());
    assert_eq!(back.snapshot(), snap);
});
