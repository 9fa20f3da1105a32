//! The bureau's view of a client: a profile per monitored subject (`S#{subject}` / `PROFILE`,
//! beside its watcher list), the bureau's record as the last run that saw the subject's line
//! change found it. The part worker writes it only for subjects it hands on (a changed line,
//! or one asked for because monitoring started since: the "wanted" list) that have watchers,
//! whose watcher lists it reads anyway; an unchanged subject costs no read.
//!
//! A subject's first profile is a baseline (kept, nothing told). After that, a subject's new
//! profile, the `ClientDataChanged` events of its watching clients (a difference with the
//! client record that the previous profile did not show) and, when the tenant lets the bureau
//! apply changes, the clients' new values and their history entries are one transaction; a
//! profile with nothing else to write goes in a batch write. So a run killed anywhere and run
//! again finds either nothing written (and does it all) or the profile already written (the
//! same record: nothing to do, no second event).

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::monitors::{Monitor, Watcher};
use super::run::baseline_entry;
use crate::Services;
use crate::domain::bureau::{self, BureauProfile, BureauScore, Difference, SubjectRecord};
use crate::domain::clients::Client;
use crate::domain::tenants::Tenant;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::table::MAX_TRANSACTION_OPS;
use crate::ports::{Blobs, Condition, DomainEvent, Item, Key, Query, Transaction, TxOp};
use crate::records::clients::{self, ClientChange};
use crate::records::outbox::{self, Staged};
use crate::records::resource;

/// The event of a client whose bureau record shows a new difference.
pub const CLIENT_DATA_CHANGED: &str = "ClientDataChanged";
/// Who the client's history says made an enrichment's changes.
pub const BY_BUREAU: &str = "bureau";
/// Times a subject's writes are tried when a client or the profile changed meanwhile.
const ATTEMPTS: usize = 3;

/// The profile as the API shows it: the bureau's record and where the client record differs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct View {
    pub client_id: String,
    #[serde(flatten)]
    pub profile: BureauProfile,
    pub differences: Vec<Difference>,
}

/// A profile as stored: the record without its score (kept in the baseline of `part`, where
/// the view reads it), and the feed part the subject was last handed on from. A profile
/// written by an earlier version has no part and its score in the record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    profile: BureauProfile,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    part: Option<String>,
}

/// A client's bureau profile with its differences; "not found" when the client is not the
/// tenant's, is not monitored, or no run has seen its subject since monitoring started. The
/// score is the one in the latest baseline of the subject's feed part (`baselines`: where the
/// runs keep them); without `baselines` a profile shows no score.
pub async fn get(
    svc: &Services,
    baselines: Option<&dyn Blobs>,
    tenant_id: &str,
    client_id: &str,
) -> Result<View> {
    let client = clients::get(svc.table.as_ref(), tenant_id, client_id).await?;
    let Some(monitor) = svc.table.get(&keys::monitor(tenant_id, client_id)).await? else {
        return Err(Error::NotFound("monitor"));
    };
    let monitor: Monitor = monitor.record()?;
    let Stored { mut profile, part } = match svc
        .table
        .get(&keys::bureau_profile(&monitor.subject))
        .await?
    {
        Some(item) => item.record::<Stored>()?,
        None => {
            return Err(Error::NotFound(
                "bureau profile (no daily run has read the client's bureau subject since its monitoring started)",
            ));
        }
    };
    if let Some(part) = part {
        profile.record.score = match baselines {
            Some(state) => baseline_entry(state, &part, &profile.subject)
                .await?
                .and_then(|(_, entry)| {
                    entry.score.map(|s| BureauScore {
                        value: s.value,
                        band: s.band,
                        date: entry.score_date,
                    })
                }),
            None => None,
        };
    }
    Ok(View {
        client_id: client.id,
        differences: bureau::differences(&profile.record, &client.spec),
        profile,
    })
}

/// Every subject asked for, sorted (read once per part run).
pub async fn wanted(svc: &Services) -> Result<Vec<String>> {
    let items = svc
        .table
        .query_all(Query::partition(keys::WANTED).limit(1000))
        .await?;
    let mut subjects: Vec<String> = items.into_iter().map(|i| i.key.sk).collect();
    subjects.sort();
    Ok(subjects)
}

/// Removes subjects from the wanted list once their profiles are written.
pub async fn done_wanting(
    svc: &Services,
    subjects: impl IntoIterator<Item = String>,
) -> Result<()> {
    let keys: Vec<Key> = subjects.into_iter().map(|s| keys::wanted(&s)).collect();
    if !keys.is_empty() {
        svc.table.batch_delete(keys).await?;
    }
    Ok(())
}

/// A subject the run handed on, with its watchers.
pub struct Seen {
    pub subject: String,
    /// The feed part the subject's line is in.
    pub part: String,
    pub record: SubjectRecord,
    pub watchers: Vec<Watcher>,
}

/// What the profile writes of a batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub profiles: u64,
    pub events: u64,
    pub applied: u64,
}

/// Writes the profiles of watched subjects the run of `day` handed on, with their clients'
/// events and enrichments: all subjects' transactions in one call, a refused one read and
/// done again on its own. `tenants` holds every watching tenant (`None`: gone).
pub async fn record(
    svc: &Services,
    day: NaiveDate,
    tenants: &HashMap<String, Option<Tenant>>,
    seen: Vec<Seen>,
) -> Result<Written> {
    let mut written = Written::default();
    if seen.is_empty() {
        return Ok(written);
    }
    // The subjects' profiles, then the watching clients of those whose compared fields
    // changed: a moved score, the usual change, needs no client, nor does a first profile (a
    // baseline: nothing in it is new).
    let profile_keys: Vec<Key> = seen
        .iter()
        .map(|s| keys::bureau_profile(&s.subject))
        .collect();
    let items = svc.table.batch_get(&profile_keys).await?;
    let mut found: HashMap<Key, Item> = profile_keys
        .into_iter()
        .zip(items)
        .filter_map(|(k, i)| Some((k, i?)))
        .collect();
    let mut client_keys = BTreeSet::new();
    for s in &seen {
        let Some(item) = found.get(&keys::bureau_profile(&s.subject)) else {
            continue;
        };
        let previous: Stored = item.record()?;
        if !bureau::compared_fields_changed(&previous.profile.record, &s.record) {
            continue;
        }
        for w in &s.watchers {
            client_keys.insert(keys::client(&w.tenant_id, &w.client_id));
        }
    }
    if !client_keys.is_empty() {
        let client_keys: Vec<Key> = client_keys.into_iter().collect();
        let items = svc.table.batch_get(&client_keys).await?;
        found.extend(
            client_keys
                .into_iter()
                .zip(items)
                .filter_map(|(k, i)| Some((k, i?))),
        );
    }
    let mut plans = Vec::new();
    for s in &seen {
        if let Some(plan) = plan(svc, day, tenants, s, &found)? {
            plans.push((s, plan));
        }
    }
    // A profile alone (no client with a new difference) goes in a batch write: the usual case,
    // a changed subject whose record still agrees with its clients'. The rest, each with its
    // events and client changes, as transactions in one call.
    let mut again = Vec::new();
    let mut alone = Vec::new();
    let mut transactions = Vec::new();
    let mut staged = Vec::new();
    for (s, plan) in plans {
        if plan.events.is_empty() && plan.applied == 0 {
            alone.push(plan.profile);
            written.profiles += 1;
            continue;
        }
        staged.push((s, plan.events, plan.applied));
        transactions.push(plan.tx.into_ops());
    }
    if !alone.is_empty() {
        svc.table.batch_put(alone).await?;
    }
    let results = if transactions.is_empty() {
        Vec::new()
    } else {
        svc.table.transact_each(transactions).await?
    };
    let mut to_publish = Vec::new();
    for ((s, events, applied), result) in staged.into_iter().zip(results) {
        match result {
            Ok(()) => {
                written.profiles += 1;
                written.events += events.len() as u64;
                written.applied += applied;
                to_publish.extend(events);
            }
            Err(_) => again.push(s),
        }
    }
    for s in again {
        let w = one(svc, day, tenants, s).await?;
        written.profiles += w.0.profiles;
        written.events += w.0.events;
        written.applied += w.0.applied;
        to_publish.extend(w.1);
    }
    // The profiles and their events' rows are durable before an event goes out: a run killed
    // after publishing must not find the profile unwritten and tell the difference again.
    if !to_publish.is_empty() {
        svc.table.sync().await?;
    }
    outbox::publish_all(svc, &to_publish).await;
    Ok(written)
}

/// A subject's writes on their own, read afresh, after its batched transaction was refused.
async fn one(
    svc: &Services,
    day: NaiveDate,
    tenants: &HashMap<String, Option<Tenant>>,
    s: &Seen,
) -> Result<(Written, Vec<Staged>)> {
    for _ in 0..ATTEMPTS {
        let mut keys = vec![keys::bureau_profile(&s.subject)];
        keys.extend(
            s.watchers
                .iter()
                .map(|w| keys::client(&w.tenant_id, &w.client_id)),
        );
        let items = svc.table.batch_get(&keys).await?;
        let found: HashMap<Key, Item> = keys
            .into_iter()
            .zip(items)
            .filter_map(|(k, i)| Some((k, i?)))
            .collect();
        let Some(plan) = plan(svc, day, tenants, s, &found)? else {
            return Ok((Written::default(), Vec::new()));
        };
        let (events, applied) = (plan.events, plan.applied);
        match plan.tx.try_commit(svc.table.as_ref()).await? {
            Ok(()) => {
                let written = Written {
                    profiles: 1,
                    events: events.len() as u64,
                    applied,
                };
                return Ok((written, events));
            }
            Err(()) => continue,
        }
    }
    Err(Error::Conflict(format!(
        "the bureau profile of subject {} or its clients kept changing; the part will be run again",
        s.subject
    )))
}

/// A subject's writes.
struct Plan {
    /// The profile alone, for a batch write when nothing else changes.
    profile: Item,
    /// The profile under its version, with the events and client changes.
    tx: Transaction<()>,
    events: Vec<Staged>,
    applied: u64,
}

/// What writing a subject's new record means, from what is stored (`found`): nothing when the
/// stored profile already says the same (a run repeated) or is of a later day (an earlier day
/// replayed late); the profile alone when it is the first; otherwise the profile and, per
/// watching client with a new difference, its event and (when its tenant lets the bureau apply
/// changes) its changed record and history.
fn plan(
    svc: &Services,
    day: NaiveDate,
    tenants: &HashMap<String, Option<Tenant>>,
    s: &Seen,
    found: &HashMap<Key, Item>,
) -> Result<Option<Plan>> {
    let profile_key = keys::bureau_profile(&s.subject);
    let previous = match found.get(&profile_key) {
        Some(item) => Some((item.record::<Stored>()?, item.version)),
        None => None,
    };
    // The score is not kept here: the baseline has it.
    let record = SubjectRecord {
        score: None,
        ..s.record.clone()
    };
    if let Some((p, _)) = &previous
        && ((p.profile.record == record && p.part.as_deref() == Some(s.part.as_str()))
            || p.profile.as_of > day)
    {
        return Ok(None);
    }
    let profile = Stored {
        profile: BureauProfile {
            subject: s.subject.clone(),
            record,
            as_of: day,
        },
        part: Some(s.part.clone()),
    };
    let mut tx = Transaction::new();
    tx.otherwise(());
    let item = Item::from_record(profile_key, &profile)?;
    let item = match &previous {
        Some((_, v)) => item.with_version(v + 1),
        None => item,
    };
    tx.op(match &previous {
        Some((_, v)) => TxOp::Put(item.clone(), Condition::VersionIs(*v)),
        None => TxOp::Put(item.clone(), Condition::Absent),
    });
    let Some((
        Stored {
            profile: before, ..
        },
        _,
    )) = &previous
    else {
        // A subject's first profile is a baseline (as a first score is): kept, nothing told.
        return Ok(Some(Plan {
            profile: item,
            tx,
            events: Vec::new(),
            applied: 0,
        }));
    };
    let now = svc.clock.now();
    let mut events = Vec::new();
    let mut applied = 0;
    // Operations in the transaction so far (the profile), and clients left untold because one
    // transaction holds at most MAX_TRANSACTION_OPS (a part must never fail for it forever).
    let mut used = 1;
    let mut untold = 0;
    for w in &s.watchers {
        let Some(Some(tenant)) = tenants.get(&w.tenant_id) else {
            continue;
        };
        let Some(item) = found.get(&keys::client(&w.tenant_id, &w.client_id)) else {
            continue;
        };
        let client: Client = resource::from_item(item)?;
        if client.spec.bureau_subject_id.as_deref() != Some(s.subject.as_str()) {
            continue;
        }
        let new = bureau::new_differences(&before.record, &s.record, &client.spec);
        if new.is_empty() {
            continue;
        }
        let enrichment = if tenant.spec.monitoring.apply_bureau_changes {
            bureau::enrich(&new, &s.record, &client.spec)
        } else {
            bureau::Enrichment::default()
        };
        let mut ops = Vec::new();
        if let Some(spec) = &enrichment.spec {
            let next = resource::changed(svc, &client, spec.clone());
            ops.push(TxOp::Put(
                clients::client_item(&tenant.id, &next)?,
                Condition::VersionIs(client.version),
            ));
            for a in &enrichment.applied {
                ops.push(clients::change_op(
                    svc,
                    &tenant.id,
                    &client.id,
                    &ClientChange {
                        at: now,
                        by: BY_BUREAU.into(),
                        field: a.field.as_str().into(),
                        old: a.old.clone(),
                        new: a.new.clone(),
                    },
                )?);
            }
        }
        if used + ops.len() + 1 > MAX_TRANSACTION_OPS {
            untold += 1;
            continue;
        }
        if enrichment.spec.is_some() {
            applied += enrichment.applied.len() as u64;
        }
        let event = Staged::new(
            svc,
            DomainEvent {
                detail_type: CLIENT_DATA_CHANGED.into(),
                detail: json!({
                    "tenant_id": tenant.id,
                    "client_id": client.id,
                    "subject": s.subject,
                    "as_of": day,
                    "differences": new,
                    "applied": enrichment.applied,
                    "not_applied": enrichment.not_applied,
                }),
                time: now,
                day: Some(day),
            },
        );
        ops.push(event.op()?);
        used += ops.len();
        tx.ops(ops);
        events.push(event);
    }
    if untold > 0 {
        tracing::warn!(
            subject = %s.subject,
            untold,
            "more clients of one subject have new differences than one transaction holds: the rest are not told (their differences show in the API)"
        );
    }
    Ok(Some(Plan {
        profile: item,
        tx,
        events,
        applied,
    }))
}
