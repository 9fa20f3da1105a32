//! `/v1/clients/{id}/opportunities`: a client's loan applications.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clientwatch::Services;
use clientwatch::domain::opportunities::{self, OpportunitySpec};
use clientwatch::domain::tenants::Scope;

use super::{List, versioned};
use crate::extract::{Auth, IfMatch, JsonBody, Page, Patch};
use crate::problem::ApiError;

pub async fn list(
    State(svc): State<Services>,
    auth: Auth,
    Path(client): Path<String>,
    page: Page,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let (items, next) =
        opportunities::list(&svc, &caller.tenant_id, &client, page.limit, page.cursor).await?;
    Ok(List::of(&items, next).into_response())
}

pub async fn create(
    State(svc): State<Services>,
    auth: Auth,
    Path(client): Path<String>,
    JsonBody(spec): JsonBody<OpportunitySpec>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let created = opportunities::create(&svc, &caller.tenant_id, &client, spec).await?;
    Ok(versioned(StatusCode::CREATED, &created))
}

pub async fn get(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Read)?;
    Ok(versioned(
        StatusCode::OK,
        &opportunities::get(&svc, &caller.tenant_id, &client, &id).await?,
    ))
}

pub async fn update(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, id)): Path<(String, String)>,
    IfMatch(seen): IfMatch,
    JsonBody(patch): Patch,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let changed =
        opportunities::update(&svc, &caller.tenant_id, &client, &id, seen, &patch).await?;
    Ok(versioned(StatusCode::OK, &changed))
}

pub async fn delete(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, id)): Path<(String, String)>,
    IfMatch(seen): IfMatch,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    opportunities::delete(&svc, &caller.tenant_id, &client, &id, seen).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
