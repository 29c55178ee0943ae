//! Steps of non-blocking stream I/O, shared by the HTTP server (`http/`) and the HTTP
//! client (`http_client.rs`): write what is pending, read into a bounded buffer. Each step
//! goes as far as the stream allows without blocking, retries `EINTR`, and turns
//! `WouldBlock` into [`Step::Blocked`] so callers can return to the event loop. mio is
//! edge-triggered, so a caller must keep stepping until `Blocked` before it waits again.

use std::io::{self, Read, Write};

/// How far a step got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Everything asked for is done (all written; or some bytes read, see [`read_some`]).
    Done,
    /// The stream would block: wait for readiness.
    Blocked,
    /// The peer closed its side (read 0 bytes).
    Eof,
}

/// Writes `out[*written..]`, advancing `written`, until all is written or the stream blocks.
pub fn write_pending(w: &mut impl Write, out: &[u8], written: &mut usize) -> io::Result<Step> {
    while *written < out.len() {
        match w.write(&out[*written..]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "connection closed while sending",
                ))
            }
            Ok(n) => *written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Step::Blocked),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Step::Done)
}

/// Reads once (retrying `EINTR`) and appends to `buf`, never letting it grow past `limit`
/// plus one byte (so a caller can tell the limit was exceeded). `Done` means bytes were
/// appended; a full buffer reads nothing and reports `Done` so the caller checks its limit.
pub fn read_some(r: &mut impl Read, buf: &mut Vec<u8>, limit: usize) -> io::Result<Step> {
    let mut tmp = [0u8; 4096];
    let room = (limit + 1).saturating_sub(buf.len()).min(tmp.len());
    if room == 0 {
        return Ok(Step::Done);
    }
    loop {
        match r.read(&mut tmp[..room]) {
            Ok(0) => return Ok(Step::Eof),
            Ok(n) => {
                buf.extend_from_slice(&tmp[..n]);
                return Ok(Step::Done);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Step::Blocked),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! An in-memory stream that hands out its input and accepts output in small pieces and
    //! says `WouldBlock` in between, as a non-blocking socket does.

    use std::io::{self, Read, Write};

    #[derive(Default)]
    pub struct Trickle {
        pub input: Vec<u8>,
        pub read_at: usize,
        pub output: Vec<u8>,
        /// Most bytes per call.
        pub chunk: usize,
        /// The next call blocks (then the one after does not).
        pub block_next: bool,
        /// After the input, report EOF (else `WouldBlock` forever).
        pub eof: bool,
    }

    impl Trickle {
        fn gate(&mut self) -> io::Result<()> {
            self.block_next = !self.block_next;
            if !self.block_next {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(())
        }
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.gate()?;
            let left = &self.input[self.read_at..];
            if left.is_empty() {
                return if self.eof {
                    Ok(0)
                } else {
                    Err(io::ErrorKind::WouldBlock.into())
                };
            }
            let n = left.len().min(buf.len()).min(self.chunk.max(1));
            buf[..n].copy_from_slice(&left[..n]);
            self.read_at += n;
            Ok(n)
        }
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.gate()?;
            let n = buf.len().min(self.chunk.max(1));
            self.output.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::Trickle;
    use super::*;

    #[test]
    fn writes_across_would_block() {
        let mut s = Trickle {
            chunk: 3,
            ..Trickle::default()
        };
        let out = b"hello, world";
        let mut written = 0;
        let mut blocked = 0;
        while write_pending(&mut s, out, &mut written).unwrap() == Step::Blocked {
            blocked += 1;
            assert!(blocked < 100);
        }
        assert_eq!(s.output, out);
        assert!(blocked > 0);
    }

    #[test]
    fn reads_are_bounded_and_report_eof() {
        let mut s = Trickle {
            input: vec![7; 100],
            chunk: 30,
            eof: true,
            ..Trickle::default()
        };
        let mut buf = Vec::new();
        let mut steps = Vec::new();
        for _ in 0..20 {
            steps.push(read_some(&mut s, &mut buf, 50).unwrap());
        }
        assert_eq!(buf.len(), 51, "limit plus one byte");
        assert!(steps.contains(&Step::Blocked));
        let mut all = Vec::new();
        let mut s = Trickle {
            input: vec![1; 10],
            chunk: 4,
            eof: true,
            ..Trickle::default()
        };
        while read_some(&mut s, &mut all, 1000).unwrap() != Step::Eof {}
        assert_eq!(all, vec![1; 10]);
    }
}
