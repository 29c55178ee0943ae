//! The simulated network's own tests: latency, loss rates, jitter, reordering,
//! duplication and the queue bound, oversize and unbound destinations, tampering boxes,
//! and stream links (ordered, lossless, stalls, bandwidth).

use super::*;

fn recv_all(s: &mut SimSocket) -> Vec<(Vec<u8>, SocketAddr)> {
    let mut buf = [0u8; 2048];
    let mut out = Vec::new();
    while let Some((n, from)) = s.recv(&mut buf) {
        out.push((buf[..n].to_vec(), from.addr));
    }
    out
}

#[test]
fn delivery_after_latency() {
    let net = SimNet::new(1);
    let mut a = net.bind_any().expect("bind");
    let mut b = net.bind_any().expect("bind");
    net.set_link(
        a.addr(),
        b.addr(),
        LinkConfig::latency(Duration::from_millis(2500)),
    )
    .expect("valid");
    a.send(Remote::udp(b.addr()), b"x");
    assert!(recv_all(&mut b).is_empty());
    assert_eq!(
        net.next_delivery(),
        Some(net.now() + Duration::from_millis(2500))
    );
    net.advance(Duration::from_millis(2499));
    assert!(recv_all(&mut b).is_empty());
    net.advance(Duration::from_millis(1));
    assert_eq!(recv_all(&mut b), vec![(b"x".to_vec(), a.addr())]);
    // The reverse direction uses the (instant) default link.
    b.send(Remote::udp(a.addr()), b"y");
    assert_eq!(recv_all(&mut a).len(), 1);
    assert!(LinkConfig::latency(Duration::from_millis(2501))
        .validate()
        .is_err());
    assert!(net.bind(a.addr()).is_err());
    // Time never goes backwards and never overflows.
    let t = net.now();
    net.advance_to(t - Duration::from_secs(1));
    assert_eq!(net.now(), t);
    net.advance(Duration::MAX);
    assert_eq!(net.elapsed(), MAX_VIRTUAL_TIME);
}

#[test]
fn loss_rate_roughly_as_configured() {
    let net = SimNet::new(7);
    let mut a = net.bind_any().expect("bind");
    let mut b = net.bind_any().expect("bind");
    net.set_default_link(LinkConfig {
        loss_permille: 200,
        ..LinkConfig::default()
    })
    .expect("valid");
    let mut got = 0;
    for i in 0..5000u32 {
        a.send(Remote::udp(b.addr()), &i.to_le_bytes());
        got += recv_all(&mut b).len();
    }
    assert!((3800..=4200).contains(&got), "delivered {got} of 5000");
    assert_eq!(net.stats().lost, 5000 - got as u64);
}

#[test]
fn jitter_reorders_duplicates_and_queue_bound() {
    let net = SimNet::new(3);
    let mut a = net.bind_any().expect("bind");
    let mut b = net.bind_any().expect("bind");
    net.set_default_link(LinkConfig {
        latency: Duration::from_millis(50),
        jitter: Duration::from_millis(40),
        duplicate_permille: 100,
        reorder_permille: 100,
        reorder_delay: Duration::from_millis(200),
        ..LinkConfig::default()
    })
    .expect("valid");
    for i in 0..500u32 {
        a.send(Remote::udp(b.addr()), &i.to_le_bytes());
        net.advance(Duration::from_millis(1));
    }
    net.advance(Duration::from_millis(1000));
    let got: Vec<u32> = recv_all(&mut b)
        .iter()
        .map(|(p, _)| u32::from_le_bytes([p[0], p[1], p[2], p[3]]))
        .collect();
    assert!(got.len() > 500, "duplicates expected");
    assert!(got.windows(2).any(|w| w[0] > w[1]), "reordering expected");
    assert_eq!(net.stats().duplicated as usize, got.len() - 500);

    net.set_max_in_flight(10);
    net.set_default_link(LinkConfig::latency(Duration::from_secs(1)))
        .expect("valid");
    for _ in 0..50 {
        a.send(Remote::udp(b.addr()), b"z");
    }
    assert_eq!(net.in_flight(b.addr()), 10);
    assert_eq!(net.stats().overflowed, 40);
}

#[test]
fn oversize_discarded_unbound_vanishes() {
    let net = SimNet::new(0);
    let a = net.bind_any().expect("bind");
    let mut b = net.bind_any().expect("bind");
    net.inject(a.addr(), b.addr(), &[0; 3000]);
    net.inject(a.addr(), b.addr(), &[1; 10]);
    assert_eq!(recv_all(&mut b).len(), 1);
    assert_eq!(b.socket_stats().oversize_in, 1);
    let gone = b.addr();
    drop(b);
    net.inject(a.addr(), gone, b"hi");
    assert_eq!(net.stats().no_route, 1);
    assert!(net.bind(gone).is_ok());
}

#[test]
fn a_tampering_box_modifies_replays_and_forges_on_its_address_only() {
    let run = |seed: u64| {
        let net = SimNet::new(seed);
        let mut a = net.bind_any().expect("bind");
        let mut b = net.bind_any().expect("bind");
        let mut c = net.bind_any().expect("bind");
        net.set_default_link(LinkConfig::latency(Duration::from_millis(10)))
            .expect("valid");
        assert!(net
            .tamper(
                b.addr(),
                TamperConfig {
                    modify_permille: 1001,
                    ..TamperConfig::default()
                }
            )
            .is_err());
        net.tamper(
            b.addr(),
            TamperConfig {
                modify_permille: 300,
                replay_permille: 200,
                forge_permille: 100,
                replay_delay: Duration::from_millis(500),
            },
        )
        .expect("valid");
        let sent: Vec<Vec<u8>> = (0..2000u32)
            .map(|i| [&i.to_le_bytes()[..], &[0xA5; 20]].concat())
            .collect();
        let (mut at_b, mut at_a, mut at_c) = (Vec::new(), Vec::new(), Vec::new());
        for d in &sent {
            a.send(Remote::udp(b.addr()), d);
            b.send(Remote::udp(a.addr()), d);
            a.send(Remote::udp(c.addr()), d);
            net.advance(Duration::from_millis(1));
            at_b.extend(recv_all(&mut b));
            at_a.extend(recv_all(&mut a));
            at_c.extend(recv_all(&mut c));
        }
        net.advance(Duration::from_secs(1));
        at_b.extend(recv_all(&mut b));
        at_a.extend(recv_all(&mut a));
        at_c.extend(recv_all(&mut c));
        // Another address's link is untouched.
        assert_eq!(
            at_c.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
            sent
        );
        assert_eq!(net.tamper_stats(c.addr()), None);
        let stats = net.tamper_stats(b.addr()).expect("box");
        let log = net.take_tamper_log(b.addr());
        assert_eq!(log.len() as u64, stats.total());
        assert!(net.take_tamper_log(b.addr()).is_empty(), "drained");
        // Both directions, every kind, at about the configured rates (4000 datagrams).
        let modified = stats.flipped + stats.truncated + stats.extended;
        assert!((1000..1400).contains(&modified), "{stats:?}");
        assert!((650..950).contains(&stats.replayed), "{stats:?}");
        assert!((300..500).contains(&stats.forged), "{stats:?}");
        assert!(stats.flipped > 0 && stats.truncated > 0 && stats.extended > 0);
        for e in &log {
            assert!(
                (e.from, e.to) == (a.addr(), b.addr()) || (e.from, e.to) == (b.addr(), a.addr()),
                "{e:?}"
            );
            match e.kind {
                TamperKind::Flipped => {
                    assert_eq!(e.sent.len(), e.original.len());
                    assert_ne!(e.sent, e.original);
                }
                TamperKind::Truncated => {
                    assert!(e.sent.len() < e.original.len());
                    assert!(e.original.starts_with(&e.sent));
                }
                TamperKind::Extended => {
                    assert!(e.sent.len() > e.original.len());
                    assert!(e.sent.starts_with(&e.original));
                }
                TamperKind::Replayed => {
                    assert_eq!(e.sent, e.original);
                    assert!(sent.contains(&e.sent));
                }
                TamperKind::Forged => assert!(!sent.contains(&e.sent), "{e:?}"),
            }
        }
        // What arrived: each original unless it was modified, plus every extra.
        let arrived = at_b.len() + at_a.len();
        assert_eq!(arrived as u64, 4000 + stats.replayed + stats.forged);
        assert!(at_b.iter().all(|(_, from)| *from == a.addr()));
        let originals = at_b.iter().filter(|(p, _)| sent.contains(p)).count() as u64;
        assert!(
            originals >= 2000 - modified,
            "modified originals never arrive"
        );
        (at_a, at_b, stats)
    };
    let first = run(21);
    assert_eq!(run(21), first, "reproducible");
    assert_ne!(run(22).1, first.1);
}

#[test]
fn a_stream_link_is_ordered_lossless_and_stalls_behind_a_loss() {
    let net = SimNet::new(5);
    let mut server = net.bind_any().expect("bind");
    let mut client = net.bind_stream_any().expect("bind");
    net.set_default_link(LinkConfig {
        latency: Duration::from_millis(100),
        jitter: Duration::from_millis(30),
        loss_permille: 50,
        duplicate_permille: 100,
        reorder_permille: 100,
        reorder_delay: Duration::from_millis(300),
    })
    .expect("valid");
    let to = Remote::udp(server.addr());
    for i in 0..400u32 {
        client.send(to, &i.to_le_bytes());
        net.advance(Duration::from_millis(5));
    }
    net.advance(Duration::from_secs(30));
    let got = recv_all(&mut server);
    let order: Vec<u32> = got
        .iter()
        .map(|(p, _)| u32::from_le_bytes([p[0], p[1], p[2], p[3]]))
        .collect();
    assert_eq!(order, (0..400).collect::<Vec<_>>(), "all, once, in order");
    assert!(got.iter().all(|(_, from)| *from == client.addr()));
    assert_eq!(net.stats().lost, 0);
    // Received as a TCP remote, and answered over the same stream.
    let mut buf = [0u8; 64];
    server.send(Remote::new(CarrierKind::Tcp, client.addr()), b"back");
    net.advance(Duration::from_secs(1));
    let (n, from) = client.recv(&mut buf).expect("answer");
    assert_eq!((&buf[..n], from.carrier), (&b"back"[..], CarrierKind::Tcp));
    assert_eq!(server.socket_stats().bytes_in, 400 * (4 + 2));
}

#[test]
fn stream_bandwidth_queues_behind_the_link() {
    let net = SimNet::new(9);
    let mut server = net.bind_any().expect("bind");
    let mut client = net.bind_stream_any().expect("bind");
    net.set_stream_bandwidth(10_000);
    for _ in 0..10 {
        client.send(Remote::udp(server.addr()), &[7u8; 998]);
    }
    // 10 x 998 bytes at 10 kB/s: the last arrives after about a second.
    net.advance(Duration::from_millis(900));
    let early = recv_all(&mut server).len();
    assert!((8..10).contains(&early), "{early}");
    net.advance(Duration::from_millis(200));
    assert_eq!(recv_all(&mut server).len(), 10 - early);
}
