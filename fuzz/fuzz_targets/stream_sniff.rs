//! `carrier::framing::sniff`, which tells a game stream from HTTP by the first bytes of a
//! TCP connection on the game port, on arbitrary bytes: no panic, and a consistent
//! verdict: nothing is NeedMore; any non-zero first byte is Http; a strict prefix of the
//! preamble is NeedMore; Game only when the whole preamble is there; anything else
//! starting with zero is Invalid. And the verdict is stable as more bytes arrive: once
//! Http, Game or Invalid, every longer buffer with the same start says the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use venture_net::carrier::framing::{sniff, Sniffed, PREAMBLE};

fn expected(first: &[u8]) -> Sniffed {
    let n = first.len().min(PREAMBLE.len());
    match first.first() {
        None => Sniffed::NeedMore,
        Some(&b) if b != 0 => Sniffed::Http,
        Some(_) if first[..n] != PREAMBLE[..n] => Sniffed::Invalid,
        Some(_) if n < PREAMBLE.len() => Sniffed::NeedMore,
        Some(_) => Sniffed::Game,
    }
}

fuzz_target!(|data: &[u8]| {
    let verdict = sniff(data);
    assert_eq!(verdict, expected(data), "{data:?}");
    if verdict == Sniffed::Game {
        assert!(data.starts_with(&PREAMBLE));
    }
    if data.first().is_some_and(|&b| b != 0) {
        assert_eq!(verdict, Sniffed::Http);
    }
    // The verdict on every prefix: NeedMore until it is decided, then the same.
    let mut decided = None;
    for end in 0..=data.len().min(64) {
        let v = sniff(&data[..end]);
        match decided {
            None if v != Sniffed::NeedMore => decided = Some(v),
            None => assert!(PREAMBLE.starts_with(&data[..end]), "NeedMore on {:?}", &data[..end]),
            Some(d) => assert_eq!(v, d, "changed its mind at {end} bytes"),
        }
    }
    // The preamble followed by these bytes is always a game stream.
    let mut game = PREAMBLE.to_vec();
    game.extend_from_slice(data);
    assert_eq!(sniff(&game), Sniffed::Game);
});
