//! RFC 9457 problem details: every error the API returns is `application/problem+json` with a
//! stable `type`, a human `detail`, the request id, and (for bad input) the offending field.
//! A 500 says nothing internal; its cause goes to the log under the same request id.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clientwatch::domain::{self, tenants::Scope};
use clientwatch::ports::TableError;
use serde::Serialize;

use crate::request_id;

pub const CONTENT_TYPE: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no API key was sent")]
    MissingKey,
    #[error("the API key is not valid")]
    BadKey,
    #[error("this key lacks the {0:?} scope")]
    Forbidden(Scope),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("no such route")]
    NoRoute,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// The body's media type is not one the route reads; the text says which it does.
    #[error("unsupported media type")]
    UnsupportedMediaType(&'static str),
    #[error("body over {0} bytes")]
    TooLarge(usize),
    /// The body did not arrive within the time the server waits for it (seconds).
    #[error("the body took longer than {0} s")]
    BodyTimeout(u64),
    /// A field's value is wrong; `field` is its path as the caller wrote it (`scopes[1]`).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("the {0} has changed")]
    Stale(&'static str),
    #[error("If-Match is required")]
    IfMatchRequired,
    #[error("the store is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[derive(Serialize)]
struct FieldError<'a> {
    field: &'a str,
    detail: &'a str,
}

#[derive(Serialize)]
struct Problem<'a> {
    r#type: String,
    title: &'static str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldError<'a>>,
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// (status, type slug, title)
    fn kind(&self) -> (StatusCode, &'static str, &'static str) {
        use ApiError::*;
        match self {
            MissingKey | BadKey => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Not authenticated",
            ),
            Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            NoRoute => (StatusCode::NOT_FOUND, "no-such-route", "No such route"),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed-json", "Malformed JSON"),
            UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            TooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                "Body too large",
            ),
            BodyTimeout(_) => (
                StatusCode::REQUEST_TIMEOUT,
                "request-timeout",
                "Request timeout",
            ),
            Invalid { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid input",
            ),
            Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            Stale(_) => (
                StatusCode::PRECONDITION_FAILED,
                "stale",
                "Changed since read",
            ),
            IfMatchRequired => (
                StatusCode::PRECONDITION_REQUIRED,
                "if-match-required",
                "If-Match required",
            ),
            Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }

    fn detail(&self) -> String {
        use ApiError::*;
        match self {
            MissingKey => {
                "Send your API key as `Authorization: Bearer <key>` or `X-Api-Key: <key>`.".into()
            }
            BadKey => "The API key is unknown or has been revoked.".into(),
            Forbidden(scope) => format!(
                "This API key does not have the `{}` scope this request needs.",
                serde_json::to_value(scope)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
            NotFound(what) => format!("The {what} does not exist."),
            NoRoute => "There is no such route; see the OpenAPI document for the routes.".into(),
            MethodNotAllowed => "This route does not accept that method.".into(),
            MalformedJson(why) => format!("The body is not valid JSON: {why}."),
            UnsupportedMediaType(accepted) => (*accepted).into(),
            TooLarge(limit) => {
                format!(
                    "The body is larger than the {limit} bytes this API accepts (a larger client \
                     import goes through an asynchronous import: POST /v1/imports)."
                )
            }
            BodyTimeout(seconds) => format!(
                "The request's body did not arrive within {seconds} s (or was shorter than its \
                 Content-Length); send it again."
            ),
            Invalid { field, message } => format!("`{field}`: {message}"),
            Conflict(why) => why.clone(),
            Stale(what) => format!(
                "The {what} has changed since you read it; read it again (its ETag) and retry."
            ),
            IfMatchRequired => {
                "Send the ETag you last read as `If-Match`, so that no one else's change is overwritten.".into()
            }
            Unavailable(_) => {
                "The service cannot reach its store just now; try again shortly.".into()
            }
            Internal(_) => {
                "Something went wrong on our side; quote the request id if you contact us.".into()
            }
        }
    }
}

impl ApiError {
    fn problem(&self) -> Problem<'_> {
        let (status, slug, title) = self.kind();
        let errors = match self {
            ApiError::Invalid { field, message } => vec![FieldError {
                field,
                detail: message,
            }],
            _ => vec![],
        };
        Problem {
            r#type: format!("/problems/{slug}"),
            title,
            status: status.as_u16(),
            detail: self.detail(),
            request_id: request_id::current(),
            errors,
        }
    }

    /// The problem document alone, for a per-item result inside a larger answer.
    pub fn body(&self) -> serde_json::Value {
        serde_json::to_value(self.problem()).unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, _) = self.kind();
        match &self {
            ApiError::Internal(cause) => tracing::error!(error = %cause, ?cause, "request failed"),
            ApiError::Unavailable(cause) => {
                tracing::error!(error = %cause, ?cause, "store unavailable")
            }
            _ => tracing::info!(status = status.as_u16(), problem = slug, "request refused"),
        }
        let problem = self.problem();
        let mut response = (status, Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<domain::Error> for ApiError {
    fn from(e: domain::Error) -> Self {
        match e {
            domain::Error::NotFound(what) => ApiError::NotFound(what),
            domain::Error::Invalid { field, message } => ApiError::Invalid { field, message },
            domain::Error::Conflict(why) => ApiError::Conflict(why),
            domain::Error::Stale(what) => ApiError::Stale(what),
            domain::Error::Store(e) => e.into(),
            domain::Error::Unavailable(_, cause) => ApiError::Unavailable(cause),
        }
    }
}

impl From<TableError> for ApiError {
    fn from(e: TableError) -> Self {
        match e {
            TableError::BadCursor => {
                ApiError::invalid("cursor", "is not a cursor this list gave out")
            }
            e @ TableError::Unavailable(_) => ApiError::Unavailable(Box::new(e)),
            e => ApiError::Internal(Box::new(e)),
        }
    }
}
