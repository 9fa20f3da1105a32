//! Tenants and their API keys.
//!
//! A key is shown once, when it is issued; the store keeps only its SHA-256 (a key carries 256
//! random bits, so a fast hash is enough: there is nothing to guess). Two items make a key: a
//! look-up item addressed by the hash, read on every request, and a listing item under the
//! tenant, for listing and revoking. Both are written and removed together in a transaction.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::resource;
use crate::Services;
use crate::domain::resource::Resource;
use crate::domain::tenants::*;
use crate::domain::{Error, Result, text};
use crate::keys;
use crate::ports::{Condition, Item, Key, Query, SortKey, Table, TableError, TxOp, Update};

/// What the look-up item stores.
#[derive(Serialize, Deserialize)]
struct KeyLookup {
    tenant_id: String,
    key_id: String,
    scopes: BTreeSet<Scope>,
}

fn lookup_key(secret: &str) -> Key {
    keys::api_key_lookup(&hex::encode(Sha256::digest(secret)))
}

/// Creates a tenant and its first key (scopes read, write and admin) in one transaction: the
/// operator's way in, used by `clientwatch-admin` and the local demo.
pub async fn bootstrap(svc: &Services, name: &str) -> Result<(Tenant, IssuedKey)> {
    let tenant = Resource::new(svc, TenantSettings::named(name).checked()?);
    let scopes = BTreeSet::from([Scope::Read, Scope::Write, Scope::Admin]);
    let (issued, mut ops) = key_items(svc, &tenant.id, "bootstrap", scopes)?;
    ops.push(TxOp::Put(
        tenant.item(keys::tenant(&tenant.id))?,
        Condition::Absent,
    ));
    ops.extend(super::roles::builtin_ops(svc, &tenant.id)?);
    svc.table.transact(ops).await?;
    Ok((tenant, issued))
}

pub async fn get(table: &dyn Table, tenant_id: &str) -> Result<Tenant> {
    resource::get(table, &keys::tenant(tenant_id), "tenant").await
}

/// Changes the settings by a merge patch, if the tenant is still at version `seen`.
pub async fn update(
    svc: &Services,
    tenant_id: &str,
    seen: u64,
    patch: &serde_json::Value,
) -> Result<Tenant> {
    let current = get(svc.table.as_ref(), tenant_id).await?;
    let spec = crate::domain::resource::patched(&current.spec, patch)?.checked()?;
    let next = resource::changed(svc, &current, spec);
    resource::replace(
        svc.table.as_ref(),
        keys::tenant(tenant_id),
        &next,
        seen,
        "tenant",
    )
    .await?;
    Ok(next)
}

/// Resolves a presented key to its caller; `None` for a key that is unknown or revoked.
pub async fn authenticate(svc: &Services, presented: &str) -> Result<Option<Caller>> {
    let plausible = presented.len() == KEY_PREFIX.len() + 43
        && presented.starts_with(KEY_PREFIX)
        && presented
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !plausible {
        return Ok(None);
    }
    let Some(item) = svc.table.get(&lookup_key(presented)).await? else {
        return Ok(None);
    };
    let lookup: KeyLookup = item.record()?;
    Ok(Some(Caller {
        tenant_id: lookup.tenant_id,
        key_id: lookup.key_id,
        scopes: lookup.scopes,
    }))
}

pub async fn issue_key(
    svc: &Services,
    tenant_id: &str,
    name: &str,
    scopes: BTreeSet<Scope>,
) -> Result<IssuedKey> {
    let name = text("name", name, 200)?;
    if scopes.is_empty() {
        return Err(Error::invalid("scopes", "give at least one scope"));
    }
    let (issued, mut ops) = key_items(svc, tenant_id, &name, scopes)?;
    ops.push(TxOp::Check(keys::tenant(tenant_id), Condition::Exists));
    svc.table.transact(ops).await.map_err(|e| match e {
        TableError::TransactionFailed { .. } => Error::NotFound("tenant"),
        e => e.into(),
    })?;
    Ok(issued)
}

/// One page of the tenant's keys, oldest first.
pub async fn list_keys(
    svc: &Services,
    tenant_id: &str,
    limit: usize,
    cursor: Option<crate::ports::Cursor>,
) -> Result<(Vec<ApiKey>, Option<crate::ports::Cursor>)> {
    let page = svc
        .table
        .query(
            Query::partition(keys::tenant_pk(tenant_id))
                .sk(SortKey::BeginsWith(keys::API_KEYS.into()))
                .limit(limit)
                .after(cursor),
        )
        .await?;
    let keys = page
        .items
        .iter()
        .map(|i| i.record::<ListedKey>().map(|l| l.key))
        .collect::<Result<_, _>>()?;
    Ok((keys, page.next))
}

/// Revokes a key at once: the look-up item goes, the listing keeps the revocation time.
/// Revoking a revoked key changes nothing.
/// Revokes a key. The tenant's last active admin key cannot be revoked (the tenant could no
/// longer be managed through the API): revoking an admin key checks, in the same
/// transaction, that another active admin key is unchanged since it was read, so two admin
/// keys revoking each other at the same moment cannot both succeed.
pub async fn revoke_key(svc: &Services, tenant_id: &str, key_id: &str) -> Result<ApiKey> {
    for _ in 0..REVOKE_ROUNDS {
        let listing = svc
            .table
            .get(&keys::api_key(tenant_id, key_id))
            .await?
            .ok_or(Error::NotFound("API key"))?;
        let mut listed: ListedKey = listing.record()?;
        if listed.key.revoked_at.is_some() {
            return Ok(listed.key);
        }
        let now = svc.clock.now();
        listed.key.revoked_at = Some(now);
        let revoked_at =
            serde_json::to_value(now).map_err(|e| Error::invalid("revoked_at", e.to_string()))?;
        let mut ops = vec![
            TxOp::Update(
                listing.key.clone(),
                Update::default()
                    .set("revoked_at", revoked_at)
                    .when(Condition::VersionIs(listing.version)),
            ),
            TxOp::Delete(keys::api_key_lookup_in(&listed.lookup_pk), Condition::None),
        ];
        if listed.key.scopes.contains(&Scope::Admin) {
            let Some(other) = other_active_admin_key(svc, tenant_id, key_id).await? else {
                return Err(Error::Conflict(
                    "this is the tenant's last active admin key: issue another key with the \
                     admin scope first, so that the tenant can still be managed"
                        .into(),
                ));
            };
            ops.push(TxOp::Check(other.key, Condition::VersionIs(other.version)));
        }
        match svc.table.transact(ops).await {
            Ok(()) => return Ok(listed.key),
            // This key or the other admin key changed meanwhile: read both again.
            Err(TableError::TransactionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict(
        "the tenant's keys kept changing while this one was being revoked; try again".into(),
    ))
}

/// How many times a revocation reads again after losing a race.
const REVOKE_ROUNDS: usize = 5;

/// The listing item of an active admin key of the tenant other than `key_id`, if any.
async fn other_active_admin_key(
    svc: &Services,
    tenant_id: &str,
    key_id: &str,
) -> Result<Option<Item>> {
    let mut cursor = None;
    loop {
        let page = svc
            .table
            .query(
                Query::partition(keys::tenant_pk(tenant_id))
                    .sk(SortKey::BeginsWith(keys::API_KEYS.into()))
                    .limit(200)
                    .after(cursor),
            )
            .await?;
        for item in page.items {
            let listed: ListedKey = item.record()?;
            if listed.key.id != key_id
                && listed.key.revoked_at.is_none()
                && listed.key.scopes.contains(&Scope::Admin)
            {
                return Ok(Some(item));
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(None),
        }
    }
}

/// The listing item: the key as listed plus where its look-up item lives.
#[derive(Serialize, Deserialize)]
struct ListedKey {
    #[serde(flatten)]
    key: ApiKey,
    lookup_pk: String,
}

fn key_items(
    svc: &Services,
    tenant_id: &str,
    name: &str,
    scopes: BTreeSet<Scope>,
) -> Result<(IssuedKey, Vec<TxOp>)> {
    let secret = format!("{KEY_PREFIX}{}", svc.ids.token());
    let key = ApiKey {
        id: svc.ids.id(),
        name: name.to_owned(),
        scopes: scopes.clone(),
        hint: secret[..KEY_PREFIX.len() + 4].to_owned(),
        created_at: svc.clock.now(),
        revoked_at: None,
    };
    let lookup = lookup_key(&secret);
    let ops = vec![
        TxOp::Put(
            Item::from_record(
                lookup.clone(),
                &KeyLookup {
                    tenant_id: tenant_id.to_owned(),
                    key_id: key.id.clone(),
                    scopes,
                },
            )?,
            Condition::Absent,
        ),
        TxOp::Put(
            Item::from_record(
                keys::api_key(tenant_id, &key.id),
                &ListedKey {
                    key: key.clone(),
                    lookup_pk: lookup.pk,
                },
            )?,
            Condition::Absent,
        ),
    ];
    Ok((IssuedKey { key, secret }, ops))
}
