//! Monitoring: `/v1/clients/{id}/monitoring`, `/v1/monitoring/bulk`, `/v1/hits` and
//! `/v1/usage`.

use crate::extract::Path;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use clientwatch::Services;
use clientwatch::domain::input;
use clientwatch::domain::tenants::Scope;
use clientwatch::monitoring::hits;
use clientwatch::monitoring::monitors::{self, BulkRequest, StartRequest};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{List, Routes};
use crate::extract::{Auth, FilteredPage, JsonBody};
use crate::problem::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get("/v1/clients/{id}/monitoring", get)
        .post("/v1/clients/{id}/monitoring", start)
        .delete("/v1/clients/{id}/monitoring", stop)
        .post("/v1/monitoring/bulk", bulk)
        .get("/v1/hits", list_hits)
        .get("/v1/hits/{id}", get_hit)
        .post("/v1/hits/{id}/acknowledge", acknowledge)
        .get("/v1/usage", usage)
}

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
    JsonBody(mut request): JsonBody<BulkRequest>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth.require(Scope::Write)?;
    if request.client_ids.len() > monitors::MAX_BULK {
        return Err(ApiError::invalid(
            "client_ids",
            format!("give 1 to {} client ids", monitors::MAX_BULK),
        ));
    }
    // A client id that is not an id is that row's failure; the others go on.
    let all = std::mem::take(&mut request.client_ids);
    let mut refused = std::collections::HashMap::new();
    for (i, id) in all.iter().enumerate() {
        if let Err(e) = input::id(format!("client_ids[{i}]"), id) {
            refused.insert(i, e);
        }
    }
    request.client_ids = (0..all.len())
        .filter(|i| !refused.contains_key(i))
        .map(|i| all[i].clone())
        .collect();
    let mut outcomes = if request.client_ids.is_empty() && !refused.is_empty() {
        Vec::new()
    } else {
        monitors::bulk(&svc, &caller.tenant_id, request).await?
    }
    .into_iter();
    let mut failed = 0;
    let mut failure = |client_id: &str, e: ApiError| {
        failed += 1;
        json!({"client_id": client_id, "status": "failed", "problem": e.body()})
    };
    let mut results = Vec::with_capacity(all.len());
    for (i, client_id) in all.iter().enumerate() {
        let outcome = if refused.contains_key(&i) {
            None
        } else {
            outcomes.next()
        };
        results.push(match (refused.remove(&i), outcome) {
            (Some(e), _) => failure(client_id, e.into()),
            (None, Some(o)) => match o.result {
                Ok(status) => json!({"client_id": o.client_id, "status": status}),
                Err(e) => failure(&o.client_id, e.into()),
            },
            (None, None) => failure(
                client_id,
                ApiError::Internal("the bulk call gave fewer results than client ids".into()),
            ),
        });
    }
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
) -> Result<List<hits::Hit>, ApiError> {
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
    Ok(List::page(items, &page, next))
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
