//! Shared helpers of the `ops_*` integration tests: start the real `venture-server` on a
//! free loopback port, read its stdout, talk HTTP to it, signal it, and always kill it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_venture-server");

/// A port free for both UDP and TCP on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP");
}

/// A running server; killed (SIGCONT then SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub stdout: Arc<Mutex<Vec<String>>>,
    pub stderr: Arc<Mutex<Vec<String>>>,
    /// The server's own working directory (its saves and replays): servers of parallel
    /// tests on one seed would otherwise share a world, which the world lock refuses.
    pub dir: std::path::PathBuf,
}

/// A fresh working directory for one server, removed when the server is dropped.
fn server_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("venture-ops-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("server dir");
    dir
}

fn collect(r: impl Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let out = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { return };
            out.lock().unwrap().push(line);
        }
    });
    lines
}

impl Server {
    /// Starts `venture-server -bind 127.0.0.1 -port PORT ARGS...` with `ENV`, LOG_* unset
    /// unless given.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        let port = free_port();
        Self::start_raw(
            port,
            &[&["-bind", "127.0.0.1", "-port", &port.to_string()], args].concat(),
            env,
        )
    }

    /// Starts the binary with exactly these arguments (`port` is where to find it).
    pub fn start_raw(port: u16, args: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = server_dir();
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_remove("LOG_LEVEL")
            .env_remove("LOG_FORMAT")
            .env_remove("AGONES_SDK_HTTP_PORT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .current_dir(&dir);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn venture-server");
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Server {
            child,
            port,
            stdout,
            stderr,
            dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.port, path)
            .unwrap_or_else(|e| panic!("GET {path}: {e}; stderr: {:?}", self.stderr_lines()))
    }

    /// Waits until `/healthz` answers 200 (panics after `timeout`).
    pub fn wait_healthy(&mut self, timeout: Duration) {
        let end = Instant::now() + timeout;
        loop {
            if let Ok((200, _)) = http_get(self.port, "/healthz") {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "server exited early with {status}; stderr: {:?}; stdout: {:?}",
                    self.stderr_lines(),
                    self.stdout_lines()
                );
            }
            assert!(
                Instant::now() < end,
                "server not healthy after {timeout:?}; stdout: {:?}",
                self.stdout_lines()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(ok.success(), "kill -{sig} failed");
    }

    /// Waits for the process to exit, at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                // Let the reader threads drain the pipes.
                std::thread::sleep(Duration::from_millis(100));
                return Some(s);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until some stdout line satisfies `f`.
    pub fn wait_stdout(&self, timeout: Duration, f: impl Fn(&str) -> bool) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.stdout_lines().iter().any(|l| f(l)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-CONT", &self.pid().to_string()])
                .status();
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs the binary to completion (for flag errors): (exit code, stdout, stderr). Killed
/// after `timeout` (then the code is None).
pub fn run_to_exit(args: &[&str], timeout: Duration) -> (Option<i32>, String, String) {
    let mut s = Server::start_raw(0, args, &[]);
    let status = s.wait_exit(timeout);
    let code = status.and_then(|s| s.code());
    (
        code,
        s.stdout_lines().join("\n"),
        s.stderr_lines().join("\n"),
    )
}

/// One HTTP/1.1 GET to 127.0.0.1:port with 3 s timeouts: (status, body).
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    http_get_timeout(port, path, Duration::from_secs(3))
}

pub fn http_get_timeout(
    port: u16,
    path: &str,
    timeout: Duration,
) -> std::io::Result<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("no header end: {text:?}"),
        )
    })?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("bad status line: {head:?}"),
            )
        })?;
    Ok((status, body.to_string()))
}

/// A real game client (venture-net's client session over UDP on loopback).
pub struct Bot {
    pub driver: venture_net::driver::ClientDriver<venture_net::transport::udp::MioUdpSocket>,
}

impl Bot {
    pub fn new(name: &str, port: u16) -> Bot {
        use venture_net::client::{ClientConfig, ClientSession};
        let server = SocketAddr::from(([127, 0, 0, 1], port));
        let socket =
            venture_net::transport::udp::MioUdpSocket::bind("127.0.0.1:0".parse().unwrap())
                .unwrap();
        let session = ClientSession::new(ClientConfig::new(name), server, Duration::ZERO);
        Bot {
            driver: venture_net::driver::ClientDriver::new(socket, session, Instant::now()),
        }
    }

    pub fn pump(&mut self) {
        let mut idle = |_: &venture_sim::World, _: u8| venture_sim::PlayerInput::default();
        self.driver.pump(Instant::now(), &mut idle);
    }

    /// Pumps every 5 ms until `f` holds; false after `timeout`.
    pub fn pump_until(
        &mut self,
        timeout: Duration,
        f: impl Fn(&venture_net::client::Phase) -> bool,
    ) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            self.pump();
            if f(self.driver.session.phase()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    /// Connects and waits until playing.
    pub fn join(name: &str, port: u16) -> Bot {
        let mut bot = Bot::new(name, port);
        let ok = bot.pump_until(Duration::from_secs(10), |p| {
            *p == venture_net::client::Phase::Playing
        });
        assert!(
            ok,
            "bot {name} did not reach Playing: {:?}",
            bot.driver.session.phase()
        );
        bot
    }

    /// Leaves and pumps a little so the goodbye goes out.
    pub fn leave(mut self) {
        self.driver.session.leave();
        self.pump_until(Duration::from_millis(500), |p| {
            matches!(p, venture_net::client::Phase::Closed(_))
        });
        for _ in 0..10 {
            self.pump();
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends one laminar-framed unreliable datagram with this payload.
    pub fn send_raw(&mut self, payload: Vec<u8>) {
        let server = self.driver.session.server();
        self.driver.endpoint.send_unreliable(server, payload);
        self.driver.endpoint.poll(Instant::now());
    }
}
