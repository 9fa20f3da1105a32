//! The routes. Each handler parses, calls the domain, and shapes the answer; nothing more.

/// The five handlers of a resource kept under the tenant: list, create, get, update (a merge
/// patch under `If-Match`) and delete (under `If-Match`). Each checks the key's scope, calls
/// the domain function named here, and answers with the resource and its ETag.
macro_rules! tenant_resource {
    ($spec:ty, list: $list:path, create: $create:path, get: $get:path, update: $update:path, delete: $delete:path $(,)?) => {
        pub async fn list(
            axum::extract::State(svc): axum::extract::State<clientwatch::Services>,
            auth: $crate::extract::Auth,
            page: $crate::extract::Page,
        ) -> Result<axum::response::Response, $crate::problem::ApiError> {
            let caller = auth.require(clientwatch::domain::tenants::Scope::Read)?;
            let (items, next) = $list(&svc, &caller.tenant_id, page.limit, page.cursor()?).await?;
            Ok(axum::response::IntoResponse::into_response(
                $crate::routes::List::of(&items, page.next(next)),
            ))
        }

        pub async fn create(
            axum::extract::State(svc): axum::extract::State<clientwatch::Services>,
            auth: $crate::extract::Auth,
            $crate::extract::JsonBody(spec): $crate::extract::JsonBody<$spec>,
        ) -> Result<axum::response::Response, $crate::problem::ApiError> {
            let caller = auth.require(clientwatch::domain::tenants::Scope::Write)?;
            let created = $create(&svc, &caller.tenant_id, spec).await?;
            Ok($crate::routes::versioned(
                axum::http::StatusCode::CREATED,
                &created,
            ))
        }

        pub async fn get(
            axum::extract::State(svc): axum::extract::State<clientwatch::Services>,
            auth: $crate::extract::Auth,
            $crate::extract::Path(id): $crate::extract::Path<String>,
        ) -> Result<axum::response::Response, $crate::problem::ApiError> {
            let caller = auth.require(clientwatch::domain::tenants::Scope::Read)?;
            let found = $get(&svc, &caller.tenant_id, &id).await?;
            Ok($crate::routes::versioned(
                axum::http::StatusCode::OK,
                &found,
            ))
        }

        pub async fn update(
            axum::extract::State(svc): axum::extract::State<clientwatch::Services>,
            auth: $crate::extract::Auth,
            $crate::extract::Path(id): $crate::extract::Path<String>,
            $crate::extract::IfMatch(seen): $crate::extract::IfMatch,
            $crate::extract::JsonBody(patch): $crate::extract::Patch,
        ) -> Result<axum::response::Response, $crate::problem::ApiError> {
            let caller = auth.require(clientwatch::domain::tenants::Scope::Write)?;
            let changed = $update(&svc, &caller.tenant_id, &id, seen, &patch).await?;
            Ok($crate::routes::versioned(
                axum::http::StatusCode::OK,
                &changed,
            ))
        }

        pub async fn delete(
            axum::extract::State(svc): axum::extract::State<clientwatch::Services>,
            auth: $crate::extract::Auth,
            $crate::extract::Path(id): $crate::extract::Path<String>,
            $crate::extract::IfMatch(seen): $crate::extract::IfMatch,
        ) -> Result<axum::response::Response, $crate::problem::ApiError> {
            let caller = auth.require(clientwatch::domain::tenants::Scope::Write)?;
            $delete(&svc, &caller.tenant_id, &id, seen).await?;
            Ok(axum::response::IntoResponse::into_response(
                axum::http::StatusCode::NO_CONTENT,
            ))
        }
    };
}

/// The same five handlers for a resource kept under a client (`/v1/clients/{id}/...`).
macro_rules! client_resource {
    ($spec:ty, list: $list:path, create: $create:path, get: $get:path, update: $update:path, delete: $delete:path $(,)?) => {
        pub async fn list(
            axum::extract::State(svc): axum::extract::State<clientwatch::Services>,
            auth: $crate::extract::Auth,
            $crate::extract::Path(client): $crate::extract::Path<String>,
            page: $crate::extract::Page,
        ) -> Result<axum::response::Response, $crate::problem::ApiError> {
            let caller = auth.require(clientwatch::domain::tenants::Scope::Read)?;
            let (items, next) =
                $list(&svc, &caller.tenant_id, &client, page.limit, page.cursor()?).await?;
            Ok(axum::response::IntoResponse::into_response(
                $crate::routes::List::of(&items, page.next(next)),
            ))
        }

        pub async fn create(
            axum::extract::State(svc): axum::extract::State<clientwatch::Services>,
            auth: $crate::extract::Auth,
            $crate::extract::Path(client): $crate::extract::Path<String>,
            $crate::extract::JsonBody(spec): $crate::extract::JsonBody<$spec>,
        ) -> Result<axum::response::Response, $crate::problem::ApiError> {
            let caller = auth.require(clientwatch::domain::tenants::Scope::Write)?;
            let created = $create(&svc, &caller.tenant_id, &client, spec).await?;
            Ok($crate::routes::versioned(
                axum::http::StatusCode::CREATED,
                &created,
            ))
        }

        pub async fn get(
            axum::extract::State(svc): axum::extract::State<clientwatch::Services>,
            auth: $crate::extract::Auth,
            $crate::extract::Path((client, id)): $crate::extract::Path<(String, String)>,
        ) -> Result<axum::response::Response, $crate::problem::ApiError> {
            let caller = auth.require(clientwatch::domain::tenants::Scope::Read)?;
            let found = $get(&svc, &caller.tenant_id, &client, &id).await?;
            Ok($crate::routes::versioned(
                axum::http::StatusCode::OK,
                &found,
            ))
        }

        pub async fn update(
            axum::extract::State(svc): axum::extract::State<clientwatch::Services>,
            auth: $crate::extract::Auth,
            $crate::extract::Path((client, id)): $crate::extract::Path<(String, String)>,
            $crate::extract::IfMatch(seen): $crate::extract::IfMatch,
            $crate::extract::JsonBody(patch): $crate::extract::Patch,
        ) -> Result<axum::response::Response, $crate::problem::ApiError> {
            let caller = auth.require(clientwatch::domain::tenants::Scope::Write)?;
            let changed = $update(&svc, &caller.tenant_id, &client, &id, seen, &patch).await?;
            Ok($crate::routes::versioned(
                axum::http::StatusCode::OK,
                &changed,
            ))
        }

        pub async fn delete(
            axum::extract::State(svc): axum::extract::State<clientwatch::Services>,
            auth: $crate::extract::Auth,
            $crate::extract::Path((client, id)): $crate::extract::Path<(String, String)>,
            $crate::extract::IfMatch(seen): $crate::extract::IfMatch,
        ) -> Result<axum::response::Response, $crate::problem::ApiError> {
            let caller = auth.require(clientwatch::domain::tenants::Scope::Write)?;
            $delete(&svc, &caller.tenant_id, &client, &id, seen).await?;
            Ok(axum::response::IntoResponse::into_response(
                axum::http::StatusCode::NO_CONTENT,
            ))
        }
    };
}

pub mod api_keys;
pub mod client_types;
pub mod clients;
pub mod communications;
pub mod contacts;
pub mod email_templates;
pub mod health;
pub mod invites;
pub mod invoices;
pub mod monitoring;
pub mod opportunities;
pub mod portfolios;
pub mod questionnaires;
pub mod roles;
pub mod tenant;
pub mod workflows;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clientwatch::domain::resource::Resource;
use serde::Serialize;

/// One page of a list: `next_cursor` is present exactly when more items follow.
#[derive(Serialize)]
pub struct List<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl List<serde_json::Value> {
    /// `next` is the sealed cursor from [`crate::extract::Page::next`].
    pub fn of<T: Serialize>(items: &[Resource<T>], next: Option<String>) -> Json<Self> {
        Json(Self {
            items: items.iter().map(Resource::view).collect(),
            next_cursor: next,
        })
    }
}

/// A resource with its version as a strong ETag, for the caller's next `If-Match`.
pub fn versioned<T: Serialize>(status: StatusCode, resource: &Resource<T>) -> Response {
    let mut response = (status, Json(resource.view())).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", resource.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}
