//! `/v1/client-types` and `/v1/clients`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clientwatch::Services;
use clientwatch::domain::clients::{self, ClientSpec, ClientTypeSpec};
use clientwatch::domain::tenants::Scope;

use super::{List, versioned};
use crate::extract::{Auth, IfMatch, JsonBody, Page, Patch};
use crate::problem::ApiError;

pub async fn list_types(
    State(svc): State<Services>,
    auth: Auth,
    page: Page,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let (items, next) =
        clients::list_types(&svc, &caller.tenant_id, page.limit, page.cursor).await?;
    Ok(List::of(&items, next).into_response())
}

pub async fn create_type(
    State(svc): State<Services>,
    auth: Auth,
    JsonBody(spec): JsonBody<ClientTypeSpec>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let created = clients::create_type(&svc, &caller.tenant_id, spec).await?;
    Ok(versioned(StatusCode::CREATED, &created))
}

pub async fn get_type(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Read)?;
    Ok(versioned(
        StatusCode::OK,
        &clients::get_type(&svc, &caller.tenant_id, &id).await?,
    ))
}

pub async fn update_type(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
    IfMatch(seen): IfMatch,
    JsonBody(patch): Patch,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let changed = clients::update_type(&svc, &caller.tenant_id, &id, seen, &patch).await?;
    Ok(versioned(StatusCode::OK, &changed))
}

pub async fn delete_type(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
    IfMatch(seen): IfMatch,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    clients::delete_type(&svc, &caller.tenant_id, &id, seen).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn list(
    State(svc): State<Services>,
    auth: Auth,
    page: Page,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let (items, next) = clients::list(&svc, &caller.tenant_id, page.limit, page.cursor).await?;
    Ok(List::of(&items, next).into_response())
}

pub async fn create(
    State(svc): State<Services>,
    auth: Auth,
    JsonBody(spec): JsonBody<ClientSpec>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let created = clients::create(&svc, &caller.tenant_id, spec).await?;
    Ok(versioned(StatusCode::CREATED, &created))
}

pub async fn get(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Read)?;
    Ok(versioned(
        StatusCode::OK,
        &clients::get(&svc, &caller.tenant_id, &id).await?,
    ))
}

pub async fn update(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
    IfMatch(seen): IfMatch,
    JsonBody(patch): Patch,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let changed = clients::update(&svc, &caller.tenant_id, &id, seen, &patch).await?;
    Ok(versioned(StatusCode::OK, &changed))
}

pub async fn delete(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
    IfMatch(seen): IfMatch,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    clients::delete(&svc, &caller.tenant_id, &id, seen).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
