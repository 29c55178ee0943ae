//! A `Reassembler` fed a sequence of chunk inserts: arbitrary (hostile) chunks mixed with
//! the real chunks of a payload in arbitrary order, with duplicates.
//!
//! Checks: no panic; `Complete` is only ever the exact payload of a consistent chunk set
//! (length within the limit); when every inserted chunk came from the real payload, the
//! payload comes back byte for byte; `ack()`/`missing()` stay consistent.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use venture_net::chunk::{self, Progress, Reassembler, ReassemblyLimits, CHUNK_SIZE};

const MAX_OPS: usize = 1024;

#[derive(Arbitrary, Debug)]
enum Op {
    /// Chunk `pick` of the real payload (snapshot id 5, tick 9).
    Real {
        pick: u16,
    },
    /// Anything at all. `len`/`fill` build the bytes (lengths near CHUNK_SIZE matter).
    Forged {
        snapshot_id: u8,
        tick: u8,
        index: u16,
        count: u16,
        len: u16,
        fill: u8,
    },
    Reset,
}

#[derive(Arbitrary, Debug)]
struct Script {
    /// Payload length in bytes (bounded below).
    payload_len: u32,
    seed: u8,
    /// Reassembler byte limit (`None`: the default 16 MiB).
    max_bytes: Option<u32>,
    ops: Vec<Op>,
}

fuzz_target!(|s: Script| {
    let payload_len = (s.payload_len % (40 * CHUNK_SIZE as u32)) as usize;
    let payload: Vec<u8> = (0..payload_len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(s.seed))
        .collect();
    let limits = match s.max_bytes {
        Some(m) => ReassemblyLimits {
            max_bytes: (m % (64 * CHUNK_SIZE as u32 + 7)) as usize,
        },
        None => ReassemblyLimits::default(),
    };
    let Ok(parts) = chunk::split(&payload) else {
        return;
    };
    let count = chunk::chunk_count(payload.len()).expect("split succeeded");
    assert_eq!(parts.len(), usize::from(count));
    let mut r = Reassembler::new(limits);
    let mut only_real = true;
    let mut real_seen = vec![false; parts.len()];
    for op in s.ops.into_iter().take(MAX_OPS) {
        let res = match op {
            Op::Reset => {
                r.reset();
                real_seen.iter_mut().for_each(|b| *b = false);
                only_real = true;
                continue;
            }
            Op::Real { pick } => {
                let i = usize::from(pick) % parts.len();
                let res = r.insert(5, 9, i as u16, count, parts[i]);
                if res.is_ok() {
                    real_seen[i] = true;
                }
                res
            }
            Op::Forged {
                snapshot_id,
                tick,
                index,
                count: c,
                len,
                fill,
            } => {
                let len = usize::from(len) % (CHUNK_SIZE + 2);
                let bytes = vec![fill; len];
                let res = r.insert(
                    u32::from(snapshot_id % 8),
                    u64::from(tick % 4),
                    index,
                    c,
                    &bytes,
                );
                if res.is_ok() {
                    only_real = false;
                }
                res
            }
        };
        match res {
            Ok(Progress::Complete(data)) => {
                assert!(data.len() <= limits.max_bytes);
                let (id, _) = r.current().expect("completed snapshot is current");
                if only_real && id == 5 {
                    assert_eq!(data, payload, "real chunks reassembled wrongly");
                }
                assert!(r.missing().is_empty());
            }
            Ok(_) | Err(_) => {}
        }
        if let Some((_, ack)) = r.ack() {
            for i in r.missing() {
                assert!(!ack.has(i), "ack claims missing chunk {i}");
            }
        }
        if r.current().is_none() {
            assert!(r.ack().is_none());
        }
    }
});
