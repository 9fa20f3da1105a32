//! The five routes of a resource kept under the tenant (`/v1/<resources>` and
//! `/v1/<resources>/{id}`): list, create, get, update (a JSON merge patch under `If-Match`) and
//! delete (under `If-Match`). A resource says which domain functions these are by implementing
//! [`TenantResource`]; its module's `router()` names the handlers for it (`list::<Clients>`).
//! Each handler checks the key's scope, calls the domain, and answers with the resource and its
//! ETag.

use std::future::Future;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use clientwatch::Services;
use clientwatch::domain;
use clientwatch::domain::resource::Resource;
use clientwatch::domain::tenants::Scope;
use clientwatch::ports::Cursor;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{List, Listed, versioned};
use crate::extract::{Auth, IfMatch, JsonBody, Page, Patch, Path};
use crate::problem::ApiError;

/// A resource kept under the tenant, by the domain functions that keep it.
pub trait TenantResource {
    /// What a create takes; the resource is a `Resource<Spec>`.
    type Spec: DeserializeOwned + Serialize + Send;

    fn list(
        svc: &Services,
        tenant_id: &str,
        limit: usize,
        cursor: Option<Cursor>,
    ) -> impl Future<Output = domain::Result<Listed<Self::Spec>>> + Send;

    fn create(
        svc: &Services,
        tenant_id: &str,
        spec: Self::Spec,
    ) -> impl Future<Output = domain::Result<Resource<Self::Spec>>> + Send;

    fn get(
        svc: &Services,
        tenant_id: &str,
        id: &str,
    ) -> impl Future<Output = domain::Result<Resource<Self::Spec>>> + Send;

    fn update(
        svc: &Services,
        tenant_id: &str,
        id: &str,
        seen: u64,
        patch: &Value,
    ) -> impl Future<Output = domain::Result<Resource<Self::Spec>>> + Send;

    fn delete(
        svc: &Services,
        tenant_id: &str,
        id: &str,
        seen: u64,
    ) -> impl Future<Output = domain::Result<()>> + Send;
}

pub async fn list<R: TenantResource>(
    State(svc): State<Services>,
    auth: Auth,
    page: Page,
) -> Result<List<Value>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let (items, next) = R::list(&svc, &caller.tenant_id, page.limit, page.cursor()?).await?;
    let views = items.iter().map(Resource::view).collect();
    Ok(List::page(views, &page, next))
}

pub async fn create<R: TenantResource>(
    State(svc): State<Services>,
    auth: Auth,
    JsonBody(spec): JsonBody<R::Spec>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let created = R::create(&svc, &caller.tenant_id, spec).await?;
    Ok(versioned(StatusCode::CREATED, &created))
}

pub async fn get<R: TenantResource>(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let found = R::get(&svc, &caller.tenant_id, &id).await?;
    Ok(versioned(StatusCode::OK, &found))
}

pub async fn update<R: TenantResource>(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
    IfMatch(seen): IfMatch,
    JsonBody(patch): Patch,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let changed = R::update(&svc, &caller.tenant_id, &id, seen, &patch).await?;
    Ok(versioned(StatusCode::OK, &changed))
}

pub async fn delete<R: TenantResource>(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
    IfMatch(seen): IfMatch,
) -> Result<StatusCode, ApiError> {
    let caller = auth.require(Scope::Write)?;
    R::delete(&svc, &caller.tenant_id, &id, seen).await?;
    Ok(StatusCode::NO_CONTENT)
}
