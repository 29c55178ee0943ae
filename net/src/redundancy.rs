//! The redundancy window: per-tick data sent unreliably, every datagram repeating what
//! the peer has not acknowledged yet.
//!
//! A reliable channel stalls on a single loss (see DESIGN.md), so per-tick data (client
//! inputs, confirmed frames) goes out unreliably and every packet repeats everything the
//! peer has not acknowledged yet, up to a byte budget.
//!
//! - [`RedundancyWindow<T>`]: items keyed by consecutive ticks; [`RedundancyWindow::ack`]
//!   drops the acknowledged prefix; [`RedundancyWindow::select`] picks a run of
//!   consecutive unacked items that fits a byte budget (oldest-first to guarantee
//!   progress, or newest-first).
//! - [`ReceiveTracker<T>`]: the receiving side: remembers which ticks arrived, what the
//!   highest contiguously received tick is (that is what gets acknowledged), holds
//!   out-of-order items in a bounded buffer, and hands items out in order
//!   ([`ReceiveTracker::pop_next`]) or by tick ([`ReceiveTracker::take`]).

use std::collections::{BTreeMap, VecDeque};

use thiserror::Error;

/// Errors from [`RedundancyWindow::push`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RedundancyError {
    #[error("tick {got} pushed, but the window expects tick {expected}")]
    NotConsecutive { expected: u64, got: u64 },
}

/// Which end of the window [`RedundancyWindow::select`] prefers when not everything fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefer {
    /// The oldest unacked items: the peer's contiguous ack always advances.
    Oldest,
    /// The newest items: freshest data first (the oldest may never be resent).
    Newest,
}

/// Unacknowledged per-tick items awaiting (re)transmission.
#[derive(Debug, Clone)]
pub struct RedundancyWindow<T> {
    /// Tick of `items[0]`; when empty, the tick the next push must have.
    first_tick: u64,
    items: VecDeque<T>,
    cap: usize,
}

impl<T> RedundancyWindow<T> {
    /// An empty window whose first item will be for `start_tick`, holding at most `cap`
    /// items (at least 1).
    pub fn new(start_tick: u64, cap: usize) -> Self {
        RedundancyWindow {
            first_tick: start_tick,
            items: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Appends the item for `tick`, which must be [`next_tick`](Self::next_tick). When
    /// the window is full the oldest item is evicted unacknowledged and its tick returned.
    pub fn push(&mut self, tick: u64, item: T) -> Result<Option<u64>, RedundancyError> {
        let expected = self.next_tick();
        if tick != expected {
            return Err(RedundancyError::NotConsecutive {
                expected,
                got: tick,
            });
        }
        self.items.push_back(item);
        let mut evicted = None;
        if self.items.len() > self.cap {
            self.items.pop_front();
            evicted = Some(self.first_tick);
            self.first_tick += 1;
        }
        Ok(evicted)
    }

    /// Drops every item with tick `<= through`.
    pub fn ack(&mut self, through: u64) {
        while !self.items.is_empty() && self.first_tick <= through {
            self.items.pop_front();
            self.first_tick += 1;
        }
        // An ack beyond what was pushed (a lying peer) empties the window but does not
        // move `first_tick` past `next_tick()`, so our own sequence stays consecutive.
    }

    /// Tick of the oldest unacked item.
    pub fn first_tick(&self) -> Option<u64> {
        (!self.items.is_empty()).then_some(self.first_tick)
    }

    /// Tick the next [`push`](Self::push) must carry.
    pub fn next_tick(&self) -> u64 {
        self.first_tick + self.items.len() as u64
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The item for `tick`, if unacked and present.
    pub fn get(&self, tick: u64) -> Option<&T> {
        let off = usize::try_from(tick.checked_sub(self.first_tick)?).ok()?;
        self.items.get(off)
    }

    /// `(tick, item)` pairs, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> + '_ {
        (self.first_tick..).zip(self.items.iter())
    }

    /// A run of consecutive unacked items whose sizes (by `size_of`) sum to at most
    /// `budget`, as `(first_tick, items)`; `None` when the window is empty or even one item
    /// does not fit.
    pub fn select(
        &self,
        budget: usize,
        prefer: Prefer,
        mut size_of: impl FnMut(&T) -> usize,
    ) -> Option<(u64, Vec<&T>)> {
        let mut used = 0usize;
        let mut picked: Vec<&T> = Vec::new();
        match prefer {
            Prefer::Oldest => {
                for item in &self.items {
                    used = used.saturating_add(size_of(item));
                    if used > budget {
                        break;
                    }
                    picked.push(item);
                }
                (!picked.is_empty()).then_some((self.first_tick, picked))
            }
            Prefer::Newest => {
                for item in self.items.iter().rev() {
                    used = used.saturating_add(size_of(item));
                    if used > budget {
                        break;
                    }
                    picked.push(item);
                }
                picked.reverse();
                let first = self.next_tick() - picked.len() as u64;
                (!picked.is_empty()).then_some((first, picked))
            }
        }
    }
}

/// What [`ReceiveTracker::insert`] did with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// New and stored.
    Stored,
    /// This tick had already been received; ignored.
    Duplicate,
    /// First arrival of a tick the consumer has already moved past; ignored (count it).
    Late,
    /// Further ahead than the buffer allows; ignored.
    TooFarAhead,
}

/// Receive-side bookkeeping for per-tick items.
///
/// Two positions: `next_missing` (every tick below it has been received at least once;
/// acknowledge `next_missing - 1`) and `base` (the consumer's position: ticks below it can
/// no longer be stored). Items may be stored for ticks in `base..base + capacity`. If the
/// consumer runs more than `capacity` ticks past a gap that never fills, the gap is
/// forgotten (treated as received) so memory stays bounded.
#[derive(Debug, Clone)]
pub struct ReceiveTracker<T> {
    next_missing: u64,
    base: u64,
    cap: u64,
    /// Ticks `>= min(next_missing, base)` that arrived; `None` once consumed or if late.
    entries: BTreeMap<u64, Option<T>>,
    highest: Option<u64>,
}

impl<T> ReceiveTracker<T> {
    /// A tracker expecting ticks from `start_tick` on, buffering at most `capacity` ticks
    /// ahead of the consumer (at least 1).
    pub fn new(start_tick: u64, capacity: usize) -> Self {
        ReceiveTracker {
            next_missing: start_tick,
            base: start_tick,
            cap: (capacity.max(1)) as u64,
            entries: BTreeMap::new(),
            highest: None,
        }
    }

    /// Records the item for `tick`.
    pub fn insert(&mut self, tick: u64, item: T) -> Insert {
        if tick < self.next_missing || self.entries.contains_key(&tick) {
            return Insert::Duplicate;
        }
        if tick >= self.base.saturating_add(self.cap) {
            return Insert::TooFarAhead;
        }
        self.highest = Some(self.highest.map_or(tick, |h| h.max(tick)));
        let outcome = if tick < self.base {
            self.entries.insert(tick, None);
            Insert::Late
        } else {
            self.entries.insert(tick, Some(item));
            Insert::Stored
        };
        self.advance();
        outcome
    }

    fn advance(&mut self) {
        while self.entries.contains_key(&self.next_missing) {
            self.next_missing += 1;
        }
        // Bound the gap between an unfilled tick and the consumer.
        let floor = self.base.saturating_sub(self.cap);
        if self.next_missing < floor {
            self.next_missing = floor;
            while self.entries.contains_key(&self.next_missing) {
                self.next_missing += 1;
            }
        }
        let keep_from = self.next_missing.min(self.base);
        self.entries = self.entries.split_off(&keep_from);
    }

    /// Every tick below this has been received (or forgotten); the first gap.
    pub fn next_missing(&self) -> u64 {
        self.next_missing
    }

    /// Highest tick `h` such that every tick from the start through `h` was received;
    /// `None` before the first one.
    pub fn highest_contiguous(&self) -> Option<u64> {
        self.next_missing.checked_sub(1)
    }

    /// The wire ack value: the highest tick received contiguously, or `start_tick - 1`
    /// before anything arrived (so sessions must not put tick 0 on the wire; see
    /// [`crate::protocol`]'s ack convention).
    pub fn ack(&self) -> u64 {
        self.next_missing.saturating_sub(1)
    }

    /// Highest tick ever received.
    pub fn highest_received(&self) -> Option<u64> {
        self.highest
    }

    /// The consumer's position: the next tick [`pop_next`](Self::pop_next) would return.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Whether the item for `tick` is buffered.
    pub fn contains(&self, tick: u64) -> bool {
        matches!(self.entries.get(&tick), Some(Some(_)))
    }

    /// Number of buffered (unconsumed) items.
    pub fn buffered(&self) -> usize {
        self.entries.values().filter(|v| v.is_some()).count()
    }

    /// In-order consumption: the item for `base` if it has arrived.
    pub fn pop_next(&mut self) -> Option<(u64, T)> {
        let tick = self.base;
        let item = self.entries.get_mut(&tick)?.take()?;
        self.base += 1;
        self.advance();
        Some((tick, item))
    }

    /// Consumption by tick (the server's "input for tick T, if any"): moves the consumer
    /// past `tick`, discarding anything buffered before it, and returns the item for
    /// `tick`. Returns `None` (and changes nothing) for a tick below `base`.
    pub fn take(&mut self, tick: u64) -> Option<T> {
        if tick < self.base {
            return None;
        }
        for (_, v) in self.entries.range_mut(self.base..tick) {
            *v = None;
        }
        let item = match self.entries.get_mut(&tick) {
            Some(v) => v.take(),
            None => None,
        };
        // Leave the slot for `tick` marked so a late copy is a Duplicate, not Late.
        self.base = tick.saturating_add(1);
        self.advance();
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_window_push_ack_select() {
        let mut w = RedundancyWindow::new(10, 5);
        assert!(w.is_empty());
        assert_eq!(w.next_tick(), 10);
        assert!(w.push(9, 0).is_err());
        for t in 10..14 {
            assert_eq!(w.push(t, t as usize), Ok(None));
        }
        assert_eq!(
            w.push(20, 0),
            Err(RedundancyError::NotConsecutive {
                expected: 14,
                got: 20
            })
        );
        assert_eq!(w.push(14, 14), Ok(None));
        assert_eq!(w.push(15, 15), Ok(Some(10)));
        assert_eq!(w.first_tick(), Some(11));
        w.ack(12);
        assert_eq!(w.first_tick(), Some(13));
        assert_eq!(w.get(14), Some(&14));
        assert_eq!(w.get(12), None);
        let (first, items) = w.select(25, Prefer::Oldest, |_| 10).expect("fits two");
        assert_eq!((first, items), (13, vec![&13, &14]));
        let (first, items) = w.select(25, Prefer::Newest, |_| 10).expect("fits two");
        assert_eq!((first, items), (14, vec![&14, &15]));
        assert!(w.select(5, Prefer::Oldest, |_| 10).is_none());
        w.ack(100);
        assert!(w.is_empty());
        assert_eq!(w.next_tick(), 16);
        assert_eq!(w.push(16, 16), Ok(None));
        assert_eq!(w.iter().collect::<Vec<_>>(), vec![(16, &16)]);
    }

    #[test]
    fn tracker_in_order_and_out_of_order() {
        let mut r = ReceiveTracker::new(0, 8);
        assert_eq!(r.highest_contiguous(), None);
        assert_eq!(r.insert(1, 'b'), Insert::Stored);
        assert_eq!(r.insert(2, 'c'), Insert::Stored);
        assert_eq!(r.highest_contiguous(), None);
        assert_eq!(r.pop_next(), None);
        assert_eq!(r.insert(0, 'a'), Insert::Stored);
        assert_eq!(r.highest_contiguous(), Some(2));
        assert_eq!(r.insert(1, 'x'), Insert::Duplicate);
        assert_eq!(r.pop_next(), Some((0, 'a')));
        assert_eq!(r.pop_next(), Some((1, 'b')));
        assert_eq!(r.pop_next(), Some((2, 'c')));
        assert_eq!(r.pop_next(), None);
        assert_eq!(r.insert(11, 'z'), Insert::TooFarAhead);
        assert_eq!(r.insert(10, 'k'), Insert::Stored);
        assert_eq!(r.highest_received(), Some(10));
        assert_eq!(r.buffered(), 1);
    }

    #[test]
    fn tracker_take_and_late() {
        let mut r = ReceiveTracker::new(100, 16);
        assert_eq!(r.ack(), 99);
        r.insert(100, 1);
        r.insert(102, 3);
        assert_eq!(r.take(100), Some(1));
        assert_eq!(r.take(101), None); // missing: the server repeats the last input
        assert_eq!(r.insert(101, 2), Insert::Late);
        assert_eq!(r.highest_contiguous(), Some(102));
        assert_eq!(r.insert(100, 1), Insert::Duplicate);
        assert_eq!(r.take(102), Some(3));
        assert_eq!(r.insert(102, 3), Insert::Duplicate);
        assert_eq!(r.take(50), None);
        assert!(!r.contains(103));
    }

    #[test]
    fn tracker_memory_is_bounded_by_forgetting_old_gaps() {
        let mut r = ReceiveTracker::new(0, 4);
        // Tick 0 never arrives; the consumer runs far ahead.
        for t in 1..1000u64 {
            r.insert(t, t);
            assert_eq!(r.take(t), Some(t));
            assert!(r.entries.len() <= 6, "entries {}", r.entries.len());
        }
        assert_eq!(r.highest_contiguous(), Some(999));
    }
}
