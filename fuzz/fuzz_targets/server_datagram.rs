//! One `ServerSession` fed a sequence of datagrams from 8 source addresses, with a
//! virtual clock and `poll` between them. Raw bytes exercise the decoder; structured
//! operations (Hello, Join echoing the cookie that address was challenged with, Inputs,
//! chunk acks, snapshot requests, pings, leaves) reach admission and the client paths.
//!
//! Checks: no panic; an address that was never admitted never receives more bytes than it
//! sent (no amplification); the player table stays within `max_players` and spectators within `max_spectators`; ticks advance.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use venture_net::protocol::{decode, encode, Message, SnapshotReason};
use venture_net::server::{SessionConfig, ServerEvent, ServerSession};
use venture_sim::{PlayerInput, SimConfig, World, SIM_VERSION};

const ADDRS: usize = 8;
const MAX_OPS: usize = 512;

#[derive(Arbitrary, Debug)]
enum Op {
    Raw {
        from: u8,
        bytes: Vec<u8>,
    },
    Hello {
        from: u8,
        sim_version_ok: bool,
        pad: u16,
    },
    JoinEcho {
        from: u8,
        name: u8,
        corrupt: bool,
    },
    /// `Spectate` with the cookie this address was given (protocol 5).
    SpectateEcho {
        from: u8,
        corrupt: bool,
    },
    Inputs {
        from: u8,
        ack_tick: u64,
        first_tick: u64,
        n: u8,
        input: [u8; 6],
    },
    ChunkAck {
        from: u8,
        snapshot_id: u32,
        contiguous: u16,
        mask: u64,
    },
    SnapshotRequest {
        from: u8,
        desync: Option<(u64, u32, u32)>,
    },
    Ping {
        from: u8,
        nonce: u64,
    },
    Leave {
        from: u8,
    },
    /// Milliseconds of virtual time, then `poll`.
    Advance {
        ms: u16,
    },
}

#[derive(Arbitrary, Debug)]
struct Script {
    max_players: u8,
    ops: Vec<Op>,
}

fn addr(i: u8) -> SocketAddr {
    let i = i as usize % ADDRS;
    SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i as u8)),
        40_000 + i as u16,
    )
}

fn enc(m: &Message) -> Vec<u8> {
    encode(m).expect("fuzzer-built message encodes")
}

fuzz_target!(|script: Script| {
    let world = World::new(&SimConfig {
        width: 24,
        height: 24,
        ..Default::default()
    })
    .expect("small world");
    let config = SessionConfig {
        max_players: script.max_players % 5,
        max_spectators: u16::from(script.max_players % 3),
        ..SessionConfig::default()
    };
    let limit = config.max_players.max(1) as usize;
    let mut server = ServerSession::new(world, config, [7; 16], Duration::ZERO);
    let mut now = Duration::ZERO;
    let mut sent = [0u64; ADDRS];
    let mut received = [0u64; ADDRS];
    let mut admitted: BTreeSet<SocketAddr> = BTreeSet::new();
    let mut cookies: BTreeMap<SocketAddr, [u8; 16]> = BTreeMap::new();
    let index: BTreeMap<SocketAddr, usize> =
        (0..ADDRS as u8).map(|i| (addr(i), i as usize)).collect();

    for op in script.ops.into_iter().take(MAX_OPS) {
        let (from, bytes) = match op {
            Op::Advance { ms } => {
                now += Duration::from_millis(u64::from(ms % 2000));
                server.poll(now);
                (None, Vec::new())
            }
            Op::Raw { from, bytes } => (Some(from), bytes),
            Op::Hello {
                from,
                sim_version_ok,
                pad,
            } => {
                let mut m = Message::hello(if sim_version_ok {
                    SIM_VERSION
                } else {
                    SIM_VERSION + 1
                });
                if let Message::Hello { padding, .. } = &mut m {
                    // Sometimes too short (must be refused), sometimes longer.
                    let len = usize::from(pad % 1024);
                    if pad & 0x8000 != 0 {
                        padding.resize(len, 0);
                    }
                }
                (Some(from), enc(&m))
            }
            Op::JoinEcho {
                from,
                name,
                corrupt,
            } => {
                let a = addr(from);
                let mut cookie = cookies.get(&a).copied().unwrap_or([0; 16]);
                if corrupt {
                    cookie[0] ^= 1;
                }
                let names = ["alice", "bob", "carol", "dave", "eve", "bad name ", ""];
                let m = Message::Join {
                    cookie,
                    name: names[name as usize % names.len()].to_string(),
                    character_secret: [name; 16],
                };
                (Some(from), enc(&m))
            }
            Op::SpectateEcho { from, corrupt } => {
                let a = addr(from);
                let mut cookie = cookies.get(&a).copied().unwrap_or([0; 16]);
                if corrupt {
                    cookie[0] ^= 1;
                }
                (Some(from), enc(&Message::Spectate { cookie }))
            }
            Op::Inputs {
                from,
                ack_tick,
                first_tick,
                n,
                input: b,
            } => {
                // Mostly near the present, sometimes far ahead, sometimes anywhere.
                let first = match first_tick % 4 {
                    0 | 1 => server.world().tick().saturating_add(first_tick % 64).max(1),
                    2 => (1u64 << 63) + (first_tick >> 2) % 2,
                    _ => first_tick,
                };
                let ack = if ack_tick & 1 == 0 {
                    server.world().tick().saturating_sub(ack_tick % 8)
                } else {
                    ack_tick
                };
                let m = Message::Inputs {
                    ack_tick: ack,
                    first_tick: first,
                    inputs: vec![PlayerInput::from_bytes(b); usize::from(n % 40)],
                };
                (Some(from), enc(&m))
            }
            Op::ChunkAck {
                from,
                snapshot_id,
                contiguous,
                mask,
            } => (
                Some(from),
                enc(&Message::SnapshotChunkAck {
                    snapshot_id: snapshot_id % 8,
                    contiguous,
                    mask,
                }),
            ),
            Op::SnapshotRequest { from, desync } => {
                let reason = match desync {
                    None => SnapshotReason::Join,
                    Some((tick, client_checksum, server_checksum)) => SnapshotReason::Desync {
                        tick,
                        client_checksum,
                        server_checksum,
                    },
                };
                (Some(from), enc(&Message::SnapshotRequest { reason }))
            }
            Op::Ping { from, nonce } => (Some(from), enc(&Message::Ping { nonce })),
            Op::Leave { from } => (Some(from), enc(&Message::Leave)),
        };
        if let Some(from) = from {
            let a = addr(from);
            sent[index[&a]] += bytes.len() as u64;
            server.on_datagram(a, &bytes, now);
        }
        for ev in server.drain_events() {
            // Players and spectators alike are admitted by echoing a valid cookie; from
            // then on they may receive more than they sent (the snapshot, the frames).
            match ev {
                ServerEvent::PlayerConnected { addr, .. }
                | ServerEvent::SpectatorConnected { addr, .. } => {
                    admitted.insert(addr.addr);
                }
                _ => {}
            }
        }
        for (to, bytes) in server.drain_outgoing() {
            let i = *index
                .get(&to.addr)
                .expect("server only answers addresses that wrote to it");
            received[i] += bytes.len() as u64;
            if let Ok(Message::Challenge { cookie }) = decode(&bytes) {
                cookies.insert(to.addr, cookie);
            }
        }
        assert!(server.player_count() <= limit);
        assert!(server.spectator_count() <= usize::from(script.max_players % 3));
        for i in 0..ADDRS as u8 {
            let a = addr(i);
            let k = index[&a];
            if !admitted.contains(&a) {
                assert!(
                    received[k] <= sent[k],
                    "unadmitted {a} received {} bytes after sending {}",
                    received[k],
                    sent[k]
                );
            }
        }
    }
});
