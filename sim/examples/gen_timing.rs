//! Generation timing and a quick look at the maps:
//! `cargo run --release -p venture-sim --example gen_timing [show KIND W H SEED]`.

#![allow(
    clippy::disallowed_types,
    reason = "a timing tool around the simulation, not part of it"
)]
use std::time::Instant;
use venture_sim::gen::{generate, GeneratorKind};
use venture_sim::rng::{Purpose, Stream};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("show") {
        let kind = GeneratorKind::from_name(&args[2]).expect("generator");
        let w: u16 = args[3].parse().unwrap();
        let h: u16 = args[4].parse().unwrap();
        let seed: u64 = args[5].parse().unwrap();
        let l = generate(kind, &mut Stream::new(seed, Purpose::Terrain), w, h);
        let mut grid: Vec<Vec<char>> = (0..h as i32)
            .map(|y| (0..w as i32).map(|x| l.map.get(x, y).glyph()).collect())
            .collect();
        for r in &l.rooms {
            let c = match r.kind {
                venture_sim::RoomKind::Boss => 'B',
                venture_sim::RoomKind::Treasure => '$',
                venture_sim::RoomKind::Trap => '!',
                _ => continue,
            };
            let (x, y) = r.rect.centre();
            grid[y as usize][x as usize] = c;
        }
        for row in grid {
            println!("{}", row.into_iter().collect::<String>());
        }
        println!(
            "rooms {} walkable {}",
            l.rooms.len(),
            l.map.walkable_count()
        );
        return;
    }
    for kind in GeneratorKind::ALL {
        for side in [100u16, 256, 1024] {
            let runs = if side == 1024 { 3 } else { 20 };
            let mut best = u128::MAX;
            let mut total = 0u128;
            for seed in 0..runs {
                let t = Instant::now();
                let l = generate(kind, &mut Stream::new(seed, Purpose::Terrain), side, side);
                let us = t.elapsed().as_micros();
                std::hint::black_box(&l);
                best = best.min(us);
                total += us;
            }
            println!(
                "{:<10} {side:>4}x{side:<4} mean {:>8} us  best {:>8} us  ({runs} seeds)",
                kind.name(),
                total / runs as u128,
                best
            );
        }
    }
}
