//! `/v1/webhooks`: a tenant's signed webhook endpoints (Standard Webhooks), their delivery log
//! and replay. An endpoint's secret is in the answer to its creation and to a rotation only.
//! Which URLs an endpoint may have is the router's [`UrlPolicy`] (an `Extension`; https to
//! public addresses unless the local server allows http to localhost).

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use clientwatch::Services;
use clientwatch::domain::tenants::Scope;
use clientwatch::domain::webhooks::{UrlPolicy, WebhookSpec};
use clientwatch::webhooks::deliveries::{self, Replay};
use clientwatch::webhooks::endpoints;
use serde::Deserialize;
use serde_json::{Value, json};

use super::tenant_resource::{self, TenantResource};
use super::{List, Listed, Routes, versioned};
use crate::extract::{Auth, IfMatch, JsonBody, Page, Patch, Path};
use crate::problem::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get("/v1/webhooks", tenant_resource::list::<Webhooks>)
        .post("/v1/webhooks", create)
        .get("/v1/webhooks/{id}", tenant_resource::get::<Webhooks>)
        .patch("/v1/webhooks/{id}", update)
        .delete("/v1/webhooks/{id}", tenant_resource::delete::<Webhooks>)
        .post("/v1/webhooks/{id}/rotate-secret", rotate)
        .get("/v1/webhooks/{id}/deliveries", list_deliveries)
        .post("/v1/webhooks/{id}/replay", replay)
}

fn policy(ext: Option<Extension<UrlPolicy>>) -> UrlPolicy {
    ext.map_or(UrlPolicy::Public, |Extension(p)| p)
}

fn secret_answer(status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn create(
    State(svc): State<Services>,
    ext: Option<Extension<UrlPolicy>>,
    auth: Auth,
    JsonBody(spec): JsonBody<WebhookSpec>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let (endpoint, secret) = endpoints::create(&svc, &caller.tenant_id, spec, policy(ext)).await?;
    let mut response = versioned(StatusCode::CREATED, &endpoint);
    let mut view = endpoint.view();
    view["secret"] = Value::from(secret);
    *response.body_mut() = axum::body::Body::from(view.to_string());
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub async fn update(
    State(svc): State<Services>,
    ext: Option<Extension<UrlPolicy>>,
    auth: Auth,
    Path(id): Path<String>,
    IfMatch(seen): IfMatch,
    JsonBody(patch): Patch,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let changed =
        endpoints::update(&svc, &caller.tenant_id, &id, seen, &patch, policy(ext)).await?;
    Ok(versioned(StatusCode::OK, &changed))
}

pub async fn rotate(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let secret = endpoints::rotate(&svc, &caller.tenant_id, &id).await?;
    let until = svc.clock.now() + chrono::Duration::hours(endpoints::OVERLAP_HOURS);
    Ok(secret_answer(
        StatusCode::OK,
        json!({ "secret": secret, "previous_secret_until": until }),
    ))
}

pub async fn list_deliveries(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
    page: Page,
) -> Result<List<Value>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let (items, next) =
        deliveries::list(&svc, &caller.tenant_id, &id, page.limit, page.cursor()?).await?;
    Ok(List::page(
        items.iter().map(deliveries::Delivery::view).collect(),
        &page,
        next,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayBody {
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    message_id: Option<String>,
}

pub async fn replay(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReplayBody>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let what = match (body.since, body.message_id) {
        (Some(since), None) => Replay::Since(
            DateTime::parse_from_rfc3339(&since)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::invalid("since", "must be a time such as 2026-11-20T00:00:00Z")
                })?,
        ),
        (None, Some(msg)) => Replay::Message(msg),
        _ => {
            return Err(ApiError::invalid(
                "body",
                "give exactly one of since (a time) or message_id (a webhook-id)",
            ));
        }
    };
    let queued = deliveries::replay(&svc, &caller.tenant_id, &id, what).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "queued": queued }))).into_response())
}

/// The list, get and delete of an endpoint are the usual ones; create and update take the
/// router's URL policy.
pub struct Webhooks;

impl TenantResource for Webhooks {
    type Spec = WebhookSpec;

    async fn list(
        svc: &Services,
        tenant_id: &str,
        limit: usize,
        cursor: Option<clientwatch::ports::Cursor>,
    ) -> clientwatch::domain::Result<Listed<WebhookSpec>> {
        endpoints::list(svc, tenant_id, limit, cursor).await
    }

    async fn create(
        svc: &Services,
        tenant_id: &str,
        spec: WebhookSpec,
    ) -> clientwatch::domain::Result<endpoints::Endpoint> {
        endpoints::create(svc, tenant_id, spec, UrlPolicy::Public)
            .await
            .map(|(e, _)| e)
    }

    async fn get(
        svc: &Services,
        tenant_id: &str,
        id: &str,
    ) -> clientwatch::domain::Result<endpoints::Endpoint> {
        endpoints::get(svc.table.as_ref(), tenant_id, id).await
    }

    async fn update(
        svc: &Services,
        tenant_id: &str,
        id: &str,
        seen: u64,
        patch: &Value,
    ) -> clientwatch::domain::Result<endpoints::Endpoint> {
        endpoints::update(svc, tenant_id, id, seen, patch, UrlPolicy::Public).await
    }

    async fn delete(
        svc: &Services,
        tenant_id: &str,
        id: &str,
        seen: u64,
    ) -> clientwatch::domain::Result<()> {
        endpoints::delete(svc, tenant_id, id, seen).await
    }
}
