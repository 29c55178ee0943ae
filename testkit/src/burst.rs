//! Burst joins: several `venture-client --bots N` processes started at once against one
//! server, and the wait until every one of their players plays. "Playing" is read from
//! the server's `/status`: the player is listed and the server has counted inputs from it
//! (a client sends inputs only once it has its snapshot and predicts), so the figure is
//! the server's view, not a client's claim.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::{http, Proc};

/// The client processes of one burst and when they were started.
pub struct Burst {
    pub procs: Vec<Proc>,
    /// Just before the first process was spawned.
    pub started: Instant,
    pub players: usize,
}

/// What to start: `procs` processes of `bots` clients each, named `PREFIXk_i`, each
/// process with its own secret directory (`dir/secrets-PREFIXk`: character secrets and
/// key pins), playing for `duration` seconds.
#[derive(Clone, Debug)]
pub struct BurstSpec<'a> {
    pub client_bin: &'a str,
    pub server: String,
    pub procs: usize,
    pub bots: u32,
    pub duration_s: u64,
    pub prefix: &'a str,
}

impl BurstSpec<'_> {
    /// Spawns every process back to back (no waiting between them).
    pub fn spawn(&self, dir: &Path) -> Burst {
        self.spawn_with(dir, &[])
    }

    /// [`spawn`](Self::spawn), with `extra` flags for every process (`-transport tcp`).
    pub fn spawn_with(&self, dir: &Path, extra: &[&str]) -> Burst {
        let (bots, duration) = (self.bots.to_string(), self.duration_s.to_string());
        let started = Instant::now();
        let procs = (0..self.procs)
            .map(|k| {
                let tag = format!("{}{k}", self.prefix);
                let name = format!("{tag}_");
                let secrets = dir.join(format!("secrets-{tag}")).display().to_string();
                let mut args = vec![
                    "--server",
                    &self.server,
                    "--name",
                    &name,
                    "--bots",
                    &bots,
                    "--duration",
                    &duration,
                    "--status-every",
                    "0",
                    "--secret-dir",
                    &secrets,
                ];
                args.extend_from_slice(extra);
                Proc::spawn(self.client_bin, &args, dir, &tag, &[])
            })
            .collect();
        Burst {
            procs,
            started,
            players: self.procs * self.bots as usize,
        }
    }
}

/// Players on the server at `port` whose inputs it has counted, by name, from `/status`
/// (`None` when it does not answer).
pub fn playing(port: u16) -> Option<Vec<String>> {
    let (code, body) = http::get_timeout(port, "/status", Duration::from_secs(2)).ok()?;
    if code != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(body.trim()).ok()?;
    Some(
        v["players"]
            .as_array()?
            .iter()
            .filter(|p| {
                p["inputs_on_time"].as_u64().unwrap_or(0)
                    + p["inputs_substituted"].as_u64().unwrap_or(0)
                    > 0
            })
            .filter_map(|p| p["name"].as_str().map(str::to_string))
            .collect(),
    )
}

impl Burst {
    /// Polls `/status` every 20 ms until all of this burst's players (named `prefix...`)
    /// play: the time since [`Burst::started`], or, after `timeout` counted from then,
    /// how many played at the last look.
    pub fn wait_all_playing(
        &self,
        port: u16,
        prefix: &str,
        timeout: Duration,
    ) -> Result<Duration, usize> {
        let end = self.started + timeout;
        let mut last = 0;
        loop {
            if let Some(names) = playing(port) {
                last = names.iter().filter(|n| n.starts_with(prefix)).count();
                if last >= self.players {
                    return Ok(self.started.elapsed());
                }
            }
            if Instant::now() >= end {
                return Err(last);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Waits for every client process to exit and checks each of its clients: exit 0, no
/// desync, more than 20 ticks confirmed. Returns every final JSON line.
pub fn finish_all(procs: &mut [Proc], timeout: Duration) -> Vec<serde_json::Value> {
    let end = Instant::now() + timeout;
    let mut all = Vec::new();
    for p in procs.iter_mut() {
        let code = p.wait_timeout(end.saturating_duration_since(Instant::now()));
        assert_eq!(
            code,
            Some(Some(0)),
            "{} exit; stderr: {}",
            p.tag,
            p.stderr()
        );
        for v in crate::bot::json_lines(p) {
            assert_eq!(v["desyncs"], 0, "{}: {v}", p.tag);
            assert!(v["confirmed"].as_u64().unwrap_or(0) > 20, "{}: {v}", p.tag);
            all.push(v);
        }
    }
    all
}

/// `n` fighting bots in one `venture-client` process against `server` (secrets in
/// `dir/bots`), until the process is dropped; returns once the server lists `n` players.
/// A game in progress for browser pages and benches to watch or join.
pub fn fighting_bots(
    client_bin: &str,
    server: &crate::Server,
    dir: &crate::Scratch,
    n: usize,
) -> Proc {
    let count = n.to_string();
    let bots = Proc::spawn(
        client_bin,
        &[
            "-server",
            &server.addr(),
            "-bots",
            &count,
            "-bot",
            "fight",
            "-status-every",
            "0",
            "-secret-dir",
            &dir.arg("bots"),
        ],
        dir.path(),
        "bots",
        &[],
    );
    assert!(
        crate::wait_for(Duration::from_secs(30), || server
            .status()
            .is_some_and(|s| s["players"].as_array().is_some_and(|p| p.len() == n))),
        "{n} bots play"
    );
    bots
}
