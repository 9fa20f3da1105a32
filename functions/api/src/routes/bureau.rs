//! The bureau's view of a client: `/v1/clients/{id}/bureau-profile`.

use crate::extract::Path;
use axum::Json;
use axum::extract::State;
use clientwatch::Services;
use clientwatch::domain::tenants::Scope;
use clientwatch::monitoring::profiles;

use super::Routes;
use crate::extract::Auth;
use crate::problem::ApiError;

pub fn router() -> Routes {
    Routes::new().get("/v1/clients/{id}/bureau-profile", get)
}

/// The bureau's record of the client's subject as of the last run, and where the client
/// record differs from it.
pub async fn get(
    State(svc): State<Services>,
    auth: Auth,
    Path(client): Path<String>,
) -> Result<Json<profiles::View>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    Ok(Json(profiles::get(&svc, &caller.tenant_id, &client).await?))
}
