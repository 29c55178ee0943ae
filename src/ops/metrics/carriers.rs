//! Per-carrier series (`carrier` label: `udp`, `tcp`, `ws`): players, stream connections,
//! packets, wire bytes (framing included) and packets dropped on the way out, so an
//! operator sees how players reach the server and what each path costs. The
//! [`Collector`](super::collect::Collector) feeds them from each carrier's stats.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::reg;
use venture_net::carrier::CarrierKind;

/// `carrier` and `direction` (`in` / `out`).
pub type CarrierDirection = [(&'static str, &'static str); 2];
/// `carrier`.
pub type CarrierLabel = [(&'static str, &'static str); 1];

#[derive(Debug, Clone, Default)]
pub struct CarrierMetrics {
    /// `venture_carrier_players{carrier}`.
    pub players: Family<CarrierLabel, Gauge>,
    /// `venture_carrier_connections{carrier}`: open stream connections (0 for UDP).
    pub connections: Family<CarrierLabel, Gauge>,
    /// `venture_carrier_packets_total{carrier,direction}`.
    pub packets: Family<CarrierDirection, Counter>,
    /// `venture_carrier_bytes_total{carrier,direction}`.
    pub bytes: Family<CarrierDirection, Counter>,
    /// `venture_carrier_dropped_total{carrier}`: outgoing packets dropped (a full send
    /// buffer or a stalled reader's queue).
    pub dropped: Family<CarrierLabel, Counter>,
}

impl CarrierMetrics {
    /// Registers the families, every carrier's series present at 0 from the start.
    pub fn register(r: &mut Registry) -> CarrierMetrics {
        #[rustfmt::skip]
        let m = CarrierMetrics {
            players: reg(r, "carrier_players", "Players connected, by carrier", Family::default()),
            connections: reg(r, "carrier_connections", "Open game stream connections, by carrier", Family::default()),
            packets: reg(r, "carrier_packets", "Secure-layer packets carried, by carrier and direction", Family::default()),
            bytes: reg(r, "carrier_bytes", "Bytes carried above IP (stream framing included), by carrier and direction", Family::default()),
            dropped: reg(r, "carrier_dropped", "Outgoing packets dropped by the carrier (full buffer, stalled reader), by carrier", Family::default()),
        };
        for kind in CarrierKind::ALL {
            let c = kind.as_str();
            let _ = m.players.get_or_create(&[("carrier", c)]);
            let _ = m.connections.get_or_create(&[("carrier", c)]);
            let _ = m.dropped.get_or_create(&[("carrier", c)]);
            for d in ["in", "out"] {
                let _ = m.packets.get_or_create(&[("carrier", c), ("direction", d)]);
                let _ = m.bytes.get_or_create(&[("carrier", c), ("direction", d)]);
            }
        }
        m
    }
}
