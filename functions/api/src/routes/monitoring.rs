//! Monitoring: `/v1/clients/{id}/monitoring`, `/v1/monitoring/bulk`, `/v1/hits` and
//! `/v1/usage`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use clientwatch::Services;
use clientwatch::domain::tenants::Scope;
use clientwatch::monitoring::hits;
use clientwatch::monitoring::monitors::{self, BulkRequest, StartRequest};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::extract::{Auth, FilteredPage, JsonBody};
use crate::problem::ApiError;

pub async fn get(
    State(svc): State<Services>,
    auth: Auth,
    Path(client): Path<String>,
) -> Result<Json<monitors::Monitor>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    Ok(Json(monitors::get(&svc, &caller.tenant_id, &client).await?))
}

/// Starts monitoring (201) or changes the monitor's reason or frequency (200).
pub async fn start(
    State(svc): State<Services>,
    auth: Auth,
    Path(client): Path<String>,
    JsonBody(request): JsonBody<StartRequest>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let (monitor, created) = monitors::start(&svc, &caller.tenant_id, &client, request).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(monitor)).into_response())
}

pub async fn stop(
    State(svc): State<Services>,
    auth: Auth,
    Path(client): Path<String>,
) -> Result<StatusCode, ApiError> {
    let caller = auth.require(Scope::Write)?;
    monitors::stop(&svc, &caller.tenant_id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts or stops many clients' monitors; each client gets its own result.
pub async fn bulk(
    State(svc): State<Services>,
    auth: Auth,
    JsonBody(request): JsonBody<BulkRequest>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let outcomes = monitors::bulk(&svc, &caller.tenant_id, request).await?;
    let mut failed = 0;
    let results: Vec<Value> = outcomes
        .into_iter()
        .map(|o| match o.result {
            Ok(status) => json!({"client_id": o.client_id, "status": status}),
            Err(e) => {
                failed += 1;
                json!({"client_id": o.client_id, "status": "failed", "problem": ApiError::from(e).body()})
            }
        })
        .collect();
    Ok(Json(json!({
        "succeeded": results.len() - failed,
        "failed": failed,
        "results": results,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HitsQuery {
    since: Option<String>,
    // Read by the page (`FilteredPage`); named here so that other parameters are refused.
    #[serde(rename = "limit")]
    _limit: Option<String>,
    #[serde(rename = "cursor")]
    _cursor: Option<String>,
}

/// The tenant's hits in the order found, from `since` (RFC 3339) on, a page at a time.
pub async fn list_hits(
    State(svc): State<Services>,
    auth: Auth,
    FilteredPage(page): FilteredPage,
    query: Result<Query<HitsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let query = query
        .map_err(|e| ApiError::invalid("query", e.body_text()))?
        .0;
    let since = query
        .since
        .map(|s| {
            DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::invalid("since", "must be a time such as 2026-11-20T00:00:00Z")
                })
        })
        .transpose()?;
    let (items, next) =
        hits::list(&svc, &caller.tenant_id, since, page.limit, page.cursor()?).await?;
    let mut body = json!({ "items": items });
    if let Some(next) = page.next(next) {
        body["next_cursor"] = Value::from(next);
    }
    Ok(Json(body))
}

pub async fn get_hit(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<hits::Hit>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    Ok(Json(hits::get(&svc, &caller.tenant_id, &id).await?))
}

pub async fn acknowledge(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<hits::Hit>, ApiError> {
    let caller = auth.require(Scope::Write)?;
    Ok(Json(hits::acknowledge(&svc, &caller.tenant_id, &id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    month: Option<String>,
}

/// Billed hits and amounts of a month, per kind.
pub async fn usage(
    State(svc): State<Services>,
    auth: Auth,
    query: Result<Query<UsageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<hits::Usage>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let query = query
        .map_err(|e| ApiError::invalid("query", e.body_text()))?
        .0;
    Ok(Json(
        hits::usage(&svc, &caller.tenant_id, query.month.as_deref()).await?,
    ))
}
