//! Request extractors whose every refusal is a problem: the caller (from the API key), a JSON
//! body (content type, size, syntax, then fields named by path), and list parameters.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::{HeaderMap, Method, header, request::Parts};
use clientwatch::Services;
use clientwatch::domain::input::{self, JsonProblem};
use clientwatch::domain::tenants::{Caller, Scope};
use clientwatch::ports::Cursor;
use clientwatch::records;
use serde::de::DeserializeOwned;

use crate::cursor::{CursorKey, ListScope};
use crate::problem::ApiError;

/// Largest body the API reads.
pub const MAX_BODY: usize = 256 * 1024;

/// The authenticated caller of a `/v1` route.
pub struct Auth(pub Caller);

impl Auth {
    /// Refuses the request unless the key has `scope` (or a wider one).
    pub fn require(&self, scope: Scope) -> Result<&Caller, ApiError> {
        if self.0.may(scope) {
            Ok(&self.0)
        } else {
            Err(ApiError::Forbidden(scope))
        }
    }
}

/// The API key the request presents (`Authorization: Bearer` or `X-Api-Key`), if any.
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, key) = value.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| key.trim());
    }
    headers.get("x-api-key")?.to_str().ok().map(str::trim)
}

/// The scope a route needs, from its method and template: the keys and the tenant's settings
/// need `admin`, reading (and previewing a template) `read`, any other change `write`. The
/// key is held to it as soon as it is authenticated, before the body is read, so that a key
/// without the scope learns nothing about what a valid body would be. Each handler asks for
/// the same scope again.
pub fn route_scope(method: &Method, template: &str) -> Scope {
    if template.starts_with("/v1/api-keys") || (template == "/v1/tenant" && method != Method::GET) {
        Scope::Admin
    } else if method == Method::GET || method == Method::HEAD || template.ends_with("/preview") {
        Scope::Read
    } else {
        Scope::Write
    }
}

impl<S> FromRequestParts<S> for Auth
where
    S: Send + Sync,
    Services: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Extracted once per request (a list's page needs the caller too).
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(Auth(caller.clone()));
        }
        let has_header = parts.headers.contains_key(header::AUTHORIZATION)
            || parts.headers.contains_key("x-api-key");
        let Some(key) = presented_key(&parts.headers) else {
            return Err(if has_header {
                ApiError::BadKey
            } else {
                ApiError::MissingKey
            });
        };
        let services = Services::from_ref(state);
        match records::tenants::authenticate(&services, key).await? {
            Some(caller) => {
                tracing::Span::current().record("tenant_id", caller.tenant_id.as_str());
                tracing::info!(tenant_id = %caller.tenant_id, key_id = %caller.key_id, "authenticated");
                parts.extensions.insert(caller.clone());
                let auth = Auth(caller);
                if let Some(template) = parts.extensions.get::<MatchedPath>() {
                    auth.require(route_scope(&parts.method, template.as_str()))?;
                }
                Ok(auth)
            }
            None => Err(ApiError::BadKey),
        }
    }
}

/// A JSON body: `Content-Type: application/json`, at most [`MAX_BODY`] bytes, and fields that
/// match `T` exactly (request types refuse unknown fields).
pub struct JsonBody<T>(pub T);

/// The media type of the request's body, lower-cased, without parameters.
fn media_type(request: &Request) -> Option<String> {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
}

/// The body's bytes, at most [`MAX_BODY`] of them.
async fn read<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(MAX_BODY)
            } else {
                ApiError::MalformedJson("the body could not be read".into())
            }
        })
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = media_type(&request).is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(JSON_ONLY));
        }
        let bytes = read(request, state).await?;
        parse(&bytes).map(JsonBody)
    }
}

const JSON_ONLY: &str = "Send the body as JSON with `Content-Type: application/json`.";

/// An import's body: JSON as [`JsonBody`] reads it, or a CSV file (`Content-Type: text/csv`,
/// UTF-8), handed over as text for the import to read row by row.
pub enum JsonOrCsv<T> {
    Json(T),
    Csv(String),
}

impl<S, T> FromRequest<S> for JsonOrCsv<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if media_type(&request).as_deref() != Some("text/csv") {
            return match JsonBody::from_request(request, state).await {
                Ok(JsonBody(body)) => Ok(JsonOrCsv::Json(body)),
                Err(ApiError::UnsupportedMediaType(_)) => Err(ApiError::UnsupportedMediaType(
                    "Send the body as JSON (`Content-Type: application/json`) or as CSV \
                     (`Content-Type: text/csv`).",
                )),
                Err(e) => Err(e),
            };
        }
        let bytes = read(request, state).await?;
        String::from_utf8(bytes.to_vec())
            .map(JsonOrCsv::Csv)
            .map_err(|_| ApiError::invalid("body", "a CSV file must be UTF-8 text"))
    }
}

/// The lists of a bulk call's body whose rows the call checks one by one (so that one bad row
/// is that row's result, not the refusal of the whole body): an import's `invoices`, a contact
/// sync's `records`, a bulk monitoring call's `client_ids`, a client import's `rows`.
pub const ROW_LISTS: [&str; 4] = ["invoices", "records", "client_ids", "rows"];

/// Parses JSON, telling syntax errors (400, with line and column) from field errors (422,
/// naming the field by its path): a key given twice, a body that is not an object, any text
/// or id against the input policy (`clientwatch::domain::input`), then `T`'s own fields.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first (400), so that a truncated body is never reported as a wrong field.
    let value = input::parse_json(bytes).map_err(|problem| match problem {
        JsonProblem::Syntax(why) => ApiError::MalformedJson(why),
        JsonProblem::DuplicateKey { path } => {
            ApiError::invalid(path, "is given twice; give each key once")
        }
    })?;
    if !value.is_object() {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    }
    input::check_except_rows(&value, &ROW_LISTS)?;
    Ok(input::fields(value)?)
}

/// Path parameters, each checked as an id (`clientwatch::domain::input`) before the handler
/// or the store sees it; a refusal names the parameter (`path.contact_id`).
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                ApiError::invalid(
                    "path",
                    "a path segment is not valid UTF-8 once percent-decoded",
                )
            })?;
        for (name, value) in &raw {
            input::id(format!("path.{name}"), value)?;
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|e| ApiError::invalid("path", e.body_text()))
    }
}

/// `?limit=&cursor=` of every list. The cursor is opened by [`Page::cursor`] (after the
/// handler has checked the key's scope) and the next one sealed by [`Page::next`], both for
/// this tenant and this list (see `cursor.rs`).
pub struct Page {
    pub limit: usize,
    token: Option<String>,
    scope: ListScope,
    key: CursorKey,
    services: Services,
}

impl Page {
    pub const DEFAULT: usize = 50;
    pub const MAX: usize = 200;

    /// Where the caller left off, or `None` for the first page.
    pub fn cursor(&self) -> Result<Option<Cursor>, ApiError> {
        let Some(token) = &self.token else {
            return Ok(None);
        };
        self.key
            .open(&self.scope, token, self.services.clock.now())
            .map(Some)
            .map_err(|_| {
                ApiError::invalid(
                    "cursor",
                    "is not a cursor this list gave out, or has expired; start again from \
                     the first page",
                )
            })
    }

    /// The `next_cursor` to give out for where this page ended.
    pub fn next(&self, next: Option<Cursor>) -> Option<String> {
        next.map(|at| {
            self.key.seal(
                &self.scope,
                &at,
                self.services.clock.now(),
                self.services.ids.as_ref(),
            )
        })
    }

    async fn from_parts<S>(parts: &mut Parts, state: &S, filters: bool) -> Result<Self, ApiError>
    where
        S: Send + Sync,
        Services: FromRef<S>,
    {
        let Auth(caller) = Auth::from_request_parts(parts, state).await?;
        let params: Vec<(String, String)> = axum::extract::Query::try_from_uri(&parts.uri)
            .map_err(|e| ApiError::invalid("query", e.body_text()))?
            .0;
        let (mut limit, mut token, mut others) = (None, None, Vec::new());
        for (name, value) in params {
            let slot = match name.as_str() {
                "limit" => &mut limit,
                "cursor" => &mut token,
                _ if filters => {
                    others.push((name, value));
                    continue;
                }
                _ => {
                    return Err(ApiError::invalid(
                        "query",
                        format!("unknown parameter `{name}`: a list takes `limit` and `cursor`"),
                    ));
                }
            };
            if slot.replace(value).is_some() {
                return Err(ApiError::invalid(name, "is given more than once"));
            }
        }
        let limit = match limit {
            None => Self::DEFAULT,
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (1..=Self::MAX).contains(&n) => n,
                _ => {
                    return Err(ApiError::invalid(
                        "limit",
                        format!("must be a whole number from 1 to {}", Self::MAX),
                    ));
                }
            },
        };
        let key = parts
            .extensions
            .get::<CursorKey>()
            .cloned()
            .ok_or_else(|| ApiError::Internal("the router has no cursor key".into()))?;
        Ok(Self {
            limit,
            token: token.filter(|t| !t.is_empty()),
            scope: ListScope::new(&caller.tenant_id, parts.uri.path(), &others),
            key,
            services: Services::from_ref(state),
        })
    }
}

impl<S> FromRequestParts<S> for Page
where
    S: Send + Sync,
    Services: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Self::from_parts(parts, state, false).await
    }
}

/// A [`Page`] of a list with filters of its own (`/v1/hits?since=`), which the handler reads
/// and checks; the cursor is bound to their values.
pub struct FilteredPage(pub Page);

impl<S> FromRequestParts<S> for FilteredPage
where
    S: Send + Sync,
    Services: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Page::from_parts(parts, state, true).await.map(FilteredPage)
    }
}

/// The version a change is based on, from `If-Match: "<version>"`; required on every change.
pub struct IfMatch(pub u64);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::IF_MATCH)
            .ok_or(ApiError::IfMatchRequired)?;
        let version = value
            .to_str()
            .ok()
            .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
            .and_then(|v| v.parse().ok());
        match version {
            Some(version) => Ok(IfMatch(version)),
            // An ETag we never gave out cannot match the current one.
            None => Err(ApiError::Stale("resource")),
        }
    }
}

/// A JSON merge patch body (`application/merge-patch+json` or `application/json`).
pub type Patch = JsonBody<serde_json::Value>;
