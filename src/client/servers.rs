//! `-server A,B`: the addresses a client tries in turn, and when it gives up on the
//! session it has and starts a new one at the next address. The headless and the
//! terminal client both go through [`Failover`].
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

use std::io;
use std::time::{Duration, Instant};

use mio::{Registry, Token};
use venture_net::carrier::client::{ClientCarrier, ClientTarget};
use venture_net::client::{ClientConfig, ClientSession, ClientStats, CloseReason, Phase};
use venture_net::driver::ClientDriver;

use super::shell::Shell;

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

/// What one [`Failover::step`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do: playing, or still waiting.
    Steady,
    /// The session a switch started is playing: the server is back (at `host:port`).
    PlayingAgain { host: String, port: u16 },
    /// The server in use was lost: a new session is trying `host:port`.
    Trying { host: String, port: u16 },
}

/// One player's sessions across `-server A,B`: the list, the configuration to start a
/// session with, the counters of the sessions left behind, and since when the server in
/// use has been lost.
#[derive(Debug)]
pub struct Failover {
    servers: ServerList,
    config: ClientConfig,
    token: Token,
    carried: ClientStats,
    lost_since: Option<Instant>,
}

impl Failover {
    /// `config` starts every session; `token` (and the one after it) registers its
    /// carrier.
    pub fn new(servers: ServerList, config: ClientConfig, token: Token) -> Failover {
        Failover {
            servers,
            config,
            token,
            carried: ClientStats::default(),
            lost_since: None,
        }
    }

    /// The addresses, and whether the session in use was started by a switch.
    pub fn servers(&self) -> &ServerList {
        &self.servers
    }

    /// Since when the server in use has been lost (`None`: playing on the session it has).
    pub fn lost_since(&self) -> Option<Instant> {
        self.lost_since
    }

    /// How long a lost server may take to come back (`-reconnect-for`, which the
    /// session's configuration carries).
    pub fn give_up(&self) -> Duration {
        self.config.reconnect.give_up_after
    }

    /// Whether a session at another address is being tried while the server is lost: its
    /// refusals and silences are part of trying until the time to come back runs out.
    pub fn trying(&self) -> bool {
        let give_up = self.give_up();
        self.lost_since
            .is_some_and(|t| t.elapsed() < give_up && !give_up.is_zero())
    }

    /// The address a switch is trying, while it has not played there yet.
    pub fn trying_at(&self) -> Option<String> {
        self.servers.switched().then(|| {
            let t = self.servers.current_target();
            format!("{}:{}", t.host, t.port)
        })
    }

    /// Counters of every session: those left behind and `session`.
    pub fn stats(&self, session: &ClientSession) -> ClientStats {
        let (a, b) = (&self.carried, session.stats());
        let mut rtt_ms = a.rtt_ms.clone();
        rtt_ms.extend_from_slice(&b.rtt_ms);
        ClientStats {
            ticks: a.ticks + b.ticks,
            confirmed: a.confirmed + b.confirmed,
            rollbacks: a.rollbacks + b.rollbacks,
            max_rollback: a.max_rollback.max(b.max_rollback),
            resimulated_ticks: a.resimulated_ticks + b.resimulated_ticks,
            desyncs: a.desyncs + b.desyncs,
            resyncs: a.resyncs + b.resyncs,
            rtt_ms,
            bytes_sent: a.bytes_sent + b.bytes_sent,
            bytes_received: a.bytes_received + b.bytes_received,
            datagrams_sent: a.datagrams_sent + b.datagrams_sent,
            datagrams_received: a.datagrams_received + b.datagrams_received,
            invalid_datagrams: a.invalid_datagrams + b.invalid_datagrams,
            late_inputs: a.late_inputs + b.late_inputs,
            prediction_stalls: a.prediction_stalls + b.prediction_stalls,
            reconnects: a.reconnects + b.reconnects,
        }
    }

    /// Leaves `driver`'s session when its server is lost and starts one at the next
    /// address, replacing `driver` (`joined`: a session of this player was ever welcomed;
    /// a first connect to a single address reports its failures as it always did). After
    /// [`give_up`](Self::give_up) lost, it stops switching and the session in use closes on
    /// its own.
    pub fn step(
        &mut self,
        driver: &mut ClientDriver<ClientCarrier>,
        shell: &Shell,
        registry: &Registry,
        joined: bool,
    ) -> io::Result<Step> {
        let give_up = self.give_up();
        let now = Instant::now();
        let t = now.saturating_duration_since(shell.epoch);
        let session = &driver.session;
        if matches!(session.phase(), Phase::Playing) && session.reconnecting(t).is_none() {
            let mut step = Step::Steady;
            if self.lost_since.is_some() && self.servers.switched() {
                self.servers.settled();
                self.carried.reconnects += 1;
                let at = self.servers.current_target();
                step = Step::PlayingAgain {
                    host: at.host.clone(),
                    port: at.port,
                };
            }
            self.lost_since = None;
            return Ok(step);
        }
        if (!joined && self.servers.len() == 1)
            || matches!(session.phase(), Phase::Closed(CloseReason::Left))
        {
            return Ok(Step::Steady);
        }
        let lost = *self.lost_since.get_or_insert(now);
        if !self.servers.should_switch(session, t) || now.saturating_duration_since(lost) >= give_up
        {
            return Ok(Step::Steady);
        }
        let next = self.servers.advance(t).clone();
        driver.session.leave();
        driver.flush(now);
        let stats = self.stats(&driver.session);
        let mut config = self.config.clone();
        // The new session gives up when the player's time to come back runs out.
        config.connect_timeout = give_up
            .saturating_sub(now.saturating_duration_since(lost))
            .max(Duration::from_secs(1));
        *driver = shell.connect(config, &next, registry, self.token)?;
        self.carried = stats;
        Ok(Step::Trying {
            host: next.host,
            port: next.port,
        })
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
