//! What the client session says to its shell: where it is ([`Phase`]), why it closed
//! ([`CloseReason`], worded for people), what happened ([`ClientEvent`]), and its counters
//! ([`ClientStats`]).

use venture_sim::event::Event;
use venture_sim::glossary::Glossary;
use venture_sim::{Frame, World, SIM_VERSION};

use crate::protocol::{self, RejectReason};

/// Where the session is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    Connecting,
    Joining {
        cookie: [u8; 16],
    },
    /// Admitted; waiting for a snapshot to start from.
    Syncing,
    Playing,
    Closed(CloseReason),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    Rejected(RejectReason),
    ServerShuttingDown,
    /// No answer to the handshake in time.
    Unreachable,
    /// The connection was refused beneath the game protocol (the server's key is not the
    /// one pinned, or it speaks another secure layer version): the reason, for people.
    Refused(String),
    /// The server went silent while playing (and did not come back within the
    /// reconnect policy's time, when reconnecting is on).
    ServerTimedOut,
    /// We left.
    Left,
    /// The server speaks another protocol version than the one we announced.
    VersionMismatch {
        server_protocol: u16,
        client_protocol: u16,
    },
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            CloseReason::Rejected(RejectReason::Full) => write!(f, "rejected: the server is full"),
            CloseReason::Rejected(RejectReason::VersionMismatch { server_protocol, server_sim }) => {
                write!(f, "rejected: version mismatch (server protocol {server_protocol}")?;
                if *server_sim != 0 {
                    write!(f, ", simulation {server_sim}")?;
                }
                write!(f, "; this client protocol {}, simulation {SIM_VERSION})", protocol::PROTOCOL_VERSION)
            }
            CloseReason::Rejected(RejectReason::NameTaken) => {
                write!(f, "rejected: that name is in use or belongs to another player's saved character")
            }
            CloseReason::Rejected(RejectReason::SpectatorsFull { max }) => write!(
                f,
                "rejected: the server allows {max} spectators and all places are taken"
            ),
            CloseReason::Rejected(RejectReason::AwaitingAllocation) => write!(
                f,
                "rejected: the server is waiting for an allocation (its world is not chosen yet)"
            ),
            CloseReason::Rejected(RejectReason::FollowerRefused) => write!(
                f,
                "rejected: the primary refused our proof (its server.key is not ours, or it takes no followers)"
            ),
            CloseReason::Rejected(RejectReason::Replaced) => {
                write!(f, "the server acknowledged that it was replaced")
            }
            CloseReason::Rejected(r) => write!(f, "rejected: {r:?}"),
            CloseReason::ServerShuttingDown => write!(f, "the server is shutting down"),
            CloseReason::Unreachable => write!(f, "no answer from the server"),
            CloseReason::Refused(why) => write!(f, "{why}"),
            CloseReason::ServerTimedOut => write!(f, "the server stopped answering"),
            CloseReason::Left => write!(f, "left the game"),
            CloseReason::VersionMismatch { server_protocol, client_protocol } => write!(
                f,
                "version mismatch: the server speaks protocol {server_protocol}, this client protocol {client_protocol}"
            ),
        }
    }
}

/// What a confirmed step means to a narrator (the message log's source: no need to step
/// a world of one's own).
#[derive(Clone, Debug)]
pub struct Story {
    /// What stepping the confirmed world with the frame produced.
    pub events: Vec<Event>,
    /// What the ids in `events` name in the world after the step (the next story's names
    /// are this step's "before").
    pub names: Glossary,
}

#[derive(Clone, Debug)]
pub enum ClientEvent {
    Welcomed {
        slot: u8,
        tick_rate: u32,
        seed: u64,
        genre: String,
        start_tick: u64,
    },
    /// Started (or restarted) from a snapshot of tick `tick`; `world` is that snapshot's
    /// world, the one the next `Confirmed` steps from. Confirmed ticks may follow in the
    /// same batch, so by the time the caller sees this event the session's confirmed world
    /// may have moved on: start narrators and recordings from `world`.
    Synced {
        tick: u64,
        world: Box<World>,
    },
    /// Our world disagreed with the server's at `tick`; `state` is our snapshot of it.
    Desync {
        tick: u64,
        client_checksum: u32,
        server_checksum: u32,
        state: Vec<u8>,
    },
    /// A tick confirmed and verified (only with `report_confirmed`).
    Confirmed {
        frame: Frame,
        checksum: u32,
        /// What the step meant, with [`ClientConfig::narrate`](super::ClientConfig::narrate).
        story: Option<Box<Story>>,
    },
    /// A saved character from the primary (followers only).
    Claim(Box<crate::standby::ClaimRecord>),
    Closed(CloseReason),
}

/// Counters since start.
#[derive(Clone, Debug, Default)]
pub struct ClientStats {
    /// Predicted ticks simulated forward.
    pub ticks: u64,
    pub confirmed: u64,
    pub rollbacks: u64,
    pub max_rollback: u64,
    pub resimulated_ticks: u64,
    pub desyncs: u64,
    /// Snapshots installed after we asked for one (a desync, or falling behind); a join's
    /// or a rejoin's first snapshot is not a resync.
    pub resyncs: u64,
    /// Round-trip samples in milliseconds (the most recent 4096).
    pub rtt_ms: Vec<u32>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub datagrams_sent: u64,
    pub datagrams_received: u64,
    pub invalid_datagrams: u64,
    /// Inputs the server reported as late.
    pub late_inputs: u32,
    /// Times prediction paused because the prediction window was full.
    pub prediction_stalls: u64,
    /// Times the session joined again after losing its server.
    pub reconnects: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reasons people read: the numbers they need are in them.
    #[test]
    fn close_reasons_say_why_with_the_numbers() {
        let v = CloseReason::VersionMismatch {
            server_protocol: 9,
            client_protocol: 7,
        }
        .to_string();
        assert!(v.contains("protocol 9") && v.contains("protocol 7"), "{v}");
        let r = CloseReason::Rejected(RejectReason::VersionMismatch {
            server_protocol: 9,
            server_sim: 42,
        })
        .to_string();
        assert!(r.contains("server protocol 9, simulation 42"), "{r}");
        assert!(r.contains(&format!("simulation {SIM_VERSION})")), "{r}");
        let s = CloseReason::Rejected(RejectReason::SpectatorsFull { max: 3 }).to_string();
        assert!(s.contains("allows 3 spectators"), "{s}");
    }
}
