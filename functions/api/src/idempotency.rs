//! `Idempotency-Key` on POST: a retried request gets the first answer again instead of doing
//! the work twice; the same key with a different request is refused. Records are scoped to the
//! API key that made them (by its hash), kept 24 hours, and live in the table, so they hold
//! across Lambda instances. A request still running under the key is answered 409; one that
//! failed on our side (5xx) or was refused for its credentials leaves no record, so a retry can
//! succeed. An answer marked `Cache-Control: no-store` carries a secret shown only once (a new
//! API key, an invite link): it is not kept, only the fact that the request succeeded, and a
//! retry is told so instead of being given the secret again.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clientwatch::Services;
use clientwatch::ports::{Condition, Item, Key, TableError, Update};
use clientwatch::records;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::extract::MAX_BODY;
use crate::problem::ApiError;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";
const KEEP_SECONDS: i64 = 24 * 3600;
/// Answers larger than this are not kept (the retry then runs again).
const MAX_STORED: usize = 300 * 1024;
const KEPT_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::ETAG, header::CACHE_CONTROL];

fn sha256(data: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(data))
}

fn api_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .or_else(|| headers.get("x-api-key"))
        .and_then(|v| v.to_str().ok())
}

fn should_keep(status: StatusCode) -> bool {
    !(status.is_server_error()
        || matches!(
            status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
        ))
}

pub async fn layer(State(svc): State<Services>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(idem) = request.headers().get(HEADER).cloned() else {
        return next.run(request).await;
    };
    let idem = match idem.to_str() {
        Ok(v) if !v.is_empty() && v.len() <= 255 => v.to_owned(),
        _ => {
            return ApiError::invalid(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )
            .into_response();
        }
    };
    let Some(credential) = api_key(request.headers()).map(sha256) else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => return ApiError::TooLarge(MAX_BODY).into_response(),
    };
    let fingerprint = sha256(
        [
            parts.method.as_str(),
            parts.uri.to_string().as_str(),
            &sha256(&bytes),
        ]
        .join("\n"),
    );
    let key = clientwatch::keys::idempotency(&credential, &sha256(&idem));
    let now = svc.clock.now().timestamp();
    let Value::Object(pending) = json!({"state": "pending", "fingerprint": fingerprint}) else {
        unreachable!("a JSON object")
    };
    let claim = Item::new(key.clone(), pending).with_expiry(now + KEEP_SECONDS);
    match svc.table.put(claim, Condition::Absent).await {
        Ok(()) => {}
        Err(TableError::ConditionFailed(_)) => {
            // The key is checked again: a revoked key gets nothing back, not even its own
            // earlier answers.
            let presented = crate::extract::presented_key(&parts.headers).unwrap_or_default();
            return match records::tenants::authenticate(&svc, presented).await {
                Ok(Some(_)) => replay(&svc, &key, &fingerprint).await,
                Ok(None) => ApiError::BadKey.into_response(),
                Err(e) => ApiError::from(e).into_response(),
            };
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    remember(&svc, &key, response).await
}

/// Keeps the answer under the key (or drops the claim) and returns it.
async fn remember(svc: &Services, key: &Key, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let kept = should_keep(parts.status) && bytes.len() <= MAX_STORED;
    let secret = parts
        .headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("no-store"));
    let result = if kept && secret {
        let update = Update::default()
            .set("state", "done")
            .set("status", parts.status.as_u16())
            .set("secret", true);
        svc.table.update(key, update).await.map(drop)
    } else if kept {
        let headers: serde_json::Map<String, Value> = KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                let value = parts.headers.get(name)?.to_str().ok()?;
                Some((name.to_string(), Value::from(value)))
            })
            .collect();
        let update = Update::default()
            .set("state", "done")
            .set("status", parts.status.as_u16())
            .set("headers", Value::Object(headers))
            .set("body", String::from_utf8_lossy(&bytes).into_owned());
        svc.table.update(key, update).await.map(drop)
    } else {
        svc.table.delete(key, Condition::None).await.map(drop)
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "idempotency record not updated");
    }
    Response::from_parts(parts, Body::from(bytes))
}

async fn replay(svc: &Services, key: &Key, fingerprint: &str) -> Response {
    let record = match svc.table.get(key).await {
        Ok(Some(record)) => record,
        // Expired or dropped between our write and this read: ask for a retry.
        Ok(None) => {
            return ApiError::Conflict(
                "this Idempotency-Key is being processed; retry shortly".into(),
            )
            .into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    let data = &record.data;
    if data.get("fingerprint").and_then(Value::as_str) != Some(fingerprint) {
        return ApiError::invalid(
            "Idempotency-Key",
            "was already used for a different request; use a new key for a new request",
        )
        .into_response();
    }
    if data.get("state").and_then(Value::as_str) != Some("done") {
        return ApiError::Conflict(
            "a request with this Idempotency-Key is still being processed; retry shortly".into(),
        )
        .into_response();
    }
    let status = data
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::OK);
    if data.get("secret") == Some(&Value::Bool(true)) {
        return ApiError::Conflict(format!(
            "the request with this Idempotency-Key succeeded ({status}); its answer held a \
             secret that is shown only once and is not kept"
        ))
        .into_response();
    }
    let body = data
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut response = (status, Bytes::from(body)).into_response();
    let headers = response.headers_mut();
    if let Some(Value::Object(kept)) = data.get("headers") {
        for (name, value) in kept {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::try_from(name.as_str()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                headers.insert(name, value);
            }
        }
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
