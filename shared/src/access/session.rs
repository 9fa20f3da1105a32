//! Sessions: 256 random bits in a cookie, stored only by hash, ending after [`IDLE_MINUTES`]
//! without a request or [`SESSION_HOURS`] in all (and earlier when what they were opened through
//! ends: each portal checks that on every request). `W` is who the session is for, as each
//! portal names them; the record also remembers the link generation it was opened through and
//! the token its forms must carry.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::json;

use super::secret::same;
use crate::Services;
use crate::domain::Result;
use crate::ports::{Condition, Item, Key, TableError, Update};

pub const IDLE_MINUTES: i64 = 30;
pub const SESSION_HOURS: i64 = 12;
/// A session's last-seen time is written at most this often (a write per page is waste).
pub const TOUCH_SECONDS: i64 = 60;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session<W> {
    pub who: W,
    /// The link generation it was opened through: a newer generation ends it.
    pub generation: u32,
    /// The token every form of this session must carry.
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
}

/// Whether a session is still within its time at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    Current,
    /// Current, and its last-seen time is worth writing.
    CurrentTouch,
    /// Over [`IDLE_MINUTES`] without a request.
    Idle,
    /// Over [`SESSION_HOURS`] since it opened.
    TooOld,
}

/// The session's standing at `now` (pure).
pub fn timing(created_at: DateTime<Utc>, seen_at: DateTime<Utc>, now: DateTime<Utc>) -> Timing {
    if now - created_at > Duration::hours(SESSION_HOURS) {
        Timing::TooOld
    } else if now - seen_at > Duration::minutes(IDLE_MINUTES) {
        Timing::Idle
    } else if (now - seen_at).num_seconds() >= TOUCH_SECONDS {
        Timing::CurrentTouch
    } else {
        Timing::Current
    }
}

impl<W: Serialize + DeserializeOwned> Session<W> {
    /// A session opened now for `who`, through a link of `generation`.
    pub fn open(svc: &Services, who: W, generation: u32) -> Self {
        let now = svc.clock.now();
        Self {
            who,
            generation,
            csrf: svc.ids.token(),
            created_at: now,
            seen_at: now,
        }
    }

    /// The stored item under `key`, removed by the store's TTL when the session's hours end.
    pub fn item(&self, key: Key) -> Result<Item> {
        let ends = self.created_at + Duration::hours(SESSION_HOURS);
        Ok(Item::from_record(key, self)?.with_expiry(ends.timestamp()))
    }

    /// Whether a form's token is this session's (compared in constant time).
    pub fn form_token_ok(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| same(p, &self.csrf))
    }
}

/// The session under `key` if it is within its time (its last-seen time written when due); an
/// ended one is removed.
pub async fn current<W: Serialize + DeserializeOwned>(
    svc: &Services,
    key: &Key,
) -> Result<Option<Session<W>>> {
    let Some(item) = svc.table.get(key).await? else {
        return Ok(None);
    };
    let session: Session<W> = item.record()?;
    let now = svc.clock.now();
    match timing(session.created_at, session.seen_at, now) {
        Timing::Idle | Timing::TooOld => {
            end(svc, key).await?;
            Ok(None)
        }
        Timing::Current => Ok(Some(session)),
        Timing::CurrentTouch => {
            let touch = Update::default()
                .set("seen_at", json!(now))
                .when(Condition::Exists);
            match svc.table.update(key, touch).await {
                Ok(_) | Err(TableError::ConditionFailed(_)) => {}
                Err(e) => return Err(e.into()),
            }
            Ok(Some(session))
        }
    }
}

/// Removes a session: whatever the cookie still says, it opens nothing.
pub async fn end(svc: &Services, key: &Key) -> Result<()> {
    svc.table.delete(key, Condition::None).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_session_ends_after_thirty_idle_minutes_or_twelve_hours() {
        let opened = at("2026-12-01T08:00:00Z");
        #[rustfmt::skip]
        let table: &[(&str, &str, &str, Timing)] = &[
            // (reason, seen at, now, standing)
            ("just used", "2026-12-01T08:00:00Z", "2026-12-01T08:00:30Z", Timing::Current),
            ("a minute since the last request", "2026-12-01T08:00:00Z", "2026-12-01T08:01:00Z", Timing::CurrentTouch),
            ("thirty idle minutes", "2026-12-01T08:00:00Z", "2026-12-01T08:30:00Z", Timing::CurrentTouch),
            ("past thirty idle minutes", "2026-12-01T08:00:00Z", "2026-12-01T08:30:01Z", Timing::Idle),
            ("busy but past twelve hours", "2026-12-01T20:00:00Z", "2026-12-01T20:00:01Z", Timing::TooOld),
            ("busy at twelve hours", "2026-12-01T19:59:50Z", "2026-12-01T20:00:00Z", Timing::Current),
        ];
        for (reason, seen, now, expected) in table {
            assert_eq!(timing(opened, at(seen), at(now)), *expected, "{reason}");
        }
    }
}
