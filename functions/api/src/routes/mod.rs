//! The routes. Each handler parses, calls the domain, and shapes the answer; nothing more.

pub mod api_keys;
pub mod clients;
pub mod contacts;
pub mod health;
pub mod opportunities;
pub mod roles;
pub mod tenant;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clientwatch::domain::resource::Resource;
use clientwatch::ports::Cursor;
use serde::Serialize;

/// One page of a list: `next_cursor` is present exactly when more items follow.
#[derive(Serialize)]
pub struct List<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl List<serde_json::Value> {
    pub fn of<T: Serialize>(items: &[Resource<T>], next: Option<Cursor>) -> Json<Self> {
        Json(Self {
            items: items.iter().map(Resource::view).collect(),
            next_cursor: next.map(|c| c.to_string()),
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
