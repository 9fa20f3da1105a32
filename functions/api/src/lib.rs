//! The partner REST API: one axum router, served on Lambda by `lambda_http` (see `main.rs`)
//! and on localhost by `clientwatch-local`. Its contract is `openapi.yaml` at the repository's
//! root; a test keeps the two in step.

pub mod extract;
pub mod problem;
pub mod request_id;
pub mod routes;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};
use clientwatch::Services;

use problem::ApiError;

type Route = (&'static str, Method, MethodRouter<Services>);

fn route<H, T>(path: &'static str, method: Method, handler: H) -> Route
where
    H: Handler<T, Services>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a method axum can route");
    (path, method, on(filter, handler))
}

/// Every route: path, method and handler. The router and the OpenAPI test both read this.
fn routes() -> Vec<Route> {
    use routes::*;
    vec![
        route("/v1/health", Method::GET, health::health),
        route("/v1/tenant", Method::GET, tenant::get),
        route("/v1/tenant", Method::PATCH, tenant::update),
        route("/v1/api-keys", Method::GET, api_keys::list),
        route("/v1/api-keys", Method::POST, api_keys::create),
        route("/v1/api-keys/{id}", Method::DELETE, api_keys::revoke),
        route("/v1/contact-roles", Method::GET, roles::list),
        route("/v1/contact-roles", Method::POST, roles::create),
        route("/v1/contact-roles/{id}", Method::GET, roles::get),
        route("/v1/contact-roles/{id}", Method::PATCH, roles::update),
        route("/v1/contact-roles/{id}", Method::DELETE, roles::delete),
    ]
}

/// (path, method) of every route, for the OpenAPI check.
pub fn route_list() -> Vec<(&'static str, Method)> {
    routes()
        .into_iter()
        .map(|(path, method, _)| (path, method))
        .collect()
}

pub fn app(services: Services) -> Router {
    let mut router = Router::new();
    // `Router::route` merges the methods of a path given more than once.
    for (path, _, handler) in routes() {
        router = router.route(path, handler);
    }
    router
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(extract::MAX_BODY))
        .layer(axum::middleware::from_fn(request_id::layer))
        .with_state(services)
}
