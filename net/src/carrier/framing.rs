//! The TCP carrier's bytes, sans-IO: the preamble that tells a game stream from HTTP on
//! the shared port ([`sniff`]), and length-prefixed packets ([`encode`], [`Decoder`]).
//!
//! A game stream starts with the 8-byte [`PREAMBLE`]: a zero byte (no HTTP method starts
//! with one, so the HTTP server can tell at the first byte), `VNTS`, the framing version,
//! and two reserved zero bytes. Then each packet, both ways, is a 2-byte big-endian length
//! and the packet. A length of zero or above [`MAX_FRAME`] is a framing error: the
//! connection ends (a peer that speaks another framing, or garbage).

use thiserror::Error;

use crate::secure::wire::MAX_WIRE_DATAGRAM;

/// Framing version in the preamble.
pub const FRAMING_VERSION: u8 = 1;
/// What a game client sends first on a TCP connection to the game port.
pub const PREAMBLE: [u8; 8] = [0, b'V', b'N', b'T', b'S', FRAMING_VERSION, 0, 0];
/// Largest packet a frame may carry: the largest secure-layer packet.
pub const MAX_FRAME: usize = MAX_WIRE_DATAGRAM;
/// Bytes a frame adds to its packet.
pub const FRAME_HEADER: usize = 2;

/// What the first bytes of a TCP connection on the game port are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// Not enough bytes yet to tell.
    NeedMore,
    /// An HTTP request (anything that does not start with the preamble's zero byte).
    Http,
    /// A game stream: the preamble is complete; the rest of the bytes are frames.
    Game,
    /// Starts like a game stream but is not ours (another framing version, or garbage).
    Invalid,
}

/// Classifies the first bytes received on a connection (the whole buffer so far).
pub fn sniff(first: &[u8]) -> Sniffed {
    match first.first() {
        None => Sniffed::NeedMore,
        Some(&b) if b != PREAMBLE[0] => Sniffed::Http,
        Some(_) => {
            let n = first.len().min(PREAMBLE.len());
            if first[..n] != PREAMBLE[..n] {
                Sniffed::Invalid
            } else if n < PREAMBLE.len() {
                Sniffed::NeedMore
            } else {
                Sniffed::Game
            }
        }
    }
}

/// Appends `packet` as one frame. Packets come from our own secure layer, which never
/// makes one above [`MAX_FRAME`]; a larger one is refused rather than cut.
pub fn encode(packet: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
    if packet.is_empty() || packet.len() > MAX_FRAME {
        return Err(FrameError::Length(packet.len()));
    }
    // MAX_FRAME (1400) fits in u16.
    out.extend_from_slice(&(packet.len() as u16).to_be_bytes());
    out.extend_from_slice(packet);
    Ok(())
}

/// A frame that cannot be ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("frame length {0} is outside 1..={MAX_FRAME}")]
    Length(usize),
}

/// Reassembles frames from a byte stream read in arbitrary pieces. Holds at most one
/// frame and its header: memory per connection is bounded whatever the peer sends.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Set by a framing error: the stream is unusable from then on.
    broken: bool,
}

impl Decoder {
    pub fn new() -> Self {
        Decoder::default()
    }

    /// Bytes of an incomplete frame held.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// How many more bytes the decoder wants before it can yield a frame (so a reader
    /// never takes more than that from the socket: the rest stays in the kernel's
    /// buffer, which is what pushes back on a fast sender).
    pub fn wants(&self) -> usize {
        if self.buf.len() < FRAME_HEADER {
            return FRAME_HEADER - self.buf.len();
        }
        let len = u16::from_be_bytes([self.buf[0], self.buf[1]]) as usize;
        (FRAME_HEADER + len).saturating_sub(self.buf.len())
    }

    /// Feeds bytes; calls `on_packet` for each complete frame. Stops at the first framing
    /// error (and every later call fails too).
    pub fn feed(
        &mut self,
        mut bytes: &[u8],
        on_packet: &mut dyn FnMut(&[u8]),
    ) -> Result<(), FrameError> {
        if self.broken {
            return Err(FrameError::Length(0));
        }
        while !bytes.is_empty() {
            let take = self.wants().min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buf.len() == FRAME_HEADER {
                let len = u16::from_be_bytes([self.buf[0], self.buf[1]]) as usize;
                if len == 0 || len > MAX_FRAME {
                    self.broken = true;
                    self.buf = Vec::new();
                    return Err(FrameError::Length(len));
                }
            }
            if self.buf.len() > FRAME_HEADER && self.wants() == 0 {
                on_packet(&self.buf[FRAME_HEADER..]);
                self.buf.clear();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(d: &mut Decoder, bytes: &[u8]) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut got = Vec::new();
        d.feed(bytes, &mut |p| got.push(p.to_vec()))?;
        Ok(got)
    }

    #[test]
    fn sniff_tells_http_from_game_at_the_first_byte() {
        assert_eq!(sniff(b""), Sniffed::NeedMore);
        assert_eq!(sniff(b"GET / HTTP/1.1\r\n"), Sniffed::Http);
        assert_eq!(sniff(b"G"), Sniffed::Http);
        assert_eq!(sniff(&PREAMBLE[..1]), Sniffed::NeedMore);
        assert_eq!(sniff(&PREAMBLE[..7]), Sniffed::NeedMore);
        assert_eq!(sniff(&PREAMBLE), Sniffed::Game);
        let mut more = PREAMBLE.to_vec();
        more.extend_from_slice(&[0, 5, 1, 2, 3, 4, 5]);
        assert_eq!(sniff(&more), Sniffed::Game);
        let mut other = PREAMBLE;
        other[5] = 2;
        assert_eq!(sniff(&other), Sniffed::Invalid);
        assert_eq!(sniff(&[0, b'X']), Sniffed::Invalid);
    }

    #[test]
    fn frames_round_trip_in_any_split() {
        let packets: Vec<Vec<u8>> = vec![vec![1], vec![2; 300], vec![3; MAX_FRAME], vec![4, 5]];
        let mut wire = Vec::new();
        for p in &packets {
            encode(p, &mut wire).expect("in range");
        }
        assert_eq!(
            wire.len(),
            packets.iter().map(|p| p.len() + 2).sum::<usize>()
        );
        for chunk in [1, 2, 3, 7, 1000, wire.len()] {
            let mut d = Decoder::new();
            let mut got = Vec::new();
            for piece in wire.chunks(chunk) {
                got.extend(decode_all(&mut d, piece).expect("valid"));
            }
            assert_eq!(got, packets, "chunk {chunk}");
            assert_eq!(d.buffered(), 0);
        }
    }

    #[test]
    fn bad_lengths_break_the_stream() {
        let mut d = Decoder::new();
        assert_eq!(decode_all(&mut d, &[0, 0]), Err(FrameError::Length(0)));
        assert!(decode_all(&mut d, &[0, 1, 9]).is_err(), "stays broken");
        let mut d = Decoder::new();
        let too_long = (MAX_FRAME as u16 + 1).to_be_bytes();
        assert_eq!(
            decode_all(&mut d, &too_long),
            Err(FrameError::Length(MAX_FRAME + 1))
        );
        assert_eq!(encode(&[], &mut Vec::new()), Err(FrameError::Length(0)));
        assert!(encode(&vec![0; MAX_FRAME + 1], &mut Vec::new()).is_err());
    }

    #[test]
    fn a_reader_is_told_how_much_to_take() {
        let mut d = Decoder::new();
        assert_eq!(d.wants(), 2);
        decode_all(&mut d, &[0]).expect("partial");
        assert_eq!(d.wants(), 1);
        decode_all(&mut d, &[10]).expect("header");
        assert_eq!(d.wants(), 10);
        decode_all(&mut d, &[0; 4]).expect("partial");
        assert_eq!(d.wants(), 6);
        assert_eq!(decode_all(&mut d, &[0; 6]).expect("frame").len(), 1);
        assert_eq!(d.wants(), 2);
    }
}
