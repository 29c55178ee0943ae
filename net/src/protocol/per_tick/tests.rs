//! The per-tick codec's unit tests: random round trips, hostile bytes, canonical forms
//! (whatever decodes re-encodes to the same bytes), and wire bytes pinned by hand and by
//! the fuzz corpus.

use super::*;

fn rng(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn random_input(x: &mut u64) -> PlayerInput {
    let v = rng(x);
    if v % 3 == 0 {
        return PlayerInput::IDLE;
    }
    PlayerInput::from_bytes([
        v as u8,
        (v >> 8) as u8,
        (v >> 16) as u8,
        (v >> 24) as u8,
        if v % 5 == 0 { (v >> 32) as u8 } else { 0 },
        (v >> 40) as u8 % 4,
    ])
}

fn random_frames(x: &mut u64, n: usize) -> Vec<ConfirmedFrame> {
    let mut inputs: Vec<PlayerInput> = Vec::new();
    (0..n)
        .map(|i| {
            let r = rng(x);
            if r % 7 == 0 {
                let len = (rng(x) % (MAX_SLOTS as u64 + 1)) as usize;
                inputs.resize(len, PlayerInput::IDLE);
            }
            for inp in inputs.iter_mut() {
                if rng(x) % 4 == 0 {
                    *inp = random_input(x);
                }
            }
            let commands = if r % 11 == 0 {
                vec![
                    Command::Join {
                        slot: 3,
                        name: "bot3".into(),
                    },
                    Command::Leave { slot: 63 },
                ]
            } else {
                Vec::new()
            };
            ConfirmedFrame {
                frame: Frame {
                    tick: 1000 + i as u64,
                    inputs: inputs.clone(),
                    commands,
                },
                checksum: rng(x) as u32,
            }
        })
        .collect()
}

#[test]
fn frames_round_trip_random() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for n in 0..40 {
        let frames = random_frames(&mut x, n);
        for (ack, late, lead) in [(0, 0, 0), (u64::MAX, u32::MAX, i32::MIN), (1003, 5, -3)] {
            let bytes = encode_frames(1000, &frames, ack, late, lead);
            let got = decode_frames(&bytes).expect("decodes");
            let want = FramesFields {
                first_tick: 1000,
                frames: frames.clone(),
                input_ack: ack,
                late_inputs: late,
                lead_hint: lead,
            };
            assert_eq!(got, want);
        }
    }
    let bytes = encode_frames(u64::MAX, &[], 0, 0, i32::MAX);
    let got = decode_frames(&bytes).expect("decodes");
    assert_eq!((got.first_tick, got.frames.len()), (u64::MAX, 0));
    assert_eq!(
        (got.input_ack, got.late_inputs, got.lead_hint),
        (0, 0, i32::MAX)
    );
}

#[test]
fn inputs_round_trip_random() {
    let mut x = 0x1234_5678_9abc_def1u64;
    for n in [0usize, 1, 2, 8, 63, 64, 65, 129, MAX_INPUTS_PER_MESSAGE] {
        let mut cur = PlayerInput::IDLE;
        let inputs: Vec<PlayerInput> = (0..n)
            .map(|_| {
                if rng(&mut x) % 5 == 0 {
                    cur = random_input(&mut x);
                }
                cur
            })
            .collect();
        for (ack, first) in [(0, 1), (u64::MAX, 3), (500, 480)] {
            let bytes = encode_inputs(ack, first, &inputs);
            let got = decode_inputs(&bytes).expect("decodes");
            assert_eq!((got.ack_tick, got.first_tick), (ack, first));
            assert_eq!(got.inputs, inputs);
        }
    }
    // Repeats cost a byte per 64.
    let same = vec![PlayerInput::from_bytes([1, 2, 3, 4, 5, 6]); 200];
    assert_eq!(encode_inputs(10, 11, &same).len(), 1 + 1 + 2 + 7 + 4);
}

#[test]
fn hostile_payloads_never_panic() {
    let mut x = 0xdead_beef_cafe_f00du64;
    let mut samples = Vec::new();
    for n in [1usize, 3, 8] {
        samples.push((true, encode_frames(77, &random_frames(&mut x, n), 80, 1, 2)));
        let inputs: Vec<_> = (0..n * 3).map(|_| random_input(&mut x)).collect();
        samples.push((false, encode_inputs(5, 6, &inputs)));
    }
    let decode = |frames: bool, b: &[u8]| {
        if frames {
            let _ = decode_frames(b);
        } else {
            let _ = decode_inputs(b);
        }
    };
    for (frames, bytes) in &samples {
        for cut in 0..bytes.len() {
            decode(*frames, &bytes[..cut]);
        }
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                decode(*frames, &b);
            }
            for v in [0u8, 0x7f, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] = v;
                decode(*frames, &b);
            }
        }
    }
    for _ in 0..20_000 {
        let n = (rng(&mut x) % 48) as usize;
        let b: Vec<u8> = (0..n).map(|_| rng(&mut x) as u8).collect();
        decode(true, &b);
        decode(false, &b);
    }
    // Lies about counts are refused before allocating.
    assert!(decode_frames(&[1, 0, 0, 0, 0x80, 0x01]).is_err());
    assert!(decode_inputs(&[1, 0, 0xff, 0xff, 0x03]).is_err());
    // Overlong and non-canonical varints.
    assert!(decode_inputs(&[0xff; 11]).is_err());
    assert!(decode_inputs(&[0x80, 0x00, 0, 0]).is_err());
}

#[test]
fn decoded_frames_are_canonical() {
    // Whatever decodes re-encodes to the same bytes: no hidden alternative forms.
    let mut x = 0x5555_aaaa_3333_ccccu64;
    let base = encode_frames(40, &random_frames(&mut x, 6), 41, 0, 1);
    for i in 0..base.len() {
        for bit in 0..8 {
            let mut b = base.clone();
            b[i] ^= 1 << bit;
            if let Ok(d) = decode_frames(&b) {
                // Command bodies are bincode (varints with their own forms); skip those.
                if d.frames.iter().all(|cf| cf.frame.commands.is_empty()) {
                    let again = encode_frames(
                        d.first_tick,
                        &d.frames,
                        d.input_ack,
                        d.late_inputs,
                        d.lead_hint,
                    );
                    assert_eq!(again, b);
                }
            }
        }
    }
}

#[test]
fn inputs_wire_bytes_are_pinned() {
    // Hand-derived from the format above: a change to PlayerInput's byte form or to the
    // field order shows up here as a protocol change.
    let a = PlayerInput {
        move_x: -1,
        aim_y: 3,
        buttons: 1,
        slot: 2,
        ..PlayerInput::IDLE
    };
    let bytes = encode_inputs(5, 6, &[a, a, a, PlayerInput::IDLE]);
    assert_eq!(
        bytes,
        [5, 2, 4, 0x39, 0xff, 3, 1, 2, 0x41, 0x39, 0, 0, 0, 0],
        "{bytes:02x?}"
    );
    let got = decode_inputs(&bytes).unwrap();
    assert_eq!((got.ack_tick, got.first_tick), (5, 6));
    assert_eq!(got.inputs, [a, a, a, PlayerInput::IDLE]);
}

#[test]
fn fuzz_corpus_messages_re_encode_to_their_bytes() {
    // The corpus was written by the codec before PlayerInput's byte form moved to
    // venture-sim: the same bytes out proves the messages' wire format did not change.
    // (Its header is protocol 5's: the magic "VN" and version 5. Protocols 6 and 7
    // changed only what lies beneath and the header, which protocol 7 cut to the
    // version alone, so the header is brought up to date first.)
    use crate::protocol::{decode, encode, PROTOCOL_VERSION};
    for corpus in [
        &include_bytes!("../../../../fuzz/corpus/protocol_decode/inputs")[..],
        &include_bytes!("../../../../fuzz/corpus/protocol_decode/frames")[..],
    ] {
        let mut bytes = corpus[2..].to_vec();
        bytes[..2].copy_from_slice(&PROTOCOL_VERSION.to_le_bytes());
        let msg = decode(&bytes).unwrap();
        assert_eq!(encode(&msg).unwrap(), bytes, "{msg:?}");
    }
}
