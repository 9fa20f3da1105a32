//! The account portal: a client's communication contacts sign in with their personal link and
//! a one-time code, and see the account, its invoices and the messages sent to them.
//!
//! `GET /a/{token}` (the link; reads only) → `POST /a/{token}/code` (sends a code) →
//! `POST /a/{token}/verify` (the code opens a session, cookie [`ACCOUNT_COOKIE`], separate
//! from the Customer Centre's) → `/account`, `/account/invoices?show=open|paid`,
//! `/account/invoices/{id}` (with `POST …/dispute` and `POST …/promise`),
//! `/account/statements[/{month}]`, `/account/messages`, `POST /account/sign-out`. The same guard,
//! headers, CSP and form tokens as the Customer Centre (`lib.rs`). Who may get in is checked
//! again on every request ([`clientwatch::account::admit`]); a session that may no longer is
//! ended and the page says so, naming the tenant.
//!
//! A new page is one handler: take a [`SignedIn`] argument (or call [`signed_in_account_form`]
//! for a form) and render with [`pages::signed_in`].

mod link;
pub mod pages;

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use clientwatch::Services;
use clientwatch::account::views::{self, Line, Show};
use clientwatch::account::{answer, signin};
use clientwatch::domain::Error;

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
        .route("/account/invoices/{id}/dispute", post(dispute))
        .route("/account/invoices/{id}/promise", post(promise))
        .route("/account/statements", get(statements))
        .route("/account/statements/{month}", get(statement))
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

/// A signed-in page's visit, as a handler argument: the request is answered with the
/// session-ended page instead when there is none (see [`signed_in_account`]).
pub struct SignedIn(pub AccountVisit);

impl FromRequestParts<Services> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, svc: &Services) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        signed_in_account(svc, &jar)
            .await
            .map(|(visit, _)| SignedIn(visit))
    }
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

async fn account(State(svc): State<Services>, SignedIn(visit): SignedIn) -> Response {
    match views::summary(&svc, &visit).await {
        Ok(summary) => html(StatusCode::OK, pages::account(&visit, &summary)),
        Err(e) => failed(e),
    }
}

async fn invoices(
    State(svc): State<Services>,
    SignedIn(visit): SignedIn,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let show = match query.get("show").map(String::as_str) {
        Some("paid") => Show::Paid,
        _ => Show::Open,
    };
    match views::list(&svc, &visit, show).await {
        Ok(lines) => html(StatusCode::OK, pages::invoices(&visit, show, &lines)),
        Err(e) => failed(e),
    }
}

async fn invoice(
    State(svc): State<Services>,
    SignedIn(visit): SignedIn,
    Path(id): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let notice = match query.get("done").map(String::as_str) {
        Some("disputed") => Some(format!(
            "Thank you. {} has your dispute and will look into it.",
            visit.tenant_name
        )),
        Some("promised") => Some(format!(
            "Thank you. {} has your promise to pay.",
            visit.tenant_name
        )),
        _ => None,
    };
    let answers = pages::Answers {
        notice,
        ..Default::default()
    };
    invoice_page(&svc, &visit, &id, StatusCode::OK, answers).await
}

/// The invoice's page with `answers` (the promise days are read here).
async fn invoice_page(
    svc: &Services,
    visit: &AccountVisit,
    id: &str,
    status: StatusCode,
    mut answers: pages::Answers,
) -> Response {
    let line: Line = match views::invoice(svc, visit, id).await {
        Ok(Some(line)) => line,
        Ok(None) => return not_found().await,
        Err(e) => return failed(e),
    };
    answers.promise_days = match answer::promise_days(svc, visit).await {
        Ok(days) => days,
        Err(e) => return failed(e),
    };
    html(status, pages::invoice(visit, &line, &answers))
}

/// What became of a dispute or a promise: on to the invoice's page with a confirmation, or
/// back to the form with what was wrong (422) or why it could not be taken (409).
async fn answered(
    svc: &Services,
    visit: &AccountVisit,
    id: &str,
    form: BTreeMap<String, String>,
    outcome: clientwatch::domain::Result<()>,
    done: &str,
) -> Response {
    let mut answers = pages::Answers {
        entered: form,
        ..Default::default()
    };
    answers.entered.remove("csrf");
    let status = match outcome {
        Ok(()) => {
            return Redirect::to(&format!("/account/invoices/{id}?done={done}")).into_response();
        }
        Err(Error::NotFound(_)) => return not_found().await,
        Err(Error::Invalid { field, message }) => {
            answers.errors = vec![(field.clone(), problem_words(&field, &message))];
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(Error::Conflict(why)) => {
            answers.notice = Some(why);
            answers.entered.clear();
            StatusCode::CONFLICT
        }
        Err(e) => return failed(e),
    };
    invoice_page(svc, visit, id, status, answers).await
}

/// A refused field in the contact's words.
fn problem_words(field: &str, message: &str) -> String {
    match field {
        "reason" => "Choose why you dispute the invoice".into(),
        "date" => "Choose the day you will pay by from the list".into(),
        "comment" => format!("Your comment {message}"),
        _ => format!("{}: {message}", crate::pages::label_of(field)),
    }
}

async fn dispute(
    State(svc): State<Services>,
    jar: CookieJar,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let form = form_map(form);
    let (visit, _) = match signed_in_account_form(&svc, &jar, &form).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let reason = form.get("reason").map(String::as_str).unwrap_or("");
    let comment = form.get("comment").map(String::as_str);
    let outcome = answer::dispute(&svc, &visit, &id, reason, comment)
        .await
        .map(|_| ());
    answered(&svc, &visit, &id, form, outcome, "disputed").await
}

async fn promise(
    State(svc): State<Services>,
    jar: CookieJar,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let form = form_map(form);
    let (visit, _) = match signed_in_account_form(&svc, &jar, &form).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let date = form.get("date").map(String::as_str).unwrap_or("");
    let outcome = answer::promise(&svc, &visit, &id, date).await.map(|_| ());
    answered(&svc, &visit, &id, form, outcome, "promised").await
}

async fn statements(State(svc): State<Services>, SignedIn(visit): SignedIn) -> Response {
    match views::statements(&svc, &visit).await {
        Ok(list) => html(StatusCode::OK, pages::statements(&visit, &list)),
        Err(e) => failed(e),
    }
}

async fn statement(
    State(svc): State<Services>,
    SignedIn(visit): SignedIn,
    Path(month): Path<String>,
) -> Response {
    match views::statement(&svc, &visit, &month).await {
        Ok(Some(s)) => html(StatusCode::OK, pages::statement(&visit, &s)),
        Ok(None) => not_found().await,
        Err(e) => failed(e),
    }
}

async fn messages(State(svc): State<Services>, SignedIn(visit): SignedIn) -> Response {
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
