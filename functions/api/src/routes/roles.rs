//! `/v1/contact-roles`: the roles that decide who of a client's contacts receives invoices,
//! reminders and statements.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clientwatch::Services;
use clientwatch::domain::roles::{self, RoleSpec};
use clientwatch::domain::tenants::Scope;

use super::{List, versioned};
use crate::extract::{Auth, IfMatch, JsonBody, Page, Patch};
use crate::problem::ApiError;

pub async fn list(
    State(svc): State<Services>,
    auth: Auth,
    page: Page,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let (items, next) = roles::list(&svc, &caller.tenant_id, page.limit, page.cursor).await?;
    Ok(List::of(&items, next).into_response())
}

pub async fn create(
    State(svc): State<Services>,
    auth: Auth,
    JsonBody(spec): JsonBody<RoleSpec>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let role = roles::create(&svc, &caller.tenant_id, spec).await?;
    Ok(versioned(StatusCode::CREATED, &role))
}

pub async fn get(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Read)?;
    Ok(versioned(
        StatusCode::OK,
        &roles::get(&svc, &caller.tenant_id, &id).await?,
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
    let role = roles::update(&svc, &caller.tenant_id, &id, seen, &patch).await?;
    Ok(versioned(StatusCode::OK, &role))
}

pub async fn delete(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
    IfMatch(seen): IfMatch,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    roles::delete(&svc, &caller.tenant_id, &id, seen).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
