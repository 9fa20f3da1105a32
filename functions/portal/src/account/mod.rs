//! The account portal: a client's communication contacts sign in with their personal link and
//! a one-time code, and see the account, its invoices and the messages sent to them.
//!
//! `GET /a/{token}` (the link; reads only) → `POST /a/{token}/code` (sends a code) →
//! `POST /a/{token}/verify` (the code opens a session, cookie [`ACCOUNT_COOKIE`], separate
//! from the Customer Centre's) → `/account`, `/account/invoices?show=open|paid`,
//! `/account/invoices/{id}`, `/account/messages`, `POST /account/sign-out`. The same guard,
//! headers, CSP and form tokens as the Customer Centre (`lib.rs`). Who may get in is checked
//! again on every request ([`clientwatch::account::admit`]); a session that may no longer is
//! ended and the page says so, naming the tenant.
//!
//! A later page (a dispute, a promise to pay, statements) is one handler: call
//! [`signed_in_account`] (or [`signed_in_account_form`] for a form) and render with
//! [`pages::signed_in`].

mod link;
pub mod pages;

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use clientwatch::Services;
use clientwatch::account::signin;
use clientwatch::account::views::{self, Show};
use maud::html;

pub use clientwatch::account::AccountVisit;

use crate::{
    FormData, expired_cookie, failed, form_map, html, not_found, refused_form, with_cookies,
};

/// The account portal's session cookie.
pub const ACCOUNT_COOKIE: &str = "__Host-cw_account";

/// How many messages the messages page lists.
const MESSAGES_SHOWN: usize = 100;

pub fn routes() -> Router<Services> {
    Router::new()
        .route("/a/{token}", get(link::landing))
        .route(
            "/a/{token}/code",
            get(link::code_page).post(link::send_code),
        )
        .route("/a/{token}/verify", post(link::verify))
        .route("/account", get(account))
        .route("/account/invoices", get(invoices))
        .route("/account/invoices/{id}", get(invoice))
        .route("/account/messages", get(messages))
        .route("/account/sign-out", post(sign_out))
        .route("/account/signed-out", get(signed_out))
}

/// The signed-in visit and its session's secret, or the page to answer instead: the session
/// has ended (it timed out, or its contact may no longer get in), and the page says so.
pub async fn signed_in_account(
    svc: &Services,
    jar: &CookieJar,
) -> Result<(AccountVisit, String), Response> {
    let Some(secret) = jar.get(ACCOUNT_COOKIE).map(Cookie::value) else {
        return Err(ended(None));
    };
    match signin::resume(svc, secret).await {
        Ok(Ok(visit)) => Ok((visit, secret.to_owned())),
        Ok(Err(gone)) => Err(with_cookies(
            ended(gone.tenant_name.as_deref()),
            [expired_cookie(ACCOUNT_COOKIE)],
        )),
        Err(e) => Err(failed(e)),
    }
}

/// A signed-in form: the session's token must be in it.
pub async fn signed_in_account_form(
    svc: &Services,
    jar: &CookieJar,
    form: &BTreeMap<String, String>,
) -> Result<(AccountVisit, String), Response> {
    let (visit, secret) = signed_in_account(svc, jar).await?;
    if !visit.form_token_ok(form.get("csrf").map(String::as_str)) {
        return Err(refused_form());
    }
    Ok((visit, secret))
}

/// The page of a session that has ended, naming the tenant when it is known.
fn ended(tenant: Option<&str>) -> Response {
    let back = match tenant {
        Some(name) => format!(
            "To continue, open the link in your latest e-mail from {name} again. We will send you a new code."
        ),
        None => {
            "To continue, open the link in your latest e-mail again. We will send you a new code."
                .into()
        }
    };
    html(
        StatusCode::UNAUTHORIZED,
        crate::pages::message(
            "Your session has ended",
            tenant,
            &[
                "For your safety, sessions end after 30 minutes without activity, after 12 hours, or when your access changes.",
                &back,
            ],
        ),
    )
}

async fn account(State(svc): State<Services>, jar: CookieJar) -> Response {
    let (visit, _) = match signed_in_account(&svc, &jar).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    match views::summary(&svc, &visit).await {
        Ok(summary) => html(StatusCode::OK, pages::account(&visit, &summary)),
        Err(e) => failed(e),
    }
}

async fn invoices(
    State(svc): State<Services>,
    jar: CookieJar,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let (visit, _) = match signed_in_account(&svc, &jar).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let show = match query.get("show").map(String::as_str) {
        Some("paid") => Show::Paid,
        _ => Show::Open,
    };
    match views::list(&svc, &visit, show).await {
        Ok(lines) => html(StatusCode::OK, pages::invoices(&visit, show, &lines)),
        Err(e) => failed(e),
    }
}

async fn invoice(State(svc): State<Services>, jar: CookieJar, Path(id): Path<String>) -> Response {
    let (visit, _) = match signed_in_account(&svc, &jar).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    match views::invoice(&svc, &visit, &id).await {
        Ok(Some(line)) => html(StatusCode::OK, pages::invoice(&visit, &line, html! {})),
        Ok(None) => not_found().await,
        Err(e) => failed(e),
    }
}

async fn messages(State(svc): State<Services>, jar: CookieJar) -> Response {
    let (visit, _) = match signed_in_account(&svc, &jar).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    match views::messages(&svc, &visit, MESSAGES_SHOWN).await {
        Ok(entries) => html(StatusCode::OK, pages::messages(&visit, &entries)),
        Err(e) => failed(e),
    }
}

async fn sign_out(State(svc): State<Services>, jar: CookieJar, form: FormData) -> Response {
    let form = form_map(form);
    let (_, secret) = match signed_in_account_form(&svc, &jar, &form).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    if let Err(e) = signin::end(&svc, &secret).await {
        return failed(e);
    }
    let response = Redirect::to("/account/signed-out").into_response();
    with_cookies(response, [expired_cookie(ACCOUNT_COOKIE)])
}

async fn signed_out() -> Response {
    html(
        StatusCode::OK,
        crate::pages::message(
            "You have signed out",
            None,
            &["To come back, open the link in your latest e-mail again."],
        ),
    )
}
