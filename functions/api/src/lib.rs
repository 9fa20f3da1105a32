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
use axum::http::Method;
use clientwatch::Services;

pub use cursor::CursorKey;
use problem::ApiError;
use routes::Routes;

/// Every route, each part of the API from its own module.
fn routes() -> Routes {
    use routes::*;
    Routes::new()
        .merge(health::router())
        .merge(tenant::router())
        .merge(api_keys::router())
        .merge(roles::router())
        .merge(email_templates::router())
        .merge(client_types::router())
        .merge(client_imports::router())
        .merge(clients::router())
        .merge(contacts::router())
        .merge(opportunities::router())
        .merge(invites::router())
        .merge(invoices::router())
        .merge(communications::router())
        .merge(suppressions::router())
        .merge(disputes::router())
        .merge(questionnaires::router())
        .merge(workflows::router())
        .merge(portfolios::router())
        .merge(monitoring::router())
        .merge(webhooks::router())
        .merge(bureau::router())
}

/// (path, method) of every route, for the OpenAPI check and the convention tests.
pub fn route_list() -> Vec<(&'static str, Method)> {
    routes().table().to_vec()
}

pub use routes::client_imports::ImportFiles;

/// The API over `services`; list cursors are sealed with `cursors` (see `cursor.rs`). Without
/// an import file store, the asynchronous import routes answer 503.
pub fn app(services: Services, cursors: CursorKey) -> Router {
    build(services, cursors, None)
}

/// [`app`] with the file store of asynchronous client imports.
pub fn app_with_imports(services: Services, cursors: CursorKey, imports: ImportFiles) -> Router {
    build(services, cursors, Some(imports))
}

/// Where the daily runs keep their baselines (the state bucket, or the local state folder):
/// a bureau profile's score is read from there. Without it, profiles show no score.
#[derive(Clone)]
pub struct Baselines(pub std::sync::Arc<dyn clientwatch::ports::Blobs>);

/// `router` reading bureau profiles' scores from `baselines`.
pub fn with_baselines(router: Router, baselines: Baselines) -> Router {
    router.layer(axum::Extension(baselines))
}

fn build(services: Services, cursors: CursorKey, imports: Option<ImportFiles>) -> Router {
    let router = routes()
        .into_router()
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .route_layer(axum::middleware::from_fn(request_id::route_layer))
        .layer(axum::middleware::from_fn_with_state(
            services.clone(),
            idempotency::layer,
        ))
        .layer(DefaultBodyLimit::max(extract::MAX_BODY))
        .layer(axum::Extension(cursors))
        .layer(axum::middleware::from_fn(request_id::layer));
    match imports {
        Some(imports) => router.layer(axum::Extension(imports)),
        None => router,
    }
    .with_state(services)
}
