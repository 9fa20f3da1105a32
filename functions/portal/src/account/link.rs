//! The link, the code and the start of a session.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use clientwatch::Services;
use clientwatch::access::code::Refusal;
use clientwatch::access::session::SESSION_HOURS;
use clientwatch::account::admit::Refused;
use clientwatch::account::signin::{self, Denied};
use cookie::time::Duration;

use super::{ACCOUNT_COOKIE, pages};
use crate::{
    FORM_COOKIE, FormData, checked_form_token, expired_cookie, expires_text, failed, form_map,
    form_token, html, portal_cookie, refused_form, with_cookies, with_form_cookie,
};

/// The page for a link that cannot be used, saying only what its holder knows.
async fn denied(svc: &Services, token: &str, denied: Denied, form_token: &str) -> Response {
    let tenant = signin::tenant_of_link(svc, token).await;
    let who = tenant.as_deref().unwrap_or("the sender");
    let (status, title, text): (StatusCode, &str, String) = match denied {
        Denied::LinkUnknown => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "Check that you opened the whole link from your e-mail. If it still does not work, open the link in a more recent e-mail.".into(),
        ),
        Denied::Refused(Refused::Expired) => (
            StatusCode::GONE,
            "This link has expired",
            format!("Open the link in a more recent e-mail from {who}, or ask them for a new one."),
        ),
        Denied::Refused(Refused::Replaced) => (
            StatusCode::GONE,
            "A newer link was sent",
            format!("This link was replaced by a newer one. Use the link in the most recent e-mail from {who}."),
        ),
        Denied::Refused(Refused::Locked) | Denied::Code(Refusal::Locked) => (
            StatusCode::FORBIDDEN,
            "This link is locked",
            format!("A wrong code was entered too many times, so we locked your account access to keep it safe. Ask {who} to send you a new link."),
        ),
        Denied::Refused(_) => (
            StatusCode::FORBIDDEN,
            "This link no longer works",
            format!("Your access to this account has changed. If you still need it, ask {who}."),
        ),
        Denied::SmsRequired => (
            StatusCode::CONFLICT,
            "We cannot send you a code",
            format!("{who} sends sign-in codes only by text message, and we have no mobile number for you. Ask {who} to add it."),
        ),
        Denied::NoWayToReach => (
            StatusCode::CONFLICT,
            "We cannot send you a code",
            format!("We have no mobile number or e-mail address for you. Ask {who} to add one."),
        ),
        Denied::Code(refusal) => return code_refused(svc, token, refusal, form_token).await,
    };
    html(
        status,
        crate::pages::message(title, tenant.as_deref(), &[&text]),
    )
}

/// A code step refused: back to the code page with the reason.
async fn code_refused(svc: &Services, token: &str, refusal: Refusal, form_token: &str) -> Response {
    let landing = match signin::landing(svc, token).await {
        Ok(Ok(landing)) => landing,
        Ok(Err(_)) => return Redirect::to(&format!("/a/{token}")).into_response(),
        Err(e) => return failed(e),
    };
    let text = match refusal {
        Refusal::ResendTooSoon { seconds } => {
            format!("We sent you a code moments ago. You can ask for another in {seconds} seconds.")
        }
        Refusal::TooManyCodes => {
            "You have asked for the most codes allowed in a day. Try again tomorrow.".into()
        }
        Refusal::NoCode => "That code has expired or was already used. Ask for a new code.".into(),
        Refusal::CodeUsedUp => {
            "That code was entered wrongly too many times. Ask for a new code.".into()
        }
        Refusal::WrongCode { tries_left } => format!(
            "That code is not right. Check it and try again ({tries_left} {} left).",
            if tries_left == 1 { "try" } else { "tries" }
        ),
        Refusal::Locked => "Ask for a new link.".into(),
    };
    let status = match refusal {
        Refusal::ResendTooSoon { .. } | Refusal::TooManyCodes => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    };
    html(
        status,
        pages::code_form(&pages::CodePage {
            token,
            form_token,
            landing: &landing,
            notice: None,
            error: Some(&text),
        }),
    )
}

pub async fn landing(
    State(svc): State<Services>,
    Path(token): Path<String>,
    jar: CookieJar,
) -> Response {
    let (form_token, new) = form_token(&svc, &jar);
    let response = match signin::landing(&svc, &token).await {
        Err(e) => failed(e),
        Ok(Err(refusal)) => denied(&svc, &token, refusal, &form_token).await,
        Ok(Ok(l)) => html(
            StatusCode::OK,
            pages::landing(&token, &form_token, &l, &expires_text(l.expires_at)),
        ),
    };
    with_form_cookie(response, &form_token, new)
}

pub async fn code_page(
    State(svc): State<Services>,
    Path(token): Path<String>,
    jar: CookieJar,
) -> Response {
    let (form_token, new) = form_token(&svc, &jar);
    let response = match signin::landing(&svc, &token).await {
        Err(e) => failed(e),
        Ok(Err(refusal)) => denied(&svc, &token, refusal, &form_token).await,
        Ok(Ok(l)) if !l.code_waiting => Redirect::to(&format!("/a/{token}")).into_response(),
        Ok(Ok(l)) => html(
            StatusCode::OK,
            pages::code_form(&pages::CodePage {
                token: &token,
                form_token: &form_token,
                landing: &l,
                notice: Some("We have sent you a code."),
                error: None,
            }),
        ),
    };
    with_form_cookie(response, &form_token, new)
}

pub async fn send_code(
    State(svc): State<Services>,
    Path(token): Path<String>,
    jar: CookieJar,
    form: FormData,
) -> Response {
    let form = form_map(form);
    let Some(form_token) = checked_form_token(&jar, &form) else {
        return refused_form();
    };
    match signin::send_code(&svc, &token).await {
        Err(e) => failed(e),
        Ok(Err(refusal)) => denied(&svc, &token, refusal, &form_token).await,
        Ok(Ok(_)) => Redirect::to(&format!("/a/{token}/code")).into_response(),
    }
}

pub async fn verify(
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
    match signin::verify(&svc, &token, code).await {
        Err(e) => failed(e),
        Ok(Err(refusal)) => denied(&svc, &token, refusal, &form_token).await,
        Ok(Ok(opened)) => {
            let session = portal_cookie(
                ACCOUNT_COOKIE,
                opened.secret,
                Duration::hours(SESSION_HOURS),
            );
            let form = expired_cookie(FORM_COOKIE);
            with_cookies(Redirect::to("/account").into_response(), [session, form])
        }
    }
}
