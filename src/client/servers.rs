//! `-server A,B`: the addresses a headless client tries in turn, and when it gives up on
//! the session it has and starts a new one at the next address.
//!
//! A primary and its hot standby without a virtual IP are two addresses. When the server
//! has been silent for [`SWITCH_AFTER`] while playing (it died, froze, or was replaced;
//! never while a snapshot is still coming), or a new session got no answer, the client
//! says `Leave` on the old session (an alive server frees the slot at once) and starts a
//! new session, with a new secure handshake, at the next address; with one address, at
//! the same one (a restarted or promoted server there has forgotten the old secure
//! session, and waiting for the layer's own rehandshake would take 3 s). A new session
//! that is refused or gets no answer moves on again after [`SWITCH_AFTER`]; with a single
//! address it is left to its own handshake retries until it closes.

use std::time::Duration;

use venture_net::carrier::client::ClientTarget;
use venture_net::client::{ClientSession, Phase};

/// Silence of the server after which the client tries the next address.
pub const SWITCH_AFTER: Duration = Duration::from_millis(1500);

/// The addresses (each with how to reach it), the one in use, and when the client last
/// moved.
#[derive(Clone, Debug)]
pub struct ServerList {
    addrs: Vec<ClientTarget>,
    index: usize,
    /// When the current session was started by a switch (`None`: the first session).
    switched_at: Option<Duration>,
}

impl ServerList {
    /// The targets of `-server A,B` (at least one: [`super::targets`] refuses none).
    pub fn new(addrs: Vec<ClientTarget>) -> ServerList {
        ServerList {
            addrs,
            index: 0,
            switched_at: None,
        }
    }

    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    /// The target in use.
    pub fn current_target(&self) -> &ClientTarget {
        &self.addrs[self.index]
    }

    /// Whether to leave `session` and start over at the next address now.
    pub fn should_switch(&self, session: &ClientSession, now: Duration) -> bool {
        match session.phase() {
            // Playing: only once the session itself has found the server silent.
            Phase::Playing if session.reconnecting(now).is_none() => return false,
            // Welcomed and receiving its snapshot: the server holds the session; a slow
            // transfer (a burst of joins) is not a lost server.
            Phase::Syncing => return false,
            _ => {}
        }
        let waited = self
            .switched_at
            .is_none_or(|t| now.saturating_sub(t) >= SWITCH_AFTER);
        let closed = session.is_closed();
        if self.addrs.len() == 1 && self.switched_at.is_some() && !closed {
            // One address and a new session already trying it: let it retry.
            return false;
        }
        waited && (closed || session.silent_for(now) >= SWITCH_AFTER)
    }

    /// Moves to the next address (the same one when there is only one).
    pub fn advance(&mut self, now: Duration) -> &ClientTarget {
        self.index = (self.index + 1) % self.addrs.len();
        self.switched_at = Some(now);
        self.current_target()
    }

    /// Whether the session in use was started by a switch.
    pub fn switched(&self) -> bool {
        self.switched_at.is_some()
    }

    /// The session at the current address is playing: the next loss starts afresh.
    pub fn settled(&mut self) {
        self.switched_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientError;
    use crate::flags::Parsed;
    use std::net::SocketAddr;
    use venture_net::client::ClientConfig;

    /// `-server TEXT` as the client reads it.
    fn list(text: &str) -> Result<ServerList, ClientError> {
        let args = match super::super::SPEC.parse(["-server".to_string(), text.to_string()]) {
            Ok(Parsed::Run(args)) => args,
            _ => panic!("-server {text:?} is a valid flag"),
        };
        super::super::targets(&args).map(ServerList::new)
    }

    impl ServerList {
        /// The address in use (as the sessions know it).
        fn current(&self) -> SocketAddr {
            self.current_target().session_addr()
        }
    }

    #[test]
    fn lists_parse_and_turn() {
        let mut l = list("127.0.0.1:1, 127.0.0.1:2").expect("parses");
        assert_eq!(l.current().port(), 1);
        assert_eq!(l.advance(Duration::ZERO).port, 2);
        assert_eq!(l.advance(Duration::ZERO).port, 1);
        assert!(list(" , ").is_err());
        assert!(list("127.0.0.1:1,nonsense").is_err());
    }

    #[test]
    fn a_silent_server_is_left_after_the_switch_time() {
        let mut l = list("127.0.0.1:1,127.0.0.1:2").expect("parses");
        let s = ClientSession::new(ClientConfig::new("a"), l.current(), Duration::ZERO);
        assert!(!l.should_switch(&s, Duration::from_millis(1000)));
        assert!(l.should_switch(&s, SWITCH_AFTER));
        l.advance(SWITCH_AFTER);
        let s = ClientSession::new(ClientConfig::new("a"), l.current(), SWITCH_AFTER);
        assert!(!l.should_switch(&s, SWITCH_AFTER + Duration::from_millis(500)));
        assert!(l.should_switch(&s, SWITCH_AFTER * 2));
        // One address: one fresh session, then its own retries.
        let mut one = list("127.0.0.1:1").expect("parses");
        let s = ClientSession::new(ClientConfig::new("a"), one.current(), Duration::ZERO);
        assert!(one.should_switch(&s, SWITCH_AFTER));
        one.advance(SWITCH_AFTER);
        let s = ClientSession::new(ClientConfig::new("a"), one.current(), SWITCH_AFTER);
        assert!(!one.should_switch(&s, SWITCH_AFTER * 4));
    }
}
