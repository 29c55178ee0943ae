//! Playing over Tor: a private Tor network on loopback (`../shared/tornet/tornet.sh`,
//! beside the repository, from Debian's `tor`) with an onion service in front of the
//! server, and a client that reaches it by its `.onion` name through Tor's SOCKS5 port
//! (`-proxy socks5h://...`): it joins and plays without a desync. The network is stopped
//! at the end, also when the test fails. Skipped when the script or `tor` is missing,
//! failed under `CI=true`.

use std::path::Path;
use std::time::Duration;

use venture_testkit::player::Player;
use venture_testkit::tornet::{script_beside, TorNet};
use venture_testkit::{bin, tools, Scratch, Server};

const CLIENT: &str = bin!("venture-client");
const SERVER: &str = bin!("venture-server");

#[test]
fn a_client_plays_through_tor_to_an_onion_service() {
    const TEST: &str = "a_client_plays_through_tor_to_an_onion_service";
    let script = script_beside(Path::new(env!("CARGO_MANIFEST_DIR")));
    if !script.is_file() {
        let why = format!(
            "{} not found (CI's clone has it beside the repository)",
            script.display()
        );
        return tools::skip(TEST, &why);
    }
    if tools::require(TEST, &["tor", "tor-gencert"]).is_none() {
        return;
    }
    let server = Server::builder(SERVER).start();
    let dir = Scratch::new("carriers-tor");
    let tor =
        TorNet::start(&script, &dir.join("tornet"), server.port).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "tornet ready after {:.1?}: SOCKS 127.0.0.1:{}, {}",
        tor.started_in,
        tor.socks_port,
        tor.onion_addr()
    );
    let proxy = format!("socks5h://127.0.0.1:{}", tor.socks_port);
    let duration = 30;
    let mut p = Player::spawn(
        CLIENT,
        None,
        &tor.onion_addr(),
        "onion",
        duration,
        &["-proxy", &proxy],
        dir.path(),
    );
    let joined = p.wait_joined(Duration::from_secs(90));
    let joined = joined.unwrap_or_else(|| panic!("no join through Tor"));
    eprintln!("FIGURE join time through Tor (private network, onion service): {joined:.2?}");
    server.wait_playing_on("onion", "tcp", Duration::from_secs(60));
    let json = p.finish(duration, Duration::from_secs(60));
    eprintln!("over Tor: {json}");
    assert_eq!(json["carrier"], "tcp", "{json}");
    assert_eq!(json["desyncs"], 0, "{json}");
    assert!(json["confirmed"].as_u64().unwrap_or(0) > 0, "{json}");
    drop(tor);
}
