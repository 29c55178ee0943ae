//! One peer's downlink, the same for players, spectators and followers: where its
//! datagrams go, the newest confirmed frame it holds, the snapshot in flight while it
//! (re)synchronises, when it was last heard from, and the cursors of its frame stream.
//! Players and spectators differ in what they send up and which frames they may see, not
//! in how their frame acks and chunk acks move this state (GGRS keeps one per-peer type
//! for both too).

use std::time::Duration;

use super::transfer::Transfer;
use crate::carrier::Remote;
use crate::chunk::ChunkAck;

#[derive(Debug)]
pub(super) struct Downlink {
    pub(super) addr: Remote,
    /// Highest confirmed frame the peer holds contiguously.
    pub(super) acked: u64,
    /// In flight snapshot, if the peer is (re)synchronising.
    pub(super) transfer: Option<Transfer>,
    pub(super) last_heard: Duration,
    /// Datagrams sent so far (one per closed tick); the frame planners sweep on every
    /// other one.
    pub(super) sends: u64,
    /// Next tick of the gap-filling sweep (see `frames::plan_player`).
    pub(super) recovery_next: u64,
}

impl Downlink {
    /// A peer at `addr` that holds the frames up to `acked`, heard from at `now`.
    pub(super) fn new(
        addr: Remote,
        acked: u64,
        transfer: Option<Transfer>,
        now: Duration,
    ) -> Downlink {
        Downlink {
            addr,
            acked,
            transfer,
            last_heard: now,
            sends: 0,
            recovery_next: 0,
        }
    }

    /// Still receiving a snapshot.
    pub(super) fn syncing(&self) -> bool {
        self.transfer.is_some()
    }

    /// Nothing heard for longer than `timeout`.
    pub(super) fn is_silent(&self, now: Duration, timeout: Duration) -> bool {
        now.saturating_sub(self.last_heard) > timeout
    }

    /// A frame ack (an `Inputs`' `ack_tick`): the peer holds every frame up to `ack_tick`.
    /// Counts only while streaming frames (a snapshot's tick is the peer's start), only
    /// forwards and never beyond `visible`, the newest frame it may have been sent (so a
    /// forged ack cannot skip frames). Returns whether the ack moved.
    pub(super) fn on_frame_ack(&mut self, ack_tick: u64, visible: u64) -> bool {
        let moved = self.transfer.is_none() && ack_tick > self.acked && ack_tick <= visible;
        if moved {
            self.acked = ack_tick;
        }
        moved
    }

    /// Whether the peer, streaming, needs frames older than the history keeps (from
    /// `history_first` on): only a snapshot can help it then.
    pub(super) fn fell_behind(&self, history_first: u64) -> bool {
        self.transfer.is_none() && self.acked + 1 < history_first
    }

    /// A `SnapshotChunkAck` at tick `current`: acks of another snapshot are ignored; the
    /// last chunk acked ends the transfer, and frames follow from the snapshot's tick.
    pub(super) fn on_chunk_ack(&mut self, current: u64, snapshot_id: u32, ack: ChunkAck) {
        let done = match self.transfer.as_mut() {
            Some(t) if t.snapshot_id == snapshot_id => t.on_ack(current, ack),
            _ => false,
        };
        if done {
            self.transfer = None;
        }
    }

    /// Restarts the peer from a snapshot of the world at `tick`.
    pub(super) fn start(&mut self, transfer: Option<Transfer>, tick: u64) {
        self.transfer = transfer;
        self.acked = tick;
    }

    /// The start of this tick's datagram at tick `current`: counts it and, while a
    /// snapshot is in flight, queues its due chunks (at most `per_tick`) into `out`.
    /// Returns whether it did; the caller sends the frames otherwise.
    pub(super) fn send_chunks(
        &mut self,
        current: u64,
        per_tick: usize,
        out: &mut Vec<(Remote, Vec<u8>)>,
    ) -> bool {
        self.sends += 1;
        let Some(t) = self.transfer.as_mut() else {
            return false;
        };
        for m in t.due_chunks(current, per_tick) {
            out.extend(super::encode_own(&m).map(|b| (self.addr, b)));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::CHUNK_SIZE;
    use crate::protocol::{self, Message};
    use std::net::SocketAddr;
    use std::rc::Rc;

    fn addr() -> Remote {
        Remote::udp(SocketAddr::from(([127, 0, 0, 1], 4000)))
    }

    /// A peer at tick 10 receiving snapshot 3, three chunks long.
    fn syncing() -> Downlink {
        let data = Rc::new(vec![7u8; 2 * CHUNK_SIZE + 1]);
        Downlink::new(addr(), 10, Transfer::new(3, 10, data), Duration::ZERO)
    }

    fn all_acked() -> ChunkAck {
        ChunkAck {
            contiguous: 3,
            mask: 0,
        }
    }

    #[test]
    fn frame_acks_move_forward_while_streaming_and_only_up_to_what_was_visible() {
        let mut d = syncing();
        assert!(
            !d.on_frame_ack(12, 20),
            "no frame ack counts during a transfer"
        );
        assert_eq!(d.acked, 10);
        d.on_chunk_ack(20, 3, all_acked());
        assert!(!d.syncing());
        assert!(d.on_frame_ack(12, 20));
        assert!(!d.on_frame_ack(11, 20), "older ack: reordered");
        assert!(!d.on_frame_ack(12, 20), "repeated ack");
        assert!(!d.on_frame_ack(21, 20), "ack of a frame never sent");
        assert_eq!(d.acked, 12);
        assert!(d.on_frame_ack(20, 20));
        assert_eq!(d.acked, 20);
    }

    #[test]
    fn chunk_acks_of_another_snapshot_are_ignored_and_the_last_one_ends_the_transfer() {
        let mut d = syncing();
        d.on_chunk_ack(11, 2, all_acked());
        assert!(d.syncing(), "snapshot 2 is not the one in flight");
        d.on_chunk_ack(
            11,
            3,
            ChunkAck {
                contiguous: 2,
                mask: 0,
            },
        );
        assert!(d.syncing(), "one chunk still unacked");
        d.on_chunk_ack(12, 3, all_acked());
        assert!(!d.syncing());
        d.on_chunk_ack(13, 3, all_acked());
        assert!(!d.syncing(), "late acks change nothing");
    }

    #[test]
    fn a_peer_streaming_behind_the_history_needs_a_snapshot() {
        let mut d = syncing();
        assert!(!d.fell_behind(100), "a transfer is already under way");
        d.on_chunk_ack(11, 3, all_acked());
        assert!(!d.fell_behind(11), "holds 10, the history starts at 11");
        assert!(d.fell_behind(12));
        d.start(Transfer::new(4, 50, Rc::new(vec![1; 10])), 50);
        assert_eq!(d.acked, 50);
        assert!(d.syncing());
        assert!(!d.fell_behind(100));
    }

    #[test]
    fn chunks_go_out_while_syncing_and_every_send_is_counted() {
        let mut d = syncing();
        let mut out = Vec::new();
        assert!(d.send_chunks(11, 2, &mut out));
        assert_eq!(out.len(), 2, "at most two chunks per tick");
        assert!(out.iter().all(|(to, _)| *to == addr()));
        let first = protocol::decode(&out[0].1).unwrap();
        assert!(matches!(
            first,
            Message::SnapshotChunk {
                snapshot_id: 3,
                tick: 10,
                count: 3,
                ..
            }
        ));
        d.on_chunk_ack(12, 3, all_acked());
        out.clear();
        assert!(!d.send_chunks(12, 2, &mut out), "streaming: frames instead");
        assert!(out.is_empty());
        assert_eq!(d.sends, 2);
    }

    #[test]
    fn silence_is_measured_from_the_last_datagram() {
        let mut d = syncing();
        let timeout = Duration::from_secs(10);
        assert!(!d.is_silent(timeout, timeout));
        assert!(d.is_silent(timeout + Duration::from_millis(1), timeout));
        d.last_heard = Duration::from_secs(5);
        assert!(!d.is_silent(Duration::from_secs(15), timeout));
    }
}
