//! `GET /v1/tenant`: the caller's own tenant.

use axum::Json;
use axum::extract::State;
use clientwatch::Services;
use clientwatch::domain::tenants::{self, Scope, Tenant};

use crate::extract::Auth;
use crate::problem::ApiError;

pub async fn get(State(svc): State<Services>, auth: Auth) -> Result<Json<Tenant>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    Ok(Json(tenants::get(&svc, &caller.tenant_id).await?))
}
