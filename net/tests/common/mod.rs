//! What the simulated-network matrices share (each test file includes it with
//! `mod common;`): a case's link, drawn by the matrix from its seed, and the seeds a run
//! covers.

use std::fmt;
use std::time::Duration;

use venture_net::carrier::simnet::LinkConfig;

/// A case's link, both ways: round trip, jitter, and permilles of loss, duplication and
/// reordering (reordered datagrams are held 30 ms).
#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub rtt_ms: u64,
    pub jitter_ms: u64,
    pub loss: u16,
    pub dup: u16,
    pub reorder: u16,
}

impl Link {
    pub fn config(&self) -> LinkConfig {
        LinkConfig {
            latency: Duration::from_millis(self.rtt_ms / 2),
            jitter: Duration::from_millis(self.jitter_ms),
            loss_permille: self.loss,
            duplicate_permille: self.dup,
            reorder_permille: self.reorder,
            reorder_delay: Duration::from_millis(30),
        }
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rtt {} ms jitter {} loss {}‰ dup {}‰ reorder {}‰",
            self.rtt_ms, self.jitter_ms, self.loss, self.dup, self.reorder
        )
    }
}

/// The seeds to run: `VENTURE_SIMNET_SEED` alone (to rerun a failing case), else 1 to
/// `VENTURE_SIMNET_CASES`, else 1 to `debug` or `release` (debug builds are far slower).
pub fn seeds(debug: u64, release: u64) -> Vec<u64> {
    if let Ok(s) = std::env::var("VENTURE_SIMNET_SEED") {
        return vec![s.parse().expect("VENTURE_SIMNET_SEED is a number")];
    }
    let n = std::env::var("VENTURE_SIMNET_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) {
            debug
        } else {
            release
        });
    (1..=n).collect()
}
