//! Writes the seed corpora under `fuzz/corpus/<target>/` (valid encodings; the garbage
//! seeds are committed by hand). Run from `fuzz/`: `cargo run --example gen_corpus`.
//! Structured targets (`server_datagram`, `chunk_reassembly`, `determinism`) take
//! `arbitrary` input, so any bytes are valid seeds: they get a few random-looking files.

use std::fs;
use std::path::Path;

use venture_net::chunk::ChunkAck;
use venture_net::protocol::{encode, ConfirmedFrame, Message, RejectReason, SnapshotReason};
use venture_replay::{record_scripted, ScriptedSession, SessionHeader, SessionWriter};
use venture_sim::script::scripted_frame;
use venture_sim::{Genre, PlayerInput, SimConfig, World, SIM_VERSION};

fn put(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
}

fn small(seed: u64, genre: Genre) -> SimConfig {
    SimConfig {
        seed,
        genre,
        width: 24,
        height: 24,
        ..Default::default()
    }
}

fn main() {
    // protocol_decode: one of every message.
    let frames: Vec<ConfirmedFrame> = (5..8)
        .map(|t| ConfirmedFrame {
            frame: scripted_frame(1, t, 2),
            checksum: t as u32,
        })
        .collect();
    let msgs = [
        ("hello", Message::hello(SIM_VERSION)),
        (
            "join",
            Message::Join {
                cookie: [3; 16],
                name: "alice".into(),
                character_secret: [9; 16],
            },
        ),
        ("spectate", Message::Spectate { cookie: [3; 16] }),
        (
            "inputs",
            Message::Inputs {
                ack_tick: 4,
                first_tick: 5,
                inputs: vec![PlayerInput::IDLE, scripted_frame(2, 6, 1).inputs[0]],
            },
        ),
        (
            "snapshot_request_desync",
            Message::SnapshotRequest {
                reason: SnapshotReason::Desync {
                    tick: 7,
                    client_checksum: 1,
                    server_checksum: 2,
                },
            },
        ),
        (
            "chunk_ack",
            Message::snapshot_chunk_ack(
                3,
                ChunkAck {
                    contiguous: 2,
                    mask: 0b101,
                },
            ),
        ),
        ("leave", Message::Leave),
        ("ping", Message::Ping { nonce: 42 }),
        (
            "chat",
            Message::Chat {
                seq: 1,
                text: "hello \u{1b}[2J".into(),
            },
        ),
        ("challenge", Message::Challenge { cookie: [1; 16] }),
        (
            "welcome",
            Message::Welcome {
                slot: 1,
                tick_rate: 20,
                seed: 12345,
                genre: "fantasy".into(),
                sim_version: SIM_VERSION,
                start_tick: 10,
                world_checksum: 77,
                snapshot_id: Some(1),
            },
        ),
        (
            "reject",
            Message::Reject {
                reason: RejectReason::Full,
            },
        ),
        (
            "frames",
            Message::Frames {
                first_tick: 5,
                frames,
                input_ack: 4,
                late_inputs: 1,
                lead_hint: -2,
            },
        ),
        (
            "chunk",
            Message::snapshot_chunk(2, 9, &[7u8; 1500], 1).unwrap(),
        ),
        ("pong", Message::Pong { nonce: 42 }),
        ("shutting_down", Message::ShuttingDown),
    ];
    for (name, m) in &msgs {
        put("protocol_decode", name, &encode(m).unwrap());
    }
    put(
        "protocol_decode",
        "garbage",
        b"\x07\x00\xff\xff\xff\xff\x0f",
    );
    put("protocol_decode", "bad_version", b"\x63\x00\x00");

    // snapshot_restore: small worlds of every genre, one stepped with players in it.
    for (i, g) in Genre::ALL.iter().enumerate() {
        let w = World::new(&small(i as u64 + 1, *g)).unwrap();
        put("snapshot_restore", &format!("fresh_{i}"), &w.snapshot());
    }
    let mut w = World::new(&small(12345, Genre::Fantasy)).unwrap();
    for t in 1..=30 {
        w.step(&scripted_frame(5, t, 3)).unwrap();
    }
    put("snapshot_restore", "played", &w.snapshot());
    let mut cut = w.snapshot();
    cut.truncate(cut.len() / 2);
    put("snapshot_restore", "truncated", &cut);

    // replay_read: scripted sessions, with and without keyframes, and a torn one.
    for (name, ticks, every) in [("plain", 20, 0), ("keyframes", 30, 10)] {
        let log = record_scripted(
            Vec::new(),
            &ScriptedSession {
                config: small(7, Genre::Scifi),
                ticks,
                players: 2,
                script_seed: 3,
                snapshot_every: every,
            },
        )
        .unwrap();
        if name == "plain" {
            put("replay_read", "torn", &log[..log.len() - 5]);
        }
        put("replay_read", name, &log);
    }
    put(
        "replay_read",
        "garbage",
        b"VRPL\x01\x00\x01\x00\x00\x00\xff\xff\xff\xff",
    );
    // Format 2's segment records: a clean stop and its resume, a crash's resume, a gap
    // bridged by a keyframe, and a final stop; plus a format-1 label over them (corrupt
    // at the first format-2 record) and over a plain log (read as it is).
    let config = small(9, Genre::Fantasy);
    let mut world = World::new(&config).unwrap();
    let mut log = SessionWriter::new(Vec::new(), &SessionHeader::new(config, "corpus")).unwrap();
    let play = |log: &mut SessionWriter<Vec<u8>>, world: &mut World, from: u64, to: u64| {
        for t in from..=to {
            let frame = scripted_frame(4, t, 2);
            world.step(&frame).unwrap();
            log.append_frame(&frame, world.checksum()).unwrap();
        }
    };
    play(&mut log, &mut world, 1, 5);
    log.append_stop("SIGTERM").unwrap();
    log.append_resume("after a clean stop").unwrap();
    play(&mut log, &mut world, 6, 9);
    log.append_resume("after a crash").unwrap();
    play(&mut log, &mut world, 10, 12);
    for t in 13..=15 {
        world.step(&scripted_frame(4, t, 2)).unwrap();
    }
    log.append_gap(15, &world.snapshot()).unwrap();
    play(&mut log, &mut world, 16, 18);
    log.append_stop("SIGINT").unwrap();
    log.flush().unwrap();
    let segments = log.get_ref().clone();
    put("replay_read", "segments", &segments);
    let mut v1 = segments.clone();
    v1[4..6].copy_from_slice(&1u16.to_le_bytes());
    put("replay_read", "format1_with_v2_records", &v1);
    let mut plain = fs::read("corpus/replay_read/plain").unwrap();
    plain[4..6].copy_from_slice(&1u16.to_le_bytes());
    put("replay_read", "format1", &plain);

    // Structured targets: arbitrary bytes are valid inputs.
    for (t, n) in [
        ("server_datagram", 4),
        ("chunk_reassembly", 4),
        ("determinism", 4),
    ] {
        for k in 0..n {
            let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ (k as u64 * 7919) ^ t.len() as u64;
            let bytes: Vec<u8> = (0..256 * (k + 1))
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            put(t, &format!("random_{k}"), &bytes);
        }
    }
}
