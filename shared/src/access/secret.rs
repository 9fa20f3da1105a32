//! Secrets a customer presents (link tokens, session cookies, codes): stored only as hashes,
//! compared in constant time, and checked for shape before any store read.

use sha2::{Digest, Sha256};

/// The stored form of a link token or a session secret.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` has the shape of our tokens (256 bits, URL-safe base64 without padding).
pub fn looks_like_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Constant-time comparison of two secrets' stored forms.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_has_43_url_safe_characters() {
        let good = "a".repeat(43);
        #[rustfmt::skip]
        let table: &[(&str, String, bool)] = &[
            ("43 letters", good.clone(), true),
            ("digits, - and _", format!("{}0-_", "a".repeat(40)), true),
            ("one short", "a".repeat(42), false),
            ("one long", "a".repeat(44), false),
            ("padding", format!("{}=", "a".repeat(42)), false),
            ("a slash", format!("{}/", "a".repeat(42)), false),
        ];
        for (reason, token, expected) in table {
            assert_eq!(looks_like_token(token), *expected, "{reason}");
        }
    }

    #[test]
    fn a_token_is_stored_as_its_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn secrets_are_the_same_only_when_every_byte_is() {
        #[rustfmt::skip]
        let table: &[(&str, &str, bool)] = &[
            ("abc", "abc", true),
            ("abc", "abd", false),
            ("abc", "ab", false),
            ("", "", true),
        ];
        for (a, b, expected) in table {
            assert_eq!(same(a, b), *expected, "{a} vs {b}");
        }
    }
}
