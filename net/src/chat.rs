//! Chat on the server side: what a client's `Chat` message must pass before its line goes
//! into a frame as `Command::Chat`. Lines are cleaned (control characters, and with them
//! every terminal escape sequence's introducer, are removed), capped at
//! [`MAX_CHAT_CHARS`], de-duplicated (clients send each line three times, since the
//! message is unreliable) and rate-limited per player by a token bucket.

use std::time::Duration;

use venture_sim::input::MAX_CHAT_CHARS;

/// Lines a player may send in a burst...
pub const CHAT_BURST: u32 = 5;
/// ...and how often one more is allowed after that.
pub const CHAT_REFILL: Duration = Duration::from_secs(2);
/// Longest `Chat` text accepted on the wire, in bytes (before cleaning: generous enough
/// for 120 four-byte characters plus stripped junk, small enough to stay one datagram).
pub const MAX_CHAT_WIRE_BYTES: usize = 600;

/// `text` without control characters, whitespace runs folded to one space, trimmed and
/// cut to [`MAX_CHAT_CHARS`]; None when nothing is left. An ESC, CSI (U+009B) or OSC
/// introducer is a control character, so what remains of a sequence is printable text.
pub fn clean_line(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len().min(4 * MAX_CHAT_CHARS));
    let mut chars = 0;
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if c.is_control() || is_invisible_format(c) {
            continue;
        }
        if space {
            if chars + 1 >= MAX_CHAT_CHARS {
                break;
            }
            out.push(' ');
            chars += 1;
            space = false;
        }
        if chars >= MAX_CHAT_CHARS {
            break;
        }
        out.push(c);
        chars += 1;
    }
    (!out.is_empty()).then_some(out)
}

/// Bidirectional overrides and zero-width characters: not control characters, but they
/// can make a line display as something else.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// One player's chat admission state.
#[derive(Debug, Clone)]
pub struct ChatGate {
    last_seq: Option<u32>,
    tokens: u32,
    refilled_at: Duration,
    /// Lines refused for the rate limit (for tests and metrics).
    pub throttled: u64,
}

impl ChatGate {
    pub fn new(now: Duration) -> Self {
        ChatGate {
            last_seq: None,
            tokens: CHAT_BURST,
            refilled_at: now,
            throttled: 0,
        }
    }

    /// The cleaned line to put in a frame, or None (a repeat, over the rate, or empty).
    pub fn admit(&mut self, seq: u32, text: &str, now: Duration) -> Option<String> {
        // Sequence numbers only grow: a repeat or a reordered older copy is dropped.
        if self.last_seq.is_some_and(|last| seq <= last) {
            return None;
        }
        self.last_seq = Some(seq);
        while self.tokens < CHAT_BURST && now >= self.refilled_at + CHAT_REFILL {
            self.tokens += 1;
            self.refilled_at += CHAT_REFILL;
        }
        if self.tokens == CHAT_BURST {
            self.refilled_at = now;
        }
        let line = clean_line(text)?;
        if self.tokens == 0 {
            self.throttled += 1;
            return None;
        }
        self.tokens -= 1;
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use venture_sim::valid_chat;

    #[test]
    fn escapes_and_controls_are_removed() {
        let evil = "hi\u{1b}[2J\u{1b}]0;owned\u{7}\u{9b}31m\r\nthere\u{202e}";
        let clean = clean_line(evil).unwrap();
        assert!(valid_chat(&clean));
        assert!(!clean.chars().any(|c| c.is_control()));
        assert_eq!(clean, "hi[2J]0;owned31m there");
        assert_eq!(clean_line("  \u{1b}\u{7} \t"), None);
    }

    #[test]
    fn long_lines_are_cut_to_the_cap() {
        let line = clean_line(&"ab ".repeat(200)).unwrap();
        assert!(line.chars().count() <= MAX_CHAT_CHARS);
        assert!(valid_chat(&line));
        let wide = clean_line(&"\u{1F600}".repeat(300)).unwrap();
        assert_eq!(wide.chars().count(), MAX_CHAT_CHARS);
    }

    #[test]
    fn repeats_are_dropped_and_the_rate_is_limited() {
        let t0 = Duration::from_secs(100);
        let mut g = ChatGate::new(t0);
        assert_eq!(g.admit(1, "one", t0).as_deref(), Some("one"));
        assert_eq!(g.admit(1, "one", t0), None, "a resent copy");
        for seq in 2..=CHAT_BURST {
            assert!(g.admit(seq, "more", t0).is_some());
        }
        assert_eq!(g.admit(10, "too many", t0), None);
        assert_eq!(g.throttled, 1);
        assert!(g.admit(11, "later", t0 + CHAT_REFILL).is_some());
        assert_eq!(g.admit(12, "again", t0 + CHAT_REFILL), None);
        // A long quiet spell refills the whole burst, not more.
        let later = t0 + CHAT_REFILL * 100;
        let admitted = (20..40)
            .filter(|&s| g.admit(s, "x", later).is_some())
            .count();
        assert_eq!(admitted as u32, CHAT_BURST);
    }
}
