//! `SessionReader` over arbitrary bytes: header, then every record (bounded, format 2's
//! `Stop`/`Resume`/`Gap` included), then the tail; `read_from` must agree with the
//! iteration.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Cursor;
use venture_replay::{read_from, SessionReader};

const MAX_RECORDS: usize = 100_000;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = SessionReader::new(Cursor::new(data)) else {
        assert!(read_from(Cursor::new(data)).is_err());
        return;
    };
    let mut n = 0usize;
    let mut failed = false;
    loop {
        match reader.next_record() {
            Ok(Some(_)) => {
                n += 1;
                assert!(n <= MAX_RECORDS, "more records than bytes allow");
            }
            Ok(None) => break,
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(reader.offset() <= data.len() as u64);
    match read_from(Cursor::new(data)) {
        Ok(session) => {
            assert!(!failed);
            assert_eq!(session.valid_len, reader.offset());
            let markers = session.stops.len() + session.resumes.len() + session.gaps.len();
            assert!(session.frames.len() + session.snapshots.len() + markers <= n);
            assert!(session.format >= 1 && session.format <= venture_replay::FORMAT_VERSION);
        }
        Err(_) => assert!(failed),
    }
});
