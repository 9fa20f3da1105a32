//! `/v1/tenant`: the caller's own tenant and its settings.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use clientwatch::Services;
use clientwatch::domain::tenants::Scope;
use clientwatch::records;

use super::{Routes, versioned};
use crate::extract::{Auth, IfMatch, JsonBody, Patch};
use crate::problem::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get("/v1/tenant", get)
        .patch("/v1/tenant", update)
}

pub async fn get(State(svc): State<Services>, auth: Auth) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let tenant = records::tenants::get(svc.table.as_ref(), &caller.tenant_id).await?;
    Ok(versioned(StatusCode::OK, &tenant))
}

pub async fn update(
    State(svc): State<Services>,
    auth: Auth,
    IfMatch(seen): IfMatch,
    JsonBody(patch): Patch,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Admin)?;
    let tenant = records::tenants::update(&svc, &caller.tenant_id, seen, &patch).await?;
    Ok(versioned(StatusCode::OK, &tenant))
}
