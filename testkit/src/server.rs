//! The real `venture-server` for tests and benches: started on a free loopback port (or a
//! given one, for restarts), waited on until `/healthz` answers, killed when dropped.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{http, Proc, Scratch};

/// How long a server may take to answer `/healthz` on a loaded machine.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What to start; see [`Server::builder`].
pub struct ServerBuilder {
    bin: String,
    dir: Option<PathBuf>,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    port: Option<u16>,
    ip: IpAddr,
    tag: String,
    exact_args: bool,
}

/// A running server: its process (output in files, killed on drop) and its port.
pub struct Server {
    pub proc: Proc,
    pub port: u16,
    /// The address it listens on (127.0.0.1 unless [`ServerBuilder::bind`] said otherwise).
    pub ip: IpAddr,
    // Declared after `proc`, so a failing test prints the logs before they are removed.
    _scratch: Option<Scratch>,
}

impl ServerBuilder {
    /// Working directory (saves, replays and logs go there). Without it, the server gets
    /// a scratch directory of its own.
    pub fn dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_path_buf());
        self
    }

    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn args<S: AsRef<str>>(mut self, args: &[S]) -> Self {
        self.args
            .extend(args.iter().map(|a| a.as_ref().to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    pub fn envs(mut self, envs: &[(&str, &str)]) -> Self {
        for (k, v) in envs {
            self = self.env(k, v);
        }
        self
    }

    /// Saves and session logs under `dir` (`--saves-dir dir/saves --replay-dir
    /// dir/replays`), which is also the working directory.
    pub fn persisting_in(self, dir: &Path) -> Self {
        let saves = dir.join("saves").display().to_string();
        let replays = dir.join("replays").display().to_string();
        self.dir(dir)
            .args(&["--saves-dir", &saves, "--replay-dir", &replays])
    }

    /// Listen on this port (a restart on the same address) instead of a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Listen on this address instead of 127.0.0.1 (e.g. the host's end of a test
    /// namespace's veth); the port is still picked free on loopback.
    pub fn bind(mut self, ip: IpAddr) -> Self {
        self.ip = ip;
        self
    }

    /// The name of the log files (`TAG.out`, `TAG.err`); default "server".
    pub fn tag(mut self, tag: &str) -> Self {
        self.tag = tag.into();
        self
    }

    /// Pass the arguments exactly as given: no `-port P --bind 127.0.0.1` in front (for
    /// command-line tests; the port given with [`port`](Self::port) is where to find it).
    pub fn exact_args(mut self) -> Self {
        self.exact_args = true;
        self
    }

    /// Starts the process without waiting for it to answer.
    pub fn spawn(self) -> Server {
        let port = self.port.unwrap_or_else(crate::free_port);
        let (scratch, dir) = match self.dir {
            Some(d) => (None, d),
            None => {
                let s = Scratch::new("server");
                let d = s.path().to_path_buf();
                (Some(s), d)
            }
        };
        let mut args = Vec::new();
        if !self.exact_args {
            args.extend(["-port".to_string(), port.to_string()]);
            args.extend(["--bind".to_string(), self.ip.to_string()]);
        }
        args.extend(self.args);
        let envs: Vec<(&str, &str)> = self
            .envs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Server {
            proc: Proc::spawn(&self.bin, &args, &dir, &self.tag, &envs),
            port,
            ip: self.ip,
            _scratch: scratch,
        }
    }

    /// Starts the process and waits until `/healthz` answers 200.
    pub fn start(self) -> Server {
        let mut server = self.spawn();
        server.wait_healthy(START_TIMEOUT);
        server
    }
}

impl Server {
    /// A server from the binary at `bin` (use `venture_testkit::bin!("venture-server")`).
    pub fn builder(bin: &str) -> ServerBuilder {
        ServerBuilder {
            bin: bin.into(),
            dir: None,
            args: Vec::new(),
            envs: Vec::new(),
            port: None,
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            tag: "server".into(),
            exact_args: false,
        }
    }

    /// Waits until `/healthz` answers 200; panics with the server's output if it exits
    /// first or `timeout` passes.
    pub fn wait_healthy(&mut self, timeout: Duration) {
        let end = Instant::now() + timeout;
        loop {
            if let Ok((200, _)) = http::get_at(self.sockaddr(), "/healthz", Duration::from_secs(2))
            {
                return;
            }
            if let Some(status) = self.proc.try_exit() {
                panic!("{} exited early with {status}", self.proc.tag);
            }
            assert!(
                Instant::now() < end,
                "{} not healthy after {timeout:?}",
                self.proc.tag
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET path`, panicking (with the server's output) if it cannot be answered.
    pub fn get(&self, path: &str) -> (u16, String) {
        self.try_get(path)
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// `GET path`, or the error.
    pub fn try_get(&self, path: &str) -> std::io::Result<(u16, String)> {
        http::get_at(self.sockaddr(), path, Duration::from_secs(5))
    }

    /// `/status` as JSON, if it answers 200 with valid JSON.
    pub fn status(&self) -> Option<serde_json::Value> {
        match self.try_get("/status") {
            Ok((200, body)) => serde_json::from_str(body.trim()).ok(),
            _ => None,
        }
    }

    /// The `/status` entry of the player named `name`, if listed.
    pub fn player(&self, name: &str) -> Option<serde_json::Value> {
        self.status()?["players"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
    }

    /// Waits until `/status` lists `name` on `carrier` (`udp`, `tcp`, `ws`) with inputs
    /// counted from it: its entry, or a panic with the last one seen after `timeout`.
    pub fn wait_playing_on(
        &self,
        name: &str,
        carrier: &str,
        timeout: Duration,
    ) -> serde_json::Value {
        let mut last = None;
        let ok = crate::wait_for(timeout, || {
            last = self.player(name);
            last.as_ref().is_some_and(|p| {
                p["carrier"] == carrier
                    && p["inputs_on_time"].as_u64().unwrap_or(0)
                        + p["inputs_substituted"].as_u64().unwrap_or(0)
                        > 0
            })
        });
        assert!(ok, "{name} not playing on {carrier} per /status: {last:?}");
        last.expect("checked above")
    }

    /// The `tick` field of `/status`.
    pub fn tick(&self) -> Option<u64> {
        self.status()?["tick"].as_u64()
    }

    /// `IP:PORT` (`127.0.0.1:PORT` by default) for clients.
    pub fn addr(&self) -> String {
        self.sockaddr().to_string()
    }

    /// The address it listens on.
    pub fn sockaddr(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }
}

impl Deref for Server {
    type Target = Proc;
    fn deref(&self) -> &Proc {
        &self.proc
    }
}

impl DerefMut for Server {
    fn deref_mut(&mut self) -> &mut Proc {
        &mut self.proc
    }
}
