//! Sending one message to the right contacts of a client, each at most once, and logging it.
//!
//! Before a message goes to a contact, a marker for (message, contact, channel) is written with
//! the log entry (`sending`), in one transaction, only if it is absent: the intent, durable
//! right before the provider call. Then the message is handed over and the entry records the
//! outcome. A run repeated, or killed half-way and started again, finds the marker and sends
//! nothing twice. The one window a kill leaves unknown is the provider call itself: the entry
//! stays `sending` (listed among the tenant's warnings from the moment it was claimed), and the
//! next call that meets its marker marks it `interrupted` and returns it, so the run reports
//! it. Such a message is not sent again: it may have gone out, and a duplicate could break the
//! client's contact limits. A message that reaches nobody is logged once as skipped, with the
//! reason.
//!
//! Every send draws on the providers' send-rate budget (`svc.budget`, shared by all workers:
//! `adapters::pacing`) before its claim, so a wait for the budget never holds a claim. A send
//! the provider throttles (`DeliveryError::Throttled`: nothing went out) gives its claim up
//! at once, with its entry, then waits ([`throttled_pause`]: exponential, with jitter) and
//! claims and calls again, [`THROTTLED_TRIES`] calls in all; still throttled, the message is
//! left unclaimed and the delivery fails ([`throttled`]), so the caller's turn is tried again
//! later (the next run, or the worker's retry) and sends it then, once. A kill while waiting
//! leaves no claim: the next run sends the message. A kill between a claim and its call is
//! the window above, as for any message.
//!
//! A message carrying `{{portal_link}}` (a workflow step's tag, or the statement's line) holds
//! [`PORTAL_LINK_SLOT`] in its place until it is sent: right after a contact's claim succeeds,
//! and before the provider call, a personal account-portal link is minted for that contact and
//! put there (for a contact whose role has no communication, who cannot sign in, the slot is
//! left empty). A message never sent mints nothing; a message sent to three contacts carries
//! three links. The log keeps the subject only, never a link.

use chrono::Duration;
use serde_json::Value;

use super::log::{Entry, Kind, Outcome};
use super::merge::PORTAL_LINK_SLOT;
use crate::Services;
use crate::access::links::{self, Holder};
use crate::adapters::retry::Backoff;
use crate::domain::clients::{Channel, Client};
use crate::domain::contacts::Contact;
use crate::domain::roles::Purpose;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::mailer::{TAG_CLIENT, TAG_KIND, TAG_TENANT};
use crate::ports::{Condition, DeliveryError, Email, Item, Key, Provider, TableError, TxOp};
use crate::records::contacts;
use crate::records::roles;
use crate::records::suppressions;

/// How long a sent-marker is kept: longer than any invoice stays open in practice.
const KEEP_MARKERS_DAYS: i64 = 730;

/// Who a message is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The contacts whose role serves this purpose (invoice presentment, or communication).
    Purpose(Purpose),
    /// The contacts with this role (an escalation).
    Role(String),
}

/// One message, rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub kind: Kind,
    pub invoice_id: Option<String>,
    pub step: Option<String>,
    pub subject: String,
    pub html: String,
    /// The e-mail's text part, or the SMS.
    pub text: String,
}

/// Sends `message` on `channel` to the client's contacts in `audience`. `once` names the
/// message itself (`invoice#<id>`, `step#<invoice>#<step>`, `statement#<YYYY-MM>`): each
/// (once, contact, channel) is sent at most once, whoever calls this how often. Returns the
/// log entries this call wrote (none when everything was done before).
pub async fn deliver(
    svc: &Services,
    tenant_id: &str,
    client: &Client,
    audience: &Audience,
    channel: Channel,
    message: &Message,
    once: &str,
) -> Result<Vec<Entry>> {
    if !client
        .spec
        .communication
        .allowed_channels
        .contains(&channel)
    {
        let reason = format!("the client does not allow {}", channel_name(channel));
        return skip(svc, tenant_id, client, channel, message, once, reason).await;
    }
    if !matches!(channel, Channel::Email | Channel::Sms) {
        let reason = format!("clientwatch does not send by {}", channel_name(channel));
        return skip(svc, tenant_id, client, channel, message, once, reason).await;
    }
    let chosen = audience_of(svc, tenant_id, &client.id, audience).await?;
    let reachable: Vec<&Contact> = chosen
        .iter()
        .filter(|c| address(c, channel).is_some())
        .collect();
    if reachable.is_empty() {
        let reason = if chosen.is_empty() {
            nobody_in(svc, tenant_id, audience).await?
        } else {
            format!(
                "no contact in the role has {}",
                match channel {
                    Channel::Email => "an e-mail address",
                    _ => "a mobile number",
                }
            )
        };
        return skip(svc, tenant_id, client, channel, message, once, reason).await;
    }
    // Addresses that bounced for good or were reported as spam get nothing more: each such
    // contact's message is claimed and logged as skipped, with the reason, once.
    let suppressed = if channel == Channel::Email {
        let addresses: Vec<&crate::domain::EmailAddress> = reachable
            .iter()
            .filter_map(|c| c.spec.email.as_ref())
            .collect();
        suppressions::of(svc.table.as_ref(), tenant_id, &addresses).await?
    } else {
        Default::default()
    };
    let personal = [&message.subject, &message.html, &message.text]
        .iter()
        .any(|part| part.contains(PORTAL_LINK_SLOT));
    let mut links_for: Option<LinkSource> = None;
    let mut written = Vec::new();
    let provider = match channel {
        Channel::Email => Provider::Email,
        _ => Provider::Sms,
    };
    for contact in reachable {
        let to = address(contact, channel).expect("filtered above");
        let suppression = contact
            .spec
            .email
            .as_ref()
            .filter(|_| channel == Channel::Email)
            .and_then(|a| suppressed.get(&a.as_str().to_lowercase()));
        let (outcome, reason) = match suppression {
            Some(s) => (Outcome::Skipped, Some(s.why())),
            None => (Outcome::Sending, None),
        };
        let entry = entry(
            svc,
            client,
            channel,
            message,
            Some(contact),
            outcome,
            reason,
        );
        let marker = marker(svc, tenant_id, &client.id, once, &contact.id, channel)
            .with_log(&entry.key(tenant_id));
        let marker_key = marker.key.clone();
        // A send of the provider's rate is taken before the claim, so that a wait for the
        // budget never holds a claim (a kill while waiting leaves nothing to mark interrupted).
        let granted = match suppression {
            Some(_) => None,
            None => svc.budget.take(provider).await?,
        };
        if !claim(svc, tenant_id, &entry, &marker).await? {
            svc.budget.give_back(provider, granted);
            // Claimed before: sent (or being sent) by an earlier or concurrent run; one cut
            // off inside the provider call is marked interrupted now.
            if let Some(cut_off) = interrupted(svc, tenant_id, &marker_key).await? {
                written.push(cut_off);
            }
            continue;
        }
        if suppression.is_some() {
            written.push(entry);
            continue;
        }
        let filled;
        let message_now = if personal {
            let source = match links_for.take() {
                Some(source) => source,
                None => LinkSource::read(svc, tenant_id).await?,
            };
            let link = source.link(svc, tenant_id, &client.id, contact).await;
            links_for = Some(source);
            filled = match link {
                Ok(link) => with_portal_link(message, &link),
                Err(e) => {
                    tracing::warn!(client = %client.id, error = %e, "a portal link could not be made; the message goes without it");
                    with_portal_link(message, "")
                }
            };
            &filled
        } else {
            message
        };
        let mut tries = 1;
        let sent = loop {
            let sent = match channel {
                Channel::Email => {
                    let email = Email {
                        to: vec![to.parse_email()?],
                        reply_to: None,
                        subject: message_now.subject.clone(),
                        html: message_now.html.clone(),
                        text: message_now.text.clone(),
                        tags: vec![
                            (TAG_TENANT, tenant_id.to_owned()),
                            (TAG_CLIENT, client.id.clone()),
                            (TAG_KIND, message.kind.as_str().into()),
                        ],
                    };
                    svc.mailer.send(&email).await
                }
                _ => match contact.spec.phone() {
                    Some(phone) => svc.sms.send(&phone, &message_now.text).await,
                    None => Err(DeliveryError::Rejected("no mobile number".into())),
                },
            };
            let Err(DeliveryError::Throttled(why)) = sent else {
                break Some(sent);
            };
            // The provider took nothing: the claim is released at once, so that whatever
            // happens while this run waits, the message is never marked interrupted for a
            // send that did not happen, nor lost.
            svc.budget.drop_held(provider);
            release(svc, tenant_id, &entry, &marker_key).await?;
            if tries >= THROTTLED_TRIES {
                tracing::warn!(client = %client.id, tries, "the provider kept throttling; the message is left for a later run");
                return Err(Error::Unavailable(
                    provider_of(channel),
                    Box::new(DeliveryError::Throttled(why)),
                ));
            }
            let pause = throttled_pause(tries, rand::random::<f64>());
            tracing::info!(client = %client.id, tries, pause_ms = pause.as_millis() as u64, "the provider throttled; backing off");
            let until = svc.clock.now()
                + Duration::from_std(pause).unwrap_or_else(|_| Duration::seconds(1));
            svc.clock.sleep_until(until).await;
            tries += 1;
            let granted = svc.budget.take(provider).await?;
            if !claim(svc, tenant_id, &entry, &marker).await? {
                // Another run claimed it meanwhile: it is that run's to send.
                svc.budget.give_back(provider, granted);
                break None;
            }
        };
        let Some(sent) = sent else { continue };
        let mut done = entry.clone();
        match sent {
            Ok(id) => {
                done.outcome = Outcome::Sent;
                done.message_id = Some(id);
            }
            Err(e) => {
                tracing::warn!(client = %client.id, error = %e, "a message was not delivered");
                done.outcome = Outcome::Failed;
                done.reason = Some(e.to_string());
            }
        }
        svc.table
            .put(done.item(tenant_id)?, Condition::Exists)
            .await?;
        written.push(done);
    }
    Ok(written)
}

/// The message with `link` where its portal link goes (in the subject, which the log keeps, no
/// link ever: the slot is removed there).
fn with_portal_link(message: &Message, link: &str) -> Message {
    Message {
        subject: if message.subject.contains(PORTAL_LINK_SLOT) {
            message
                .subject
                .replace(PORTAL_LINK_SLOT, "")
                .trim()
                .to_owned()
        } else {
            message.subject.clone()
        },
        html: message.html.replace(PORTAL_LINK_SLOT, link),
        text: message.text.replace(PORTAL_LINK_SLOT, link),
        ..message.clone()
    }
}

/// What minting a tenant's portal links needs, read once per delivery.
struct LinkSource {
    link_days: u32,
    /// The roles with communication: only their contacts can sign in.
    communication: Vec<String>,
}

impl LinkSource {
    async fn read(svc: &Services, tenant_id: &str) -> Result<Self> {
        let tenant = crate::records::tenants::get(svc.table.as_ref(), tenant_id).await?;
        let communication = roles::all(svc.table.as_ref(), tenant_id)
            .await?
            .into_iter()
            .filter(|r| r.spec.communication)
            .map(|r| r.id)
            .collect();
        Ok(Self {
            link_days: tenant.spec.portal.link_days,
            communication,
        })
    }

    /// A new link for `contact`, or nothing for a contact who cannot sign in.
    async fn link(
        &self,
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        contact: &Contact,
    ) -> Result<String> {
        if !self.communication.contains(&contact.spec.role_id) {
            return Ok(String::new());
        }
        let holder = Holder {
            tenant_id: tenant_id.to_owned(),
            client_id: client_id.to_owned(),
            contact_id: contact.id.clone(),
        };
        let email = contact.spec.email.as_ref().map(|e| e.as_str());
        Ok(links::mint(svc, &holder, email, self.link_days, false)
            .await?
            .link)
    }
}

/// Where a contact is reached on a channel: the e-mail address, or the masked mobile.
enum Address {
    Email(String),
    Mobile(String),
}

impl Address {
    fn shown(&self) -> String {
        match self {
            Address::Email(e) | Address::Mobile(e) => e.clone(),
        }
    }

    fn parse_email(&self) -> Result<crate::domain::EmailAddress> {
        match self {
            Address::Email(e) => {
                crate::domain::EmailAddress::parse(e).map_err(|e| Error::invalid("email", e.0))
            }
            Address::Mobile(_) => Err(Error::invalid("channel", "not an e-mail")),
        }
    }
}

fn address(contact: &Contact, channel: Channel) -> Option<Address> {
    match channel {
        Channel::Email => contact
            .spec
            .email
            .as_ref()
            .map(|e| Address::Email(e.as_str().to_owned())),
        Channel::Sms => contact.spec.phone().map(|p| Address::Mobile(p.masked())),
        _ => None,
    }
}

pub fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "e-mail",
        Channel::Sms => "SMS",
        Channel::Phone => "phone",
        Channel::Letter => "letter",
    }
}

/// The client's contacts in the audience.
pub async fn audience_of(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    audience: &Audience,
) -> Result<Vec<Contact>> {
    match audience {
        Audience::Purpose(purpose) => Ok(contacts::recipients(svc, tenant_id, client_id, *purpose)
            .await?
            .0),
        Audience::Role(role_id) => Ok(contacts::all(svc.table.as_ref(), tenant_id, client_id)
            .await?
            .into_iter()
            .filter(|c| &c.spec.role_id == role_id)
            .collect()),
    }
}

async fn nobody_in(svc: &Services, tenant_id: &str, audience: &Audience) -> Result<String> {
    Ok(match audience {
        Audience::Purpose(Purpose::Invoice) => {
            "no contact of this client has a role with invoice presentment".into()
        }
        Audience::Purpose(_) => "no contact of this client has a role with communication".into(),
        Audience::Role(role_id) => {
            let name = roles::get(svc.table.as_ref(), tenant_id, role_id)
                .await
                .map(|r| r.spec.name)
                .unwrap_or_else(|_| role_id.clone());
            format!("no contact of this client has the role {name}")
        }
    })
}

fn entry(
    svc: &Services,
    client: &Client,
    channel: Channel,
    message: &Message,
    contact: Option<&Contact>,
    outcome: Outcome,
    reason: Option<String>,
) -> Entry {
    Entry {
        id: svc.ids.id(),
        at: svc.clock.now(),
        client_id: client.id.clone(),
        invoice_id: message.invoice_id.clone(),
        kind: message.kind,
        step: message.step.clone(),
        channel: Some(channel),
        contact_id: contact.map(|c| c.id.clone()),
        to: contact.and_then(|c| address(c, channel)).map(|a| a.shown()),
        subject: if message.subject.contains(PORTAL_LINK_SLOT) {
            message
                .subject
                .replace(PORTAL_LINK_SLOT, "")
                .trim()
                .to_owned()
        } else {
            message.subject.clone()
        },
        outcome,
        reason,
        message_id: None,
    }
}

fn marker(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    once: &str,
    contact: &str,
    channel: Channel,
) -> Item {
    let keep = svc.clock.now() + Duration::days(KEEP_MARKERS_DAYS);
    Item::new(
        keys::sent(tenant_id, client_id, once, contact, channel_name(channel)),
        serde_json::Map::<String, Value>::new(),
    )
    .with_expiry(keep.timestamp())
}

/// What a claim marker names: the log entry written with it.
trait WithLog {
    fn with_log(self, entry: &Key) -> Self;
}

impl WithLog for Item {
    fn with_log(mut self, entry: &Key) -> Self {
        self.data
            .insert("log".into(), Value::String(entry.sk.clone()));
        self
    }
}

/// How a send the provider throttles backs off: 250 ms after the first throttled call,
/// doubled each time, at most 8 s, with full jitter (so workers throttled together do not come
/// back together); [`THROTTLED_TRIES`] calls in all, then the message is left for a later run.
const THROTTLED: Backoff = Backoff {
    attempts: 5,
    base: std::time::Duration::from_millis(125),
    cap: std::time::Duration::from_secs(8),
};

/// Calls in all for one contact's message while the provider throttles, the first included.
pub const THROTTLED_TRIES: u32 = THROTTLED.attempts;

/// The pause before try `tries + 1` after `tries` throttled calls (`random` in [0, 1)).
pub fn throttled_pause(tries: u32, random: f64) -> std::time::Duration {
    THROTTLED.delay_at(tries, random)
}

/// Whether `error` is a message left for a later run because its provider kept throttling.
pub fn throttled(error: &Error) -> bool {
    matches!(error, Error::Unavailable(_, cause)
        if matches!(cause.downcast_ref::<DeliveryError>(), Some(DeliveryError::Throttled(_))))
}

fn provider_of(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "e-mail provider",
        _ => "SMS provider",
    }
}

/// Claims (message, contact, channel) with its log entry `sending`, only if unclaimed: whether
/// this call holds the claim now.
async fn claim(svc: &Services, tenant_id: &str, entry: &Entry, marker: &Item) -> Result<bool> {
    match svc
        .table
        .transact(vec![
            TxOp::Put(marker.clone(), Condition::Absent),
            TxOp::Put(entry.item(tenant_id)?, Condition::Absent),
        ])
        .await
    {
        Ok(()) => Ok(true),
        Err(TableError::TransactionFailed { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Gives a claim up, with its log entry (still `sending`): the provider throttled the message,
/// so nothing went out, and the next claim (this run's retry, or a later run) sends it.
async fn release(svc: &Services, tenant_id: &str, entry: &Entry, marker: &Key) -> Result<()> {
    let sending = Condition::AttrEquals("outcome".into(), Value::String("sending".into()));
    svc.table
        .transact(vec![
            TxOp::Delete(marker.clone(), Condition::Exists),
            TxOp::Delete(entry.key(tenant_id), sending),
        ])
        .await?;
    Ok(())
}

/// The reason an interrupted entry gives.
pub const INTERRUPTED: &str = "the run handing it to the provider was cut off: it may or may not have gone out, and is not sent again";

/// The log entry of the claim `marker`, marked interrupted if it is still `sending`: the run
/// that claimed it stopped inside the provider call (runs of a day do not overlap: one
/// concurrent execution on Lambda, one process on the embedded store). `None` when the entry
/// has an outcome, or the claim names none (a skipped message's).
async fn interrupted(svc: &Services, tenant_id: &str, marker: &Key) -> Result<Option<Entry>> {
    let Some(claim) = svc.table.get(marker).await? else {
        return Ok(None);
    };
    let Some(log) = claim.data.get("log").and_then(Value::as_str) else {
        return Ok(None);
    };
    let key = Key::new(marker.pk.clone(), log);
    let Some(item) = svc.table.get(&key).await? else {
        return Ok(None);
    };
    let mut entry: Entry = item.record()?;
    if entry.outcome != Outcome::Sending {
        return Ok(None);
    }
    entry.outcome = Outcome::Interrupted;
    entry.reason = Some(INTERRUPTED.into());
    let still_sending = Condition::AttrEquals("outcome".into(), Value::String("sending".into()));
    match svc.table.put(entry.item(tenant_id)?, still_sending).await {
        Ok(()) => {
            tracing::warn!(
                client = %entry.client_id,
                entry = %entry.id,
                "a message's sending was cut off in an earlier run; marked interrupted"
            );
            Ok(Some(entry))
        }
        // Its outcome arrived meanwhile.
        Err(TableError::ConditionFailed(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Logs, once, that a message reached nobody, with the reason (also for the caller's own
/// reasons, such as contact attempts used up). Returns the entry, or nothing when it was
/// logged before.
pub async fn skip(
    svc: &Services,
    tenant_id: &str,
    client: &Client,
    channel: Channel,
    message: &Message,
    once: &str,
    reason: String,
) -> Result<Vec<Entry>> {
    let entry = entry(
        svc,
        client,
        channel,
        message,
        None,
        Outcome::Skipped,
        Some(reason),
    );
    let marker = marker(svc, tenant_id, &client.id, once, "nobody", channel);
    match svc
        .table
        .transact(vec![
            TxOp::Put(marker, Condition::Absent),
            TxOp::Put(entry.item(tenant_id)?, Condition::Absent),
        ])
        .await
    {
        Ok(()) => Ok(vec![entry]),
        Err(TableError::TransactionFailed { .. }) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// What became of a message sent (or skipped) before with the same `once`, as its markers
/// record it: `None` when nothing was, `Some(true)` when it was handed over for at least one
/// contact (sent, failed at the provider, or cut off while sending), `Some(false)` when it was
/// only logged as skipped. The markers are read from the client's partition, not from an
/// index, so a write just made is seen.
pub async fn reached(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    once: &str,
) -> Result<Option<bool>> {
    let prefix = keys::sent_of(once);
    let markers = svc
        .table
        .query_all(
            crate::ports::Query::partition(keys::client_pk(tenant_id, client_id))
                .sk(crate::ports::SortKey::BeginsWith(prefix.clone())),
        )
        .await?;
    if markers.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        markers
            .iter()
            .any(|m| !m.key.sk[prefix.len()..].starts_with("nobody#")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(email: Option<&str>, mobile: Option<&str>) -> Contact {
        let at = chrono::DateTime::UNIX_EPOCH;
        Contact {
            id: "p1".into(),
            spec: serde_json::from_value(serde_json::json!({
                "name": "Ana Silva",
                "email": email,
                "mobile": mobile,
                "role_id": "r1",
            }))
            .unwrap(),
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    #[test]
    fn a_contact_is_reached_at_the_address_of_the_channel() {
        let both = contact(Some("ana@example.com"), Some("+64211234567"));
        let email_only = contact(Some("ana@example.com"), None);
        let mobile_only = contact(None, Some("+64211234567"));
        #[rustfmt::skip]
        let table: &[(&str, &Contact, Channel, Option<&str>)] = &[
            // (reason, contact, channel, the address shown in the log)
            ("e-mail to the e-mail address", &both, Channel::Email, Some("ana@example.com")),
            ("SMS to the mobile, masked", &both, Channel::Sms, Some("+••••••••567")),
            ("no e-mail address", &mobile_only, Channel::Email, None),
            ("no mobile number", &email_only, Channel::Sms, None),
            ("clientwatch does not phone", &both, Channel::Phone, None),
            ("clientwatch does not post letters", &both, Channel::Letter, None),
        ];
        for (reason, contact, channel, expected) in table {
            let shown = address(contact, *channel).map(|a| a.shown());
            assert_eq!(shown.as_deref(), *expected, "{reason}");
        }
    }

    #[test]
    fn only_an_email_address_is_mailed_to() {
        let both = contact(Some("ana@example.com"), Some("+64211234567"));
        let email = address(&both, Channel::Email)
            .unwrap()
            .parse_email()
            .unwrap();
        assert_eq!(email.as_str(), "ana@example.com");
        assert!(address(&both, Channel::Sms).unwrap().parse_email().is_err());
    }

    #[test]
    fn a_portal_link_fills_the_body_and_never_the_subject() {
        let message = Message {
            kind: Kind::Reminder,
            invoice_id: None,
            step: None,
            subject: format!("Reminder {PORTAL_LINK_SLOT}"),
            html: format!("<a href=\"{PORTAL_LINK_SLOT}\">{PORTAL_LINK_SLOT}</a>"),
            text: format!("See {PORTAL_LINK_SLOT}"),
        };
        let filled = with_portal_link(&message, "https://p.test/a/tok");
        assert_eq!(filled.subject, "Reminder");
        assert_eq!(
            filled.html,
            "<a href=\"https://p.test/a/tok\">https://p.test/a/tok</a>"
        );
        assert_eq!(filled.text, "See https://p.test/a/tok");
    }

    #[test]
    fn a_throttled_send_backs_off_exponentially_with_jitter_up_to_a_cap() {
        use std::time::Duration as D;
        #[rustfmt::skip]
        let table: &[(&str, u32, f64, D)] = &[
            // (reason, throttled tries so far, random, pause)
            ("after the first, up to 250 ms", 1, 1.0, D::from_millis(250)),
            ("doubled after the second", 2, 1.0, D::from_millis(500)),
            ("and again", 4, 1.0, D::from_secs(2)),
            ("never past 8 s", 9, 1.0, D::from_secs(8)),
            ("never past 8 s, however many", 40, 1.0, D::from_secs(8)),
            ("jittered: half the ceiling", 3, 0.5, D::from_millis(500)),
            ("jittered: possibly none", 3, 0.0, D::ZERO),
        ];
        for (reason, tries, random, expected) in table {
            assert_eq!(throttled_pause(*tries, *random), *expected, "{reason}");
        }
    }

    #[test]
    fn only_a_throttled_delivery_is_left_for_a_later_run() {
        let throttled_error = Error::Unavailable(
            "e-mail provider",
            Box::new(DeliveryError::Throttled(
                "Maximum sending rate exceeded".into(),
            )),
        );
        let failed = Error::Unavailable(
            "e-mail provider",
            Box::new(DeliveryError::Rejected("no".into())),
        );
        assert!(throttled(&throttled_error));
        assert!(!throttled(&failed));
        assert!(!throttled(&Error::NotFound("invoice")));
    }

    #[test]
    fn a_claim_names_the_log_entry_written_with_it() {
        let entry = Key::new("T#t1#C#c1", "LOG#2026-11-20#e1");
        let claim = Item::new(
            Key::new("T#t1#C#c1", "SENT#x#p1#e-mail"),
            Default::default(),
        )
        .with_log(&entry);
        assert_eq!(
            claim.data.get("log"),
            Some(&Value::String("LOG#2026-11-20#e1".into()))
        );
    }
}
