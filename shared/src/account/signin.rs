//! Signing in to the account portal: the link's landing page (reads only: mail scanners open
//! links), a code on request, the code opening a session, and the session checked again on
//! every request. The code goes by SMS to the contact's mobile, or by e-mail when the contact
//! has none, unless the tenant requires SMS (`portal.require_sms`). The limits are the Customer
//! Centre's ([`crate::access::code`]), kept on the contact's access record under its version, so
//! they hold across instances and racing requests.

use chrono::{DateTime, Utc};
use maud::html;
use serde::{Deserialize, Serialize};

use super::admit::{self, Facts, Refused};
use crate::Services;
use crate::access::code::{self, CODE_MINUTES, Judged, Refusal};
use crate::access::links::{self, AccountLink, ContactAccess, Holder};
use crate::access::secret::{looks_like_token, token_hash};
use crate::access::session::{self, Session};
use crate::domain::contacts::Contact;
use crate::domain::portal::PortalSettings;
use crate::domain::tenants::Tenant;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::mailer::{TAG_KIND, TAG_TENANT};
use crate::ports::{Condition, Email, Key, TableError, Transaction, TxOp};
use crate::records::{clients, contacts, roles, tenants};
use crate::render::html::page;

/// Why a step was refused, in terms the person can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// Not a link we issued (or its record is gone).
    LinkUnknown,
    /// The link (or session) no longer lets this contact in.
    Refused(Refused),
    /// The tenant sends codes only by SMS and the contact has no mobile number.
    SmsRequired,
    /// The contact has neither a mobile number nor an e-mail address to send a code to.
    NoWayToReach,
    /// A code step refused (too soon, too many, wrong, used up, locked).
    Code(Refusal),
}

pub type Step<T> = std::result::Result<T, Denied>;

/// Where a code goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeTo {
    /// The mobile number, all but its last digits hidden.
    Sms(String),
    /// The e-mail address, mostly hidden.
    Email(String),
    /// Nowhere: the tenant requires SMS and the contact has no mobile.
    SmsRequired,
    /// Nowhere: no mobile, no e-mail.
    Nowhere,
}

/// What the link's landing page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Landing {
    pub first_name: String,
    pub tenant_name: String,
    pub code_to: CodeTo,
    /// A code was sent and can still be entered.
    pub code_waiting: bool,
    pub expires_at: DateTime<Utc>,
}

/// Who a session is for, and what its link was issued for (checked again on every request).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountWho {
    #[serde(flatten)]
    pub holder: Holder,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub link_expires_at: DateTime<Utc>,
}

/// A contact's signed-in visit: whose account it is, and the token its forms carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountVisit {
    /// The session's own tenant, client and contact: every view reads only these.
    pub holder: Holder,
    pub csrf: String,
    pub first_name: String,
    /// The contact's whole name (recorded on what they do: a dispute, a promise).
    pub contact_name: String,
    pub tenant_name: String,
    pub client_name: String,
    pub tenant_currency: String,
    pub time_zone: String,
    pub portal: PortalSettings,
}

impl AccountVisit {
    /// Whether a form's token is this session's (compared in constant time).
    pub fn form_token_ok(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| crate::access::secret::same(p, &self.csrf))
    }
}

/// A session just opened: `secret` goes into the contact's cookie and nowhere else.
pub struct Opened {
    pub secret: String,
    pub visit: AccountVisit,
}

/// Everything a request's decision reads, read now.
struct Gate {
    contact: Contact,
    access: ContactAccess,
    tenant: Tenant,
}

/// The gate for a holder whose link was issued for `email`, of `generation`, until
/// `expires_at`: open, or why not.
async fn gate(
    svc: &Services,
    holder: &Holder,
    email: Option<&str>,
    generation: u32,
    expires_at: DateTime<Utc>,
) -> Result<(Step<Gate>, Option<Tenant>)> {
    let tenant = match tenants::get(svc.table.as_ref(), &holder.tenant_id).await {
        Ok(t) => t,
        Err(Error::NotFound(_)) => return Ok((Err(Denied::LinkUnknown), None)),
        Err(e) => return Err(e),
    };
    let contact = match contacts::get(
        svc.table.as_ref(),
        &holder.tenant_id,
        &holder.client_id,
        &holder.contact_id,
    )
    .await
    {
        Ok(c) => Some(c),
        Err(Error::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let communication = match &contact {
        Some(c) => match roles::get(svc.table.as_ref(), &holder.tenant_id, &c.spec.role_id).await {
            Ok(role) => role.spec.communication,
            Err(Error::NotFound(_)) => false,
            Err(e) => return Err(e),
        },
        None => false,
    };
    let access = links::access(svc, holder).await?;
    let facts = Facts {
        contact_email: contact
            .as_ref()
            .map(|c| c.spec.email.as_ref().map(|e| e.as_str())),
        role_has_communication: communication,
        link_email: email,
        link_generation: generation,
        link_expires_at: expires_at,
        generation: access.generation,
        locked: access.locked,
        now: svc.clock.now(),
    };
    let step = match (admit::admit(&facts), contact) {
        (Ok(()), Some(contact)) => Ok(Gate {
            contact,
            access,
            tenant: tenant.clone(),
        }),
        (Err(refused), _) => Err(Denied::Refused(refused)),
        (Ok(()), None) => Err(Denied::Refused(Refused::NotAContact)),
    };
    Ok((step, Some(tenant)))
}

/// The link behind a token and its gate.
async fn usable(svc: &Services, token: &str) -> Result<Step<(AccountLink, Gate)>> {
    let Some(link) = links::by_token(svc, token).await? else {
        return Ok(Err(Denied::LinkUnknown));
    };
    let (step, _) = gate(
        svc,
        &link.holder,
        link.email.as_deref(),
        link.generation,
        link.expires_at,
    )
    .await?;
    Ok(step.map(|gate| (link, gate)))
}

fn code_to(gate: &Gate) -> CodeTo {
    match (gate.contact.spec.phone(), &gate.contact.spec.email) {
        (Some(mobile), _) => CodeTo::Sms(mobile.masked()),
        (None, _) if gate.tenant.spec.portal.require_sms => CodeTo::SmsRequired,
        (None, Some(email)) => CodeTo::Email(mask_email(email.as_str())),
        (None, None) => CodeTo::Nowhere,
    }
}

/// "ana.tui@example.com" reads "a•••••@example.com".
fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!(
                "{first}{}@{domain}",
                "•".repeat(local.chars().count().saturating_sub(1).max(3))
            )
        }
        None => "•••".into(),
    }
}

fn first_name(contact: &Contact) -> String {
    let name = contact.spec.name.trim();
    name.split_whitespace().next().unwrap_or(name).to_owned()
}

fn landing_of(link: &AccountLink, gate: &Gate, now: DateTime<Utc>) -> Landing {
    Landing {
        first_name: first_name(&gate.contact),
        tenant_name: gate.tenant.spec.name.clone(),
        code_to: code_to(gate),
        code_waiting: gate.access.codes.live(now).is_some(),
        expires_at: link.expires_at,
    }
}

/// What a link leads to. Reads only: opening a link spends and changes nothing.
pub async fn landing(svc: &Services, token: &str) -> Result<Step<Landing>> {
    Ok(usable(svc, token)
        .await?
        .map(|(link, gate)| landing_of(&link, &gate, svc.clock.now())))
}

/// The name of the tenant a token's link belongs to, for the pages that refuse it.
pub async fn tenant_of_link(svc: &Services, token: &str) -> Option<String> {
    let link = links::by_token(svc, token).await.ok()??;
    tenants::get(svc.table.as_ref(), &link.holder.tenant_id)
        .await
        .ok()
        .map(|t| t.spec.name)
}

fn code_bound_to(holder: &Holder) -> String {
    format!(
        "account:{}/{}/{}",
        holder.tenant_id, holder.client_id, holder.contact_id
    )
}

/// Sends a new code (the previous one stops working): by SMS, or by e-mail when the contact
/// has no mobile and the tenant allows it.
pub async fn send_code(svc: &Services, token: &str) -> Result<Step<Landing>> {
    let (link, gate) = match usable(svc, token).await? {
        Ok(found) => found,
        Err(denied) => return Ok(Err(denied)),
    };
    let to = code_to(&gate);
    match to {
        CodeTo::SmsRequired => return Ok(Err(Denied::SmsRequired)),
        CodeTo::Nowhere => return Ok(Err(Denied::NoWayToReach)),
        CodeTo::Sms(_) | CodeTo::Email(_) => {}
    }
    let now = svc.clock.now();
    let code = code::new_code(svc.ids.as_ref());
    let codes = match gate
        .access
        .codes
        .send(now, code::code_hash(&code_bound_to(&link.holder), &code))
    {
        Ok(codes) => codes,
        Err(refusal) => return Ok(Err(Denied::Code(refusal))),
    };
    let next = ContactAccess {
        codes,
        ..gate.access.clone()
    };
    // Under the version read: of two racing requests one sends, the other is told to wait.
    match svc
        .table
        .transact(vec![gate.access.replace_op(&next)?])
        .await
    {
        Ok(()) => {}
        Err(TableError::TransactionFailed { .. }) => {
            return Ok(Err(Denied::Code(Refusal::ResendTooSoon {
                seconds: code::RESEND_SECONDS,
            })));
        }
        Err(e) => return Err(e.into()),
    }
    let tenant = &gate.tenant.spec.name;
    let body = format!(
        "{code} is your {tenant} account code. It works for {CODE_MINUTES} minutes. \
         Never share it: nobody from {tenant} will ask you for it."
    );
    let sent = match (gate.contact.spec.phone(), &gate.contact.spec.email) {
        (Some(mobile), _) => svc.sms.send(&mobile, &body).await,
        (None, Some(email)) => {
            let subject = format!("Your {tenant} sign-in code");
            let html = page(
                &subject,
                html! { p { (body) } p { "If you did not ask for a code, you can ignore this e-mail." } },
            );
            svc.mailer
                .send(&Email {
                    to: vec![email.clone()],
                    reply_to: None,
                    subject,
                    html: html.into_string(),
                    text: format!(
                        "{body}\n\nIf you did not ask for a code, you can ignore this e-mail.\n"
                    ),
                    tags: vec![
                        (TAG_TENANT, gate.tenant.id.clone()),
                        (TAG_KIND, "code".into()),
                    ],
                })
                .await
        }
        (None, None) => unreachable!("a contact without a mobile or an e-mail is refused above"),
    };
    sent.map_err(|e| Error::Unavailable("code delivery", Box::new(e)))?;
    let after = Gate {
        access: next,
        ..gate
    };
    Ok(Ok(landing_of(&link, &after, now)))
}

/// How many times an entry reads the access again after losing a race for it.
const VERIFY_ROUNDS: usize = 64;

/// Checks the code; the right one is spent and opens a session. Every wrong entry against a
/// live code is counted exactly, whatever the race (see the Customer Centre's `verify`).
pub async fn verify(svc: &Services, token: &str, entered: &str) -> Result<Step<Opened>> {
    let entered: String = entered.chars().filter(|c| !c.is_whitespace()).collect();
    for _ in 0..VERIFY_ROUNDS {
        let (link, gate) = match usable(svc, token).await? {
            Ok(found) => found,
            Err(denied) => return Ok(Err(denied)),
        };
        if let Some(step) = verify_once(svc, &link, gate, &entered).await? {
            return Ok(step);
        }
    }
    Err(Error::Conflict(
        "too many codes are being entered for this link at once; try again".into(),
    ))
}

async fn verify_once(
    svc: &Services,
    link: &AccountLink,
    gate: Gate,
    entered: &str,
) -> Result<Option<Step<Opened>>> {
    let now = svc.clock.now();
    let entered = code::code_hash(&code_bound_to(&link.holder), entered);
    let codes = match gate.access.codes.judge(now, &entered) {
        Judged::Refused(refusal) => return Ok(Some(Err(Denied::Code(refusal)))),
        Judged::Wrong {
            next,
            refusal,
            locked,
        } => {
            let next = ContactAccess {
                codes: next,
                locked: gate.access.locked || locked,
                ..gate.access.clone()
            };
            match svc
                .table
                .transact(vec![gate.access.replace_op(&next)?])
                .await
            {
                Ok(()) => {}
                // Another entry changed the access first: this one is counted on the new state.
                Err(TableError::TransactionFailed { .. }) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
            return Ok(Some(Err(Denied::Code(refusal))));
        }
        Judged::Right { next } => next,
    };
    let next = ContactAccess {
        codes,
        ..gate.access.clone()
    };
    let secret = svc.ids.token();
    let session = Session::open(
        svc,
        AccountWho {
            holder: link.holder.clone(),
            email: link.email.clone(),
            link_expires_at: link.expires_at,
        },
        link.generation,
    );
    let mut tx = Transaction::new();
    tx.op(gate.access.replace_op(&next)?)
        .op(TxOp::Put(
            session.item(session_key(&secret))?,
            Condition::Absent,
        ))
        .otherwise(());
    match tx.try_commit(svc.table.as_ref()).await? {
        Ok(()) => {}
        // A racing entry changed the access first: judge this code again on what it did.
        Err(()) => return Ok(None),
    }
    let visit = visit_of(svc, &session, &gate.contact, &gate.tenant).await?;
    Ok(Some(Ok(Opened { secret, visit })))
}

async fn visit_of(
    svc: &Services,
    session: &Session<AccountWho>,
    contact: &Contact,
    tenant: &Tenant,
) -> Result<AccountVisit> {
    let holder = &session.who.holder;
    let client = clients::get(svc.table.as_ref(), &holder.tenant_id, &holder.client_id).await?;
    Ok(AccountVisit {
        holder: holder.clone(),
        csrf: session.csrf.clone(),
        first_name: first_name(contact),
        contact_name: contact.spec.name.trim().to_owned(),
        tenant_name: tenant.spec.name.clone(),
        client_name: client.spec.identity.display_name(),
        tenant_currency: tenant.spec.currency.clone(),
        time_zone: tenant.spec.time_zone.clone(),
        portal: tenant.spec.portal.clone(),
    })
}

fn session_key(secret: &str) -> Key {
    keys::account_session(&token_hash(secret))
}

/// A session that does not (or no longer) lets anyone in: the tenant's name when known, for
/// the page that says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ended {
    pub tenant_name: Option<String>,
}

/// The visit a session cookie belongs to, if the session is within its time and its contact
/// may still get in (checked now, as for a link); a session that may not is removed at once.
pub async fn resume(
    svc: &Services,
    secret: &str,
) -> Result<std::result::Result<AccountVisit, Ended>> {
    if !looks_like_token(secret) {
        return Ok(Err(Ended { tenant_name: None }));
    }
    let key = session_key(secret);
    let Some(session) = session::current::<AccountWho>(svc, &key).await? else {
        return Ok(Err(Ended { tenant_name: None }));
    };
    let who = &session.who;
    let (step, tenant) = gate(
        svc,
        &who.holder,
        who.email.as_deref(),
        session.generation,
        who.link_expires_at,
    )
    .await?;
    match step {
        Ok(gate) => Ok(Ok(
            visit_of(svc, &session, &gate.contact, &gate.tenant).await?
        )),
        Err(_) => {
            session::end(svc, &key).await?;
            Ok(Err(Ended {
                tenant_name: tenant.map(|t| t.spec.name),
            }))
        }
    }
}

/// Signs out: the session is gone from the store, whatever the cookie still says.
pub async fn end(svc: &Services, secret: &str) -> Result<()> {
    if looks_like_token(secret) {
        session::end(svc, &session_key(secret)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_address_is_shown_mostly_hidden() {
        #[rustfmt::skip]
        let table: &[(&str, &str)] = &[
            ("ana.tui@example.com", "a••••••@example.com"),
            ("al@example.com", "a•••@example.com"),
            ("x", "•••"),
        ];
        for (email, shown) in table {
            assert_eq!(mask_email(email), *shown, "{email}");
        }
    }
}
