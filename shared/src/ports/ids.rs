//! Identifiers and secrets. Production draws from the operating system's secure random source;
//! tests use a seeded generator so that ids are repeatable.

use std::sync::Mutex;

use rand::{RngCore, SeedableRng, TryRngCore, rngs::OsRng};
use rand_chacha::ChaCha20Rng;

pub trait Ids: Send + Sync {
    /// Fills `buf` with random bytes: the raw material of ids, tokens, keys and codes.
    fn fill(&self, buf: &mut [u8]);

    /// A new resource id: 128 random bits, 26 lowercase base32 characters, safe in URLs and keys.
    fn id(&self) -> String {
        let mut bytes = [0u8; 16];
        self.fill(&mut bytes);
        base32(&bytes)
    }

    /// A secret of 256 random bits (API keys, link tokens, session ids).
    fn secret(&self) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        self.fill(&mut bytes);
        bytes
    }

    /// A secret of 256 random bits as text that needs no escaping in URLs, cookies and forms:
    /// base64url without padding, 43 characters.
    fn token(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.secret())
    }
}

/// Ids from the OS's secure random source.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemIds;

impl Ids for SystemIds {
    fn fill(&self, buf: &mut [u8]) {
        // An OS without a working random source cannot safely run this service at all.
        OsRng
            .try_fill_bytes(buf)
            .expect("the operating system's random source failed");
    }
}

/// Repeatable ids for tests: the same seed gives the same sequence.
#[derive(Debug)]
pub struct SeededIds(Mutex<ChaCha20Rng>);

impl SeededIds {
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(ChaCha20Rng::seed_from_u64(seed)))
    }
}

impl Ids for SeededIds {
    fn fill(&self, buf: &mut [u8]) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .fill_bytes(buf);
    }
}

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Crockford's base32, lowercase, without padding.
fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_26_url_safe_characters_and_differ() {
        let ids = SystemIds;
        let (a, b) = (ids.id(), ids.id());
        assert_eq!(a.len(), 26);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
        assert_ne!(a, b);
    }

    #[test]
    fn seeded_ids_repeat_for_the_same_seed() {
        let (one, two) = (SeededIds::new(7), SeededIds::new(7));
        assert_eq!(one.id(), two.id());
        assert_ne!(one.id(), SeededIds::new(8).id());
    }

    #[test]
    fn tokens_are_43_url_safe_characters_and_differ() {
        let (a, b) = (SystemIds.token(), SystemIds.token());
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
    }

    #[test]
    fn base32_encodes_known_vectors() {
        assert_eq!(base32(&[0xff]), "zw");
        assert_eq!(base32(&[0, 0, 0, 0, 0]), "00000000");
    }
}
