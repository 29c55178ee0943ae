//! Static X25519 key pairs and their printable form.
//!
//! A server's identity is its static public key. Its printable form, the fingerprint, is
//! the key itself in lowercase hex (64 characters, like WireGuard's keys but in hex), so
//! what an operator reads in the log or `/status` is exactly what `--server-key` takes.
//! [`Fingerprint`] is that form as a value (a flag, a pin). [`hex`] and [`parse_hex`] are
//! the workspace's one hex codec: keys here, and the character secrets and their digests
//! the client and the server keep in files.

use thiserror::Error;

/// An X25519 public key.
pub type PublicKey = [u8; 32];

/// Optional prefix [`parse_public_key`] accepts before the 64 hex digits (a fingerprint
/// copied from a document that labels it so still pastes).
pub const KEY_PREFIX: &str = "venture-key:";

/// Errors reading a key's printable form.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error("a key is 64 hex digits (32 bytes), this has {0} characters")]
    Length(usize),
    #[error("a key is 64 hex digits; {0:?} is not a hex digit")]
    NotHex(char),
    #[error("could not generate a key pair: {0}")]
    Generate(String),
}

/// Errors reading hex digits ([`parse_hex`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum HexError {
    #[error("expected {expected} hex digits, got {got} characters")]
    Length { expected: usize, got: usize },
    #[error("{0:?} is not a hex digit")]
    NotHex(char),
}

impl From<HexError> for KeyError {
    fn from(e: HexError) -> Self {
        match e {
            HexError::Length { got, .. } => KeyError::Length(got),
            HexError::NotHex(c) => KeyError::NotHex(c),
        }
    }
}

/// A public key as a value: parsed by [`parse_public_key`] (so a command-line flag such
/// as the client's `-server-key` takes every accepted form), shown as its [`fingerprint`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub PublicKey);

impl std::str::FromStr for Fingerprint {
    type Err = KeyError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_public_key(text).map(Fingerprint)
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&fingerprint(&self.0))
    }
}

/// A static key pair. `Debug` never prints the private half.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticKeypair {
    private: [u8; 32],
    public: PublicKey,
}

impl std::fmt::Debug for StaticKeypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticKeypair")
            .field("public", &fingerprint(&self.public))
            .finish_non_exhaustive()
    }
}

impl StaticKeypair {
    /// A fresh key pair from the operating system's entropy.
    pub fn generate() -> Result<Self, KeyError> {
        let builder = snow::Builder::new(noise_params());
        let kp = builder
            .generate_keypair()
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        Self::from_parts(&kp.private, &kp.public)
    }

    /// A key pair from its private half (the public half is derived).
    pub fn from_private(private: [u8; 32]) -> Self {
        // X25519: public = private * basepoint (clamping happens inside).
        let public = x25519_public(&private);
        StaticKeypair { private, public }
    }

    fn from_parts(private: &[u8], public: &[u8]) -> Result<Self, KeyError> {
        let private: [u8; 32] = private
            .try_into()
            .map_err(|_| KeyError::Generate("private key is not 32 bytes".into()))?;
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| KeyError::Generate("public key is not 32 bytes".into()))?;
        Ok(StaticKeypair { private, public })
    }

    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    pub fn private(&self) -> &[u8; 32] {
        &self.private
    }

    /// The public key's printable form ([`fingerprint`]).
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.public)
    }
}

/// The Noise parameters of [`super::NOISE_PARAMS`].
pub(crate) fn noise_params() -> snow::params::NoiseParams {
    // A constant string that snow's own tests parse: failure is impossible.
    super::NOISE_PARAMS
        .parse()
        .expect("NOISE_PARAMS is a valid Noise protocol name")
}

fn x25519_public(private: &[u8; 32]) -> PublicKey {
    // Through the Curve25519 implementation snow's own handshakes use, so the derived key
    // is by construction the one a peer will see.
    use snow::resolvers::{CryptoResolver, DefaultResolver};
    let mut dh = DefaultResolver
        .resolve_dh(&snow::params::DHChoice::Curve25519)
        .expect("the default resolver provides Curve25519");
    dh.set(private);
    let mut public = [0u8; 32];
    public.copy_from_slice(dh.pubkey());
    public
}

/// The printable form of a public key: 64 lowercase hex characters.
pub fn fingerprint(key: &PublicKey) -> String {
    hex(key)
}

/// Reads [`fingerprint`]'s form back: 64 hex digits (either case), optionally after
/// [`KEY_PREFIX`], surrounding whitespace ignored.
pub fn parse_public_key(text: &str) -> Result<PublicKey, KeyError> {
    let text = text.trim();
    parse_hex32(text.strip_prefix(KEY_PREFIX).unwrap_or(text))
}

/// Exactly 64 hex digits (either case) as 32 bytes: a key of either half.
pub fn parse_hex32(digits: &str) -> Result<[u8; 32], KeyError> {
    Ok(parse_hex(digits)?)
}

/// Bytes as lowercase hex, two digits each.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Exactly `2 * N` hex digits (either case) as `N` bytes; nothing else is accepted (no
/// sign, no whitespace, no prefix), and a non-digit is reported as the character it is.
pub fn parse_hex<const N: usize>(digits: &str) -> Result<[u8; N], HexError> {
    if let Some(bad) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(HexError::NotHex(bad));
    }
    // All ASCII from here on, so the byte length is the character count.
    if digits.len() != 2 * N {
        return Err(HexError::Length {
            expected: 2 * N,
            got: digits.len(),
        });
    }
    let mut out = [0u8; N];
    for (b, pair) in out.iter_mut().zip(digits.as_bytes().chunks_exact(2)) {
        *b = (nibble(pair[0]) << 4) | nibble(pair[1]);
    }
    Ok(out)
}

/// An ASCII hex digit's value (checked by the caller).
fn nibble(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        // Unreachable: parse_hex checked every digit first.
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_round_trips_and_rejects_bad_text() {
        let kp = StaticKeypair::generate().expect("keygen");
        let fp = fingerprint(kp.public());
        assert_eq!(fp.len(), 64);
        assert_eq!(parse_public_key(&fp), Ok(*kp.public()));
        assert_eq!(parse_public_key(&fp.to_uppercase()), Ok(*kp.public()));
        assert_eq!(parse_public_key("abc"), Err(KeyError::Length(3)));
        let mut bad = fp.clone();
        bad.replace_range(0..1, "g");
        assert_eq!(parse_public_key(&bad), Err(KeyError::NotHex('g')));
        assert!(!format!("{kp:?}").contains(&fingerprint(kp.private())));
    }

    // RFC 7748, section 6.1: Alice's key pair.
    const ALICE_PRIVATE: &str = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
    const ALICE_PUBLIC: &str = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

    fn alice() -> StaticKeypair {
        StaticKeypair::from_private(parse_hex32(ALICE_PRIVATE).expect("test vector"))
    }

    #[test]
    fn the_public_key_is_x25519_of_the_private_key() {
        assert_eq!(alice().fingerprint(), ALICE_PUBLIC);
        assert_eq!(fingerprint(alice().public()), ALICE_PUBLIC);
        let a = StaticKeypair::generate().expect("randomness");
        let b = StaticKeypair::generate().expect("randomness");
        assert_ne!(a, b);
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        let shown = format!("{:?}", alice());
        assert!(shown.contains(ALICE_PUBLIC), "{shown}");
        assert!(!shown.contains(ALICE_PRIVATE), "{shown}");
    }

    #[test]
    fn public_keys_parse_in_every_accepted_form() {
        let key = *alice().public();
        for text in [
            ALICE_PUBLIC.to_string(),
            ALICE_PUBLIC.to_uppercase(),
            format!("  {ALICE_PUBLIC}\n"),
            format!("{KEY_PREFIX}{ALICE_PUBLIC}"),
        ] {
            assert_eq!(parse_public_key(&text), Ok(key), "{text:?}");
            assert_eq!(
                text.parse::<Fingerprint>(),
                Ok(Fingerprint(key)),
                "{text:?}"
            );
        }
        assert_eq!(Fingerprint(key).to_string(), ALICE_PUBLIC);
        assert_eq!(
            parse_public_key(&ALICE_PUBLIC[..62]),
            Err(KeyError::Length(62))
        );
        assert_eq!(
            parse_public_key(&format!("{ALICE_PUBLIC}00")),
            Err(KeyError::Length(66))
        );
        assert_eq!(parse_public_key(""), Err(KeyError::Length(0)));
        let bad = format!("{}g", &ALICE_PUBLIC[..63]);
        assert_eq!(parse_public_key(&bad), Err(KeyError::NotHex('g')));
        // Multi-byte characters are reported as characters, not sliced through.
        assert_eq!(
            parse_public_key(&format!("{}é", &ALICE_PUBLIC[..63])),
            Err(KeyError::NotHex('é'))
        );
        assert_eq!(parse_public_key(&fingerprint(&key)), Ok(key));
    }

    #[test]
    fn hex_round_trips_every_byte_and_refuses_what_from_str_radix_would_take() {
        let all: Vec<u8> = (0..=255).collect();
        let text = hex(&all);
        assert_eq!(text.len(), 512);
        assert_eq!(text, text.to_lowercase());
        for (chunk, bytes) in text.as_bytes().chunks(32).zip(all.chunks(16)) {
            let chunk = std::str::from_utf8(chunk).expect("ascii");
            assert_eq!(parse_hex::<16>(chunk).map(Vec::from), Ok(bytes.to_vec()));
            assert_eq!(
                parse_hex::<16>(&chunk.to_uppercase()).map(Vec::from),
                Ok(bytes.to_vec())
            );
        }
        // u8::from_str_radix takes a sign; a hex digit pair never has one.
        assert_eq!(parse_hex::<1>("+f"), Err(HexError::NotHex('+')));
        assert_eq!(parse_hex::<1>(" f"), Err(HexError::NotHex(' ')));
        assert_eq!(
            parse_hex::<2>("abc"),
            Err(HexError::Length {
                expected: 4,
                got: 3
            })
        );
        assert_eq!(parse_hex::<0>(""), Ok([]));
    }

    #[test]
    fn the_public_half_derives_from_the_private_half() {
        let kp = StaticKeypair::generate().expect("keygen");
        assert_eq!(StaticKeypair::from_private(*kp.private()), kp);
    }
}
