//! Simulation benchmarks: level generation, `step` + checksum in the reference scenario (with
//! the full rules: monsters, AI, combat, projectiles, loot), the same at scale (64 players and
//! 1,000 monsters on a 256x256 level), and re-simulating 100 ticks (a 5 s rollback at
//! 20 Hz). Run: `cargo bench --bench sim`.

mod common;

use common::{time_each, Report};
use std::hint::black_box;
use std::time::{Duration, Instant};
use venture_sim::script::{fight_frame, scripted_frame};
use venture_sim::{SimConfig, World};

fn main() {
    let config = SimConfig::default();
    println!("reference scenario: seed 12345, fantasy, 100x100, 4 scripted players, 20 Hz");

    time_each("generate default level", 5, 200, || {
        black_box(World::new(black_box(&config)).expect("valid"));
    })
    .print(Duration::from_millis(5));

    let mut world = World::new(&config).expect("valid");
    println!("reference level: {} monsters", world.monsters().len());
    let mut tick = 0u64;
    time_each("step + checksum, 4 players", 1_000, 20_000, || {
        tick += 1;
        world.step(&scripted_frame(9, tick, 4)).expect("in order");
        black_box(world.checksum());
    })
    .print(Duration::from_micros(100));

    println!(
        "after {tick} ticks: {} monsters alive, {} ground items, {} projectiles, state {} bytes",
        world.monsters().len(),
        world.ground_items().len(),
        world.projectiles().len(),
        world.snapshot().len()
    );

    // The same level played by four fighting bots (combat, spells, loot, deaths): the bots'
    // inputs are computed outside the timed region.
    let mut fight = World::new(&config).expect("valid");
    let mut samples = Vec::with_capacity(6_000);
    for _ in 0..6_000 {
        let frame = fight_frame(&fight, 4);
        let t = Instant::now();
        fight.step(&frame).expect("in order");
        black_box(fight.checksum());
        samples.push(t.elapsed());
    }
    Report {
        name: "step + checksum, 4 fighting bots",
        samples,
    }
    .print(Duration::from_micros(100));
    println!(
        "after 6000 ticks of fighting: {} of {} monsters alive",
        fight.monsters().len(),
        World::new(&config).expect("valid").monsters().len()
    );

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

    // At scale: 64 players and 1,000 monsters on a 256x256 level.
    let big = SimConfig {
        width: 256,
        height: 256,
        max_players: 64,
        ..SimConfig::default()
    };
    let mut world = World::new(&big).expect("valid");
    let have = world.monsters().len() as u32;
    world.spawn_extra_monsters(1_000u32.saturating_sub(have));
    println!(
        "scale scenario: 256x256, 64 scripted players, {} monsters",
        world.monsters().len()
    );
    let mut tick = 0u64;
    time_each(
        "step + checksum, 64 players, 1000 monsters",
        100,
        2_000,
        || {
            tick += 1;
            world.step(&scripted_frame(9, tick, 64)).expect("in order");
            black_box(world.checksum());
        },
    )
    .print(Duration::from_millis(2));
    println!(
        "after {tick} ticks: {} monsters alive, state {} bytes",
        world.monsters().len(),
        world.snapshot().len()
    );
}
