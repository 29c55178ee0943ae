//! Shared benchmark plumbing: time a closure many times and report percentiles against a
//! target. Benchmarks are run by hand (`cargo bench`), never as timed tests.

use std::time::{Duration, Instant};

pub struct Report {
    pub name: &'static str,
    pub samples: Vec<Duration>,
}

impl Report {
    pub fn percentile(&self, p: f64) -> Duration {
        let mut s = self.samples.clone();
        s.sort_unstable();
        let i = ((s.len() as f64 - 1.0) * p).round() as usize;
        s[i]
    }

    /// Prints one line: name, samples, p50, p99, max, and the target with PASS/MISS.
    pub fn print(&self, target_p99: Duration) {
        let p99 = self.percentile(0.99);
        println!(
            "{:<44} n={:<7} p50={:>10.2?} p99={:>10.2?} max={:>10.2?} target p99<{:?} {}",
            self.name,
            self.samples.len(),
            self.percentile(0.50),
            p99,
            self.percentile(1.0),
            target_p99,
            if p99 < target_p99 { "PASS" } else { "MISS" }
        );
    }
}

/// Runs `f` `n` times (after `warmup` untimed runs), timing each call.
pub fn time_each(name: &'static str, warmup: usize, n: usize, mut f: impl FnMut()) -> Report {
    for _ in 0..warmup {
        f();
    }
    let samples = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    Report { name, samples }
}
