//! Opportunities with their questionnaires: creating or changing an opportunity checks that its
//! parties are contacts of its client and that each newly attached questionnaire exists.

use serde_json::Value;

use crate::Services;
use crate::centre::questionnaires;
use crate::domain::opportunities::*;
use crate::domain::resource::Resource;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::Condition;
use crate::records::opportunities::get;
use crate::records::{clients, resource};

/// The spec, checked: its own fields, then its parties and questionnaires against the store.
/// `attached` are the questionnaire ids the opportunity already lists: they stay even if their
/// definition was deleted since; new ones must exist.
async fn checked(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    spec: OpportunitySpec,
    attached: &[String],
) -> Result<OpportunitySpec> {
    let spec = spec.checked()?;
    let wanted: Vec<_> = spec
        .parties
        .iter()
        .map(|p| keys::contact(tenant_id, client_id, &p.contact_id))
        .collect();
    let found = svc.table.batch_get(&wanted).await?;
    if let Some(i) = found.iter().position(Option::is_none) {
        return Err(Error::invalid(
            format!("parties[{i}].contact_id"),
            "is not a contact of this client",
        ));
    }
    questionnaires::ensure_attachable(
        svc,
        tenant_id,
        &spec.questionnaire_ids,
        attached,
        "questionnaire_ids",
    )
    .await?;
    Ok(spec)
}

pub async fn create(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    spec: OpportunitySpec,
) -> Result<Opportunity> {
    clients::get(svc.table.as_ref(), tenant_id, client_id).await?;
    let opportunity = Resource::new(svc, checked(svc, tenant_id, client_id, spec, &[]).await?);
    let item = opportunity.item(keys::opportunity(tenant_id, client_id, &opportunity.id))?;
    svc.table.put(item, Condition::Absent).await?;
    Ok(opportunity)
}

pub async fn update(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    id: &str,
    seen: u64,
    patch: &Value,
) -> Result<Opportunity> {
    let current = get(svc.table.as_ref(), tenant_id, client_id, id).await?;
    let spec = crate::domain::resource::patched(&current.spec, patch)?;
    let spec = checked(
        svc,
        tenant_id,
        client_id,
        spec,
        &current.spec.questionnaire_ids,
    )
    .await?;
    let next = resource::changed(svc, &current, spec);
    resource::replace(
        svc.table.as_ref(),
        keys::opportunity(tenant_id, client_id, id),
        &next,
        seen,
        WHAT,
    )
    .await?;
    Ok(next)
}
