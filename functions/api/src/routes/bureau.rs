//! The bureau's view of a client, `/v1/clients/{id}/bureau-profile`, and the client's change
//! history, `/v1/clients/{id}/changes` (where the bureau's applied changes are recorded).

use crate::extract::Path;
use axum::extract::State;
use axum::{Extension, Json};
use clientwatch::Services;
use clientwatch::domain::tenants::Scope;
use clientwatch::monitoring::profiles;
use clientwatch::records::clients::{self, ClientChange};

use super::{List, Routes};
use crate::Baselines;
use crate::extract::{Auth, Page};
use crate::problem::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get("/v1/clients/{id}/bureau-profile", get)
        .get("/v1/clients/{id}/changes", changes)
}

/// The bureau's record of the client's subject as of the last run, and where the client
/// record differs from it.
pub async fn get(
    State(svc): State<Services>,
    auth: Auth,
    Path(client): Path<String>,
    baselines: Option<Extension<Baselines>>,
) -> Result<Json<profiles::View>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let baselines = baselines.as_ref().map(|b| b.0.0.as_ref());
    Ok(Json(
        profiles::get(&svc, baselines, &caller.tenant_id, &client).await?,
    ))
}

/// The client's change history, newest first: which field, from what to what, by whom.
pub async fn changes(
    State(svc): State<Services>,
    auth: Auth,
    Path(client): Path<String>,
    page: Page,
) -> Result<List<ClientChange>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let (found, next) = clients::changes(
        svc.table.as_ref(),
        &caller.tenant_id,
        &client,
        page.limit,
        page.cursor()?,
    )
    .await?;
    Ok(List::page(found, &page, next))
}
