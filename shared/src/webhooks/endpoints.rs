//! A tenant's webhook endpoints: each a resource (`T#{t}` / `WH#{id}`) with a state item beside
//! it (`WHSTATE#{id}`: the signing secrets and since when every delivery failed), written
//! together. The secret is in the answer to the create and to a rotation, nowhere else.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Services;
use crate::domain::resource::Resource;
use crate::domain::webhooks::{UrlPolicy, WebhookSpec, secret_text};
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::{Condition, Cursor, Item, Table, TableError, Transaction, TxOp, Update};
use crate::records::resource;

pub const WHAT: &str = "webhook";
/// Endpoints a tenant may have (each event is fanned out to every one of them).
pub const MAX_ENDPOINTS: i64 = 20;
/// How long a rotated-out secret keeps signing beside the new one.
pub const OVERLAP_HOURS: i64 = 24;

pub type Endpoint = Resource<WebhookSpec>;

/// The state kept beside an endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Newest first: the current secret, then rotated-out ones until their `until`.
    pub secrets: Vec<Secret>,
    /// The first failed attempt since the last delivered one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Secret {
    /// The key's bytes, base64 (the partner's `whsec_` secret without its prefix).
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

impl State {
    /// The keys that sign at `now`, newest first.
    pub fn signing_keys(&self, now: DateTime<Utc>) -> Vec<Vec<u8>> {
        self.secrets
            .iter()
            .filter(|s| s.until.is_none_or(|u| u > now))
            .filter_map(|s| crate::domain::webhooks::secret_key(&s.key))
            .collect()
    }
}

fn new_key(svc: &Services) -> (Secret, String) {
    use base64::Engine;
    let key = svc.ids.secret();
    (
        Secret {
            key: base64::engine::general_purpose::STANDARD.encode(key),
            until: None,
        },
        secret_text(&key),
    )
}

/// Registers an endpoint; returns it and its secret (`whsec_...`), shown this once.
pub async fn create(
    svc: &Services,
    tenant_id: &str,
    spec: WebhookSpec,
    policy: UrlPolicy,
) -> Result<(Endpoint, String)> {
    if spec.disabled_reason.is_some() {
        return Err(read_only());
    }
    let spec = spec.checked(policy)?;
    let endpoint = Resource::new(svc, spec);
    let (secret, text) = new_key(svc);
    let state = State {
        secrets: vec![secret],
        failing_since: None,
    };
    let mut tx = Transaction::<Error>::new();
    tx.guarded(
        TxOp::Update(
            keys::webhook_count(tenant_id),
            Update::default()
                .add("endpoints", 1)
                .when(Condition::Below("endpoints".into(), MAX_ENDPOINTS)),
        ),
        Error::Conflict(format!(
            "a tenant has at most {MAX_ENDPOINTS} webhook endpoints; delete one to add another"
        )),
    )
    .op(TxOp::Put(
        endpoint.item(keys::webhook(tenant_id, &endpoint.id))?,
        Condition::Absent,
    ))
    .op(TxOp::Put(
        Item::from_record(keys::webhook_state(tenant_id, &endpoint.id), &state)?,
        Condition::Absent,
    ));
    tx.commit(svc.table.as_ref()).await?;
    Ok((endpoint, text))
}

fn read_only() -> Error {
    Error::invalid(
        "disabled_reason",
        "is read-only: clientwatch sets it when it disables an endpoint",
    )
}

pub async fn get(table: &dyn Table, tenant_id: &str, id: &str) -> Result<Endpoint> {
    resource::get(table, &keys::webhook(tenant_id, id), WHAT).await
}

pub async fn list(
    svc: &Services,
    tenant_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Endpoint>, Option<Cursor>)> {
    resource::list_of_tenant(svc.table.as_ref(), tenant_id, keys::WEBHOOKS, limit, cursor).await
}

/// Changes an endpoint by a merge patch under version `seen`. Enabling it again clears
/// `disabled_reason` and the failure streak.
pub async fn update(
    svc: &Services,
    tenant_id: &str,
    id: &str,
    seen: u64,
    patch: &Value,
    policy: UrlPolicy,
) -> Result<Endpoint> {
    if patch.get("disabled_reason").is_some() {
        return Err(read_only());
    }
    let current = get(svc.table.as_ref(), tenant_id, id).await?;
    let mut spec = crate::domain::resource::patched(&current.spec, patch)?.checked(policy)?;
    let enabled_again = spec.enabled && !current.spec.enabled;
    if spec.enabled {
        spec.disabled_reason = None;
    }
    let next = resource::changed(svc, &current, spec);
    resource::replace(
        svc.table.as_ref(),
        keys::webhook(tenant_id, id),
        &next,
        seen,
        WHAT,
    )
    .await?;
    if enabled_again {
        clear_failures(svc.table.as_ref(), tenant_id, id).await?;
    }
    Ok(next)
}

/// Deletes an endpoint and its secrets; its deliveries expire with their TTL.
pub async fn delete(svc: &Services, tenant_id: &str, id: &str, seen: u64) -> Result<()> {
    get(svc.table.as_ref(), tenant_id, id).await?;
    let mut tx = Transaction::new();
    tx.guarded(
        TxOp::Delete(keys::webhook(tenant_id, id), Condition::VersionIs(seen)),
        Error::Stale(WHAT),
    )
    .op(TxOp::Delete(
        keys::webhook_state(tenant_id, id),
        Condition::None,
    ))
    .op(TxOp::Update(
        keys::webhook_count(tenant_id),
        Update::default().add("endpoints", -1),
    ));
    tx.commit(svc.table.as_ref()).await
}

/// The endpoint's state and its version.
pub async fn state(table: &dyn Table, tenant_id: &str, id: &str) -> Result<(State, u64)> {
    match table.get(&keys::webhook_state(tenant_id, id)).await? {
        Some(item) => Ok((item.record()?, item.version)),
        None => Err(Error::NotFound(WHAT)),
    }
}

/// Writes `state` over version `seen`.
pub async fn put_state(
    table: &dyn Table,
    tenant_id: &str,
    id: &str,
    state: &State,
    seen: u64,
) -> Result<(), TableError> {
    let item = Item::from_record(keys::webhook_state(tenant_id, id), state)?.with_version(seen + 1);
    table.put(item, Condition::VersionIs(seen)).await
}

async fn clear_failures(table: &dyn Table, tenant_id: &str, id: &str) -> Result<()> {
    for _ in 0..5 {
        let (mut state, version) = state(table, tenant_id, id).await?;
        if state.failing_since.is_none() {
            return Ok(());
        }
        state.failing_since = None;
        match put_state(table, tenant_id, id, &state, version).await {
            Err(TableError::ConditionFailed(_)) => continue,
            other => return other.map_err(Into::into),
        }
    }
    Err(Error::Stale(WHAT))
}

/// A new secret for the endpoint, returned this once; the previous ones keep signing for
/// [`OVERLAP_HOURS`] (so both signatures go out meanwhile), older ones stop now.
pub async fn rotate(svc: &Services, tenant_id: &str, id: &str) -> Result<String> {
    get(svc.table.as_ref(), tenant_id, id).await?;
    let now = svc.clock.now();
    for _ in 0..5 {
        let (mut state, version) = state(svc.table.as_ref(), tenant_id, id).await?;
        let (secret, text) = new_key(svc);
        let until = now + Duration::hours(OVERLAP_HOURS);
        state.secrets.retain(|s| s.until.is_none_or(|u| u > now));
        for s in &mut state.secrets {
            s.until = Some(s.until.map_or(until, |u| u.min(until)));
        }
        state.secrets.insert(0, secret);
        match put_state(svc.table.as_ref(), tenant_id, id, &state, version).await {
            Ok(()) => return Ok(text),
            Err(TableError::ConditionFailed(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Stale(WHAT))
}

/// Turns an endpoint off with `reason`, if it is on; `true` when this call turned it off.
pub async fn disable(svc: &Services, tenant_id: &str, id: &str, reason: &str) -> Result<bool> {
    for _ in 0..5 {
        let current = match get(svc.table.as_ref(), tenant_id, id).await {
            Ok(c) => c,
            Err(Error::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        if !current.spec.enabled {
            return Ok(false);
        }
        let mut spec = current.spec.clone();
        spec.enabled = false;
        spec.disabled_reason = Some(reason.to_owned());
        let next = resource::changed(svc, &current, spec);
        match resource::replace(
            svc.table.as_ref(),
            keys::webhook(tenant_id, id),
            &next,
            current.version,
            WHAT,
        )
        .await
        {
            Ok(()) => return Ok(true),
            Err(Error::Stale(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::Stale(WHAT))
}
