//! The frame streams: which confirmed frames a peer's next datagram carries, and the one
//! packer that fits them into a datagram.
//!
//! The planners (`plan_player`, `plan_spectator`) are pure functions of what the
//! session knows of one peer's stream (its ack, the loss and ack lag measured on its link,
//! the sweep cursor, the datagram's number) and return a range of ticks; the session takes
//! those frames from its history (`frames_in`) and [`pack_frames`] encodes as many as
//! fit, keeping the end the plan cares about.
//!
//! A player's stream: normally the newest frames, each repeated in `repeats` consecutive
//! datagrams (adapted to the measured loss). When the client is missing older frames too
//! (after a snapshot, or a frame lost in every repeat), every other datagram instead
//! carries the next run of the gap, sweeping forward with a cursor so the gap fills at
//! several frames per tick rather than once per round trip of acks. Only frames whose ack
//! is overdue count as missing: older than the usual ack lag (a round trip) past their last
//! repeat; frames still in flight do not. A spectator's stream is the same idea over the
//! frames it may see (its delay), with longer sweeps and no ack lag.

use std::collections::VecDeque;
use std::ops::{Range, RangeInclusive};

use crate::protocol::{
    encode_bounded, ConfirmedFrame, Message, ProtocolError, MAX_FRAMES_PER_MESSAGE,
};
use crate::redundancy::Prefer;

/// Adaptive redundancy aims at most this probability of a frame being lost in every
/// datagram that carries it (a lost frame costs a round trip of gap recovery).
pub const TARGET_FRAME_LOSS: f64 = 1e-3;
/// Above this measured loss (parts per million), every unacked frame is swept, not only
/// overdue ones (see [`plan_player`]).
pub(super) const HIGH_LOSS_PPM: u64 = 80_000;
/// Most frames sent in one catch-up datagram to a spectator behind the newest run.
pub(super) const SPECTATOR_SWEEP_FRAMES: u64 = 32;

/// Fewest repeats `k` in `min..=max` with `loss^k` below [`TARGET_FRAME_LOSS`], at a loss
/// of `loss_ppm` parts per million; `max` until the loss is measured.
pub(super) fn repeats_for_loss(loss_ppm: Option<u64>, min: usize, max: usize) -> usize {
    let min = min.clamp(1, max.max(1));
    let Some(ppm) = loss_ppm else {
        return max.max(min);
    };
    let p = ppm as f64 / 1e6;
    let mut k = min;
    while k < max && p.powi(k as i32) > TARGET_FRAME_LOSS {
        k += 1;
    }
    k
}

/// What the planner needs to know of one player's frame stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PlayerStream {
    /// The newest confirmed tick.
    pub current: u64,
    /// Highest frame the client holds contiguously.
    pub acked: u64,
    /// This datagram's number in the stream (sweeps go in every other one).
    pub sends: u64,
    /// Where the gap-filling sweep continues.
    pub recovery_next: u64,
    /// Loss measured on the client's input stream, parts per million (`None`: unmeasured).
    pub loss_ppm: Option<u64>,
    /// The client's usual ack lag in ticks, about a round trip (`None`: unmeasured).
    pub ack_lag: Option<u64>,
    /// Fewest and most repeats of a frame (the session's `min_frame_redundancy` and
    /// `frame_redundancy`).
    pub min_redundancy: usize,
    pub max_redundancy: usize,
}

/// Which frames go into one datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Plan {
    /// The ticks to carry (empty when the peer holds everything).
    pub ticks: RangeInclusive<u64>,
    /// A sweep over the peer's gap rather than the newest run.
    pub sweep: bool,
    /// The end of the planned frames to keep when not all of them fit one datagram.
    pub keep: Prefer,
    /// The sweep cursor after this datagram.
    pub recovery_next: u64,
}

/// The frames of a player's next datagram (see the module docs).
pub(super) fn plan_player(s: &PlayerStream) -> Plan {
    let current = s.current;
    let first_unacked = s.acked + 1;
    let redundancy = (s.max_redundancy as u64).max(1);
    // At high loss a frame lost in every repeat is common enough that waiting a round trip
    // to resend it stalls clients on long links: then every unacked frame before the newest
    // run is swept, in flight or not (bandwidth for latency). Every other datagram then
    // sweeps, so the newest run gets every repeat.
    let high_loss = s.loss_ppm.is_none_or(|p| p >= HIGH_LOSS_PPM);
    let repeats = if high_loss {
        redundancy
    } else {
        repeats_for_loss(s.loss_ppm, s.min_redundancy, s.max_redundancy) as u64
    };
    let newest_start = current.saturating_sub(repeats - 1).max(first_unacked);
    let overdue_end = match s.ack_lag.filter(|_| !high_loss) {
        Some(lag) => current
            .saturating_sub(lag + repeats + 1)
            .min(newest_start - 1),
        None => newest_start - 1,
    };
    if first_unacked <= overdue_end && s.sends % 2 == 0 {
        let mut from = s.recovery_next.max(first_unacked);
        // Less than a full run left before the overdue part ends (it moves forward a tick
        // per tick, so chasing it would never return to the oldest hole): start over at
        // the oldest hole.
        if from + redundancy > overdue_end + 1 {
            from = first_unacked;
        }
        let to = (from + redundancy - 1).min(overdue_end);
        Plan {
            ticks: from..=to,
            sweep: true,
            // Unlike a spectator's, a player's sweep keeps its newest frames when they do
            // not all fit, dropping the hole it was meant to fill (as it always has; with
            // `frame_redundancy` frames of a few dozen bytes that takes frames full of
            // chat). Its cursor moves on regardless, so later sweeps reach past it.
            keep: Prefer::Newest,
            recovery_next: to + 1,
        }
    } else {
        Plan {
            ticks: newest_start..=current,
            sweep: false,
            keep: Prefer::Newest,
            recovery_next: s.recovery_next,
        }
    }
}

/// What the planner needs to know of one spectator's frame stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SpectatorStream {
    /// The newest tick the spectator may see (the present minus its delay).
    pub visible: u64,
    /// Highest frame it holds contiguously.
    pub acked: u64,
    /// This datagram's number in the stream (sweeps go in every other one).
    pub sends: u64,
    /// Where the catch-up sweep continues.
    pub recovery_next: u64,
    /// Oldest frame still in the session's history.
    pub history_first: u64,
    /// Repeats of the newest frames.
    pub redundancy: usize,
}

/// The frames of a spectator's next datagram: the newest visible run, or every other
/// datagram while it is behind, a run of up to [`SPECTATOR_SWEEP_FRAMES`] from its sweep
/// cursor. A sweep's `recovery_next` assumes the whole run goes out; the caller moves it
/// to just past the frames that fit ([`sweep_cursor_after`]).
pub(super) fn plan_spectator(s: &SpectatorStream) -> Plan {
    let redundancy = (s.redundancy as u64).max(1);
    let first_unacked = s.acked + 1;
    let newest_start = s
        .visible
        .saturating_sub(redundancy - 1)
        .max(first_unacked)
        .max(s.history_first);
    if first_unacked < newest_start && s.sends % 2 == 0 {
        let mut from = s.recovery_next.max(first_unacked);
        // Less than a full run left before the newest run (which moves a tick per tick, so
        // chasing it would never return to the oldest hole): start over.
        if from + SPECTATOR_SWEEP_FRAMES > newest_start {
            from = first_unacked;
        }
        let to = (from + SPECTATOR_SWEEP_FRAMES - 1).min(newest_start - 1);
        Plan {
            ticks: from..=to,
            sweep: true,
            // The sweep's first frame is the oldest hole: trimming the newest end keeps it.
            keep: Prefer::Oldest,
            recovery_next: to + 1,
        }
    } else {
        Plan {
            ticks: newest_start..=s.visible,
            sweep: false,
            keep: Prefer::Newest,
            recovery_next: s.recovery_next,
        }
    }
}

/// The sweep cursor after a sweep of `plan` went out with the frames `kept` of those
/// planned: just past the last frame sent. A frame too large for any datagram is stepped
/// over, so the sweep cannot stall on it.
pub(super) fn sweep_cursor_after(
    plan: &Plan,
    frames: &[ConfirmedFrame],
    kept: &Range<usize>,
) -> u64 {
    match frames.get(kept.end.max(1) - 1) {
        Some(f) => f.frame.tick + 1,
        None => *plan.ticks.end() + 1,
    }
}

/// The confirmed frames of `ticks` still in `history` (which holds `history_first..`).
pub(super) fn frames_in(
    history: &VecDeque<ConfirmedFrame>,
    history_first: u64,
    ticks: RangeInclusive<u64>,
) -> Vec<ConfirmedFrame> {
    ticks
        .filter_map(|t| {
            t.checked_sub(history_first)
                .and_then(|i| history.get(usize::try_from(i).ok()?))
                .cloned()
        })
        .collect()
}

/// One `Frames` datagram, and which of the offered frames it carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packed {
    pub bytes: Vec<u8>,
    /// Indices into the offered frames (empty if even one does not fit: the datagram then
    /// carries only the acks and the hint).
    pub kept: Range<usize>,
}

/// Encodes a `Frames` message with as many of `frames` (consecutive, starting at
/// `first_tick`, oldest first) as fit one datagram and [`MAX_FRAMES_PER_MESSAGE`],
/// dropping frames from the end `keep` does not prefer: [`Prefer::Newest`] drops the
/// oldest (the message's `first_tick` moves past them), [`Prefer::Oldest`] the newest.
///
/// The longest run that fits is found by bisection. That is exact because a run's size
/// grows strictly with its length: frames are delta-coded against the previous one (the
/// first against an empty frame), a frame costs at least 5 bytes (head and checksum), and
/// dropping the first frame lets the new first one grow by no more than the dropped one's
/// delta cost, while the `first_tick` and `input_ack` varints grow by at most 2 bytes.
pub fn pack_frames<'a>(
    first_tick: u64,
    frames: impl IntoIterator<Item = &'a ConfirmedFrame>,
    input_ack: u64,
    late_inputs: u32,
    lead_hint: i32,
    keep: Prefer,
) -> Result<Packed, ProtocolError> {
    let frames: Vec<&ConfirmedFrame> = frames.into_iter().collect();
    let n = frames.len();
    let run = |len: usize| match keep {
        Prefer::Oldest => 0..len,
        Prefer::Newest => n - len..n,
    };
    let encode_run = |len: usize| {
        let kept = run(len);
        let bytes = encode_bounded(&Message::Frames {
            first_tick: first_tick.saturating_add(kept.start as u64),
            frames: frames[kept.clone()].iter().map(|&f| f.clone()).collect(),
            input_ack,
            late_inputs,
            lead_hint,
        })?;
        Ok(Packed { bytes, kept })
    };
    let most = n.min(MAX_FRAMES_PER_MESSAGE);
    if let Ok(packed) = encode_run(most) {
        return Ok(packed);
    }
    let mut best = encode_run(0)?;
    // Invariant: a run of `lo` frames fits (`best`), one of `hi` does not.
    let (mut lo, mut hi) = (0usize, most);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        match encode_run(mid) {
            Ok(packed) => {
                lo = mid;
                best = packed;
            }
            Err(ProtocolError::TooLarge { .. }) => hi = mid,
            Err(e) => return Err(e),
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{decode, encode, MAX_DATAGRAM};
    use crate::test_frames::{frame, frame_with_chat};

    fn player(current: u64, acked: u64) -> PlayerStream {
        PlayerStream {
            current,
            acked,
            sends: 1,
            recovery_next: 0,
            loss_ppm: Some(0),
            ack_lag: Some(4),
            min_redundancy: 2,
            max_redundancy: 8,
        }
    }

    #[test]
    fn repeats_follow_the_loss_rate() {
        assert_eq!(repeats_for_loss(None, 2, 8), 8, "unmeasured: the maximum");
        assert_eq!(repeats_for_loss(Some(0), 2, 8), 2);
        // 5%: 0.05^3 < 1e-3 < 0.05^2.
        assert_eq!(repeats_for_loss(Some(50_000), 2, 8), 3);
        assert_eq!(repeats_for_loss(Some(200_000), 2, 8), 5);
        assert_eq!(repeats_for_loss(Some(200_000), 2, 4), 4, "capped");
        assert_eq!(repeats_for_loss(Some(0), 8, 8), 8);
        assert_eq!(repeats_for_loss(Some(0), 0, 0), 1, "always one copy");
    }

    #[test]
    fn a_caught_up_player_gets_the_newest_run_repeated() {
        // No loss: two repeats, so the newest two frames (the client holds the rest).
        let p = plan_player(&player(100, 97));
        assert_eq!(p.ticks, 99..=100);
        assert_eq!(p.keep, Prefer::Newest);
        // Nothing unacked: nothing to carry, only the acks.
        assert!(plan_player(&player(100, 100)).ticks.is_empty());
        // Unacked frames still in flight are repeated, never swept.
        let p = plan_player(&PlayerStream {
            sends: 2,
            ..player(100, 95)
        });
        assert_eq!(
            p.ticks,
            99..=100,
            "96..98 are within a round trip: in flight"
        );
        assert_eq!(p.recovery_next, 0);
        // Unmeasured loss: the maximum redundancy.
        let p = plan_player(&PlayerStream {
            loss_ppm: None,
            ..player(100, 50)
        });
        assert_eq!(p.ticks, 93..=100);
    }

    #[test]
    fn a_gap_is_swept_in_every_other_datagram_from_its_oldest_hole() {
        // Acked up to 20 at tick 100, ack lag 4: 21..=93 are overdue.
        let mut s = PlayerStream {
            sends: 2,
            ..player(100, 20)
        };
        let p = plan_player(&s);
        assert_eq!(
            p.ticks,
            21..=28,
            "a run of max_redundancy from the oldest hole"
        );
        assert!(p.sweep);
        assert_eq!(p.recovery_next, 29);
        // The next sweep continues where this one stopped...
        s.recovery_next = p.recovery_next;
        s.sends = 4;
        assert_eq!(plan_player(&s).ticks, 29..=36);
        // ...odd datagrams carry the newest run meanwhile, cursor untouched.
        s.sends = 3;
        let p = plan_player(&s);
        assert_eq!(p.ticks, 99..=100);
        assert_eq!(p.recovery_next, s.recovery_next);
        // Near the end of the overdue part, start over at the oldest hole.
        s.sends = 4;
        s.recovery_next = 90;
        assert_eq!(plan_player(&s).ticks, 21..=28);
        // At high loss everything unacked before the newest run is swept, in flight or not.
        let p = plan_player(&PlayerStream {
            sends: 2,
            loss_ppm: Some(HIGH_LOSS_PPM),
            ..player(100, 90)
        });
        assert_eq!(p.ticks, 91..=92, "newest run 93..=100 gets every repeat");
    }

    #[test]
    fn a_spectator_sees_nothing_past_its_delay_and_sweeps_its_gap() {
        let s = SpectatorStream {
            visible: 200,
            acked: 100,
            sends: 1,
            recovery_next: 0,
            history_first: 50,
            redundancy: 8,
        };
        let p = plan_spectator(&s);
        assert_eq!(p.ticks, 193..=200);
        assert_eq!(p.keep, Prefer::Newest);
        let p = plan_spectator(&SpectatorStream { sends: 2, ..s });
        assert_eq!(p.ticks, 101..=132);
        assert!(p.sweep);
        assert_eq!(p.keep, Prefer::Oldest, "the first frame is the hole");
        assert_eq!(p.recovery_next, 133);
        // Caught up: the newest run only, never a sweep.
        let p = plan_spectator(&SpectatorStream {
            acked: 198,
            sends: 2,
            ..s
        });
        assert_eq!(p.ticks, 199..=200);
        // A sweep that only partly fit continues after its last frame sent.
        let frames: Vec<_> = (101..=132).map(|t| frame(t, 2)).collect();
        assert_eq!(sweep_cursor_after(&p, &frames, &(0..10)), 111);
        assert_eq!(sweep_cursor_after(&p, &frames, &(0..0)), 102, "step over");
    }

    #[test]
    fn frames_in_takes_what_the_history_still_holds() {
        let history: VecDeque<_> = (10..20).map(|t| frame(t, 1)).collect();
        let got = frames_in(&history, 10, 8..=12);
        assert_eq!(
            got.iter().map(|f| f.frame.tick).collect::<Vec<_>>(),
            [10, 11, 12]
        );
        assert!(frames_in(&history, 10, 25..=30).is_empty());
        // A caught-up peer's plan: one past the newest to the newest.
        let (next, newest) = (20, 19);
        assert!(frames_in(&history, 10, next..=newest).is_empty());
    }

    #[test]
    fn pack_frames_fills_but_never_exceeds() {
        for players in [1usize, 4, 16, 64] {
            let frames: Vec<_> = (1000..1300).map(|t| frame(t, players)).collect();
            let packed = pack_frames(1000, &frames, 7, 0, 1, Prefer::Oldest).expect("packs");
            let n = packed.kept.len();
            assert_eq!(packed.kept.start, 0);
            assert!(packed.bytes.len() <= MAX_DATAGRAM);
            assert!(
                (1..=MAX_FRAMES_PER_MESSAGE).contains(&n),
                "players {players}: {n}"
            );
            // One more frame would not have fit (unless capped by count).
            if n < MAX_FRAMES_PER_MESSAGE {
                let more = encode(&Message::Frames {
                    first_tick: 1000,
                    frames: frames[..n + 1].to_vec(),
                    input_ack: 7,
                    late_inputs: 0,
                    lead_hint: 1,
                })
                .expect("encodes");
                assert!(
                    more.len() > MAX_DATAGRAM,
                    "players {players}: {n} not maximal"
                );
            }
            match decode(&packed.bytes).expect("decodes") {
                Message::Frames { frames: got, .. } => assert_eq!(got, frames[..n]),
                other => panic!("{other:?}"),
            }
        }
        let packed = pack_frames(5, &[], 4, 0, 0, Prefer::Newest).expect("packs");
        assert!(packed.kept.is_empty());
        assert!(decode(&packed.bytes).is_ok());
    }

    #[test]
    fn pack_frames_keeping_the_newest_drops_from_the_front() {
        for players in [4usize, 64] {
            let frames: Vec<_> = (1000..1300).map(|t| frame(t, players)).collect();
            let packed = pack_frames(1000, &frames, 7, 3, -2, Prefer::Newest).expect("packs");
            assert_eq!(packed.kept.end, frames.len());
            assert!(packed.bytes.len() <= MAX_DATAGRAM);
            let start = packed.kept.start;
            match decode(&packed.bytes).expect("decodes") {
                Message::Frames {
                    first_tick,
                    frames: got,
                    input_ack,
                    late_inputs,
                    lead_hint,
                } => {
                    assert_eq!(first_tick, 1000 + start as u64);
                    assert_eq!(got, frames[start..]);
                    assert_eq!((input_ack, late_inputs, lead_hint), (7, 3, -2));
                }
                other => panic!("{other:?}"),
            }
            // Maximal: one more from the front would not fit (or break the count cap).
            let more = encode(&Message::Frames {
                first_tick: 999 + start as u64,
                frames: frames[start - 1..].to_vec(),
                input_ack: 7,
                late_inputs: 3,
                lead_hint: -2,
            })
            .expect("encodes");
            assert!(
                more.len() > MAX_DATAGRAM || frames.len() - start == MAX_FRAMES_PER_MESSAGE,
                "players {players}: from {start} not maximal"
            );
        }
    }

    /// Bisection finds what dropping one frame at a time finds (the two trimming loops
    /// it replaced), on frames whose sizes vary wildly: chat in some, many players in some.
    #[test]
    fn pack_frames_equals_dropping_one_at_a_time() {
        let linear = |frames: &[ConfirmedFrame], keep: Prefer| -> Vec<u8> {
            let mut range = 0..frames.len().min(MAX_FRAMES_PER_MESSAGE);
            if keep == Prefer::Newest {
                range = frames.len() - range.len()..frames.len();
            }
            loop {
                let m = Message::Frames {
                    first_tick: 500 + range.start as u64,
                    frames: frames[range.clone()].to_vec(),
                    input_ack: 499,
                    late_inputs: 0,
                    lead_hint: 0,
                };
                match encode_bounded(&m) {
                    Ok(b) => return b,
                    Err(_) if keep == Prefer::Newest => range.start += 1,
                    Err(_) => range.end -= 1,
                }
            }
        };
        for seed in 0..40u64 {
            let count = 1 + (seed * 37 % 150) as usize;
            let frames: Vec<_> = (0..count as u64)
                .map(|i| {
                    let t = 500 + i;
                    match (seed + i) % 7 {
                        0 => frame_with_chat(t, 3, (seed * 13 + i) as usize % 110),
                        1 => frame(t, 64),
                        k => frame(t, k as usize),
                    }
                })
                .collect();
            for keep in [Prefer::Oldest, Prefer::Newest] {
                let packed = pack_frames(500, &frames, 499, 0, 0, keep).expect("packs");
                assert_eq!(packed.bytes, linear(&frames, keep), "seed {seed} {keep:?}");
            }
        }
    }
}
