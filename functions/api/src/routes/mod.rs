//! The routes. Each module owns its part of the API as a `router()` of plain handlers, merged
//! in `lib.rs`; each handler parses, calls the domain, and shapes the answer; nothing more.
//! A resource with the usual five routes names the generic handlers of [`tenant_resource`] or
//! [`client_resource`] for its type.

pub mod api_keys;
pub mod bureau;
pub mod client_imports;
pub mod client_resource;
pub mod client_types;
pub mod clients;
pub mod communications;
pub mod contacts;
pub mod disputes;
pub mod email_templates;
pub mod health;
pub mod invites;
pub mod invoices;
pub mod monitoring;
pub mod opportunities;
pub mod portfolios;
pub mod questionnaires;
pub mod roles;
pub mod suppressions;
pub mod tenant;
pub mod tenant_resource;
pub mod webhooks;
pub mod workflows;

use axum::Json;
use axum::Router;
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use clientwatch::Services;
use clientwatch::domain::resource::Resource;
use clientwatch::ports::Cursor;
use serde::Serialize;

use crate::extract::Page;

/// Routes of a part of the API: the axum router, and the template and method of each route,
/// which axum does not let one read back from a router (the OpenAPI check and the convention
/// tests walk them; see [`crate::route_list`]).
pub struct Routes {
    router: Router<Services>,
    table: Vec<(&'static str, Method)>,
}

impl Routes {
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    pub fn get<H: Handler<T, Services>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.on(path, Method::GET, MethodFilter::GET, handler)
    }

    pub fn post<H: Handler<T, Services>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.on(path, Method::POST, MethodFilter::POST, handler)
    }

    pub fn patch<H: Handler<T, Services>, T: 'static>(
        self,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.on(path, Method::PATCH, MethodFilter::PATCH, handler)
    }

    pub fn put<H: Handler<T, Services>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.on(path, Method::PUT, MethodFilter::PUT, handler)
    }

    pub fn delete<H: Handler<T, Services>, T: 'static>(
        self,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.on(path, Method::DELETE, MethodFilter::DELETE, handler)
    }

    fn on<H: Handler<T, Services>, T: 'static>(
        mut self,
        path: &'static str,
        method: Method,
        filter: MethodFilter,
        handler: H,
    ) -> Self {
        // `Router::route` adds the method to a path given before (and panics on a method given
        // twice).
        self.router = self.router.route(path, on(filter, handler));
        self.table.push((path, method));
        self
    }

    /// Both parts' routes; a path may be in both, a path and method in only one.
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    /// (template, method) of every route, in the order they were added.
    pub fn table(&self) -> &[(&'static str, Method)] {
        &self.table
    }

    pub fn into_router(self) -> Router<Services> {
        self.router
    }
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

/// The answer of every list: its items and, exactly when more items follow, the cursor of the
/// next page.
#[derive(Serialize)]
pub struct List<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> List<T> {
    /// One page of a list; the cursor where it ended is sealed for this list (see
    /// [`Page::next`]).
    pub fn page(items: Vec<T>, page: &Page, next: Option<Cursor>) -> Self {
        Self {
            items,
            next_cursor: page.next(next),
        }
    }

    /// A list answered whole, without pages.
    pub fn whole(items: Vec<T>) -> Self {
        Self {
            items,
            next_cursor: None,
        }
    }
}

impl<T: Serialize> IntoResponse for List<T> {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

/// One page of resources as the domain lists them, and where the page ended if more follow.
pub type Listed<T> = (Vec<Resource<T>>, Option<Cursor>);

/// A resource with its version as a strong ETag, for the caller's next `If-Match`.
pub fn versioned<T: Serialize>(status: StatusCode, resource: &Resource<T>) -> Response {
    versioned_view(status, resource, resource.view())
}

/// As [`versioned`], with the view given (a resource's view with what the API adds beside it).
pub fn versioned_view<T>(
    status: StatusCode,
    resource: &Resource<T>,
    view: serde_json::Value,
) -> Response {
    let mut response = (status, Json(view)).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", resource.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}
