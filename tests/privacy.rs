//! Privacy and the server key, with the real binary:
//! - `/status` shows a player's IP address to a request from loopback and to nobody
//!   else: the same server, bound to 0.0.0.0, asked from 127.0.0.1 and from this
//!   machine's own non-loopback address; `/metrics` carries no address at all;
//! - the server key: generated into the saves directory on first start (mode 0600), its
//!   fingerprint in the start log line and in `/status`, the same after a restart; a
//!   damaged or too-open key file stops the server (exit 1, naming the file) and is left
//!   as it was.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::time::Duration;

use venture_testkit::{bin, free_port, wait_for, Bot, Scratch, Server};

const SERVER: &str = bin!("venture-server");

/// `GET path` on `ip:port`: (status, body, the local address the request came from).
fn get_from(ip: IpAddr, port: u16, path: &str) -> (u16, String, SocketAddr) {
    let addr = SocketAddr::new(ip, port);
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let local = s.local_addr().expect("local addr");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read");
    let (status, body) = venture_testkit::http::parse_response(&buf).expect("HTTP response");
    (status, body, local)
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body.trim()).expect("JSON")
}

/// This machine's own non-loopback address: the source address the kernel would use
/// toward a public address (a UDP `connect` sends nothing).
fn own_non_loopback_ip() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// The `server_key` field of the server's start log line.
fn start_line_key(server: &Server) -> Option<String> {
    server.stdout().lines().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        (v["msg"] == "Starting Venture Game Server")
            .then(|| v["server_key"].as_str().map(str::to_string))
            .flatten()
    })
}

fn is_fingerprint(s: &str) -> bool {
    s.len() == 64
        && s.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

#[test]
fn status_shows_player_addresses_to_loopback_only() {
    let dir = Scratch::new("privacy");
    let port = free_port();
    let mut server = Server::builder(SERVER)
        .persisting_in(dir.path())
        .port(port)
        .exact_args()
        .args(&[
            "-port",
            &port.to_string(),
            "--bind",
            "0.0.0.0",
            "-seed",
            "7",
        ])
        .spawn();
    server.wait_healthy(venture_testkit::server::START_TIMEOUT);
    let mut bot = Bot::join("privy", port);
    let loopback = IpAddr::from([127, 0, 0, 1]);
    let joined = wait_for(Duration::from_secs(30), || {
        bot.pump();
        let (_, body, _) = get_from(loopback, port, "/status");
        json(&body)["players"]
            .as_array()
            .is_some_and(|p| p.len() == 1)
    });
    assert!(joined, "the bot never showed in /status");

    // From loopback: the address is there, and it is the bot's.
    bot.pump(); // keeps the player connected however slow the machine is
    let (status, body, _) = get_from(loopback, port, "/status");
    assert_eq!(status, 200);
    let local = json(&body);
    let player = &local["players"][0];
    assert_eq!(player["name"], "privy", "{local}");
    let addr = player["addr"].as_str().expect("addr shown to loopback");
    let bot_addr: SocketAddr = addr.parse().expect("a socket address");
    assert!(bot_addr.ip().is_loopback(), "{addr}");
    let key = local["server_key"]
        .as_str()
        .expect("server_key")
        .to_string();
    assert!(is_fingerprint(&key), "{key}");
    assert_eq!(start_line_key(&server).as_deref(), Some(key.as_str()));

    // /metrics carries no address, not even from loopback.
    bot.pump();
    let (status, metrics, _) = get_from(loopback, port, "/metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("venture_players 1"), "{metrics}");
    assert!(
        !metrics.contains(addr),
        "the player's address is in /metrics"
    );
    assert!(!metrics.contains("127.0.0.1"), "an address is in /metrics");

    // From this machine's own non-loopback address: the same player, no address.
    let Some(own) = own_non_loopback_ip() else {
        println!("skipped the non-loopback half: this machine has no non-loopback address (no route toward 192.0.2.1)");
        return;
    };
    bot.pump();
    let (status, body, from) = get_from(own, port, "/status");
    assert_eq!(status, 200);
    assert_eq!(
        from.ip(),
        own,
        "the request must come from a non-loopback address"
    );
    let remote = json(&body);
    let player = &remote["players"][0];
    assert_eq!(player["name"], "privy", "{remote}");
    assert!(
        player.get("addr").is_none(),
        "addr shown to {own}: {remote}"
    );
    assert!(
        !body.contains(addr),
        "the address appears elsewhere: {body}"
    );
    assert_eq!(remote["server_key"].as_str(), Some(key.as_str()));
    assert_eq!(player["slot"], local["players"][0]["slot"]);
    bot.pump();
    let (_, metrics, _) = get_from(own, port, "/metrics");
    assert!(!metrics.contains(addr) && !metrics.contains(&own.to_string()));
    bot.leave();
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o7777
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Starts a server on `dir`'s saves, expecting it to refuse to start: (exit code, output).
fn refused_start(dir: &Path, tag: &str) -> (Option<i32>, String) {
    let mut server = Server::builder(SERVER).persisting_in(dir).tag(tag).spawn();
    let code = server
        .wait_exit(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("{tag}: the server started with a bad key file"))
        .code();
    (code, format!("{}{}", server.stdout(), server.stderr()))
}

#[cfg(unix)]
#[test]
fn the_server_key_is_kept_in_the_saves_dir_and_a_bad_one_stops_the_server() {
    let dir = Scratch::new("server-key");
    let key_file = dir.join("saves").join("server.key");
    let fingerprint_of = |server: &Server| {
        server.status().expect("/status")["server_key"]
            .as_str()
            .expect("server_key")
            .to_string()
    };

    let mut first = Server::builder(SERVER)
        .persisting_in(dir.path())
        .tag("first")
        .start();
    let key = fingerprint_of(&first);
    assert!(is_fingerprint(&key), "{key}");
    assert_eq!(mode(&key_file), 0o600);
    let text = std::fs::read_to_string(&key_file).expect("key file");
    assert!(text.starts_with("venture-server-key v1\n"), "{text}");
    assert!(text.contains(&format!("\npublic {key}\n")), "{text}");
    assert!(first.stdout().contains("server key generated"));
    assert!(first.signal("TERM"));
    assert!(first.wait_exit(Duration::from_secs(30)).is_some());

    let mut second = Server::builder(SERVER)
        .persisting_in(dir.path())
        .tag("second")
        .start();
    assert_eq!(
        fingerprint_of(&second),
        key,
        "the key changed across a restart"
    );
    assert_eq!(start_line_key(&second).as_deref(), Some(key.as_str()));
    assert!(second.stdout().contains("server key loaded"));
    assert!(second.signal("TERM"));
    assert!(second.wait_exit(Duration::from_secs(30)).is_some());

    // Too open: refused, named, left as it is.
    chmod(&key_file, 0o644);
    let (code, out) = refused_start(dir.path(), "too-open");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(&key_file.display().to_string()), "{out}");
    assert!(out.contains("chmod 600"), "{out}");
    assert_eq!(std::fs::read_to_string(&key_file).expect("kept"), text);
    chmod(&key_file, 0o600);

    // Damaged: refused, named with the line, never overwritten.
    let damaged = text.replacen("\nprivate ", "\nprivate 00", 1);
    std::fs::write(&key_file, &damaged).expect("damage");
    let (code, out) = refused_start(dir.path(), "damaged");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(&key_file.display().to_string()), "{out}");
    assert!(out.contains("line 4"), "{out}");
    assert_eq!(std::fs::read_to_string(&key_file).expect("kept"), damaged);
}
