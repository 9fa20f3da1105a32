//! Request ids: taken from API Gateway's request context on Lambda (or a sane `X-Request-Id`
//! sent by the caller), made up otherwise; attached to every log line of the request through a
//! tracing span, echoed in the `X-Request-Id` response header, and put in problem bodies.
//!
//! The span names the request by its method and the route template it matched
//! (`/v1/clients/{id}`), never by its raw path or query: a path can carry anything a caller
//! typed, a portal link's token included.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use clientwatch::ports::{Ids, SystemIds};
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

fn from_caller(request: &Request) -> Option<String> {
    let value = request.headers().get(HEADER)?.to_str().ok()?;
    let sane = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    sane.then(|| value.to_owned())
}

fn from_gateway(request: &Request) -> Option<String> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.request_id.clone(),
        _ => None,
    }
}

/// The route template a request matched, handed back to [`layer`] on the response.
#[derive(Clone)]
struct RouteTemplate(MatchedPath);

/// Runs after routing (as a route layer): records the matched template on the request's span.
pub async fn route_layer(request: Request, next: Next) -> Response {
    let template = request.extensions().get::<MatchedPath>().cloned();
    if let Some(template) = &template {
        tracing::Span::current().record("route", template.as_str());
    }
    let mut response = next.run(request).await;
    if let Some(template) = template {
        response.extensions_mut().insert(RouteTemplate(template));
    }
    response
}

pub async fn layer(request: Request, next: Next) -> Response {
    let id = from_gateway(&request)
        .or_else(|| from_caller(&request))
        .unwrap_or_else(|| SystemIds.id());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        route = tracing::field::Empty,
        tenant_id = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request))
        .instrument(span.clone())
        .await;
    let route = response
        .extensions()
        .get::<RouteTemplate>()
        .map_or("(no route)", |r| r.0.as_str());
    span.in_scope(|| {
        tracing::info!(
            route,
            status = response.status().as_u16(),
            ms = started.elapsed().as_millis() as u64,
            "request done"
        )
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}
