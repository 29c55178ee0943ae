//! The per-slot view the server's metrics read: over the simulated network with two
//! clients on links of different latency, each connected slot reports a round trip near
//! its link's (plus at most a tick or two of send cadence), an input lead, and traffic
//! that adds up to no more than the session's totals; an empty slot reports no link.

use std::time::Duration;
use venture_testkit::handshake::game_session;

use venture_net::carrier::simnet::{LinkConfig, SimNet, SimSocket};
use venture_net::client::{ClientConfig, ClientSession, Phase};
use venture_net::driver::{ClientDriver, ServerDriver};
use venture_sim::script::scripted_input;

#[test]
fn links_report_round_trip_lead_and_traffic_per_slot() {
    let net = SimNet::new(11);
    let epoch = net.now();
    let session = game_session(11, 4);
    let mut server = ServerDriver::new(net.bind_any().expect("bind"), session, epoch);
    let server_addr = server.carrier().addr();
    assert_eq!(server.session.slot_traffic().len(), 4);
    assert_eq!(server.session.player_links().count(), 0);

    // Client 0 on a 40 ms round trip, client 1 on 400 ms.
    let one_way = [Duration::from_millis(20), Duration::from_millis(200)];
    let mut clients: Vec<ClientDriver<SimSocket>> = (0..2)
        .map(|i| {
            let socket = net.bind_any().expect("bind");
            let link = LinkConfig::latency(one_way[i]);
            net.set_link_both(socket.addr(), server_addr, link)
                .expect("valid link");
            let session = ClientSession::new(
                ClientConfig::new(format!("link{i}")),
                server_addr,
                Duration::ZERO,
            );
            ClientDriver::new(socket, session, epoch)
        })
        .collect();

    let step = Duration::from_millis(5);
    let mut t = Duration::ZERO;
    while t < Duration::from_secs(8) {
        server.pump(net.now());
        server.session.drain_events();
        for (i, c) in clients.iter_mut().enumerate() {
            c.pump(net.now(), &mut |w, slot| {
                scripted_input(i as u64, w.tick() + 1, slot as usize)
            });
            c.session.drain_events();
        }
        t += step;
        net.advance(step);
    }
    for c in &clients {
        assert_eq!(*c.session.phase(), Phase::Playing);
    }

    let interval = server.session.tick_interval();
    let mut links: Vec<_> = server.session.player_links().collect();
    links.sort_by_key(|l| l.slot);
    assert_eq!(links.len(), 2, "{links:?}");
    let names: Vec<(u8, String)> = server
        .session
        .players()
        .map(|(s, n, _)| (s, n.to_string()))
        .collect();
    for link in &links {
        let name = &names.iter().find(|(s, _)| *s == link.slot).expect("slot").1;
        let i: usize = name.trim_start_matches("link").parse().expect("index");
        let link_rtt = one_way[i] * 2;
        let rtt = link
            .rtt
            .unwrap_or_else(|| panic!("{name}: no round trip measured"));
        assert!(
            rtt >= link_rtt.saturating_sub(interval) && rtt <= link_rtt + interval * 3,
            "{name}: measured {rtt:?} on a {link_rtt:?} link (tick {interval:?})"
        );
        assert!(!link.syncing, "{name} still syncing");
        assert!(
            link.input_lead_ticks >= 0,
            "{name}: inputs arrive late: {}",
            link.input_lead_ticks
        );
    }

    let totals = server.session.stats();
    let traffic = server.session.slot_traffic();
    let (sent, received): (u64, u64) = traffic
        .iter()
        .fold((0, 0), |(s, r), t| (s + t.bytes_out, r + t.bytes_in));
    for link in &links {
        let t = traffic[link.slot as usize];
        assert!(t.bytes_out > 1000 && t.bytes_in > 1000, "{t:?}");
    }
    assert!(sent <= totals.bytes_out && received <= totals.bytes_in);
    // Before admission (Hello, Challenge) traffic is no slot's; after it, nearly all is.
    assert!(
        sent * 10 >= totals.bytes_out * 9,
        "{sent} of {}",
        totals.bytes_out
    );
    assert_eq!(traffic[2], Default::default());
    assert_eq!(traffic[3], Default::default());
}
