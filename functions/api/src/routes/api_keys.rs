//! `/v1/api-keys`: an admin key lists, issues and revokes the tenant's keys. A new key's secret
//! is in the answer to its creation and nowhere else, ever.

use std::collections::BTreeSet;

use crate::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clientwatch::Services;
use clientwatch::domain::tenants::{ApiKey, Scope};
use clientwatch::records;
use serde::Deserialize;
use serde_json::json;

use super::{List, Routes};
use crate::extract::{Auth, JsonBody, Page};
use crate::problem::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get("/v1/api-keys", list)
        .post("/v1/api-keys", create)
        .delete("/v1/api-keys/{id}", revoke)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    name: String,
    scopes: BTreeSet<Scope>,
}

pub async fn list(
    State(svc): State<Services>,
    auth: Auth,
    page: Page,
) -> Result<List<ApiKey>, ApiError> {
    let caller = auth.require(Scope::Admin)?;
    let (items, next) =
        records::tenants::list_keys(&svc, &caller.tenant_id, page.limit, page.cursor()?).await?;
    Ok(List::page(items, &page, next))
}

pub async fn create(
    State(svc): State<Services>,
    auth: Auth,
    JsonBody(new): JsonBody<NewKey>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Admin)?;
    let issued =
        records::tenants::issue_key(&svc, &caller.tenant_id, &new.name, new.scopes).await?;
    let body = json!({ "key": issued.key, "secret": issued.secret });
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub async fn revoke(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<ApiKey>, ApiError> {
    let caller = auth.require(Scope::Admin)?;
    Ok(Json(
        records::tenants::revoke_key(&svc, &caller.tenant_id, &id).await?,
    ))
}
