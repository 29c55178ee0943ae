//! A private Tor network on loopback for tests, from `shared/tornet/tornet.sh` (beside the
//! repository: CI's clone has `../shared/tornet/tornet.sh`): started with an onion
//! service that forwards to the game server's port, stopped again when dropped (also
//! when the test fails). Its tor processes also die with the test process
//! (`TORNET_OWNER_PID`), should the drop never run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// A running network; see the module doc.
pub struct TorNet {
    script: PathBuf,
    dir: PathBuf,
    /// Tor's SOCKS5 port on 127.0.0.1.
    pub socks_port: u16,
    /// `<56 chars>.onion`.
    pub onion_host: String,
    pub onion_port: u16,
    /// How long `start` took to reach readiness.
    pub started_in: std::time::Duration,
}

/// `tornet.sh` for a repository at `manifest_dir`: `../shared/tornet/tornet.sh`.
pub fn script_beside(manifest_dir: &Path) -> PathBuf {
    manifest_dir
        .parent()
        .unwrap_or(manifest_dir)
        .join("shared/tornet/tornet.sh")
}

impl TorNet {
    /// Runs `script start dir target_port` (it waits, at most `TORNET_TIMEOUT` seconds,
    /// until a SOCKS5 CONNECT to the onion service succeeds) and reads what it printed.
    pub fn start(script: &Path, dir: &Path, target_port: u16) -> Result<TorNet, String> {
        let began = Instant::now();
        let out = Command::new("bash")
            .arg(script)
            .args([
                "start",
                &dir.display().to_string(),
                &target_port.to_string(),
            ])
            .env("TORNET_OWNER_PID", std::process::id().to_string())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        let started_in = began.elapsed();
        let mut net = TorNet {
            script: script.to_path_buf(),
            dir: dir.to_path_buf(),
            socks_port: 0,
            onion_host: String::new(),
            onion_port: 0,
            started_in,
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            // `net` is dropped here: `stop` is idempotent and ends whatever did start.
            return Err(format!(
                "tornet.sh start failed ({}):\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        for line in stdout.lines() {
            match line.split_once('=') {
                Some(("SOCKS_PORT", v)) => net.socks_port = v.trim().parse().unwrap_or(0),
                Some(("ONION_HOST", v)) => net.onion_host = v.trim().to_string(),
                Some(("ONION_PORT", v)) => net.onion_port = v.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
        if net.socks_port == 0 || net.onion_port == 0 || !net.onion_host.ends_with(".onion") {
            return Err(format!(
                "tornet.sh printed no SOCKS_PORT/ONION_HOST/ONION_PORT:\n{stdout}"
            ));
        }
        Ok(net)
    }

    /// `ONION_HOST:ONION_PORT`, for the client's `-server`.
    pub fn onion_addr(&self) -> String {
        format!("{}:{}", self.onion_host, self.onion_port)
    }
}

impl Drop for TorNet {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(&self.script)
            .args(["stop", &self.dir.display().to_string()])
            .output();
    }
}
