//! The two factors of the Customer Centre and the session they open, over the parts both
//! portals share ([`crate::access`]).
//!
//! 1. The link: its token is looked up by hash. Reading what a link leads to never changes
//!    anything ([`landing`]), because mail scanners open links; only the customer's request for
//!    a code does ([`send_code`]).
//! 2. The SMS code ([`crate::access::code`]): 6 digits, valid [`CODE_MINUTES`], used at most
//!    once, at most [`TRIES_PER_CODE`] wrong entries each; a new code at most every
//!    [`RESEND_SECONDS`] and [`SENDS_PER_DAY`] a day; after [`FAILURES_PER_LINK`] wrong entries
//!    over all of a link's codes the invite locks until it is regenerated. All of it is kept on
//!    the invite, under its version, so it holds across Lambda instances and racing requests.
//! 3. The session ([`crate::access::session`]): 256 random bits in a cookie, stored by hash,
//!    ending after [`IDLE_MINUTES`] without a request or [`SESSION_HOURS`] in all, and at once
//!    when its invite is revoked, regenerated, locked or expired (checked on every request).
//!
//! Refusals ([`Denied`]) say only what the holder of the link already knows.

use super::audit::Invitee;
use super::invites::{self, Invite, Status};
use crate::Services;
use crate::access::code::{self, CodeState, Judged, Refusal};
use crate::access::session::{self, Session};
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::{Condition, Key, TableError, TxOp};

pub use crate::access::code::{
    CODE_MINUTES, FAILURES_PER_LINK, RESEND_SECONDS, SENDS_PER_DAY, TRIES_PER_CODE,
};
pub use crate::access::secret::same;
pub use crate::access::session::{IDLE_MINUTES, SESSION_HOURS};

use chrono::{DateTime, Utc};

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

fn live_code(invite: &Invite, now: DateTime<Utc>) -> Option<&code::PendingCode> {
    invite
        .code
        .as_ref()
        .filter(|c| now < c.expires_at && c.tries < TRIES_PER_CODE)
}

/// The invite's code state, as the shared rules read it.
fn codes_of(invite: &Invite) -> CodeState {
    CodeState {
        code: invite.code.clone(),
        code_sends: invite.code_sends.clone(),
        failures: invite.failures,
    }
}

fn with_codes(invite: &Invite, codes: CodeState) -> Invite {
    let mut next = invite.clone();
    next.code = codes.code;
    next.code_sends = codes.code_sends;
    next.failures = codes.failures;
    next.version += 1;
    next
}

fn denied_of(refusal: Refusal) -> Denied {
    match refusal {
        Refusal::ResendTooSoon { seconds } => Denied::ResendTooSoon { seconds },
        Refusal::TooManyCodes => Denied::TooManyCodes,
        Refusal::NoCode => Denied::NoCode,
        Refusal::CodeUsedUp => Denied::CodeUsedUp,
        Refusal::WrongCode { tries_left } => Denied::WrongCode { tries_left },
        Refusal::Locked => Denied::LinkLocked,
    }
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
    let Some(mobile) = invite.mobile() else {
        return Ok(Err(Denied::LinkRevoked));
    };
    let code = code::new_code(svc.ids.as_ref());
    let codes = match codes_of(&invite).send(now, code::code_hash(&invite.id, &code)) {
        Ok(codes) => codes,
        Err(refusal) => return Ok(Err(denied_of(refusal))),
    };
    let next = with_codes(&invite, codes);
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
    let entered = code::code_hash(&invite.id, entered);
    let next = match codes_of(invite).judge(now, &entered) {
        Judged::Refused(refusal) => return Ok(Some(Err(denied_of(refusal)))),
        Judged::Wrong {
            next,
            refusal,
            locked,
        } => {
            let mut next = with_codes(invite, next);
            if locked {
                next.status = Status::Locked;
            }
            match svc.table.transact(vec![invite.replace_op(&next)?]).await {
                Ok(()) => {}
                // Another entry changed the invite first: this one is counted on the new state.
                Err(TableError::TransactionFailed { .. }) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
            return Ok(Some(Err(denied_of(refusal))));
        }
        Judged::Right { next } => with_codes(invite, next),
    };
    let secret = svc.ids.token();
    let session = Session::open(
        svc,
        Invitee {
            tenant_id: invite.tenant_id.clone(),
            client_id: invite.client_id.clone(),
            opportunity_id: invite.opportunity_id.clone(),
            invite_id: invite.id.clone(),
            contact_id: invite.contact_id.clone(),
        },
        invite.generation,
    );
    let ops = vec![
        invite.replace_op(&next)?,
        TxOp::Put(session.item(session_key(&secret))?, Condition::Absent),
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

fn session_key(secret: &str) -> Key {
    keys::session(&invites::token_hash(secret))
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
    fn of(session: Session<Invitee>, invite: &Invite) -> Self {
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
    let Some(session) = session::current::<Invitee>(svc, &key).await? else {
        return Ok(None);
    };
    let now = svc.clock.now();
    let who = &session.who;
    let invite = svc
        .table
        .get(&crate::keys::invite(
            &who.tenant_id,
            &who.client_id,
            &who.opportunity_id,
            &who.invite_id,
        ))
        .await?
        .map(|item| invites::from_item(&item))
        .transpose()?
        .filter(|i| i.generation == session.generation && i.status_at(now) == Status::Active);
    let Some(invite) = invite else {
        session::end(svc, &key).await?;
        return Ok(None);
    };
    Ok(Some(Visit::of(session, &invite)))
}

/// Signs out: the session is gone from the store, whatever the cookie still says.
pub async fn end(svc: &Services, secret: &str) -> Result<()> {
    if invites::looks_like_token(secret) {
        session::end(svc, &session_key(secret)).await?;
    }
    Ok(())
}
