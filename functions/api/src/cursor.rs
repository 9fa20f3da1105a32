//! List cursors as callers see them: opaque and authenticated.
//!
//! The table's position (which names table keys, and so tenant ids and the key layout) never
//! leaves the service in the clear. It is sealed with XChaCha20-Poly1305 under a key derived
//! from `CURSOR_KEY`, with the time it was given out, and bound to the list it belongs to (the
//! tenant, the path and the filters, as associated data). A cursor that was changed, cut
//! short, given out to another tenant or for another list, sealed under an earlier key, or
//! older than [`LIFETIME`] opens to nothing: one refusal that says no more than that.
//!
//! A token is base64url (no padding) of: a format byte, a 24-byte random nonce, and the
//! ciphertext of (8 bytes: the Unix time it was given out, then the position) with its 16-byte
//! tag.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Duration, Utc};
use clientwatch::ports::{Cursor, Ids};
use sha2::{Digest, Sha256};

/// How long a cursor may be used after it was given out.
pub const LIFETIME: Duration = Duration::hours(24);

/// How far ahead of this instance's clock a cursor's time may be (another instance's clock).
const SKEW: Duration = Duration::minutes(5);

const FORMAT: u8 = 1;
const NONCE: usize = 24;
const TAG: usize = 16;
const TIME: usize = 8;
/// Longest token opened; a list's position is a few hundred bytes.
const MAX_TOKEN: usize = 4096;

/// The key cursors are sealed with. Cheap to clone; never printed.
#[derive(Clone)]
pub struct CursorKey(Arc<XChaCha20Poly1305>);

impl fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CursorKey(<redacted>)")
    }
}

/// The list a cursor belongs to: the tenant, the route's path and its filters.
pub struct ListScope(Vec<u8>);

impl ListScope {
    /// `filters` are the list's query parameters other than `limit` and `cursor`, in any order.
    pub fn new(tenant_id: &str, path: &str, filters: &[(String, String)]) -> Self {
        let mut filters = filters.to_vec();
        filters.sort();
        // JSON keeps the parts apart whatever they contain.
        let parts = serde_json::json!(["clientwatch list cursor", tenant_id, path, filters]);
        Self(parts.to_string().into_bytes())
    }
}

/// A cursor that cannot be used with this list; deliberately without a reason.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused;

impl CursorKey {
    /// The key derived from the configured secret (`CURSOR_KEY`).
    pub fn from_secret(secret: &str) -> Self {
        let key = Sha256::new()
            .chain_update(b"clientwatch/cursor-key/v1\0")
            .chain_update(secret.as_bytes())
            .finalize();
        Self(Arc::new(XChaCha20Poly1305::new(&key)))
    }

    /// Seals `position` for `scope` as given out at `now`.
    pub fn seal(
        &self,
        scope: &ListScope,
        position: &Cursor,
        now: DateTime<Utc>,
        ids: &dyn Ids,
    ) -> String {
        let mut nonce = [0u8; NONCE];
        ids.fill(&mut nonce);
        let mut plain = Vec::with_capacity(TIME + position.as_str().len());
        plain.extend_from_slice(&now.timestamp().to_be_bytes());
        plain.extend_from_slice(position.as_str().as_bytes());
        let sealed = self
            .0
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: &scope.0,
                },
            )
            // Encryption fails only for messages of gigabytes.
            .unwrap_or_default();
        let mut token = Vec::with_capacity(1 + NONCE + sealed.len());
        token.push(FORMAT);
        token.extend_from_slice(&nonce);
        token.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(token)
    }

    /// The position a token holds, if this key sealed it for `scope` within its lifetime.
    pub fn open(
        &self,
        scope: &ListScope,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Cursor, Refused> {
        if token.len() > MAX_TOKEN {
            return Err(Refused);
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| Refused)?;
        if bytes.len() < 1 + NONCE + TAG + TIME || bytes[0] != FORMAT {
            return Err(Refused);
        }
        let (nonce, sealed) = bytes[1..].split_at(NONCE);
        let plain = self
            .0
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &scope.0,
                },
            )
            .map_err(|_| Refused)?;
        let (time, position) = plain.split_at(TIME);
        let given = i64::from_be_bytes(time.try_into().map_err(|_| Refused)?);
        let given = DateTime::from_timestamp(given, 0).ok_or(Refused)?;
        if now - given > LIFETIME || given - now > SKEW {
            return Err(Refused);
        }
        let position = std::str::from_utf8(position).map_err(|_| Refused)?;
        Cursor::parse(position).map_err(|_| Refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientwatch::ports::table::Position;
    use clientwatch::ports::{Item, Key, SeededIds};

    fn position(pk: &str, sk: &str) -> Cursor {
        Position::of(&Item::new(Key::new(pk, sk), Default::default()), None).cursor()
    }

    fn now() -> DateTime<Utc> {
        "2026-12-04T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_sealed_cursor_opens_for_its_own_list_and_hides_the_keys() {
        let key = CursorKey::from_secret("a secret of at least thirty-two characters");
        let scope = ListScope::new("tenant-a", "/v1/clients", &[]);
        let at = position("T#tenant-a", "CLIENT#c1");
        let token = key.seal(&scope, &at, now(), &SeededIds::new(1));
        assert!(!token.contains(&URL_SAFE_NO_PAD.encode("tenant-a")));
        let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        assert!(!raw.windows(8).any(|w| w == b"tenant-a"));
        assert_eq!(key.open(&scope, &token, now()), Ok(at));
    }

    #[test]
    fn filters_bind_in_any_order_and_a_changed_filter_is_another_list() {
        let key = CursorKey::from_secret("a secret of at least thirty-two characters");
        let pairs = |a: &str| vec![("since".into(), a.into()), ("kind".into(), "x".into())];
        let mut reversed = pairs("2026-01-01T00:00:00Z");
        reversed.reverse();
        let scope = ListScope::new("t", "/v1/hits", &pairs("2026-01-01T00:00:00Z"));
        let token = key.seal(&scope, &position("T#t", "HIT"), now(), &SeededIds::new(2));
        assert!(
            key.open(&ListScope::new("t", "/v1/hits", &reversed), &token, now())
                .is_ok()
        );
        let other = ListScope::new("t", "/v1/hits", &pairs("2026-02-01T00:00:00Z"));
        assert_eq!(key.open(&other, &token, now()), Err(Refused));
    }

    #[test]
    fn a_cursor_is_refused_after_its_lifetime_under_another_key_or_in_an_old_format() {
        let key = CursorKey::from_secret("a secret of at least thirty-two characters");
        let scope = ListScope::new("t", "/v1/clients", &[]);
        let at = position("T#t", "CLIENT#c1");
        let token = key.seal(&scope, &at, now(), &SeededIds::new(3));
        let later = now() + LIFETIME + Duration::seconds(1);
        assert_eq!(key.open(&scope, &token, later), Err(Refused));
        assert!(key.open(&scope, &token, now() + LIFETIME).is_ok());
        let rotated = CursorKey::from_secret("another secret of thirty-two characters");
        assert_eq!(rotated.open(&scope, &token, now()), Err(Refused));
        // The unsigned cursors of earlier versions: base64 of the position's JSON.
        assert_eq!(key.open(&scope, at.as_str(), now()), Err(Refused));
    }
}
