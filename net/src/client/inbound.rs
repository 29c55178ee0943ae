//! Inbound: one datagram from the server, decoded and counted, goes to the part whose job
//! it is (`handshake`, `snapshot`, `confirm`, `rejoin`, [`super::follow`]); a version
//! the session cannot read closes it with the reason. Also the round trip's own messages:
//! pings out, pongs in (each a sample for [`super::rtt`] and the prediction window).

use std::time::Duration;

use super::{ClientEvent, ClientSession, CloseReason, Phase, MAX_RTT_SAMPLES};
use crate::protocol::{self, Message};

impl ClientSession {
    /// One datagram payload from the server.
    pub fn on_datagram(&mut self, payload: &[u8], now: Duration) {
        self.stats.bytes_received += payload.len() as u64;
        self.stats.datagrams_received += 1;
        let msg = match protocol::decode(payload) {
            Ok(m) => m,
            Err(protocol::ProtocolError::VersionMismatch { got })
                if !matches!(self.phase, Phase::Playing) || self.reconnect.active() =>
            {
                // The server speaks another protocol: its answer (a Reject) is unreadable to
                // us, but the header alone says why.
                let client_protocol = self.config.protocol_version;
                self.close(CloseReason::VersionMismatch {
                    server_protocol: got,
                    client_protocol,
                });
                return;
            }
            Err(_) => {
                self.stats.invalid_datagrams += 1;
                return;
            }
        };
        if self.is_closed() {
            return;
        }
        self.last_heard = now;
        match msg {
            Message::Challenge { cookie } if self.phase == Phase::Connecting => {
                self.on_challenge(cookie, now)
            }
            Message::Challenge { cookie } if self.reconnect.active() => {
                // Our Hello was answered, so this server does not hold our session (it
                // restarted, or timed us out): join again from scratch.
                self.begin_rejoin(cookie, now);
            }
            Message::Welcome {
                slot,
                tick_rate,
                seed,
                genre,
                start_tick,
                snapshot_id,
                ..
            } => self.on_welcome(slot, tick_rate, seed, genre, start_tick, snapshot_id, now),
            Message::Reject { reason } => self.on_reject(reason, now),
            Message::SnapshotChunk {
                snapshot_id,
                tick,
                index,
                count,
                bytes,
            } => {
                self.on_chunk(snapshot_id, tick, index, count, &bytes, now);
            }
            Message::Frames {
                frames,
                input_ack,
                late_inputs,
                lead_hint,
                ..
            } => self.on_frames(frames, input_ack, late_inputs, lead_hint, now),
            Message::Pong { nonce } => {
                let sent = Duration::from_micros(nonce);
                if let Some(rtt) = now.checked_sub(sent) {
                    self.record_rtt(rtt);
                }
            }
            Message::Claim {
                seq,
                name,
                secret_digest,
                part,
                parts,
                bytes,
            } if self.config.follow.is_some() => {
                match self
                    .claims
                    .insert(seq, &name, secret_digest, part, parts, &bytes)
                {
                    Ok(record) => {
                        // Acked once complete, now or before: a resent part means our
                        // ack was lost.
                        if self.claims.is_done(seq) {
                            self.send(&Message::ClaimAck { seq });
                        }
                        if let Some(r) = record {
                            self.events.push(ClientEvent::Claim(Box::new(r)));
                        }
                    }
                    Err(_) => self.stats.invalid_datagrams += 1,
                }
            }
            Message::ShuttingDown => self.on_shutting_down(now),
            _ => self.stats.invalid_datagrams += 1,
        }
    }

    pub(super) fn record_rtt(&mut self, rtt: Duration) {
        if self.stats.rtt_ms.len() >= MAX_RTT_SAMPLES {
            self.stats.rtt_ms.remove(0);
        }
        self.stats
            .rtt_ms
            .push(rtt.as_millis().min(u32::MAX as u128) as u32);
        self.rtt.on_sample(rtt);
        if self.config.prediction_window.is_none() {
            let window = self.prediction_window();
            if let Some(rb) = self.rollback.as_mut() {
                rb.set_prediction_window(window);
            }
        }
    }

    pub(super) fn maybe_ping(&mut self, now: Duration) {
        if matches!(self.phase, Phase::Connecting | Phase::Joining { .. }) {
            return;
        }
        if self
            .last_ping
            .is_none_or(|t| now >= t + self.config.ping_interval)
        {
            self.last_ping = Some(now);
            self.send(&Message::Ping {
                nonce: now.as_micros() as u64,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::tests::Link;
    use super::super::{ClientConfig, CloseReason, Phase};
    use crate::protocol::{self, Message};

    #[test]
    fn garbage_is_counted_and_changes_nothing() {
        let mut link = Link::new(ClientConfig::new("ada"));
        link.play();
        let before = link.client.stats().invalid_datagrams;
        link.client.on_datagram(&[0xde, 0xad, 0xbe, 0xef], link.now);
        link.client.on_datagram(&[], link.now);
        assert_eq!(link.client.stats().invalid_datagrams, before + 2);
        assert_eq!(*link.client.phase(), Phase::Playing);
    }

    #[test]
    fn another_protocol_version_before_playing_closes_with_both_versions() {
        let mut link = Link::new(ClientConfig::new("ada"));
        let mut bytes = protocol::encode(&Message::Challenge { cookie: [1; 16] }).unwrap();
        let other = protocol::PROTOCOL_VERSION + 1;
        bytes[..protocol::HEADER_LEN].copy_from_slice(&other.to_le_bytes());
        link.client.on_datagram(&bytes, Duration::from_millis(5));
        assert_eq!(
            *link.client.phase(),
            Phase::Closed(CloseReason::VersionMismatch {
                server_protocol: other,
                client_protocol: protocol::PROTOCOL_VERSION,
            })
        );
    }

    #[test]
    fn pings_go_out_while_playing_and_pongs_are_round_trip_samples() {
        let mut link = Link::new(ClientConfig::new("ada"));
        link.play();
        link.run_until(Duration::from_secs(2), |_| false);
        let pings = link
            .sent
            .iter()
            .filter(|m| matches!(m, Message::Ping { .. }))
            .count();
        assert!(pings >= 3, "every 500 ms: {pings}");
        let samples = link.client.stats().rtt_ms.len();
        link.inject(&Message::Pong {
            nonce: (link.now - Duration::from_millis(300)).as_micros() as u64,
        });
        assert_eq!(link.client.stats().rtt_ms.len(), samples + 1);
        assert_eq!(link.client.stats().rtt_ms.last(), Some(&300));
    }
}
