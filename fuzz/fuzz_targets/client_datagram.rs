//! One `ClientSession` fed what a hostile (or spoofed) server could send: raw bytes, and
//! crafted messages — Challenge, Welcome with arbitrary fields, the real snapshot's chunks
//! in any order mixed with forged chunks, confirmed frames (correct ones from a shadow
//! authoritative world, or wrong ticks/checksums), Pong, Reject, ShuttingDown — with a
//! virtual clock and `poll` between. Checks: no panic, outgoing datagrams within
//! MAX_DATAGRAM.
#![no_main]

use std::net::SocketAddr;
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use venture_net::chunk;
use venture_net::client::{ClientConfig, ClientSession};
use venture_net::protocol::{encode, ConfirmedFrame, Message, RejectReason, MAX_DATAGRAM};
use venture_sim::{Frame, PlayerInput, SimConfig, World, SIM_VERSION};

const MAX_OPS: usize = 256;

#[derive(Arbitrary, Debug)]
enum Op {
    Raw(Vec<u8>),
    Challenge([u8; 16]),
    Welcome {
        slot: u8,
        tick_rate: u32,
        start_tick_delta: i8,
        snapshot: bool,
    },
    RealChunk {
        pick: u16,
    },
    ForgedChunk {
        snapshot_id: u8,
        tick: u8,
        index: u16,
        count: u16,
        len: u16,
        fill: u8,
    },
    /// Step the shadow server `n` ticks and send the frames (window of up to 8).
    ServerStep {
        n: u8,
        wrong_checksum: bool,
        skip: u8,
        lead_hint: i32,
        input_ack: u64,
    },
    Frames {
        first_tick: u64,
        n: u8,
        checksum: u32,
        lead_hint: i32,
    },
    Pong(u64),
    Reject,
    ShuttingDown,
    Advance {
        ms: u16,
    },
}

fuzz_target!(|ops: Vec<Op>| {
    let config = SimConfig {
        width: 24,
        height: 24,
        ..Default::default()
    };
    let mut shadow = World::new(&config).expect("small world");
    let snap = shadow.snapshot();
    let parts = chunk::split(&snap).expect("chunks");
    let count = parts.len() as u16;
    let mut history: Vec<ConfirmedFrame> = Vec::new();
    let server: SocketAddr = "127.0.0.1:4000".parse().unwrap();
    let mut client = ClientSession::new(ClientConfig::new("fuzz"), server, Duration::ZERO);
    let mut now = Duration::ZERO;
    let start_tick = shadow.tick();
    for op in ops.into_iter().take(MAX_OPS) {
        let msg = match op {
            Op::Advance { ms } => {
                now += Duration::from_millis(u64::from(ms % 3000));
                client.poll(now, &mut |_, _| PlayerInput::IDLE);
                None
            }
            Op::Raw(bytes) => {
                client.on_datagram(&bytes, now);
                None
            }
            Op::Challenge(cookie) => Some(Message::Challenge { cookie }),
            Op::Welcome {
                slot,
                tick_rate,
                start_tick_delta,
                snapshot,
            } => Some(Message::Welcome {
                slot: slot % 8,
                tick_rate: 1 + tick_rate % 1000,
                seed: config.seed,
                genre: "fantasy".into(),
                sim_version: SIM_VERSION,
                start_tick: start_tick
                    .saturating_add_signed(i64::from(start_tick_delta))
                    .max(1),
                world_checksum: 0,
                snapshot_id: snapshot.then_some(1),
            }),
            Op::RealChunk { pick } => {
                let i = usize::from(pick) % parts.len();
                Some(Message::SnapshotChunk {
                    snapshot_id: 1,
                    tick: start_tick,
                    index: i as u16,
                    count,
                    bytes: parts[i].to_vec(),
                })
            }
            Op::ForgedChunk {
                snapshot_id,
                tick,
                index,
                count: c,
                len,
                fill,
            } => Some(Message::SnapshotChunk {
                snapshot_id: u32::from(snapshot_id % 4),
                tick: u64::from(tick % 4),
                index,
                count: c,
                bytes: vec![fill; usize::from(len) % (chunk::CHUNK_SIZE + 2)],
            }),
            Op::ServerStep {
                n,
                wrong_checksum,
                skip,
                lead_hint,
                input_ack,
            } => {
                for _ in 0..(n % 8) {
                    let mut f = Frame::new(shadow.tick() + 1);
                    f.inputs = vec![PlayerInput {
                        move_x: 50,
                        ..PlayerInput::IDLE
                    }];
                    shadow.step(&f).expect("shadow steps");
                    let mut checksum = shadow.checksum();
                    if wrong_checksum {
                        checksum ^= 1;
                    }
                    history.push(ConfirmedFrame { frame: f, checksum });
                }
                let skip = usize::from(skip % 4).min(history.len());
                let end = history.len() - skip;
                let begin = end.saturating_sub(8);
                if begin == end {
                    None
                } else {
                    Some(Message::Frames {
                        first_tick: history[begin].frame.tick,
                        frames: history[begin..end].to_vec(),
                        input_ack,
                        late_inputs: 0,
                        lead_hint,
                    })
                }
            }
            Op::Frames {
                first_tick,
                n,
                checksum,
                lead_hint,
            } => {
                let first = first_tick.max(1);
                let frames: Vec<ConfirmedFrame> = (0..u64::from(n % 16))
                    .map_while(|i| first.checked_add(i))
                    .map(|t| ConfirmedFrame {
                        frame: Frame::new(t),
                        checksum,
                    })
                    .collect();
                Some(Message::Frames {
                    first_tick: first,
                    frames,
                    input_ack: first,
                    late_inputs: 0,
                    lead_hint,
                })
            }
            Op::Pong(nonce) => Some(Message::Pong { nonce }),
            Op::Reject => Some(Message::Reject {
                reason: RejectReason::Full,
            }),
            Op::ShuttingDown => Some(Message::ShuttingDown),
        };
        if let Some(m) = msg {
            if let Ok(bytes) = encode(&m) {
                client.on_datagram(&bytes, now);
            }
        }
        for out in client.drain_outgoing() {
            assert!(out.len() <= MAX_DATAGRAM, "client sent {} bytes", out.len());
        }
        let _ = client.drain_events();
    }
});
