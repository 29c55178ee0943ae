//! What the headless and the terminal client share around their loops, so each loop does
//! only its own job (bots, status lines and recording; or the screen): where to connect
//! (`-server`, `-transport`, `-proxy`), the server key pins and the trust they give, a
//! session's configuration from the flags, a session started on its carrier, one pump of
//! it with the secure layer's key events acted on, and what a desync or a closed session
//! means for the run (the desync report written).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mio::{Registry, Token};
use venture_net::carrier::client::{ClientCarrier, ClientTarget};
use venture_net::carrier::Carrier;
use venture_net::client::{ClientConfig, ClientSession, CloseReason};
use venture_net::driver::ClientDriver;
use venture_net::secure::initiator::Trust;
use venture_sim::{PlayerInput, World};

use super::pinning::{self, ServerPins};
use super::servers::ServerList;
use super::{character_secret, default_secret_dir, targets, ClientArgs, ClientError};

/// How the run ended.
#[derive(Debug, Default)]
pub struct RunOutcome {
    /// Any client saw a desync.
    pub desynced: bool,
    /// A client could not connect (unreachable or rejected): the message says why.
    pub connect_failure: Option<String>,
    /// A client lost its server and it did not come back within `--reconnect-for`.
    pub server_lost: Option<String>,
}

impl RunOutcome {
    /// A desync of `name`'s session: noted, and `desync-NAME-tTICK.json` (the report
    /// `venture-replay diff` reads) written into `dir` with the exact snapshot beside it;
    /// returns the report's path (it, or why it could not be written, is the caller's to
    /// show).
    pub fn desync(
        &mut self,
        dir: &Path,
        name: &str,
        tick: u64,
        ours: u32,
        theirs: u32,
        state: &[u8],
    ) -> io::Result<PathBuf> {
        self.desynced = true;
        fs::create_dir_all(dir)?;
        let base = format!("desync-{}-t{tick}", name.replace(' ', "_"));
        let snap = dir.join(format!("{base}.snapshot"));
        fs::write(&snap, state)?;
        let snap_name = snap
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        // The whole state goes into the report, so `venture-replay diff REPORT SERVER_LOG`
        // names the differing fields; the exact snapshot sits beside it.
        let world = World::restore(state);
        let report = venture_replay::inspect::desync_report(
            world.as_ref().map_err(|e| e.to_string()),
            tick,
            ours,
            theirs,
            &snap_name,
        );
        let path = dir.join(format!("{base}.json"));
        fs::write(&path, format!("{report:#}\n"))?;
        Ok(path)
    }

    /// `name`'s session (in `driver`) closed for `reason`: a refusal or no answer is a
    /// failure to connect, a server that went away and did not come back is lost. Returns
    /// the line that says so (None when the player left); no answer also says what the
    /// carrier last failed at (a refused connection, a name that did not resolve, the
    /// proxy's error), if anything.
    pub fn closed(
        &mut self,
        name: &str,
        driver: &ClientDriver<ClientCarrier>,
        reason: &CloseReason,
    ) -> Option<String> {
        let session = &driver.session;
        let server = session.server();
        match reason {
            CloseReason::Rejected(_)
            | CloseReason::Unreachable
            | CloseReason::Refused(_)
            | CloseReason::VersionMismatch { .. } => {
                let carrier_error = match (reason, driver.carrier().last_error()) {
                    (CloseReason::Unreachable, Some(e)) => format!(" (last carrier error: {e})"),
                    _ => String::new(),
                };
                let msg = format!("{name}: cannot join {server}: {reason}{carrier_error}");
                self.connect_failure.get_or_insert(msg.clone());
                Some(msg)
            }
            CloseReason::Left => None,
            CloseReason::ServerTimedOut | CloseReason::ServerShuttingDown => {
                let msg = format!(
                    "{name}: lost the server {server}: {reason}{}",
                    match session.config().reconnect.give_up_after {
                        d if d.is_zero() => String::new(),
                        d => format!(" (no answer to reconnecting for {} s)", d.as_secs()),
                    }
                );
                self.server_lost.get_or_insert(msg.clone());
                Some(msg)
            }
        }
    }
}

/// The setup every client process shares, and its pins while it runs.
pub struct Shell {
    /// The addresses to try, in order (`-server A,B`).
    pub servers: ServerList,
    /// Where character secrets and the key pins live (`-secret-dir`, else the config
    /// directory).
    pub secret_dir: Option<PathBuf>,
    pins: ServerPins,
    /// What the secure layer of every session may accept, from the pins.
    pub trust: Trust,
    /// The sessions' clock origin.
    pub epoch: Instant,
}

impl Shell {
    /// The targets of `-server`, the secret directory and the key pins of `args`.
    pub fn new(args: &ClientArgs) -> Result<Shell, ClientError> {
        let servers = ServerList::new(targets(args)?);
        let secret_dir = args.secret_dir.clone().or_else(default_secret_dir);
        let pins = ServerPins::for_args(args, secret_dir.as_deref())
            .map_err(|e| ClientError::Args(e.to_string()))?;
        let trust = pins.trust();
        Ok(Shell {
            servers,
            secret_dir,
            pins,
            trust,
            epoch: Instant::now(),
        })
    }

    /// The session configuration of player `name` from the flags (its character secret
    /// loaded or created).
    pub fn config(&self, args: &ClientArgs, name: &str) -> ClientConfig {
        let mut config = ClientConfig::new(name);
        config.character_secret = character_secret(self.secret_dir.as_deref(), name);
        if let Some(v) = args.protocol_version {
            config.protocol_version = v;
        }
        config.inject_desync_at = args.inject_desync;
        config.reconnect.give_up_after = Duration::from_secs(args.reconnect_for);
        config.spectate = args.spectate;
        config
    }

    /// A session to `target` on a carrier of its own, registered under `token` (UDP) and
    /// the token after it (a stream).
    pub fn connect(
        &self,
        config: ClientConfig,
        target: &ClientTarget,
        registry: &Registry,
        token: Token,
    ) -> io::Result<ClientDriver<ClientCarrier>> {
        let carrier =
            ClientCarrier::new(target.clone(), Some((registry, token, Token(token.0 + 1))))?;
        let now = Instant::now().saturating_duration_since(self.epoch);
        let session = ClientSession::new(config, target.session_addr(), now);
        Ok(ClientDriver::with_trust(
            carrier, session, self.trust, self.epoch,
        ))
    }

    /// Pumps `driver` until its carrier has nothing pending, `input` giving one input per
    /// simulated tick, then acts on the secure layer's key events; returns what the pins
    /// have to say (a key pinned).
    pub fn pump(
        &mut self,
        driver: &mut ClientDriver<ClientCarrier>,
        input: &mut dyn FnMut(&World, u8) -> PlayerInput,
    ) -> Vec<String> {
        loop {
            driver.pump(Instant::now(), input);
            let stream = driver.carrier().is_stream();
            driver.set_stream_carrier(stream);
            if !driver.carrier_mut().take_pending() {
                break;
            }
        }
        pinning::handle_layer_events(&mut self.pins, driver)
    }
}

/// The carrier in use, for status lines ("udp/tcp" while `auto` has not chosen).
pub fn carrier_name(driver: &ClientDriver<ClientCarrier>) -> &'static str {
    driver.carrier().in_use().map_or("udp/tcp", |k| k.as_str())
}
