//! `/v1/questionnaires`: the tenant's questionnaire definitions; and what applicants did with
//! them in the Customer Centre: an opportunity's answers and its audit trail.

use crate::extract::Path;
use axum::Json;
use axum::extract::State;
use clientwatch::Services;
use clientwatch::centre::{
    audit,
    questionnaires::{self, QuestionnaireSpec},
};
use clientwatch::domain::tenants::Scope;
use clientwatch::records;
use serde_json::{Value, json};

use crate::extract::{Auth, Page};
use crate::problem::ApiError;

tenant_resource!(
    QuestionnaireSpec,
    list: questionnaires::list,
    create: questionnaires::create,
    get: questionnaires::get,
    update: questionnaires::update,
    delete: questionnaires::delete,
);

/// Every questionnaire's answers of an opportunity, drafts and submitted ones.
pub async fn answers(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, opportunity)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let items = questionnaires::answers_of(&svc, &caller.tenant_id, &client, &opportunity).await?;
    Ok(Json(json!({ "items": items })))
}

/// What applicants did in the Customer Centre about an opportunity, oldest first.
pub async fn activity(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, opportunity)): Path<(String, String)>,
    page: Page,
) -> Result<Json<Value>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    // An unknown opportunity is a 404, not an empty trail.
    records::opportunities::get(&svc, &caller.tenant_id, &client, &opportunity).await?;
    let (items, next) = audit::list(
        &svc,
        &caller.tenant_id,
        &client,
        &opportunity,
        page.limit,
        page.cursor()?,
    )
    .await?;
    let mut body = json!({ "items": items });
    if let Some(next) = page.next(next) {
        body["next_cursor"] = Value::from(next);
    }
    Ok(Json(body))
}
