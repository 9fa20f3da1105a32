//! What a client's contact answers to an open invoice in the account portal, and what the
//! communications run makes of a promise: [`dispute`], [`promise`] and [`break_promise`].
//!
//! Each is one transaction under the invoice's version: the invoice (its status and its
//! read-only `dispute` or `promise`), an entry in the client's communications log (outcome
//! `recorded`), and the event's row in the outbox ([`outbox`]). A write that loses the race
//! for the version (another answer, a partner's PATCH, a second run) reads the invoice again
//! and is judged anew, so two disputes at once make one and the other is told the invoice is
//! already disputed. After the commit the event is published (`InvoiceDisputed`,
//! `PaymentPromised`, `PaymentPromiseBroken`, each with a stable `event_id`); if that fails the
//! answer still stands and the event waits in the outbox for the next communications run.
//!
//! The rules (which invoice, what reason, comment and date) are [`super::answer_rules`].

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};

use super::super::log::{Entry, Kind, Outcome};
use super::answer_rules;
use super::{Dispute, Invoice, InvoiceSpec, Promise, PromiseStatus, Status, WHAT};
use crate::Services;
use crate::domain::portal::ContactRef;
use crate::domain::{Error, Result};
use crate::ports::{Condition, DomainEvent, Transaction, TxOp};
use crate::records::outbox::{self, Staged};
use crate::records::{resource, tenants};

pub const DISPUTED_EVENT: &str = "InvoiceDisputed";
pub const PROMISED_EVENT: &str = "PaymentPromised";
pub const BROKEN_EVENT: &str = "PaymentPromiseBroken";
/// How often an answer that keeps losing the race for the invoice's version reads it again.
const TRIES: usize = 3;
/// Leftover events a portal action publishes on its way out.
const FLUSH_AFTER_ACTION: usize = 10;

/// The contact disputes an open invoice: `reason` is one of the tenant's
/// `portal.dispute_reasons` (422 naming `reason`), `comment` optional text of up to 2000
/// characters on several lines (422 naming `comment`). The invoice becomes `disputed`, which
/// takes it out of the open-invoice index (its workflow stops) and into the tenant's disputes.
/// A disputed, paid or void invoice is a 409; another client's or tenant's is a 404.
pub async fn dispute(
    svc: &Services,
    by: &ContactRef,
    invoice_id: &str,
    reason: &str,
    comment: Option<&str>,
) -> Result<Invoice> {
    let tenant = tenants::get(svc.table.as_ref(), &by.tenant_id).await?;
    let reason = answer_rules::reason(&tenant.spec.portal.dispute_reasons, reason)?;
    let comment = answer_rules::comment(comment)?;
    let dispute_id = svc.ids.id();
    let written = write(svc, by, invoice_id, None, |current, now| {
        answer_rules::may_dispute(&current.spec)?;
        let dispute = Dispute {
            id: dispute_id.clone(),
            reason: reason.clone(),
            comment: comment.clone(),
            contact_id: by.contact_id.clone(),
            contact_name: by.contact_name.clone(),
            raised_at: now,
            resolved_at: None,
        };
        let spec = InvoiceSpec {
            status: Status::Disputed,
            dispute: Some(dispute.clone()),
            ..current.spec.clone()
        };
        let mut detail = facts(by, current);
        extend(
            &mut detail,
            json!({
                "dispute_id": dispute.id,
                "reason": dispute.reason,
                "comment": dispute.comment,
                "contact_id": by.contact_id,
                "raised_at": now,
            }),
        );
        Ok(Some(Answer {
            spec,
            kind: Kind::Dispute,
            contact_id: Some(by.contact_id.clone()),
            subject: format!(
                "Invoice {} disputed by {}: {}",
                current.spec.number, by.contact_name, dispute.reason
            ),
            reason: Some(dispute.reason),
            event: DomainEvent::new(DISPUTED_EVENT, detail, now),
        }))
    })
    .await?;
    after_action(svc).await;
    Ok(written.invoice)
}

/// The contact promises to pay an open invoice by `date` (`YYYY-MM-DD`, from today to today +
/// the tenant's `portal.promise_max_days`, in the tenant's time zone; 422 naming `date`). The
/// invoice's reminders and escalations wait until the day after; an invoice that is not open,
/// or has a pending promise, is a 409; another client's or tenant's is a 404.
pub async fn promise(
    svc: &Services,
    by: &ContactRef,
    invoice_id: &str,
    date: &str,
) -> Result<Invoice> {
    let tenant = tenants::get(svc.table.as_ref(), &by.tenant_id).await?;
    let today = local_day(&tenant.spec.time_zone, svc.clock.now());
    let date = answer_rules::promise_date(today, tenant.spec.portal.promise_max_days, date)?;
    let written = write(svc, by, invoice_id, None, |current, now| {
        answer_rules::may_promise(&current.spec)?;
        let spec = InvoiceSpec {
            promise: Some(Promise {
                date,
                contact_id: by.contact_id.clone(),
                contact_name: by.contact_name.clone(),
                made_at: now,
                status: PromiseStatus::Pending,
                settled_at: None,
            }),
            ..current.spec.clone()
        };
        let mut detail = facts(by, current);
        extend(
            &mut detail,
            json!({"promised_date": date, "contact_id": by.contact_id, "made_at": now}),
        );
        Ok(Some(Answer {
            spec,
            kind: Kind::Promise,
            contact_id: Some(by.contact_id.clone()),
            subject: format!(
                "{} promised to pay invoice {} by {date}",
                by.contact_name, current.spec.number
            ),
            reason: None,
            event: DomainEvent::new(PROMISED_EVENT, detail, now),
        }))
    })
    .await?;
    after_action(svc).await;
    Ok(written.invoice)
}

/// The first and last day a promise made now may name, in the tenant's time zone (for the
/// portal's date field).
pub async fn promise_window(svc: &Services, tenant_id: &str) -> Result<(NaiveDate, NaiveDate)> {
    let tenant = tenants::get(svc.table.as_ref(), tenant_id).await?;
    let today = local_day(&tenant.spec.time_zone, svc.clock.now());
    Ok(answer_rules::window(
        today,
        tenant.spec.portal.promise_max_days,
    ))
}

/// What [`break_promise`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct Settled {
    /// The invoice as it now stands.
    pub invoice: Invoice,
    /// This call broke the promise (and staged its one event); `false` when there was nothing
    /// to break any more (another run broke it, or the invoice is no longer open).
    pub broke: bool,
}

/// Run day `day` found the invoice still open after its promised date: the promise is marked
/// broken, under the invoice's version, with its log entry and one `PaymentPromiseBroken`
/// event. `seen` is the invoice as the run read it. Two runs at once, or a run repeated after
/// a kill, break it once: the loser of the version reads the invoice again and finds it
/// broken already.
pub async fn break_promise(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    seen: Invoice,
    day: NaiveDate,
) -> Result<Settled> {
    let by = ContactRef {
        tenant_id: tenant_id.to_owned(),
        client_id: client_id.to_owned(),
        contact_id: String::new(),
        contact_name: String::new(),
    };
    let invoice_id = seen.id.clone();
    write(svc, &by, &invoice_id, Some(seen), |current, now| {
        let Some(promise) = current.spec.promise.clone() else {
            return Ok(None);
        };
        if current.spec.status != Status::Open || !promise.is_pending() || day <= promise.date {
            return Ok(None);
        }
        let spec = InvoiceSpec {
            promise: Some(Promise {
                status: PromiseStatus::Broken,
                settled_at: Some(now),
                ..promise.clone()
            }),
            ..current.spec.clone()
        };
        let mut detail = facts(&by, current);
        extend(
            &mut detail,
            json!({"promised_date": promise.date, "contact_id": promise.contact_id, "broken_on": day}),
        );
        Ok(Some(Answer {
            spec,
            kind: Kind::PromiseBroken,
            contact_id: Some(promise.contact_id.clone()),
            subject: format!(
                "Promise to pay invoice {} by {} broken: still open on {day}",
                current.spec.number, promise.date
            ),
            reason: None,
            event: DomainEvent::new(BROKEN_EVENT, detail, now),
        }))
    })
    .await
}

/// A change to write: the invoice's next spec, its log entry's words, its event.
struct Answer {
    spec: InvoiceSpec,
    kind: Kind,
    contact_id: Option<String>,
    subject: String,
    reason: Option<String>,
    event: DomainEvent,
}

/// The refusal of the invoice's version: it changed since it was read.
struct Stale;

/// Reads the invoice (or starts from `seen`), asks `change` what to write, and writes it with
/// its log entry and its event's outbox row in one transaction under the version read; a lost
/// race reads again and asks again. Then publishes the event.
async fn write(
    svc: &Services,
    by: &ContactRef,
    invoice_id: &str,
    mut seen: Option<Invoice>,
    change: impl Fn(&Invoice, DateTime<Utc>) -> Result<Option<Answer>>,
) -> Result<Settled> {
    for _ in 0..TRIES {
        let current = match seen.take() {
            Some(invoice) => invoice,
            None => super::get(svc, &by.tenant_id, &by.client_id, invoice_id).await?,
        };
        let now = svc.clock.now();
        let Some(answer) = change(&current, now)? else {
            return Ok(Settled {
                invoice: current,
                broke: false,
            });
        };
        let next = resource::changed(svc, &current, answer.spec);
        let entry = Entry {
            id: svc.ids.id(),
            at: now,
            client_id: by.client_id.clone(),
            invoice_id: Some(next.id.clone()),
            kind: answer.kind,
            step: None,
            channel: None,
            contact_id: answer.contact_id,
            to: None,
            subject: answer.subject,
            outcome: Outcome::Recorded,
            reason: answer.reason,
            message_id: None,
        };
        let staged = Staged::new(svc, answer.event);
        let mut tx = Transaction::new();
        tx.guarded(
            TxOp::Put(
                super::item(&by.tenant_id, &by.client_id, &next)?,
                Condition::VersionIs(current.version),
            ),
            Stale,
        )
        .op(TxOp::Put(entry.item(&by.tenant_id)?, Condition::Absent))
        .op(staged.op()?);
        match tx.try_commit(svc.table.as_ref()).await? {
            Ok(()) => {
                publish(svc, &staged).await;
                return Ok(Settled {
                    invoice: next,
                    broke: true,
                });
            }
            Err(Stale) => continue,
        }
    }
    Err(Error::Stale(WHAT))
}

/// Publishes a committed change's event; a failure leaves it in the outbox for the next
/// communications run (the change stands), so it is logged, not returned.
async fn publish(svc: &Services, staged: &Staged) {
    if let Err(e) = outbox::publish(svc, staged).await {
        tracing::warn!(
            error = %e,
            event_id = %staged.event_id(),
            detail_type = %staged.event().detail_type,
            "an event waits in the outbox for the next communications run"
        );
    }
}

/// After a portal action: publish a few events a crash or an outage left behind.
async fn after_action(svc: &Services) {
    if let Err(e) = outbox::flush(svc, FLUSH_AFTER_ACTION).await {
        tracing::warn!(error = %e, "events left in the outbox wait for the next run");
    }
}

/// What every event about an invoice says.
fn facts(by: &ContactRef, invoice: &Invoice) -> Value {
    json!({
        "tenant_id": by.tenant_id,
        "client_id": by.client_id,
        "invoice_id": invoice.id,
        "invoice_number": invoice.spec.number,
        "balance": invoice.spec.balance.unwrap_or(invoice.spec.amount),
        "currency": invoice.spec.currency,
    })
}

fn extend(detail: &mut Value, more: Value) {
    if let (Value::Object(into), Value::Object(from)) = (detail, more) {
        into.extend(from.into_iter().filter(|(_, v)| !v.is_null()));
    }
}

/// The tenant's calendar day at `now`; a zone that cannot be read counts as Pacific/Auckland.
pub fn local_day(time_zone: &str, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&crate::domain::tenants::zone(time_zone))
        .date_naive()
}
