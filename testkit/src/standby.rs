//! A primary and its hot standby on one host, for the standby tests and bench: the
//! server key copied from the primary's saves, the standby started with `-standby-of`
//! (serving its HTTP on a port of its own while it follows), and waits on its `/status`.

use std::path::Path;
use std::time::Duration;

use crate::{http_get, wait_for, Server};

/// Copies `primary/saves/server.key` into `standby/saves/` (mode 0600), as an operator
/// does once when setting up the pair.
pub fn copy_key(primary: &Path, standby: &Path) {
    let saves = standby.join("saves");
    std::fs::create_dir_all(&saves).expect("create the standby's saves");
    let to = saves.join("server.key");
    std::fs::copy(primary.join("saves/server.key"), &to).expect("copy server.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}

/// `/status` from `port` as JSON, if it answers.
pub fn status(port: u16) -> Option<serde_json::Value> {
    let (_, body) = http_get(port, "/status").ok()?;
    serde_json::from_str(&body).ok()
}

/// Starts `venture-server` (`bin`) in `dir` as the standby of the primary on
/// `primary_port`, serving `port` once promoted and its HTTP on `http_port` until then,
/// with `extra` flags; waits until it follows.
pub fn start_standby(
    bin: &str,
    dir: &Path,
    primary_port: u16,
    port: u16,
    http_port: u16,
    extra: &[&str],
) -> Server {
    let primary = format!("127.0.0.1:{primary_port}");
    let http = http_port.to_string();
    let standby = Server::builder(bin)
        .persisting_in(dir)
        .port(port)
        .tag("standby")
        .args(&["--standby-of", &primary, "--standby-http-port", &http])
        .args(extra)
        .spawn();
    assert!(
        wait_for(Duration::from_secs(30), || status(http_port)
            .is_some_and(|s| s["phase"] == "following")),
        "the standby did not start following: {}",
        standby.stderr()
    );
    standby
}
