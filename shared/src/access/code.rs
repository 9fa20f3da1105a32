//! The one-time code: 6 digits from the secure random source, valid [`CODE_MINUTES`], used at
//! most once, at most [`TRIES_PER_CODE`] wrong entries each; a new code at most every
//! [`RESEND_SECONDS`] and [`SENDS_PER_DAY`] a day; after [`FAILURES_PER_LINK`] wrong entries
//! over all of a holder's codes the holder is locked out until a new link is issued.
//!
//! The state ([`CodeState`]) is kept on the record it protects (an invite, a contact's portal
//! access) and written under that record's version, so the limits hold across Lambda instances
//! and racing requests: the caller applies [`CodeState::send`] or [`CodeState::judge`] to the
//! state it read, writes the answer's next state conditioned on the version read, and when it
//! loses that race reads again and asks again.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::secret::same;
use crate::ports::Ids;

pub const CODE_MINUTES: i64 = 10;
pub const TRIES_PER_CODE: u32 = 5;
pub const RESEND_SECONDS: i64 = 60;
pub const SENDS_PER_DAY: usize = 5;
pub const FAILURES_PER_LINK: u32 = 10;

/// The code of the moment: only its hash is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCode {
    pub hash: String,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Wrong entries of this code so far.
    pub tries: u32,
}

/// A holder's codes: the one waiting, when codes were sent, how many wrong entries in all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<PendingCode>,
    /// When codes were sent (the last day's, for throttling).
    #[serde(default)]
    pub code_sends: Vec<DateTime<Utc>>,
    /// Wrong codes entered over all of this holder's codes.
    #[serde(default)]
    pub failures: u32,
}

/// Why a code step was refused, in terms the person can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A code was sent moments ago.
    ResendTooSoon {
        seconds: i64,
    },
    /// The day's codes are used up.
    TooManyCodes,
    /// No code is waiting (none sent, used already, or older than ten minutes).
    NoCode,
    /// This code had its five tries; a new one is needed.
    CodeUsedUp,
    WrongCode {
        tries_left: u32,
    },
    /// Too many wrong codes over all: locked until a new link is issued.
    Locked,
}

/// What an entered code does to the state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judged {
    /// Refused without a change (nothing to write).
    Refused(Refusal),
    /// A wrong code: write `next` (the try counted), then answer `refusal`; `locked` when this
    /// entry locked the holder out.
    Wrong {
        next: CodeState,
        refusal: Refusal,
        locked: bool,
    },
    /// The right code: write `next` (the code spent) with whatever it opens.
    Right { next: CodeState },
}

impl CodeState {
    /// The code that can still be entered at `now`.
    pub fn live(&self, now: DateTime<Utc>) -> Option<&PendingCode> {
        self.code
            .as_ref()
            .filter(|c| now < c.expires_at && c.tries < TRIES_PER_CODE)
    }

    /// The state after sending a new code (stored as `hash`) at `now`, or why not now. The
    /// previous code stops working.
    pub fn send(&self, now: DateTime<Utc>, hash: String) -> Result<CodeState, Refusal> {
        if let Some(last) = self.code_sends.last() {
            let wait = RESEND_SECONDS - (now - *last).num_seconds();
            if wait > 0 {
                return Err(Refusal::ResendTooSoon { seconds: wait });
            }
        }
        let day_ago = now - Duration::days(1);
        let mut sends: Vec<DateTime<Utc>> = self
            .code_sends
            .iter()
            .copied()
            .filter(|t| *t > day_ago)
            .collect();
        if sends.len() >= SENDS_PER_DAY {
            return Err(Refusal::TooManyCodes);
        }
        sends.push(now);
        Ok(CodeState {
            code: Some(PendingCode {
                hash,
                sent_at: now,
                expires_at: now + Duration::minutes(CODE_MINUTES),
                tries: 0,
            }),
            code_sends: sends,
            failures: self.failures,
        })
    }

    /// What the entered code (its stored form, `entered_hash`) does at `now`.
    pub fn judge(&self, now: DateTime<Utc>, entered_hash: &str) -> Judged {
        let Some(code) = self.code.as_ref().filter(|c| now < c.expires_at) else {
            return Judged::Refused(Refusal::NoCode);
        };
        if code.tries >= TRIES_PER_CODE {
            return Judged::Refused(Refusal::CodeUsedUp);
        }
        let mut next = self.clone();
        if same(entered_hash, &code.hash) {
            next.code = None;
            return Judged::Right { next };
        }
        let tries = code.tries + 1;
        next.failures += 1;
        if let Some(code) = next.code.as_mut() {
            code.tries = tries;
        }
        let locked = next.failures >= FAILURES_PER_LINK;
        if locked {
            next.code = None;
        }
        let refusal = if locked {
            Refusal::Locked
        } else if tries >= TRIES_PER_CODE {
            Refusal::CodeUsedUp
        } else {
            Refusal::WrongCode {
                tries_left: TRIES_PER_CODE - tries,
            }
        };
        Judged::Wrong {
            next,
            refusal,
            locked,
        }
    }
}

/// Six digits, uniform, from the secure random source (rejection sampling avoids the bias of
/// a plain remainder).
pub fn new_code(ids: &dyn Ids) -> String {
    const LIMIT: u32 = u32::MAX - u32::MAX % 1_000_000;
    loop {
        let mut bytes = [0u8; 4];
        ids.fill(&mut bytes);
        let n = u32::from_le_bytes(bytes);
        if n < LIMIT {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// A code's stored form, bound to what it protects (so one holder's code hash is no use for
/// another's).
pub fn code_hash(bound_to: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{bound_to}:{code}").as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    const T0: &str = "2026-12-01T09:00:00Z";

    fn waiting(tries: u32, failures: u32) -> CodeState {
        CodeState {
            code: Some(PendingCode {
                hash: code_hash("x", "123456"),
                sent_at: at(T0),
                expires_at: at(T0) + Duration::minutes(CODE_MINUTES),
                tries,
            }),
            code_sends: vec![at(T0)],
            failures,
        }
    }

    #[test]
    fn a_code_is_sent_at_most_every_minute_and_five_times_a_day() {
        let sends = |offsets: &[i64]| CodeState {
            code_sends: offsets
                .iter()
                .map(|s| at(T0) - Duration::seconds(*s))
                .collect(),
            ..CodeState::default()
        };
        #[rustfmt::skip]
        let table: &[(&str, CodeState, Result<usize, Refusal>)] = &[
            // (reason, state, sends kept after sending or the refusal)
            ("first code", CodeState::default(), Ok(1)),
            ("ten seconds after the last", sends(&[10]), Err(Refusal::ResendTooSoon { seconds: 50 })),
            ("a minute after the last", sends(&[60]), Ok(2)),
            ("five in the last day", sends(&[80_000, 60_000, 4_000, 3_000, 120]), Err(Refusal::TooManyCodes)),
            ("five, one older than a day", sends(&[90_000, 60_000, 4_000, 3_000, 120]), Ok(5)),
        ];
        for (reason, state, expected) in table {
            let got = state
                .send(at(T0), "h".into())
                .map(|next| next.code_sends.len());
            assert_eq!(&got, expected, "{reason}");
        }
        let next = CodeState::default().send(at(T0), "h".into()).unwrap();
        let code = next.code.unwrap();
        assert_eq!(
            (code.tries, code.expires_at),
            (0, at(T0) + Duration::minutes(10))
        );
    }

    #[test]
    fn an_entered_code_is_judged_against_the_waiting_one() {
        let right = code_hash("x", "123456");
        let wrong = code_hash("x", "000000");
        let later = at(T0) + Duration::minutes(10);
        #[rustfmt::skip]
        let table: &[(&str, CodeState, DateTime<Utc>, &str, &str)] = &[
            // (reason, state, now, entered, what happens)
            ("no code sent", CodeState::default(), at(T0), &right, "refused NoCode"),
            ("code older than ten minutes", waiting(0, 0), later, &right, "refused NoCode"),
            ("five tries had", waiting(5, 5), at(T0), &right, "refused CodeUsedUp"),
            ("right code", waiting(2, 2), at(T0), &right, "right"),
            ("first wrong code", waiting(0, 0), at(T0), &wrong, "wrong WrongCode { tries_left: 4 } failures 1"),
            ("fifth wrong code", waiting(4, 4), at(T0), &wrong, "wrong CodeUsedUp failures 5"),
            ("tenth wrong over all codes", waiting(1, 9), at(T0), &wrong, "locked Locked failures 10"),
        ];
        for (reason, state, now, entered, expected) in table {
            let got = match state.judge(*now, entered) {
                Judged::Refused(r) => format!("refused {r:?}"),
                Judged::Right { next } => {
                    assert!(next.code.is_none(), "{reason}: the code is spent");
                    "right".into()
                }
                Judged::Wrong {
                    next,
                    refusal,
                    locked,
                } => {
                    if locked {
                        assert!(next.code.is_none(), "{reason}: no code stays after a lock");
                    }
                    format!(
                        "{} {refusal:?} failures {}",
                        if locked { "locked" } else { "wrong" },
                        next.failures
                    )
                }
            };
            assert_eq!(&got, expected, "{reason}");
        }
    }

    #[test]
    fn a_live_code_is_within_its_ten_minutes_and_five_tries() {
        assert!(waiting(4, 4).live(at(T0)).is_some());
        assert!(waiting(5, 5).live(at(T0)).is_none());
        assert!(waiting(0, 0).live(at(T0) + Duration::minutes(10)).is_none());
        assert!(CodeState::default().live(at(T0)).is_none());
    }

    #[test]
    fn a_code_hash_is_bound_to_its_holder() {
        assert_ne!(code_hash("a", "123456"), code_hash("b", "123456"));
        assert_eq!(code_hash("a", "123456"), code_hash("a", "123456"));
    }
}
