//! Client types and clients.
//!
//! A client type says whether its clients are individuals or companies and whether they may be
//! monitored against the credit bureau. A client carries its identity (matching its type's
//! class), addresses, the partner's external references, and the profile sections of a
//! collection platform. Clients live in their own partition (`T#{t}#C#{c}`, with their contacts
//! and opportunities) and are listed through the second index.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::resource::{self, Resource};
use super::tenants::tenant_pk;
use super::{Decimal2, Error, Result, text};
use crate::Services;
use crate::comms::{portfolios, workflows};
use crate::ports::{
    Condition, Cursor, Index, IndexKey, Key, Query, SortKey, TableError, TxOp, Update,
};

const TYPE: &str = "client type";
const CLIENT: &str = "client";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientClass {
    Individual,
    Company,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientTypeSpec {
    pub name: String,
    pub class: ClientClass,
    #[serde(default)]
    pub use_bureau_monitoring: bool,
}

pub type ClientType = Resource<ClientTypeSpec>;

/// Who the client is: a person (first and last name, date of birth) or a company (name,
/// registration number). Its `kind` must match the client type's class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub kind: ClientClass,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::input::date::option"
    )]
    pub date_of_birth: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_number: Option<String>,
}

impl Identity {
    /// The name a person would read: "Ana Smith" or "Smith Holdings Ltd".
    pub fn display_name(&self) -> String {
        match self.kind {
            ClientClass::Individual => format!(
                "{} {}",
                self.first_name.as_deref().unwrap_or_default(),
                self.last_name.as_deref().unwrap_or_default()
            ),
            ClientClass::Company => self.name.clone().unwrap_or_default(),
        }
    }

    fn checked(mut self) -> Result<Self> {
        let required = |field: &str, value: &Option<String>, max| match value {
            Some(v) => text(format!("identity.{field}"), v, max).map(Some),
            None => Err(Error::invalid(format!("identity.{field}"), "is required")),
        };
        let absent = |field: &str, present: bool| {
            if present {
                Err(Error::invalid(
                    format!("identity.{field}"),
                    "does not belong to this kind of client",
                ))
            } else {
                Ok(())
            }
        };
        match self.kind {
            ClientClass::Individual => {
                self.first_name = required("first_name", &self.first_name, 100)?;
                self.last_name = required("last_name", &self.last_name, 100)?;
                absent("name", self.name.is_some())?;
                absent("registration_number", self.registration_number.is_some())?;
            }
            ClientClass::Company => {
                self.name = required("name", &self.name, 200)?;
                absent("first_name", self.first_name.is_some())?;
                absent("last_name", self.last_name.is_some())?;
                absent("date_of_birth", self.date_of_birth.is_some())?;
            }
        }
        Ok(self)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    /// ISO 3166 alpha-2.
    pub country: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trading_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Phone,
    Letter,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommunicationSettings {
    #[serde(default = "all_channels")]
    pub allowed_channels: Vec<Channel>,
    #[serde(default = "default_attempts")]
    pub max_call_attempts: u32,
    #[serde(default)]
    pub breathing_space_days: u32,
}

fn all_channels() -> Vec<Channel> {
    vec![
        Channel::Email,
        Channel::Sms,
        Channel::Phone,
        Channel::Letter,
    ]
}

fn default_attempts() -> u32 {
    3
}

impl Default for CommunicationSettings {
    fn default() -> Self {
        Self {
            allowed_channels: all_channels(),
            max_call_attempts: default_attempts(),
            breathing_space_days: 0,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finances {
    /// A contact of this client who receives the bills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_contact_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_terms_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_fee: Option<Decimal2>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interest_rate_percent: Option<Decimal2>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    pub client_type_id: String,
    pub identity: Identity,
    /// The credit bureau's id of this person or company, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bureau_subject_id: Option<String>,
    #[serde(default)]
    pub addresses: Vec<Address>,
    /// The partner systems' own ids of this client, by system name.
    #[serde(default)]
    pub external_refs: BTreeMap<String, String>,
    #[serde(default)]
    pub company_info: CompanyInfo,
    #[serde(default)]
    pub communication: CommunicationSettings,
    #[serde(default)]
    pub finances: Finances,
    /// The collection workflow of this client's invoices; its portfolio's when absent. Must
    /// be a workflow of the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    /// Must be a portfolio of the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portfolio_id: Option<String>,
}

pub type Client = Resource<ClientSpec>;

impl ClientTypeSpec {
    fn checked(mut self) -> Result<Self> {
        self.name = text("name", &self.name, 100)?;
        Ok(self)
    }
}

impl ClientSpec {
    fn checked(mut self, client_type: &ClientType) -> Result<Self> {
        if self.identity.kind != client_type.spec.class {
            return Err(Error::invalid(
                "identity.kind",
                format!(
                    "the client type {:?} is for {} clients",
                    client_type.spec.name,
                    match client_type.spec.class {
                        ClientClass::Individual => "individual",
                        ClientClass::Company => "company",
                    }
                ),
            ));
        }
        self.identity = self.identity.checked()?;
        if let Some(subject) = &self.bureau_subject_id {
            text("bureau_subject_id", subject, 64)?;
        }
        if self.addresses.len() > 20 {
            return Err(Error::invalid("addresses", "at most 20 addresses"));
        }
        for (i, a) in self.addresses.iter().enumerate() {
            text(format!("addresses[{i}].line1"), &a.line1, 200)?;
            text(format!("addresses[{i}].city"), &a.city, 100)?;
            if a.country.len() != 2 || !a.country.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(Error::invalid(
                    format!("addresses[{i}].country"),
                    "must be a two-letter country code such as \"NZ\"",
                ));
            }
        }
        if self.external_refs.len() > 20 {
            return Err(Error::invalid("external_refs", "at most 20 references"));
        }
        if self.communication.allowed_channels.len() > 4 {
            return Err(Error::invalid(
                "communication.allowed_channels",
                "list each channel once",
            ));
        }
        if self.communication.breathing_space_days > 365 {
            return Err(Error::invalid(
                "communication.breathing_space_days",
                "must be at most 365",
            ));
        }
        Ok(self)
    }
}

pub fn type_key(tenant_id: &str, id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("CTYPE#{id}"))
}

fn type_usage_key(tenant_id: &str, id: &str) -> Key {
    Key::new(tenant_pk(tenant_id), format!("CTYPEUSE#{id}"))
}

/// The partition of a client, its contacts and its opportunities.
pub fn client_pk(tenant_id: &str, client_id: &str) -> String {
    format!("T#{tenant_id}#C#{client_id}")
}

pub fn key(tenant_id: &str, client_id: &str) -> Key {
    Key::new(client_pk(tenant_id, client_id), "CLIENT")
}

fn listing(tenant_id: &str) -> String {
    format!("T#{tenant_id}#CLIENTS")
}

pub async fn create_type(
    svc: &Services,
    tenant_id: &str,
    spec: ClientTypeSpec,
) -> Result<ClientType> {
    let client_type = Resource::new(svc, spec.checked()?);
    let item = client_type.item(type_key(tenant_id, &client_type.id))?;
    svc.table.put(item, Condition::Absent).await?;
    Ok(client_type)
}

pub async fn get_type(svc: &Services, tenant_id: &str, id: &str) -> Result<ClientType> {
    resource::get(svc, &type_key(tenant_id, id), TYPE).await
}

pub async fn list_types(
    svc: &Services,
    tenant_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<ClientType>, Option<Cursor>)> {
    resource::list_of_tenant(svc, tenant_id, "CTYPE#", limit, cursor).await
}

pub async fn update_type(
    svc: &Services,
    tenant_id: &str,
    id: &str,
    seen: u64,
    patch: &serde_json::Value,
) -> Result<ClientType> {
    let current = get_type(svc, tenant_id, id).await?;
    let spec: ClientTypeSpec = resource::patched(&current.spec, patch)?.checked()?;
    let usage = svc.table.get(&type_usage_key(tenant_id, id)).await?;
    let in_use = usage
        .and_then(|u| u.data.get("clients").and_then(|n| n.as_i64()))
        .unwrap_or(0);
    if spec.class != current.spec.class && in_use > 0 {
        return Err(Error::Conflict(format!(
            "{in_use} client(s) have this type; a type in use cannot change its class"
        )));
    }
    let next = resource::changed(svc, &current, spec);
    resource::replace(svc, type_key(tenant_id, id), &next, seen, TYPE).await?;
    Ok(next)
}

pub async fn delete_type(svc: &Services, tenant_id: &str, id: &str, seen: u64) -> Result<()> {
    get_type(svc, tenant_id, id).await?;
    let ops = vec![
        TxOp::Delete(type_key(tenant_id, id), Condition::VersionIs(seen)),
        TxOp::Delete(
            type_usage_key(tenant_id, id),
            Condition::Below("clients".into(), 1),
        ),
    ];
    match svc.table.transact(ops).await {
        Ok(()) => Ok(()),
        Err(TableError::TransactionFailed { failed }) if failed.contains(&0) => {
            Err(Error::Stale(TYPE))
        }
        Err(TableError::TransactionFailed { .. }) => Err(Error::Conflict(
            "clients still have this type; give them another type first".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

fn usage(tenant_id: &str, type_id: &str, by: i64) -> TxOp {
    TxOp::Update(
        type_usage_key(tenant_id, type_id),
        Update::default().add("clients", by),
    )
}

fn client_item(tenant_id: &str, client: &Client) -> Result<crate::ports::Item> {
    Ok(client.item(key(tenant_id, &client.id))?.with_index(
        crate::ports::Index::Gsi2,
        IndexKey::new(listing(tenant_id), client.id.clone()),
    ))
}

pub async fn create(svc: &Services, tenant_id: &str, spec: ClientSpec) -> Result<Client> {
    let client_type = get_type(svc, tenant_id, &spec.client_type_id)
        .await
        .map_err(|_| Error::invalid("client_type_id", "there is no client type with this id"))?;
    let client = Resource::new(svc, spec.checked(&client_type)?);
    if client.spec.finances.billing_contact_id.is_some() {
        return Err(Error::invalid(
            "finances.billing_contact_id",
            "a new client has no contacts yet: add the contact, then set it as the billing contact",
        ));
    }
    check_assignments(svc, tenant_id, None, &client.spec).await?;
    let mut ops = vec![
        TxOp::Put(client_item(tenant_id, &client)?, Condition::Absent),
        TxOp::Check(type_key(tenant_id, &client_type.id), Condition::Exists),
        usage(tenant_id, &client_type.id, 1),
    ];
    let assignments = assignment_ops(tenant_id, None, Some(&client.spec), &mut ops);
    match svc.table.transact(ops).await {
        Ok(()) => Ok(client),
        Err(TableError::TransactionFailed { failed }) => {
            Err(assignments.refusal(&failed).unwrap_or_else(|| {
                Error::invalid("client_type_id", "the client type was deleted meanwhile")
            }))
        }
        Err(e) => Err(e.into()),
    }
}

/// Refuses a newly set `workflow_id` or `portfolio_id` that is not the tenant's, naming it.
async fn check_assignments(
    svc: &Services,
    tenant_id: &str,
    current: Option<&ClientSpec>,
    next: &ClientSpec,
) -> Result<()> {
    let was = |f: fn(&ClientSpec) -> &Option<String>| current.and_then(|c| f(c).as_deref());
    if let Some(id) = next.workflow_id.as_deref()
        && was(|c| &c.workflow_id) != Some(id)
    {
        workflows::ensure_exists(svc, tenant_id, id, "workflow_id").await?;
    }
    if let Some(id) = next.portfolio_id.as_deref()
        && was(|c| &c.portfolio_id) != Some(id)
    {
        portfolios::ensure_exists(svc, tenant_id, id, "portfolio_id").await?;
    }
    Ok(())
}

/// Where a client's transaction checks that its new workflow and portfolio still exist.
struct Assignments {
    workflow_check: Option<usize>,
    portfolio_check: Option<usize>,
}

impl Assignments {
    /// The refusal for a failed transaction, when a workflow or portfolio check failed.
    fn refusal(&self, failed: &[usize]) -> Option<Error> {
        let hit = |at: Option<usize>| at.is_some_and(|at| failed.contains(&at));
        if hit(self.workflow_check) {
            Some(Error::invalid(
                "workflow_id",
                "the workflow was deleted meanwhile",
            ))
        } else if hit(self.portfolio_check) {
            Some(Error::invalid(
                "portfolio_id",
                "the portfolio was deleted meanwhile",
            ))
        } else {
            None
        }
    }
}

/// Adds to `ops` the operations that move the client's workflow and portfolio counts from
/// `current` to `next` (either absent for a new or deleted client).
fn assignment_ops(
    tenant_id: &str,
    current: Option<&ClientSpec>,
    next: Option<&ClientSpec>,
    ops: &mut Vec<TxOp>,
) -> Assignments {
    fn workflow(c: Option<&ClientSpec>) -> Option<&str> {
        c.and_then(|c| c.workflow_id.as_deref())
    }
    fn portfolio(c: Option<&ClientSpec>) -> Option<&str> {
        c.and_then(|c| c.portfolio_id.as_deref())
    }
    let at = ops.len();
    let moved = workflows::reference_ops(
        tenant_id,
        workflows::User::Client,
        workflow(current),
        workflow(next),
    );
    let workflow_check =
        (workflow(current) != workflow(next) && workflow(next).is_some()).then_some(at);
    ops.extend(moved);
    let at = ops.len();
    let moved = portfolios::reference_ops(tenant_id, portfolio(current), portfolio(next));
    let portfolio_check =
        (portfolio(current) != portfolio(next) && portfolio(next).is_some()).then_some(at);
    ops.extend(moved);
    Assignments {
        workflow_check,
        portfolio_check,
    }
}

pub async fn get(svc: &Services, tenant_id: &str, client_id: &str) -> Result<Client> {
    resource::get(svc, &key(tenant_id, client_id), CLIENT).await
}

/// One page of the tenant's clients, in id order.
pub async fn list(
    svc: &Services,
    tenant_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Client>, Option<Cursor>)> {
    let query = Query::index(Index::Gsi2, listing(tenant_id))
        .limit(limit)
        .after(cursor);
    resource::list(svc, query).await
}

/// The query for a client's children of one kind (`CONTACT#`, `OPP#`).
pub fn children(tenant_id: &str, client_id: &str, prefix: &str) -> Query {
    Query::partition(client_pk(tenant_id, client_id)).sk(SortKey::BeginsWith(prefix.into()))
}

/// One page of a client's children of one kind; an unknown client is "not found", not an
/// empty list.
pub async fn list_children<T: serde::de::DeserializeOwned>(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    prefix: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Resource<T>>, Option<Cursor>)> {
    get(svc, tenant_id, client_id).await?;
    let query = children(tenant_id, client_id, prefix)
        .limit(limit)
        .after(cursor);
    resource::list(svc, query).await
}

pub async fn update(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    seen: u64,
    patch: &serde_json::Value,
) -> Result<Client> {
    let current = get(svc, tenant_id, client_id).await?;
    let spec: ClientSpec = resource::patched(&current.spec, patch)?;
    let client_type = get_type(svc, tenant_id, &spec.client_type_id)
        .await
        .map_err(|_| Error::invalid("client_type_id", "there is no client type with this id"))?;
    let next = resource::changed(svc, &current, spec.checked(&client_type)?);
    if let Some(contact_id) = next.spec.finances.billing_contact_id.as_deref()
        && current.spec.finances.billing_contact_id.as_deref() != Some(contact_id)
    {
        match svc
            .table
            .get(&super::contacts::key(tenant_id, client_id, contact_id))
            .await?
        {
            Some(_) => {}
            None => {
                return Err(Error::invalid(
                    "finances.billing_contact_id",
                    "there is no contact of this client with this id",
                ));
            }
        }
    }
    check_assignments(svc, tenant_id, Some(&current.spec), &next.spec).await?;
    let mut ops = vec![TxOp::Put(
        client_item(tenant_id, &next)?,
        Condition::VersionIs(seen),
    )];
    if current.spec.bureau_subject_id != next.spec.bureau_subject_id {
        ops.extend(
            crate::monitoring::monitors::follow_subject(
                svc,
                tenant_id,
                client_id,
                next.spec.bureau_subject_id.as_deref(),
            )
            .await?,
        );
    }
    if current.spec.client_type_id != next.spec.client_type_id {
        ops.push(TxOp::Check(
            type_key(tenant_id, &client_type.id),
            Condition::Exists,
        ));
        ops.push(usage(tenant_id, &current.spec.client_type_id, -1));
        ops.push(usage(tenant_id, &client_type.id, 1));
    }
    let assignments = assignment_ops(tenant_id, Some(&current.spec), Some(&next.spec), &mut ops);
    match svc.table.transact(ops).await {
        Ok(()) => Ok(next),
        Err(TableError::TransactionFailed { failed }) if !failed.contains(&0) => {
            Err(assignments.refusal(&failed).unwrap_or(Error::Stale(CLIENT)))
        }
        Err(e) => Err(resource::stale(CLIENT)(e)),
    }
}

/// Deletes a client that has no contacts, opportunities or monitor left.
/// What keeps a client from being deleted: records partners keep, by their key's prefix.
const LIVE: [(&str, &str); 4] = [
    ("CONTACT#", "contact(s)"),
    ("OPP#", "opportunity(ies)"),
    ("INVOICE#", "invoice(s)"),
    ("MONITOR", "a monitor"),
];

/// Deletes a client whose contacts, opportunities and invoices are gone and whose monitor is
/// stopped (a refusal names what remains). The client's history goes with it: Customer Centre
/// invites, answers and audit entries, the communications log, sent markers and workflow
/// progress. The client itself is deleted first, under its version; its history after, in
/// batches; history left by an interrupted delete is unreachable and harmless.
pub async fn delete(svc: &Services, tenant_id: &str, client_id: &str, seen: u64) -> Result<()> {
    let current = get(svc, tenant_id, client_id).await?;
    let items = svc
        .table
        .query_all(Query::partition(client_pk(tenant_id, client_id)).limit(1000))
        .await?;
    let remaining: Vec<String> = LIVE
        .iter()
        .filter_map(|(prefix, what)| {
            let n = items
                .iter()
                .filter(|i| i.key.sk.starts_with(prefix))
                .count();
            (n > 0).then(|| {
                if *what == "a monitor" {
                    (*what).to_owned()
                } else {
                    format!("{n} {what}")
                }
            })
        })
        .collect();
    if !remaining.is_empty() {
        return Err(Error::Conflict(format!(
            "the client still has {}: delete those (and stop its monitoring) first",
            remaining.join(", ")
        )));
    }
    let mut ops = vec![
        TxOp::Delete(key(tenant_id, client_id), Condition::VersionIs(seen)),
        usage(tenant_id, &current.spec.client_type_id, -1),
    ];
    assignment_ops(tenant_id, Some(&current.spec), None, &mut ops);
    svc.table
        .transact(ops)
        .await
        .map_err(resource::stale(CLIENT))?;
    let history: Vec<TxOp> = items
        .into_iter()
        .filter(|i| i.key.sk != "CLIENT")
        .map(|i| TxOp::Delete(i.key, Condition::None))
        .collect();
    let mut history = history.into_iter().peekable();
    while history.peek().is_some() {
        let chunk: Vec<TxOp> = history
            .by_ref()
            .take(crate::ports::table::MAX_TRANSACTION_OPS)
            .collect();
        svc.table.transact(chunk).await?;
    }
    Ok(())
}
