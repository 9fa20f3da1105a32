//! The communications log: what was sent to whom, when, on which channel and with what result,
//! per client and per invoice; and the tenant's skipped messages (those that reached nobody),
//! as warnings to act on.

use crate::extract::Path;
use axum::extract::State;
use clientwatch::Services;
use clientwatch::comms::{invoices, log};
use clientwatch::domain::tenants::Scope;

use super::{List, Routes};
use crate::extract::{Auth, Page};
use crate::problem::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get("/v1/clients/{id}/communications", for_client)
        .get(
            "/v1/clients/{id}/invoices/{invoice_id}/communications",
            for_invoice,
        )
        .get("/v1/communications/skipped", skipped)
}

/// A client's log, newest first.
pub async fn for_client(
    State(svc): State<Services>,
    auth: Auth,
    Path(client): Path<String>,
    list: Page,
) -> Result<List<log::Entry>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let (items, next) =
        log::for_client(&svc, &caller.tenant_id, &client, list.limit, list.cursor()?).await?;
    Ok(List::page(items, &list, next))
}

/// An invoice's log, newest first.
pub async fn for_invoice(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, invoice)): Path<(String, String)>,
    list: Page,
) -> Result<List<log::Entry>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    // An unknown invoice is a 404, not an empty log.
    invoices::get(&svc, &caller.tenant_id, &client, &invoice).await?;
    let (items, next) = log::for_invoice(
        &svc,
        &caller.tenant_id,
        &client,
        &invoice,
        list.limit,
        list.cursor()?,
    )
    .await?;
    Ok(List::page(items, &list, next))
}

/// The tenant's messages that reached nobody, newest first, each with its reason.
pub async fn skipped(
    State(svc): State<Services>,
    auth: Auth,
    list: Page,
) -> Result<List<log::Entry>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let (items, next) = log::skipped(&svc, &caller.tenant_id, list.limit, list.cursor()?).await?;
    Ok(List::page(items, &list, next))
}
