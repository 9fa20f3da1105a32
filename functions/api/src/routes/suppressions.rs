//! `/v1/suppressions`: the tenant's e-mail addresses that get no more e-mail because a message
//! to them bounced for good or was reported as spam (a digest's alert recipients among them),
//! and lifting one (`DELETE /v1/suppressions?address=`) once the mailbox is mended.

use axum::extract::State;
use axum::http::StatusCode;
use clientwatch::Services;
use clientwatch::domain::EmailAddress;
use clientwatch::domain::tenants::Scope;
use clientwatch::records::suppressions::{self, Suppression};

use super::{List, Routes};
use crate::extract::{Auth, Page};
use crate::problem::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get("/v1/suppressions", list)
        .delete("/v1/suppressions", lift)
}

/// The suppressed addresses, by address.
pub async fn list(
    State(svc): State<Services>,
    auth: Auth,
    page: Page,
) -> Result<List<Suppression>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let (items, next) = suppressions::list(
        svc.table.as_ref(),
        &caller.tenant_id,
        page.limit,
        page.cursor()?,
    )
    .await?;
    Ok(List::page(items, &page, next))
}

#[derive(serde::Deserialize)]
pub struct Lift {
    address: String,
}

/// Lifts a suppression (`?address=`): the next message to the address is sent.
pub async fn lift(
    State(svc): State<Services>,
    auth: Auth,
    query: Result<axum::extract::Query<Lift>, axum::extract::rejection::QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let query = query.map_err(|_| ApiError::invalid("address", "give address=<e-mail address>"))?;
    let address = EmailAddress::parse(&query.0.address)
        .map_err(|e| ApiError::invalid("address", format!("is not an e-mail address: {e}")))?;
    suppressions::lift(svc.table.as_ref(), &caller.tenant_id, &address).await?;
    Ok(StatusCode::NO_CONTENT)
}
