//! The local outbox viewer (`/outbox`, local mode only): the e-mails, texts and events the local
//! adapters wrote to the outbox folder, newest first, readable in a browser the way a mail
//! catcher shows them. An e-mail's page shows its headers, its HTML part (in a sandboxed frame,
//! served with a CSP that runs no script and loads nothing but inline styles and images), its
//! text part and a link to the `.eml` file itself.
//!
//! It reads the folder on every request, so what a run wrote a moment ago is there on reload.
//! Names in paths are checked against the outbox's own file names (no `/`, no `..`): nothing
//! outside the outbox folder can be read through it. It lives in the local binary only; no
//! Lambda function has it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use clientwatch::render::html::escape;
use mail_parser::MessageParser;

/// How many of the newest e-mails, texts and events the list shows.
const LISTED: usize = 200;

#[derive(Clone)]
struct Outbox {
    dir: Arc<PathBuf>,
}

/// The viewer's routes, under `/outbox`.
pub fn router(dir: PathBuf) -> Router {
    Router::new()
        .route("/outbox", get(list))
        .route("/outbox/", get(list))
        .route("/outbox/mail/{name}", get(mail))
        .route("/outbox/mail/{name}/html", get(mail_html))
        .route("/outbox/mail/{name}/eml", get(mail_eml))
        .route("/outbox/events/{day}", get(events_of_day))
        .with_state(Outbox { dir: Arc::new(dir) })
}

/// A file name the outbox writes: letters, digits, `-`, `_` and `.`, not hidden, with `ext`.
fn outbox_name(name: &str, ext: &str) -> bool {
    name.len() <= 200
        && !name.starts_with('.')
        && name.ends_with(ext)
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !name.contains("..")
}

/// The newest files of `folder` with extension `ext`, newest first (names start with the time).
fn newest(folder: &Path, ext: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| outbox_name(n, ext))
        .collect();
    names.sort_unstable_by(|a, b| b.cmp(a));
    names.truncate(LISTED);
    names
}

/// `20261205T091500.123Z-…` as `2026-12-05 09:15:00 UTC`.
fn when(name: &str) -> String {
    let stamp = name.split('-').next().unwrap_or_default();
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%S%.3fZ")
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| stamp.to_owned())
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · clientwatch outbox</title>
<style>
body{{font-family:system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem;color:#1b1f24}}
h1{{font-size:1.4rem}} h2{{font-size:1.1rem;margin-top:2rem}}
table{{border-collapse:collapse;width:100%}} td code{{word-break:break-all}} td,th{{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #d0d7de;vertical-align:top}}
th{{background:#f6f8fa}} pre{{white-space:pre-wrap;background:#f6f8fa;padding:.75rem;border-radius:4px;overflow-x:auto}}
iframe{{width:100%;height:36rem;border:1px solid #d0d7de;border-radius:4px}} .muted{{color:#57606a}}
nav a{{margin-right:1rem}}
</style></head><body>
<nav><a href="/outbox">Outbox</a></nav>
{body}
</body></html>"#,
        title = escape(title),
    ))
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        page(
            "Not found",
            &format!("<h1>Not found</h1><p>{}</p>", escape(what)),
        ),
    )
        .into_response()
}

/// The header fields and parts of one `.eml`, as the list and the message page show them.
struct Mail {
    from: String,
    to: String,
    reply_to: String,
    subject: String,
    date: String,
    html: Option<String>,
    text: Option<String>,
}

fn addresses(a: Option<&mail_parser::Address<'_>>) -> String {
    a.map(|a| {
        a.iter()
            .filter_map(|addr| addr.address())
            .collect::<Vec<_>>()
            .join(", ")
    })
    .unwrap_or_default()
}

fn read_mail(path: &Path) -> Option<Mail> {
    let bytes = std::fs::read(path).ok()?;
    let message = MessageParser::default().parse(&bytes)?;
    Some(Mail {
        from: addresses(message.from()),
        to: addresses(message.to()),
        reply_to: addresses(message.reply_to()),
        subject: message.subject().unwrap_or_default().to_owned(),
        date: message.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
        html: message
            .html_bodies()
            .find(|p| p.is_text_html())
            .and_then(|p| p.text_contents().map(str::to_owned)),
        text: message.body_text(0).map(|t| t.into_owned()),
    })
}

/// One line per event of the newest event files: (day, time, detail-type, detail).
fn newest_events(folder: &Path) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for file in newest(folder, ".ndjson") {
        let day = file.trim_end_matches(".ndjson").to_owned();
        let text = std::fs::read_to_string(folder.join(&file)).unwrap_or_default();
        let mut lines: Vec<_> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|e| {
                (
                    day.clone(),
                    e["time"].as_str().unwrap_or_default().to_owned(),
                    e["detail-type"].as_str().unwrap_or_default().to_owned(),
                    e["detail"].to_string(),
                )
            })
            .collect();
        lines.reverse();
        out.extend(lines);
        if out.len() >= LISTED {
            break;
        }
    }
    out.truncate(LISTED);
    out
}

fn excerpt(s: &str, chars: usize) -> String {
    let mut out: String = s.chars().take(chars).collect();
    if s.chars().nth(chars).is_some() {
        out.push('…');
    }
    out
}

async fn list(State(outbox): State<Outbox>) -> Html<String> {
    let dir = outbox.dir.as_path();
    let mut body = format!(
        "<h1>Outbox</h1><p class=\"muted\">What this local clientwatch sent instead of calling SES, SNS and EventBridge, newest first (the {LISTED} newest of each). Files: <code>{}</code>. Reload to see new ones.</p>",
        escape(&dir.display().to_string())
    );

    let mails = newest(&dir.join("mail"), ".eml");
    body.push_str(&format!("<h2 id=\"mail\">E-mails ({})</h2>", mails.len()));
    if mails.is_empty() {
        body.push_str("<p class=\"muted\">No e-mail yet.</p>");
    } else {
        body.push_str("<table><tr><th>Sent</th><th>To</th><th>Subject</th></tr>");
        for name in &mails {
            let mail = read_mail(&dir.join("mail").join(name));
            let (to, subject) = mail
                .map(|m| (m.to, m.subject))
                .unwrap_or_else(|| (String::new(), "(unreadable message)".into()));
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td><a href=\"/outbox/mail/{}\">{}</a></td></tr>",
                escape(&when(name)),
                escape(&to),
                escape(name),
                escape(if subject.is_empty() {
                    "(no subject)"
                } else {
                    &subject
                }),
            ));
        }
        body.push_str("</table>");
    }

    let texts = newest(&dir.join("sms"), ".txt");
    body.push_str(&format!("<h2 id=\"sms\">Texts ({})</h2>", texts.len()));
    if texts.is_empty() {
        body.push_str("<p class=\"muted\">No text yet.</p>");
    } else {
        body.push_str("<table><tr><th>Sent</th><th>To</th><th>Message</th></tr>");
        for name in &texts {
            let text = std::fs::read_to_string(dir.join("sms").join(name)).unwrap_or_default();
            let (head, message) = text.split_once("\n\n").unwrap_or(("", text.as_str()));
            let to = head
                .lines()
                .find_map(|l| l.strip_prefix("To: "))
                .unwrap_or_default();
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>",
                escape(&when(name)),
                escape(to),
                escape(message.trim_end()),
            ));
        }
        body.push_str("</table>");
    }

    let events = newest_events(&dir.join("events"));
    body.push_str(&format!("<h2 id=\"events\">Events ({})</h2>", events.len()));
    if events.is_empty() {
        body.push_str("<p class=\"muted\">No event yet.</p>");
    } else {
        body.push_str("<table><tr><th>Time</th><th>Type</th><th>Detail</th></tr>");
        for (day, time, kind, detail) in &events {
            body.push_str(&format!(
                "<tr><td>{}<br><a class=\"muted\" href=\"/outbox/events/{}\">{}</a></td><td>{}</td><td><code>{}</code></td></tr>",
                escape(time),
                escape(day),
                escape(day),
                escape(kind),
                escape(&excerpt(detail, 300)),
            ));
        }
        body.push_str("</table>");
    }
    page("Outbox", &body)
}

async fn mail(State(outbox): State<Outbox>, UrlPath(name): UrlPath<String>) -> Response {
    if !outbox_name(&name, ".eml") {
        return not_found("There is no such e-mail in the outbox.");
    }
    let Some(mail) = read_mail(&outbox.dir.join("mail").join(&name)) else {
        return not_found("There is no such e-mail in the outbox.");
    };
    let mut body = format!(
        "<h1>{}</h1><table>",
        escape(if mail.subject.is_empty() {
            "(no subject)"
        } else {
            &mail.subject
        })
    );
    for (label, value) in [
        ("From", &mail.from),
        ("To", &mail.to),
        ("Reply-To", &mail.reply_to),
        ("Date", &mail.date),
    ] {
        if !value.is_empty() {
            body.push_str(&format!(
                "<tr><th>{label}</th><td>{}</td></tr>",
                escape(value)
            ));
        }
    }
    body.push_str(&format!(
        "<tr><th>File</th><td><a href=\"/outbox/mail/{0}/eml\">{0}</a></td></tr></table>",
        escape(&name)
    ));
    if mail.html.is_some() {
        body.push_str(&format!(
            "<h2>HTML</h2><iframe title=\"The e-mail's HTML part\" sandbox src=\"/outbox/mail/{}/html\"></iframe>",
            escape(&name)
        ));
    }
    if let Some(text) = &mail.text {
        body.push_str(&format!("<h2>Text</h2><pre>{}</pre>", escape(text)));
    }
    page(&mail.subject, &body).into_response()
}

/// The HTML part as sent, under a policy that runs nothing: no script, no form, no fetch; only
/// its inline styles and images.
async fn mail_html(State(outbox): State<Outbox>, UrlPath(name): UrlPath<String>) -> Response {
    if !outbox_name(&name, ".eml") {
        return not_found("There is no such e-mail in the outbox.");
    }
    let Some(html) = read_mail(&outbox.dir.join("mail").join(&name)).and_then(|m| m.html) else {
        return not_found("That e-mail has no HTML part.");
    };
    let mut response = Html(html).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data: https:",
        ),
    );
    response
}

async fn mail_eml(State(outbox): State<Outbox>, UrlPath(name): UrlPath<String>) -> Response {
    if !outbox_name(&name, ".eml") {
        return not_found("There is no such e-mail in the outbox.");
    }
    match std::fs::read(outbox.dir.join("mail").join(&name)) {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "message/rfc822".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => not_found("There is no such e-mail in the outbox."),
    }
}

async fn events_of_day(State(outbox): State<Outbox>, UrlPath(day): UrlPath<String>) -> Response {
    let valid = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").is_ok();
    let path = outbox.dir.join("events").join(format!("{day}.ndjson"));
    let Some(text) = valid.then(|| std::fs::read_to_string(&path).ok()).flatten() else {
        return not_found("There are no events of that day in the outbox.");
    };
    let mut body = format!("<h1>Events of {}</h1>", escape(&day));
    for line in text.lines().rev() {
        let pretty = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| line.to_owned());
        body.push_str(&format!("<pre>{}</pre>", escape(&pretty)));
    }
    page(&format!("Events of {day}"), &body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_outboxs_own_file_names_are_read() {
        assert!(outbox_name("20261205T091500.123Z-abc_DEF.eml", ".eml"));
        for hostile in [
            "../clientwatch.redb",
            "..eml",
            ".hidden.eml",
            "a/b.eml",
            "a\\b.eml",
            "a\0.eml",
            "mail.txt",
            "%2e%2e.eml",
        ] {
            assert!(!outbox_name(hostile, ".eml"), "{hostile:?}");
        }
        assert!(!outbox_name(&format!("{}.eml", "a".repeat(300)), ".eml"));
    }

    #[test]
    fn a_file_name_says_when_it_was_sent() {
        assert_eq!(
            when("20261205T091500.123Z-0123abcd.eml"),
            "2026-12-05 09:15:00 UTC"
        );
    }
}
