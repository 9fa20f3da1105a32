//! The Customer Centre's pages: plain HTML forms that work without JavaScript, on a phone,
//! with a keyboard and with a screen reader (labels on every field, errors tied to their
//! fields and summarised at the top, one clear action per page). maud escapes every value.

use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use clientwatch::centre::application::{self, FieldKind};
use clientwatch::centre::questionnaires::{Question, QuestionKind};
use clientwatch::render::display;

use crate::shown;

/// Every page: the same frame, a title that says where the customer is.
pub fn page(title: &str, company: Option<&str>, body: Markup) -> Markup {
    framed(
        &Frame {
            title,
            company,
            ..Frame::default()
        },
        body,
    )
}

/// What frames a page: its title, the company the customer deals with, the portal's name, and
/// on signed-in pages a sign-out form in the header.
pub struct Frame<'a> {
    pub title: &'a str,
    pub company: Option<&'a str>,
    /// The portal's name, after the title and in the header: "Customer Centre".
    pub service: &'a str,
    pub sign_out: Option<SignOut<'a>>,
}

impl Default for Frame<'_> {
    fn default() -> Self {
        Self {
            title: "",
            company: None,
            service: "Customer Centre",
            sign_out: None,
        }
    }
}

/// The header's sign-out button: a form posting the session's token to `action`.
pub struct SignOut<'a> {
    pub action: &'a str,
    pub csrf: &'a str,
}

/// The frame around `body`: header, main and footer share one centred width (`.wrap`), so the
/// header lines up with the content on a desktop. A page with errors starts its body with
/// [`error_summary`] and its title with "Error: ".
pub fn framed(frame: &Frame, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (frame.title) " – " (frame.service) }
                link rel="stylesheet" href="/static/portal.css";
            }
            body {
                header class="site" {
                    div class="wrap" {
                        p class="brand" {
                            @if let Some(company) = frame.company { (company) span class="company" { (frame.service) } }
                            @else { (frame.service) }
                        }
                        @if let Some(sign_out) = &frame.sign_out {
                            form method="post" action=(sign_out.action) {
                                input type="hidden" name="csrf" value=(sign_out.csrf);
                                button type="submit" class="secondary" { "Sign out" }
                            }
                        }
                    }
                }
                main id="main" class="wrap" { (body) }
                footer class="site" { div class="wrap" { p { "This page is private to you. Do not share its link or your code." } } }
            }
        }
    }
}

/// A list of problems at the top of a form, each linking to its field (by the field's name,
/// see [`field_id`]) with the message as the link's text. Give them in the order of the fields
/// on the page. It is the first thing in `main`: focus moves to it on load (`autofocus`, which
/// needs no script), a screen reader announces it (`role="alert"`), and its heading names it.
pub fn error_summary(errors: &[(String, String)]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1" autofocus {
                h2 id="error-summary-title" { "There is a problem" }
                ul {
                    @for (field, message) in errors {
                        li { a href={ "#" (field_id(field)) } { (message) } }
                    }
                }
            }
        }
    }
}

/// An amount of money as every page shows it: grouped, with its currency in front
/// ("NZD 1,250.00"), never broken across lines. (For the account portal's pages; the Customer
/// Centre shows no amounts of its own.)
#[allow(dead_code)]
pub fn money(currency: &str, hundredths: i64) -> Markup {
    html! { span class="money" { (display::amount(currency, hundredths)) } }
}

/// A stable, HTML-safe id for a field name.
pub fn field_id(name: &str) -> String {
    let mut id = String::from("f-");
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            id.push(c);
        } else {
            id.push_str(&format!("-{:x}-", c as u32));
        }
    }
    id
}

/// A field name as a label: `loan_amount` reads "Loan amount".
pub fn label_of(name: &str) -> String {
    let words = name.replace(['_', '-'], " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => name.to_owned(),
    }
}

pub fn message(title: &str, company: Option<&str>, paragraphs: &[&str]) -> Markup {
    page(
        title,
        company,
        html! {
            h1 { (title) }
            @for p in paragraphs { p class="readable" { (p) } }
        },
    )
}

pub struct Landing<'a> {
    pub token: &'a str,
    pub form_token: &'a str,
    pub first_name: &'a str,
    pub company: &'a str,
    pub masked_mobile: &'a str,
    pub code_waiting: bool,
    pub expires: &'a str,
}

pub fn landing(l: &Landing) -> Markup {
    page(
        "Welcome",
        Some(l.company),
        html! {
            h1 { "Hello " (l.first_name) }
            div class="card readable" {
                p { (l.company) " has invited you to the Customer Centre, where you can check and update your application and answer a few questions." }
                p { "To keep your information safe, we will text a 6-digit code to your mobile number ending " strong { (l.masked_mobile) } "." }
                form method="post" action={ "/i/" (l.token) "/code" } {
                    input type="hidden" name="form_token" value=(l.form_token);
                    button type="submit" { "Text me a code" }
                }
                @if l.code_waiting {
                    p { a href={ "/i/" (l.token) "/code" } { "I already have a code" } }
                }
            }
            p class="hint" { "This link works until " (l.expires) "." }
        },
    )
}

/// The code-entry page both portals show: `link` is the link's own path (`/i/{token}` or
/// `/a/{token}`), `hint` says where the code went, `resend` labels the new-code button.
pub struct CodeForm<'a> {
    pub link: &'a str,
    pub form_token: &'a str,
    pub company: &'a str,
    pub hint: &'a str,
    pub resend: &'a str,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// The Customer Centre's hint: its codes always go by text.
pub fn texted_hint(masked_mobile: &str) -> String {
    format!("We texted it to your mobile ending {masked_mobile}. It works for 10 minutes.")
}

pub fn code_form(c: &CodeForm) -> Markup {
    let errors: Vec<(String, String)> = c
        .error
        .map(|e| vec![("code".to_owned(), e.to_owned())])
        .unwrap_or_default();
    page(
        if c.error.is_some() {
            "Error: Enter your code"
        } else {
            "Enter your code"
        },
        Some(c.company),
        html! {
            (error_summary(&errors))
            @if let Some(notice) = c.notice { p class="notice readable" role="status" { (notice) } }
            h1 { "Enter your code" }
            div class="card readable" {
                form method="post" action={ (c.link) "/verify" } novalidate {
                    input type="hidden" name="form_token" value=(c.form_token);
                    div class={ "field" @if c.error.is_some() { " has-error" } } {
                        label for=(field_id("code")) { "6-digit code" }
                        p class="hint" id="code-hint" { (c.hint) }
                        @if let Some(error) = c.error {
                            p class="field-error" id="code-error" { span class="visually-hidden" { "Error: " } (error) }
                        }
                        input type="text" class={ "code" @if c.error.is_some() { " invalid" } } id=(field_id("code")) name="code"
                            inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" maxlength="8"
                            aria-describedby={ "code-hint" @if c.error.is_some() { " code-error" } }
                            aria-invalid=[c.error.map(|_| "true")] required;
                    }
                    button type="submit" { "Continue" }
                }
                form method="post" action={ (c.link) "/code" } {
                    input type="hidden" name="form_token" value=(c.form_token);
                    button type="submit" class="secondary" { (c.resend) }
                }
            }
        },
    )
}

/// The frame of a signed-in Customer Centre page: its sign-out in the header.
fn signed_in_page(title: &str, company: &str, csrf: &str, body: Markup) -> Markup {
    framed(
        &Frame {
            title,
            company: Some(company),
            sign_out: Some(SignOut {
                action: "/app/sign-out",
                csrf,
            }),
            ..Frame::default()
        },
        body,
    )
}

pub struct Questionnaire<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// "Not started", "Draft saved" or "Submitted".
    pub status: &'a str,
    pub done: bool,
}

pub struct Application<'a> {
    pub company: &'a str,
    pub first_name: &'a str,
    pub name: &'a str,
    pub csrf: &'a str,
    pub version: u64,
    /// The fields in the order the application gives them (its `field_order`).
    pub fields: &'a [(String, Value)],
    /// What the customer typed, shown again with the errors.
    pub entered: &'a std::collections::BTreeMap<String, String>,
    pub errors: &'a [(String, String)],
    pub notice: Option<&'a str>,
    pub questionnaires: &'a [Questionnaire<'a>],
}

pub fn application(a: &Application) -> Markup {
    let title = if a.errors.is_empty() {
        "Your application"
    } else {
        "Error: Your application"
    };
    // In the order of the fields on the page, each as its own sentence.
    let summary: Vec<(String, String)> = a
        .fields
        .iter()
        .filter_map(|(name, _)| {
            let (_, message) = a.errors.iter().find(|(f, _)| f == name)?;
            Some((
                name.clone(),
                shown::summary_text(&label_of(name), None, message),
            ))
        })
        .collect();
    signed_in_page(
        title,
        a.company,
        a.csrf,
        html! {
            (error_summary(&summary))
            @if let Some(notice) = a.notice { p class="notice readable" role="status" { (notice) } }
            h1 { "Your application" }
            p class="readable" { "Hello " (a.first_name) ". Here is " (a.name) " as " (a.company) " has it. Check it and correct anything that is wrong." }
            form method="post" action="/app" class="card" novalidate {
                h2 { "Details" }
                input type="hidden" name="csrf" value=(a.csrf);
                input type="hidden" name="version" value=(a.version);
                @if a.fields.is_empty() { p { "There are no details to check yet." } }
                @for (name, value) in a.fields {
                    (field(name, value, a.entered.get(&format!("f.{name}")), a.errors))
                }
                @if !a.fields.is_empty() { button type="submit" { "Save changes" } }
            }
            @if !a.questionnaires.is_empty() {
                section class="card" aria-labelledby="questionnaires-title" {
                    h2 id="questionnaires-title" { "Questions for you" }
                    ul class="plain" {
                        @for q in a.questionnaires {
                            li {
                                a href={ "/app/q/" (q.id) } { (q.name) }
                                span class={ "status" @if q.done { " done" } } { (q.status) }
                            }
                        }
                    }
                }
            }
        },
    )
}

fn field(
    name: &str,
    value: &Value,
    entered: Option<&String>,
    errors: &[(String, String)],
) -> Markup {
    let id = field_id(name);
    let input_name = format!("f.{name}");
    let error = errors.iter().find(|(f, _)| f == name).map(|(_, m)| m);
    let shown = entered
        .cloned()
        .unwrap_or_else(|| application::form_value(value));
    let described = error.map(|_| format!("{id}-error"));
    let class = if error.is_some() {
        "field has-error"
    } else {
        "field"
    };
    html! {
        @match application::kind_of(value) {
            FieldKind::Fixed => {
                div class="field" {
                    dl class="fixed" { dt { (label_of(name)) } dd { (shown::value(value)) } }
                    p class="hint" { "To change this, ask your adviser." }
                }
            }
            FieldKind::YesNo => {
                div class=(class) {
                    fieldset aria-describedby=[described.as_deref()] {
                        legend { (label_of(name)) }
                        @if let Some(error) = error { p class="field-error" id={ (id) "-error" } { span class="visually-hidden" { "Error: " } (error) } }
                        label class="choice" { input type="radio" id=(id) name=(input_name) value="yes" checked[shown == "yes"]; "Yes" }
                        label class="choice" { input type="radio" name=(input_name) value="no" checked[shown == "no"]; "No" }
                    }
                }
            }
            kind => {
                div class=(class) {
                    label for=(id) { (label_of(name)) }
                    @if let Some(error) = error { p class="field-error" id={ (id) "-error" } { span class="visually-hidden" { "Error: " } (error) } }
                    input type="text" id=(id) name=(input_name) value=(shown)
                        inputmode=[(kind == FieldKind::Number).then_some("decimal")]
                        class=[error.map(|_| "invalid")]
                        aria-invalid=[error.map(|_| "true")]
                        aria-describedby=[described.as_deref()];
                }
            }
        }
    }
}

pub struct QuestionnaireForm<'a> {
    pub company: &'a str,
    pub id: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub questions: &'a [Question],
    pub csrf: &'a str,
    /// The values to show: what was saved, or what the customer just typed (a date's parts
    /// as `{id}.day`, `{id}.month` and `{id}.year`).
    pub values: &'a std::collections::BTreeMap<String, String>,
    pub errors: &'a [(String, String)],
    pub notice: Option<&'a str>,
}

pub fn questionnaire(q: &QuestionnaireForm) -> Markup {
    let title = if q.errors.is_empty() {
        q.name.to_owned()
    } else {
        format!("Error: {}", q.name)
    };
    // In the order of the questions; each links to its field (a date to its wrong part).
    let summary: Vec<(String, String)> = q
        .questions
        .iter()
        .filter_map(|question| {
            let (_, message) = q.errors.iter().find(|(id, _)| id == &question.id)?;
            let target = match question.kind {
                QuestionKind::Date => {
                    let part = shown::DateParts::of(q.values, &question.id).wrong_part();
                    format!("q.{}.{}", question.id, part.name())
                }
                _ => format!("q.{}", question.id),
            };
            Some((
                target,
                shown::summary_text(&question.label, Some(question.kind), message),
            ))
        })
        .collect();
    signed_in_page(
        &title,
        q.company,
        q.csrf,
        html! {
            (error_summary(&summary))
            a class="back" href="/app" { "Back to your application" }
            @if let Some(notice) = q.notice { p class="notice readable" role="status" { (notice) } }
            h1 { (q.name) }
            @if let Some(description) = q.description { p class="readable" { (description) } }
            form method="post" action={ "/app/q/" (q.id) } class="card" novalidate {
                input type="hidden" name="csrf" value=(q.csrf);
                @for question in q.questions {
                    (question_field(question, q.values, q.errors))
                }
                p class="hint" { "You can save your answers and come back later. Once you submit them, they can no longer be changed." }
                div class="actions" {
                    button type="submit" name="action" value="submit" { "Submit answers" }
                    button type="submit" name="action" value="save" class="secondary" { "Save draft" }
                }
            }
        },
    )
}

fn question_field(
    q: &Question,
    values: &std::collections::BTreeMap<String, String>,
    errors: &[(String, String)],
) -> Markup {
    let id = field_id(&format!("q.{}", q.id));
    let name = format!("q.{}", q.id);
    let error = errors.iter().find(|(f, _)| f == &q.id).map(|(_, m)| m);
    let value = values.get(&q.id).cloned().unwrap_or_default();
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let hinted = q.help.is_some() || q.kind == QuestionKind::Date;
    let described: Vec<&str> = [
        hinted.then_some(hint_id.as_str()),
        error.map(|_| error_id.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let described = (!described.is_empty()).then(|| described.join(" "));
    let label = html! { (q.label) @if !q.required { " (optional)" } };
    let class = if error.is_some() {
        "field has-error"
    } else {
        "field"
    };
    let error_line = html! {
        @if let Some(error) = error {
            p class="field-error" id=(error_id) { span class="visually-hidden" { "Error: " } (error) }
        }
    };
    html! {
        div class=(class) {
            @match q.kind {
                QuestionKind::YesNo | QuestionKind::Choice => {
                    @let options: Vec<(String, String)> = if q.kind == QuestionKind::YesNo {
                        vec![("yes".into(), "Yes".into()), ("no".into(), "No".into())]
                    } else {
                        q.options.iter().map(|o| (o.clone(), o.clone())).collect()
                    };
                    fieldset aria-describedby=[described.as_deref()] {
                        legend { (label) }
                        @if let Some(help) = &q.help { p class="hint" id=(hint_id) { (help) } }
                        (error_line)
                        @for (i, (option, shown)) in options.iter().enumerate() {
                            label class="choice" {
                                input type="radio" name=(name) value=(option)
                                    id=[(i == 0).then_some(id.as_str())]
                                    checked[&value == option];
                                (shown)
                            }
                        }
                    }
                }
                QuestionKind::Date => {
                    @let parts = shown::DateParts::of(values, &q.id);
                    @let wrong = error.map(|_| parts.wrong_part());
                    fieldset role="group" aria-describedby=[described.as_deref()] {
                        legend { (label) }
                        p class="hint" id=(hint_id) {
                            @if let Some(help) = &q.help { (help) " " }
                            "For example, 27 3 2007"
                        }
                        (error_line)
                        div class="date-parts" {
                            @for (part, typed) in parts.each() {
                                @let part_id = field_id(&format!("{name}.{}", part.name()));
                                div class={ "part part-" (part.name()) } {
                                    label for=(part_id) { (part.label()) }
                                    input type="text" id=(part_id) name={ (name) "." (part.name()) } value=(typed)
                                        inputmode="numeric"
                                        autocomplete="off"
                                        class=[(wrong == Some(part)).then_some("invalid")]
                                        aria-invalid=[(wrong == Some(part)).then_some("true")];
                                }
                            }
                        }
                    }
                }
                kind => {
                    label for=(id) { (label) }
                    @if let Some(help) = &q.help { p class="hint" id=(hint_id) { (help) } }
                    (error_line)
                    @if kind == QuestionKind::LongText {
                        textarea id=(id) name=(name) class=[error.map(|_| "invalid")]
                            aria-invalid=[error.map(|_| "true")] aria-describedby=[described.as_deref()] { (value) }
                    } @else {
                        input id=(id) name=(name) value=(value) type="text"
                            inputmode=[(kind == QuestionKind::Number).then_some("decimal")]
                            class=[error.map(|_| "invalid")]
                            aria-invalid=[error.map(|_| "true")]
                            aria-describedby=[described.as_deref()];
                    }
                }
            }
        }
    }
}

/// A submitted questionnaire: what was answered, read-only, each answer as people write it
/// ("Yes", "1 March 2019").
pub fn submitted(
    company: &str,
    csrf: &str,
    name: &str,
    questions: &[Question],
    values: &std::collections::BTreeMap<String, String>,
) -> Markup {
    signed_in_page(
        name,
        company,
        csrf,
        html! {
            a class="back" href="/app" { "Back to your application" }
            h1 { (name) }
            p class="notice readable" role="status" { "You submitted these answers. They can no longer be changed." }
            dl class="card details" {
                @for q in questions {
                    dt { (q.label) }
                    dd class=[(q.kind == QuestionKind::LongText).then_some("lines")] {
                        @match values.get(&q.id).filter(|v| !v.trim().is_empty()) {
                            Some(v) => (shown::answer(q.kind, v)),
                            None => "Not answered",
                        }
                    }
                }
            }
        },
    )
}

pub fn done(company: &str, csrf: &str, name: &str) -> Markup {
    signed_in_page(
        "Answers sent",
        company,
        csrf,
        html! {
            h1 { "Thank you" }
            p class="notice readable" role="status" { "Your answers to " (name) " were sent to " (company) "." }
            p { a href="/app" { "Back to your application" } }
        },
    )
}
