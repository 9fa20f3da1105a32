//! The two factors of the Customer Centre and the session they open.
//!
//! 1. The link: its token is looked up by hash. Reading what a link leads to never changes
//!    anything ([`landing`]), because mail scanners open links; only the customer's request for
//!    a code does ([`send_code`]).
//! 2. The SMS code: 6 digits from the OS's secure random source, valid [`CODE_MINUTES`], used at
//!    most once, at most [`TRIES_PER_CODE`] wrong entries each; a new code at most every
//!    [`RESEND_SECONDS`] and [`SENDS_PER_DAY`] a day; after [`FAILURES_PER_LINK`] wrong entries
//!    over all of a link's codes the invite locks until it is regenerated. All of it is kept on
//!    the invite, under its version, so it holds across Lambda instances and racing requests.
//! 3. The session: 256 random bits in a cookie, stored by hash, ending after
//!    [`IDLE_MINUTES`] without a request or [`SESSION_HOURS`] in all, and at once when its
//!    invite is revoked, regenerated, locked or expired (checked on every request).
//!
//! Refusals ([`Denied`]) say only what the holder of the link already knows.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::audit::Invitee;
use super::invites::{self, Invite, PendingCode, Status};
use crate::Services;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::{Condition, Item, Key, TableError, TxOp, Update};

pub const CODE_MINUTES: i64 = 10;
pub const TRIES_PER_CODE: u32 = 5;
pub const RESEND_SECONDS: i64 = 60;
pub const SENDS_PER_DAY: usize = 5;
pub const FAILURES_PER_LINK: u32 = 10;
pub const IDLE_MINUTES: i64 = 30;
pub const SESSION_HOURS: i64 = 12;
/// A session's last-seen time is written at most this often (a write per page is waste).
const TOUCH_SECONDS: i64 = 60;

/// Why a step was refused, in terms the customer can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// Not a link we issued (or its records are gone).
    LinkUnknown,
    /// The link's week is over: the adviser can send a new one.
    LinkExpired,
    /// The tenant withdrew the invite.
    LinkRevoked,
    /// A newer link was sent for this invite.
    LinkReplaced,
    /// Too many wrong codes: the adviser must send a new link.
    LinkLocked,
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
}

/// What the link's landing page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Landing {
    pub first_name: String,
    pub company_name: String,
    /// The mobile number with all but its last digits hidden.
    pub masked_mobile: String,
    /// A code was sent and can still be entered.
    pub code_waiting: bool,
    pub expires_at: DateTime<Utc>,
}

/// A step's answer: done, or refused for a reason the customer is told.
pub type Step<T> = std::result::Result<T, Denied>;

/// The invite behind a link, if the link can be used now.
async fn usable(svc: &Services, token: &str) -> Result<Step<Invite>> {
    let Some((link, invite)) = invites::by_token(svc, token).await? else {
        return Ok(Err(Denied::LinkUnknown));
    };
    if link.generation != invite.generation {
        return Ok(Err(Denied::LinkReplaced));
    }
    Ok(match invite.status_at(svc.clock.now()) {
        Status::Active => Ok(invite),
        Status::Locked => Err(Denied::LinkLocked),
        Status::Expired => Err(Denied::LinkExpired),
        Status::Revoked => Err(Denied::LinkRevoked),
    })
}

fn landing_of(invite: &Invite, now: DateTime<Utc>) -> Landing {
    Landing {
        first_name: invite.first_name().to_owned(),
        company_name: invite.company_name.clone(),
        masked_mobile: invite.mobile().map(|m| m.masked()).unwrap_or_default(),
        code_waiting: live_code(invite, now).is_some(),
        expires_at: invite.expires_at,
    }
}

fn live_code(invite: &Invite, now: DateTime<Utc>) -> Option<&PendingCode> {
    invite
        .code
        .as_ref()
        .filter(|c| now < c.expires_at && c.tries < TRIES_PER_CODE)
}

/// What a link leads to. Reads only: opening a link spends and changes nothing.
pub async fn landing(svc: &Services, token: &str) -> Result<Step<Landing>> {
    Ok(usable(svc, token)
        .await?
        .map(|invite| landing_of(&invite, svc.clock.now())))
}

/// Texts a new code to the invite's mobile (the previous code stops working).
pub async fn send_code(svc: &Services, token: &str) -> Result<Step<Landing>> {
    let invite = match usable(svc, token).await? {
        Ok(invite) => invite,
        Err(denied) => return Ok(Err(denied)),
    };
    let now = svc.clock.now();
    if let Some(last) = invite.code_sends.last() {
        let wait = RESEND_SECONDS - (now - *last).num_seconds();
        if wait > 0 {
            return Ok(Err(Denied::ResendTooSoon { seconds: wait }));
        }
    }
    let day_ago = now - Duration::days(1);
    let mut sends: Vec<DateTime<Utc>> = invite
        .code_sends
        .iter()
        .copied()
        .filter(|t| *t > day_ago)
        .collect();
    if sends.len() >= SENDS_PER_DAY {
        return Ok(Err(Denied::TooManyCodes));
    }
    let Some(mobile) = invite.mobile() else {
        return Ok(Err(Denied::LinkRevoked));
    };
    let code = new_code(svc);
    sends.push(now);
    let mut next = invite.clone();
    next.code = Some(PendingCode {
        hash: code_hash(&invite.id, &code),
        sent_at: now,
        expires_at: now + Duration::minutes(CODE_MINUTES),
        tries: 0,
    });
    next.code_sends = sends;
    next.version += 1;
    // Under the version read: of two racing requests one sends, the other is told to wait.
    match svc.table.transact(vec![invite.replace_op(&next)?]).await {
        Ok(()) => {}
        Err(TableError::TransactionFailed { .. }) => {
            return Ok(Err(Denied::ResendTooSoon {
                seconds: RESEND_SECONDS,
            }));
        }
        Err(e) => return Err(e.into()),
    }
    let body = format!(
        "{code} is your {} Customer Centre code. It works for {CODE_MINUTES} minutes. \
         Never share it: nobody from {} will ask you for it.",
        invite.company_name, invite.company_name
    );
    svc.sms
        .send(&mobile, &body)
        .await
        .map_err(|e| Error::Unavailable("SMS service", Box::new(e)))?;
    Ok(Ok(landing_of(&next, now)))
}

/// Six digits, uniform, from the secure random source (rejection sampling avoids the bias of
/// a plain remainder).
fn new_code(svc: &Services) -> String {
    const LIMIT: u32 = u32::MAX - u32::MAX % 1_000_000;
    loop {
        let mut bytes = [0u8; 4];
        svc.ids.fill(&mut bytes);
        let n = u32::from_le_bytes(bytes);
        if n < LIMIT {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// A code's stored form, bound to its invite.
fn code_hash(invite_id: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{invite_id}:{code}").as_bytes()))
}

/// Constant-time comparison of two secrets' stored forms.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A session just opened: `secret` goes into the customer's cookie and nowhere else.
pub struct Opened {
    pub secret: String,
    pub visit: Visit,
}

/// How many times an entry reads the invite again after losing a race for it; each round
/// lost is a round another entry won, so this bounds the burst one entry waits through.
const VERIFY_ROUNDS: usize = 64;

/// Checks the code; the right one is spent and opens a session.
///
/// Every wrong entry against a live code is counted, whatever the race: the count is written
/// under the invite's version, and an entry that loses the race reads the invite again and
/// is judged anew (so 20 wrong entries at once count 5 against the code, and those after
/// the fifth are told the code is used up, exactly as one after another would be). A right
/// code that loses a race is judged again too: it signs in if the code is still live, and
/// otherwise gets the answer a wrong code would get at that moment, so the answer never tells
/// a right guess from a wrong one unless it signs in.
pub async fn verify(svc: &Services, token: &str, entered: &str) -> Result<Step<Opened>> {
    let entered: String = entered.chars().filter(|c| !c.is_whitespace()).collect();
    for _ in 0..VERIFY_ROUNDS {
        let invite = match usable(svc, token).await? {
            Ok(invite) => invite,
            Err(denied) => return Ok(Err(denied)),
        };
        if let Some(step) = verify_once(svc, &invite, &entered).await? {
            return Ok(step);
        }
    }
    Err(Error::Conflict(
        "too many codes are being entered for this link at once; try again".into(),
    ))
}

/// One entry judged against the invite as read: its answer, or `None` when a racing change
/// to the invite won (the entry is then judged again on the invite as it now is).
async fn verify_once(
    svc: &Services,
    invite: &Invite,
    entered: &str,
) -> Result<Option<Step<Opened>>> {
    let now = svc.clock.now();
    let Some(code) = invite.code.as_ref().filter(|c| now < c.expires_at) else {
        return Ok(Some(Err(Denied::NoCode)));
    };
    if code.tries >= TRIES_PER_CODE {
        return Ok(Some(Err(Denied::CodeUsedUp)));
    }
    let mut next = invite.clone();
    next.version += 1;
    if !same(&code_hash(&invite.id, entered), &code.hash) {
        let tries = code.tries + 1;
        next.failures += 1;
        if let Some(code) = next.code.as_mut() {
            code.tries = tries;
        }
        if next.failures >= FAILURES_PER_LINK {
            next.status = Status::Locked;
            next.code = None;
        }
        match svc.table.transact(vec![invite.replace_op(&next)?]).await {
            Ok(()) => {}
            // Another entry changed the invite first: this one is counted on the new state.
            Err(TableError::TransactionFailed { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        return Ok(Some(Err(if next.status == Status::Locked {
            Denied::LinkLocked
        } else if tries >= TRIES_PER_CODE {
            Denied::CodeUsedUp
        } else {
            Denied::WrongCode {
                tries_left: TRIES_PER_CODE - tries,
            }
        })));
    }
    next.code = None;
    let secret = svc.ids.token();
    let session = Session {
        who: Invitee {
            tenant_id: invite.tenant_id.clone(),
            client_id: invite.client_id.clone(),
            opportunity_id: invite.opportunity_id.clone(),
            invite_id: invite.id.clone(),
            contact_id: invite.contact_id.clone(),
        },
        generation: invite.generation,
        csrf: svc.ids.token(),
        created_at: now,
        seen_at: now,
    };
    let ops = vec![
        invite.replace_op(&next)?,
        TxOp::Put(session.item(&secret)?, Condition::Absent),
    ];
    match svc.table.transact(ops).await {
        Ok(()) => {}
        // A racing entry changed the invite first: judge this code again on what it did.
        Err(TableError::TransactionFailed { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    Ok(Some(Ok(Opened {
        secret,
        visit: Visit::of(session, &next),
    })))
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Session {
    who: Invitee,
    /// The link generation it was opened through: a regenerated invite ends it.
    generation: u32,
    /// The token every form of this session must carry.
    csrf: String,
    created_at: DateTime<Utc>,
    seen_at: DateTime<Utc>,
}

fn session_key(secret: &str) -> Key {
    keys::session(&invites::token_hash(secret))
}

impl Session {
    fn item(&self, secret: &str) -> Result<Item> {
        let ends = self.created_at + Duration::hours(SESSION_HOURS);
        Ok(Item::from_record(session_key(secret), self)?.with_expiry(ends.timestamp()))
    }
}

/// A customer's signed-in visit: who they are and what their invite lets them answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    pub who: Invitee,
    pub csrf: String,
    pub first_name: String,
    pub company_name: String,
    pub questionnaire_ids: Vec<String>,
}

impl Visit {
    fn of(session: Session, invite: &Invite) -> Self {
        Self {
            who: session.who,
            csrf: session.csrf,
            first_name: invite.first_name().to_owned(),
            company_name: invite.company_name.clone(),
            questionnaire_ids: invite.questionnaire_ids.clone(),
        }
    }

    /// Whether a form's token is this session's (compared in constant time).
    pub fn form_token_ok(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| same(p, &self.csrf))
    }
}

/// The visit a session cookie belongs to, if the session and its invite are still good; an
/// ended session is removed.
pub async fn resume(svc: &Services, secret: &str) -> Result<Option<Visit>> {
    if !invites::looks_like_token(secret) {
        return Ok(None);
    }
    let key = session_key(secret);
    let Some(item) = svc.table.get(&key).await? else {
        return Ok(None);
    };
    let session: Session = item.record()?;
    let now = svc.clock.now();
    let idle = now - session.seen_at > Duration::minutes(IDLE_MINUTES);
    let old = now - session.created_at > Duration::hours(SESSION_HOURS);
    let invite = if idle || old {
        None
    } else {
        let who = &session.who;
        svc.table
            .get(&crate::keys::invite(
                &who.tenant_id,
                &who.client_id,
                &who.opportunity_id,
                &who.invite_id,
            ))
            .await?
            .map(|item| invites::from_item(&item))
            .transpose()?
            .filter(|i| i.generation == session.generation && i.status_at(now) == Status::Active)
    };
    let Some(invite) = invite else {
        svc.table.delete(&key, Condition::None).await?;
        return Ok(None);
    };
    if (now - session.seen_at).num_seconds() >= TOUCH_SECONDS {
        let touch = Update::default()
            .set("seen_at", json!(now))
            .when(Condition::Exists);
        match svc.table.update(&key, touch).await {
            Ok(_) | Err(TableError::ConditionFailed(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Some(Visit::of(session, &invite)))
}

/// Signs out: the session is gone from the store, whatever the cookie still says.
pub async fn end(svc: &Services, secret: &str) -> Result<()> {
    if invites::looks_like_token(secret) {
        svc.table
            .delete(&session_key(secret), Condition::None)
            .await?;
    }
    Ok(())
}
