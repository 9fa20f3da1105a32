//! The partner REST API: one axum router, served on Lambda by `lambda_http` (see `main.rs`)
//! and on localhost by `clientwatch-local`. Its contract is `openapi.yaml` at the repository's
//! root; a test keeps the two in step.

pub mod cursor;
pub mod extract;
pub mod idempotency;
pub mod problem;
pub mod request_id;
pub mod routes;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};
use clientwatch::Services;

pub use cursor::CursorKey;
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
        route("/v1/email-templates", Method::GET, email_templates::list),
        route("/v1/email-templates", Method::POST, email_templates::create),
        route(
            "/v1/email-templates/{id}",
            Method::GET,
            email_templates::get,
        ),
        route(
            "/v1/email-templates/{id}",
            Method::PATCH,
            email_templates::update,
        ),
        route(
            "/v1/email-templates/{id}",
            Method::DELETE,
            email_templates::delete,
        ),
        route(
            "/v1/email-templates/{id}/preview",
            Method::POST,
            email_templates::preview,
        ),
        route("/v1/client-types", Method::GET, client_types::list),
        route("/v1/client-types", Method::POST, client_types::create),
        route("/v1/client-types/{id}", Method::GET, client_types::get),
        route("/v1/client-types/{id}", Method::PATCH, client_types::update),
        route(
            "/v1/client-types/{id}",
            Method::DELETE,
            client_types::delete,
        ),
        route("/v1/clients", Method::GET, clients::list),
        route("/v1/clients", Method::POST, clients::create),
        route("/v1/clients/{id}", Method::GET, clients::get),
        route("/v1/clients/{id}", Method::PATCH, clients::update),
        route("/v1/clients/{id}", Method::DELETE, clients::delete),
        route("/v1/clients/{id}/contacts", Method::GET, contacts::list),
        route("/v1/clients/{id}/contacts", Method::POST, contacts::create),
        route(
            "/v1/clients/{id}/contacts/{contact_id}",
            Method::GET,
            contacts::get,
        ),
        route(
            "/v1/clients/{id}/contacts/{contact_id}",
            Method::PATCH,
            contacts::update,
        ),
        route(
            "/v1/clients/{id}/contacts/{contact_id}",
            Method::DELETE,
            contacts::delete,
        ),
        route(
            "/v1/clients/{id}/recipients",
            Method::GET,
            contacts::recipients,
        ),
        route(
            "/v1/clients/{id}/opportunities",
            Method::GET,
            opportunities::list,
        ),
        route(
            "/v1/clients/{id}/opportunities",
            Method::POST,
            opportunities::create,
        ),
        route(
            "/v1/clients/{id}/opportunities/{opportunity_id}",
            Method::GET,
            opportunities::get,
        ),
        route(
            "/v1/clients/{id}/opportunities/{opportunity_id}",
            Method::PATCH,
            opportunities::update,
        ),
        route(
            "/v1/clients/{id}/opportunities/{opportunity_id}",
            Method::DELETE,
            opportunities::delete,
        ),
        route(
            "/v1/clients/{id}/opportunities/{opportunity_id}/invites",
            Method::GET,
            invites::list,
        ),
        route(
            "/v1/clients/{id}/opportunities/{opportunity_id}/invites",
            Method::POST,
            invites::create,
        ),
        route(
            "/v1/clients/{id}/opportunities/{opportunity_id}/invites/{invite_id}",
            Method::GET,
            invites::get,
        ),
        route(
            "/v1/clients/{id}/opportunities/{opportunity_id}/invites/{invite_id}/revoke",
            Method::POST,
            invites::revoke,
        ),
        route(
            "/v1/clients/{id}/opportunities/{opportunity_id}/invites/{invite_id}/regenerate",
            Method::POST,
            invites::regenerate,
        ),
        route(
            "/v1/clients/{id}/opportunities/{opportunity_id}/answers",
            Method::GET,
            questionnaires::answers,
        ),
        route(
            "/v1/clients/{id}/opportunities/{opportunity_id}/activity",
            Method::GET,
            questionnaires::activity,
        ),
        route("/v1/clients/{id}/invoices", Method::GET, invoices::list),
        route("/v1/clients/{id}/invoices", Method::POST, invoices::create),
        route(
            "/v1/clients/{id}/invoices/{invoice_id}",
            Method::GET,
            invoices::get,
        ),
        route(
            "/v1/clients/{id}/invoices/{invoice_id}",
            Method::PATCH,
            invoices::update,
        ),
        route(
            "/v1/clients/{id}/invoices/{invoice_id}",
            Method::DELETE,
            invoices::delete,
        ),
        route(
            "/v1/clients/{id}/invoices/{invoice_id}/communications",
            Method::GET,
            communications::for_invoice,
        ),
        route("/v1/invoices/import", Method::POST, invoices::import),
        route(
            "/v1/clients/{id}/communications",
            Method::GET,
            communications::for_client,
        ),
        route(
            "/v1/communications/skipped",
            Method::GET,
            communications::skipped,
        ),
        route("/v1/questionnaires", Method::GET, questionnaires::list),
        route("/v1/questionnaires", Method::POST, questionnaires::create),
        route("/v1/questionnaires/{id}", Method::GET, questionnaires::get),
        route(
            "/v1/questionnaires/{id}",
            Method::PATCH,
            questionnaires::update,
        ),
        route(
            "/v1/questionnaires/{id}",
            Method::DELETE,
            questionnaires::delete,
        ),
        route("/v1/workflows", Method::GET, workflows::list),
        route("/v1/workflows", Method::POST, workflows::create),
        route("/v1/workflows/{id}", Method::GET, workflows::get),
        route("/v1/workflows/{id}", Method::PATCH, workflows::update),
        route("/v1/workflows/{id}", Method::DELETE, workflows::delete),
        route("/v1/portfolios", Method::GET, portfolios::list),
        route("/v1/portfolios", Method::POST, portfolios::create),
        route("/v1/portfolios/{id}", Method::GET, portfolios::get),
        route("/v1/portfolios/{id}", Method::PATCH, portfolios::update),
        route("/v1/portfolios/{id}", Method::DELETE, portfolios::delete),
        route("/v1/sync/contacts", Method::POST, contacts::sync),
        route("/v1/clients/{id}/monitoring", Method::GET, monitoring::get),
        route(
            "/v1/clients/{id}/monitoring",
            Method::POST,
            monitoring::start,
        ),
        route(
            "/v1/clients/{id}/monitoring",
            Method::DELETE,
            monitoring::stop,
        ),
        route("/v1/monitoring/bulk", Method::POST, monitoring::bulk),
        route("/v1/hits", Method::GET, monitoring::list_hits),
        route("/v1/hits/{id}", Method::GET, monitoring::get_hit),
        route(
            "/v1/hits/{id}/acknowledge",
            Method::POST,
            monitoring::acknowledge,
        ),
        route("/v1/usage", Method::GET, monitoring::usage),
    ]
}

/// (path, method) of every route, for the OpenAPI check.
pub fn route_list() -> Vec<(&'static str, Method)> {
    routes()
        .into_iter()
        .map(|(path, method, _)| (path, method))
        .collect()
}

/// The API over `services`; list cursors are sealed with `cursors` (see `cursor.rs`).
pub fn app(services: Services, cursors: CursorKey) -> Router {
    let mut router = Router::new();
    // `Router::route` merges the methods of a path given more than once.
    for (path, _, handler) in routes() {
        router = router.route(path, handler);
    }
    router
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .route_layer(axum::middleware::from_fn(request_id::route_layer))
        .layer(axum::middleware::from_fn_with_state(
            services.clone(),
            idempotency::layer,
        ))
        .layer(DefaultBodyLimit::max(extract::MAX_BODY))
        .layer(axum::Extension(cursors))
        .layer(axum::middleware::from_fn(request_id::layer))
        .with_state(services)
}
