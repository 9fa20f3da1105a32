//! The digest: once a run's parts are done, each tenant with hits due gets one e-mail listing
//! them by client, and one `MonitoringHit` event per sent hit.
//!
//! Each outward effect is recorded before it is handed over and marked done right after, so
//! the only moment a kill leaves its fate unknown is the provider call itself. A tenant has one
//! digest checkpoint (`T#{t}` / `DIGEST`), written under its version:
//!
//! 1. The hits due by the run day and found by now are counted and the e-mail rendered; then
//!    the checkpoint records the digest (`mailing`: its day, its cut-off time, its totals, one
//!    more mail attempt) and only then is the e-mail handed to the mailer.
//! 2. The e-mail's message id is recorded (`mailed`).
//! 3. The carried hits' events are published a page (500) at a time; each page's queue entries
//!    are then removed durably (`Table::sync`), so a later kill cannot bring them back.
//! 4. The checkpoint says `done`.
//!
//! A run that finds the checkpoint unfinished finishes that digest first, whatever its day,
//! before it starts a new one: so a digest whose e-mail went out always removes its hits from
//! the queue before the next digest counts, and no hit is listed (or billed in an e-mail) by
//! two digests. The unknown windows, and what a rerun does in them: killed inside the mailer
//! call (`mailing` with an attempt recorded), the e-mail is sent again, saying it is a repeat
//! and that nothing is billed twice (at least once, counted and reported); killed between
//! publishing a page of events and removing it, that page is published again (at least once;
//! each event carries the hit's stable `id` for de-duplication).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::facts::FactKind;
use super::hits::Hit;
use super::severity::severity;
use crate::Services;
use crate::domain::clients::Client;
use crate::domain::monitoring::HitChange;
use crate::domain::tenants::Tenant;
use crate::domain::{Decimal2, Error, Result};
use crate::keys;
use crate::ports::mailer::{TAG_KIND, TAG_TENANT};
use crate::ports::{Condition, DomainEvent, Email, Item, Key, Query, SortKey};
use crate::records::{suppressions, tenants};
use crate::render::mail;

pub const HIT_EVENT: &str = "MonitoringHit";

/// The most hits one digest e-mail lists; the rest are counted, and all are in the API.
pub const MAX_LISTED: usize = 500;

/// Where a tenant's latest digest stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Stage {
    /// Recorded; the e-mail is being handed to the mailer (or was, when a run was killed).
    Mailing,
    /// The e-mail went out (or there was nobody to send it to); events and queue removal next.
    Mailed,
    /// Events published and the carried hits gone from the queue.
    Done,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Checkpoint {
    /// The run day of the digest: it carries the hits due by then...
    day: NaiveDate,
    /// ...and found up to this time.
    cutoff: DateTime<Utc>,
    /// Billed and withheld hits it carries, with what they cost.
    hits: usize,
    withheld: usize,
    net: Decimal2,
    gst: Decimal2,
    stage: Stage,
    /// How often the e-mail was handed to the mailer: more than once means a send was cut off
    /// (its fate unknown) and made again.
    #[serde(default)]
    mail_attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message_id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TenantDigest {
    pub tenant_id: String,
    pub hits: usize,
    pub withheld: usize,
    /// The provider's message id, when an e-mail went out.
    pub message_id: Option<String>,
    /// Why no e-mail went out, when none did, and what the run found left by an earlier one.
    pub note: Option<String>,
    /// E-mails this run sent again because an earlier send was cut off (fate unknown).
    pub resent: usize,
}

impl TenantDigest {
    fn say(&mut self, note: impl Into<String>) {
        let note = note.into();
        self.note = Some(match self.note.take() {
            Some(before) => format!("{before}; {note}"),
            None => note,
        });
    }
}

/// Digests every tenant with hits due on or before `day`.
pub async fn run(svc: &Services, day: NaiveDate) -> Result<Vec<TenantDigest>> {
    let mut out = Vec::new();
    for (tenant_id, markers) in due(svc, day).await? {
        out.push(run_tenant(svc, day, &tenant_id, &markers).await?);
    }
    Ok(out)
}

/// The tenants with a digest due on day D (or left from an earlier day), each with the sort
/// keys of its markers: what the daily run hands out, a tenant a worker, on Lambda.
pub async fn due(svc: &Services, day: NaiveDate) -> Result<BTreeMap<String, Vec<String>>> {
    let through = SortKey::UpTo(format!("{day}#\u{7f}"));
    let markers = svc
        .table
        .query_all(Query::partition(keys::DIGEST_MARKERS).sk(through))
        .await?;
    let mut tenants: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in markers {
        if let Some((_, tenant)) = m.key.sk.split_once('#') {
            tenants
                .entry(tenant.to_owned())
                .or_default()
                .push(m.key.sk.clone());
        }
    }
    Ok(tenants)
}

/// One tenant's digest of day D, then its markers (`markers`, sort keys from [`due`]) removed
/// when nothing of the day is left in its queue. Two at once, or one again, send the e-mail and
/// its events once (the tenant's checkpoint).
pub async fn run_tenant(
    svc: &Services,
    day: NaiveDate,
    tenant_id: &str,
    markers: &[String],
) -> Result<TenantDigest> {
    let digest = tenant_digest(svc, tenant_id, day).await?;
    // Hits found after the digest's cut-off stay queued, and so does their marker.
    let left = svc
        .table
        .query(
            Query::partition(crate::keys::digest_queue_pk(tenant_id))
                .sk(SortKey::UpTo(format!("{day}#\u{7f}")))
                .limit(1),
        )
        .await?
        .items;
    if left.is_empty() {
        let mine = format!("#{tenant_id}");
        for sk in markers.iter().filter(|sk| sk.ends_with(&mine)) {
            let key = Key::new(keys::DIGEST_MARKERS, sk.as_str());
            svc.table.delete(&key, Condition::None).await?;
        }
    }
    Ok(digest)
}

/// Hits read from the queue at a time: memory stays flat however many hits a day brings.
const PAGE: usize = 500;

fn queue(tenant_id: &str, day: NaiveDate) -> Query {
    Query::partition(crate::keys::digest_queue_pk(tenant_id))
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
    /// Billed hits and their net price per kind.
    pub by_kind: BTreeMap<FactKind, (usize, Decimal2)>,
}

/// What the digest reads of every queued hit: when it was found, whether it is billed, and what
/// it costs. The whole hit is decoded only for the hits the e-mail lists; an event carries the
/// stored hit as it is.
#[derive(Deserialize)]
struct Queued {
    kind: FactKind,
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
    let key = keys::digest(tenant_id);
    let mut version = None;
    if let Some(item) = svc.table.get(&key).await? {
        let checkpoint: Checkpoint = item.record()?;
        version = Some(item.version);
        if checkpoint.stage != Stage::Done {
            let earlier = checkpoint.day;
            let stage = checkpoint.stage;
            // Finished from where it stands, whatever its day.
            let (finished, v) = mail_and_finish(
                svc,
                tenant_id,
                checkpoint,
                Some(item.version),
                None,
                &mut result,
            )
            .await?;
            version = Some(v);
            if earlier == day {
                result.say(match stage {
                    Stage::Mailing => {
                        "this digest was interrupted while its e-mail was being sent; finished now"
                    }
                    _ => "this digest's e-mail had gone out; its events and queue finished now",
                });
                return Ok(outcome(result, &finished));
            }
            result.say(format!(
                "the digest of {earlier} was left unfinished and was finished first"
            ));
        } else if checkpoint.day == day {
            result.say("already sent; nothing sent again");
            return Ok(outcome(result, &checkpoint));
        }
    }
    // A new digest: everything due by `day` and found by now.
    let cutoff = svc.clock.now();
    let (totals, listed) = count(svc, tenant_id, day, cutoff).await?;
    if totals.billed + totals.withheld == 0 {
        result.say("nothing due");
        return Ok(result);
    }
    let checkpoint = Checkpoint {
        day,
        cutoff,
        hits: totals.billed,
        withheld: totals.withheld,
        net: totals.net,
        gst: totals.gst,
        stage: Stage::Mailing,
        mail_attempts: 0,
        message_id: None,
    };
    let (finished, _) = mail_and_finish(
        svc,
        tenant_id,
        checkpoint,
        version,
        Some((totals, listed)),
        &mut result,
    )
    .await?;
    Ok(outcome(result, &finished))
}

fn outcome(mut result: TenantDigest, checkpoint: &Checkpoint) -> TenantDigest {
    result.hits = checkpoint.hits;
    result.withheld = checkpoint.withheld;
    result.message_id = checkpoint.message_id.clone();
    result
}

/// The totals of the hits due by `day` and found by `cutoff`, and the first of them for the
/// e-mail.
async fn count(
    svc: &Services,
    tenant_id: &str,
    day: NaiveDate,
    cutoff: DateTime<Utc>,
) -> Result<(Totals, Vec<Hit>)> {
    let mut totals = Totals::default();
    let mut listed: Vec<Hit> = Vec::new();
    pages(svc, tenant_id, day, cutoff, async |entries| {
        for (item, q) in entries {
            if q.billed {
                totals.billed += 1;
                totals.net.0 += q.price.0;
                totals.gst.0 += q.gst.0;
                let kind = totals.by_kind.entry(q.kind).or_default();
                kind.0 += 1;
                kind.1.0 += q.price.0;
                listed.push(item.record()?);
                // The most severe hits are the ones listed: memory stays within twice the
                // limit however many are due.
                if listed.len() >= 2 * MAX_LISTED {
                    most_severe(&mut listed);
                }
            } else {
                totals.withheld += 1;
            }
        }
        Ok(())
    })
    .await?;
    most_severe(&mut listed);
    Ok((totals, listed))
}

fn rank(h: &Hit) -> u8 {
    severity(h.kind, h.change.as_ref())
}

/// Keeps the [`MAX_LISTED`] most severe hits (then in queue order, which is by client).
fn most_severe(listed: &mut Vec<Hit>) {
    if listed.len() > MAX_LISTED {
        listed.sort_by_key(rank);
        listed.truncate(MAX_LISTED);
    }
}

/// Writes the checkpoint under `version` (none: absent); the new version. Two digest runs of
/// one tenant at once meet here: the one that loses stops.
async fn save(
    svc: &Services,
    tenant_id: &str,
    checkpoint: &Checkpoint,
    version: Option<u64>,
) -> Result<u64> {
    let next = version.map_or(1, |v| v + 1);
    let item = Item::from_record(keys::digest(tenant_id), checkpoint)?.with_version(next);
    let condition = version.map_or(Condition::Absent, Condition::VersionIs);
    match svc.table.put(item, condition).await {
        Ok(()) => Ok(next),
        Err(crate::ports::TableError::ConditionFailed(_)) => Err(Error::Conflict(
            "another digest run of this tenant moved its digest on; it finishes it".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Takes a digest from `mailing` (or later) to `done`: the e-mail (with its attempt recorded
/// first), then the events and the queue. `counted` is the totals and listed hits when the
/// caller has just counted them.
async fn mail_and_finish(
    svc: &Services,
    tenant_id: &str,
    mut checkpoint: Checkpoint,
    mut version: Option<u64>,
    counted: Option<(Totals, Vec<Hit>)>,
    result: &mut TenantDigest,
) -> Result<(Checkpoint, u64)> {
    if checkpoint.stage == Stage::Mailing {
        let (totals, listed) = match counted {
            Some(c) => c,
            None => {
                let (recounted, listed) =
                    count(svc, tenant_id, checkpoint.day, checkpoint.cutoff).await?;
                let totals = Totals {
                    billed: checkpoint.hits,
                    withheld: checkpoint.withheld,
                    net: checkpoint.net,
                    gst: checkpoint.gst,
                    by_kind: recounted.by_kind,
                };
                (totals, listed)
            }
        };
        let repeat = checkpoint.mail_attempts > 0;
        let tenant = tenants::get(svc.table.as_ref(), tenant_id).await?;
        // Alert recipients whose address bounced for good or complained are left out and
        // named; the suppressions are listed by the API (`GET /v1/suppressions`).
        let all: Vec<&crate::domain::EmailAddress> = tenant.spec.alert_recipients.iter().collect();
        let suppressed = suppressions::of(svc.table.as_ref(), tenant_id, &all).await?;
        for s in suppressed.values() {
            result.say(format!("not e-mailed to {}", s.why()));
        }
        let mut tenant = tenant;
        tenant
            .spec
            .alert_recipients
            .retain(|a| !suppressed.contains_key(&a.as_str().to_lowercase()));
        let email = if tenant.spec.alert_recipients.is_empty() {
            result.say(if suppressed.is_empty() {
                "the tenant has no alert recipients"
            } else {
                "every alert recipient's address is suppressed"
            });
            None
        } else {
            let listed: Vec<&Hit> = listed.iter().collect();
            let clients = clients_of(svc, tenant_id, &listed).await?;
            Some(render(
                &tenant,
                checkpoint.day,
                &listed,
                &totals,
                &clients,
                repeat,
            ))
        };
        if let Some(email) = email {
            // The intent, durable before the call: a kill inside the call is then known.
            checkpoint.mail_attempts += 1;
            version = Some(save(svc, tenant_id, &checkpoint, version).await?);
            let id = svc
                .mailer
                .send(&email)
                .await
                .map_err(|e| Error::Unavailable("mailer", Box::new(e)))?;
            checkpoint.message_id = Some(id);
            if repeat {
                result.resent += 1;
                result.say(
                    "an earlier run was cut off while sending the e-mail (it may have gone out): sent again, marked as a repeat",
                );
            }
        }
        checkpoint.stage = Stage::Mailed;
        version = Some(save(svc, tenant_id, &checkpoint, version).await?);
    }
    if checkpoint.stage == Stage::Mailed {
        publish_and_dequeue(svc, tenant_id, &checkpoint).await?;
        checkpoint.stage = Stage::Done;
        version = Some(save(svc, tenant_id, &checkpoint, version).await?);
    }
    Ok((checkpoint, version.unwrap_or_default()))
}

/// The line a repeated digest e-mail opens with.
pub const REPEAT_NOTE: &str = "This digest is sent again because sending it before was cut off: it may reach you twice. The hits and the billing are the same; nothing is billed twice.";

/// An event per billed hit the digest carries, then the page's queue entries removed and made
/// durable before the next page: a kill between the two publishes that one page again.
async fn publish_and_dequeue(
    svc: &Services,
    tenant_id: &str,
    checkpoint: &Checkpoint,
) -> Result<()> {
    let day = checkpoint.day;
    pages(svc, tenant_id, day, checkpoint.cutoff, async |entries| {
        let now = svc.clock.now();
        let mut events = Vec::with_capacity(entries.len());
        let mut keys = Vec::with_capacity(entries.len());
        for (item, q) in entries {
            keys.push(item.key);
            if q.billed {
                let mut detail = item.data;
                detail.insert("tenant_id".into(), json!(tenant_id));
                events.push(DomainEvent::new(HIT_EVENT, Value::Object(detail), now).on_day(day));
            }
        }
        svc.events
            .publish(&events)
            .await
            .map_err(|e| Error::Unavailable("event bus", Box::new(e)))?;
        svc.table.batch_delete(keys).await?;
        svc.table.sync().await?;
        Ok(())
    })
    .await
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
        let keys: Vec<Key> = chunk.iter().map(|c| keys::client(tenant_id, c)).collect();
        for item in svc.table.batch_get(&keys).await?.into_iter().flatten() {
            let client: Client = crate::records::resource::from_item(&item)?;
            out.insert(client.id.clone(), client);
        }
    }
    Ok(out)
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

/// The digest e-mail: a summary per kind, then the clients ordered by their most severe hit
/// (see `severity`), each named once with its references, its bureau subject and (when the
/// tenant set a client link) a link, and its hits, most severe first, old → new where known;
/// what they cost and what the cap withheld; `repeat` when it is sent again after a send was
/// cut off.
pub fn render(
    tenant: &Tenant,
    day: NaiveDate,
    listed: &[&Hit],
    totals: &Totals,
    clients: &BTreeMap<String, Client>,
    repeat: bool,
) -> Email {
    let s = &tenant.spec;
    let mut groups: BTreeMap<(&str, &str), Vec<&Hit>> = BTreeMap::new();
    for h in listed {
        groups
            .entry((h.client_id.as_str(), h.subject.as_str()))
            .or_default()
            .push(h);
    }
    let mut ordered: Vec<(u8, String, mail::DigestClient)> = groups
        .into_iter()
        .map(|((client_id, subject), mut hits)| {
            hits.sort_by(|a, b| (rank(a), &a.summary).cmp(&(rank(b), &b.summary)));
            let client = clients.get(client_id);
            let (name, reference) = client_heading(client_id, client);
            let external_ref = client
                .and_then(|c| c.spec.external_refs.values().next().cloned())
                .unwrap_or_default();
            let link = s.monitoring.client_link(|tag| match tag {
                "client_id" => client_id.to_owned(),
                "subject" => subject.to_owned(),
                "external_ref" => external_ref.clone(),
                _ => String::new(),
            });
            let first = rank(hits[0]);
            let digest_client = mail::DigestClient {
                name: name.clone(),
                reference,
                subject: &hits[0].subject,
                subject_name: &hits[0].subject_name,
                link,
                hits: hits
                    .iter()
                    .map(|h| mail::DigestHit {
                        kind: h.kind.label(),
                        tone: match rank(h) {
                            0..=2 => 0,
                            3 | 4 => 1,
                            _ => 2,
                        },
                        summary: &h.summary,
                        // A value's, a score's and a period's summary already reads old → new.
                        change: h
                            .change
                            .as_ref()
                            .filter(|c| {
                                matches!(c, HitChange::Address { .. } | HitChange::Adverse { .. })
                            })
                            .map(mail::change_text),
                    })
                    .collect(),
            };
            (first, name, digest_client)
        })
        .collect();
    ordered.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let mut summary: Vec<(u8, mail::KindLine)> = totals
        .by_kind
        .iter()
        .map(|(kind, (hits, net))| {
            (
                severity(*kind, None),
                mail::KindLine {
                    label: kind.label(),
                    hits: *hits,
                    net: *net,
                },
            )
        })
        .collect();
    summary.sort_by_key(|(rank, _)| *rank);
    let mail = mail::digest(&mail::Digest {
        tenant: &s.name,
        day,
        summary: summary.into_iter().map(|(_, line)| line).collect(),
        clients: ordered.into_iter().map(|(_, _, c)| c).collect(),
        billed: totals.billed,
        withheld: totals.withheld,
        monthly_cap: s.monitoring.monthly_cap.unwrap_or_default(),
        currency: &s.currency,
        gst_rate_percent: s.gst_rate_percent,
        net: totals.net,
        gst: totals.gst,
        repeat_note: repeat.then_some(REPEAT_NOTE),
    });
    Email {
        to: s.alert_recipients.clone(),
        reply_to: None,
        subject: mail.subject,
        html: mail.html,
        text: mail.text,
        tags: vec![(TAG_TENANT, tenant.id.clone()), (TAG_KIND, "digest".into())],
    }
}
