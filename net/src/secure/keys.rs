//! Static X25519 key pairs and their printable form.
//!
//! A server's identity is its static public key. Its printable form, the fingerprint, is
//! the key itself in lowercase hex (64 characters, like WireGuard's keys but in hex), so
//! what an operator reads in the log or `/status` is exactly what `--server-key` takes.

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
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads [`fingerprint`]'s form back: 64 hex digits (either case), optionally after
/// [`KEY_PREFIX`], surrounding whitespace ignored.
pub fn parse_public_key(text: &str) -> Result<PublicKey, KeyError> {
    let text = text.trim();
    parse_hex32(text.strip_prefix(KEY_PREFIX).unwrap_or(text))
}

/// Exactly 64 hex digits (either case) as 32 bytes: a key of either half.
pub fn parse_hex32(digits: &str) -> Result<[u8; 32], KeyError> {
    if let Some(bad) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(KeyError::NotHex(bad));
    }
    // All ASCII from here on, so the byte length is the character count.
    if digits.len() != 64 {
        return Err(KeyError::Length(digits.len()));
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        // Two ASCII hex digits always parse as a u8.
        *b =
            u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).map_err(|_| KeyError::NotHex('?'))?;
    }
    Ok(out)
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

    #[test]
    fn the_public_half_derives_from_the_private_half() {
        let kp = StaticKeypair::generate().expect("keygen");
        assert_eq!(StaticKeypair::from_private(*kp.private()), kp);
    }
}
