//! The session's events, each into what it means outside the game: closed ticks into the
//! session log (the crash journal) and the tick metrics, joins and leaves into log lines
//! and character saves, reports and refusals into log lines and counters, a standby's
//! proof that it took over into the stop.

use std::time::Instant;

use venture_net::server::ServerEvent;

use super::{durability, ServerApp, STALL, STALL_REPORT};

impl ServerApp {
    /// Every event the session queued since the last turn: closed ticks into the journal
    /// and the tick timings (`started`: when this turn's pump began), the rest into log
    /// lines and event counters.
    pub(super) fn handle_events(&mut self, started: Instant) {
        let mut closed = 0u32;
        for event in self.driver.session.drain_events() {
            match event {
                ServerEvent::TickClosed { frame, checksum } => {
                    closed += 1;
                    self.metrics.observe_frame(&frame);
                    if let Some(rec) = self.recorder.as_mut() {
                        if let Err(e) = rec.record(&frame, checksum, self.driver.session.world()) {
                            let now = Instant::now();
                            self.durability
                                .note(durability::Source::Journal, Err(e), now);
                        }
                    }
                }
                ServerEvent::PlayerConnected { slot, name, addr } => {
                    log::info!(target: "venture::server", component = "server", playerID:% = name, slot = slot, addr:% = addr, tick = self.driver.session.world().tick(); "player connected");
                }
                ServerEvent::PlayerDisconnected {
                    slot,
                    name,
                    addr,
                    reason,
                    character,
                } => {
                    log::info!(target: "venture::server", component = "server", playerID:% = name, slot = slot, addr:% = addr, reason = reason.as_str(); "player disconnected");
                    if let Some(c) = character {
                        let (character, digest) = *c;
                        self.save_character(&name, &character, digest);
                    }
                    self.save_requested = true;
                }
                ServerEvent::Rejected { addr, reason } => {
                    log::info!(target: "venture::server", component = "server", addr:% = addr, reason:? = reason; "player rejected");
                }
                ServerEvent::Overrun { behind, closed } => {
                    if self.health.interval * behind.min(u32::MAX as u64) as u32 >= STALL {
                        self.health.stalled_until = Some(Instant::now() + STALL_REPORT);
                    }
                    log::warn!(target: "venture::server", component = "server", behind_ticks = behind, caught_up = closed; "tick overrun: the loop fell behind schedule");
                }
                ServerEvent::DesyncReported {
                    slot,
                    tick,
                    client_checksum,
                    server_checksum,
                } => {
                    log::warn!(target: "venture::server", component = "server", slot = slot, tick = tick, client_checksum = client_checksum, server_checksum = server_checksum; "client reported a desync");
                    self.metrics.desync_reports.inc();
                }
                ServerEvent::SnapshotStarted {
                    slot,
                    tick,
                    bytes,
                    reason,
                } => {
                    log::debug!(target: "venture::server", component = "server", slot = slot, tick = tick, bytes = bytes, reason:? = reason; "sending snapshot");
                    self.metrics.observe_snapshot(&reason);
                }
                ServerEvent::VersionMismatch {
                    addr,
                    client_protocol,
                    client_sim,
                } => {
                    log::warn!(
                        target: "venture::server",
                        component = "server", addr:% = addr, client_protocol = client_protocol, client_sim = client_sim,
                        server_protocol = venture_net::protocol::PROTOCOL_VERSION, server_sim = venture_sim::SIM_VERSION;
                        "client rejected: protocol or simulation version mismatch"
                    );
                    self.metrics.invalid_datagram("version");
                }
                ServerEvent::CapHit { cap } => {
                    log::warn!(target: "venture::server", component = "server", cap = cap; "resource cap reached; excess requests are dropped until it clears");
                    self.metrics.cap_hit(cap);
                }
                ServerEvent::SpectatorConnected { id, addr } => {
                    log::info!(target: "venture::server", component = "server", spectator = id, addr:% = addr, tick = self.driver.session.world().tick(); "spectator connected");
                }
                ServerEvent::SpectatorDisconnected { id, addr, reason } => {
                    log::info!(target: "venture::server", component = "server", spectator = id, addr:% = addr, reason = reason.as_str(); "spectator disconnected");
                }
                ServerEvent::SpectatorDesync {
                    id,
                    tick,
                    client_checksum,
                    server_checksum,
                } => {
                    log::warn!(target: "venture::server", component = "server", spectator = id, tick = tick, client_checksum = client_checksum, server_checksum = server_checksum; "spectator reported a desync");
                    self.metrics.desync_reports.inc();
                }
                ServerEvent::FollowerConnected { id, addr } => {
                    log::info!(target: "venture::standby", component = "standby", follower = id, addr:% = addr, tick = self.driver.session.world().tick(); "standby following");
                }
                ServerEvent::FollowerDisconnected { id, addr, reason } => {
                    log::warn!(target: "venture::standby", component = "standby", follower = id, addr:% = addr, reason = reason.as_str(); "standby stopped following");
                }
                ServerEvent::FollowerRefused { addr } => {
                    log::warn!(target: "venture::standby", component = "standby", addr:% = addr; "a standby was refused: its proof does not match this server's key");
                }
                ServerEvent::Deposed { addr }
                    if self
                        .promotion
                        .as_ref()
                        .and_then(|(_, d)| d.local_addr())
                        .is_some_and(|own| own.port() == addr.addr.port()) =>
                {
                    // Our own deposer reached us (the old primary's address is ours).
                }
                ServerEvent::Deposed { addr } => {
                    self.deposed = Some(addr.addr);
                    log::error!(target: "venture::standby", component = "standby", addr:% = addr; "this server was replaced: its standby took over and proved the server key; stopping without serving this world again");
                }
                ServerEvent::InvalidDatagram { addr, reason } => {
                    log::debug!(target: "venture::net", component = "net", addr:% = addr, reason:% = reason; "invalid datagram");
                    self.metrics.invalid_datagram("protocol");
                }
            }
        }
        if closed > 0 {
            let now = Instant::now();
            self.health.last_tick = now;
            let took = now.saturating_duration_since(started) / closed;
            for _ in 0..closed {
                self.metrics.observe_tick(took, self.health.interval);
            }
        }
    }
}
