//! Waiting on conditions with a deadline: tests must hold on a busy machine, so they poll
//! for what they expect instead of sleeping a time that assumes an idle CPU.

use std::time::{Duration, Instant};

/// Polls `pred` every 50 ms until it holds or `timeout` passes; the last answer wins.
pub fn wait_for(timeout: Duration, mut pred: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if pred() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    pred()
}

/// Polls `f` every 50 ms until it returns `Some`, up to `timeout`.
pub fn wait_some<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
