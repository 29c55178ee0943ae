//! The carriers across a real network path: a client in a network namespace of the
//! test's own (a veth pair in a private /30, the server on the host's end), whose
//! firewall drops its UDP, falls back to TCP by itself; and the kernel's TCP under 1% and
//! 5% packet loss (tc netem inside the namespace, or an nft rule where the kernel has no
//! netem) carries a game without desyncs. Needs root, `ip`, `nft` and `tc` (iproute2,
//! nftables): skipped without them, failed under `CI=true`. The namespace, its rules and
//! its qdiscs are removed by drop guards, also when a test fails.

use std::time::Duration;

use venture_testkit::netns::NetNs;
use venture_testkit::player::Player;
use venture_testkit::{bin, tools, Scratch, Server};

const CLIENT: &str = bin!("venture-client");
const SERVER: &str = bin!("venture-server");

/// A namespace, or `None` after skipping `test` (failing under CI) with the reason.
fn namespace(test: &str) -> Option<NetNs> {
    tools::require(test, &["ip", "nft", "tc"])?;
    match NetNs::create() {
        Ok(ns) => Some(ns),
        Err(e) => {
            tools::skip(test, &format!("cannot make a network namespace: {e}"));
            None
        }
    }
}

#[test]
fn a_client_whose_udp_is_firewalled_falls_back_to_tcp_and_plays() {
    const TEST: &str = "a_client_whose_udp_is_firewalled_falls_back_to_tcp_and_plays";
    let Some(ns) = namespace(TEST) else { return };
    ns.drop_outgoing_udp().expect("nft rule in the namespace");
    let server = Server::builder(SERVER).bind(ns.host_ip.into()).start();
    let dir = Scratch::new("carriers-nsudp");
    let mut p = Player::spawn(
        CLIENT,
        Some(&ns),
        &server.addr(),
        "office",
        12,
        &["-transport", "auto"],
        dir.path(),
    );
    let joined = p.wait_joined(Duration::from_secs(60));
    let joined = joined.unwrap_or_else(|| panic!("no join with UDP dropped:\n{}", ns.ruleset()));
    eprintln!(
        "FIGURE join time with UDP firewalled, -transport auto (falls back to TCP): {joined:.2?}"
    );
    let status = server.wait_playing_on("office", "tcp", Duration::from_secs(60));
    eprintln!("/status entry: {status}");
    let json = p.finish(12, Duration::from_secs(30));
    assert_eq!(json["carrier"], "tcp", "{json}");
    assert_eq!(json["desyncs"], 0, "{json}");
    assert!(json["confirmed"].as_u64().unwrap_or(0) > 0, "{json}");
    // The firewall did drop its UDP: the client did try UDP first.
    let rules = ns.ruleset();
    let dropped = rules
        .lines()
        .find(|l| l.contains("counter packets"))
        .and_then(|l| l.split_whitespace().skip_while(|w| *w != "packets").nth(1))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(
        dropped > 0,
        "no UDP was dropped, so nothing was tested:\n{rules}"
    );
}

#[test]
fn the_kernels_tcp_under_one_and_five_percent_loss_carries_a_game() {
    const TEST: &str = "the_kernels_tcp_under_one_and_five_percent_loss_carries_a_game";
    let Some(ns) = namespace(TEST) else { return };
    let server = Server::builder(SERVER).bind(ns.host_ip.into()).start();
    let dir = Scratch::new("carriers-nsloss");
    for percent in [1, 5] {
        let mut netem_error = None;
        let loss = ns
            .lose(percent, &mut netem_error)
            .expect("packet loss in the namespace");
        if let Some(e) = &netem_error {
            eprintln!("netem is not available ({e}); losing {percent}% with nft instead");
        }
        let name = format!("lossy{percent}");
        let duration = 20;
        let mut p = Player::spawn(
            CLIENT,
            Some(&ns),
            &server.addr(),
            &name,
            duration,
            &["-transport", "tcp"],
            dir.path(),
        );
        let joined = p.wait_joined(Duration::from_secs(60));
        let joined = joined.unwrap_or_else(|| panic!("{name}: no join under {percent}% loss"));
        eprintln!(
            "FIGURE join time over TCP with {percent}% loss ({:?}): {joined:.2?}",
            loss.by
        );
        server.wait_playing_on(&name, "tcp", Duration::from_secs(60));
        let json = p.finish(duration, Duration::from_secs(40));
        assert_eq!(json["carrier"], "tcp", "{json}");
        assert_eq!(json["desyncs"], 0, "{json}");
        assert!(json["confirmed"].as_u64().unwrap_or(0) > 0, "{json}");
        let player = server.player(&name);
        eprintln!(
            "{percent}% loss: client {json}\nserver's view at the end: {player:?}\n{}",
            loss.describe()
        );
        // Packets were lost: the qdisc or the rule counted drops.
        let described = loss.describe();
        assert!(
            described.contains("dropped") && !described.contains("dropped 0,")
                || described.contains("counter packets")
                    && !described.contains("counter packets 0 "),
            "no packet was lost, so nothing was tested:\n{described}"
        );
    }
}
