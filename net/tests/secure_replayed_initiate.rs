//! A replayed `Initiate` from before a rehandshake must not replace the session, against
//! the two sans-IO state machines. Noise NK's first message carries no timestamp
//! (WireGuard puts a TAI64N one in its initiation for exactly this), and the responder
//! used to recognise only the *current* session's `Initiate` as a retransmission: an
//! eavesdropper who replayed a client's earlier `Initiate` while its cookie was still
//! valid (10 to 20 s) made the responder build a new session from it and replace the
//! client's, stalling it. The responder now remembers, per peer, the ephemeral keys of the
//! handshakes it replaced for two cookie buckets (at most 16) and drops an `Initiate`
//! carrying one as replayed. The real-UDP form is `tests/connections.rs`,
//! `a_replayed_old_initiate_after_a_rehandshake_changes_nothing`.
use std::net::SocketAddr;
use std::time::Duration;

use venture_net::secure::initiator::{Initiator, Trust, REHANDSHAKE_AFTER};
use venture_net::secure::responder::{Incoming, Responder};
use venture_net::secure::wire::{self, MAX_WIRE_DATAGRAM};
use venture_net::secure::StaticKeypair;

fn to_server(s: &mut Responder, at: SocketAddr, d: &[u8], now: Duration) -> Vec<Vec<u8>> {
    let mut out = vec![0u8; MAX_WIRE_DATAGRAM];
    match s.on_datagram(at, d, now, &mut out) {
        Incoming::Reply(r) => vec![r],
        Incoming::Accepted { reply, .. } => vec![reply],
        _ => vec![],
    }
}

fn to_client(c: &mut Initiator, d: &[u8], now: Duration) -> (Option<Vec<u8>>, Vec<Vec<u8>>) {
    let mut out = vec![0u8; MAX_WIRE_DATAGRAM];
    let mut replies = Vec::new();
    let n = c.on_datagram(d, now, &mut out, &mut replies);
    (n.map(|n| out[..n].to_vec()), replies)
}

#[test]
fn a_replayed_initiate_from_before_a_rehandshake_does_not_replace_the_session() {
    let key = StaticKeypair::generate().expect("OS entropy");
    let mut s = Responder::new(key, [3; 16], 8);
    let mut c = Initiator::new(Trust::FirstUse);
    let at = SocketAddr::from(([127, 0, 0, 1], 5000));
    let mut now = Duration::from_secs(100);
    // First handshake.
    let hello = c.send(b"join", now);
    assert_eq!(hello.len(), 1);
    let cookie = to_server(&mut s, at, &hello[0], now);
    let (_, init1) = to_client(&mut c, &cookie[0], now);
    let initiate1 = init1[0].clone();
    assert_eq!(initiate1[0], wire::INITIATE);
    let accept = to_server(&mut s, at, &initiate1, now);
    let (_, after) = to_client(&mut c, &accept[0], now);
    assert!(c.is_established());
    for d in after {
        to_server(&mut s, at, &d, now);
    }
    // Server -> client works.
    let sealed = s.seal(at, b"frame").expect("a session");
    assert_eq!(
        to_client(&mut c, &sealed, now).0.as_deref(),
        Some(&b"frame"[..])
    );
    // Client hears nothing for REHANDSHAKE_AFTER while sending: rehandshake.
    now += REHANDSHAKE_AFTER + Duration::from_millis(100);
    let out = c.send(b"input", now);
    let hello2 = out
        .iter()
        .find(|d| d[0] == wire::HELLO)
        .expect("a rehandshake Hello")
        .clone();
    for d in out.iter().filter(|d| d[0] == wire::DATA) {
        to_server(&mut s, at, d, now);
    }
    let cookie2 = to_server(&mut s, at, &hello2, now);
    let (_, init2) = to_client(&mut c, &cookie2[0], now);
    let accept2 = to_server(&mut s, at, &init2[0], now);
    let (_, _) = to_client(&mut c, &accept2[0], now);
    let sealed = s.seal(at, b"frame2").expect("a session");
    assert_eq!(
        to_client(&mut c, &sealed, now).0.as_deref(),
        Some(&b"frame2"[..]),
        "new session works"
    );
    // An eavesdropper replays the first Initiate (its cookie is still valid).
    now += Duration::from_secs(1);
    let r = to_server(&mut s, at, &initiate1, now);
    let sealed = s.seal(at, b"frame3").expect("a session for the address");
    let got = to_client(&mut c, &sealed, now).0;
    assert_eq!(
        got.as_deref(),
        Some(&b"frame3"[..]),
        "the replayed Initiate (answered with {r:?}) replaced the session the server seals with"
    );
    assert!(r.is_empty(), "the replay was answered: {r:?}");
}
