//! Chat through the server's state machine: a client's `Chat` message becomes one
//! `Command::Chat` in a frame (resent copies dropped), cleaned of control characters and
//! escape sequences, capped at 120 characters, and rate-limited per player.

use std::time::Duration;

use venture_net::chat::CHAT_BURST;
use venture_net::protocol::{self, Message};
use venture_sim::event::Event;
use venture_sim::MAX_CHAT_CHARS;
use venture_testkit::handshake::admitted_session;

fn chat(seq: u32, text: &str) -> Vec<u8> {
    protocol::encode(&Message::Chat {
        seq,
        text: text.into(),
    })
    .expect("a chat line encodes")
}

/// The chat lines the next tick carries (from its events: what every client sees).
fn said(s: &mut venture_net::server::ServerSession) -> Vec<String> {
    s.close_tick();
    s.world()
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::Chat { name, text, .. } => Some(format!("{name}: {text}")),
            _ => None,
        })
        .collect()
}

#[test]
fn chat_lines_are_cleaned_deduplicated_capped_and_rate_limited() {
    let (mut s, addr, mut now) = admitted_session();
    let evil = "hi\u{1b}[2J\u{1b}]0;title\u{7} there";
    for _ in 0..3 {
        s.on_datagram(addr, &chat(1, evil), now);
    }
    assert_eq!(said(&mut s), vec!["alice: hi[2J]0;title there"]);

    let long = "x".repeat(400);
    s.on_datagram(addr, &chat(2, &long), now);
    let lines = said(&mut s);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].len(), "alice: ".len() + MAX_CHAT_CHARS);

    // Over the burst within a moment: the rest is dropped.
    for seq in 3..20 {
        s.on_datagram(addr, &chat(seq, "spam"), now);
    }
    let n = said(&mut s).len() as u32;
    assert_eq!(n, CHAT_BURST - 2, "two of the burst were used above");
    // Later, the bucket refills.
    now += Duration::from_secs(30);
    s.on_datagram(addr, &chat(30, "later"), now);
    assert_eq!(said(&mut s), vec!["alice: later"]);

    // A line over the wire limit is not even decoded.
    let huge = "y".repeat(5000);
    let bytes = protocol::encode(&Message::Chat {
        seq: 31,
        text: huge,
    });
    if let Ok(b) = bytes {
        s.on_datagram(addr, &b, now);
    }
    assert!(said(&mut s).is_empty());
}
