//! The protocol's unit tests: every message round trips, the header and trailing bytes,
//! validation bounds, hostile bytes, `Hello` padding, snapshot chunks, implied frame ticks,
//! frame sizes on the wire, and the packers.

use super::*;
use crate::chunk::CHUNK_SIZE;
use crate::test_frames::{frame, input};

fn all_messages() -> Vec<Message> {
    vec![
        Message::hello(3),
        Message::hello(u32::MAX),
        Message::Join {
            cookie: [9; 16],
            name: "Bob the 2nd".into(),
            character_secret: [1; 16],
        },
        Message::Inputs {
            ack_tick: 5,
            first_tick: 6,
            inputs: (0..10).map(input).collect(),
        },
        Message::SnapshotRequest {
            reason: SnapshotReason::Desync {
                tick: 9,
                client_checksum: 1,
                server_checksum: 2,
            },
        },
        Message::SnapshotChunkAck {
            snapshot_id: 1,
            contiguous: 3,
            mask: 0b101,
        },
        Message::Leave,
        Message::Ping { nonce: u64::MAX },
        Message::Challenge { cookie: [3; 16] },
        Message::Welcome {
            slot: 3,
            tick_rate: 20,
            seed: 12345,
            genre: "fantasy".into(),
            sim_version: 3,
            start_tick: 100,
            world_checksum: 0xdead_beef,
            snapshot_id: Some(4),
        },
        Message::Reject {
            reason: RejectReason::VersionMismatch {
                server_protocol: 1,
                server_sim: 2,
            },
        },
        Message::Frames {
            first_tick: 10,
            frames: (10..14).map(|t| frame(t, 4)).collect(),
            input_ack: 12,
            late_inputs: 1,
            lead_hint: -2,
        },
        Message::SnapshotChunk {
            snapshot_id: 4,
            tick: 100,
            index: 0,
            count: 2,
            bytes: vec![7; CHUNK_SIZE],
        },
        Message::Pong { nonce: 1 },
        Message::ShuttingDown,
        Message::Follow {
            nonce: [5; 16],
            proof: [6; 32],
            depose: true,
        },
        Message::ClaimAck { seq: 9 },
        Message::Claim {
            seq: 9,
            name: "Alice".into(),
            secret_digest: [2; 16],
            part: 1,
            parts: 2,
            bytes: vec![1; crate::standby::CLAIM_PART_BYTES],
        },
        Message::Reject {
            reason: RejectReason::Replaced,
        },
    ]
}

#[test]
fn round_trip_every_message() {
    for m in all_messages() {
        let bytes = encode_bounded(&m).expect("fits");
        assert_eq!(&bytes[..2], &PROTOCOL_VERSION.to_le_bytes());
        assert_eq!(decode(&bytes).expect("decodes"), m);
    }
    assert_eq!(Message::Leave.direction(), Direction::ClientToServer);
    let pong = encode(&Message::Pong { nonce: 1 }).expect("encodes");
    assert!(decode_from(&pong, Direction::ServerToClient).is_ok());
    assert!(matches!(
        decode_from(&pong, Direction::ClientToServer),
        Err(ProtocolError::WrongDirection { kind: "pong" })
    ));
    assert_eq!(Message::ShuttingDown.direction(), Direction::ServerToClient);
}

#[test]
fn header_and_trailing_bytes() {
    let good = encode(&Message::Leave).expect("encodes");
    assert!(matches!(
        decode(&good[..1]),
        Err(ProtocolError::TooShort { .. })
    ));
    let mut bad = good.clone();
    bad[0] = 99;
    assert!(matches!(
        decode(&bad),
        Err(ProtocolError::VersionMismatch { got: 99 })
    ));
    let mut bad = good.clone();
    bad.push(0);
    assert!(matches!(
        decode(&bad),
        Err(ProtocolError::TrailingBytes { trailing: 1 })
    ));
    assert!(matches!(
        decode(&vec![0; MAX_DATAGRAM + 1]),
        Err(ProtocolError::TooLarge { .. })
    ));
}

#[test]
fn validation_rejects_out_of_bounds() {
    let cases = vec![
        Message::Join {
            cookie: [0; 16],
            name: " bad".into(),
            character_secret: [0; 16],
        },
        Message::Welcome {
            slot: 64,
            tick_rate: 20,
            seed: 0,
            genre: "x".into(),
            sim_version: 0,
            start_tick: 0,
            world_checksum: 0,
            snapshot_id: None,
        },
        Message::Inputs {
            ack_tick: 0,
            first_tick: u64::MAX,
            inputs: vec![input(0)],
        },
        Message::Inputs {
            ack_tick: 0,
            first_tick: 0,
            inputs: vec![input(0)],
        },
        Message::Frames {
            first_tick: 0,
            frames: vec![frame(0, 1)],
            input_ack: 0,
            late_inputs: 0,
            lead_hint: 0,
        },
        Message::SnapshotChunk {
            snapshot_id: 0,
            tick: 0,
            index: 2,
            count: 2,
            bytes: vec![],
        },
        Message::Claim {
            seq: 0,
            name: "Al".into(),
            secret_digest: [0; 16],
            part: 2,
            parts: 2,
            bytes: vec![],
        },
        Message::Claim {
            seq: 0,
            name: "".into(),
            secret_digest: [0; 16],
            part: 0,
            parts: 1,
            bytes: vec![],
        },
    ];
    for m in cases {
        let bytes = encode(&m).expect("encodes");
        assert!(
            matches!(decode(&bytes), Err(ProtocolError::Invalid(_))),
            "{m:?}"
        );
    }
}

#[test]
fn hostile_bytes_never_panic() {
    // Truncations and bit flips of valid messages, plus a huge claimed length.
    for m in all_messages() {
        let bytes = encode(&m).expect("encodes");
        for cut in HEADER_LEN..bytes.len() {
            let _ = decode(&bytes[..cut]);
        }
        for i in HEADER_LEN..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                let _ = decode(&b);
            }
        }
    }
    // Variant `Inputs` claiming u64::MAX inputs: bincode's limit rejects it.
    let mut b = PROTOCOL_VERSION.to_le_bytes().to_vec();
    b.extend_from_slice(&[
        2, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    ]);
    assert!(decode(&b).is_err());
    // Deterministic pseudo-random garbage after a valid header.
    let mut x = 0x1234_5678_9abc_def0u64;
    for _ in 0..2000 {
        let mut b = PROTOCOL_VERSION.to_le_bytes().to_vec();
        let n = (x % 64) as usize;
        for _ in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.push(x as u8);
        }
        let _ = decode(&b);
    }
}

#[test]
fn hello_is_padded_and_replies_are_smaller() {
    for v in [0, 3, u32::MAX] {
        let n = encode_bounded(&Message::hello(v)).expect("fits").len();
        assert!((MIN_HELLO_LEN..MIN_HELLO_LEN + 16).contains(&n), "{n}");
    }
    let short = encode(&Message::Hello {
        protocol: PROTOCOL_VERSION,
        sim_version: 1,
        padding: vec![],
    })
    .expect("encodes");
    assert!(matches!(decode(&short), Err(ProtocolError::Invalid(_))));
    let mut dirty = Message::hello(1);
    if let Message::Hello { padding, .. } = &mut dirty {
        padding[0] = 1;
    }
    let dirty = encode(&dirty).expect("encodes");
    assert!(matches!(decode(&dirty), Err(ProtocolError::Invalid(_))));
    let challenge = encode(&Message::Challenge { cookie: [0xff; 16] }).expect("encodes");
    let reject = encode(&Message::Reject {
        reason: RejectReason::VersionMismatch {
            server_protocol: u16::MAX,
            server_sim: u32::MAX,
        },
    })
    .expect("encodes");
    // Reply plus ten 5-byte laminar heartbeats, all with 28 bytes of UDP/IP overhead.
    let worst_reply = challenge.len().max(reject.len()) + 5 + 28 + 10 * (5 + 28);
    assert!(worst_reply < MIN_HELLO_LEN + 5 + 28, "{worst_reply}");
    assert_eq!(Message::hello(1).kind(), "hello");
}

#[test]
fn snapshot_chunks_through_messages() {
    use crate::chunk::{Progress, Reassembler};
    let data: Vec<u8> = (0..4321u32).map(|i| (i % 253) as u8).collect();
    let mut r = Reassembler::default();
    let mut done = None;
    for index in (0..5u16).rev() {
        let m = Message::snapshot_chunk(7, 99, &data, index).expect("in range");
        let wire = encode_bounded(&m).expect("a full chunk fits a datagram");
        if let Message::SnapshotChunk {
            snapshot_id,
            tick,
            index,
            count,
            bytes,
        } = decode_from(&wire, Direction::ServerToClient).expect("decodes")
        {
            if let Progress::Complete(out) = r
                .insert(snapshot_id, tick, index, count, &bytes)
                .expect("valid")
            {
                done = Some(out);
            }
        }
    }
    assert_eq!(done, Some(data.clone()));
    assert!(Message::snapshot_chunk(7, 99, &data, 5).is_none());
    let (id, ack) = r.ack().expect("complete");
    let m = Message::snapshot_chunk_ack(id, ack);
    assert_eq!(m.chunk_ack(), Some((7, ack)));
}

/// Frame ticks are implied by `first_tick` on the wire: a message whose frames carry
/// other ticks fails validation before encoding and decodes consecutive.
#[test]
fn frame_ticks_are_implied() {
    let m = Message::Frames {
        first_tick: 10,
        frames: vec![frame(10, 1), frame(12, 1)],
        input_ack: 0,
        late_inputs: 0,
        lead_hint: 0,
    };
    assert!(matches!(m.validate(), Err(ProtocolError::Invalid(_))));
    match decode(&encode(&m).expect("encodes")).expect("decodes") {
        Message::Frames { frames, .. } => {
            assert_eq!(frames[1].frame.tick, 11);
            assert_eq!(frames[1].frame.inputs, frame(12, 1).frame.inputs);
        }
        other => panic!("{other:?}"),
    }
}

/// Pins the wire size of the common case (4 players, 20 Hz) so bandwidth regressions
/// show up: DESIGN.md budgets < 2 KB/s down and < 1.5 KB/s up per player, including
/// 28 B UDP/IP and laminar's header (see `benches/bandwidth.rs`).
#[test]
fn frames_wire_size() {
    let sizes = |change: bool| -> Vec<usize> {
        [1usize, 2, 4, 8]
            .iter()
            .map(|&k| {
                let frames: Vec<_> = (100_000..100_000 + k as u64)
                    .map(|t| {
                        let mut cf = frame(if change { t } else { 7 }, 4);
                        cf.frame.tick = t;
                        cf.frame.commands.clear();
                        cf.checksum = u32::MAX;
                        cf
                    })
                    .collect();
                encode_bounded(&Message::Frames {
                    first_tick: 100_000,
                    frames,
                    input_ack: 100_003,
                    late_inputs: 0,
                    lead_hint: 0,
                })
                .expect("fits")
                .len()
            })
            .collect()
    };
    let (same, worst) = (sizes(false), sizes(true));
    eprintln!("Frames datagram bytes for 1/2/4/8 four-player frames: unchanged inputs {same:?}, every input changing every field {worst:?}");
    // One frame: header 2 + tag 1 + blob length 1 + first_tick 3 + input_ack 1 + late 1
    // + lead 1 + count 1 + frame (head 1 + len 1 + 4 x (mask 1 + 6 fields) + checksum 4).
    assert_eq!(same[0], 2 + 1 + 1 + 3 + 1 + 1 + 1 + 1 + (1 + 1 + 4 * 7 + 4));
    // A repeated frame is its head byte and checksum.
    assert_eq!(same[1] - same[0], 5);
    assert_eq!(same[3] - same[0], 7 * 5);
    // Worst case: every field of every input changes (input(t ^ s) varies move_x,
    // move_y and buttons each tick).
    assert!(worst[1] - worst[0] <= 1 + 4 * 4 + 4, "{worst:?}");
    let inputs = pack_inputs(100_000, 100_001, &[input(1); 4])
        .expect("packs")
        .0
        .len();
    eprintln!("Inputs datagram bytes for 4 redundant identical inputs: {inputs}");
    // Header 2 + tag 1 + blob length 1 + ack 3 + first 1 + count 1 + input 7 + run 1.
    assert_eq!(inputs, 2 + 1 + 1 + 3 + 1 + 1 + 7 + 1);
}

#[test]
fn encode_bounded_refuses_oversize() {
    let m = Message::SnapshotChunk {
        snapshot_id: 0,
        tick: 0,
        index: 0,
        count: 1,
        bytes: vec![0; 2000],
    };
    assert!(matches!(
        encode_bounded(&m),
        Err(ProtocolError::TooLarge { .. })
    ));
}

#[test]
fn pack_inputs_keeps_newest() {
    let inputs: Vec<_> = (0..400u32).map(|i| input(i as u8)).collect();
    let (bytes, first) = pack_inputs(3, 1000, &inputs).expect("packs");
    assert!(bytes.len() <= MAX_DATAGRAM);
    match decode(&bytes).expect("decodes") {
        Message::Inputs {
            first_tick,
            inputs: got,
            ..
        } => {
            assert_eq!(first_tick, first);
            assert!(got.len() >= 190, "only {} inputs fit", got.len());
            assert_eq!(first_tick + got.len() as u64, 1400);
            assert_eq!(got[..], inputs[inputs.len() - got.len()..]);
        }
        other => panic!("{other:?}"),
    }
    let (bytes, first) = pack_inputs(0, 7, &[]).expect("packs");
    assert_eq!(first, 7);
    assert!(decode(&bytes).is_ok());
}
