//! The secure datagram layer's costs (issue 12, item 6), on its sans-IO state machines
//! (no sockets, no carrier), single-threaded:
//! - **handshake per join, server side**: the `Responder`'s work for one complete
//!   Hello -> Cookie -> Initiate -> Accept (the cookie MAC twice, the Noise NK responder's
//!   two Diffie-Hellman operations, the session's keys), timed per join over many joins
//!   from distinct addresses; the `Initiate` carries a real Hello and Join as early data,
//!   as a joining client's does. The client's side is timed too, apart.
//! - **per datagram**: sealing (server to client) and opening (at the client), and the
//!   other direction, at 60, 200 and 1200 bytes of plaintext: ns per datagram and MB/s of
//!   plaintext, each the mean over batches of 1,000 (p99 over the batches).
//! - **a Hello's cost**: the stateless Cookie answer alone (what a flood of Hellos costs).
//! - **bytes added**: what a sealed datagram is longer than its plaintext (checked against
//!   `wire::DATA_OVERHEAD` at every size), and the handshake's datagrams.
//!
//! Run: `cargo bench --bench secure`. Wall time: run it on an idle machine for figures to
//! compare.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::{time_each, Report};
use venture_net::protocol::{encode, Message};
use venture_net::secure::initiator::{Initiator, Trust};
use venture_net::secure::responder::{Incoming, Responder};
use venture_net::secure::wire::{self, MAX_WIRE_DATAGRAM};
use venture_net::secure::StaticKeypair;
use venture_sim::SIM_VERSION;

const JOINS: usize = 3000;
const WARMUP_JOINS: usize = 200;
const BATCH: usize = 1000;
const BATCHES: usize = 200;

fn addr(i: usize) -> SocketAddr {
    SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8)),
        20_000 + (i % 40_000) as u16,
    )
}

/// A joining client's first two datagrams from its session: Hello and Join.
fn session_opening() -> [Vec<u8>; 2] {
    let hello = encode(&Message::hello(SIM_VERSION)).expect("a Hello encodes");
    let join = encode(&Message::Join {
        cookie: [0; 16],
        name: "bot17".into(),
        character_secret: [7; 16],
    })
    .expect("a Join encodes");
    [hello, join]
}

/// Sizes of the handshake's datagrams for one join: (Hello, Cookie, Initiate, Accept).
type HandshakeSizes = (usize, usize, usize, usize);

/// One complete handshake from `at`; returns the server's time, the client's time, the
/// established client, and the datagram sizes.
fn join(
    server: &mut Responder,
    key: &StaticKeypair,
    at: SocketAddr,
    now: Duration,
    out: &mut [u8],
) -> (Duration, Duration, Initiator, HandshakeSizes) {
    let [hello_msg, join_msg] = session_opening();
    let mut client = Initiator::new(Trust::Pinned(*key.public()));
    let mut server_time = Duration::ZERO;

    let t = Instant::now();
    let mut hello = client.send(&hello_msg, now);
    assert!(
        client.send(&join_msg, now).is_empty(),
        "queued behind the handshake"
    );
    let mut client_time = t.elapsed();
    let hello = hello.pop().expect("a Hello");

    let t = Instant::now();
    let cookie = match server.on_datagram(at, &hello, now, out) {
        Incoming::Reply(r) => r,
        other => panic!("no Cookie: {other:?}"),
    };
    server_time += t.elapsed();

    let t = Instant::now();
    let mut replies = Vec::new();
    client.on_datagram(&cookie, now, out, &mut replies);
    client_time += t.elapsed();
    let initiate = replies.pop().expect("an Initiate");

    let t = Instant::now();
    let accept = match server.on_datagram(at, &initiate, now, out) {
        Incoming::Accepted { reply, early } => {
            assert_eq!(
                wire::split_early(&out[..early]).map(|d| d.len()),
                Some(2),
                "Hello and Join as early data"
            );
            reply
        }
        other => panic!("no Accept: {other:?}"),
    };
    server_time += t.elapsed();

    let t = Instant::now();
    client.on_datagram(&accept, now, out, &mut replies);
    client_time += t.elapsed();
    assert!(client.is_established());
    let sizes = (hello.len(), cookie.len(), initiate.len(), accept.len());
    (server_time, client_time, client, sizes)
}

fn mean(samples: &[Duration]) -> Duration {
    samples.iter().sum::<Duration>() / samples.len() as u32
}

fn handshakes(key: &StaticKeypair) -> HandshakeSizes {
    let mut server = Responder::new(key.clone(), [1; 16], JOINS + WARMUP_JOINS + 1);
    let mut out = vec![0u8; MAX_WIRE_DATAGRAM];
    let now = Duration::from_secs(30);
    let mut server_samples = Vec::with_capacity(JOINS);
    let mut client_samples = Vec::with_capacity(JOINS);
    let mut sizes = (0, 0, 0, 0);
    for i in 0..WARMUP_JOINS + JOINS {
        let at = addr(i);
        let (s, c, _, sz) = join(&mut server, key, at, now, &mut out);
        // Keep the table small, as on a server whose players come and go.
        server.forget(at);
        if i >= WARMUP_JOINS {
            server_samples.push(s);
            client_samples.push(c);
            sizes = sz;
        }
    }
    for (name, samples) in [
        ("handshake per join, server (Responder)", server_samples),
        ("handshake per join, client (Initiator)", client_samples),
    ] {
        let r = Report { name, samples };
        println!(
            "{:<44} n={:<6} mean={:>8.1} us  p50={:>8.1} us  p99={:>8.1} us  max={:>8.1} us",
            r.name,
            r.samples.len(),
            mean(&r.samples).as_secs_f64() * 1e6,
            r.percentile(0.50).as_secs_f64() * 1e6,
            r.percentile(0.99).as_secs_f64() * 1e6,
            r.percentile(1.0).as_secs_f64() * 1e6,
        );
    }
    // What a Hello flood costs: the stateless Cookie answer alone.
    let hello = wire::hello();
    let mut i = 0;
    time_each(
        "Hello -> Cookie (stateless, per Hello)",
        1_000,
        20_000,
        || {
            i += 1;
            let r = server.on_datagram(addr(i), &hello, now, &mut out);
            std::hint::black_box(r);
        },
    )
    .print(Duration::from_micros(50));
    sizes
}

/// Times `BATCHES` batches of `BATCH` calls; prints ns per call (mean, p99 of batches)
/// and MB/s of `bytes` per call.
fn per_datagram(name: String, bytes: usize, mut f: impl FnMut()) {
    for _ in 0..BATCH {
        f();
    }
    let batches: Vec<Duration> = (0..BATCHES)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..BATCH {
                f();
            }
            t.elapsed()
        })
        .collect();
    let per_call = |d: Duration| d.as_secs_f64() * 1e9 / BATCH as f64;
    let r = Report {
        name: "",
        samples: batches.clone(),
    };
    let mean_ns = per_call(mean(&batches));
    println!(
        "{name:<44} mean={mean_ns:>8.0} ns  p99={:>8.0} ns  {:>8.1} MB/s",
        per_call(r.percentile(0.99)),
        bytes as f64 / mean_ns * 1e3,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let key = StaticKeypair::from_private([42; 32]);
    println!("secure layer benchmarks ({JOINS} joins; {BATCHES} batches of {BATCH} datagrams)");
    let (hello, cookie, initiate, accept) = handshakes(&key);
    println!(
        "handshake datagrams: Hello {hello} B -> Cookie {cookie} B, Initiate {initiate} B \
         (with Hello + Join as early data) -> Accept {accept} B"
    );

    let mut server = Responder::new(key.clone(), [2; 16], 4);
    let mut out = vec![0u8; MAX_WIRE_DATAGRAM];
    let at = addr(1);
    let (_, _, mut client, _) = join(&mut server, &key, at, Duration::from_secs(1), &mut out);
    let now = Duration::from_secs(2);
    for size in [60usize, 200, 1200] {
        let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();

        // Bytes added, at this size.
        let sealed = server.seal(at, &payload).expect("a session");
        let added = sealed.len() - payload.len();
        assert_eq!(added, wire::DATA_OVERHEAD, "at {size} B");
        let up = client.send(&payload, now);
        assert_eq!(up.len(), 1);
        assert_eq!(up[0].len() - size, wire::DATA_OVERHEAD, "at {size} B, up");
        println!(
            "bytes added at {size:>4} B: {added} (wire::DATA_OVERHEAD = {})",
            wire::DATA_OVERHEAD
        );

        per_datagram(format!("seal {size:>4} B (server -> client)"), size, || {
            let d = server.seal(at, &payload).expect("a session");
            std::hint::black_box(d);
        });
        // Opening needs fresh datagrams: seal them first, open them timed.
        let mut down: Vec<Vec<u8>> = (0..BATCH * (BATCHES + 1))
            .map(|_| server.seal(at, &payload).expect("a session"))
            .collect();
        down.reverse();
        let mut replies = Vec::new();
        per_datagram(format!("open {size:>4} B (at the client)"), size, || {
            let d = down.pop().expect("enough sealed datagrams");
            let n = client.on_datagram(&d, now, &mut out, &mut replies);
            assert_eq!(n, Some(size));
        });
        per_datagram(format!("seal {size:>4} B (client -> server)"), size, || {
            let d = client.send(&payload, now);
            std::hint::black_box(d);
        });
        let mut up: Vec<Vec<u8>> = (0..BATCH * (BATCHES + 1))
            .flat_map(|_| client.send(&payload, now))
            .collect();
        up.reverse();
        per_datagram(format!("open {size:>4} B (at the server)"), size, || {
            let d = up.pop().expect("enough sealed datagrams");
            match server.on_datagram(at, &d, now, &mut out) {
                Incoming::Deliver(n) => assert_eq!(n, size),
                other => panic!("{other:?}"),
            }
        });
    }
    println!(
        "overhead on the wire: {} B per datagram; at 20 datagrams/s per direction (one per tick) \
         that is {} B/s per player each way",
        wire::DATA_OVERHEAD,
        wire::DATA_OVERHEAD * 20
    );
}
