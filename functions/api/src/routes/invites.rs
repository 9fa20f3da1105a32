//! Customer Centre invites: `/v1/clients/{id}/opportunities/{opportunity_id}/invites`.
//!
//! A link is in an answer only when it is new (created or regenerated with delivery `link`);
//! such answers are marked `Cache-Control: no-store`, which also keeps them out of the
//! idempotency records (see `idempotency.rs`).

use crate::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clientwatch::Services;
use clientwatch::centre::invites::{self, Delivery, InviteRequest, Issued};
use clientwatch::domain::tenants::Scope;
use serde_json::Value;

use super::{List, Routes};
use crate::extract::{Auth, JsonBody, Page};
use crate::problem::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get(
            "/v1/clients/{id}/opportunities/{opportunity_id}/invites",
            list,
        )
        .post(
            "/v1/clients/{id}/opportunities/{opportunity_id}/invites",
            create,
        )
        .get(
            "/v1/clients/{id}/opportunities/{opportunity_id}/invites/{invite_id}",
            get,
        )
        .post(
            "/v1/clients/{id}/opportunities/{opportunity_id}/invites/{invite_id}/revoke",
            revoke,
        )
        .post(
            "/v1/clients/{id}/opportunities/{opportunity_id}/invites/{invite_id}/regenerate",
            regenerate,
        )
}

type OpportunityPath = Path<(String, String)>;
type InvitePath = Path<(String, String, String)>;

pub async fn list(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, opportunity)): OpportunityPath,
    page: Page,
) -> Result<List<Value>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let (items, next) = invites::list(
        &svc,
        &caller.tenant_id,
        &client,
        &opportunity,
        page.limit,
        page.cursor()?,
    )
    .await?;
    let now = svc.clock.now();
    let views = items.iter().map(|i| i.view(now)).collect();
    Ok(List::page(views, &page, next))
}

pub async fn create(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, opportunity)): OpportunityPath,
    JsonBody(request): JsonBody<InviteRequest>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let issued = invites::create(&svc, &caller.tenant_id, &client, &opportunity, request).await?;
    Ok(issued_answer(&svc, StatusCode::CREATED, issued))
}

pub async fn get(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, opportunity, id)): InvitePath,
) -> Result<Json<Value>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let invite = invites::get(&svc, &caller.tenant_id, &client, &opportunity, &id).await?;
    Ok(Json(invite.view(svc.clock.now())))
}

pub async fn revoke(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, opportunity, id)): InvitePath,
) -> Result<Json<Value>, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let invite = invites::revoke(&svc, &caller.tenant_id, &client, &opportunity, &id).await?;
    Ok(Json(invite.view(svc.clock.now())))
}

pub async fn regenerate(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, opportunity, id)): InvitePath,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let issued = invites::regenerate(&svc, &caller.tenant_id, &client, &opportunity, &id).await?;
    Ok(issued_answer(&svc, StatusCode::OK, issued))
}

/// The invite, with its link when the partner delivers it themselves.
fn issued_answer(svc: &Services, status: StatusCode, issued: Issued) -> Response {
    let mut body = issued.invite.view(svc.clock.now());
    if issued.invite.delivery == Delivery::Email {
        return (status, Json(body)).into_response();
    }
    body["link"] = Value::from(issued.link);
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
