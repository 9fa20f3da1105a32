//! `/v1/clients/{id}/contacts`, `/v1/clients/{id}/recipients` and `/v1/sync/contacts`.

use crate::extract::Path;
use axum::Json;
use axum::extract::State;
use clientwatch::Services;
use clientwatch::domain::contacts::{self, ContactSpec, Source};
use clientwatch::domain::resource::Resource;
use clientwatch::domain::roles::Purpose;
use clientwatch::domain::tenants::Scope;
use clientwatch::records;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::extract::{Auth, JsonBody};
use crate::problem::ApiError;

client_resource!(
    ContactSpec,
    list: records::contacts::list,
    create: records::contacts::create,
    get: records::contacts::get,
    update: records::contacts::update,
    delete: records::contacts::delete,
);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientsQuery {
    purpose: Purpose,
}

pub async fn recipients(
    State(svc): State<Services>,
    auth: Auth,
    Path(client): Path<String>,
    query: Result<axum::extract::Query<RecipientsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let purpose = query
        .map_err(|_| ApiError::invalid("purpose", "give purpose=invoice, reminder or statement"))?
        .0
        .purpose;
    let (chosen, warning) =
        records::contacts::recipients(&svc, &caller.tenant_id, &client, purpose).await?;
    let mut body = json!({
        "purpose": purpose,
        "items": chosen.iter().map(Resource::view).collect::<Vec<_>>(),
    });
    if let Some(warning) = warning {
        body["warning"] = Value::from(warning);
    }
    Ok(Json(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncBatch {
    source: Source,
    /// Parsed one by one, so that one bad record does not refuse the batch.
    records: Vec<Value>,
}

pub async fn sync(
    State(svc): State<Services>,
    auth: Auth,
    JsonBody(batch): JsonBody<SyncBatch>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let results =
        records::contacts::sync(&svc, &caller.tenant_id, batch.source, batch.records).await?;
    let count =
        |status: contacts::SyncOutcome| results.iter().filter(|r| r.status == status).count();
    Ok(Json(json!({
        "created": count(contacts::SyncOutcome::Created),
        "updated": count(contacts::SyncOutcome::Updated),
        "unchanged": count(contacts::SyncOutcome::Unchanged),
        "rejected": count(contacts::SyncOutcome::Rejected),
        "results": results,
    })))
}
