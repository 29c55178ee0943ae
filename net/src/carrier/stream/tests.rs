//! The stream carriers on loopback sockets: a full table closes the busiest address
//! first, and the client waits for a SOCKS5 proxy's method choice before its request.

use super::*;
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Instant;

/// A proxy that reads the greeting by itself before answering, as microsocks does:
/// it reports what its first read held, then plays its part and reads the preamble.
fn strict_proxy() -> (SocketAddr, mpsc::Receiver<Result<Vec<u8>, String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback proxy");
    let addr = listener.local_addr().expect("proxy address");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let run = || -> Result<Vec<u8>, String> {
            let (mut s, _) = listener.accept().map_err(|e| e.to_string())?;
            s.set_read_timeout(Some(Duration::from_secs(5)))
                .map_err(|e| e.to_string())?;
            let mut buf = [0u8; 512];
            let n = s.read(&mut buf).map_err(|e| e.to_string())?;
            if buf[..n] != socks5::GREETING {
                return Err(format!(
                    "the first read held {:?}, not the greeting alone",
                    &buf[..n]
                ));
            }
            s.write_all(&[5, 0]).map_err(|e| e.to_string())?;
            let want = 5 + "game.example".len() + 2;
            let mut req = vec![0u8; want];
            s.read_exact(&mut req).map_err(|e| e.to_string())?;
            s.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0x1F, 0x90])
                .map_err(|e| e.to_string())?;
            let mut preamble = [0u8; PREAMBLE.len()];
            s.read_exact(&mut preamble).map_err(|e| e.to_string())?;
            req.extend_from_slice(&preamble);
            Ok(req)
        };
        let _ = tx.send(run());
    });
    (addr, rx)
}

/// A server-side link over a real loopback connection, known by `peer` (the table
/// decides by that address, so a test can give one of its choosing).
fn link_from(
    listener: &TcpListener,
    peer: SocketAddr,
    now: Duration,
) -> (Link, std::net::TcpStream) {
    let client = std::net::TcpStream::connect(listener.local_addr().expect("address"))
        .expect("connect on loopback");
    let (server_side, _) = listener.accept().expect("accept on loopback");
    server_side.set_nonblocking(true).expect("non-blocking");
    let link = Link::tcp(TcpStream::from_std(server_side), peer, &[], now);
    (link, client)
}

#[test]
fn a_full_table_closes_the_busiest_address_first_not_a_player_mid_handshake() {
    let poll = mio::Poll::new().expect("poll");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut table = StreamTable::new(Token(0), 4);
    let flooder = |port: u16| SocketAddr::from(([10, 0, 0, 1], port));
    let player = SocketAddr::from(([10, 0, 0, 9], 4000));
    let mut clients = Vec::new();
    let mut t = Duration::ZERO;
    let mut adopt = |table: &mut StreamTable, peer: SocketAddr, t: Duration| {
        let (link, client) = link_from(&listener, peer, t);
        table.adopt(poll.registry(), link, t).expect("adopt");
        clients.push(client);
    };
    for port in 1..=3 {
        adopt(&mut table, flooder(port), t);
        t += Duration::from_millis(1);
    }
    // The player's connection arrives, then the flooder keeps opening new ones: it
    // is the player's that has gone longest without a handshake, yet it stays.
    adopt(&mut table, player, t);
    for port in 4..=40 {
        t += Duration::from_millis(1);
        adopt(&mut table, flooder(port), t);
        assert!(
            table
                .by_remote
                .contains_key(&Remote::new(CarrierKind::Tcp, player)),
            "the player's connection was closed for the flooder's {port}th"
        );
    }
    assert_eq!(table.by_remote.len(), 4);
    // Once every address holds as many, the oldest goes as before.
    let mut fair = StreamTable::new(Token(0), 2);
    let a = SocketAddr::from(([10, 0, 0, 2], 1));
    let b = SocketAddr::from(([10, 0, 0, 3], 1));
    let c = SocketAddr::from(([10, 0, 0, 4], 1));
    adopt(&mut fair, a, Duration::from_millis(1));
    adopt(&mut fair, b, Duration::from_millis(2));
    adopt(&mut fair, c, Duration::from_millis(3));
    assert!(!fair
        .by_remote
        .contains_key(&Remote::new(CarrierKind::Tcp, a)));
    assert!(fair
        .by_remote
        .contains_key(&Remote::new(CarrierKind::Tcp, b)));
}

#[test]
fn the_connect_request_waits_for_the_proxys_method_choice() {
    let (proxy, seen) = strict_proxy();
    let target = StreamTarget {
        kind: CarrierKind::Tcp,
        host: "game.example".into(),
        port: 8080,
        proxy: Some(proxy),
    };
    let remote = Remote::new(CarrierKind::Tcp, SocketAddr::from(([0, 0, 0, 0], 8080)));
    let began = Instant::now();
    let mut client = StreamClient::connect(target, proxy, remote, Duration::ZERO).expect("connect");
    while !client.is_open() && client.error().is_none() && began.elapsed() < Duration::from_secs(10)
    {
        client.poll(began.elapsed());
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(client.is_open(), "not open: {:?}", client.error());
    // The link writes the preamble on its next flush.
    let seen = loop {
        client.poll(began.elapsed());
        if let Ok(r) = seen.recv_timeout(Duration::from_millis(10)) {
            break r;
        }
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "the proxy saw no preamble"
        );
    };
    let seen = seen.expect("a strict proxy is satisfied");
    let request = socks5::connect_request("game.example", 8080).expect("valid name");
    assert_eq!(&seen[..request.len()], &request[..]);
    assert_eq!(&seen[request.len()..], &PREAMBLE[..]);
}

/// On loopback, connecting to a port nobody listens on sometimes connects the socket to
/// itself (the kernel picks the port asked for as ours). Such a stream echoes every
/// packet, which the carrier took for the server's answers, and it held the port the
/// server was about to bind: a standby could not take over. It must fail, and let go.
#[test]
fn a_stream_connected_to_itself_fails_and_frees_the_port() {
    // Linux gives connect() even ports (bind(0) odd ones): take an even port free for
    // TCP, as a test's free_port() or an operator's -port can be.
    let port = (0..1000)
        .find_map(|_| {
            let udp = std::net::UdpSocket::bind("127.0.0.1:0").ok()?;
            let port = udp.local_addr().ok()?.port();
            (port % 2 == 0 && TcpListener::bind(("127.0.0.1", port)).is_ok()).then_some(port)
        })
        .expect("an even loopback port free for TCP");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let target = StreamTarget {
        kind: CarrierKind::Tcp,
        host: "127.0.0.1".into(),
        port,
        proxy: None,
    };
    let remote = Remote::new(CarrierKind::Tcp, addr);
    let start = Instant::now();
    let mut refused = 0u32;
    // Linux walks its ephemeral ports two at a time per destination: the asked-for port
    // comes round within ~14,000 attempts (well under a second).
    while refused < 100_000 && start.elapsed() < Duration::from_secs(60) {
        let now = start.elapsed();
        let Ok(mut c) = StreamClient::connect(target.clone(), addr, remote, now) else {
            refused += 1;
            continue;
        };
        let waited = Instant::now();
        while c.error().is_none() && !c.is_open() && waited.elapsed() < Duration::from_secs(2) {
            c.poll(start.elapsed());
        }
        match c.error() {
            Some(e) if e.contains("connected to itself") => {
                // Aborted (RST) when it failed, it leaves no TIME_WAIT: the port binds
                // again at once (a little slack for a loaded machine).
                drop(c);
                let closed = Instant::now();
                let mut bound = TcpListener::bind(addr);
                while bound.is_err() && closed.elapsed() < Duration::from_secs(10) {
                    std::thread::sleep(Duration::from_millis(5));
                    bound = TcpListener::bind(addr);
                }
                assert!(
                    bound.is_ok(),
                    "{addr} still held {:?} after the close",
                    closed.elapsed()
                );
                eprintln!(
                    "attempt {refused} connected to itself: refused, {addr} free {:?} after",
                    closed.elapsed()
                );
                return;
            }
            Some(_) => refused += 1,
            None if c.is_open() => panic!("a stream to {addr} opened: nobody listens there"),
            None => refused += 1,
        }
    }
    panic!(
        "no self-connection in {refused} attempts to {addr}; kernel ephemeral port choice changed?"
    );
}
