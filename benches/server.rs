//! Process-level figures of the real `venture-server` binary (release build):
//! - time from process start to accepting players (a Hello answered with a Challenge);
//! - resident memory with 4 bot players after 30 s of play.
//!
//! Run: `cargo bench --bench server`. Uses 127.0.0.1 only.

use std::net::{TcpListener, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use venture_net::client::{ClientConfig, ClientSession, Phase};
use venture_net::driver::ClientDriver;
use venture_net::transport::udp::MioUdpSocket;

fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = udp.local_addr().expect("addr").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Time from spawning the server to its answering a real client's Hello with a
/// Challenge on the game port (UDP, through laminar): "accepting players".
fn start_to_accepting(dir: &std::path::Path) -> Duration {
    let port = free_port();
    let server_addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let socket = MioUdpSocket::bind("127.0.0.1:0".parse().expect("literal")).expect("bind");
    let epoch = Instant::now();
    let session = ClientSession::new(ClientConfig::new("probe"), server_addr, Duration::ZERO);
    let mut driver = ClientDriver::new(socket, session, epoch);
    let t0 = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_venture-server"))
        .args([
            "-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--no-replay",
            "--new-world",
            "-seed",
            "12345",
        ])
        .env("LOG_LEVEL", "error")
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
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
    let _ = child.kill();
    let _ = child.wait();
    took
}

fn main() {
    let dir = std::env::temp_dir().join(format!("venture-bench-server-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");

    let mut samples: Vec<Duration> = (0..20).map(|_| start_to_accepting(&dir)).collect();
    samples.sort();
    println!(
        "process start to accepting players (Hello->Challenge)  n=20 p50={:?} p99={:?} target <100ms {}",
        samples[10],
        samples[19],
        if samples[19] < Duration::from_millis(100) { "PASS" } else { "MISS" }
    );

    let port = free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_venture-server"))
        .args([
            "-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--new-world",
            "-seed",
            "12345",
        ])
        .env("LOG_LEVEL", "error")
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    std::thread::sleep(Duration::from_millis(300));
    let idle = rss_kib(server.id()).unwrap_or(0);
    let client = Command::new(env!("CARGO_BIN_EXE_venture-client"))
        .args([
            "--server",
            &format!("127.0.0.1:{port}"),
            "--bots",
            "4",
            "--duration",
            "30",
            "--status-every",
            "0",
            "--bot",
            "explore",
            "--secret-dir",
            &dir.join("secrets").display().to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("client starts");
    let mut peak = idle;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(29) {
        peak = peak.max(rss_kib(server.id()).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(500));
    }
    let out = client.wait_with_output().expect("client finishes");
    let text = String::from_utf8_lossy(&out.stdout);
    let desyncs: u64 = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["desyncs"].as_u64().unwrap_or(0))
        .sum();
    println!(
        "server RSS: idle {} KiB, peak with 4 bots over 30 s {} KiB ({:.1} MB) target <32MB {}  (desyncs {desyncs})",
        idle,
        peak,
        peak as f64 / 1024.0,
        if peak < 32 * 1024 { "PASS" } else { "MISS" }
    );
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
