//! A customer in the Customer Centre without a browser: requests go through the portal's
//! router as a browser would send them (cookies kept, forms posted URL-encoded), and pages come
//! back as HTML to look into. The real-browser test is `portal_browser.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use clientwatch::Services;
use clientwatch::adapters::ses::SesMailer;
use clientwatch::adapters::sns::SnsSms;
use clientwatch::domain::EmailAddress;
use clientwatch::ports::{Ids, SystemIds};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{sdk_config, sent_emails, sent_sms, unique};

/// Sends e-mail through the emulator's SES (from a verified sender of its own) and texts
/// through its SNS, so a test reads them back as a customer would receive them.
pub async fn deliver_through_emulator(services: &mut Services) {
    let sdk = sdk_config().await;
    let sender = EmailAddress::parse(&format!("{}@clientwatch.test", unique("from"))).unwrap();
    aws_sdk_sesv2::Client::new(&sdk)
        .create_email_identity()
        .email_identity(sender.as_str())
        .send()
        .await
        .expect("sender identity created");
    services.mailer = Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(&sdk), sender));
    services.sms = Arc::new(SnsSms::new(aws_sdk_sns::Client::new(&sdk)));
}

/// A mobile number of its own (NZ, 021 …), so that parallel tests do not read each other's texts.
pub fn unique_mobile() -> String {
    let mut digits = [0u8; 4];
    SystemIds.fill(&mut digits);
    format!(
        "+6421{}",
        2_000_000 + u32::from_le_bytes(digits) % 7_000_000
    )
}

/// An e-mail address of its own.
pub fn unique_email(who: &str) -> String {
    format!("{}@customer.test", unique(who))
}

/// The e-mails the emulator's SES accepted for `to`: (subject, HTML body).
pub async fn emails_to(to: &str) -> Vec<(String, String)> {
    sent_emails()
        .await
        .into_iter()
        .filter(|m| {
            m["destinations"]["ToAddresses"]
                .as_array()
                .is_some_and(|a| a.iter().any(|d| d == to))
        })
        .map(|m| {
            (
                m["subject"].as_str().unwrap_or_default().to_owned(),
                m["body"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The texts the emulator's SNS sent to `mobile` (E.164).
pub async fn texts_to(mobile: &str) -> Vec<String> {
    sent_sms()
        .await
        .into_iter()
        .filter(|m| m["phone_number"] == json!(mobile))
        .map(|m| m["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The portal path of the first Customer Centre link in an e-mail body (`/i/<token>`).
pub fn link_path(body: &str) -> String {
    let start = body
        .find("/i/")
        .expect("the e-mail has a Customer Centre link");
    let token: String = body[start + 3..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    format!("/i/{token}")
}

/// The portal path of an account-portal link (`https://…/a/<token>` in an answer or an e-mail
/// body): `/a/<token>`.
pub fn account_link_path(body: &str) -> String {
    let start = body.find("/a/").expect("there is an account-portal link");
    let token: String = body[start + 3..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    format!("/a/{token}")
}

/// The 6-digit code in a text.
pub fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a 6-digit code in the text")
        .to_owned()
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    /// The value of the first form field named `name` (`<input name=... value=...>`).
    pub fn field(&self, name: &str) -> Option<String> {
        let at = self.html.find(&format!("name=\"{name}\""))?;
        let tag_start = self.html[..at].rfind('<')?;
        let tag_end = at + self.html[at..].find('>')?;
        let tag = &self.html[tag_start..tag_end];
        let value = tag.find("value=\"")? + 7;
        let len = tag[value..].find('"')?;
        Some(
            tag[value..value + len]
                .replace("&amp;", "&")
                .replace("&quot;", "\""),
        )
    }

    pub fn shows(&self, text: &str) -> bool {
        self.html.contains(text)
    }

    /// Every `Set-Cookie` header, whole.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
}

/// One browser: its cookies, and the portal it talks to.
pub struct Customer {
    pub services: Services,
    pub cookies: BTreeMap<String, String>,
}

impl Customer {
    pub fn new(services: &Services) -> Self {
        Self {
            services: services.clone(),
            cookies: BTreeMap::new(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    /// Posts a form (`application/x-www-form-urlencoded`).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.send(Method::POST, path, Some(body)).await
    }

    /// Follows a redirect the way a browser does after a form: a GET of its location.
    pub async fn follow(&mut self, page: Page) -> Page {
        match page.location() {
            Some(location) if page.status.is_redirection() => {
                let location = location.to_owned();
                self.get(&location).await
            }
            _ => page,
        }
    }

    pub async fn send(&mut self, method: Method, path: &str, body: Option<String>) -> Page {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "centre.clientwatch.test");
        if !self.cookies.is_empty() {
            let cookies = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header(header::COOKIE, cookies);
        }
        let body = match body {
            Some(form) => {
                request = request
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::ORIGIN, "https://centre.clientwatch.test")
                    .header("sec-fetch-site", "same-origin");
                Body::from(form)
            }
            None => Body::empty(),
        };
        let response = clientwatch_portal::app(self.services.clone())
            .oneshot(request.body(body).expect("a request"))
            .await
            .expect("the portal always answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        let page = Page {
            status,
            headers,
            html: String::from_utf8_lossy(&bytes).into_owned(),
        };
        for cookie in page.set_cookies() {
            let first = cookie.split(';').next().unwrap_or_default();
            if let Some((name, value)) = first.split_once('=') {
                if value.is_empty() || cookie.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        page
    }
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Pretty-prints a JSON value for assertion messages.
pub fn show(value: &Value) -> String {
    format!("{value:#}")
}
