//! The HTTP server on real loopback sockets: answers, limits, deadlines, eviction at the
//! cap, and header injection.

use super::*;
use mio::{Events, Poll};
use std::io::Read;
use std::net::{Shutdown, TcpStream as StdStream};
use std::thread;

const BASE: Token = Token(100);

fn router(req: &Request) -> Response {
    match req.path.as_str() {
        "/healthz" => Response::text(200, "ok\n"),
        "/big" => Response::new(200, "application/octet-stream", vec![b'x'; 1 << 20]),
        "/huge" => Response::new(200, "application/octet-stream", vec![b'x'; 32 << 20]),
        "/echo" => Response::json(
            200,
            format!(
                "{{\"query\":{:?},\"ua\":{:?}}}",
                req.query.clone().unwrap_or_default(),
                req.header("user-agent").unwrap_or("")
            ),
        ),
        _ => Response::not_found(),
    }
}

/// Run a server on 127.0.0.1:0 with a mio loop in this thread while
/// `client` runs in another; bounded to 15 s. After the client is done,
/// keep polling until every connection is closed (bounded to 3 s).
fn with_server<T: Send + 'static>(
    limits: HttpLimits,
    client: impl FnOnce(SocketAddr) -> T + Send + 'static,
) -> (T, HttpServer) {
    let mut poll = Poll::new().expect("poll");
    let listener = TcpListener::bind("127.0.0.1:0".parse().expect("addr")).expect("bind port 0");
    let mut server = HttpServer::new(listener, limits);
    server.register(poll.registry(), BASE).expect("register");
    let addr = server.local_addr().expect("local addr");
    let handle = thread::spawn(move || client(addr));
    let mut events = Events::with_capacity(64);
    let start = Instant::now();
    let mut done_at: Option<Instant> = None;
    let mut route = router;
    loop {
        poll.poll(&mut events, Some(Duration::from_millis(10)))
            .expect("poll");
        let now = Instant::now();
        for ev in events.iter() {
            assert!(server.owns(ev.token()), "foreign token {:?}", ev.token());
            server.handle_token(poll.registry(), ev.token(), now, &mut route);
        }
        server.poll(poll.registry(), now, &mut route);
        assert!(start.elapsed() < Duration::from_secs(15), "test timed out");
        if handle.is_finished() {
            let d = *done_at.get_or_insert(now);
            if server.open_connections() == 0 || now - d > Duration::from_secs(3) {
                break;
            }
        }
    }
    let out = handle.join().expect("client thread");
    (out, server)
}

fn connect(addr: SocketAddr) -> StdStream {
    let s = StdStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s
}

fn exchange(addr: SocketAddr, req: &[u8]) -> String {
    let mut s = connect(addr);
    s.write_all(req).expect("write");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn get_200_with_body() {
    let (resp, server) = with_server(HttpLimits::default(), |addr| {
        exchange(addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    });
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(resp.contains("Content-Length: 3\r\n"), "{resp}");
    assert!(resp.contains("Connection: close\r\n"), "{resp}");
    assert!(
        resp.contains("Content-Type: text/plain; charset=utf-8\r\n"),
        "{resp}"
    );
    assert!(resp.ends_with("\r\n\r\nok\n"), "{resp}");
    let c = server.counters();
    assert_eq!((c.accepted, c.responses, c.bad_requests), (1, 1, 0));
    assert_eq!(server.open_connections(), 0);
}

#[test]
fn query_headers_and_http10() {
    let (resp, _) = with_server(HttpLimits::default(), |addr| {
        exchange(addr, b"GET /echo?a=1 HTTP/1.0\r\nUser-Agent: probe\r\n\r\n")
    });
    assert!(
        resp.ends_with("{\"query\":\"a=1\",\"ua\":\"probe\"}"),
        "{resp}"
    );
}

#[test]
fn head_has_no_body() {
    let (resp, _) = with_server(HttpLimits::default(), |addr| {
        exchange(addr, b"HEAD /healthz HTTP/1.1\r\n\r\n")
    });
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(resp.contains("Content-Length: 3\r\n"), "{resp}");
    assert!(resp.ends_with("\r\n\r\n"), "{resp}");
}

#[test]
fn unknown_path_404() {
    let (resp, _) = with_server(HttpLimits::default(), |addr| {
        exchange(addr, b"GET /nope HTTP/1.1\r\n\r\n")
    });
    assert!(resp.starts_with("HTTP/1.1 404 Not Found\r\n"), "{resp}");
}

#[test]
fn garbage_400() {
    let (resps, server) = with_server(HttpLimits::default(), |addr| {
        vec![
            exchange(addr, b"\x00\x01\x02hello\r\n\r\n"),
            exchange(addr, b"GET nopath HTTP/1.1\r\n\r\n"),
            exchange(addr, b"GET / HTTP/9.9\r\n\r\n"),
            exchange(addr, b"GET / HTTP/1.1\r\nbad header line\r\n\r\n"),
        ]
    });
    for r in &resps {
        assert!(r.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{r}");
    }
    assert_eq!(server.counters().bad_requests, 4);
}

#[test]
fn incomplete_then_eof_400() {
    let (resp, server) = with_server(HttpLimits::default(), |addr| {
        let mut s = connect(addr);
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost:")
            .expect("write");
        s.shutdown(Shutdown::Write).expect("shutdown");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        out
    });
    assert!(resp.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{resp}");
    assert_eq!(server.counters().bad_requests, 1);
}

#[test]
fn non_get_405() {
    let (resps, server) = with_server(HttpLimits::default(), |addr| {
        ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"]
            .iter()
            .map(|m| {
                exchange(
                    addr,
                    format!("{m} /healthz HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody").as_bytes(),
                )
            })
            .collect::<Vec<_>>()
    });
    for r in &resps {
        assert!(r.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{r}");
        assert!(r.contains("Allow: GET, HEAD\r\n"), "{r}");
    }
    assert_eq!(server.counters().method_not_allowed, 5);
}

#[test]
fn oversized_head_431() {
    let (resps, server) = with_server(HttpLimits::default(), |addr| {
        let mut long = b"GET / HTTP/1.1\r\nX-Pad: ".to_vec();
        long.extend(std::iter::repeat_n(b'a', 20_000));
        long.extend_from_slice(b"\r\n\r\n");
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..100 {
            many.extend_from_slice(format!("X-{i}: 1\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        vec![exchange(addr, &long), exchange(addr, &many)]
    });
    for r in &resps {
        assert!(
            r.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{r}"
        );
    }
    assert_eq!(server.counters().head_too_large, 2);
}

#[test]
fn large_response_written_across_would_block() {
    let (len, _) = with_server(HttpLimits::default(), |addr| {
        let mut s = connect(addr);
        s.write_all(b"GET /big HTTP/1.1\r\n\r\n").expect("write");
        thread::sleep(Duration::from_millis(100)); // let the send buffer fill
        let mut out = Vec::new();
        s.read_to_end(&mut out).expect("read");
        let split = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("head end");
        out.len() - split - 4
    });
    assert_eq!(len, 1 << 20);
}

#[test]
fn idle_connection_closed() {
    let limits = HttpLimits {
        request_timeout: Duration::from_millis(200),
        ..HttpLimits::default()
    };
    let (elapsed, server) = with_server(limits, |addr| {
        let mut s = connect(addr);
        let t = Instant::now();
        let mut out = Vec::new();
        s.read_to_end(&mut out)
            .expect("server closes, no read timeout");
        assert!(out.is_empty());
        t.elapsed()
    });
    assert!(elapsed >= Duration::from_millis(150), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(server.counters().timed_out, 1);
    assert_eq!(server.counters().bad_requests, 0);
}

#[test]
fn slow_sender_closed() {
    let limits = HttpLimits {
        request_timeout: Duration::from_millis(300),
        ..HttpLimits::default()
    };
    let (_, server) = with_server(limits, |addr| {
        let mut s = connect(addr);
        // One byte every 50 ms never completes the head in time.
        for b in b"GET /healthz HTTP/1.1\r\n".iter() {
            if s.write_all(&[*b]).is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
    });
    assert_eq!(server.counters().timed_out, 1);
}

#[test]
fn bare_tcp_check_just_works() {
    let (resp, server) = with_server(HttpLimits::default(), |addr| {
        for _ in 0..3 {
            drop(StdStream::connect(addr).expect("connect")); // like `nc -z`
        }
        exchange(addr, b"GET /healthz HTTP/1.1\r\n\r\n")
    });
    assert!(resp.starts_with("HTTP/1.1 200 OK"), "{resp}");
    let c = server.counters();
    assert_eq!(c.accepted, 4);
    assert_eq!((c.bad_requests, c.timed_out, c.responses), (0, 0, 1));
    assert_eq!(server.open_connections(), 0);
}

/// A connection to `addr` from the loopback address `from` (all of 127/8 is ours).
fn connect_from(from: [u8; 4], addr: SocketAddr) -> StdStream {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::from((from, 0)).into())
        .expect("bind a loopback address");
    socket.connect(&addr.into()).expect("connect");
    socket.into()
}

#[test]
fn at_the_cap_the_busiest_address_makes_room_not_a_lone_waiting_client() {
    let limits = HttpLimits {
        max_connections: 4,
        ..HttpLimits::default()
    };
    let (lone_held, server) = with_server(limits, |addr| {
        // A game client behind a proxy: connected, its first bytes a round trip away.
        let mut lone = connect(addr);
        thread::sleep(Duration::from_millis(100)); // accepted first: the oldest
        let mut flood = Vec::new();
        for _ in 0..8 {
            flood.push(connect_from([127, 0, 0, 2], addr));
            thread::sleep(Duration::from_millis(100));
        }
        lone.set_nonblocking(true).expect("nonblocking");
        let held = matches!(
            lone.read(&mut [0u8; 16]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock
        );
        drop(flood);
        held
    });
    assert!(
        lone_held,
        "the lone waiting connection was closed for the flooder's"
    );
    let c = server.counters();
    assert!(c.evicted >= 5, "{c:?}");
}

#[test]
fn at_the_cap_the_oldest_idle_connection_makes_room() {
    let limits = HttpLimits {
        max_connections: 2,
        ..HttpLimits::default()
    };
    let (out, server) = with_server(limits, |addr| {
        let mut idle = connect(addr);
        thread::sleep(Duration::from_millis(100)); // accepted first: the oldest
        let mut slow = connect(addr);
        slow.write_all(b"GET /heal").expect("write");
        thread::sleep(Duration::from_millis(100));
        // Both slots held: the newcomer is still served...
        let probe = exchange(addr, b"GET /healthz HTTP/1.1\r\n\r\n");
        // ...and the idle one (oldest) was closed for it: EOF or a reset.
        let mut buf = Vec::new();
        let idle_end = idle.read_to_end(&mut buf).map(|_| buf.len());
        // ...while the slow one, newer, is still held.
        slow.set_nonblocking(true).expect("nonblocking");
        let slow_held = matches!(
            slow.read(&mut [0u8; 16]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock
        );
        slow.set_nonblocking(false).expect("blocking");
        // The slow one is next in line: with the probe's slot taken again, another
        // newcomer evicts it, not the newer idle connection.
        thread::sleep(Duration::from_millis(100));
        let idle2 = connect(addr);
        thread::sleep(Duration::from_millis(100));
        let probe2 = exchange(addr, b"GET /healthz HTTP/1.1\r\n\r\n");
        let mut buf = Vec::new();
        let slow_end = slow.read_to_end(&mut buf).map(|_| buf.len());
        drop(idle2);
        (probe, idle_end, slow_held, probe2, slow_end)
    });
    let (probe, idle_end, slow_held, probe2, slow_end) = out;
    assert!(slow_held, "the newer, slow connection was evicted first");
    assert!(probe.starts_with("HTTP/1.1 200 OK"), "{probe}");
    assert!(probe2.starts_with("HTTP/1.1 200 OK"), "{probe2}");
    for end in [idle_end, slow_end] {
        match end {
            Ok(n) => assert_eq!(n, 0, "evicted without a response"),
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
        }
    }
    let c = server.counters();
    // Two, or three if the first probe's connection was still draining when the
    // newer idle one arrived (the slow one goes first either way).
    assert!((2..=3).contains(&c.evicted), "{c:?}");
    assert_eq!(c.rejected_over_cap, 0, "{c:?}");
}

#[test]
fn a_request_waiting_on_the_oldest_connection_is_answered_not_evicted() {
    let limits = HttpLimits {
        max_connections: 1,
        ..HttpLimits::default()
    };
    let ((first, second), server) = with_server(limits, |addr| {
        let mut a = connect(addr);
        thread::sleep(Duration::from_millis(100)); // accepted, holding the only slot
                                                   // A's request and B's connect reach the server in the same loop turn, in
                                                   // either order: both must be answered.
        a.write_all(b"GET /healthz HTTP/1.1\r\n\r\n")
            .expect("write");
        let b = thread::spawn(move || exchange(addr, b"GET /healthz HTTP/1.1\r\n\r\n"));
        let mut out = Vec::new();
        a.read_to_end(&mut out).expect("read");
        (
            String::from_utf8_lossy(&out).into_owned(),
            b.join().expect("second client"),
        )
    });
    assert!(first.starts_with("HTTP/1.1 200 OK"), "{first}");
    assert!(second.starts_with("HTTP/1.1 200 OK"), "{second}");
    assert_eq!(server.counters().rejected_over_cap, 0);
}

#[test]
fn refused_only_when_every_connection_is_mid_response() {
    let limits = HttpLimits {
        max_connections: 1,
        ..HttpLimits::default()
    };
    let ((refused, after), server) = with_server(limits, |addr| {
        // A reader that does not read: its 32 MiB response stays mid-write.
        let mut stuck = connect(addr);
        stuck
            .write_all(b"GET /huge HTTP/1.1\r\n\r\n")
            .expect("write");
        thread::sleep(Duration::from_millis(300));
        let mut c = connect(addr);
        let mut out = Vec::new();
        let refused = c
            .read_to_end(&mut out)
            .map(|_| String::from_utf8_lossy(&out).into_owned());
        // Once the stuck client reads its response to the end, the slot frees up.
        let mut sink = Vec::new();
        let _ = stuck.read_to_end(&mut sink);
        drop(stuck);
        let mut ok = String::new();
        for _ in 0..50 {
            ok = exchange(addr, b"GET /healthz HTTP/1.1\r\n\r\n");
            if ok.starts_with("HTTP/1.1 200") {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        (refused, ok)
    });
    match &refused {
        Ok(s) => assert!(s.is_empty() || s.starts_with("HTTP/1.1 503"), "{s}"),
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
    }
    assert!(after.starts_with("HTTP/1.1 200 OK"), "{after}");
    assert!(server.counters().rejected_over_cap >= 1);
}

#[test]
fn tokens_and_deadline() {
    let listener = TcpListener::bind("127.0.0.1:0".parse().expect("addr")).expect("bind port 0");
    let mut server = HttpServer::new(listener, HttpLimits::default());
    assert!(!server.owns(Token(0)));
    let poll = Poll::new().expect("poll");
    server
        .register(poll.registry(), Token(10))
        .expect("register");
    assert!(server.owns(Token(10)) && server.owns(Token(74)));
    assert!(!server.owns(Token(9)) && !server.owns(Token(75)));
    assert_eq!(server.next_deadline(), None);
    let mut s2 = HttpServer::new(
        TcpListener::bind("127.0.0.1:0".parse().expect("addr")).expect("bind"),
        HttpLimits::default(),
    );
    assert!(matches!(
        s2.register(poll.registry(), Token(usize::MAX - 3)),
        Err(HttpError::TokenRange { .. })
    ));
    server.shutdown(poll.registry());
}

#[test]
fn response_header_injection_is_neutralised() {
    let r = Response::text(200, "x").with_header("X-A", "v\r\nSet-Cookie: evil");
    let bytes = String::from_utf8(r.to_bytes(false)).expect("utf8");
    assert!(bytes.contains("X-A: v  Set-Cookie: evil\r\n"), "{bytes}");
}
