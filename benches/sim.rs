//! Simulation benchmarks: level generation, `step` + checksum in the reference scenario, and
//! re-simulating 100 ticks (a 5 s rollback at 20 Hz). Run: `cargo bench --bench sim`.

mod common;

use common::time_each;
use std::hint::black_box;
use std::time::Duration;
use venture_sim::script::scripted_frame;
use venture_sim::{SimConfig, World};

fn main() {
    let config = SimConfig::default();
    println!("reference scenario: seed 12345, fantasy, 100x100, 4 scripted players, 20 Hz");

    time_each("generate default level", 5, 200, || {
        black_box(World::new(black_box(&config)).expect("valid"));
    })
    .print(Duration::from_millis(5));

    let mut world = World::new(&config).expect("valid");
    let mut tick = 0u64;
    time_each("step + checksum, 4 players", 1_000, 20_000, || {
        tick += 1;
        world.step(&scripted_frame(9, tick, 4)).expect("in order");
        black_box(world.checksum());
    })
    .print(Duration::from_micros(100));

    // Re-simulation: from a saved world, step 100 frames with a checksum per tick.
    let base = world.clone();
    let frames: Vec<_> = (1..=100)
        .map(|i| scripted_frame(10, base.tick() + i, 4))
        .collect();
    time_each("re-simulate 100 ticks (+ checksums)", 10, 300, || {
        let mut w = base.clone();
        for f in &frames {
            w.step(f).expect("in order");
            black_box(w.checksum());
        }
    })
    .print(Duration::from_millis(5));

    time_each("snapshot + restore", 10, 1_000, || {
        black_box(World::restore(&world.snapshot()).expect("restores"));
    })
    .print(Duration::from_millis(1));
}
