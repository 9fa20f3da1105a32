//! `/v1/clients/{id}/invoices` and `/v1/invoices/import`: a client's invoices as partner
//! systems keep them, one at a time or many in one JSON or CSV import.

use axum::Json;
use axum::extract::State;
use clientwatch::Services;
use clientwatch::comms::invoices::{self, ImportOutcome, ImportRow, Invoice, InvoiceSpec};
use clientwatch::domain;
use clientwatch::domain::tenants::Scope;
use clientwatch::ports::Cursor;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Routes;
use super::client_resource::{self, ClientResource};
use crate::extract::{Auth, JsonOrCsv};
use crate::problem::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get(
            "/v1/clients/{id}/invoices",
            client_resource::list::<Invoices>,
        )
        .post(
            "/v1/clients/{id}/invoices",
            client_resource::create::<Invoices>,
        )
        .get(
            "/v1/clients/{id}/invoices/{invoice_id}",
            client_resource::get::<Invoices>,
        )
        .patch(
            "/v1/clients/{id}/invoices/{invoice_id}",
            client_resource::update::<Invoices>,
        )
        .delete(
            "/v1/clients/{id}/invoices/{invoice_id}",
            client_resource::delete::<Invoices>,
        )
        .post("/v1/invoices/import", import)
}

pub struct Invoices;

impl ClientResource for Invoices {
    type Spec = InvoiceSpec;

    async fn list(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        limit: usize,
        cursor: Option<Cursor>,
    ) -> domain::Result<(Vec<Invoice>, Option<Cursor>)> {
        invoices::list(svc, tenant_id, client_id, limit, cursor).await
    }

    async fn create(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        spec: InvoiceSpec,
    ) -> domain::Result<Invoice> {
        invoices::create(svc, tenant_id, client_id, spec).await
    }

    async fn get(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        id: &str,
    ) -> domain::Result<Invoice> {
        invoices::get(svc, tenant_id, client_id, id).await
    }

    async fn update(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        id: &str,
        seen: u64,
        patch: &Value,
    ) -> domain::Result<Invoice> {
        invoices::update(svc, tenant_id, client_id, id, seen, patch).await
    }

    async fn delete(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        id: &str,
        seen: u64,
    ) -> domain::Result<()> {
        invoices::delete(svc, tenant_id, client_id, id, seen).await
    }
}

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
