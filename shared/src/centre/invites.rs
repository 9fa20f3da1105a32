//! Invites into the Customer Centre: one per (opportunity, contact), for a primary applicant,
//! applicant or guarantor with a name, an e-mail and a mobile number.
//!
//! An invite carries a link token of 256 random bits. Only the token's SHA-256 is stored (in a
//! link item pointing at the invite); the token itself is e-mailed (delivery `email`) or
//! returned once to the partner (delivery `link`). The link works for [`LINK_VALID_DAYS`];
//! regenerating issues a new token with a new week and retires the old link; revoking ends it.
//! A guard item per (opportunity, contact) keeps a second invite from being opened beside a
//! live one, even under concurrent requests.
//!
//! Invites that can still be used sit in an index ordered by expiry, which the scheduled sweep
//! ([`expire_due`]) reads to mark them expired and publish `InviteExpired`. Every record carries
//! a store expiry [`KEEP_DAYS`] after the link's end, so the store's TTL removes them later.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::eligibility::{self, Eligibility};
use super::templates::{self, MergeValues, Overrides, Rendered, TemplateSpec};
use crate::Services;
use crate::domain::{EmailAddress, Error, PhoneNumber, Result, text};
use crate::keys;
use crate::ports::mailer::{TAG_CLIENT, TAG_KIND, TAG_TENANT};
use crate::ports::{
    Condition, Cursor, DomainEvent, Email, Index, IndexKey, Item, Key, Query, SortKey, TableError,
    TxOp,
};
use crate::records::{contacts, opportunities, tenants};

/// How long a link works after it was issued.
pub const LINK_VALID_DAYS: i64 = 7;
/// How long an invite's records are kept after its link's end, for the partner's history.
pub const KEEP_DAYS: i64 = 90;
/// The event the sweep publishes for each invite whose week is over.
pub const EXPIRED_EVENT: &str = "InviteExpired";
const WHAT: &str = "invite";
/// The partition of the expiry index: invites that can still be used, by expiry time.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Sent by e-mail from a tenant template (or the built-in one).
    Email,
    /// Returned once to the partner, to paste into their own e-mail.
    Link,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The link works (until `expires_at`).
    Active,
    /// Too many wrong SMS codes: the link stays closed until the invite is regenerated.
    Locked,
    /// The link's week is over.
    Expired,
    /// Withdrawn by the tenant; final.
    Revoked,
}

/// Who the invite e-mail comes from: named in the text, and the reply-to address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adviser {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailAddress>,
}

/// What a partner sends to invite a contact.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub contact_id: String,
    pub delivery: Delivery,
    /// Some of the opportunity's questionnaires; all of them when absent.
    #[serde(default)]
    pub questionnaire_ids: Option<Vec<String>>,
    /// The tenant e-mail template (delivery `email`); the built-in one when absent.
    #[serde(default)]
    pub template_id: Option<String>,
    /// This invite's own subject (same merge tags as the template's).
    #[serde(default)]
    pub subject: Option<String>,
    /// This invite's own text (same merge tags as the template's).
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub adviser: Option<Adviser>,
}

pub use crate::access::code::PendingCode;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Invite {
    pub id: String,
    pub tenant_id: String,
    pub client_id: String,
    pub opportunity_id: String,
    pub contact_id: String,
    pub delivery: Delivery,
    pub questionnaire_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adviser: Option<Adviser>,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    /// When the current link was issued, and when it stops working.
    pub issued_at: DateTime<Utc>,
    /// (`expires_at` is the store's own attribute: its TTL.)
    #[serde(rename = "link_expires_at")]
    pub expires_at: DateTime<Utc>,
    /// How many links this invite has had (1 for the first; each regeneration adds one).
    pub generation: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<DateTime<Utc>>,
    /// The mail provider's id of the last invite e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    // What the link's holder is shown and texted, fixed when the link is issued.
    pub contact_name: String,
    pub contact_email: EmailAddress,
    /// E.164; never logged, shown to the customer only masked.
    pub mobile: String,
    pub company_name: String,
    // The access state of the current link; never shown to partners.
    pub link_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<PendingCode>,
    /// When codes were sent for this link (the last day's, for throttling).
    #[serde(default)]
    pub code_sends: Vec<DateTime<Utc>>,
    /// Wrong codes entered for this link, over all its codes.
    #[serde(default)]
    pub failures: u32,
    #[serde(skip)]
    pub version: u64,
}

/// An invite with the link of its current generation, which exists only in this answer.
pub struct Issued {
    pub invite: Invite,
    pub link: String,
}

/// Where an invite's link leads: stored under the token's hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    pub tenant_id: String,
    pub client_id: String,
    pub opportunity_id: String,
    pub invite_id: String,
    pub generation: u32,
}

impl Invite {
    /// The status a reader should see: an active invite past its week is expired even before
    /// the sweep has marked it.
    pub fn status_at(&self, now: DateTime<Utc>) -> Status {
        match self.status {
            Status::Active | Status::Locked if now >= self.expires_at => Status::Expired,
            status => status,
        }
    }

    pub fn mobile(&self) -> Option<PhoneNumber> {
        PhoneNumber::parse(&self.mobile, "ZZ").ok()
    }

    /// The contact's first name, for greetings.
    pub fn first_name(&self) -> &str {
        self.contact_name
            .split_whitespace()
            .next()
            .unwrap_or(&self.contact_name)
    }

    /// The invite as partners see it: no link hash, no code state, the number masked.
    pub fn view(&self, now: DateTime<Utc>) -> Value {
        json!({
            "id": self.id,
            "client_id": self.client_id,
            "opportunity_id": self.opportunity_id,
            "contact_id": self.contact_id,
            "delivery": self.delivery,
            "questionnaire_ids": self.questionnaire_ids,
            "template_id": self.template_id,
            "subject": self.subject,
            "text": self.text,
            "adviser": self.adviser,
            "status": self.status_at(now),
            "created_at": self.created_at,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "generation": self.generation,
            "revoked_at": self.revoked_at,
            "expired_at": self.expired_at,
            "sent_to": self.contact_email.as_str(),
            "mobile": self.mobile().map(|m| m.masked()),
            "message_id": self.message_id,
            "version": self.version,
        })
    }

    pub fn key(&self) -> Key {
        keys::invite(
            &self.tenant_id,
            &self.client_id,
            &self.opportunity_id,
            &self.id,
        )
    }

    fn keep_until(&self) -> i64 {
        (self.expires_at + Duration::days(KEEP_DAYS)).timestamp()
    }

    /// The stored item: in the expiry index while the link may still be used.
    pub fn item(&self) -> Result<Item> {
        let mut item = Item::from_record(self.key(), self)?
            .with_version(self.version)
            .with_expiry(self.keep_until());
        if matches!(self.status, Status::Active | Status::Locked) {
            item = item.with_index(
                Index::Gsi2,
                IndexKey::new(
                    keys::OPEN_INVITES,
                    format!(
                        "{}#{}",
                        self.expires_at.format("%Y-%m-%dT%H:%M:%SZ"),
                        self.id
                    ),
                ),
            );
        }
        Ok(item)
    }

    /// Writes `next` (this invite changed) over the version read.
    pub fn replace_op(&self, next: &Invite) -> Result<TxOp> {
        Ok(TxOp::Put(next.item()?, Condition::VersionIs(self.version)))
    }

    fn link_record(&self) -> LinkRecord {
        LinkRecord {
            tenant_id: self.tenant_id.clone(),
            client_id: self.client_id.clone(),
            opportunity_id: self.opportunity_id.clone(),
            invite_id: self.id.clone(),
            generation: self.generation,
        }
    }

    fn link_item(&self) -> Result<Item> {
        Ok(
            Item::from_record(keys::link(&self.link_hash), &self.link_record())?
                .with_expiry(self.keep_until()),
        )
    }

    fn guard_item(&self) -> Item {
        let Value::Object(data) = json!({"invite_id": self.id}) else {
            unreachable!("a JSON object")
        };
        Item::new(
            keys::invitee(
                &self.tenant_id,
                &self.client_id,
                &self.opportunity_id,
                &self.contact_id,
            ),
            data,
        )
        .with_expiry(self.keep_until())
    }

    /// A fresh link for this invite: a new token, a new week, the code state cleared.
    fn with_new_link(&self, svc: &Services, token: &str) -> Invite {
        let now = svc.clock.now();
        Invite {
            status: Status::Active,
            issued_at: now,
            expires_at: now + Duration::days(LINK_VALID_DAYS),
            generation: self.generation + 1,
            expired_at: None,
            link_hash: token_hash(token),
            code: None,
            code_sends: Vec::new(),
            failures: 0,
            version: self.version + 1,
            ..self.clone()
        }
    }
}

pub use crate::access::secret::{looks_like_token, token_hash};

/// The customer's link for `token`.
pub fn link(svc: &Services, token: &str) -> String {
    format!("{}/i/{token}", svc.portal_url.trim_end_matches('/'))
}

pub async fn get(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    opportunity_id: &str,
    id: &str,
) -> Result<Invite> {
    let item = svc
        .table
        .get(&keys::invite(tenant_id, client_id, opportunity_id, id))
        .await?
        .ok_or(Error::NotFound(WHAT))?;
    from_item(&item)
}

pub fn from_item(item: &Item) -> Result<Invite> {
    let mut invite: Invite = item.record()?;
    invite.version = item.version;
    Ok(invite)
}

/// The invites of an opportunity, a page at a time.
pub async fn list(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    opportunity_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Invite>, Option<Cursor>)> {
    opportunities::get(svc.table.as_ref(), tenant_id, client_id, opportunity_id).await?;
    let query = Query::partition(keys::client_pk(tenant_id, client_id))
        .sk(SortKey::BeginsWith(keys::invites_of(opportunity_id)))
        .limit(limit)
        .after(cursor);
    let page = svc.table.query(query).await?;
    let invites = page.items.iter().map(from_item).collect::<Result<_>>()?;
    Ok((invites, page.next))
}

/// Opens an invite for a contact of an opportunity and delivers its link.
///
/// Everything is checked, and the e-mail rendered, before anything is stored; if the e-mail
/// then cannot be handed to the mail service, the invite is revoked again, so a retry starts
/// clean.
pub async fn create(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    opportunity_id: &str,
    request: InviteRequest,
) -> Result<Issued> {
    let tenant = tenants::get(svc.table.as_ref(), tenant_id).await?;
    let opportunity =
        opportunities::get(svc.table.as_ref(), tenant_id, client_id, opportunity_id).await?;
    let party = opportunity
        .spec
        .parties
        .iter()
        .find(|p| p.contact_id == request.contact_id);
    refuse(eligibility::as_party(party))?;
    let contact = contacts::get(
        svc.table.as_ref(),
        tenant_id,
        client_id,
        &request.contact_id,
    )
    .await?;
    let mobile = contact.spec.phone();
    refuse(eligibility::as_contact(
        contact.spec.email.as_ref(),
        mobile.as_ref(),
    ))?;
    let (Some(email), Some(mobile)) = (contact.spec.email.clone(), mobile) else {
        unreachable!("an eligible contact has an e-mail address and a mobile number")
    };
    let questionnaire_ids = chosen_questionnaires(&opportunity.spec, request.questionnaire_ids)?;
    let adviser = match request.adviser {
        Some(Adviser { name, email }) => Some(Adviser {
            name: text("adviser.name", &name, 200)?,
            email,
        }),
        None => None,
    };
    if request.delivery == Delivery::Link {
        for (field, given) in [
            ("template_id", request.template_id.is_some()),
            ("subject", request.subject.is_some()),
            ("text", request.text.is_some()),
        ] {
            if given {
                return Err(Error::invalid(field, "is for delivery email only"));
            }
        }
    }
    let now = svc.clock.now();
    let token = svc.ids.token();
    let invite = Invite {
        id: svc.ids.id(),
        tenant_id: tenant_id.to_owned(),
        client_id: client_id.to_owned(),
        opportunity_id: opportunity_id.to_owned(),
        contact_id: contact.id.clone(),
        delivery: request.delivery,
        questionnaire_ids,
        template_id: request.template_id,
        subject: request.subject,
        text: request.text,
        adviser,
        status: Status::Active,
        created_at: now,
        issued_at: now,
        expires_at: now + Duration::days(LINK_VALID_DAYS),
        generation: 1,
        revoked_at: None,
        expired_at: None,
        message_id: None,
        contact_name: contact.spec.name.clone(),
        contact_email: email,
        mobile: mobile.e164().to_owned(),
        company_name: tenant.spec.name.clone(),
        link_hash: token_hash(&token),
        code: None,
        code_sends: Vec::new(),
        failures: 0,
        version: 1,
    };
    let email = match invite.delivery {
        Delivery::Email => Some(invite_email(svc, &invite, &tenant.spec.time_zone, &token).await?),
        Delivery::Link => None,
    };
    let ops = vec![
        TxOp::Put(invite.guard_item(), Condition::Absent),
        TxOp::Put(invite.item()?, Condition::Absent),
        TxOp::Put(invite.link_item()?, Condition::Absent),
    ];
    svc.table.transact(ops).await.map_err(|e| match e {
        TableError::TransactionFailed { .. } => Error::Conflict(
            "this contact already has an invite to this opportunity: regenerate or revoke it"
                .into(),
        ),
        e => e.into(),
    })?;
    deliver(svc, invite, email, token, true).await
}

/// Sends the invite e-mail (if any) and records its message id; on failure, withdraws the
/// link (and for a new invite the whole invite) so that nothing unusable stays open.
async fn deliver(
    svc: &Services,
    invite: Invite,
    email: Option<Email>,
    token: String,
    new: bool,
) -> Result<Issued> {
    let Some(email) = email else {
        return Ok(Issued {
            link: link(svc, &token),
            invite,
        });
    };
    match svc.mailer.send(&email).await {
        Ok(message_id) => {
            let mut sent = invite.clone();
            sent.message_id = Some(message_id);
            sent.version += 1;
            svc.table.transact(vec![invite.replace_op(&sent)?]).await?;
            Ok(Issued {
                invite: sent,
                link: link(svc, &token),
            })
        }
        Err(e) => {
            let withdrawn = if new {
                revoke_invite(svc, &invite).await
            } else {
                lock_invite(svc, &invite).await
            };
            if let Err(undo) = withdrawn {
                tracing::error!(invite = %invite.id, error = %undo, "an undelivered invite link could not be withdrawn");
            }
            Err(match e {
                crate::ports::DeliveryError::Rejected(why) => Error::Conflict(format!(
                    "the invite e-mail was refused by the mail service ({why}); nothing was sent"
                )),
                e => Error::Unavailable("mail service", Box::new(e)),
            })
        }
    }
}

/// An ineligible invitee as the error of the request's `contact_id`.
fn refuse(eligibility: Eligibility) -> Result<()> {
    match eligibility.refusal() {
        Some(why) => Err(Error::invalid("contact_id", why)),
        None => Ok(()),
    }
}

fn chosen_questionnaires(
    opportunity: &crate::domain::opportunities::OpportunitySpec,
    chosen: Option<Vec<String>>,
) -> Result<Vec<String>> {
    let Some(chosen) = chosen else {
        return Ok(opportunity.questionnaire_ids.clone());
    };
    for (i, id) in chosen.iter().enumerate() {
        if !opportunity.questionnaire_ids.contains(id) {
            return Err(Error::invalid(
                format!("questionnaire_ids[{i}]"),
                "is not one of this opportunity's questionnaires",
            ));
        }
        if chosen[..i].contains(id) {
            return Err(Error::invalid(
                format!("questionnaire_ids[{i}]"),
                "is listed twice",
            ));
        }
    }
    Ok(chosen)
}

/// The invite e-mail for `token`, rendered from the invite's template (or the built-in one).
async fn invite_email(
    svc: &Services,
    invite: &Invite,
    time_zone: &str,
    token: &str,
) -> Result<Email> {
    let template: TemplateSpec = match &invite.template_id {
        Some(id) => {
            templates::get(svc, &invite.tenant_id, id)
                .await
                .map_err(|e| match e {
                    Error::NotFound(_) => {
                        Error::invalid("template_id", "is not an e-mail template of this tenant")
                    }
                    e => e,
                })?
                .spec
        }
        None => templates::default_template(),
    };
    let overrides = Overrides {
        subject: invite.subject.clone(),
        text: invite.text.clone(),
    };
    let zone: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    let values = MergeValues {
        first_name: invite.first_name().to_owned(),
        contact_name: invite.contact_name.clone(),
        adviser_name: invite
            .adviser
            .as_ref()
            .map_or_else(|| invite.company_name.clone(), |a| a.name.clone()),
        company_name: invite.company_name.clone(),
        link: link(svc, token),
        expires_on: invite
            .expires_at
            .with_timezone(&zone)
            // The tenant's zone, named, so a customer elsewhere knows which 10:28 it is.
            .format("%A %-d %B %Y, %-I:%M %p %Z")
            .to_string(),
    };
    let Rendered {
        subject,
        html,
        text,
    } = templates::render(&template, &overrides, &values)?;
    Ok(Email {
        to: vec![invite.contact_email.clone()],
        reply_to: invite.adviser.as_ref().and_then(|a| a.email.clone()),
        subject,
        html,
        text,
        tags: vec![
            (TAG_TENANT, invite.tenant_id.clone()),
            (TAG_CLIENT, invite.client_id.clone()),
            (TAG_KIND, "invite".into()),
        ],
    })
}

/// Withdraws an invite: its link stops working, any session through it ends, and the contact
/// may be invited again. Revoking a revoked invite changes nothing.
pub async fn revoke(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    opportunity_id: &str,
    id: &str,
) -> Result<Invite> {
    let invite = get(svc, tenant_id, client_id, opportunity_id, id).await?;
    if invite.status == Status::Revoked {
        return Ok(invite);
    }
    revoke_invite(svc, &invite).await
}

async fn revoke_invite(svc: &Services, invite: &Invite) -> Result<Invite> {
    let mut next = invite.clone();
    next.status = Status::Revoked;
    next.revoked_at = Some(svc.clock.now());
    next.code = None;
    next.version += 1;
    let guard = invite.guard_item().key;
    let ops = vec![
        invite.replace_op(&next)?,
        TxOp::Delete(guard, Condition::None),
    ];
    svc.table
        .transact(ops)
        .await
        .map_err(crate::records::resource::stale(WHAT))?;
    Ok(next)
}

async fn lock_invite(svc: &Services, invite: &Invite) -> Result<Invite> {
    let mut next = invite.clone();
    next.status = Status::Locked;
    next.version += 1;
    svc.table
        .transact(vec![invite.replace_op(&next)?])
        .await
        .map_err(crate::records::resource::stale(WHAT))?;
    Ok(next)
}

/// Issues a new link for an invite (a new week; the old link stops working at once, and any
/// session through it ends) and delivers it as the invite was delivered. A locked or expired
/// invite opens again this way; a revoked one does not.
pub async fn regenerate(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    opportunity_id: &str,
    id: &str,
) -> Result<Issued> {
    let invite = get(svc, tenant_id, client_id, opportunity_id, id).await?;
    if invite.status == Status::Revoked {
        return Err(Error::Conflict(
            "a revoked invite cannot be regenerated; create a new invite".into(),
        ));
    }
    let token = svc.ids.token();
    let next = invite.with_new_link(svc, &token);
    let email = match next.delivery {
        Delivery::Email => {
            let tenant = tenants::get(svc.table.as_ref(), tenant_id).await?;
            Some(invite_email(svc, &next, &tenant.spec.time_zone, &token).await?)
        }
        Delivery::Link => None,
    };
    let ops = vec![
        invite.replace_op(&next)?,
        TxOp::Put(next.link_item()?, Condition::Absent),
        TxOp::Put(next.guard_item(), Condition::None),
    ];
    svc.table
        .transact(ops)
        .await
        .map_err(crate::records::resource::stale(WHAT))?;
    deliver(svc, next, email, token, false).await
}

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub expired: usize,
}

/// Marks every invite whose week is over as expired and publishes `InviteExpired` for each.
/// The event goes out before the mark, so a sweep that dies between the two publishes it again
/// next time (at least once; partners dedupe by invite id) rather than never.
pub async fn expire_due(svc: &Services) -> Result<SweepReport> {
    let now = svc.clock.now();
    let mut report = SweepReport::default();
    let mut query = Query::index(Index::Gsi2, keys::OPEN_INVITES)
        .sk(SortKey::UpTo(format!(
            "{}#~",
            now.format("%Y-%m-%dT%H:%M:%SZ")
        )))
        .limit(100);
    loop {
        let page = svc.table.query(query.clone()).await?;
        // The index may lag the table: read each invite itself before acting on it.
        let keys: Vec<Key> = page.items.iter().map(|item| item.key.clone()).collect();
        let current = svc.table.batch_get(&keys).await?;
        let due: Vec<Invite> = current
            .iter()
            .flatten()
            .map(from_item)
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(|i| matches!(i.status, Status::Active | Status::Locked) && i.expires_at <= now)
            .collect();
        if !due.is_empty() {
            let events: Vec<DomainEvent> = due.iter().map(expired_event).collect();
            svc.events
                .publish(&events)
                .await
                .map_err(|e| Error::Unavailable("event bus", Box::new(e)))?;
        }
        for invite in due {
            let mut next = invite.clone();
            next.status = Status::Expired;
            next.expired_at = Some(invite.expires_at);
            next.code = None;
            next.version += 1;
            match svc.table.transact(vec![invite.replace_op(&next)?]).await {
                Ok(()) => report.expired += 1,
                // Changed meanwhile (regenerated, revoked): the next sweep sees its new state.
                Err(TableError::TransactionFailed { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        match page.next {
            Some(next) => query = query.after(Some(next)),
            None => return Ok(report),
        }
    }
}

fn expired_event(invite: &Invite) -> DomainEvent {
    DomainEvent::new(
        EXPIRED_EVENT,
        json!({
            "tenant_id": invite.tenant_id,
            "client_id": invite.client_id,
            "opportunity_id": invite.opportunity_id,
            "invite_id": invite.id,
            "contact_id": invite.contact_id,
            "expired_at": invite.expires_at,
        }),
        invite.expires_at,
    )
}

/// The invite a link leads to, read by the token's hash; `None` for a link that was never
/// issued or whose records are gone.
pub async fn by_token(svc: &Services, token: &str) -> Result<Option<(LinkRecord, Invite)>> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    let Some(item) = svc.table.get(&keys::link(&token_hash(token))).await? else {
        return Ok(None);
    };
    let link: LinkRecord = item.record()?;
    let Some(invite) = svc
        .table
        .get(&keys::invite(
            &link.tenant_id,
            &link.client_id,
            &link.opportunity_id,
            &link.invite_id,
        ))
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((link, from_item(&invite)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn invite(status: Status, expires_at: &str, contact_name: &str) -> Invite {
        Invite {
            id: "i1".into(),
            tenant_id: "t1".into(),
            client_id: "c1".into(),
            opportunity_id: "o1".into(),
            contact_id: "p1".into(),
            delivery: Delivery::Link,
            questionnaire_ids: Vec::new(),
            template_id: None,
            subject: None,
            text: None,
            adviser: None,
            status,
            created_at: at("2026-11-13T09:00:00Z"),
            issued_at: at("2026-11-13T09:00:00Z"),
            expires_at: at(expires_at),
            generation: 1,
            revoked_at: None,
            expired_at: None,
            message_id: None,
            contact_name: contact_name.into(),
            contact_email: EmailAddress::parse("ana@example.com").unwrap(),
            mobile: "+64211234567".into(),
            company_name: "Acme Finance".into(),
            link_hash: String::new(),
            code: None,
            code_sends: Vec::new(),
            failures: 0,
            version: 1,
        }
    }

    #[test]
    fn an_invite_reads_expired_from_the_end_of_its_week() {
        let end = "2026-11-20T09:00:00Z";
        #[rustfmt::skip]
        let table: &[(&str, Status, &str, Status)] = &[
            // (reason, stored status, now, status seen)
            ("active within its week", Status::Active, "2026-11-20T08:59:59Z", Status::Active),
            ("active at the end of its week", Status::Active, end, Status::Expired),
            ("active past its week, not yet swept", Status::Active, "2026-11-21T00:00:00Z", Status::Expired),
            ("locked within its week", Status::Locked, "2026-11-19T00:00:00Z", Status::Locked),
            ("locked past its week", Status::Locked, "2026-11-21T00:00:00Z", Status::Expired),
            ("revoked stays revoked", Status::Revoked, "2026-11-21T00:00:00Z", Status::Revoked),
            ("swept", Status::Expired, "2026-11-21T00:00:00Z", Status::Expired),
        ];
        for &(reason, status, now, expected) in table {
            assert_eq!(
                invite(status, end, "Ana").status_at(at(now)),
                expected,
                "{reason}"
            );
        }
    }

    #[test]
    fn the_greeting_uses_the_first_word_of_the_name() {
        let end = "2026-11-20T09:00:00Z";
        assert_eq!(
            invite(Status::Active, end, "Ana Maria Silva").first_name(),
            "Ana"
        );
        assert_eq!(invite(Status::Active, end, "  Ana  ").first_name(), "Ana");
        assert_eq!(invite(Status::Active, end, "").first_name(), "");
    }

    #[test]
    fn questionnaires_are_the_opportunitys_own_each_once() {
        let opportunity: crate::domain::opportunities::OpportunitySpec =
            serde_json::from_value(json!({
                "name": "Loan",
                "questionnaire_ids": ["q1", "q2"],
            }))
            .unwrap();
        let ids = |ids: &[&str]| Some(ids.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            chosen_questionnaires(&opportunity, None).unwrap(),
            vec!["q1", "q2"]
        );
        assert_eq!(
            chosen_questionnaires(&opportunity, ids(&["q2"])).unwrap(),
            vec!["q2"]
        );
        let refused = |chosen| match chosen_questionnaires(&opportunity, chosen) {
            Err(Error::Invalid { field, message }) => format!("{field}: {message}"),
            other => panic!("not refused: {other:?}"),
        };
        assert_eq!(
            refused(ids(&["q1", "q3"])),
            "questionnaire_ids[1]: is not one of this opportunity's questionnaires"
        );
        assert_eq!(
            refused(ids(&["q1", "q1"])),
            "questionnaire_ids[1]: is listed twice"
        );
    }
}
