//! The TCP carrier's frame decoder (`carrier::framing::Decoder`) on arbitrary bytes fed in
//! arbitrary splits: it never panics, never holds more than one frame and its header,
//! yields only packets of 1..=MAX_FRAME bytes, yields the same packets whatever the
//! splits, and stays broken after a framing error. And `encode` round-trips: the packets
//! it yielded, encoded again, are exactly the bytes it consumed before any error.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use venture_net::carrier::framing::{encode, Decoder, FRAME_HEADER, MAX_FRAME};

#[derive(Debug, Arbitrary)]
struct Input {
    /// Lengths of the pieces the stream is read in (0 is a read of nothing).
    splits: Vec<u16>,
    bytes: Vec<u8>,
}

/// Feeds `bytes` in the given pieces; returns the packets and whether it broke.
fn decode(bytes: &[u8], splits: &[u16]) -> (Vec<Vec<u8>>, bool) {
    let mut d = Decoder::new();
    let mut packets: Vec<Vec<u8>> = Vec::new();
    let mut rest = bytes;
    let mut broken = false;
    let mut pieces = splits.iter().copied().map(usize::from).chain(std::iter::repeat(usize::MAX));
    while !rest.is_empty() {
        let n = pieces.next().unwrap_or(usize::MAX).min(rest.len());
        let (piece, tail) = rest.split_at(n);
        rest = tail;
        let result = d.feed(piece, &mut |p| packets.push(p.to_vec()));
        // Memory bounded: at most one frame and its header, whatever the peer sends.
        assert!(d.buffered() <= FRAME_HEADER + MAX_FRAME, "holds {}", d.buffered());
        assert!(d.wants() <= FRAME_HEADER + MAX_FRAME);
        if result.is_err() {
            broken = true;
            // Broken for good: more bytes are refused and yield nothing.
            let before = packets.len();
            assert!(d.feed(&[0, 1, 2], &mut |p| packets.push(p.to_vec())).is_err());
            assert_eq!(packets.len(), before);
            break;
        }
    }
    (packets, broken)
}

fuzz_target!(|input: Input| {
    let (packets, broken) = decode(&input.bytes, &input.splits);
    for p in &packets {
        assert!((1..=MAX_FRAME).contains(&p.len()), "packet of {} bytes", p.len());
    }
    // The same bytes in one piece decode to the same packets and the same end.
    let (whole, whole_broken) = decode(&input.bytes, &[]);
    assert_eq!(whole, packets, "splits changed the packets");
    assert_eq!(whole_broken, broken);
    // Re-encoding what came out gives back the prefix of the stream it came from.
    let mut wire = Vec::new();
    for p in &packets {
        encode(p, &mut wire).expect("a decoded packet is within 1..=MAX_FRAME");
    }
    assert!(input.bytes.starts_with(&wire), "encode(decode(x)) is not a prefix of x");
    if !broken {
        // Whatever follows the last whole frame is an incomplete one (header and part).
        let tail = input.bytes.len() - wire.len();
        assert!(tail < FRAME_HEADER + MAX_FRAME);
    }
    // And encoding arbitrary packets decodes back to them, in any split.
    let mut sent: Vec<Vec<u8>> = Vec::new();
    let mut wire = Vec::new();
    for chunk in input.bytes.chunks(input.splits.first().map_or(97, |&n| usize::from(n % 1500) + 1)) {
        if encode(chunk, &mut wire).is_ok() {
            sent.push(chunk.to_vec());
        }
    }
    let (got, broke) = decode(&wire, &input.splits);
    assert!(!broke, "our own framing broke the decoder");
    assert_eq!(got, sent, "encode then decode is not the identity");
});
