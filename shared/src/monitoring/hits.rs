//! Hits: one new fact about one monitored client, billed once.
//!
//! A hit's id is a hash of (tenant, client, subject, fact), and it is written with the condition
//! that it does not exist yet, in the same transaction as its digest-queue entry and the month's
//! usage counters. So a part run twice, a day replayed, or two workers racing record, bill and
//! send each hit once. A tenant's optional monthly cap is a condition on the usage counter: a
//! hit past it is recorded as withheld (not billed, not sent) and the digest says so.
//!
//! Items: the hit `T#{t}#HIT#{id}` / `HIT` (listed for polling through the second index,
//! `T#{t}#HITS` by time found); its queue entry `T#{t}#DIGESTQ` / `{due day}#{client}#{id}`,
//! removed once a digest has carried it; a marker `DIGESTS` / `{due day}#{t}` so the digest
//! step finds the tenants with something due; the usage `T#{t}` / `USAGE#{YYYY-MM}`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use super::billing::gst;
use super::billing::{self, Batch, CapCheck};
use super::facts::{Fact, FactKind};
use crate::Services;
use crate::domain::monitoring::HitChange;
use crate::domain::tenants::Tenant;
use crate::domain::{Decimal2, Error, Result};
use crate::keys;
use crate::ports::{
    Condition, Cursor, Index, IndexKey, Item, Key, Query, SortKey, TableError, Transaction, TxOp,
    Update,
};

/// Hits per transaction: two items each, plus the usage counter, within DynamoDB's 100.
const CHUNK: usize = 49;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    pub id: String,
    pub client_id: String,
    pub subject: String,
    /// The subject's name as the feed gave it.
    pub subject_name: String,
    pub kind: FactKind,
    pub summary: String,
    pub details: Value,
    /// What changed from what (the previous address, the adverse total before and after, old
    /// and new value, score or figures), where that means something.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<HitChange>,
    /// The feed day the fact was first seen.
    pub feed_day: NaiveDate,
    pub found_at: DateTime<Utc>,
    /// The run day whose digest carries it (held for weekly and monthly monitors).
    pub due_on: NaiveDate,
    /// False when the tenant's monthly cap withheld it: not billed, not sent.
    pub billed: bool,
    pub price: Decimal2,
    pub gst: Decimal2,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<DateTime<Utc>>,
}

impl Hit {
    // One argument per fact the hit carries; a builder would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        tenant: &Tenant,
        client_id: &str,
        subject: &str,
        subject_name: &str,
        fact: &Fact,
        feed_day: NaiveDate,
        due_on: NaiveDate,
        found_at: DateTime<Utc>,
    ) -> Self {
        let settings = &tenant.spec;
        let price = billing::price_of(
            fact.kind,
            settings.price_per_hit,
            &settings.monitoring.price_per_kind,
        );
        let amounts = billing::hit_amounts(price, settings.gst_rate_percent);
        Self {
            id: hit_id(&tenant.id, client_id, subject, fact.id),
            client_id: client_id.to_owned(),
            subject: subject.to_owned(),
            subject_name: subject_name.to_owned(),
            kind: fact.kind,
            summary: fact.summary.clone(),
            details: fact.details.clone(),
            change: fact.change.clone(),
            feed_day,
            found_at,
            due_on,
            billed: true,
            price: amounts.net,
            gst: amounts.gst,
            currency: settings.currency.clone(),
            acknowledged_at: None,
        }
    }
}

pub fn hit_id(tenant_id: &str, client_id: &str, subject: &str, fact: u64) -> String {
    let digest = Sha256::digest(format!(
        "{tenant_id}\u{1f}{client_id}\u{1f}{subject}\u{1f}{fact:016x}"
    ));
    hex::encode(&digest[..16])
}

fn found_key(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn queue_key(tenant_id: &str, hit: &Hit) -> Key {
    keys::digest_queued(tenant_id, hit.due_on, &hit.client_id, &hit.id)
}

/// The hit and its queue entry, both only if absent: one record, encoded once.
fn hit_ops(tenant_id: &str, hit: &Hit) -> Result<[TxOp; 2]> {
    let item = Item::from_record(keys::hit(tenant_id, &hit.id), hit)?;
    let queued = Item::new(queue_key(tenant_id, hit), item.data.clone());
    let item = item.with_index(
        Index::Gsi2,
        IndexKey::new(
            keys::hits_listing(tenant_id),
            format!("{}#{}", found_key(hit.found_at), hit.id),
        ),
    );
    Ok([
        TxOp::Put(item, Condition::Absent),
        TxOp::Put(queued, Condition::Absent),
    ])
}

/// The usage counters `hits` add to, under the cap when one is given.
fn usage_op(tenant_id: &str, month: &str, hits: &[Hit], cap: Option<u32>) -> TxOp {
    let mut update = Update::default();
    let billed = hits.iter().filter(|h| h.billed).count() as i64;
    let withheld = hits.len() as i64 - billed;
    let mut by_kind: BTreeMap<FactKind, (i64, i64, i64, i64)> = BTreeMap::new();
    for h in hits {
        let e = by_kind.entry(h.kind).or_default();
        if h.billed {
            e.0 += 1;
            e.1 += h.price.0;
            e.2 += h.gst.0;
        } else {
            e.3 += 1;
        }
    }
    if billed > 0 {
        update = update.add("billed", billed);
    }
    if withheld > 0 {
        update = update.add("withheld", withheld);
    }
    for (kind, (count, net, gst, held)) in by_kind {
        let k = kind.as_str();
        if count > 0 {
            update = update
                .add(format!("count_{k}"), count)
                .add(format!("net_{k}"), net)
                .add(format!("gst_{k}"), gst);
        }
        if held > 0 {
            update = update.add(format!("withheld_{k}"), held);
        }
    }
    if let CapCheck::BilledBelow(bound) = billing::cap_check(cap, billed as usize) {
        update = update.when(Condition::Below("billed".into(), bound));
    }
    TxOp::Update(keys::usage(tenant_id, month), update)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Recorded {
    pub recorded: u64,
    pub withheld: u64,
    /// Already recorded before (a re-run or a racing worker).
    pub duplicates: u64,
}

/// Records one tenant's new hits, all of one feed day: each once, billed under the cap. The
/// digest markers of their due days are written first, except those in `marked` (the days
/// this caller already marked for the tenant), which it adds to.
pub async fn record(
    svc: &Services,
    tenant: &Tenant,
    month: &str,
    hits: Vec<Hit>,
    marked: &mut BTreeSet<NaiveDate>,
) -> Result<Recorded> {
    let mut outcome = Recorded::default();
    let cap = tenant.spec.monitoring.monthly_cap;
    let due: BTreeSet<NaiveDate> = hits.iter().map(|h| h.due_on).collect();
    for day in due {
        if !marked.insert(day) {
            continue;
        }
        svc.table
            .put(
                Item::new(keys::digest_marker(&tenant.id, day), serde_json::Map::new()),
                Condition::None,
            )
            .await?;
    }
    // Hits go in chunks, all chunks in one call (one commit on the embedded store). A chunk
    // larger than the whole cap cannot pass as one (an absent counter counts as below any
    // limit), and a chunk that failed holds a hit recorded before or reaches the cap: their
    // hits go one by one, in order.
    let mut chunks = Vec::new();
    let mut transactions = Vec::new();
    let mut singly: Vec<&Hit> = Vec::new();
    for chunk in hits.chunks(CHUNK) {
        if billing::batch(cap, chunk.len()) == Batch::OneByOne {
            singly.extend(chunk);
            continue;
        }
        let mut ops = Vec::with_capacity(chunk.len() * 2 + 1);
        for hit in chunk {
            ops.extend(hit_ops(&tenant.id, hit)?);
        }
        ops.push(usage_op(&tenant.id, month, chunk, cap));
        chunks.push(chunk);
        transactions.push(ops);
    }
    let results = svc.table.transact_each(transactions).await?;
    for (chunk, result) in chunks.into_iter().zip(results) {
        match result {
            Ok(()) => outcome.recorded += chunk.len() as u64,
            Err(_) => singly.extend(chunk),
        }
    }
    for hit in singly {
        one(svc, tenant, month, hit.clone(), cap, &mut outcome).await?;
    }
    Ok(outcome)
}

/// One hit on its own: when a chunk failed because some hit existed or the cap was reached.
async fn one(
    svc: &Services,
    tenant: &Tenant,
    month: &str,
    mut hit: Hit,
    cap: Option<u32>,
    outcome: &mut Recorded,
) -> Result<()> {
    enum Refused {
        Recorded,
        OverCap,
    }
    // When nothing may be billed, only whether the hit exists remains to be found out.
    if billing::may_bill(cap) {
        let mut tx = Transaction::new();
        for op in hit_ops(&tenant.id, &hit)? {
            tx.guarded(op, Refused::Recorded);
        }
        tx.guarded(
            usage_op(&tenant.id, month, std::slice::from_ref(&hit), cap),
            Refused::OverCap,
        );
        match tx.try_commit(svc.table.as_ref()).await? {
            Ok(()) => {
                outcome.recorded += 1;
                return Ok(());
            }
            Err(Refused::Recorded) => {
                outcome.duplicates += 1;
                return Ok(());
            }
            Err(Refused::OverCap) => {}
        }
    }
    // Past the cap: keep it, withheld.
    hit.billed = false;
    let mut ops = hit_ops(&tenant.id, &hit)?.to_vec();
    ops.push(usage_op(
        &tenant.id,
        month,
        std::slice::from_ref(&hit),
        None,
    ));
    match svc.table.transact(ops).await {
        Ok(()) => outcome.withheld += 1,
        Err(TableError::TransactionFailed { .. }) => outcome.duplicates += 1,
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

pub async fn get(svc: &Services, tenant_id: &str, hit_id: &str) -> Result<Hit> {
    match svc.table.get(&keys::hit(tenant_id, hit_id)).await? {
        Some(item) => Ok(item.record()?),
        None => Err(Error::NotFound("hit")),
    }
}

/// One page of the tenant's hits in the order they were found, from `since` on.
pub async fn list(
    svc: &Services,
    tenant_id: &str,
    since: Option<DateTime<Utc>>,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Hit>, Option<Cursor>)> {
    let mut query = Query::index(Index::Gsi2, keys::hits_listing(tenant_id))
        .limit(limit)
        .after(cursor);
    if let Some(since) = since {
        query = query.sk(SortKey::From(found_key(since)));
    }
    let page = svc.table.query(query).await?;
    let hits = page
        .items
        .iter()
        .map(|i| i.record::<Hit>().map_err(Error::from))
        .collect::<Result<_>>()?;
    Ok((hits, page.next))
}

/// Marks a hit as seen by the partner; acknowledging twice keeps the first time.
pub async fn acknowledge(svc: &Services, tenant_id: &str, hit_id: &str) -> Result<Hit> {
    let mut hit = get(svc, tenant_id, hit_id).await?;
    if hit.acknowledged_at.is_some() {
        return Ok(hit);
    }
    let now = svc.clock.now();
    let update = Update::default()
        .set("acknowledged_at", serde_json::json!(now))
        .when(Condition::Exists);
    svc.table
        .update(&keys::hit(tenant_id, hit_id), update)
        .await?;
    hit.acknowledged_at = Some(now);
    Ok(hit)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KindUsage {
    pub kind: FactKind,
    pub hits: i64,
    pub net: Decimal2,
    pub gst: Decimal2,
    pub total: Decimal2,
    pub withheld: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub month: String,
    pub currency: String,
    pub hits: i64,
    pub withheld: i64,
    pub net: Decimal2,
    pub gst: Decimal2,
    pub total: Decimal2,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_cap: Option<u32>,
    pub by_kind: Vec<KindUsage>,
}

/// `YYYY-MM`, checked.
pub fn parse_month(month: &str) -> Result<String> {
    let ok =
        month.len() == 7 && NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok();
    if ok {
        Ok(month.to_owned())
    } else {
        Err(Error::invalid(
            "month",
            "must be a month such as \"2026-11\"",
        ))
    }
}

/// A month's usage (`YYYY-MM`; this month in the tenant's time zone when not given).
pub async fn usage(svc: &Services, tenant_id: &str, month: Option<&str>) -> Result<Usage> {
    let tenant = crate::records::tenants::get(svc.table.as_ref(), tenant_id).await?;
    let month = match month {
        Some(m) => parse_month(m)?,
        None => {
            let zone: chrono_tz::Tz = tenant.spec.time_zone.parse().unwrap_or(chrono_tz::UTC);
            svc.clock
                .now()
                .with_timezone(&zone)
                .format("%Y-%m")
                .to_string()
        }
    };
    let data = svc
        .table
        .get(&keys::usage(&tenant.id, &month))
        .await?
        .map(|i| i.data)
        .unwrap_or_default();
    let n = |name: String| data.get(&name).and_then(Value::as_i64).unwrap_or(0);
    let mut by_kind = Vec::new();
    let (mut net, mut gst) = (0, 0);
    for kind in FactKind::ALL {
        let k = kind.as_str();
        let (hits, knet, kgst, held) = (
            n(format!("count_{k}")),
            n(format!("net_{k}")),
            n(format!("gst_{k}")),
            n(format!("withheld_{k}")),
        );
        if hits == 0 && held == 0 {
            continue;
        }
        net += knet;
        gst += kgst;
        by_kind.push(KindUsage {
            kind,
            hits,
            net: Decimal2(knet),
            gst: Decimal2(kgst),
            total: Decimal2(knet + kgst),
            withheld: held,
        });
    }
    Ok(Usage {
        month,
        currency: tenant.spec.currency.clone(),
        hits: n("billed".into()),
        withheld: n("withheld".into()),
        net: Decimal2(net),
        gst: Decimal2(gst),
        total: Decimal2(net + gst),
        monthly_cap: tenant.spec.monitoring.monthly_cap,
        by_kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gst_is_rounded_half_up_to_the_cent() {
        assert_eq!(gst(Decimal2(300), Decimal2(1500)), Decimal2(45));
        assert_eq!(gst(Decimal2(333), Decimal2(1500)), Decimal2(50));
        assert_eq!(gst(Decimal2(100), Decimal2(1250)), Decimal2(13));
    }

    #[test]
    fn a_hit_id_depends_on_tenant_client_subject_and_fact() {
        let a = hit_id("t1", "c1", "IND-1", 7);
        assert_eq!(a, hit_id("t1", "c1", "IND-1", 7));
        assert_ne!(a, hit_id("t2", "c1", "IND-1", 7));
        assert_ne!(a, hit_id("t1", "c1", "IND-1", 8));
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn months_are_checked() {
        assert!(parse_month("2026-11").is_ok());
        assert!(parse_month("2026-13").is_err());
        assert!(parse_month("11-2026").is_err());
    }
}
