//! What one laminar connection costs in resident memory, with our `laminar_config()`.
//!
//! laminar 0.5.0 as published allocates a 65,535-entry congestion buffer per
//! `VirtualConnection` (about 1.8 MB, touched at once: its entries default to
//! `Instant::now()`), which put a 64-player server at well over 100 MB. The vendored copy
//! (vendor/laminar/PATCHES.md) bounds it; this test fails if a laminar upgrade, or a
//! config change, brings a per-connection buffer of that size back.
//!
//! Measured as the growth of this process's VmRSS (/proc/self/status) while connections
//! are created and used: the test is alone in its binary, so no other test allocates
//! meanwhile, and the bound is far from both the old figure and the expected one, so
//! allocator noise cannot flip it.
#![cfg(target_os = "linux")]

use std::net::SocketAddr;
use std::time::Duration;

use laminar::{SocketEvent, VirtualConnection};
use venture_net::transport::simnet::SimNet;
use venture_net::transport::{laminar_config, Endpoint};

/// Connections per measurement: enough that a 1.8 MB buffer each would add over 100 MB.
const CONNECTIONS: usize = 64;
/// The bound per connection. With the patch one costs a few tens of KiB; unpatched, 1.8 MB.
const MAX_KIB_PER_CONNECTION: u64 = 256;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux has /proc");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("/proc/self/status has a VmRSS line in kB")
}

/// One test, so the two measurements never run at once (the harness runs tests in
/// parallel threads of one process, whose RSS they share).
#[test]
fn a_laminar_connection_costs_kilobytes_not_megabytes() {
    new_connections();
    established_connections();
}

/// Connection state as laminar creates it for every new address.
fn new_connections() {
    let config = laminar_config();
    let now = std::time::Instant::now();
    let before = rss_kib();
    let connections: Vec<VirtualConnection> = (0..CONNECTIONS)
        .map(|i| {
            let addr = SocketAddr::from(([127, 0, 0, 1], 20_000 + i as u16));
            VirtualConnection::new(addr, &config, now)
        })
        .collect();
    let grown = rss_kib().saturating_sub(before);
    let per = grown / CONNECTIONS as u64;
    println!("{CONNECTIONS} new VirtualConnections: +{grown} KiB resident, {per} KiB each");
    assert!(
        per <= MAX_KIB_PER_CONNECTION,
        "a new laminar connection costs {per} KiB resident (bound {MAX_KIB_PER_CONNECTION} KiB): \
         is the congestion buffer back at 65,535 entries? See vendor/laminar/PATCHES.md"
    );
    drop(connections);
}

/// Established connections that carried reliable and unreliable traffic both ways: a
/// server endpoint and its clients on the simulated network, all in this process, so
/// each exchange costs two connections (the server's and the client's).
fn established_connections() {
    let net = SimNet::new(0xf007);
    let mut server = Endpoint::new(net.bind_any().expect("bind"), laminar_config());
    let server_addr = server.socket().addr();
    let before = rss_kib();
    let mut clients: Vec<_> = (0..CONNECTIONS)
        .map(|_| Endpoint::new(net.bind_any().expect("bind"), laminar_config()))
        .collect();
    let step = Duration::from_millis(10);
    let mut heard_back = 0;
    for round in 0..20u8 {
        for c in &mut clients {
            c.send_reliable(server_addr, vec![round; 200]);
            c.send_unreliable(server_addr, vec![round; 400]);
            c.poll(net.now());
        }
        net.advance(step);
        server.poll(net.now());
        for event in server.drain() {
            if let SocketEvent::Packet(p) = event {
                server.send_reliable(p.addr(), vec![round; 100]);
                server.send_unreliable(p.addr(), vec![round; 1000]);
            }
        }
        server.poll(net.now());
        net.advance(step);
        for c in &mut clients {
            c.poll(net.now());
            heard_back += c
                .drain()
                .iter()
                .filter(|e| matches!(e, SocketEvent::Packet(_)))
                .count();
        }
    }
    assert!(
        heard_back >= CONNECTIONS * 20,
        "every client heard the server ({heard_back} packets back)"
    );
    let grown = rss_kib().saturating_sub(before);
    let per = grown / (2 * CONNECTIONS) as u64;
    println!(
        "{CONNECTIONS} server + {CONNECTIONS} client connections after 20 exchanges: +{grown} KiB resident, {per} KiB each"
    );
    assert!(
        per <= MAX_KIB_PER_CONNECTION,
        "an established laminar connection costs {per} KiB resident (bound {MAX_KIB_PER_CONNECTION} KiB)"
    );
}
