//! The sender: takes the deliveries that are due, signs each (Standard Webhooks headers, every
//! secret that signs at that moment) and posts it, then applies `domain::webhooks::next` to the
//! outcome. A delivery is *claimed* before it is sent (moved [`LEASE_SECONDS`] ahead in the due
//! index under its version), so two senders never post it side by side, and one that dies
//! mid-send leaves it due again after the lease: at least once, with the same `webhook-id`.
//!
//! On Lambda a schedule queues the due deliveries ([`enqueue_due`]) on SQS and the webhooks
//! function sends each message's delivery ([`send_ref`]); locally `clientwatch-local` runs
//! [`run_due`] (the same two halves in one loop) every few seconds.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::deliveries::{self, Attempt, Delivery, Status};
use super::endpoints;
use crate::Services;
use crate::domain::webhooks::{Next, Outcome, failing_too_long, next, signature_header};
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::{
    Condition, Email, Index, Item, Query, SortKey, TableError, WebhookClient, WorkQueue,
};

/// How long a sender holds a claimed delivery: beyond the client's timeout.
pub const LEASE_SECONDS: i64 = 120;

/// What one run of the sender did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub delivered: u64,
    pub retrying: u64,
    pub failed: u64,
    /// Not sent: the endpoint was disabled or deleted.
    pub withheld: u64,
    /// Endpoints this run disabled (410, or failing for three days).
    pub disabled: u64,
}

/// A due delivery, as the schedule hands it to a worker (an SQS message on Lambda).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueRef {
    pub tenant_id: String,
    pub endpoint_id: String,
    pub msg_id: String,
}

/// Up to `max` deliveries due now, soonest first.
pub async fn due(svc: &Services, max: usize) -> Result<Vec<DueRef>> {
    let now = svc.clock.now();
    let page = svc
        .table
        .query(
            Query::index(Index::Gsi1, keys::WEBHOOKS_DUE)
                .sk(SortKey::UpTo(format!(
                    "{}~",
                    now.format("%Y-%m-%dT%H:%M:%S%.6fZ")
                )))
                .limit(max),
        )
        .await?;
    page.items
        .iter()
        .map(|item| {
            let d: Delivery = item.record()?;
            Ok(DueRef {
                tenant_id: d.tenant_id,
                endpoint_id: d.endpoint_id,
                msg_id: d.msg_id,
            })
        })
        .collect()
}

/// Sends up to `max` deliveries that are due, one after another (the local server's loop).
pub async fn run_due(svc: &Services, client: &dyn WebhookClient, max: usize) -> Result<Report> {
    let mut report = Report::default();
    for due in due(svc, max).await? {
        send_ref(svc, client, &due, &mut report).await?;
    }
    Ok(report)
}

/// Queues the due deliveries for the workers (the schedule's part on Lambda); returns how many.
/// A delivery queued twice (the schedule comes round before a worker took it) is sent once: the
/// second worker finds it claimed or done.
pub async fn enqueue_due(svc: &Services, queue: &dyn WorkQueue, max: usize) -> Result<usize> {
    let due = due(svc, max).await?;
    let messages: Vec<String> = due
        .iter()
        .map(|d| serde_json::to_string(d).unwrap_or_default())
        .collect();
    queue
        .enqueue(&messages)
        .await
        .map_err(|e| Error::Unavailable("webhook queue", Box::new(e)))?;
    Ok(messages.len())
}

/// Sends one delivery by its reference, if it is still due (a worker's part).
pub async fn send_ref(
    svc: &Services,
    client: &dyn WebhookClient,
    due: &DueRef,
    report: &mut Report,
) -> Result<()> {
    for id in [&due.tenant_id, &due.endpoint_id, &due.msg_id] {
        crate::domain::input::id("message", id)?;
    }
    let key = keys::webhook_delivery(&due.tenant_id, &due.endpoint_id, &due.msg_id);
    match svc.table.get(&key).await? {
        Some(item) => send_one(svc, client, &item, report).await,
        None => Ok(()),
    }
}

/// Claims, sends and records one delivery (if it is still due).
pub async fn send_one(
    svc: &Services,
    client: &dyn WebhookClient,
    item: &Item,
    report: &mut Report,
) -> Result<()> {
    let (mut d, version, expires) = deliveries::from_item(item)?;
    let now = svc.clock.now();
    if d.status != Status::Pending || d.next_attempt_at.is_none_or(|due| due > now) {
        return Ok(());
    }
    let expires = DateTime::from_timestamp(expires, 0).unwrap_or(now + Duration::days(30));
    // The claim.
    d.next_attempt_at = Some(now + Duration::seconds(LEASE_SECONDS));
    let claimed = version + 1;
    match svc
        .table
        .put(d.item(claimed, expires)?, Condition::VersionIs(version))
        .await
    {
        Ok(()) => {}
        Err(TableError::ConditionFailed(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    let table = svc.table.as_ref();
    let endpoint = match endpoints::get(table, &d.tenant_id, &d.endpoint_id).await {
        Ok(e) if e.spec.enabled => e,
        Ok(_) | Err(Error::NotFound(_)) => {
            d.status = Status::Withheld;
            d.next_attempt_at = None;
            report.withheld += 1;
            return store(svc, &d, claimed, expires).await;
        }
        Err(e) => return Err(e),
    };
    let (state, _) = endpoints::state(table, &d.tenant_id, &d.endpoint_id).await?;
    let timestamp = now.timestamp();
    let body = d.payload.as_bytes();
    let headers = vec![
        ("webhook-id".to_owned(), d.msg_id.clone()),
        ("webhook-timestamp".to_owned(), timestamp.to_string()),
        (
            "webhook-signature".to_owned(),
            signature_header(&state.signing_keys(now), &d.msg_id, timestamp, body),
        ),
    ];
    let sent = client.post(&endpoint.spec.url, &headers, body).await;
    let (outcome, attempt) = match sent {
        Ok(answer) => (
            Outcome::Status(answer.status),
            Attempt {
                at: now,
                status_code: Some(answer.status),
                error: None,
                latency_ms: answer.latency.as_millis() as u64,
                response_excerpt: Some(answer.excerpt).filter(|e| !e.is_empty()),
            },
        ),
        Err(failure) => (
            Outcome::NoAnswer,
            Attempt {
                at: now,
                status_code: None,
                error: Some(failure.reason),
                latency_ms: failure.latency.as_millis() as u64,
                response_excerpt: None,
            },
        ),
    };
    tracing::info!(
        msg_id = %d.msg_id, endpoint_id = %d.endpoint_id, status = ?attempt.status_code,
        latency_ms = attempt.latency_ms, "webhook attempt"
    );
    d.record_attempt(attempt);
    d.tries += 1;
    let first = *d.first_attempt_at.get_or_insert(now);
    let decided = next(outcome, d.tries, first, now, jitter(svc));
    let mut disable = None;
    match decided {
        Next::Done => {
            d.status = Status::Delivered;
            d.next_attempt_at = None;
            report.delivered += 1;
        }
        Next::Retry(at) => {
            d.next_attempt_at = Some(at);
            report.retrying += 1;
        }
        Next::GiveUp => {
            d.status = Status::Failed;
            d.next_attempt_at = None;
            report.failed += 1;
        }
        Next::Disable => {
            d.status = Status::Failed;
            d.next_attempt_at = None;
            report.failed += 1;
            disable = Some("the endpoint answered 410 Gone".to_owned());
        }
    }
    store(svc, &d, claimed, expires).await?;
    let streak = failure_streak(svc, &d, decided == Next::Done, now).await?;
    if disable.is_none() && decided != Next::Done && failing_too_long(streak, now) {
        disable = Some(format!(
            "every delivery has failed since {}",
            streak.map(|s| s.to_rfc3339()).unwrap_or_default()
        ));
    }
    if let Some(reason) = disable
        && endpoints::disable(svc, &d.tenant_id, &d.endpoint_id, &reason).await?
    {
        report.disabled += 1;
        tracing::warn!(endpoint_id = %d.endpoint_id, %reason, "webhook endpoint disabled");
        tell_tenant(svc, &d.tenant_id, &endpoint.spec.url, &reason).await;
    }
    Ok(())
}

async fn store(svc: &Services, d: &Delivery, claimed: u64, expires: DateTime<Utc>) -> Result<()> {
    match svc
        .table
        .put(d.item(claimed + 1, expires)?, Condition::VersionIs(claimed))
        .await
    {
        // A replay moved it meanwhile: the replay's state stands (it is sent again).
        Ok(()) | Err(TableError::ConditionFailed(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Keeps the endpoint's failure streak: cleared by a delivery, started by the first failure;
/// returns its start.
async fn failure_streak(
    svc: &Services,
    d: &Delivery,
    delivered: bool,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let table = svc.table.as_ref();
    for _ in 0..5 {
        let (mut state, version) = match endpoints::state(table, &d.tenant_id, &d.endpoint_id).await
        {
            Ok(s) => s,
            Err(Error::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let want = if delivered {
            None
        } else {
            Some(state.failing_since.unwrap_or(now))
        };
        if want == state.failing_since {
            return Ok(want);
        }
        state.failing_since = want;
        match endpoints::put_state(table, &d.tenant_id, &d.endpoint_id, &state, version).await {
            Ok(()) => return Ok(want),
            Err(TableError::ConditionFailed(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

/// A number in [0, 1) from the injected generator.
fn jitter(svc: &Services) -> f64 {
    let mut bytes = [0u8; 4];
    svc.ids.fill(&mut bytes);
    f64::from(u32::from_le_bytes(bytes)) / 4_294_967_296.0
}

/// E-mails the tenant's alert recipients that an endpoint was disabled. A failure is logged:
/// the endpoint's `disabled_reason` says it too.
async fn tell_tenant(svc: &Services, tenant_id: &str, url: &str, reason: &str) {
    let tenant = match crate::records::tenants::get(svc.table.as_ref(), tenant_id).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "the tenant of a disabled webhook could not be read");
            return;
        }
    };
    if tenant.spec.alert_recipients.is_empty() {
        return;
    }
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let text = format!(
        "clientwatch stopped sending webhooks to your endpoint at {host}: {reason}.\n\n\
         Events are still recorded for it. Fix the endpoint, enable it again \
         (PATCH /v1/webhooks/{{id}} with {{\"enabled\": true}}) and replay what it missed \
         (POST /v1/webhooks/{{id}}/replay)."
    );
    let email = Email {
        to: tenant.spec.alert_recipients.clone(),
        reply_to: None,
        subject: "Webhook endpoint disabled".into(),
        html: format!(
            "<p>{}</p>",
            crate::render::html::escape(&text).replace("\n\n", "</p><p>")
        ),
        text,
        tags: vec![
            (crate::ports::mailer::TAG_TENANT, tenant.id.clone()),
            (crate::ports::mailer::TAG_KIND, "webhook-disabled".into()),
        ],
    };
    if let Err(e) = svc.mailer.send(&email).await {
        tracing::warn!(error = %e, "the notice of a disabled webhook was not sent");
    }
}
