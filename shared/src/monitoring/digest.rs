//! The digest: once a run's parts are done, each tenant with hits due gets one e-mail listing
//! them by client, and one `MonitoringHit` event per sent hit.
//!
//! A checkpoint per tenant and day (`T#{t}#DIGEST#{day}` / `DIGEST`) fixes, before anything is
//! sent, which hits the digest carries (those found up to its cut-off time), and is marked sent
//! after; those hits are then removed from the queue. A digest run again after it was sent
//! sends nothing; hits found after the cut-off wait for the next day's digest. If a run dies
//! between sending and marking, the next attempt sends the same digest again (at least once,
//! never lost). The e-mail lists at most `MAX_LISTED` hits, and says how many more there are.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::hits::{self, Hit, MARKERS};
use crate::Services;
use crate::domain::clients::{self, Client};
use crate::domain::tenants::{self, Tenant};
use crate::domain::{Decimal2, Error, Result};
use crate::ports::{Condition, DomainEvent, Email, Item, Key, Query, SortKey};

pub const HIT_EVENT: &str = "MonitoringHit";

/// The most hits one digest e-mail lists; the rest are counted, and all are in the API.
pub const MAX_LISTED: usize = 500;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Checkpoint {
    /// The digest carries the hits found up to this time.
    cutoff: DateTime<Utc>,
    /// Billed and withheld hits it carries.
    hits: usize,
    withheld: usize,
    /// The e-mail went out (or there was nobody to send it to).
    mailed: bool,
    /// Events published and the queue emptied: the digest is done.
    sent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message_id: Option<String>,
}

fn checkpoint_key(tenant_id: &str, day: NaiveDate) -> Key {
    Key::new(format!("T#{tenant_id}#DIGEST#{day}"), "DIGEST")
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TenantDigest {
    pub tenant_id: String,
    pub hits: usize,
    pub withheld: usize,
    /// The provider's message id, when an e-mail went out.
    pub message_id: Option<String>,
    /// Why no e-mail went out, when none did.
    pub note: Option<String>,
}

/// Digests every tenant with hits due on or before `day`.
pub async fn run(svc: &Services, day: NaiveDate) -> Result<Vec<TenantDigest>> {
    let through = SortKey::UpTo(format!("{day}#\u{7f}"));
    let markers = svc
        .table
        .query_all(Query::partition(MARKERS).sk(through.clone()))
        .await?;
    let mut tenants: BTreeMap<String, Vec<Key>> = BTreeMap::new();
    for m in markers {
        if let Some((_, tenant)) = m.key.sk.split_once('#') {
            tenants
                .entry(tenant.to_owned())
                .or_default()
                .push(m.key.clone());
        }
    }
    let mut out = Vec::new();
    for (tenant_id, markers) in tenants {
        let digest = tenant_digest(svc, &tenant_id, day).await?;
        // Hits found after the digest's cut-off stay queued, and so does their marker.
        let left = svc
            .table
            .query(
                Query::partition(hits::queue_pk(&tenant_id))
                    .sk(through.clone())
                    .limit(1),
            )
            .await?
            .items;
        if left.is_empty() {
            for key in markers {
                svc.table.delete(&key, Condition::None).await?;
            }
        }
        out.push(digest);
    }
    Ok(out)
}

/// Hits read from the queue at a time: memory stays flat however many hits a day brings.
const PAGE: usize = 500;

fn queue(tenant_id: &str, day: NaiveDate) -> Query {
    Query::partition(hits::queue_pk(tenant_id))
        .sk(SortKey::UpTo(format!("{day}#\u{7f}")))
        .limit(PAGE)
}

/// The billing totals of a digest and the hits its e-mail lists.
#[derive(Default)]
pub struct Totals {
    pub billed: usize,
    pub withheld: usize,
    pub net: Decimal2,
    pub gst: Decimal2,
}

/// What the digest reads of every queued hit: when it was found, whether it is billed, and what
/// it costs. The whole hit is decoded only for the hits the e-mail lists; an event carries the
/// stored hit as it is.
#[derive(Deserialize)]
struct Queued {
    found_at: DateTime<Utc>,
    billed: bool,
    price: Decimal2,
    gst: Decimal2,
}

/// Calls `each` with every page of the tenant's queued hits due by `day` and found by
/// `cutoff`. The next page is read while `each` works on one (its range starts after the page,
/// so what `each` removes does not move it).
async fn pages(
    svc: &Services,
    tenant_id: &str,
    day: NaiveDate,
    cutoff: DateTime<Utc>,
    mut each: impl AsyncFnMut(Vec<(Item, Queued)>) -> Result<()>,
) -> Result<()> {
    let mut next = Some(svc.table.query(queue(tenant_id, day)).await?);
    while let Some(page) = next.take() {
        let mut entries = Vec::with_capacity(page.items.len());
        for item in page.items {
            let queued: Queued = item.record()?;
            if queued.found_at <= cutoff {
                entries.push((item, queued));
            }
        }
        let following = async {
            match page.next {
                Some(cursor) => {
                    let query = queue(tenant_id, day).after(Some(cursor));
                    svc.table.query(query).await.map(Some)
                }
                None => Ok(None),
            }
        };
        let work = async {
            if entries.is_empty() {
                Ok(())
            } else {
                each(entries).await
            }
        };
        let (following, worked) = futures::join!(following, work);
        worked?;
        next = following?;
    }
    Ok(())
}

async fn tenant_digest(svc: &Services, tenant_id: &str, day: NaiveDate) -> Result<TenantDigest> {
    let mut result = TenantDigest {
        tenant_id: tenant_id.to_owned(),
        ..TenantDigest::default()
    };
    let ck_key = checkpoint_key(tenant_id, day);
    let existing: Option<Checkpoint> = match svc.table.get(&ck_key).await? {
        Some(item) => Some(item.record()?),
        None => None,
    };
    let mut checkpoint = existing.clone().unwrap_or(Checkpoint {
        cutoff: svc.clock.now(),
        hits: 0,
        withheld: 0,
        mailed: false,
        sent: false,
        message_id: None,
    });
    if !checkpoint.mailed {
        // Pass one: the totals, and the first hits for the e-mail.
        let mut totals = Totals::default();
        let mut listed: Vec<Hit> = Vec::new();
        pages(svc, tenant_id, day, checkpoint.cutoff, async |entries| {
            for (item, q) in entries {
                if q.billed {
                    totals.billed += 1;
                    totals.net.0 += q.price.0;
                    totals.gst.0 += q.gst.0;
                    if listed.len() < MAX_LISTED {
                        listed.push(item.record()?);
                    }
                } else {
                    totals.withheld += 1;
                }
            }
            Ok(())
        })
        .await?;
        if totals.billed + totals.withheld == 0 {
            result.note = Some("nothing due".into());
            return Ok(result);
        }
        checkpoint.hits = totals.billed;
        checkpoint.withheld = totals.withheld;
        svc.table
            .put(
                Item::from_record(ck_key.clone(), &checkpoint)?,
                Condition::None,
            )
            .await?;
        let tenant = tenants::get(svc, tenant_id).await?;
        let listed: Vec<&Hit> = listed.iter().collect();
        let clients = clients_of(svc, tenant_id, &listed).await?;
        if tenant.spec.alert_recipients.is_empty() {
            result.note = Some("the tenant has no alert recipients".into());
        } else {
            let email = render(&tenant, day, &listed, &totals, &clients);
            let id = svc
                .mailer
                .send(&email)
                .await
                .map_err(|e| Error::Unavailable("mailer", Box::new(e)))?;
            checkpoint.message_id = Some(id);
        }
        checkpoint.mailed = true;
        svc.table
            .put(
                Item::from_record(ck_key.clone(), &checkpoint)?,
                Condition::None,
            )
            .await?;
    }
    if !checkpoint.sent {
        // Pass two: an event per billed hit, and the queue emptied of what the digest carried.
        pages(svc, tenant_id, day, checkpoint.cutoff, async |entries| {
            let now = svc.clock.now();
            let mut events = Vec::with_capacity(entries.len());
            let mut keys = Vec::with_capacity(entries.len());
            for (item, q) in entries {
                keys.push(item.key);
                if q.billed {
                    let mut detail = item.data;
                    detail.insert("tenant_id".into(), json!(tenant_id));
                    events.push(DomainEvent::new(HIT_EVENT, Value::Object(detail), now));
                }
            }
            svc.events
                .publish(&events)
                .await
                .map_err(|e| Error::Unavailable("event bus", Box::new(e)))?;
            // Carried: gone from the queue in one batch (a rerun would publish the page's
            // events again, never lose them).
            svc.table.batch_delete(keys).await?;
            Ok(())
        })
        .await?;
        checkpoint.sent = true;
        svc.table
            .put(Item::from_record(ck_key, &checkpoint)?, Condition::None)
            .await?;
    }
    result.hits = checkpoint.hits;
    result.withheld = checkpoint.withheld;
    result.message_id = checkpoint.message_id.clone();
    Ok(result)
}

async fn clients_of(
    svc: &Services,
    tenant_id: &str,
    hits: &[&Hit],
) -> Result<BTreeMap<String, Client>> {
    let ids: Vec<String> = hits
        .iter()
        .map(|h| h.client_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(100) {
        let keys: Vec<Key> = chunk.iter().map(|c| clients::key(tenant_id, c)).collect();
        for item in svc.table.batch_get(&keys).await?.into_iter().flatten() {
            let client: Client = crate::domain::resource::from_item(&item)?;
            out.insert(client.id.clone(), client);
        }
    }
    Ok(out)
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The client's name and its partner references, as the digest shows them.
fn client_heading(client_id: &str, client: Option<&Client>) -> (String, String) {
    match client {
        Some(c) => {
            let refs = c
                .spec
                .external_refs
                .iter()
                .map(|(system, id)| format!("{system} {id}"))
                .collect::<Vec<_>>()
                .join(", ");
            let reference = if refs.is_empty() {
                format!("client {client_id}")
            } else {
                refs
            };
            (c.spec.identity.display_name(), reference)
        }
        None => (format!("client {client_id}"), "(deleted)".into()),
    }
}

/// The digest e-mail: hits grouped by client, with what they cost and what the cap withheld.
pub fn render(
    tenant: &Tenant,
    day: NaiveDate,
    listed: &[&Hit],
    totals: &Totals,
    clients: &BTreeMap<String, Client>,
) -> Email {
    let withheld = totals.withheld;
    let mut by_client: BTreeMap<(String, String), Vec<&Hit>> = BTreeMap::new();
    for h in listed {
        let (name, reference) = client_heading(&h.client_id, clients.get(&h.client_id));
        by_client.entry((name, reference)).or_default().push(h);
    }
    let s = &tenant.spec;
    let gst_each = hits::gst(s.price_per_hit, s.gst_rate_percent);
    let count = totals.billed as i64;
    let (net, gst) = (totals.net, totals.gst);
    let subject = format!(
        "clientwatch: {} new {} for {} on {day}",
        count,
        if count == 1 { "hit" } else { "hits" },
        s.name
    );
    let mut text = format!("Monitoring digest for {} — {day}\n\n", s.name);
    let mut html = format!(
        "<!doctype html><html lang=\"en\"><body style=\"font-family:sans-serif\">\
         <h1 style=\"font-size:1.3em\">Monitoring digest for {} — {day}</h1>",
        escape(&s.name)
    );
    for ((name, reference), hits) in &by_client {
        let _ = writeln!(text, "{name} ({reference})");
        let _ = write!(
            html,
            "<h2 style=\"font-size:1.1em\">{} <small>({})</small></h2><ul>",
            escape(name),
            escape(reference)
        );
        for h in hits {
            let _ = writeln!(
                text,
                "  - {}: {} [subject {} {}]",
                h.kind.label(),
                h.summary,
                h.subject,
                h.subject_name
            );
            let _ = write!(
                html,
                "<li><strong>{}</strong>: {} <small>(subject {} {})</small></li>",
                escape(h.kind.label()),
                escape(&h.summary),
                escape(&h.subject),
                escape(&h.subject_name)
            );
        }
        text.push('\n');
        html.push_str("</ul>");
    }
    let billing = format!(
        "{count} {} × {} {} + GST {}% ({} {} each) = {} {} ({} {} + GST {} {})",
        if count == 1 { "hit" } else { "hits" },
        s.currency,
        s.price_per_hit,
        s.gst_rate_percent,
        s.currency,
        gst_each,
        s.currency,
        Decimal2(net.0 + gst.0),
        s.currency,
        net,
        s.currency,
        gst
    );
    if totals.billed > listed.len() {
        let more = format!(
            "… and {} more hits, not listed here: every hit is in the partner API (GET /v1/hits).",
            totals.billed - listed.len()
        );
        let _ = writeln!(text, "{more}\n");
        let _ = write!(html, "<p>{}</p>", escape(&more));
    }
    let _ = writeln!(text, "Billed: {billing}");
    let _ = write!(html, "<p>Billed: {}</p>", escape(&billing));
    if withheld > 0 {
        let note = format!(
            "{withheld} more {} found but withheld, not billed: this month's cap of {} billed hits has been reached.",
            if withheld == 1 {
                "hit was"
            } else {
                "hits were"
            },
            s.monitoring.monthly_cap.unwrap_or_default()
        );
        let _ = writeln!(text, "\n{note}");
        let _ = write!(html, "<p><strong>{}</strong></p>", escape(&note));
    }
    html.push_str("</body></html>");
    Email {
        to: s.alert_recipients.clone(),
        reply_to: None,
        subject,
        html,
        text,
    }
}
