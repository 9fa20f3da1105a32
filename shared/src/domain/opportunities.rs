//! Opportunities: a client's loan applications. Each names its parties (contacts of the same
//! client, each with a party role), carries the application's data fields, and lists the
//! questionnaires attached to it (the tenant's [`questionnaires`]). Primary applicants,
//! applicants and guarantors are the parties who may later be invited into the Customer Centre.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::clients::{self, client_pk};
use super::contacts;
use super::resource::{self, Resource};
use super::{Error, Result, text};
use crate::Services;
use crate::centre::questionnaires;
use crate::ports::{Condition, Cursor};

const WHAT: &str = "opportunity";
pub const PRIMARY_APPLICANT: &str = "primary_applicant";
pub const APPLICANT: &str = "applicant";
pub const GUARANTOR: &str = "guarantor";
const MAX_FIELDS: usize = 200;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub contact_id: String,
    /// `primary_applicant`, `applicant`, `guarantor`, or another role of the partner's.
    pub role: String,
}

impl Party {
    /// Whether this party may be invited into the Customer Centre.
    pub fn invitable(&self) -> bool {
        [PRIMARY_APPLICANT, APPLICANT, GUARANTOR].contains(&self.role.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpportunitySpec {
    pub name: String,
    #[serde(default)]
    pub parties: Vec<Party>,
    /// The application's fields, by name.
    #[serde(default)]
    pub data: BTreeMap<String, Value>,
    #[serde(default)]
    pub questionnaire_ids: Vec<String>,
}

pub type Opportunity = Resource<OpportunitySpec>;

impl OpportunitySpec {
    /// The spec, checked. `attached` are the questionnaire ids the opportunity already lists:
    /// they stay even if their definition was deleted since; new ones must exist.
    async fn checked(
        mut self,
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        attached: &[String],
    ) -> Result<Self> {
        self.name = text("name", &self.name, 200)?;
        if self.parties.len() > 20 {
            return Err(Error::invalid("parties", "at most 20 parties"));
        }
        let mut seen = HashSet::new();
        for (i, party) in self.parties.iter_mut().enumerate() {
            party.role = text(format!("parties[{i}].role"), &party.role, 50)?;
            if !seen.insert(party.contact_id.clone()) {
                return Err(Error::invalid(
                    format!("parties[{i}].contact_id"),
                    "this contact is already a party",
                ));
            }
        }
        if self
            .parties
            .iter()
            .filter(|p| p.role == PRIMARY_APPLICANT)
            .count()
            > 1
        {
            return Err(Error::invalid(
                "parties",
                "an opportunity has at most one primary applicant",
            ));
        }
        let keys: Vec<_> = self
            .parties
            .iter()
            .map(|p| contacts::key(tenant_id, client_id, &p.contact_id))
            .collect();
        let found = svc.table.batch_get(&keys).await?;
        if let Some(i) = found.iter().position(Option::is_none) {
            return Err(Error::invalid(
                format!("parties[{i}].contact_id"),
                "is not a contact of this client",
            ));
        }
        if self.data.len() > MAX_FIELDS {
            return Err(Error::invalid(
                "data",
                format!("at most {MAX_FIELDS} fields"),
            ));
        }
        if let Some(name) = self
            .data
            .keys()
            .find(|k| k.is_empty() || k.chars().count() > 64)
        {
            return Err(Error::invalid(
                format!("data.{name}"),
                "field names are 1 to 64 characters",
            ));
        }
        if self.questionnaire_ids.len() > 20 {
            return Err(Error::invalid(
                "questionnaire_ids",
                "at most 20 questionnaires",
            ));
        }
        let mut listed = HashSet::new();
        for (i, id) in self.questionnaire_ids.iter().enumerate() {
            if !listed.insert(id) {
                return Err(Error::invalid(
                    format!("questionnaire_ids[{i}]"),
                    "this questionnaire is already attached",
                ));
            }
        }
        questionnaires::ensure_attachable(
            svc,
            tenant_id,
            &self.questionnaire_ids,
            attached,
            "questionnaire_ids",
        )
        .await?;
        Ok(self)
    }
}

pub fn key(tenant_id: &str, client_id: &str, id: &str) -> crate::ports::Key {
    crate::ports::Key::new(client_pk(tenant_id, client_id), format!("OPP#{id}"))
}

pub async fn create(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    spec: OpportunitySpec,
) -> Result<Opportunity> {
    clients::get(svc, tenant_id, client_id).await?;
    let opportunity = Resource::new(svc, spec.checked(svc, tenant_id, client_id, &[]).await?);
    let item = opportunity.item(key(tenant_id, client_id, &opportunity.id))?;
    svc.table.put(item, Condition::Absent).await?;
    Ok(opportunity)
}

pub async fn get(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    id: &str,
) -> Result<Opportunity> {
    resource::get(svc, &key(tenant_id, client_id, id), WHAT).await
}

pub async fn list(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Opportunity>, Option<Cursor>)> {
    clients::list_children(svc, tenant_id, client_id, "OPP#", limit, cursor).await
}

pub async fn update(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    id: &str,
    seen: u64,
    patch: &Value,
) -> Result<Opportunity> {
    let current = get(svc, tenant_id, client_id, id).await?;
    let spec = resource::patched(&current.spec, patch)?
        .checked(svc, tenant_id, client_id, &current.spec.questionnaire_ids)
        .await?;
    let next = resource::changed(svc, &current, spec);
    resource::replace(svc, key(tenant_id, client_id, id), &next, seen, WHAT).await?;
    Ok(next)
}

pub async fn delete(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    id: &str,
    seen: u64,
) -> Result<()> {
    get(svc, tenant_id, client_id, id).await?;
    svc.table
        .delete(&key(tenant_id, client_id, id), Condition::VersionIs(seen))
        .await
        .map_err(resource::stale(WHAT))?;
    Ok(())
}
