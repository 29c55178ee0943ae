//! Connects the client's key pins (`known_servers`, `--server-key`, `--accept-new-key`)
//! to the secure layer: which key the layer may accept before connecting, and what to
//! save, print or refuse when the layer reports the key the server presented.

use std::path::Path;

use venture_net::secure::fingerprint;
use venture_net::secure::initiator::{SecureEvent, Trust};

use super::known_servers::{check_server_key, CheckError, KnownServers, KnownServersError};
use venture_net::secure::PublicKey;

/// The pin policy of one client process towards one server.
#[derive(Debug)]
pub struct ServerPins {
    /// `None` without a config directory: keys are then trusted for the run only.
    store: Option<KnownServers>,
    server: String,
    explicit: Option<PublicKey>,
    accept_new_key: bool,
}

impl ServerPins {
    /// Reads the pins in `dir` (a missing file means none).
    pub fn open(
        dir: &Path,
        server: &str,
        explicit: Option<PublicKey>,
        accept_new_key: bool,
    ) -> Result<ServerPins, KnownServersError> {
        Ok(ServerPins {
            store: Some(KnownServers::in_dir(dir)?),
            server: server.to_string(),
            explicit,
            accept_new_key,
        })
    }

    /// The policy the client's flags ask for: pins in `config_dir` (the directory of the
    /// character secrets), `--server-key`, `--accept-new-key`.
    pub fn for_args(
        args: &super::ClientArgs,
        config_dir: Option<&Path>,
    ) -> Result<ServerPins, KnownServersError> {
        let explicit = args.server_key.as_ref().map(|f| f.0);
        match config_dir {
            Some(dir) => Self::open(dir, &args.server, explicit, args.accept_new_key),
            None => Ok(ServerPins {
                store: None,
                server: args.server.clone(),
                explicit,
                accept_new_key: args.accept_new_key,
            }),
        }
    }

    /// What the layer may accept: the operator's key, else the pin (unless told to take a
    /// new one), else whatever comes first.
    pub fn trust(&self) -> Trust {
        let pinned = self.store.as_ref().and_then(|s| s.get(&self.server));
        match (self.explicit, pinned) {
            (Some(k), _) => Trust::Pinned(k),
            (None, Some(_)) if self.accept_new_key => Trust::FirstUse,
            (None, Some(k)) => Trust::Pinned(k),
            (None, None) => Trust::FirstUse,
        }
    }

    /// Acts on one layer event: `Ok(Some(line))` to print (a key pinned), `Ok(None)` for
    /// nothing, `Err(message)` when the connection must stop (a refused key, a pin that
    /// could not be saved).
    pub fn on_event(&mut self, event: &SecureEvent) -> Result<Option<String>, String> {
        let presented = match event {
            SecureEvent::KeyPinned(k) => *k,
            SecureEvent::KeyMismatch { presented, .. } => *presented,
            SecureEvent::VersionMismatch { server_version } => {
                return Err(format!(
                    "the server speaks secure layer version {server_version}, this client {}: use the venture-client that comes with the server's version",
                    venture_net::secure::wire::LAYER_VERSION
                ))
            }
            // The layer only reports a key it had to decide on (first use); a
            // `--server-key` the server has now proved it holds is pinned here, as the
            // flag promises (nothing is written or said when it is pinned already).
            SecureEvent::Established => match self.explicit {
                Some(k) => k,
                None => return Ok(None),
            },
        };
        let Some(store) = self.store.as_mut() else {
            return match event {
                SecureEvent::KeyMismatch { expected, .. } => Err(format!(
                    "the server presented key {} but --server-key is {}: refusing to connect",
                    fingerprint(&presented),
                    fingerprint(expected)
                )),
                SecureEvent::KeyPinned(_) => Ok(Some(format!(
                    "trusting the key {} of {} for this run (no config directory to pin it in)",
                    fingerprint(&presented),
                    self.server
                ))),
                _ => Ok(None),
            };
        };
        // A mismatch is re-checked without --accept-new-key so the store gives its full
        // refusal (the layer only reports one when the pin or --server-key forbade it).
        let accept = self.accept_new_key && matches!(event, SecureEvent::KeyPinned(_));
        match check_server_key(store, &self.server, self.explicit, accept, &presented) {
            Ok(note) => Ok(note),
            Err(CheckError::Refused(refused)) => Err(refused.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Handles the layer events of one client: returns lines to print; refuses the session
/// (closing it with the reason) when its server's key is not acceptable.
pub fn handle_layer_events(
    pins: &mut ServerPins,
    driver: &mut venture_net::driver::ClientDriver<impl venture_net::carrier::Carrier>,
) -> Vec<String> {
    let mut lines = Vec::new();
    for ev in driver.take_layer_events() {
        // A `Refuse` is unauthenticated: one naming another layer version while the layer
        // keeps a session (it came during a rehandshake) may be forged by anyone who can
        // spoof the server's address, and the layer goes on with its session. Only a
        // layer that gave up (nothing to fall back on) ends the connection.
        if matches!(ev, SecureEvent::VersionMismatch { .. }) && !driver.layer_failed() {
            continue;
        }
        let verdict = pins.on_event(&ev);
        match verdict {
            Ok(Some(line)) => lines.push(line),
            Ok(None) => {}
            Err(why) => driver.session.refuse(why),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use venture_testkit::Scratch;

    const KEY: PublicKey = [0x42; 32];

    /// `--server-key` promises a pin: written once the layer is established with it.
    #[test]
    fn an_explicit_key_is_pinned_once_the_server_proved_it() {
        let dir = Scratch::new("pin-explicit");
        let mut pins = ServerPins::open(dir.path(), "127.0.0.1:9", Some(KEY), false).unwrap();
        assert_eq!(pins.trust(), Trust::Pinned(KEY));
        let line = pins.on_event(&SecureEvent::Established).unwrap();
        assert!(line.is_some_and(|l| l.contains("-server-key")));
        let store = KnownServers::in_dir(dir.path()).unwrap();
        assert_eq!(store.get("127.0.0.1:9"), Some(KEY));
        // A rehandshake: already pinned, nothing to say.
        assert_eq!(pins.on_event(&SecureEvent::Established), Ok(None));
    }

    #[test]
    fn without_an_explicit_key_established_writes_nothing() {
        let dir = Scratch::new("pin-none");
        let mut pins = ServerPins::open(dir.path(), "127.0.0.1:9", None, false).unwrap();
        assert_eq!(pins.on_event(&SecureEvent::Established), Ok(None));
        assert!(!dir.join("known_servers").exists());
    }
}
