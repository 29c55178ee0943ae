//! The client session's settings: who joins, how far it may predict, how it paces and
//! retries, and what it reports. [`ClientConfig::new`] holds the defaults.

use std::time::Duration;

use super::follow::FollowConfig;
use super::reconnect::ReconnectPolicy;
use crate::protocol;

#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub name: String,
    /// Proves ownership of a saved character across sessions.
    pub character_secret: [u8; 16],
    /// The prediction window: most ticks predicted past the last confirmed one; beyond
    /// it the client waits. `None` (the default) adapts it to the round trip, up to 8 s
    /// of ticks.
    pub prediction_window: Option<usize>,
    /// How many ticks early inputs should reach the server at the slowest recent
    /// delivery (each input then rides in that many timely datagrams).
    pub jitter_margin_ticks: i64,
    /// Most inputs repeated in one datagram.
    pub input_redundancy: usize,
    /// Handshake messages are re-sent at this interval until answered.
    pub handshake_retry: Duration,
    /// Give up if the handshake has not completed in this time.
    pub connect_timeout: Duration,
    /// Give up if nothing is heard from the server for this long while playing.
    pub server_timeout: Duration,
    pub ping_interval: Duration,
    /// Emit [`super::ClientEvent::Confirmed`] for every confirmed tick (for recording).
    pub report_confirmed: bool,
    /// With `report_confirmed`: each `Confirmed` also carries its [`super::Story`] (the
    /// step's events and names), for a narrator. Off, nothing is copied or built per tick.
    pub narrate: bool,
    /// Protocol version written in our datagram headers. Only diagnostics and tests set it
    /// to anything but [`protocol::PROTOCOL_VERSION`] (to see a mismatch handled).
    pub protocol_version: u16,
    /// What to do when the server goes silent or shuts down.
    pub reconnect: ReconnectPolicy,
    /// Diagnostics only (`venture-client --inject-desync TICK`): right after confirming the
    /// first tick at or after this one, alter the confirmed world
    /// ([`venture_sim::World::inject_fault_for_diagnostics`]) before its checksum is compared, so the
    /// whole desync path runs: detection at that tick, the report, the resync, and
    /// confirming again. Once per session; `None` (the default) never.
    pub inject_desync_at: Option<u64>,
    /// Watch instead of play (protocol 5): join with `Spectate`, send no inputs, predict
    /// nothing; confirmed frames are applied and verified as they come.
    pub spectate: bool,
    /// Follow as a hot standby (protocol 7; see [`super::follow`]): watch like a spectator,
    /// admitted by a proof of the server key, and receive the saved characters
    /// ([`super::ClientEvent::Claim`]).
    pub follow: Option<FollowConfig>,
}

impl ClientConfig {
    pub fn new(name: impl Into<String>) -> Self {
        ClientConfig {
            name: name.into(),
            character_secret: [0; 16],
            prediction_window: None,
            jitter_margin_ticks: 3,
            input_redundancy: 8,
            handshake_retry: Duration::from_millis(250),
            connect_timeout: Duration::from_secs(15),
            server_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_millis(500),
            report_confirmed: false,
            narrate: false,
            protocol_version: protocol::PROTOCOL_VERSION,
            reconnect: ReconnectPolicy::default(),
            inject_desync_at: None,
            spectate: false,
            follow: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::rtt;
    use super::super::tests::Link;
    use super::*;

    #[test]
    fn a_fixed_prediction_window_holds_and_the_default_follows_the_round_trip() {
        let mut fixed = ClientConfig::new("ada");
        fixed.prediction_window = Some(5);
        let mut link = Link::new(fixed);
        link.play();
        assert_eq!(link.client.prediction_window(), 5);

        let mut link = Link::new(ClientConfig::new("bob"));
        link.play();
        let rtt = link.client.rtt().expect("the Welcome measured it");
        let mut estimate = rtt::RttEstimator::default();
        estimate.on_sample(rtt);
        assert_eq!(
            link.client.prediction_window(),
            rtt::prediction_window(&estimate, Duration::from_millis(50))
        );
    }
}
