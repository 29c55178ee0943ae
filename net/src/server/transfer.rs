//! Snapshot transfer to one peer: a world snapshot cut into chunks, sent a few per tick
//! round-robin over the unacked ones, each resent with a backoff until the peer's
//! selective acks cover every chunk. Players and spectators (re)synchronise through it.

use std::rc::Rc;

use super::player::AckLag;
use super::{ServerEvent, ServerSession};
use crate::chunk::{self, ChunkAck, SendProgress};
use crate::protocol::{Message, SnapshotReason};

#[derive(Debug)]
pub(super) struct Transfer {
    pub(super) snapshot_id: u32,
    pub(super) tick: u64,
    data: Rc<Vec<u8>>,
    progress: SendProgress,
    /// Round-robin position over unacked chunks.
    cursor: usize,
    /// Per chunk: tick last sent (`None`: never) and ticks to wait before resending.
    resend: Vec<(Option<u64>, u64)>,
    /// Tick the first chunk went out, and the round trip in ticks once the first ack came.
    first_sent: Option<u64>,
    rtt_ticks: Option<u64>,
}

/// A snapshot chunk is resent after this many ticks without an ack (before the round trip
/// is known), doubling per resend up to [`MAX_CHUNK_BACKOFF_TICKS`]; once an ack has
/// measured the round trip, never sooner than that plus two ticks. Without pacing, a long
/// link resends every chunk every few ticks for a whole round trip.
const CHUNK_RESEND_TICKS: u64 = 4;
const MAX_CHUNK_BACKOFF_TICKS: u64 = 128;

impl Transfer {
    /// A transfer of `data`, the world at `tick`; `None` if it is too large to chunk.
    pub(super) fn new(snapshot_id: u32, tick: u64, data: Rc<Vec<u8>>) -> Option<Transfer> {
        let progress = SendProgress::new(data.len()).ok()?;
        Some(Transfer {
            snapshot_id,
            tick,
            data,
            resend: vec![(None, CHUNK_RESEND_TICKS); usize::from(progress.count())],
            progress,
            cursor: 0,
            first_sent: None,
            rtt_ticks: None,
        })
    }

    /// Resets every chunk's resend backoff to the first step (keeping when it was last
    /// sent): the client re-sent its `Spectate`, so our `Welcome` was lost and it dropped
    /// the chunks that came before the `Welcome` it is about to get; backing off further
    /// on those would stall it for seconds.
    pub(super) fn restart_resends(&mut self) {
        for r in &mut self.resend {
            r.1 = CHUNK_RESEND_TICKS;
        }
    }

    /// Records a chunk ack at tick `current`; true once every chunk is acked.
    pub(super) fn on_ack(&mut self, current: u64, ack: ChunkAck) -> bool {
        if self.rtt_ticks.is_none() {
            self.rtt_ticks = self.first_sent.map(|f| current.saturating_sub(f));
        }
        self.progress.on_ack(ack);
        self.progress.done()
    }

    /// The chunks due for a (re)send at tick `current`, at most `per_tick` of them,
    /// round-robin over the unacked ones.
    pub(super) fn due_chunks(&mut self, current: u64, per_tick: usize) -> Vec<Message> {
        let unacked = self.progress.unacked(usize::MAX);
        if unacked.is_empty() {
            return Vec::new();
        }
        let count = self.progress.count();
        let min_wait = self.rtt_ticks.map_or(0, |r| r + 2);
        let due: Vec<u16> = (0..unacked.len())
            .map(|k| unacked[(self.cursor + k) % unacked.len()])
            .filter(|&i| match self.resend.get(usize::from(i)) {
                Some((Some(at), wait)) => current >= at + (*wait).max(min_wait),
                _ => true,
            })
            .take(per_tick)
            .collect();
        self.first_sent.get_or_insert(current);
        let mut out = Vec::with_capacity(due.len());
        for index in due {
            if let Some(r) = self.resend.get_mut(usize::from(index)) {
                if r.0.is_some() {
                    r.1 = (r.1 * 2).min(MAX_CHUNK_BACKOFF_TICKS);
                }
                r.0 = Some(current);
            }
            if let Some(bytes) = chunk::chunk(&self.data, index) {
                out.push(Message::SnapshotChunk {
                    snapshot_id: self.snapshot_id,
                    tick: self.tick,
                    index,
                    count,
                    bytes: bytes.to_vec(),
                });
            }
        }
        self.cursor = self.cursor.wrapping_add(per_tick);
        out
    }
}

impl ServerSession {
    /// Starts sending the world as it is now to the player in `slot` (joining, or
    /// resynchronising after a desync or after falling behind the history).
    pub(super) fn start_transfer(&mut self, slot: u8, reason: SnapshotReason) {
        let data = Rc::new(self.world.snapshot());
        let tick = self.world.tick();
        let bytes = data.len();
        let snapshot_id = self.next_snapshot_id();
        let Some(transfer) = Transfer::new(snapshot_id, tick, data) else {
            // A snapshot over the chunking limit cannot be sent; the world size limits make
            // this unreachable, and dropping the client is the safe answer if it ever is.
            log::error!(target: "venture::server", "snapshot of {bytes} bytes is too large to send");
            return;
        };
        if let Some(c) = self.players[slot as usize].as_mut() {
            c.down.start(Some(transfer), tick);
            c.inputs.clear();
            c.stream_start = None;
            c.ack_lag = AckLag::default();
            c.ack_rtt_nanos = AckLag::default();
        }
        self.stats.snapshots_sent += 1;
        self.events.push(ServerEvent::SnapshotStarted {
            slot,
            tick,
            bytes,
            reason,
        });
    }

    pub(super) fn next_snapshot_id(&mut self) -> u32 {
        let id = self.next_snapshot_id;
        self.next_snapshot_id = self.next_snapshot_id.wrapping_add(1).max(1);
        id
    }
}
