//! The secure layer's handshake under attack: one `Responder` (the server) and one real
//! `Initiator` (the client at `CLIENT`), whose genuine datagrams travel only when the
//! fuzzer delivers them (in any order, repeatedly, or altered), interleaved with arbitrary
//! datagrams to the responder from 8 addresses (the client's among them) and to the
//! initiator, and with the virtual clock moving.
//!
//! Checks: no panic; no reply to an address without a session is larger than the
//! datagram it answers (no amplification); `peer_count` never exceeds `max_peers`; only
//! the client's address ever gets a session, and only through the real handshake; every
//! plaintext the responder delivers (data or early data) is one the real client sealed,
//! and every plaintext the initiator delivers is one the real server sealed.
#![no_main]

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use venture_net::secure::initiator::{Initiator, Trust};
use venture_net::secure::responder::{Incoming, Responder};
use venture_net::secure::wire::{self, MAX_WIRE_DATAGRAM};
use venture_net::secure::StaticKeypair;

const ADDRS: u8 = 8;
const MAX_OPS: usize = 256;
/// Datagrams kept per direction as material for deliveries and replays.
const MAX_POOL: usize = 256;

#[derive(Arbitrary, Debug)]
enum Alter {
    Flip { at: u16, xor: u8 },
    Truncate { len: u16 },
    Extend { bytes: Vec<u8> },
    /// Overwrite bytes at an offset (a rewritten counter, cookie or key).
    Splice { at: u16, bytes: Vec<u8> },
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// laminar hands the client a datagram to send (a fresh, unique plaintext).
    ClientSend { len: u8 },
    /// The server seals a fresh plaintext to the client (nothing without a session).
    ServerSend { len: u8 },
    /// A datagram the client sent reaches the server (again, if already delivered).
    ToServer { pick: u16, alter: Option<Alter> },
    /// A datagram the server sent reaches the client.
    ToClient { pick: u16, alter: Option<Alter> },
    /// Arbitrary bytes to the server from one of 8 addresses (0 is the client's).
    RawToServer { from: u8, bytes: Vec<u8> },
    /// Arbitrary bytes to the client (as from the server).
    RawToClient { bytes: Vec<u8> },
    /// Every datagram not yet delivered arrives once, in order, both ways (the network
    /// working: a few of these complete the real handshake).
    Exchange,
    /// Milliseconds of virtual time; the client's retries and the server's expiry run.
    Advance { ms: u16 },
}

#[derive(Arbitrary, Debug)]
struct Script {
    max_peers: u8,
    pinned: bool,
    ops: Vec<Op>,
}

fn addr(i: u8) -> SocketAddr {
    let i = i % ADDRS;
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i)), 40_000 + u16::from(i))
}

fn alter(mut d: Vec<u8>, how: &Alter) -> Vec<u8> {
    match how {
        Alter::Flip { at, xor } => {
            if !d.is_empty() {
                let i = usize::from(*at) % d.len();
                d[i] ^= *xor;
            }
        }
        Alter::Truncate { len } => d.truncate(usize::from(*len)),
        Alter::Extend { bytes } => d.extend_from_slice(bytes),
        Alter::Splice { at, bytes } => {
            let start = usize::from(*at).min(d.len());
            for (k, b) in bytes.iter().enumerate() {
                match d.get_mut(start + k) {
                    Some(x) => *x = *b,
                    None => d.push(*b),
                }
            }
        }
    }
    d.truncate(2 * MAX_WIRE_DATAGRAM);
    d
}

fn push(pool: &mut Vec<Vec<u8>>, d: Vec<u8>) {
    if pool.len() >= MAX_POOL {
        pool.remove(0);
    }
    pool.push(d);
}

/// A datagram sent: kept for replays and queued for the next `Exchange`.
fn sent(pool: &mut Vec<Vec<u8>>, pending: &mut Vec<Vec<u8>>, d: Vec<u8>) {
    if pending.len() < MAX_POOL {
        pending.push(d.clone());
    }
    push(pool, d);
}

struct World {
    server: Responder,
    client: Initiator,
    max_peers: usize,
    now: Duration,
    to_server: Vec<Vec<u8>>,
    to_client: Vec<Vec<u8>>,
    pending_to_server: Vec<Vec<u8>>,
    pending_to_client: Vec<Vec<u8>>,
    client_sealed: BTreeSet<Vec<u8>>,
    server_sealed: BTreeSet<Vec<u8>>,
    next: u64,
}

impl World {
    fn fresh(&mut self, tag: u8, len: u8) -> Vec<u8> {
        // Unique by construction: tag, sequence number, filler.
        self.next += 1;
        let mut p = vec![tag];
        p.extend_from_slice(&self.next.to_le_bytes());
        p.resize(9 + usize::from(len), tag);
        p
    }

    fn server_receives(&mut self, from: SocketAddr, d: &[u8]) {
        let had_session = self.server.has_peer(from);
        let mut out = vec![0u8; MAX_WIRE_DATAGRAM];
        let client = addr(0);
        match self.server.on_datagram(from, d, self.now, &mut out) {
            Incoming::Deliver(n) => {
                assert_eq!(from, client, "a session for {from}");
                assert!(
                    self.client_sealed.contains(&out[..n]),
                    "delivered bytes the client never sealed"
                );
            }
            Incoming::Reply(r) => {
                assert!(
                    had_session || r.len() <= d.len(),
                    "amplification: {} bytes answer {} to {from}",
                    r.len(),
                    d.len()
                );
                if from == client {
                    sent(&mut self.to_client, &mut self.pending_to_client, r);
                }
            }
            Incoming::Accepted { reply, early } => {
                assert_eq!(from, client, "a handshake completed for {from}");
                assert!(reply.len() <= d.len(), "amplification by an Accept");
                if let Some(datagrams) = wire::split_early(&out[..early]) {
                    for e in datagrams {
                        assert!(
                            self.client_sealed.contains(e),
                            "early data the client never sent"
                        );
                    }
                }
                sent(&mut self.to_client, &mut self.pending_to_client, reply);
            }
            Incoming::Drop(_) => {}
        }
        assert!(self.server.peer_count() <= self.max_peers);
    }

    fn client_receives(&mut self, d: &[u8]) {
        let mut out = vec![0u8; MAX_WIRE_DATAGRAM];
        let mut replies = Vec::new();
        if let Some(n) = self.client.on_datagram(d, self.now, &mut out, &mut replies) {
            assert!(
                self.server_sealed.contains(&out[..n]),
                "the client delivered bytes the server never sealed"
            );
        }
        for p in self.client.take_overtaken() {
            assert!(self.server_sealed.contains(&p), "overtaken data not sealed by the server");
        }
        for r in replies {
            sent(&mut self.to_server, &mut self.pending_to_server, r);
        }
    }
}

fuzz_target!(|script: Script| {
    let key = StaticKeypair::from_private([7; 32]);
    let max_peers = usize::from(script.max_peers % 4) + 1;
    let trust = if script.pinned {
        Trust::Pinned(*key.public())
    } else {
        Trust::FirstUse
    };
    let mut w = World {
        server: Responder::new(key, [9; 16], max_peers),
        client: Initiator::new(trust),
        max_peers,
        now: Duration::from_secs(1),
        to_server: Vec::new(),
        to_client: Vec::new(),
        pending_to_server: Vec::new(),
        pending_to_client: Vec::new(),
        client_sealed: BTreeSet::new(),
        server_sealed: BTreeSet::new(),
        next: 0,
    };
    let client = addr(0);
    for op in script.ops.into_iter().take(MAX_OPS) {
        match op {
            Op::ClientSend { len } => {
                let p = w.fresh(b'c', len);
                w.client_sealed.insert(p.clone());
                for d in w.client.send(&p, w.now) {
                    sent(&mut w.to_server, &mut w.pending_to_server, d);
                }
            }
            Op::ServerSend { len } => {
                let p = w.fresh(b's', len);
                if let Some(d) = w.server.seal(client, &p) {
                    w.server_sealed.insert(p);
                    sent(&mut w.to_client, &mut w.pending_to_client, d);
                }
            }
            Op::ToServer { pick, alter: how } => {
                if w.to_server.is_empty() {
                    continue;
                }
                let d = w.to_server[usize::from(pick) % w.to_server.len()].clone();
                let d = match how {
                    Some(how) => alter(d, &how),
                    None => d,
                };
                w.server_receives(client, &d);
            }
            Op::ToClient { pick, alter: how } => {
                if w.to_client.is_empty() {
                    continue;
                }
                let d = w.to_client[usize::from(pick) % w.to_client.len()].clone();
                let d = match how {
                    Some(how) => alter(d, &how),
                    None => d,
                };
                w.client_receives(&d);
            }
            Op::RawToServer { from, bytes } => w.server_receives(addr(from), &bytes),
            Op::RawToClient { bytes } => w.client_receives(&bytes),
            Op::Exchange => {
                for d in std::mem::take(&mut w.pending_to_server) {
                    w.server_receives(client, &d);
                }
                for d in std::mem::take(&mut w.pending_to_client) {
                    w.client_receives(&d);
                }
            }
            Op::Advance { ms } => {
                w.now += Duration::from_millis(u64::from(ms));
                for d in w.client.handshake_due(w.now) {
                    sent(&mut w.to_server, &mut w.pending_to_server, d);
                }
                w.server.expire(w.now);
            }
        }
    }
});
