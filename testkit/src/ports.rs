//! Loopback ports for test servers (the server binds UDP and TCP on the same number).

use std::net::{TcpListener, UdpSocket};

/// A port free for both UDP and TCP on 127.0.0.1 right now (bound, then released).
pub fn free_port() -> u16 {
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
