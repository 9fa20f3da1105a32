//! Monitoring settings and monitors.
//!
//! A monitor is the tenant's wish to hear about one client's bureau subject. It is stored twice
//! in one transaction: in the client's partition (`MONITOR`, what the API shows) and in the
//! subject's watcher list (`S#{subject}` / `WATCHERS`, what the daily run reads for a changed
//! subject, one batched read for up to 100 subjects). The client's version is checked in the
//! same transaction, so a monitor never attaches to a subject the client no longer has.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::Services;
use crate::domain::clients::{Client, ClientType};
pub use crate::domain::monitoring::{Frequency, MonitoringSettings, Product};
use crate::domain::tenants::Tenant;
use crate::domain::{Error, Result, text};
use crate::keys;
use crate::ports::{Condition, Item, Key, TableError, TxOp};
use crate::records::clients;
use crate::records::tenants;

/// How many times a monitor write is retried when another write to the same subject won.
const ATTEMPTS: usize = 5;
pub const MAX_BULK: usize = 100;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub frequency: Option<Frequency>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Monitor {
    pub client_id: String,
    pub subject: String,
    pub reason: String,
    pub frequency: Frequency,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One monitor as the daily run sees it, in the subject's watcher list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watcher {
    pub tenant_id: String,
    pub client_id: String,
    pub frequency: Frequency,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watchers {
    pub watchers: Vec<Watcher>,
}

async fn read_watchers(svc: &Services, subject: &str) -> Result<(Watchers, Option<u64>)> {
    match svc.table.get(&keys::watchers(subject)).await? {
        Some(item) => Ok((item.record()?, Some(item.version))),
        None => Ok((Watchers::default(), None)),
    }
}

/// The write that stores `watchers` for `subject`, if nobody changed them since `seen`.
fn watchers_op(subject: &str, watchers: &Watchers, seen: Option<u64>) -> Result<TxOp> {
    let key = keys::watchers(subject);
    Ok(match seen {
        Some(v) if watchers.watchers.is_empty() => TxOp::Delete(key, Condition::VersionIs(v)),
        Some(v) => TxOp::Put(
            Item::from_record(key, watchers)?.with_version(v + 1),
            Condition::VersionIs(v),
        ),
        None => TxOp::Put(Item::from_record(key, watchers)?, Condition::Absent),
    })
}

/// The write that asks the next run for a subject's bureau record (monitoring started on it):
/// the part that holds the subject parses its line even when unchanged, writes the profile,
/// and removes the entry. Goes into the monitor's transaction.
pub fn wanted_op(subject: &str) -> TxOp {
    TxOp::Put(
        Item::new(keys::wanted(subject), serde_json::Map::new()),
        Condition::None,
    )
}

/// The writes that store `watchers` for `subject` and, when none are left, remove the
/// subject's bureau profile (kept only for monitored subjects).
fn watchers_ops(subject: &str, watchers: &Watchers, seen: Option<u64>) -> Result<Vec<TxOp>> {
    let mut ops = vec![watchers_op(subject, watchers, seen)?];
    if watchers.watchers.is_empty() {
        ops.push(TxOp::Delete(keys::bureau_profile(subject), Condition::None));
    }
    Ok(ops)
}

fn without(mut w: Watchers, tenant_id: &str, client_id: &str) -> Watchers {
    w.watchers
        .retain(|x| !(x.tenant_id == tenant_id && x.client_id == client_id));
    w
}

async fn read_monitor(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
) -> Result<Option<(Monitor, u64)>> {
    match svc.table.get(&keys::monitor(tenant_id, client_id)).await? {
        Some(item) => Ok(Some((item.record()?, item.version))),
        None => Ok(None),
    }
}

pub async fn get(svc: &Services, tenant_id: &str, client_id: &str) -> Result<Monitor> {
    clients::get(svc.table.as_ref(), tenant_id, client_id).await?;
    read_monitor(svc, tenant_id, client_id)
        .await?
        .map(|(m, _)| m)
        .ok_or(Error::NotFound("monitor"))
}

/// Checks that the client may be monitored, and returns its subject.
async fn subject_of(svc: &Services, tenant: &Tenant, client: &Client) -> Result<String> {
    let client_type =
        clients::get_type(svc.table.as_ref(), &tenant.id, &client.spec.client_type_id).await?;
    monitorable(tenant, &client_type, client)
}

/// The client's subject if the tenant, the client's type and the client allow it to be
/// monitored; otherwise a conflict saying which condition is missing.
pub fn monitorable(tenant: &Tenant, client_type: &ClientType, client: &Client) -> Result<String> {
    if !tenant.spec.monitoring.enabled {
        return Err(Error::Conflict(
            "monitoring is off for this tenant; turn it on in the tenant settings (monitoring.enabled)".into(),
        ));
    }
    if !client_type.spec.use_bureau_monitoring {
        return Err(Error::Conflict(format!(
            "the client type {:?} does not use credit bureau monitoring (use_bureau_monitoring)",
            client_type.spec.name
        )));
    }
    client.spec.bureau_subject_id.clone().ok_or_else(|| {
        Error::Conflict(
            "the client has no bureau_subject_id; set the credit bureau's id of this person or company first".into(),
        )
    })
}

/// Starts monitoring a client, or changes the reason and frequency of its monitor. Returns the
/// monitor and whether it is new.
pub async fn start(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    request: StartRequest,
) -> Result<(Monitor, bool)> {
    let tenant = tenants::get(svc.table.as_ref(), tenant_id).await?;
    for _ in 0..ATTEMPTS {
        let client = clients::get(svc.table.as_ref(), tenant_id, client_id).await?;
        let subject = subject_of(svc, &tenant, &client).await?;
        let existing = read_monitor(svc, tenant_id, client_id).await?;
        let reason = match request
            .reason
            .as_deref()
            .or(existing.as_ref().map(|(m, _)| m.reason.as_str()))
            .or(tenant.spec.monitoring.default_reason.as_deref())
        {
            Some(r) => text("reason", r, 200)?,
            None => {
                return Err(Error::invalid(
                    "reason",
                    "is required: give a reason or set the tenant's monitoring.default_reason",
                ));
            }
        };
        let now = svc.clock.now();
        let frequency = request
            .frequency
            .or(existing.as_ref().map(|(m, _)| m.frequency))
            .unwrap_or_default();
        let monitor = Monitor {
            client_id: client_id.to_owned(),
            subject: subject.clone(),
            reason,
            frequency,
            started_at: existing.as_ref().map_or(now, |(m, _)| m.started_at),
            updated_at: now,
        };
        let (watchers, seen) = read_watchers(svc, &subject).await?;
        let mut watchers = without(watchers, tenant_id, client_id);
        watchers.watchers.push(Watcher {
            tenant_id: tenant_id.to_owned(),
            client_id: client_id.to_owned(),
            frequency,
        });
        let monitor_item = Item::from_record(keys::monitor(tenant_id, client_id), &monitor)?;
        let monitor_op = match &existing {
            Some((_, v)) => TxOp::Put(monitor_item.with_version(v + 1), Condition::VersionIs(*v)),
            None => TxOp::Put(monitor_item, Condition::Absent),
        };
        let mut ops = vec![
            monitor_op,
            watchers_op(&subject, &watchers, seen)?,
            TxOp::Check(
                keys::client(tenant_id, client_id),
                Condition::VersionIs(client.version),
            ),
        ];
        if existing.as_ref().is_none_or(|(m, _)| m.subject != subject) {
            ops.push(wanted_op(&subject));
        }
        match svc.table.transact(ops).await {
            Ok(()) => return Ok((monitor, existing.is_none())),
            Err(TableError::TransactionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict(
        "the client or its subject kept changing; try again".into(),
    ))
}

pub async fn stop(svc: &Services, tenant_id: &str, client_id: &str) -> Result<()> {
    clients::get(svc.table.as_ref(), tenant_id, client_id).await?;
    for _ in 0..ATTEMPTS {
        let Some((monitor, version)) = read_monitor(svc, tenant_id, client_id).await? else {
            return Err(Error::NotFound("monitor"));
        };
        let (watchers, seen) = read_watchers(svc, &monitor.subject).await?;
        let watchers = without(watchers, tenant_id, client_id);
        let mut ops = vec![TxOp::Delete(
            keys::monitor(tenant_id, client_id),
            Condition::VersionIs(version),
        )];
        if seen.is_some() {
            ops.extend(watchers_ops(&monitor.subject, &watchers, seen)?);
        }
        match svc.table.transact(ops).await {
            Ok(()) => return Ok(()),
            Err(TableError::TransactionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict(
        "the monitor kept changing; try again".into(),
    ))
}

/// The writes that keep a monitor on the client's subject when a client update changes it,
/// to go into the update's transaction. Refuses to drop the subject of a monitored client.
pub async fn follow_subject(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    new_subject: Option<&str>,
) -> Result<Vec<TxOp>> {
    let Some((mut monitor, version)) = read_monitor(svc, tenant_id, client_id).await? else {
        return Ok(vec![]);
    };
    if Some(monitor.subject.as_str()) == new_subject {
        return Ok(vec![]);
    }
    let Some(new_subject) = new_subject else {
        return Err(Error::Conflict(
            "the client is monitored; stop monitoring before removing its bureau_subject_id".into(),
        ));
    };
    let (old, old_seen) = read_watchers(svc, &monitor.subject).await?;
    let (new, new_seen) = read_watchers(svc, new_subject).await?;
    let old = without(old, tenant_id, client_id);
    let mut new = without(new, tenant_id, client_id);
    new.watchers.push(Watcher {
        tenant_id: tenant_id.to_owned(),
        client_id: client_id.to_owned(),
        frequency: monitor.frequency,
    });
    let mut ops = Vec::new();
    if old_seen.is_some() {
        ops.extend(watchers_ops(&monitor.subject, &old, old_seen)?);
    }
    ops.push(watchers_op(new_subject, &new, new_seen)?);
    ops.push(wanted_op(new_subject));
    monitor.subject = new_subject.to_owned();
    monitor.updated_at = svc.clock.now();
    ops.push(TxOp::Put(
        Item::from_record(keys::monitor(tenant_id, client_id), &monitor)?.with_version(version + 1),
        Condition::VersionIs(version),
    ));
    Ok(ops)
}

/// The monitor a bulk writer starts for a client it creates, and the writes that store it with
/// the subject's watcher list (`watchers` as read at version `seen`), to go into the client's
/// own transaction: a client created by an import is monitored from the same commit. The
/// reason is the tenant's default (required).
pub fn start_new(
    svc: &Services,
    tenant: &Tenant,
    client_type: &ClientType,
    client: &Client,
    (watchers, seen): (Watchers, Option<u64>),
) -> Result<(Monitor, Vec<TxOp>)> {
    let subject = monitorable(tenant, client_type, client)?;
    let Some(reason) = tenant.spec.monitoring.default_reason.as_deref() else {
        return Err(Error::invalid(
            "reason",
            "is required: set the tenant's monitoring.default_reason to monitor imported clients",
        ));
    };
    let now = svc.clock.now();
    let monitor = Monitor {
        client_id: client.id.clone(),
        subject: subject.clone(),
        reason: text("reason", reason, 200)?,
        frequency: Frequency::default(),
        started_at: now,
        updated_at: now,
    };
    let mut watchers = without(watchers, &tenant.id, &client.id);
    watchers.watchers.push(Watcher {
        tenant_id: tenant.id.clone(),
        client_id: client.id.clone(),
        frequency: monitor.frequency,
    });
    let ops = vec![
        TxOp::Put(
            Item::from_record(keys::monitor(&tenant.id, &client.id), &monitor)?,
            Condition::Absent,
        ),
        watchers_op(&subject, &watchers, seen)?,
        wanted_op(&subject),
    ];
    Ok((monitor, ops))
}

/// The watcher lists of many subjects with their versions (`None`: no list yet), in batched
/// reads, for [`start_new`].
pub async fn watchers_versioned(
    svc: &Services,
    subjects: &[String],
) -> Result<Vec<(Watchers, Option<u64>)>> {
    let keys: Vec<Key> = subjects.iter().map(|s| keys::watchers(s)).collect();
    let mut out = Vec::with_capacity(subjects.len());
    for item in svc.table.batch_get(&keys).await? {
        out.push(match item {
            Some(item) => (item.record()?, Some(item.version)),
            None => (Watchers::default(), None),
        });
    }
    Ok(out)
}

/// Which of these clients have a monitor, in one batched read.
pub async fn monitored(
    svc: &Services,
    tenant_id: &str,
    client_ids: &[String],
) -> Result<Vec<bool>> {
    let keys: Vec<Key> = client_ids
        .iter()
        .map(|c| keys::monitor(tenant_id, c))
        .collect();
    Ok(svc
        .table
        .batch_get(&keys)
        .await?
        .iter()
        .map(Option::is_some)
        .collect())
}

/// The watcher lists of many subjects, in batched reads (absent ones are empty).
pub async fn watchers_of(svc: &Services, subjects: &[String]) -> Result<Vec<Watchers>> {
    let keys: Vec<Key> = subjects.iter().map(|s| keys::watchers(s)).collect();
    let mut out = Vec::with_capacity(subjects.len());
    for item in svc.table.batch_get(&keys).await? {
        out.push(match item {
            Some(item) => item.record()?,
            None => Watchers::default(),
        });
    }
    Ok(out)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    Start,
    Stop,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    pub action: BulkAction,
    pub client_ids: Vec<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub frequency: Option<Frequency>,
}

/// The outcome of one client of a bulk request: `started`, `updated`, `stopped` or an error.
pub struct BulkOutcome {
    pub client_id: String,
    pub result: Result<&'static str>,
}

/// Starts or stops monitoring for each client, a few at a time; one client's failure does not
/// stop the others.
pub async fn bulk(
    svc: &Services,
    tenant_id: &str,
    request: BulkRequest,
) -> Result<Vec<BulkOutcome>> {
    if request.client_ids.is_empty() || request.client_ids.len() > MAX_BULK {
        return Err(Error::invalid(
            "client_ids",
            format!("give 1 to {MAX_BULK} client ids"),
        ));
    }
    let unique: BTreeSet<&String> = request.client_ids.iter().collect();
    if unique.len() != request.client_ids.len() {
        return Err(Error::invalid("client_ids", "list each client once"));
    }
    // A few clients at a time, answered in the order asked: a request of the largest size
    // stays well inside the API's time (the README's budget), and two clients on one subject
    // meet on the watcher list's version, as two single calls would.
    let (action, frequency) = (request.action, request.frequency);
    let outcomes = futures::stream::iter(request.client_ids)
        .map(|client_id| {
            let reason = request.reason.clone();
            async move {
                let result = match action {
                    BulkAction::Start => start(
                        svc,
                        tenant_id,
                        &client_id,
                        StartRequest { reason, frequency },
                    )
                    .await
                    .map(|(_, created)| if created { "started" } else { "updated" }),
                    BulkAction::Stop => stop(svc, tenant_id, &client_id).await.map(|()| "stopped"),
                };
                BulkOutcome { client_id, result }
            }
        })
        .buffered(BULK_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    Ok(outcomes)
}

/// Clients of a bulk request worked on at once.
pub const BULK_CONCURRENCY: usize = 10;
