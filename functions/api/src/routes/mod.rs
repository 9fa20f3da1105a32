//! The routes. Each handler parses, calls the domain, and shapes the answer; nothing more.

pub mod api_keys;
pub mod health;
pub mod tenant;

use serde::Serialize;

/// One page of a list: `next_cursor` is present exactly when more items follow.
#[derive(Serialize)]
pub struct List<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
