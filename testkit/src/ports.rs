//! Loopback ports for test servers (the server binds UDP and TCP on the same number).

use std::net::{TcpListener, UdpSocket};
use std::time::{SystemTime, UNIX_EPOCH};

/// Below the kernel's ephemeral range, where no outgoing connection is given a port.
const LOWEST: u16 = 10_000;

/// A port free for both UDP and TCP on 127.0.0.1 right now (bound, then released).
///
/// It is taken below the ephemeral range (Linux: `ip_local_port_range`): a port from
/// inside it may be handed to some process's outgoing connection before the test's
/// server binds it (a standby binds its game port only when it takes over, seconds
/// later), and the server then cannot start.
pub fn free_port() -> u16 {
    let below = ephemeral_start().unwrap_or(32_768);
    if below > LOWEST + 1_000 {
        let span = u32::from(below - LOWEST);
        let mut draw = seed();
        for _ in 0..400 {
            draw = draw
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // `span` fits in u16, so the remainder does too.
            let port = LOWEST + ((draw >> 33) % u64::from(span)) as u16;
            if free_for_both(port) {
                return port;
            }
        }
    }
    for _ in 0..200 {
        let Ok(udp) = UdpSocket::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = udp.local_addr() else { continue };
        if TcpListener::bind(("127.0.0.1", addr.port())).is_ok() {
            return addr.port();
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1");
}

fn free_for_both(port: u16) -> bool {
    UdpSocket::bind(("127.0.0.1", port)).is_ok() && TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// The first port of the kernel's ephemeral range, where the system says.
fn ephemeral_start() -> Option<u16> {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    range.split_whitespace().next()?.parse().ok()
}

/// Differs between test processes and calls, so parallel tests draw different ports.
fn seed() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ CALLS
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_come_from_below_the_ephemeral_range_and_are_free() {
        let below = ephemeral_start().unwrap_or(32_768);
        for _ in 0..20 {
            let p = free_port();
            assert!(free_for_both(p), "{p} not free");
            if below > LOWEST + 1_000 {
                assert!((LOWEST..below).contains(&p), "{p} not below {below}");
            }
        }
    }
}
