//! `/v1/clients/import` (up to `MAX_SYNC_ROWS` clients in one call, JSON or CSV) and
//! `/v1/imports` (a whole portfolio as one uploaded file, worked through by the import
//! function: see `clientwatch::flows::imports`).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use clientwatch::Services;
use clientwatch::domain::tenants::Scope;
use clientwatch::flows::client_import::{self, Counts, ImportRow, MAX_SYNC_ROWS};
use clientwatch::flows::imports::{self, ClientImport};
use clientwatch::keys;
use clientwatch::ports::Blobs;
use clientwatch::ports::blobs::Presign;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Routes;
use crate::extract::{Auth, JsonBody, JsonOrCsv, Path};
use crate::problem::ApiError;

/// How long a pre-signed upload URL works.
pub const UPLOAD_URL_SECONDS: u64 = 3600;

/// Where asynchronous imports keep their files, and how a file reaches them.
#[derive(Clone)]
pub struct ImportFiles {
    pub files: Arc<dyn Blobs>,
    /// Pre-signed S3 uploads (on AWS); without it the partner uploads through
    /// `PUT /v1/imports/{id}/file`.
    pub presign: Option<Arc<dyn Presign>>,
    /// Run an import in this process once its file is uploaded through the API (local mode);
    /// on AWS the upload's S3 event starts the import function instead.
    pub run_here: bool,
}

pub fn router() -> Routes {
    Routes::new()
        .post("/v1/clients/import", import)
        .post("/v1/imports", create)
        .get("/v1/imports/{id}", get)
        .put("/v1/imports/{id}/file", upload)
        .get("/v1/imports/{id}/results", results)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportBatch {
    /// Read one by one, so that one bad row does not refuse the rest.
    rows: Vec<Value>,
    #[serde(default)]
    monitor: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    monitor: Option<bool>,
}

/// Upserts clients by `external_ref` from `{"rows": [...], "monitor": bool}` or a CSV file
/// (`?monitor=true`): counts per outcome and a result per row with its line.
pub async fn import(
    State(svc): State<Services>,
    auth: Auth,
    query: Result<Query<ImportQuery>, axum::extract::rejection::QueryRejection>,
    body: JsonOrCsv<ImportBatch>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let query = query
        .map_err(|e| ApiError::invalid("query", e.body_text()))?
        .0;
    let (rows, monitor): (Vec<ImportRow>, bool) = match body {
        JsonOrCsv::Json(batch) => {
            if query.monitor.is_some() {
                return Err(ApiError::invalid(
                    "monitor",
                    "a JSON import says \"monitor\" in its body; the query's is for CSV",
                ));
            }
            (
                batch
                    .rows
                    .into_iter()
                    .enumerate()
                    .map(|(i, row)| ImportRow::from_json(i + 1, row))
                    .collect(),
                batch.monitor,
            )
        }
        JsonOrCsv::Csv(text) => (
            client_import::csv_rows(&text)?,
            query.monitor.unwrap_or(false),
        ),
    };
    if rows.len() > MAX_SYNC_ROWS {
        return Err(ApiError::invalid(
            "rows",
            format!(
                "{} rows: at most {MAX_SYNC_ROWS} a call; import a larger file through an \
                 asynchronous import (POST /v1/imports)",
                rows.len()
            ),
        ));
    }
    let results = client_import::import(&svc, &caller.tenant_id, rows, monitor, None).await?;
    let counts = Counts::of(&results);
    Ok(Json(json!({
        "created": counts.created,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "rejected": counts.rejected,
        "results": results,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateImport {
    #[serde(default)]
    monitor: bool,
}

fn files(files: Option<axum::Extension<ImportFiles>>) -> Result<ImportFiles, ApiError> {
    files
        .map(|f| f.0)
        .ok_or_else(|| ApiError::Unavailable("asynchronous imports have no file store here".into()))
}

/// Creates an import and answers where to upload its file.
pub async fn create(
    State(svc): State<Services>,
    auth: Auth,
    store: Option<axum::Extension<ImportFiles>>,
    JsonBody(request): JsonBody<CreateImport>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let store = files(store)?;
    let import = imports::create(&svc, &caller.tenant_id, request.monitor).await?;
    let key = keys::import_file(&caller.tenant_id, &import.id);
    let upload = match &store.presign {
        Some(presign) => {
            let url = presign
                .put_url(&key, Duration::from_secs(UPLOAD_URL_SECONDS))
                .await
                .map_err(|e| ApiError::Unavailable(Box::new(e)))?;
            json!({
                "method": "PUT",
                "url": url,
                "expires_at": svc.clock.now() + chrono::Duration::seconds(UPLOAD_URL_SECONDS as i64),
            })
        }
        None => json!({
            "method": "PUT",
            "url": format!("/v1/imports/{}/file", import.id),
        }),
    };
    let mut body = view(&import);
    body["upload"] = upload;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

fn view(import: &ClientImport) -> Value {
    serde_json::to_value(import).unwrap_or_default()
}

/// An import's status and progress.
pub async fn get(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    Ok(Json(view(
        &imports::get(&svc, &caller.tenant_id, &id).await?,
    )))
}

/// The largest file the upload route takes (an S3 upload takes up to the import's own limit).
pub const MAX_UPLOAD: usize = 64 * 1024 * 1024;

/// Takes an import's file through the API (locally, or a small file on AWS) and starts it.
pub async fn upload(
    State(svc): State<Services>,
    auth: Auth,
    store: Option<axum::Extension<ImportFiles>>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let store = files(store)?;
    let bytes = axum::body::to_bytes(body, MAX_UPLOAD)
        .await
        .map_err(|_| ApiError::TooLarge(MAX_UPLOAD))?;
    let import = imports::receive(
        &svc,
        store.files.as_ref(),
        &caller.tenant_id,
        &id,
        bytes.to_vec(),
    )
    .await?;
    if store.run_here {
        let (svc, files, tenant_id, id) = (
            svc.clone(),
            store.files.clone(),
            caller.tenant_id.clone(),
            import.id.clone(),
        );
        tokio::spawn(async move {
            if let Err(e) = imports::run(&svc, files.as_ref(), &tenant_id, &id).await {
                tracing::error!(error = %e, ?e, import_id = %id, "a client import stopped; run it again to go on");
            }
        });
    }
    Ok((StatusCode::ACCEPTED, Json(view(&import))).into_response())
}

/// A completed import's results, one JSON object a line in the file's order.
pub async fn results(
    State(svc): State<Services>,
    auth: Auth,
    store: Option<axum::Extension<ImportFiles>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let store = files(store)?;
    let bytes = imports::results(&svc, store.files.as_ref(), &caller.tenant_id, &id).await?;
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], bytes).into_response())
}
