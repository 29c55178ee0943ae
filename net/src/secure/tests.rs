//! End-to-end tests of the two state machines against each other, without sockets.

use std::net::SocketAddr;

use crate::carrier::Remote;
use std::time::Duration;

use super::initiator::{Initiator, SecureEvent, Trust, MISMATCH_LIMIT, REHANDSHAKE_AFTER, RETRY};
use super::responder::{Incoming, Responder, EVICT_IDLE};
use super::wire::{self, MAX_WIRE_DATAGRAM};
use super::{DropReason, StaticKeypair};

fn addr(port: u16) -> Remote {
    Remote::udp(SocketAddr::from(([127, 0, 0, 1], port)))
}

struct Pair {
    server: Responder,
    client: Initiator,
    at: Remote,
    now: Duration,
    /// Plaintext the server delivered, in order.
    delivered: Vec<Vec<u8>>,
    /// Plaintext the client delivered.
    client_got: Vec<Vec<u8>>,
}

impl Pair {
    fn new(key: &StaticKeypair, trust: Trust) -> Pair {
        Pair {
            server: Responder::new(key.clone(), [3; 16], 8),
            client: Initiator::new(trust),
            at: addr(5000),
            now: Duration::from_secs(100),
            delivered: Vec::new(),
            client_got: Vec::new(),
        }
    }

    /// Client datagrams to the server; returns the server's replies (each checked to be
    /// no larger than what it answers while the sender had no session).
    fn deliver_to_server(&mut self, datagrams: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let mut replies = Vec::new();
        for d in datagrams {
            let had_session = self.server.has_peer(self.at);
            let mut out = vec![0u8; MAX_WIRE_DATAGRAM];
            match self.server.on_datagram(self.at, &d, self.now, &mut out) {
                Incoming::Deliver(n) => self.delivered.push(out[..n].to_vec()),
                Incoming::Reply(r) => {
                    assert!(had_session || r.len() <= d.len(), "amplification");
                    replies.push(r);
                }
                Incoming::Accepted { reply, early } => {
                    assert!(reply.len() <= d.len(), "amplification");
                    replies.push(reply);
                    let datagrams = wire::split_early(&out[..early]).expect("framed");
                    self.delivered
                        .extend(datagrams.into_iter().map(<[u8]>::to_vec));
                }
                Incoming::Drop(_) => {}
            }
        }
        replies
    }

    /// Server datagrams to the client; returns what the client sends in answer.
    fn deliver_to_client(&mut self, datagrams: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let mut replies = Vec::new();
        for d in datagrams {
            let mut out = vec![0u8; MAX_WIRE_DATAGRAM];
            if let Some(n) = self
                .client
                .on_datagram(&d, self.now, &mut out, &mut replies)
            {
                self.client_got.push(out[..n].to_vec());
            }
        }
        replies
    }

    /// Runs round trips until both sides are quiet.
    fn exchange(&mut self, mut from_client: Vec<Vec<u8>>) {
        for _ in 0..8 {
            let back = self.deliver_to_server(from_client);
            from_client = self.deliver_to_client(back);
            if from_client.is_empty() {
                return;
            }
        }
    }

    fn connect(&mut self) {
        let first = self.client.send(b"hello-from-session", self.now);
        self.exchange(first);
        assert!(self.client.is_established());
    }
}

#[test]
fn handshake_then_sealed_data_both_ways_with_early_data() {
    let key = StaticKeypair::generate().expect("keygen");
    let mut p = Pair::new(&key, Trust::FirstUse);
    let first = p.client.send(b"hello-from-session", p.now);
    let second = p.client.send(b"join-from-session", p.now);
    assert!(second.is_empty(), "queued behind the handshake under way");
    p.exchange(first);
    assert!(p.client.is_established());
    assert_eq!(
        p.delivered,
        vec![
            b"hello-from-session".to_vec(),
            b"join-from-session".to_vec()
        ],
        "early data, in order"
    );
    assert_eq!(
        p.client.take_events(),
        vec![
            SecureEvent::KeyPinned(*key.public()),
            SecureEvent::Established
        ]
    );
    let d = p.client.send(b"input", p.now);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].len(), 5 + wire::DATA_OVERHEAD);
    p.deliver_to_server(d);
    assert_eq!(p.delivered.last().map(Vec::as_slice), Some(&b"input"[..]));
    let back = p.server.seal(p.at, b"frame").expect("session");
    p.deliver_to_client(vec![back]);
    assert_eq!(p.client_got, vec![b"frame".to_vec()]);
    assert_eq!(p.server.stats().handshakes, 1);
}

#[test]
fn every_altered_truncated_or_replayed_datagram_is_dropped() {
    let key = StaticKeypair::generate().expect("keygen");
    let mut p = Pair::new(&key, Trust::FirstUse);
    p.connect();
    let d = p.client.send(b"move north", p.now).remove(0);
    let before = p.delivered.len();
    for i in 0..d.len() {
        for bit in 0..8 {
            let mut t = d.clone();
            t[i] ^= 1 << bit;
            p.deliver_to_server(vec![t]);
        }
    }
    for len in 0..d.len() {
        p.deliver_to_server(vec![d[..len].to_vec()]);
    }
    assert_eq!(p.delivered.len(), before, "nothing altered got through");
    p.deliver_to_server(vec![d.clone()]);
    p.deliver_to_server(vec![d.clone()]);
    assert_eq!(
        p.delivered.len(),
        before + 1,
        "the original once, its replay never"
    );
    let s = p.server.stats();
    assert!(s.dropped(DropReason::Forged) > 0);
    assert!(s.dropped(DropReason::Truncated) > 0);
    assert_eq!(s.dropped(DropReason::Replayed), 1);
    // From another address the same bytes are no one's.
    let mut out = vec![0u8; MAX_WIRE_DATAGRAM];
    assert_eq!(
        p.server.on_datagram(addr(6000), &d, p.now, &mut out),
        Incoming::Drop(DropReason::UnknownPeer)
    );
}

#[test]
fn a_pinned_key_must_match_and_first_use_pins() {
    let key = StaticKeypair::generate().expect("keygen");
    let other = StaticKeypair::generate().expect("keygen");
    let mut p = Pair::new(&key, Trust::Pinned(*other.public()));
    let first = p.client.send(b"x", p.now);
    p.exchange(first);
    assert!(!p.client.is_established());
    // One Cookie is not proof (it is unauthenticated): the client asks again, and only
    // MISMATCH_LIMIT of them in a row make it stop.
    for _ in 1..MISMATCH_LIMIT {
        assert!(!p.client.has_failed());
        assert!(p.client.take_events().is_empty());
        p.now += RETRY;
        let hello = p.client.handshake_due(p.now);
        assert_eq!(hello, vec![wire::hello()]);
        p.exchange(hello);
    }
    assert!(p.client.has_failed());
    assert_eq!(
        p.client.take_events(),
        vec![SecureEvent::KeyMismatch {
            expected: *other.public(),
            presented: *key.public()
        }]
    );
    assert!(
        p.client.send(b"y", p.now).is_empty(),
        "a failed client sends nothing"
    );
    let mut ok = Pair::new(&key, Trust::Pinned(*key.public()));
    ok.connect();
    assert_eq!(ok.client.trust(), Trust::Pinned(*key.public()));
}

#[test]
fn an_impostor_with_the_right_public_key_but_not_the_private_one_never_completes() {
    // A man in the middle answers Hello with the real server's public key (so the pin
    // matches) but cannot answer Initiate: the client's Noise message 1 is encrypted to
    // the real key. Its own Accept fails authentication.
    let real = StaticKeypair::generate().expect("keygen");
    let impostor = StaticKeypair::generate().expect("keygen");
    let mut client = Initiator::new(Trust::Pinned(*real.public()));
    let now = Duration::from_secs(1);
    let hello = client.send(b"x", now);
    assert_eq!(hello, vec![wire::hello()]);
    let mut replies = Vec::new();
    let mut out = vec![0u8; MAX_WIRE_DATAGRAM];
    client.on_datagram(
        &wire::cookie(&[1; 16], real.public()),
        now,
        &mut out,
        &mut replies,
    );
    let initiate = replies.pop().expect("initiate");
    let mut fake = Responder::new(impostor, [1; 16], 4);
    // The impostor cannot even read message 1 (its cookie aside).
    let m = fake.on_datagram(addr(1), &initiate, now, &mut out);
    assert!(matches!(m, Incoming::Reply(_) | Incoming::Drop(_)), "{m:?}");
    // Whatever Accept it makes up is refused.
    client.on_datagram(
        &wire::accept(&[9; wire::NOISE_MSG2_LEN]),
        now,
        &mut out,
        &mut replies,
    );
    assert!(!client.is_established());
    assert_eq!(client.stats().dropped(DropReason::Forged), 1);
}

#[test]
fn a_lost_accept_is_answered_again_and_a_stale_cookie_restarts_from_hello() {
    let key = StaticKeypair::generate().expect("keygen");
    let mut p = Pair::new(&key, Trust::FirstUse);
    let hello = p.client.send(b"x", p.now);
    let cookie = p.deliver_to_server(hello);
    let initiate = p.deliver_to_client(cookie);
    let accept = p.deliver_to_server(initiate.clone());
    // The Accept is lost; the client repeats its Initiate after RETRY.
    drop(accept);
    p.now += RETRY;
    let again = p.client.handshake_due(p.now);
    assert_eq!(again, initiate);
    let accept2 = p.deliver_to_server(again);
    assert_eq!(
        p.server.stats().handshakes,
        1,
        "recognised as a retransmission"
    );
    p.deliver_to_client(accept2);
    assert!(p.client.is_established());
    assert_eq!(
        p.delivered.len(),
        2,
        "early data again with the repeated Initiate"
    );
    let d = p.client.send(b"data", p.now);
    p.deliver_to_server(d);
    p.deliver_to_server(initiate.clone());
    assert_eq!(p.delivered.len(), 3, "not once the client's data arrived");

    // A cookie older than two buckets is refused, and the client starts over.
    let mut q = Pair::new(&key, Trust::FirstUse);
    let hello = q.client.send(b"x", q.now);
    let cookie = q.deliver_to_server(hello);
    let initiate = q.deliver_to_client(cookie);
    q.now += Duration::from_secs(25);
    let refused = q.deliver_to_server(initiate);
    assert_eq!(refused, vec![wire::refuse(wire::RefuseReason::StaleCookie)]);
    q.deliver_to_client(refused);
    let hello = q.client.handshake_due(q.now);
    assert_eq!(hello, vec![wire::hello()]);
    q.exchange(hello);
    assert!(q.client.is_established());
}

#[test]
fn after_a_server_restart_the_client_shakes_hands_again_by_itself() {
    let key = StaticKeypair::generate().expect("keygen");
    let mut p = Pair::new(&key, Trust::FirstUse);
    p.connect();
    // The server restarts with the same key and no sessions.
    p.server = Responder::new(key.clone(), [4; 16], 8);
    let d = p.client.send(b"ping", p.now);
    assert!(p.deliver_to_server(d).is_empty());
    p.now += REHANDSHAKE_AFTER;
    let d = p.client.send(b"ping", p.now);
    assert_eq!(d.len(), 2, "sealed on the old session, and a new Hello");
    p.exchange(d);
    assert!(p.client.is_established());
    assert_eq!(p.server.stats().handshakes, 1);
    let d = p.client.send(b"after", p.now);
    p.deliver_to_server(d);
    assert_eq!(p.delivered.last().map(Vec::as_slice), Some(&b"after"[..]));
}

#[test]
fn a_full_table_refuses_until_a_peer_is_idle_then_evicts_it() {
    let key = StaticKeypair::generate().expect("keygen");
    let mut server = Responder::new(key.clone(), [5; 16], 2);
    let now = Duration::from_secs(50);
    let join = |server: &mut Responder, port: u16, now: Duration| -> bool {
        let mut client = Initiator::new(Trust::FirstUse);
        let mut out = vec![0u8; MAX_WIRE_DATAGRAM];
        let mut pending = client.send(b"x", now);
        for _ in 0..4 {
            let mut back = Vec::new();
            for d in pending.drain(..) {
                match server.on_datagram(addr(port), &d, now, &mut out) {
                    Incoming::Reply(r) | Incoming::Accepted { reply: r, .. } => back.push(r),
                    _ => {}
                }
            }
            for b in back {
                client.on_datagram(&b, now, &mut out, &mut pending);
            }
        }
        client.is_established()
    };
    assert!(join(&mut server, 1, now));
    assert!(join(&mut server, 2, now));
    assert!(!join(&mut server, 3, now), "full of active peers");
    assert_eq!(server.stats().dropped(DropReason::Busy), 1);
    assert!(
        join(&mut server, 3, now + EVICT_IDLE),
        "the idlest peer gives way"
    );
    assert_eq!(server.stats().evicted, 1);
    server.expire(now + Duration::from_secs(3600));
    assert_eq!(server.peer_count(), 0);
}

#[test]
fn strangers_get_nothing_larger_than_they_sent_and_no_state() {
    let key = StaticKeypair::generate().expect("keygen");
    let mut server = Responder::new(key, [6; 16], 4);
    let now = Duration::from_secs(9);
    let mut out = vec![0u8; MAX_WIRE_DATAGRAM];
    let mut samples: Vec<Vec<u8>> = vec![
        wire::hello(),
        wire::initiate(&[0; 16], &[1; wire::NOISE_MSG1_MIN]),
        wire::refuse(wire::RefuseReason::Busy),
        vec![wire::DATA; 200],
        vec![0x17; 1200],
    ];
    let mut v2 = wire::hello();
    v2[4] = 2;
    samples.push(v2);
    for (i, d) in samples.iter().enumerate() {
        if let Incoming::Reply(r) = server.on_datagram(addr(7000 + i as u16), d, now, &mut out) {
            assert!(r.len() <= d.len(), "{i}: {} > {}", r.len(), d.len());
        }
    }
    assert_eq!(server.peer_count(), 0);
}

/// Regression (found by the tampering simulated-network matrix): one flipped byte in the
/// server key of the first `Cookie` made a trust-on-first-use client pin the wrong key
/// (and report it for saving), then refuse the real server for good. The key is now
/// pinned only when the `Accept` proves it, and a pinned client survives a bad `Cookie`.
#[test]
fn a_corrupted_cookie_neither_pins_a_wrong_key_nor_stops_a_pinned_client() {
    let key = StaticKeypair::generate().expect("keygen");
    let corrupt = |cookies: Vec<Vec<u8>>| -> Vec<Vec<u8>> {
        cookies
            .into_iter()
            .map(|mut c| {
                let last = c.len() - 1;
                c[last] ^= 0x40;
                c
            })
            .collect()
    };

    // First use: the corrupted key is tried but never pinned; the handshake times out and
    // starts again from Hello, and the genuine Cookie's key is pinned once accepted.
    let mut p = Pair::new(&key, Trust::FirstUse);
    let hello = p.client.send(b"x", p.now);
    let cookie = p.deliver_to_server(hello);
    let initiate = p.deliver_to_client(corrupt(cookie));
    assert!(
        p.deliver_to_server(initiate).is_empty(),
        "sealed to the wrong key"
    );
    assert_eq!(p.client.trust(), Trust::FirstUse);
    assert!(p.client.take_events().is_empty(), "nothing pinned yet");
    let started = p.now;
    let mut again = Vec::new();
    for _ in 0..40 {
        p.now += RETRY;
        again = p.client.handshake_due(p.now);
        if again == vec![wire::hello()] {
            break;
        }
    }
    assert_eq!(again, vec![wire::hello()], "back to Hello after giving up");
    assert!(
        p.now - started <= Duration::from_secs(3),
        "given up after three handshake round trips plus 2 s, not 15 s: {:?}",
        p.now - started
    );
    p.exchange(again);
    assert!(p.client.is_established());
    assert_eq!(p.client.trust(), Trust::Pinned(*key.public()));
    assert_eq!(
        p.client.take_events(),
        vec![
            SecureEvent::KeyPinned(*key.public()),
            SecureEvent::Established
        ]
    );

    // Pinned: a corrupted Cookie is dropped, the next retry's genuine one goes through.
    let mut q = Pair::new(&key, Trust::Pinned(*key.public()));
    let hello = q.client.send(b"x", q.now);
    let cookie = q.deliver_to_server(hello);
    assert!(q.deliver_to_client(corrupt(cookie)).is_empty());
    assert!(!q.client.has_failed());
    assert_eq!(q.client.stats().dropped(DropReason::Forged), 1);
    q.now += RETRY;
    let hello = q.client.handshake_due(q.now);
    q.exchange(hello);
    assert!(q.client.is_established());
    assert_eq!(q.client.take_events(), vec![SecureEvent::Established]);
}

/// Regression (found by the tampering simulated-network matrix): a replay of an older
/// `Initiate` of the same client, while its cookie still verified, replaced the live
/// session with one whose keys the client had discarded (and delivered its early data, a
/// Hello and a Join, to the game session again); the client could read nothing more until
/// it shook hands again. It is now dropped as replayed, and the session carries on.
#[test]
fn a_replayed_older_initiate_neither_replaces_the_session_nor_delivers_again() {
    let key = StaticKeypair::generate().expect("keygen");
    let mut p = Pair::new(&key, Trust::FirstUse);
    let hello = p.client.send(b"first", p.now);
    let cookie = p.deliver_to_server(hello);
    let old_initiate = p.deliver_to_client(cookie);
    let accept = p.deliver_to_server(old_initiate.clone());
    p.deliver_to_client(accept);
    assert!(p.client.is_established());
    // The client shakes hands again (the server went quiet for a while).
    p.now += REHANDSHAKE_AFTER;
    let d = p.client.send(b"ping", p.now);
    p.exchange(d);
    assert_eq!(p.server.stats().handshakes, 2);
    let delivered = p.delivered.len();
    // Within the cookie's life, the first Initiate comes back.
    p.now += Duration::from_secs(1);
    let mut out = vec![0u8; MAX_WIRE_DATAGRAM];
    assert_eq!(
        p.server
            .on_datagram(p.at, &old_initiate[0], p.now, &mut out),
        Incoming::Drop(DropReason::Replayed)
    );
    assert_eq!(p.server.stats().handshakes, 2);
    assert_eq!(p.delivered.len(), delivered);
    // Both directions still work on the current session.
    let d = p.client.send(b"after", p.now);
    p.deliver_to_server(d);
    assert_eq!(p.delivered.last().map(Vec::as_slice), Some(&b"after"[..]));
    let back = p.server.seal(p.at, b"frame").expect("session");
    p.deliver_to_client(vec![back]);
    assert_eq!(p.client_got.last().map(Vec::as_slice), Some(&b"frame"[..]));
    // Once the cookie has expired the key is forgotten (the cookie check refuses it).
    p.now += 3 * super::COOKIE_BUCKET;
    p.server.expire(p.now);
    assert!(matches!(
        p.server
            .on_datagram(p.at, &old_initiate[0], p.now, &mut out),
        Incoming::Reply(_)
    ));
}

/// Refusals are unauthenticated: a forged one (or the server's genuine answer to an
/// `Initiate` altered in flight) must not stop a first connection or undo a handshake
/// whose cookie is certainly valid; a run of them is believed.
#[test]
fn forged_refusals_neither_stop_the_client_nor_undo_a_young_handshake() {
    let key = StaticKeypair::generate().expect("keygen");
    let mut other_version = wire::refuse(wire::RefuseReason::Version);
    other_version[4] = wire::LAYER_VERSION + 1;

    // A version refusal to a first Hello: dropped; only MISMATCH_LIMIT in a row stop.
    let mut p = Pair::new(&key, Trust::FirstUse);
    let _hello = p.client.send(b"x", p.now);
    p.deliver_to_client(vec![other_version.clone()]);
    assert!(!p.client.has_failed());
    assert!(p.client.take_events().is_empty());
    p.now += RETRY;
    let hello = p.client.handshake_due(p.now);
    p.exchange(hello);
    assert!(
        p.client.is_established(),
        "the real server answered the retry"
    );
    let mut q = Pair::new(&key, Trust::FirstUse);
    let _hello = q.client.send(b"x", q.now);
    for _ in 0..MISMATCH_LIMIT {
        q.deliver_to_client(vec![other_version.clone()]);
    }
    assert!(q.client.has_failed());
    assert_eq!(
        q.client.take_events(),
        vec![SecureEvent::VersionMismatch {
            server_version: wire::LAYER_VERSION + 1
        }]
    );

    // A stale-cookie refusal of a fresh cookie: the Initiate's retransmission goes on.
    let mut r = Pair::new(&key, Trust::FirstUse);
    let hello = r.client.send(b"x", r.now);
    let cookie = r.deliver_to_server(hello);
    let initiate = r.deliver_to_client(cookie);
    assert!(r
        .deliver_to_client(vec![wire::refuse(wire::RefuseReason::StaleCookie)])
        .is_empty());
    r.now += RETRY;
    assert_eq!(
        r.client.handshake_due(r.now),
        initiate,
        "still awaiting the Accept"
    );
    r.exchange(initiate);
    assert!(r.client.is_established());
    assert_eq!(r.client.stats().dropped(DropReason::Forged), 1);
    // From a restarted server every retransmission is refused: the third restarts.
    let mut s = Pair::new(&key, Trust::FirstUse);
    let hello = s.client.send(b"x", s.now);
    let cookie = s.deliver_to_server(hello);
    let _initiate = s.deliver_to_client(cookie);
    for _ in 1..MISMATCH_LIMIT {
        s.deliver_to_client(vec![wire::refuse(wire::RefuseReason::StaleCookie)]);
        s.now += RETRY;
        assert_ne!(s.client.handshake_due(s.now), vec![wire::hello()]);
    }
    s.deliver_to_client(vec![wire::refuse(wire::RefuseReason::StaleCookie)]);
    assert_eq!(
        s.client.handshake_due(s.now),
        vec![wire::hello()],
        "back to Hello"
    );
}

/// On a 5 s round trip the client repeats its Hello every 500 ms before the Cookie comes
/// back: the wait from the first Hello, not from the last retry, sizes its patience with
/// an unanswered Initiate, so it does not give up before the Accept can arrive.
#[test]
fn a_long_round_trip_does_not_make_the_client_give_up_on_its_initiate() {
    let key = StaticKeypair::generate().expect("keygen");
    let mut p = Pair::new(&key, Trust::FirstUse);
    let rtt = Duration::from_secs(5);
    let hello = p.client.send(b"x", p.now);
    let cookie = p.deliver_to_server(hello);
    // Retries while the Cookie travels.
    let start = p.now;
    while p.now < start + rtt {
        p.now += RETRY;
        assert_eq!(p.client.handshake_due(p.now), vec![wire::hello()]);
    }
    let initiate = p.deliver_to_client(cookie);
    assert_eq!(initiate.len(), 1);
    let accept = p.deliver_to_server(initiate);
    let sent = p.now;
    while p.now < sent + rtt {
        p.now += RETRY;
        let again = p.client.handshake_due(p.now);
        assert_ne!(
            again,
            vec![wire::hello()],
            "gave up after {:?}",
            p.now - sent
        );
    }
    p.deliver_to_client(accept);
    assert!(p.client.is_established());
}
