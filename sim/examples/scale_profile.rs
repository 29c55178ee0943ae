//! Profiling aid: the benchmark's scale scenario (64 scripted players, 1,000 monsters,
//! 256x256) for 2,000 ticks, timing step and checksum separately.
//! Run: `cargo run --release -p venture-sim --example scale_profile`.

#![allow(
    clippy::disallowed_types,
    reason = "a timing tool around the simulation, not part of it"
)]

use std::time::{Duration, Instant};
use venture_sim::script::scripted_frame;
use venture_sim::{SimConfig, World};

fn main() {
    let big = SimConfig {
        width: 256,
        height: 256,
        max_players: 64,
        ..SimConfig::default()
    };
    let mut world = World::new(&big).expect("valid");
    let have = world.monsters().len() as u32;
    world.spawn_extra_monsters(1_000u32.saturating_sub(have));
    let (mut step, mut sum) = (Duration::ZERO, Duration::ZERO);
    let mut worst = Duration::ZERO;
    let mut slow: Vec<(Duration, u64)> = Vec::new();
    for t in 1..=2000u64 {
        let f = scripted_frame(9, t, 64);
        let a = Instant::now();
        world.step(&f).expect("in order");
        let b = Instant::now();
        std::hint::black_box(world.checksum());
        let c = Instant::now();
        step += b - a;
        sum += c - b;
        worst = worst.max(c - a);
        slow.push((c - a, t));
    }
    slow.sort_unstable();
    println!("slowest ticks: {:?}", &slow[slow.len() - 25..]);
    println!(
        "step avg {:?}, checksum avg {:?}, worst {:?}, monsters {}, projectiles {}",
        step / 2000,
        sum / 2000,
        worst,
        world.monsters().len(),
        world.projectiles().len()
    );
}
