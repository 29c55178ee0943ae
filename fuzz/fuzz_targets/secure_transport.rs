//! The secure layer's sealed datagrams under attack: a `Responder` and an `Initiator`
//! complete a real handshake, then both sides seal fresh, unique plaintexts, and the
//! fuzzer decides which of the sealed datagrams (or the handshake's, or the client's
//! rehandshakes') arrive, how often, in what order, and altered how (flipped bits,
//! truncation, extension, rewritten nonce counters, bytes spliced from another
//! datagram), interleaved with arbitrary bytes and the clock moving (replay windows
//! slide, the client may shake hands again, the server may expire the session).
//!
//! Checks: no panic; every plaintext either side delivers is one the other side actually
//! sealed, and each is delivered at most once.
#![no_main]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use venture_net::secure::initiator::{Initiator, Trust};
use venture_net::secure::responder::{Incoming, Responder};
use venture_net::secure::wire::{self, MAX_WIRE_DATAGRAM};
use venture_net::secure::StaticKeypair;

const MAX_OPS: usize = 512;
const MAX_POOL: usize = 256;
/// Most datagrams one `Flush` delivers (keeps each run fast).
const MAX_FLUSH: usize = 32;

#[derive(Arbitrary, Debug)]
enum Alter {
    Flip { at: u16, xor: u8 },
    Truncate { len: u16 },
    Extend { bytes: Vec<u8> },
    /// A `Data` datagram's nonce counter rewritten.
    Counter { counter: u64 },
    /// The tail (from `at`) replaced by another pooled datagram's tail.
    Graft { at: u16, other: u16 },
}

#[derive(Arbitrary, Debug)]
enum Op {
    ClientSend { len: u8, copies: u8 },
    ServerSend { len: u8, copies: u8 },
    ToServer { pick: u16, alter: Option<Alter> },
    ToClient { pick: u16, alter: Option<Alter> },
    /// Delivers pooled datagrams of one direction from `from` on, in order (at most
    /// `MAX_FLUSH`).
    Flush { to_server: bool, from: u16 },
    RawToServer { bytes: Vec<u8> },
    RawToClient { bytes: Vec<u8> },
    Advance { ms: u16 },
}

#[derive(Arbitrary, Debug)]
struct Script {
    ops: Vec<Op>,
}

fn alter(pool: &[Vec<u8>], mut d: Vec<u8>, how: &Alter) -> Vec<u8> {
    match how {
        Alter::Flip { at, xor } => {
            if !d.is_empty() {
                let i = usize::from(*at) % d.len();
                d[i] ^= *xor;
            }
        }
        Alter::Truncate { len } => d.truncate(usize::from(*len)),
        Alter::Extend { bytes } => d.extend_from_slice(bytes),
        Alter::Counter { counter } => {
            if d.len() >= 9 {
                d[1..9].copy_from_slice(&counter.to_le_bytes());
            }
        }
        Alter::Graft { at, other } => {
            if !pool.is_empty() {
                let o = &pool[usize::from(*other) % pool.len()];
                let cut = usize::from(*at).min(d.len()).min(o.len());
                d.truncate(cut);
                d.extend_from_slice(&o[cut..]);
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

struct Pair {
    server: Responder,
    client: Initiator,
    at: SocketAddr,
    now: Duration,
    to_server: Vec<Vec<u8>>,
    to_client: Vec<Vec<u8>>,
    client_sealed: BTreeSet<Vec<u8>>,
    server_sealed: BTreeSet<Vec<u8>>,
    server_got: BTreeSet<Vec<u8>>,
    client_got: BTreeSet<Vec<u8>>,
    next: u64,
}

impl Pair {
    fn fresh(&mut self, tag: u8, len: u8) -> Vec<u8> {
        self.next += 1;
        let mut p = vec![tag];
        p.extend_from_slice(&self.next.to_le_bytes());
        p.resize(9 + usize::from(len), tag);
        p
    }

    fn server_delivers(&mut self, p: &[u8]) {
        assert!(self.client_sealed.contains(p), "the server delivered a forgery");
        assert!(
            self.server_got.insert(p.to_vec()),
            "the server delivered a plaintext twice"
        );
    }

    fn client_delivers(&mut self, p: &[u8]) {
        assert!(self.server_sealed.contains(p), "the client delivered a forgery");
        assert!(
            self.client_got.insert(p.to_vec()),
            "the client delivered a plaintext twice"
        );
    }

    fn to_server(&mut self, d: &[u8]) {
        let mut out = vec![0u8; MAX_WIRE_DATAGRAM];
        match self.server.on_datagram(self.at, d, self.now, &mut out) {
            Incoming::Deliver(n) => self.server_delivers(&out[..n]),
            Incoming::Reply(r) => push(&mut self.to_client, r),
            Incoming::Accepted { reply, early } => {
                push(&mut self.to_client, reply);
                // Early data is delivered again with a retransmitted Initiate until the
                // client's first Data (by design: its answers may have been lost too), so
                // only "actually sent" holds for it, not "at most once".
                if let Some(datagrams) = wire::split_early(&out[..early]) {
                    for e in datagrams {
                        assert!(self.client_sealed.contains(e), "forged early data");
                    }
                }
            }
            Incoming::Drop(_) => {}
        }
    }

    fn to_client(&mut self, d: &[u8]) {
        let mut out = vec![0u8; MAX_WIRE_DATAGRAM];
        let mut replies = Vec::new();
        if let Some(n) = self.client.on_datagram(d, self.now, &mut out, &mut replies) {
            let p = out[..n].to_vec();
            self.client_delivers(&p);
        }
        for p in self.client.take_overtaken() {
            self.client_delivers(&p);
        }
        for r in replies {
            push(&mut self.to_server, r);
        }
    }

    fn client_send(&mut self, p: &[u8]) {
        self.client_sealed.insert(p.to_vec());
        for d in self.client.send(p, self.now) {
            push(&mut self.to_server, d);
        }
    }
}

fuzz_target!(|script: Script| {
    let key = StaticKeypair::from_private([3; 32]);
    let mut p = Pair {
        server: Responder::new(key.clone(), [5; 16], 4),
        client: Initiator::new(Trust::Pinned(*key.public())),
        at: SocketAddr::from(([127, 0, 0, 7], 4000)),
        now: Duration::from_secs(5),
        to_server: Vec::new(),
        to_client: Vec::new(),
        client_sealed: BTreeSet::new(),
        server_sealed: BTreeSet::new(),
        server_got: BTreeSet::new(),
        client_got: BTreeSet::new(),
        next: 0,
    };
    // The real handshake, every datagram delivered once, in order; then one Data from the
    // client so the server stops re-delivering the early data.
    let first = p.fresh(b'c', 4);
    p.client_send(&first);
    for _ in 0..4 {
        let (to_s, to_c) = (p.to_server.clone(), p.to_client.clone());
        p.to_server.clear();
        p.to_client.clear();
        for d in &to_s {
            p.to_server(d);
        }
        for d in &to_c {
            p.to_client(d);
        }
    }
    assert!(p.client.is_established(), "the clean handshake completes");
    let second = p.fresh(b'c', 4);
    p.client_send(&second);
    let sealed = p.to_server.pop().expect("a sealed datagram");
    p.to_server(&sealed);
    assert!(p.server_got.contains(&second));

    for op in script.ops.into_iter().take(MAX_OPS) {
        match op {
            Op::ClientSend { len, copies } => {
                for _ in 0..=copies % 4 {
                    let d = p.fresh(b'c', len);
                    p.client_send(&d);
                }
            }
            Op::ServerSend { len, copies } => {
                for _ in 0..=copies % 4 {
                    let d = p.fresh(b's', len);
                    if let Some(s) = p.server.seal(p.at, &d) {
                        p.server_sealed.insert(d);
                        push(&mut p.to_client, s);
                    }
                }
            }
            Op::ToServer { pick, alter: how } => {
                if p.to_server.is_empty() {
                    continue;
                }
                let d = p.to_server[usize::from(pick) % p.to_server.len()].clone();
                let d = match how {
                    Some(how) => alter(&p.to_server, d, &how),
                    None => d,
                };
                p.to_server(&d);
            }
            Op::ToClient { pick, alter: how } => {
                if p.to_client.is_empty() {
                    continue;
                }
                let d = p.to_client[usize::from(pick) % p.to_client.len()].clone();
                let d = match how {
                    Some(how) => alter(&p.to_client, d, &how),
                    None => d,
                };
                p.to_client(&d);
            }
            Op::Flush { to_server, from } => {
                let pool = if to_server {
                    p.to_server.clone()
                } else {
                    p.to_client.clone()
                };
                let start = usize::from(from).min(pool.len());
                for d in pool[start..].iter().take(MAX_FLUSH) {
                    if to_server {
                        p.to_server(d);
                    } else {
                        p.to_client(d);
                    }
                }
            }
            Op::RawToServer { bytes } => p.to_server(&bytes),
            Op::RawToClient { bytes } => p.to_client(&bytes),
            Op::Advance { ms } => {
                p.now += Duration::from_millis(u64::from(ms) * 4);
                for d in p.client.handshake_due(p.now) {
                    push(&mut p.to_server, d);
                }
                p.server.expire(p.now);
            }
        }
    }
});
