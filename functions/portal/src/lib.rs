//! The Customer Centre: the pages a customer opens from an invite, served on Lambda by
//! `lambda_http` (see `main.rs`) and on localhost by `clientwatch-local`.
//!
//! The flow: `GET /i/{token}` (the link; reads only) → `POST /i/{token}/code` (texts a code) →
//! `POST /i/{token}/verify` (the code opens a session) → `/app` (the application) and
//! `/app/q/{id}` (questionnaires). Every response carries a strict Content-Security-Policy, no
//! referrer, and no caching. Forms carry a token: before sign-in a double-submit cookie's, after
//! it the session's. Requests are logged by route template (`/i/{token}`), never by URL, so no
//! token reaches a log.
//!
//! The account portal (see [`account`]) is served beside it: `/a/{token}` and `/account/...`.

pub mod account;
mod pages;
mod questionnaires;
mod shown;

pub use account::{ACCOUNT_COOKIE, AccountVisit, signed_in_account};

pub use questionnaires::read_form;

use std::collections::BTreeMap;
use std::time::Instant;

use axum::Router;
use axum::extract::{Form, MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chrono::{DateTime, Utc};
use clientwatch::Services;
use clientwatch::centre::access::{self, Denied, Visit};
use clientwatch::centre::application::{self, Edited};
use clientwatch::domain::Error;
use clientwatch::domain::opportunities::ordered_fields;
use cookie::time::Duration;
use maud::Markup;

pub const SESSION_COOKIE: &str = "__Host-cw_session";
pub const FORM_COOKIE: &str = "__Host-cw_form";
/// The name of the company a customer signed in to see, for the pages shown after their
/// session is gone. See [`company_cookie`].
pub const COMPANY_COOKIE: &str = "__Host-cw_company";

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

pub fn app(services: Services) -> Router {
    Router::new()
        .route("/i/{token}", get(landing))
        .route("/i/{token}/code", get(code_page).post(send_code))
        .route("/i/{token}/verify", post(verify))
        .route("/app", get(show_application).post(save_application))
        .route(
            "/app/q/{id}",
            get(questionnaires::show).post(questionnaires::save),
        )
        .route("/app/done", get(questionnaires::done))
        .route("/app/sign-out", post(sign_out))
        .route("/session-ended", get(session_ended))
        .route("/signed-out", get(signed_out))
        .route("/static/portal.css", get(stylesheet))
        .merge(account::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(guard))
        .with_state(services)
}

/// Security headers on every answer, cross-site form posts refused, and one log line per
/// request by route template.
async fn guard(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("(no route)", |p| p.as_str())
        .to_owned();
    let mut response = if method == Method::POST && cross_site(request.headers()) {
        refused_form()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "portal request"
    );
    response
}

/// A form posted from another site: the browser says so (`Sec-Fetch-Site`), or its `Origin`
/// is not this host.
fn cross_site(headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return true;
    }
    // Under `Referrer-Policy: no-referrer` browsers send `Origin: null` with their own forms,
    // so only a named origin can be compared; `Sec-Fetch-Site` and the form token do the rest.
    match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        (Some(origin), Some(host)) if origin.as_bytes() != b"null" => {
            let origin = origin.to_str().unwrap_or_default();
            let origin_host = origin.split("://").nth(1).unwrap_or(origin);
            origin_host != host.to_str().unwrap_or_default()
        }
        _ => false,
    }
}

pub(crate) fn html(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

pub(crate) fn refused_form() -> Response {
    html(
        StatusCode::FORBIDDEN,
        pages::message(
            "This form has expired",
            None,
            &[
                "For your safety this form could not be accepted. Go back, reload the page and try again.",
            ],
        ),
    )
}

/// Something failed on our side: logged with its cause, told to the customer plainly.
pub(crate) fn failed(e: Error) -> Response {
    tracing::error!(error = %e, "portal request failed");
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        pages::message(
            "Sorry, something went wrong",
            None,
            &["We could not do that just now. Please try again in a few minutes."],
        ),
    )
}

/// The page for a link or code that cannot be used, saying only what the holder knows.
async fn denied(svc: &Services, token: &str, denied: Denied, form_token: &str) -> Response {
    let (status, title, text): (StatusCode, &str, &str) = match denied {
        Denied::LinkUnknown => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "Check that you opened the whole link from your e-mail. If it still does not work, ask your adviser to send you a new one.",
        ),
        Denied::LinkExpired => (
            StatusCode::GONE,
            "This link has expired",
            "Links to the Customer Centre work for 7 days. Your adviser can send you a new one.",
        ),
        Denied::LinkRevoked => (
            StatusCode::GONE,
            "This link is no longer valid",
            "Your adviser has withdrawn this invitation. They can send you a new one if you still need it.",
        ),
        Denied::LinkReplaced => (
            StatusCode::GONE,
            "A newer link was sent",
            "This link was replaced by a newer one. Use the link in the most recent e-mail, or ask your adviser to send a new one.",
        ),
        Denied::LinkLocked => (
            StatusCode::FORBIDDEN,
            "This link is locked",
            "A wrong code was entered too many times, so we locked this link to keep your information safe. Ask your adviser to send you a new one.",
        ),
        other => return code_refused(svc, token, other, form_token).await,
    };
    html(status, pages::message(title, None, &[text]))
}

/// A code step refused: back to the code page with the reason.
async fn code_refused(svc: &Services, token: &str, denied: Denied, form_token: &str) -> Response {
    let landing = match access::landing(svc, token).await {
        Ok(Ok(landing)) => landing,
        Ok(Err(_)) => return Redirect::to(&format!("/i/{token}")).into_response(),
        Err(e) => return failed(e),
    };
    let text = match denied {
        Denied::ResendTooSoon { seconds } => format!(
            "We sent you a code moments ago. You can ask for another in {seconds} seconds."
        ),
        Denied::TooManyCodes => "You have asked for the most codes allowed in a day. Try again tomorrow, or ask your adviser for help.".into(),
        Denied::NoCode => "That code has expired or was already used. Ask for a new code.".into(),
        Denied::CodeUsedUp => "That code was entered wrongly too many times. Ask for a new code.".into(),
        Denied::WrongCode { tries_left } => format!(
            "That code is not right. Check the text message and try again ({tries_left} {} left).",
            if tries_left == 1 { "try" } else { "tries" }
        ),
        _ => "Ask for a new code.".into(),
    };
    let status = match denied {
        Denied::ResendTooSoon { .. } | Denied::TooManyCodes => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    };
    html(
        status,
        pages::code_form(&pages::CodeForm {
            link: &format!("/i/{token}"),
            form_token,
            company: &landing.company_name,
            hint: &pages::texted_hint(&landing.masked_mobile),
            resend: "Text me a new code",
            notice: None,
            error: Some(&text),
        }),
    )
}

// ---- cookies and form tokens --------------------------------------------------------------

/// A cookie of the portal's: host-only (the `__Host-` prefix), for every path, sent over HTTPS
/// only, out of scripts' reach and never with a request from another site.
pub(crate) fn portal_cookie(
    name: &'static str,
    value: String,
    max_age: Duration,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(max_age)
        .build()
}

/// Tells the browser to drop a cookie: the same attributes (a `__Host-` cookie is refused
/// without them), no value, no age. Sent whether or not the request carried the cookie.
pub(crate) fn expired_cookie(name: &'static str) -> Cookie<'static> {
    portal_cookie(name, String::new(), Duration::ZERO)
}

/// The response with `cookies` set on it.
pub(crate) fn with_cookies<const N: usize>(
    response: Response,
    cookies: [Cookie<'static>; N],
) -> Response {
    let jar = cookies.into_iter().fold(CookieJar::new(), CookieJar::add);
    (jar, response).into_response()
}

/// The pre-sign-in form token: the browser's cookie if it has one, else a new one to set.
pub(crate) fn form_token(svc: &Services, jar: &CookieJar) -> (String, bool) {
    match jar.get(FORM_COOKIE).filter(|c| c.value().len() == 43) {
        Some(existing) => (existing.value().to_owned(), false),
        None => (svc.ids.token(), true),
    }
}

/// The token a pre-sign-in form carries, if it is the one its cookie holds.
pub(crate) fn checked_form_token(
    jar: &CookieJar,
    form: &BTreeMap<String, String>,
) -> Option<String> {
    match (jar.get(FORM_COOKIE), form.get("form_token")) {
        (Some(cookie), Some(field)) if access::same(cookie.value(), field) => Some(field.clone()),
        _ => None,
    }
}

/// The company's display name, kept for "Your session has ended" and "You have signed out",
/// which are shown when there is no session left to read it from. A cookie rather than a query
/// parameter: the redirect to `/session-ended` comes from a request whose session is already
/// gone, and a name in the address could be forged by a link from anyone, while a `__Host-`
/// cookie can be set by this site only. It holds nothing secret (the name is in every e-mail
/// and on every page), percent-encoded; it lives a day, longer than the longest session (12
/// hours), and the signed-out page drops it. The jar percent-encodes the value (a name may hold
/// spaces, commas, semicolons or quotes) and decodes it when read; a value that does not decode
/// is no cookie. The pages escape it like any text.
fn company_cookie(name: &str) -> Cookie<'static> {
    portal_cookie(COMPANY_COOKIE, name.to_owned(), Duration::hours(24))
}

/// The company's name from its cookie, if it holds a readable one.
fn company_from(jar: &CookieJar) -> Option<String> {
    let name = jar.get(COMPANY_COOKIE)?.value().trim();
    (!name.is_empty() && name.chars().count() <= 200 && !name.chars().any(char::is_control))
        .then(|| name.to_owned())
}

pub(crate) fn with_form_cookie(response: Response, token: &str, new: bool) -> Response {
    if !new {
        return response;
    }
    let cookie = portal_cookie(FORM_COOKIE, token.to_owned(), Duration::days(7));
    with_cookies(response, [cookie])
}

pub(crate) type FormData = Form<Vec<(String, String)>>;

pub(crate) fn form_map(form: FormData) -> BTreeMap<String, String> {
    form.0.into_iter().collect()
}

pub(crate) fn expires_text(at: DateTime<Utc>) -> String {
    // The customer's zone is unknown; the tenant's would be a guess too. UTC, said plainly.
    at.format("%-d %B %Y, %H:%M UTC").to_string()
}

// ---- the link and the code ----------------------------------------------------------------

async fn landing(
    State(svc): State<Services>,
    Path(token): Path<String>,
    jar: CookieJar,
) -> Response {
    let (form_token, new) = form_token(&svc, &jar);
    let response = match access::landing(&svc, &token).await {
        Err(e) => failed(e),
        Ok(Err(refusal)) => denied(&svc, &token, refusal, &form_token).await,
        Ok(Ok(l)) => html(
            StatusCode::OK,
            pages::landing(&pages::Landing {
                token: &token,
                form_token: &form_token,
                first_name: &l.first_name,
                company: &l.company_name,
                masked_mobile: &l.masked_mobile,
                code_waiting: l.code_waiting,
                expires: &expires_text(l.expires_at),
            }),
        ),
    };
    with_form_cookie(response, &form_token, new)
}

async fn code_page(
    State(svc): State<Services>,
    Path(token): Path<String>,
    jar: CookieJar,
) -> Response {
    let (form_token, new) = form_token(&svc, &jar);
    let response = match access::landing(&svc, &token).await {
        Err(e) => failed(e),
        Ok(Err(refusal)) => denied(&svc, &token, refusal, &form_token).await,
        Ok(Ok(l)) if !l.code_waiting => Redirect::to(&format!("/i/{token}")).into_response(),
        Ok(Ok(l)) => html(
            StatusCode::OK,
            pages::code_form(&pages::CodeForm {
                link: &format!("/i/{token}"),
                form_token: &form_token,
                company: &l.company_name,
                hint: &pages::texted_hint(&l.masked_mobile),
                resend: "Text me a new code",
                notice: Some("We have texted you a code."),
                error: None,
            }),
        ),
    };
    with_form_cookie(response, &form_token, new)
}

async fn send_code(
    State(svc): State<Services>,
    Path(token): Path<String>,
    jar: CookieJar,
    form: FormData,
) -> Response {
    let form = form_map(form);
    let Some(form_token) = checked_form_token(&jar, &form) else {
        return refused_form();
    };
    match access::send_code(&svc, &token).await {
        Err(e) => failed(e),
        Ok(Err(refusal)) => denied(&svc, &token, refusal, &form_token).await,
        Ok(Ok(_)) => Redirect::to(&format!("/i/{token}/code")).into_response(),
    }
}

async fn verify(
    State(svc): State<Services>,
    Path(token): Path<String>,
    jar: CookieJar,
    form: FormData,
) -> Response {
    let form = form_map(form);
    let Some(form_token) = checked_form_token(&jar, &form) else {
        return refused_form();
    };
    let code = form.get("code").map(String::as_str).unwrap_or_default();
    match access::verify(&svc, &token, code).await {
        Err(e) => failed(e),
        Ok(Err(refusal)) => denied(&svc, &token, refusal, &form_token).await,
        Ok(Ok(opened)) => {
            let session = portal_cookie(
                SESSION_COOKIE,
                opened.secret,
                Duration::hours(access::SESSION_HOURS),
            );
            // The pre-sign-in token has done its job.
            let form = expired_cookie(FORM_COOKIE);
            let company = company_cookie(&opened.visit.company_name);
            with_cookies(
                Redirect::to("/app").into_response(),
                [session, form, company],
            )
        }
    }
}

// ---- signed in ----------------------------------------------------------------------------

/// The signed-in visit, or the answer to give when there is none.
pub(crate) async fn signed_in(
    svc: &Services,
    jar: &CookieJar,
) -> Result<(Visit, String), Response> {
    let Some(secret) = jar.get(SESSION_COOKIE).map(Cookie::value) else {
        return Err(Redirect::to("/session-ended").into_response());
    };
    match access::resume(svc, secret).await {
        Ok(Some(visit)) => Ok((visit, secret.to_owned())),
        Ok(None) => {
            let response = Redirect::to("/session-ended").into_response();
            Err(with_cookies(response, [expired_cookie(SESSION_COOKIE)]))
        }
        Err(e) => Err(failed(e)),
    }
}

/// A signed-in form: the session's token must be in it. The visit and the session's secret.
pub(crate) async fn signed_in_form(
    svc: &Services,
    jar: &CookieJar,
    form: &BTreeMap<String, String>,
) -> Result<(Visit, String), Response> {
    let (visit, secret) = signed_in(svc, jar).await?;
    if !visit.form_token_ok(form.get("csrf").map(String::as_str)) {
        return Err(refused_form());
    }
    Ok((visit, secret))
}

async fn show_application(State(svc): State<Services>, jar: CookieJar) -> Response {
    let (visit, _) = match signed_in(&svc, &jar).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    application_page(&svc, &visit, StatusCode::OK, &BTreeMap::new(), &[], None).await
}

pub(crate) async fn application_page(
    svc: &Services,
    visit: &Visit,
    status: StatusCode,
    entered: &BTreeMap<String, String>,
    errors: &[(String, String)],
    notice: Option<&str>,
) -> Response {
    let opportunity = match application::get(svc, &visit.who).await {
        Ok(o) => o,
        Err(e) => return failed(e),
    };
    let listed = match questionnaires::listed(svc, visit).await {
        Ok(listed) => listed,
        Err(e) => return failed(e),
    };
    let items: Vec<pages::Questionnaire> = listed
        .iter()
        .map(|(id, name, status, done)| pages::Questionnaire {
            id,
            name,
            status,
            done: *done,
        })
        .collect();
    // In the order the partner gave (`field_order`; an object's keys keep none in storage).
    let spec = &opportunity.spec;
    let fields: Vec<(String, serde_json::Value)> = ordered_fields(&spec.data, &spec.field_order)
        .into_iter()
        .filter_map(|name| spec.data.get(&name).map(|v| (name, v.clone())))
        .collect();
    html(
        status,
        pages::application(&pages::Application {
            company: &visit.company_name,
            first_name: &visit.first_name,
            name: &opportunity.spec.name,
            csrf: &visit.csrf,
            version: opportunity.version,
            fields: &fields,
            entered,
            errors,
            notice,
            questionnaires: &items,
        }),
    )
}

async fn save_application(State(svc): State<Services>, jar: CookieJar, form: FormData) -> Response {
    let form = form_map(form);
    let (visit, _) = match signed_in_form(&svc, &jar, &form).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let seen: u64 = form
        .get("version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let values: BTreeMap<String, String> = form
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("f.").map(|k| (k.to_owned(), v.clone())))
        .collect();
    match application::edit(&svc, &visit.who, seen, &values).await {
        Ok(Edited::Saved(changes)) => {
            let notice = if changes.is_empty() {
                "Nothing was changed."
            } else {
                "Your changes were saved."
            };
            application_page(&svc, &visit, StatusCode::OK, &BTreeMap::new(), &[], Some(notice))
                .await
        }
        Ok(Edited::Invalid(errors)) => {
            application_page(&svc, &visit, StatusCode::BAD_REQUEST, &form, &errors, None).await
        }
        Err(Error::Stale(_)) => {
            application_page(
                &svc,
                &visit,
                StatusCode::CONFLICT,
                &BTreeMap::new(),
                &[],
                Some("Your application was changed while you were editing it. Here is the latest version: please make your change again."),
            )
            .await
        }
        Err(e) => failed(e),
    }
}

async fn sign_out(State(svc): State<Services>, jar: CookieJar, form: FormData) -> Response {
    let form = form_map(form);
    let (_, secret) = match signed_in_form(&svc, &jar, &form).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    if let Err(e) = access::end(&svc, &secret).await {
        return failed(e);
    }
    let response = Redirect::to("/signed-out").into_response();
    with_cookies(response, [expired_cookie(SESSION_COOKIE)])
}

async fn session_ended(jar: CookieJar) -> Response {
    let company = company_from(&jar);
    let again = match &company {
        Some(company) => format!(
            "To continue, open the link in your e-mail from {company} again. We will text you a new code."
        ),
        None => "To continue, open the link in your e-mail again. We will text you a new code."
            .to_owned(),
    };
    html(
        StatusCode::OK,
        pages::message(
            "Your session has ended",
            company.as_deref(),
            &[
                "For your safety, sessions end after 30 minutes without activity, after 12 hours, or when the invitation changes.",
                &again,
            ],
        ),
    )
}

async fn signed_out(jar: CookieJar) -> Response {
    let company = company_from(&jar);
    let back = match &company {
        Some(company) => {
            format!("To come back, open the link in your e-mail from {company} again.")
        }
        None => "To come back, open the link in your e-mail again.".to_owned(),
    };
    let page = html(
        StatusCode::OK,
        pages::message("You have signed out", company.as_deref(), &[&back]),
    );
    // Signed out on purpose: nothing of the visit stays in this browser.
    with_cookies(page, [expired_cookie(COMPANY_COOKIE)])
}

pub(crate) async fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        pages::message(
            "Page not found",
            None,
            &[
                "If you typed the address, check it. If you followed a link, open the link in your e-mail again.",
            ],
        ),
    )
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("portal.css"),
    )
        .into_response()
}
