//! The five routes of a resource kept under a client (`/v1/clients/{id}/<resources>` and
//! `/v1/clients/{id}/<resources>/{<resource>_id}`), as [`super::tenant_resource`] has them for
//! a resource kept under the tenant: a resource implements [`ClientResource`], and its module's
//! `router()` names the handlers for it (`list::<Contacts>`).

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

use super::{List, Listed, versioned_view};
use crate::extract::{Auth, IfMatch, JsonBody, Page, Patch, Path};
use crate::problem::ApiError;

/// A resource kept under a client, by the domain functions that keep it.
pub trait ClientResource {
    /// What a create takes; the resource is a `Resource<Spec>`.
    type Spec: DeserializeOwned + Serialize + Send;

    fn list(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        limit: usize,
        cursor: Option<Cursor>,
    ) -> impl Future<Output = domain::Result<Listed<Self::Spec>>> + Send;

    fn create(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        spec: Self::Spec,
    ) -> impl Future<Output = domain::Result<Resource<Self::Spec>>> + Send;

    fn get(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        id: &str,
    ) -> impl Future<Output = domain::Result<Resource<Self::Spec>>> + Send;

    fn update(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        id: &str,
        seen: u64,
        patch: &Value,
    ) -> impl Future<Output = domain::Result<Resource<Self::Spec>>> + Send;

    fn delete(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        id: &str,
        seen: u64,
    ) -> impl Future<Output = domain::Result<()>> + Send;

    /// What the API shows beside each resource that is kept elsewhere (read-only), added to
    /// the views of a list, a read or a write's answer. Nothing by default.
    fn annotate(
        _svc: &Services,
        _tenant_id: &str,
        _items: &[Resource<Self::Spec>],
        _views: &mut [Value],
    ) -> impl Future<Output = domain::Result<()>> + Send {
        async { Ok(()) }
    }
}

/// A resource's view with what `R` adds beside it.
async fn view<R: ClientResource>(
    svc: &Services,
    tenant_id: &str,
    resource: &Resource<R::Spec>,
) -> domain::Result<Value> {
    let mut views = [resource.view()];
    R::annotate(svc, tenant_id, std::slice::from_ref(resource), &mut views).await?;
    let [view] = views;
    Ok(view)
}

pub async fn list<R: ClientResource>(
    State(svc): State<Services>,
    auth: Auth,
    Path(client): Path<String>,
    page: Page,
) -> Result<List<Value>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let (items, next) =
        R::list(&svc, &caller.tenant_id, &client, page.limit, page.cursor()?).await?;
    let mut views: Vec<Value> = items.iter().map(Resource::view).collect();
    R::annotate(&svc, &caller.tenant_id, &items, &mut views).await?;
    Ok(List::page(views, &page, next))
}

pub async fn create<R: ClientResource>(
    State(svc): State<Services>,
    auth: Auth,
    Path(client): Path<String>,
    JsonBody(spec): JsonBody<R::Spec>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let created = R::create(&svc, &caller.tenant_id, &client, spec).await?;
    let shown = view::<R>(&svc, &caller.tenant_id, &created).await?;
    Ok(versioned_view(StatusCode::CREATED, &created, shown))
}

pub async fn get<R: ClientResource>(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let found = R::get(&svc, &caller.tenant_id, &client, &id).await?;
    let shown = view::<R>(&svc, &caller.tenant_id, &found).await?;
    Ok(versioned_view(StatusCode::OK, &found, shown))
}

pub async fn update<R: ClientResource>(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, id)): Path<(String, String)>,
    IfMatch(seen): IfMatch,
    JsonBody(patch): Patch,
) -> Result<Response, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let changed = R::update(&svc, &caller.tenant_id, &client, &id, seen, &patch).await?;
    let shown = view::<R>(&svc, &caller.tenant_id, &changed).await?;
    Ok(versioned_view(StatusCode::OK, &changed, shown))
}

pub async fn delete<R: ClientResource>(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, id)): Path<(String, String)>,
    IfMatch(seen): IfMatch,
) -> Result<StatusCode, ApiError> {
    let caller = auth.require(Scope::Write)?;
    R::delete(&svc, &caller.tenant_id, &client, &id, seen).await?;
    Ok(StatusCode::NO_CONTENT)
}
