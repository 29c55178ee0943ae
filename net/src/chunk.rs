//! Snapshot chunking and bounded reassembly.
//!
//! A world snapshot (kilobytes to megabytes) is too big for one datagram, so the sender
//! splits it into chunks of exactly [`CHUNK_SIZE`] bytes (the last one may be shorter),
//! each sent as a `SnapshotChunk { snapshot_id, tick, index, count, bytes }` message and
//! resent until acknowledged. The receiver feeds chunks to a [`Reassembler`], which bounds
//! memory ([`ReassemblyLimits`]), rejects anything inconsistent, and yields the whole
//! buffer once every chunk has arrived. [`ChunkAck`] is the compact selective ack
//! (contiguous prefix + 64-bit bitmap) the receiver sends back, and [`SendProgress`]
//! tracks on the sender which chunks still need sending.

use thiserror::Error;

/// Payload bytes per chunk (every chunk but the last is exactly this long).
pub const CHUNK_SIZE: usize = 1000;
/// Default cap on a reassembled snapshot.
pub const MAX_SNAPSHOT_BYTES: usize = 16 * 1024 * 1024;
/// Most chunks a snapshot can have (a `u16` count on the wire).
pub const MAX_CHUNK_COUNT: usize = u16::MAX as usize;

/// Errors from splitting or reassembling.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChunkError {
    #[error("snapshot of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("chunk count {count} is zero or exceeds the limit of {max}")]
    BadCount { count: u16, max: usize },
    #[error("chunk index {index} out of range for count {count}")]
    IndexOutOfRange { index: u16, count: u16 },
    #[error("chunk count {got} disagrees with the snapshot's count {expected}")]
    CountMismatch { expected: u16, got: u16 },
    #[error("chunk tick {got} disagrees with the snapshot's tick {expected}")]
    TickMismatch { expected: u64, got: u64 },
    #[error("chunk {index} has {len} bytes; expected {expected}")]
    BadChunkLength {
        index: u16,
        len: usize,
        expected: &'static str,
    },
    #[error("chunk {index} was received twice with different bytes")]
    ConflictingDuplicate { index: u16 },
    #[error("chunk belongs to snapshot {got}, older than the current {current}")]
    Stale { current: u32, got: u32 },
}

/// Number of chunks `len` bytes split into (an empty snapshot is one empty chunk).
pub fn chunk_count(len: usize) -> Result<u16, ChunkError> {
    let n = len.div_ceil(CHUNK_SIZE).max(1);
    u16::try_from(n).map_err(|_| ChunkError::TooLarge {
        len,
        max: MAX_CHUNK_COUNT * CHUNK_SIZE,
    })
}

/// The bytes of chunk `index` of `data`, or `None` when out of range.
pub fn chunk(data: &[u8], index: u16) -> Option<&[u8]> {
    let count = chunk_count(data.len()).ok()?;
    if index >= count {
        return None;
    }
    let start = usize::from(index) * CHUNK_SIZE;
    let end = (start + CHUNK_SIZE).min(data.len());
    data.get(start..end)
}

/// Splits `data` into its chunks, in index order.
pub fn split(data: &[u8]) -> Result<Vec<&[u8]>, ChunkError> {
    let count = chunk_count(data.len())?;
    Ok((0..count).filter_map(|i| chunk(data, i)).collect())
}

/// Selective acknowledgement of a snapshot's chunks: every index `< contiguous` has arrived,
/// and bit `i` of `mask` says whether index `contiguous + 1 + i` has (index `contiguous`
/// itself is by definition missing unless the snapshot is complete).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChunkAck {
    pub contiguous: u16,
    pub mask: u64,
}

impl ChunkAck {
    /// Whether this ack says chunk `index` was received.
    pub fn has(&self, index: u16) -> bool {
        if index < self.contiguous {
            return true;
        }
        match index.checked_sub(self.contiguous).map(u32::from) {
            Some(d) if (1..=64).contains(&d) => self.mask & (1u64 << (d - 1)) != 0,
            _ => false,
        }
    }
}

/// Bounds for a [`Reassembler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyLimits {
    /// Largest snapshot accepted, in bytes.
    pub max_bytes: usize,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        ReassemblyLimits {
            max_bytes: MAX_SNAPSHOT_BYTES,
        }
    }
}

/// What a chunk did to the reassembly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Stored; more chunks are missing.
    Incomplete,
    /// Already had this chunk (same bytes); nothing changed.
    Duplicate,
    /// That was the last missing chunk: the whole snapshot. The reassembler is now idle
    /// for this id (further chunks of it are reported as `Duplicate`).
    Complete(Vec<u8>),
}

#[derive(Debug)]
struct InProgress {
    snapshot_id: u32,
    tick: u64,
    count: u16,
    chunks: Vec<Option<Vec<u8>>>,
    received: usize,
    complete: bool,
}

/// Bounded reassembly of one snapshot at a time.
///
/// A chunk with a newer `snapshot_id` than the current one abandons the current one and
/// starts the new one (the server only re-sends a snapshot when it has a fresher one); a
/// chunk with an older id is rejected as [`ChunkError::Stale`]. Every other inconsistency
/// (count, tick or length disagreeing with earlier chunks, conflicting duplicates,
/// oversize) is an error and leaves the state unchanged.
#[derive(Debug, Default)]
pub struct Reassembler {
    limits: ReassemblyLimits,
    cur: Option<InProgress>,
}

impl Reassembler {
    pub fn new(limits: ReassemblyLimits) -> Self {
        Reassembler { limits, cur: None }
    }

    /// The snapshot being reassembled (or just completed): `(snapshot_id, tick)`.
    pub fn current(&self) -> Option<(u32, u64)> {
        self.cur.as_ref().map(|c| (c.snapshot_id, c.tick))
    }

    /// Chunks received and expected of the current snapshot (for progress displays).
    pub fn received(&self) -> Option<(usize, u16)> {
        self.cur.as_ref().map(|c| (c.received, c.count))
    }

    /// Forgets any partial snapshot.
    pub fn reset(&mut self) {
        self.cur = None;
    }

    fn max_count(&self) -> usize {
        self.limits
            .max_bytes
            .div_ceil(CHUNK_SIZE)
            .clamp(1, MAX_CHUNK_COUNT)
    }

    /// Feeds one chunk.
    pub fn insert(
        &mut self,
        snapshot_id: u32,
        tick: u64,
        index: u16,
        count: u16,
        bytes: &[u8],
    ) -> Result<Progress, ChunkError> {
        let max = self.max_count();
        if count == 0 || usize::from(count) > max {
            return Err(ChunkError::BadCount { count, max });
        }
        if index >= count {
            return Err(ChunkError::IndexOutOfRange { index, count });
        }
        let last = index + 1 == count;
        let len_ok = if last {
            bytes.len() <= CHUNK_SIZE && (count == 1 || !bytes.is_empty())
        } else {
            bytes.len() == CHUNK_SIZE
        };
        if !len_ok {
            return Err(ChunkError::BadChunkLength {
                index,
                len: bytes.len(),
                expected: if last {
                    "1..=CHUNK_SIZE for the last chunk"
                } else {
                    "exactly CHUNK_SIZE"
                },
            });
        }
        let total = (usize::from(count) - 1) * CHUNK_SIZE + if last { bytes.len() } else { 1 };
        if total > self.limits.max_bytes {
            return Err(ChunkError::TooLarge {
                len: total,
                max: self.limits.max_bytes,
            });
        }

        let start_new = match &self.cur {
            Some(c) if snapshot_id < c.snapshot_id => {
                return Err(ChunkError::Stale {
                    current: c.snapshot_id,
                    got: snapshot_id,
                })
            }
            Some(c) if snapshot_id == c.snapshot_id => {
                if c.count != count {
                    return Err(ChunkError::CountMismatch {
                        expected: c.count,
                        got: count,
                    });
                }
                if c.tick != tick {
                    return Err(ChunkError::TickMismatch {
                        expected: c.tick,
                        got: tick,
                    });
                }
                false
            }
            _ => true,
        };
        if start_new {
            self.cur = None;
        }
        let c = self.cur.get_or_insert_with(|| InProgress {
            snapshot_id,
            tick,
            count,
            chunks: vec![None; usize::from(count)],
            received: 0,
            complete: false,
        });
        if c.complete {
            return Ok(Progress::Duplicate);
        }
        let slot = &mut c.chunks[usize::from(index)];
        match slot {
            Some(have) if have.as_slice() == bytes => return Ok(Progress::Duplicate),
            Some(_) => return Err(ChunkError::ConflictingDuplicate { index }),
            None => *slot = Some(bytes.to_vec()),
        }
        c.received += 1;
        if c.received < usize::from(c.count) {
            return Ok(Progress::Incomplete);
        }
        c.complete = true;
        let mut out = Vec::with_capacity(c.chunks.iter().flatten().map(Vec::len).sum());
        for part in c.chunks.drain(..).flatten() {
            out.extend_from_slice(&part);
        }
        Ok(Progress::Complete(out))
    }

    /// Indices still missing from the current snapshot (empty when none or complete).
    pub fn missing(&self) -> Vec<u16> {
        match &self.cur {
            Some(c) if !c.complete => (0..c.count)
                .filter(|&i| c.chunks[usize::from(i)].is_none())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The selective ack for the current snapshot, `None` when there is none.
    pub fn ack(&self) -> Option<(u32, ChunkAck)> {
        let c = self.cur.as_ref()?;
        if c.complete {
            return Some((
                c.snapshot_id,
                ChunkAck {
                    contiguous: c.count,
                    mask: 0,
                },
            ));
        }
        let have = |i: usize| c.chunks.get(i).is_some_and(Option::is_some);
        let contiguous = (0..usize::from(c.count))
            .find(|&i| !have(i))
            .unwrap_or(usize::from(c.count));
        let mut mask = 0u64;
        for bit in 0..64 {
            if have(contiguous + 1 + bit) {
                mask |= 1 << bit;
            }
        }
        // contiguous < count <= u16::MAX here.
        let contiguous = u16::try_from(contiguous).unwrap_or(u16::MAX);
        Some((c.snapshot_id, ChunkAck { contiguous, mask }))
    }
}

/// Sender-side bookkeeping for one snapshot: which chunks the peer has acknowledged.
#[derive(Debug, Clone)]
pub struct SendProgress {
    count: u16,
    acked: Vec<bool>,
    acked_count: usize,
}

impl SendProgress {
    pub fn new(data_len: usize) -> Result<Self, ChunkError> {
        let count = chunk_count(data_len)?;
        Ok(SendProgress {
            count,
            acked: vec![false; usize::from(count)],
            acked_count: 0,
        })
    }

    pub fn count(&self) -> u16 {
        self.count
    }

    /// Applies an ack from the peer.
    pub fn on_ack(&mut self, ack: ChunkAck) {
        for i in 0..self.count {
            if ack.has(i) && !self.acked[usize::from(i)] {
                self.acked[usize::from(i)] = true;
                self.acked_count += 1;
            }
        }
    }

    /// Whether every chunk has been acknowledged.
    pub fn done(&self) -> bool {
        self.acked_count == usize::from(self.count)
    }

    /// Up to `n` unacknowledged chunk indices, lowest first.
    pub fn unacked(&self, n: usize) -> Vec<u16> {
        (0..self.count)
            .filter(|&i| !self.acked[usize::from(i)])
            .take(n)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn split_sizes() {
        assert_eq!(chunk_count(0), Ok(1));
        assert_eq!(chunk_count(1000), Ok(1));
        assert_eq!(chunk_count(1001), Ok(2));
        let d = data(2500);
        let parts = split(&d).expect("small");
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[2].len(), 500);
        assert_eq!(parts.concat(), d);
        assert!(chunk(&d, 3).is_none());
        assert!(chunk_count(70_000_000).is_err());
    }

    #[test]
    fn reassemble_out_of_order_with_duplicates() {
        let d = data(5500);
        let parts = split(&d).expect("small");
        let n = parts.len() as u16;
        let mut r = Reassembler::default();
        let order = [5u16, 0, 3, 3, 1, 4];
        for &i in &order {
            let p = r
                .insert(9, 100, i, n, parts[usize::from(i)])
                .expect("valid");
            assert_ne!(p, Progress::Complete(vec![]));
        }
        assert_eq!(r.missing(), vec![2]);
        let (id, ack) = r.ack().expect("in progress");
        assert_eq!(id, 9);
        assert_eq!(ack.contiguous, 2);
        assert!(ack.has(0) && ack.has(1) && !ack.has(2) && ack.has(3) && ack.has(5));
        match r.insert(9, 100, 2, n, parts[2]).expect("valid") {
            Progress::Complete(out) => assert_eq!(out, d),
            other => panic!("expected complete, got {other:?}"),
        }
        assert_eq!(r.insert(9, 100, 2, n, parts[2]), Ok(Progress::Duplicate));
        assert!(r.missing().is_empty());
        assert_eq!(r.ack().expect("done").1.contiguous, n);
    }

    #[test]
    fn empty_and_single() {
        let mut r = Reassembler::default();
        assert_eq!(r.insert(1, 0, 0, 1, &[]), Ok(Progress::Complete(vec![])));
        assert_eq!(
            r.insert(2, 0, 0, 1, &[1, 2]),
            Ok(Progress::Complete(vec![1, 2]))
        );
    }

    #[test]
    fn hostile_inputs() {
        let full = vec![0u8; CHUNK_SIZE];
        let mut r = Reassembler::new(ReassemblyLimits { max_bytes: 10_000 });
        assert!(matches!(
            r.insert(1, 0, 0, 0, &full),
            Err(ChunkError::BadCount { .. })
        ));
        assert!(matches!(
            r.insert(1, 0, 0, 11, &full),
            Err(ChunkError::BadCount { .. })
        ));
        assert!(matches!(
            r.insert(1, 0, 65535, 65535, &full),
            Err(ChunkError::BadCount { .. })
        ));
        assert!(matches!(
            r.insert(1, 0, 5, 5, &full),
            Err(ChunkError::IndexOutOfRange { .. })
        ));
        assert!(matches!(
            r.insert(1, 0, 0, 5, &[1; 999]),
            Err(ChunkError::BadChunkLength { .. })
        ));
        assert!(matches!(
            r.insert(1, 0, 4, 5, &[]),
            Err(ChunkError::BadChunkLength { .. })
        ));
        assert!(matches!(
            r.insert(1, 0, 4, 5, &[0; 1001]),
            Err(ChunkError::BadChunkLength { .. })
        ));
        assert_eq!(r.insert(1, 7, 0, 5, &full), Ok(Progress::Incomplete));
        assert!(matches!(
            r.insert(1, 7, 1, 6, &full),
            Err(ChunkError::CountMismatch { .. })
        ));
        assert!(matches!(
            r.insert(1, 8, 1, 5, &full),
            Err(ChunkError::TickMismatch { .. })
        ));
        assert!(matches!(
            r.insert(1, 7, 0, 5, &[1; CHUNK_SIZE]),
            Err(ChunkError::ConflictingDuplicate { index: 0 })
        ));
        assert_eq!(r.current(), Some((1, 7)));
        // A newer snapshot replaces the partial one; an older one is stale.
        assert_eq!(r.insert(2, 9, 1, 3, &full), Ok(Progress::Incomplete));
        assert!(matches!(
            r.insert(1, 7, 1, 5, &full),
            Err(ChunkError::Stale { .. })
        ));
        assert_eq!(r.missing(), vec![0, 2]);
        // Memory stays bounded by the limit: 10 chunks of 1000.
        assert_eq!(r.max_count(), 10);
    }

    #[test]
    fn send_progress() {
        let mut s = SendProgress::new(5500).expect("small");
        assert_eq!(s.count(), 6);
        assert_eq!(s.unacked(3), vec![0, 1, 2]);
        s.on_ack(ChunkAck {
            contiguous: 2,
            mask: 0b10,
        });
        assert_eq!(s.unacked(10), vec![2, 3, 5]);
        s.on_ack(ChunkAck {
            contiguous: 6,
            mask: 0,
        });
        assert!(s.done());
        assert!(!ChunkAck::default().has(0));
        assert!(!ChunkAck {
            contiguous: 0,
            mask: u64::MAX
        }
        .has(65));
        assert!(ChunkAck {
            contiguous: 0,
            mask: u64::MAX
        }
        .has(64));
    }
}
