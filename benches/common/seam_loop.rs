//! The seam benchmark's loop, one copy for both stacks: `benches/carriers.rs` (the
//! carriers) and `benches/old-stack/seam.rs` (ac3599f's laminar stack, built there by
//! `scripts/old-stack-seam.sh`, which copies this file beside it). Per plaintext size,
//! batches of exchanges (one packet from the server to the client, one back, then 1 ms
//! of virtual time), each direction timed apart; every packet must arrive once. Prints the
//! mean ns per packet and the p99 over batches. `VENTURE_SEAM_BATCHES` sets the batch
//! count (default 200) and `VENTURE_SEAM_SIZE` one size, for instruction counts under
//! callgrind (the difference between two batch counts is the per-packet cost, setup and
//! handshake cancelled out).

use std::time::{Duration, Instant};

/// Exchanges per batch.
pub const BATCH: usize = 1000;
const BATCHES: usize = 200;

/// One established session, driven as the stack's drivers do, without the sessions.
pub trait Stack {
    fn server_sends(&mut self, plaintext: &[u8]);
    fn client_receives(&mut self, on: &mut dyn FnMut(&[u8]));
    fn client_sends(&mut self, plaintext: &[u8]);
    fn server_receives(&mut self, on: &mut dyn FnMut(&[u8]));
    /// Moves virtual time by 1 ms.
    fn tick(&mut self);
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

pub fn measure(stack: &mut impl Stack) {
    let batches = env_or("VENTURE_SEAM_BATCHES", BATCHES);
    let sizes: Vec<usize> = match env_or("VENTURE_SEAM_SIZE", 0) {
        0 => vec![60, 200, 1200],
        one => vec![one],
    };
    println!("  mean over {batches} batches of {BATCH} exchanges, p99 of the batches");
    for size in sizes {
        let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let mut down = Vec::with_capacity(batches);
        let mut up = Vec::with_capacity(batches);
        for batch in 0..=batches {
            let (mut d, mut u) = (Duration::ZERO, Duration::ZERO);
            let mut got = 0usize;
            for _ in 0..BATCH {
                let t = Instant::now();
                stack.server_sends(&payload);
                stack.client_receives(&mut |p| got += p.len());
                d += t.elapsed();
                let t = Instant::now();
                stack.client_sends(&payload);
                stack.server_receives(&mut |p| got += p.len());
                u += t.elapsed();
                stack.tick();
            }
            assert_eq!(got, 2 * BATCH * size, "every packet delivered once");
            // The first batch warms up.
            if batch > 0 {
                down.push(d);
                up.push(u);
            }
        }
        for (dir, samples) in [("server -> client", down), ("client -> server", up)] {
            let mut s: Vec<f64> = samples
                .iter()
                .map(|d| d.as_secs_f64() * 1e9 / BATCH as f64)
                .collect();
            let mean = s.iter().sum::<f64>() / s.len() as f64;
            s.sort_by(f64::total_cmp);
            let p99 = s[((s.len() - 1) as f64 * 0.99).round() as usize];
            println!("  {size:>4} B {dir}: mean {mean:>7.0} ns  p99 {p99:>7.0} ns");
        }
    }
}
