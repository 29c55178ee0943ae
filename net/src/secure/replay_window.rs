//! A sliding window of nonce counters already accepted (RFC 6479's bitmap, as WireGuard
//! uses): a counter is fresh if it is newer than the newest seen, or within the window
//! behind it and not yet marked. Counters older than the window are refused, so a replay
//! of any datagram ever sent fails, while the reordering a long jittery link causes (up
//! to [`WINDOW`] datagrams) is still accepted.

/// Counters behind the newest one that are still accepted once.
pub const WINDOW: u64 = 1024;
const WORDS: usize = (WINDOW / 64) as usize;

#[derive(Debug, Clone, Default)]
pub struct ReplayWindow {
    /// One past the newest counter accepted (0: none yet).
    next: u64,
    bits: [u64; WORDS],
}

impl ReplayWindow {
    pub fn new() -> Self {
        Self::default()
    }

    /// One past the newest counter accepted (0 before any): what a truncated counter on
    /// the wire is expanded against.
    pub fn expected(&self) -> u64 {
        self.next
    }

    /// Whether `counter` may be accepted (it has not been, and is not too old).
    /// `u64::MAX` is never fresh: senders stop one short of it (it would make the window's
    /// "one past the newest" overflow).
    pub fn is_fresh(&self, counter: u64) -> bool {
        if counter == u64::MAX {
            return false;
        }
        if counter >= self.next {
            return true;
        }
        // counter < next here, so the subtraction cannot wrap.
        if self.next - counter > WINDOW {
            return false;
        }
        let (word, bit) = Self::slot(counter);
        self.bits[word] & (1 << bit) == 0
    }

    /// Marks `counter` accepted. Call only after the datagram authenticated, so forged
    /// counters cannot move the window.
    pub fn accept(&mut self, counter: u64) {
        if counter >= self.next {
            // Clear the slots the window slides over (all of them after a long jump).
            let advance = counter.saturating_add(1) - self.next;
            if advance >= WINDOW {
                self.bits = [0; WORDS];
            } else {
                for c in self.next..=counter {
                    let (word, bit) = Self::slot(c);
                    self.bits[word] &= !(1 << bit);
                }
            }
            self.next = counter.saturating_add(1);
        }
        let (word, bit) = Self::slot(counter);
        self.bits[word] |= 1 << bit;
    }

    fn slot(counter: u64) -> (usize, u32) {
        // Both are below WINDOW, which fits usize and u32.
        let i = counter % WINDOW;
        ((i / 64) as usize, (i % 64) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_counter_once_in_any_order_within_the_window() {
        let mut w = ReplayWindow::new();
        for c in [5u64, 3, 9, 4, 0, 1000, 20] {
            assert!(w.is_fresh(c), "{c}");
            w.accept(c);
            assert!(!w.is_fresh(c), "{c} again");
        }
        assert!(w.is_fresh(6));
        assert!(w.is_fresh(1001));
    }

    #[test]
    fn too_old_is_refused_and_the_window_slides() {
        let mut w = ReplayWindow::new();
        w.accept(0);
        w.accept(WINDOW + 10);
        assert!(!w.is_fresh(0));
        assert!(!w.is_fresh(9), "older than the window");
        assert!(w.is_fresh(11));
        // A counter whose slot was used WINDOW counters ago is fresh again after a slide.
        w.accept(11);
        w.accept(WINDOW + 11);
        assert!(!w.is_fresh(11));
        assert!(w.is_fresh(WINDOW + 12));
        assert!(!w.is_fresh(WINDOW + 11));
        // A long jump clears everything.
        w.accept(50 * WINDOW);
        assert!(!w.is_fresh(WINDOW + 11));
        assert!(w.is_fresh(50 * WINDOW - 1));
        assert!(!w.is_fresh(50 * WINDOW));
    }

    #[test]
    fn counters_near_the_top_do_not_overflow() {
        let mut w = ReplayWindow::new();
        assert!(w.is_fresh(u64::MAX - 1));
        w.accept(u64::MAX - 1);
        assert!(!w.is_fresh(u64::MAX - 1));
        assert!(!w.is_fresh(u64::MAX));
        assert!(w.is_fresh(u64::MAX - 2));
    }
}
