//! `GET /v1/health`: unauthenticated; says whether the function can reach its store.

use axum::Json;
use axum::extract::State;
use clientwatch::Services;
use serde_json::{Value, json};

use super::Routes;
use crate::problem::ApiError;

pub fn router() -> Routes {
    Routes::new().get("/v1/health", health)
}

pub async fn health(State(svc): State<Services>) -> Result<Json<Value>, ApiError> {
    svc.table
        .get(&clientwatch::keys::health())
        .await
        .map_err(|e| ApiError::Unavailable(Box::new(e)))?;
    Ok(Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "time": svc.clock.now(),
    })))
}
