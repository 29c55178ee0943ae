//! Process-level figures of the real `venture-server` binary (release build):
//! - time from process start to accepting players (a Hello answered with a Challenge);
//! - resident memory with 4 bot players after 30 s of play.
//!
//! Run: `cargo bench --bench server`. Uses 127.0.0.1 only.

use std::time::{Duration, Instant};

use venture_net::carrier::udp::UdpCarrier;
use venture_net::client::{ClientConfig, ClientSession, Phase};
use venture_net::driver::ClientDriver;
use venture_testkit::{bin, free_port, Proc, Scratch, Server};

fn rss_kib(pid: u32) -> Option<u64> {
    venture_testkit::rss_kib(pid, "VmRSS:")
}

/// Time from spawning the server to its answering a real client's Hello with a
/// Challenge on the game port (UDP, through the secure layer): "accepting players".
fn start_to_accepting(dir: &std::path::Path) -> Duration {
    let port = free_port();
    let server_addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let socket = UdpCarrier::bind("127.0.0.1:0".parse().expect("literal")).expect("bind");
    let epoch = Instant::now();
    let session = ClientSession::new(ClientConfig::new("probe"), server_addr, Duration::ZERO);
    let mut driver = ClientDriver::new(socket, session, epoch);
    let t0 = Instant::now();
    let server = Server::builder(bin!("venture-server"))
        .dir(dir)
        .port(port)
        .args(&["--no-replay", "--new-world", "-seed", "12345"])
        .env("LOG_LEVEL", "error")
        .spawn();
    let took = loop {
        driver.pump(Instant::now(), &mut |_, _| venture_sim::PlayerInput::IDLE);
        if !matches!(driver.session.phase(), Phase::Connecting) {
            break t0.elapsed();
        }
        if t0.elapsed() > Duration::from_secs(10) {
            break Duration::MAX;
        }
        // The client resends its Hello every 250 ms by default; probe faster than that by
        // restarting the handshake clock.
        std::thread::sleep(Duration::from_micros(500));
        if t0.elapsed().as_micros() % 5_000 < 600 {
            let session =
                ClientSession::new(ClientConfig::new("probe"), server_addr, epoch.elapsed());
            driver.session = session;
        }
    };
    drop(server);
    took
}

fn main() {
    let scratch = Scratch::new("bench-server");
    let dir = scratch.path();

    let mut samples: Vec<Duration> = (0..20).map(|_| start_to_accepting(dir)).collect();
    samples.sort();
    println!(
        "process start to accepting players (Hello->Challenge)  n=20 p50={:?} p99={:?} target <100ms {}",
        samples[10],
        samples[19],
        if samples[19] < Duration::from_millis(100) { "PASS" } else { "MISS" }
    );

    let server = Server::builder(bin!("venture-server"))
        .dir(dir)
        .args(&["--new-world", "-seed", "12345"])
        .env("LOG_LEVEL", "error")
        .start();
    let idle = rss_kib(server.pid()).unwrap_or(0);
    let client = Proc::spawn(
        bin!("venture-client"),
        &[
            "--server",
            &server.addr(),
            "--bots",
            "4",
            "--duration",
            "30",
            "--status-every",
            "0",
            "--bot",
            "explore",
            "--secret-dir",
            &scratch.arg("secrets"),
        ],
        dir,
        "client",
        &[],
    );
    let mut peak = idle;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(29) {
        peak = peak.max(rss_kib(server.pid()).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(500));
    }
    let mut client = client;
    client.wait_exit(Duration::from_secs(60));
    let desyncs: u64 = venture_testkit::bot::json_lines(&client)
        .iter()
        .map(|v| v["desyncs"].as_u64().unwrap_or(0))
        .sum();
    println!(
        "server RSS: idle {} KiB, peak with 4 bots over 30 s {} KiB ({:.1} MB) target <32MB {}  (desyncs {desyncs})",
        idle,
        peak,
        peak as f64 / 1024.0,
        if peak < 32 * 1024 { "PASS" } else { "MISS" }
    );
}
