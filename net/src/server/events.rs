//! What a session reports: [`ServerEvent`]s (for logs, metrics and the session recorder),
//! why a player left, and the counters since start.

use venture_sim::character::Character;
use venture_sim::Frame;

use crate::carrier::Remote;
use crate::protocol::{RejectReason, SnapshotReason};

/// Why a player left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaveReason {
    /// The client said goodbye.
    Left,
    /// Nothing heard for `client_timeout`.
    TimedOut,
    /// The transport dropped the connection.
    Disconnected,
}

impl LeaveReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaveReason::Left => "left",
            LeaveReason::TimedOut => "timed out",
            LeaveReason::Disconnected => "disconnected",
        }
    }
}

/// What the session did, for logs, metrics and the session recorder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    PlayerConnected {
        slot: u8,
        name: String,
        addr: Remote,
    },
    PlayerDisconnected {
        slot: u8,
        name: String,
        addr: Remote,
        reason: LeaveReason,
        /// The player's character as it was when they left, with the digest of the secret
        /// that owns it; `None` when it is not theirs to save yet (never entered the world,
        /// or their saved character was still being restored).
        character: Option<Box<(Character, [u8; 16])>>,
    },
    Rejected {
        addr: Remote,
        reason: RejectReason,
    },
    /// Tick closed: the frame and the checksum after it (record these).
    TickClosed {
        frame: Frame,
        checksum: u32,
    },
    /// The loop was `behind` ticks late; `closed` were caught up in this poll.
    Overrun {
        behind: u64,
        closed: u32,
    },
    DesyncReported {
        slot: u8,
        tick: u64,
        client_checksum: u32,
        server_checksum: u32,
    },
    SnapshotStarted {
        slot: u8,
        tick: u64,
        bytes: usize,
        reason: SnapshotReason,
    },
    /// A client announced another protocol or simulation version.
    VersionMismatch {
        addr: Remote,
        client_protocol: u16,
        client_sim: u32,
    },
    /// A datagram that did not decode or made no sense in its context.
    InvalidDatagram {
        addr: Remote,
        reason: String,
    },
    /// A resource cap was hit (reported once per episode: again only after it cleared).
    CapHit {
        cap: &'static str,
    },
    /// A spectator was admitted (`id` numbers spectators of this session from 1).
    SpectatorConnected {
        id: u32,
        addr: Remote,
    },
    SpectatorDisconnected {
        id: u32,
        addr: Remote,
        reason: LeaveReason,
    },
    /// A spectator's world disagreed with the server's at `tick` (it resyncs).
    SpectatorDesync {
        id: u32,
        tick: u64,
        client_checksum: u32,
        server_checksum: u32,
    },
    /// A hot standby proved the server key and follows (`id` numbers it among spectators).
    FollowerConnected {
        id: u32,
        addr: Remote,
    },
    FollowerDisconnected {
        id: u32,
        addr: Remote,
        reason: LeaveReason,
    },
    /// A `Follow` whose proof failed (or this server takes no followers).
    FollowerRefused {
        addr: Remote,
    },
    /// Our standby took over and told us so with a valid proof: stop serving.
    Deposed {
        addr: Remote,
    },
}

/// Counters since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    pub ticks: u64,
    pub datagrams_in: u64,
    pub bytes_in: u64,
    pub datagrams_out: u64,
    pub bytes_out: u64,
    pub invalid_datagrams: u64,
    pub late_inputs: u64,
    pub overruns: u64,
    pub desync_reports: u64,
    pub snapshots_sent: u64,
    pub rejected: u64,
    pub admitted: u64,
}
