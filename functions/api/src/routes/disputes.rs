//! `/v1/disputes` and `/v1/clients/{id}/statements`: what the collections team works from.
//! The tenant's disputed invoices (raised by a client's contact in the account portal, or
//! marked so by the partner), each with its client; and a client's stored monthly statements,
//! as the communications run sent them.

use axum::Json;
use axum::extract::State;
use clientwatch::Services;
use clientwatch::comms::{invoices, statements};
use clientwatch::domain::tenants::Scope;
use serde::Serialize;
use serde_json::Value;

use super::{List, Routes};
use crate::extract::{Auth, Page, Path};
use crate::problem::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get("/v1/disputes", list_disputes)
        .get("/v1/clients/{id}/statements", list_statements)
        .get("/v1/clients/{id}/statements/{month}", get_statement)
}

/// The tenant's disputed invoices, in client and invoice order: each invoice as
/// `GET /v1/clients/{id}/invoices/{invoice_id}` answers it, with its `client_id`.
pub async fn list_disputes(
    State(svc): State<Services>,
    auth: Auth,
    page: Page,
) -> Result<List<Value>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let (found, next) =
        invoices::disputed(&svc, &caller.tenant_id, page.limit, page.cursor()?).await?;
    let items = found
        .into_iter()
        .map(|(client_id, invoice)| {
            let mut view = invoice.view();
            if let Value::Object(fields) = &mut view {
                fields.insert("client_id".into(), Value::from(client_id));
            }
            view
        })
        .collect();
    Ok(List::page(items, &page, next))
}

/// A stored statement as listed: what it totalled, without its lines.
#[derive(Serialize)]
pub struct Summary {
    month: String,
    day: chrono::NaiveDate,
    sent_at: chrono::DateTime<chrono::Utc>,
    invoices: usize,
    totals: Vec<statements::Total>,
}

/// A client's stored statements, newest first.
pub async fn list_statements(
    State(svc): State<Services>,
    auth: Auth,
    Path(client): Path<String>,
    page: Page,
) -> Result<List<Summary>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let (found, next) =
        statements::list(&svc, &caller.tenant_id, &client, page.limit, page.cursor()?).await?;
    let items = found
        .into_iter()
        .map(|s| Summary {
            month: s.month,
            day: s.day,
            sent_at: s.sent_at,
            invoices: s.lines.len(),
            totals: s.totals,
        })
        .collect();
    Ok(List::page(items, &page, next))
}

/// One stored statement, with its lines.
pub async fn get_statement(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, month)): Path<(String, String)>,
) -> Result<Json<statements::Statement>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    Ok(Json(
        statements::get(&svc, &caller.tenant_id, &client, &month).await?,
    ))
}
