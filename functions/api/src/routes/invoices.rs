//! `/v1/clients/{id}/invoices` and `/v1/invoices/import`: a client's invoices as partner
//! systems keep them, one at a time or many in one JSON or CSV import.

use axum::Json;
use axum::extract::State;
use clientwatch::Services;
use clientwatch::comms::invoices::{self, ImportOutcome, ImportRow, InvoiceSpec};
use clientwatch::domain::tenants::Scope;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::extract::{Auth, JsonOrCsv};
use crate::problem::ApiError;

client_resource!(
    InvoiceSpec,
    list: invoices::list,
    create: invoices::create,
    get: invoices::get,
    update: invoices::update,
    delete: invoices::delete,
);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportBatch {
    /// Read one by one, so that one bad row does not refuse the rest.
    invoices: Vec<Value>,
}

/// Upserts invoices by (client, number) from `{"invoices": [...]}` or a CSV file: counts per
/// outcome, and a result per row with its line.
pub async fn import(
    State(svc): State<Services>,
    auth: Auth,
    body: JsonOrCsv<ImportBatch>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let rows = match body {
        JsonOrCsv::Json(batch) => batch
            .invoices
            .into_iter()
            .enumerate()
            .map(|(i, row)| ImportRow::from_json(i + 1, row))
            .collect(),
        JsonOrCsv::Csv(text) => invoices::csv_rows(&text)?,
    };
    let results = invoices::import(&svc, &caller.tenant_id, rows).await?;
    let count = |outcome: ImportOutcome| results.iter().filter(|r| r.outcome == outcome).count();
    Ok(Json(json!({
        "created": count(ImportOutcome::Created),
        "updated": count(ImportOutcome::Updated),
        "unchanged": count(ImportOutcome::Unchanged),
        "rejected": count(ImportOutcome::Rejected),
        "results": results,
    })))
}
