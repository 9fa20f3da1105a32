//! Tenants and their API keys.
//!
//! A key is shown once, when it is issued; the store keeps only its SHA-256 (a key carries 256
//! random bits, so a fast hash is enough: there is nothing to guess). Two items make a key: a
//! look-up item addressed by the hash, read on every request, and a listing item under the
//! tenant, for listing and revoking. Both are written and removed together in a transaction.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::resource::{self, Resource};
use super::{Decimal2, EmailAddress, Error, Result, text};
use crate::Services;
use crate::ports::{Condition, Item, Key, Query, SortKey, TableError, TxOp, Update};

const KEY_PREFIX: &str = "cw_";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Read,
    Write,
    Admin,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

/// A tenant's settings, as its admin sees and changes them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    pub name: String,
    /// IANA time zone of the tenant's day (digests, schedules).
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// Who receives the daily monitoring digest.
    #[serde(default)]
    pub alert_recipients: Vec<EmailAddress>,
    #[serde(default = "default_price")]
    pub price_per_hit: Decimal2,
    #[serde(default = "default_gst")]
    pub gst_rate_percent: Decimal2,
    #[serde(default = "default_currency")]
    pub currency: String,
    #[serde(default)]
    pub monitoring: crate::monitoring::MonitoringSettings,
    /// When the daily communications run sends nothing to this tenant's clients, in its time
    /// zone; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
}

/// A daily span of local time, `"HH:MM"` to `"HH:MM"`, that may pass midnight (`20:00` to
/// `08:00`): the start is inside it, the end is not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    pub start: String,
    pub end: String,
}

impl QuietHours {
    fn time(field: &str, value: &str) -> Result<NaiveTime> {
        let well_formed = value.len() == 5 && value.as_bytes()[2] == b':';
        well_formed
            .then(|| NaiveTime::parse_from_str(value, "%H:%M").ok())
            .flatten()
            .ok_or_else(|| {
                Error::invalid(
                    field,
                    "must be a time of day written HH:MM, such as \"20:00\"",
                )
            })
    }

    fn checked(self) -> Result<Self> {
        let start = Self::time("quiet_hours.start", &self.start)?;
        let end = Self::time("quiet_hours.end", &self.end)?;
        if start == end {
            return Err(Error::invalid(
                "quiet_hours.end",
                "must differ from the start (remove quiet_hours for none)",
            ));
        }
        Ok(self)
    }

    /// Whether the local time `at` is inside the quiet hours.
    pub fn contains(&self, at: NaiveTime) -> bool {
        let (Ok(start), Ok(end)) = (
            Self::time("start", &self.start),
            Self::time("end", &self.end),
        ) else {
            return false;
        };
        if start < end {
            start <= at && at < end
        } else {
            at >= start || at < end
        }
    }
}

fn default_time_zone() -> String {
    "Pacific/Auckland".into()
}

fn default_price() -> Decimal2 {
    Decimal2(300)
}

fn default_gst() -> Decimal2 {
    Decimal2(1500)
}

fn default_currency() -> String {
    "NZD".into()
}

impl TenantSettings {
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            time_zone: default_time_zone(),
            alert_recipients: vec![],
            price_per_hit: default_price(),
            gst_rate_percent: default_gst(),
            currency: default_currency(),
            monitoring: Default::default(),
            quiet_hours: None,
        }
    }

    fn checked(mut self) -> Result<Self> {
        self.name = text("name", &self.name, 200)?;
        self.monitoring = self.monitoring.checked()?;
        self.quiet_hours = self.quiet_hours.map(QuietHours::checked).transpose()?;
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(Error::invalid(
                "time_zone",
                format!(
                    "{:?} is not an IANA time zone such as \"Pacific/Auckland\"",
                    self.time_zone
                ),
            ));
        }
        if self.alert_recipients.len() > 20 {
            return Err(Error::invalid("alert_recipients", "at most 20 addresses"));
        }
        if self.gst_rate_percent > Decimal2(10000) {
            return Err(Error::invalid("gst_rate_percent", "must be at most 100"));
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Error::invalid(
                "currency",
                "must be an ISO 4217 code such as \"NZD\"",
            ));
        }
        Ok(self)
    }
}

pub type Tenant = Resource<TenantSettings>;

/// A key as listed: never the key itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub scopes: BTreeSet<Scope>,
    /// The first characters of the key, so that a person can tell their keys apart.
    pub hint: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A newly issued key: the only moment the plain key exists outside the caller's hands.
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: String,
}

impl fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedKey")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Who is calling: established from an API key, carried by every tenant request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: String,
    pub key_id: String,
    pub scopes: BTreeSet<Scope>,
}

impl Caller {
    /// Admin implies write, write implies read.
    pub fn may(&self, scope: Scope) -> bool {
        self.scopes.iter().any(|s| *s >= scope)
    }
}

/// What the look-up item stores.
#[derive(Serialize, Deserialize)]
struct KeyLookup {
    tenant_id: String,
    key_id: String,
    scopes: BTreeSet<Scope>,
}

pub fn tenant_pk(tenant_id: &str) -> String {
    format!("T#{tenant_id}")
}

fn tenant_key(tenant_id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), "TENANT")
}

fn listing_key(tenant_id: &str, key_id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("APIKEY#{key_id}"))
}

fn lookup_key(secret: &str) -> Key {
    Key::new(
        format!("KEY#{}", hex::encode(Sha256::digest(secret))),
        "KEY",
    )
}

/// Creates a tenant and its first key (scopes read, write and admin) in one transaction: the
/// operator's way in, used by `clientwatch-admin` and the local demo.
pub async fn bootstrap(svc: &Services, name: &str) -> Result<(Tenant, IssuedKey)> {
    let tenant = Resource::new(svc, TenantSettings::named(name).checked()?);
    let scopes = BTreeSet::from([Scope::Read, Scope::Write, Scope::Admin]);
    let (issued, mut ops) = key_items(svc, &tenant.id, "bootstrap", scopes)?;
    ops.push(TxOp::Put(
        tenant.item(tenant_key(&tenant.id))?,
        Condition::Absent,
    ));
    ops.extend(super::roles::builtin_ops(svc, &tenant.id)?);
    svc.table.transact(ops).await?;
    Ok((tenant, issued))
}

pub async fn get(svc: &Services, tenant_id: &str) -> Result<Tenant> {
    resource::get(svc, &tenant_key(tenant_id), "tenant").await
}

/// Changes the settings by a merge patch, if the tenant is still at version `seen`.
pub async fn update(
    svc: &Services,
    tenant_id: &str,
    seen: u64,
    patch: &serde_json::Value,
) -> Result<Tenant> {
    let current = get(svc, tenant_id).await?;
    let spec = resource::patched(&current.spec, patch)?.checked()?;
    let next = resource::changed(svc, &current, spec);
    resource::replace(svc, tenant_key(tenant_id), &next, seen, "tenant").await?;
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
    ops.push(TxOp::Check(tenant_key(tenant_id), Condition::Exists));
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
            Query::partition(tenant_pk(tenant_id))
                .sk(SortKey::BeginsWith("APIKEY#".into()))
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
            .get(&listing_key(tenant_id, key_id))
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
            TxOp::Delete(Key::new(listed.lookup_pk.clone(), "KEY"), Condition::None),
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
                Query::partition(tenant_pk(tenant_id))
                    .sk(SortKey::BeginsWith("APIKEY#".into()))
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
                listing_key(tenant_id, &key.id),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(start: &str, end: &str) -> QuietHours {
        QuietHours {
            start: start.into(),
            end: end.into(),
        }
    }

    fn at(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    #[test]
    fn quiet_hours_may_pass_midnight_and_end_where_the_day_starts() {
        let night = hours("20:00", "08:00");
        assert!(night.contains(at("20:00")));
        assert!(night.contains(at("23:59")));
        assert!(night.contains(at("07:59")));
        assert!(!night.contains(at("08:00")));
        assert!(!night.contains(at("12:00")));
        let lunch = hours("12:00", "13:30");
        assert!(lunch.contains(at("12:45")));
        assert!(!lunch.contains(at("13:30")));
        assert!(!lunch.contains(at("09:00")));
    }

    #[test]
    fn quiet_hours_are_checked_naming_the_field() {
        for (start, end, field) in [
            ("8pm", "08:00", "quiet_hours.start"),
            ("20:00", "24:00", "quiet_hours.end"),
            ("20:00", "8:00", "quiet_hours.end"),
            ("20:00", "20:00", "quiet_hours.end"),
        ] {
            match hours(start, end).checked() {
                Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field, "{start}-{end}"),
                other => panic!("{start}-{end}: {other:?}"),
            }
        }
        assert!(hours("22:30", "07:00").checked().is_ok());
    }
}
