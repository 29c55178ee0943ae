//! Stateless admission cookies.
//!
//! Before a server spends any state on a new UDP peer it answers `Hello` with a
//! `Challenge { cookie }`; the peer must echo the cookie in `Join`. The cookie is a keyed
//! 128-bit SipHash-2-4 MAC over (the client's socket address, a coarse time bucket), so the
//! server keeps no per-peer table: it recomputes the MAC and compares in constant time.
//! A cookie is valid in the bucket it was issued in and the one after (so with the default
//! 5 s buckets it lives between 5 and 10 seconds).
//!
//! Time is passed in as a [`Duration`] since any fixed epoch the caller chooses (the Unix
//! epoch, or the server's start `Instant`); this module reads no clock itself.

use std::hash::Hasher;
use std::net::SocketAddr;
use std::time::Duration;

use siphasher::sip128::{Hasher128, SipHasher24};

/// Bytes in a cookie.
pub const COOKIE_LEN: usize = 16;
/// An admission cookie as carried on the wire.
pub type Cookie = [u8; COOKIE_LEN];
/// Default width of a validity bucket.
pub const DEFAULT_BUCKET: Duration = Duration::from_secs(5);

/// Domain-separation tag hashed first, so these MACs cannot collide with other uses of the
/// same secret.
const DOMAIN: &[u8] = b"venture-cookie-v1";

/// The server's cookie key: a secret and a bucket width.
///
/// The secret must be unpredictable to clients (generate it from OS entropy at server start;
/// rotating it on restart simply invalidates outstanding cookies).
#[derive(Clone)]
pub struct CookieKey {
    secret: [u8; 16],
    bucket_nanos: u128,
}

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("CookieKey")
            .field("bucket_nanos", &self.bucket_nanos)
            .finish_non_exhaustive()
    }
}

impl CookieKey {
    /// A key with the default 5 s bucket.
    pub fn new(secret: [u8; 16]) -> Self {
        Self::with_bucket(secret, DEFAULT_BUCKET)
    }

    /// A key with a custom bucket width (a zero width is raised to 1 ns).
    pub fn with_bucket(secret: [u8; 16], bucket: Duration) -> Self {
        CookieKey {
            secret,
            bucket_nanos: bucket.as_nanos().max(1),
        }
    }

    fn bucket(&self, now: Duration) -> u64 {
        // Saturate rather than wrap: u64 buckets of >= 1 ns cover 584 years.
        u64::try_from(now.as_nanos() / self.bucket_nanos).unwrap_or(u64::MAX)
    }

    fn mac(&self, addr: SocketAddr, bucket: u64) -> Cookie {
        let mut h = SipHasher24::new_with_key(&self.secret);
        h.write(DOMAIN);
        h.write_u64(bucket);
        match addr {
            SocketAddr::V4(a) => {
                h.write_u8(4);
                h.write(&a.ip().octets());
            }
            SocketAddr::V6(a) => {
                h.write_u8(6);
                h.write(&a.ip().octets());
            }
        }
        h.write_u16(addr.port());
        h.finish128().as_bytes()
    }

    /// The cookie for `addr` at time `now`.
    pub fn issue(&self, addr: SocketAddr, now: Duration) -> Cookie {
        self.mac(addr, self.bucket(now))
    }

    /// Whether `cookie` was issued for `addr` in the current or the previous bucket.
    pub fn verify(&self, cookie: &Cookie, addr: SocketAddr, now: Duration) -> bool {
        let b = self.bucket(now);
        // Compare against both buckets unconditionally so timing does not reveal which matched.
        let cur = ct_eq(cookie, &self.mac(addr, b));
        let prev = match b.checked_sub(1) {
            Some(p) => ct_eq(cookie, &self.mac(addr, p)),
            None => false,
        };
        cur | prev
    }
}

/// Constant-time equality of two cookies (no early exit on the first differing byte).
pub fn ct_eq(a: &Cookie, b: &Cookie) -> bool {
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("test address literal")
    }

    const SECRET: [u8; 16] = [7; 16];

    #[test]
    fn valid_in_current_and_next_bucket() {
        let k = CookieKey::new(SECRET);
        let a = addr("127.0.0.1:4000");
        let t = Duration::from_secs(1000);
        let c = k.issue(a, t);
        assert!(k.verify(&c, a, t));
        assert!(k.verify(&c, a, t + Duration::from_millis(4999)));
        assert!(k.verify(&c, a, t + Duration::from_secs(9)));
    }

    #[test]
    fn expired() {
        let k = CookieKey::new(SECRET);
        let a = addr("127.0.0.1:4000");
        let t = Duration::from_secs(1000);
        let c = k.issue(a, t);
        assert!(!k.verify(&c, a, t + Duration::from_secs(10)));
        assert!(!k.verify(&c, a, t + Duration::from_secs(3600)));
        // A cookie from the future (clock moved back a bucket) is also rejected.
        assert!(!k.verify(&c, a, t - Duration::from_secs(5)));
    }

    #[test]
    fn wrong_address() {
        let k = CookieKey::new(SECRET);
        let t = Duration::from_secs(1000);
        let c = k.issue(addr("127.0.0.1:4000"), t);
        assert!(!k.verify(&c, addr("127.0.0.1:4001"), t));
        assert!(!k.verify(&c, addr("127.0.0.2:4000"), t));
        assert!(!k.verify(&c, addr("[::1]:4000"), t));
    }

    #[test]
    fn wrong_secret() {
        let a = addr("127.0.0.1:4000");
        let t = Duration::from_secs(1000);
        let c = CookieKey::new(SECRET).issue(a, t);
        assert!(!CookieKey::new([8; 16]).verify(&c, a, t));
        let mut forged = c;
        forged[15] ^= 1;
        assert!(!CookieKey::new(SECRET).verify(&forged, a, t));
    }

    #[test]
    fn ct_eq_works_and_debug_hides_secret() {
        assert!(ct_eq(&[1; 16], &[1; 16]));
        assert!(!ct_eq(&[1; 16], &[2; 16]));
        let s = format!("{:?}", CookieKey::new(SECRET));
        assert!(!s.contains("secret"));
        assert!(CookieKey::with_bucket(SECRET, Duration::ZERO).verify(
            &CookieKey::with_bucket(SECRET, Duration::ZERO)
                .issue(addr("1.2.3.4:5"), Duration::ZERO),
            addr("1.2.3.4:5"),
            Duration::ZERO
        ));
    }
}
