//! The account portal's pages, in the Customer Centre's frame (`pages::page`): tables as
//! `table.list`, key figures as `dl.summary`, statuses as `span.status.status-*`, the sections
//! as `nav.tabs`. maud escapes every value; money is grouped with its currency, as in e-mails.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use maud::{Markup, html};

use crate::pages::{Frame, SignOut, error_summary, field_id, framed, money, page};
use clientwatch::account::AccountVisit;
use clientwatch::account::signin::{CodeTo, Landing};
use clientwatch::account::views::{self, Line, Show, Standing, Summary};
use clientwatch::comms::invoices::PromiseStatus;
use clientwatch::comms::log::{Entry, Kind};
use clientwatch::comms::statements::Statement;
use clientwatch::render::display::short_date;
use clientwatch::render::long_date;

/// Which section a page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Account,
    Invoices,
    Statements,
    Messages,
}

fn tabs(current: Section) -> Markup {
    let tab = |section: Section, href: &str, label: &str| {
        html! {
            li {
                @if section == current {
                    a href=(href) aria-current="page" { (label) }
                } @else {
                    a href=(href) { (label) }
                }
            }
        }
    };
    html! {
        nav class="tabs" aria-label="Your account" {
            ul {
                (tab(Section::Account, "/account", "Account"))
                (tab(Section::Invoices, "/account/invoices", "Invoices"))
                (tab(Section::Statements, "/account/statements", "Statements"))
                (tab(Section::Messages, "/account/messages", "Messages"))
            }
        }
    }
}

/// A signed-in page in the Customer Centre's frame (sign-out in the header): an error summary
/// first when there are `errors` (and "Error: " before the title), then the tabs and the body.
pub fn signed_in(
    visit: &AccountVisit,
    title: &str,
    section: Section,
    errors: &[(String, String)],
    body: Markup,
) -> Markup {
    let title = if errors.is_empty() {
        title.to_owned()
    } else {
        format!("Error: {title}")
    };
    framed(
        &Frame {
            title: &title,
            company: Some(&visit.tenant_name),
            sign_out: Some(SignOut {
                action: "/account/sign-out",
                csrf: &visit.csrf,
            }),
            ..Frame::default()
        },
        html! {
            (error_summary(errors))
            (tabs(section))
            (body)
        },
    )
}

/// Amounts in several currencies, one a line (hundredths); "Nothing" for none.
fn totals<'a>(figures: impl IntoIterator<Item = (&'a str, i64)>) -> Markup {
    let figures: Vec<_> = figures.into_iter().collect();
    html! {
        @if figures.is_empty() {
            "Nothing"
        } @else {
            @for (i, (currency, hundredths)) in figures.iter().enumerate() {
                @if i > 0 { br; }
                (money(currency, *hundredths))
            }
        }
    }
}

fn owed(figures: &BTreeMap<String, i64>) -> Markup {
    totals(figures.iter().map(|(c, h)| (c.as_str(), *h)))
}

fn status(line: &Line) -> Markup {
    let (class, word) = line.standing.label();
    html! { span class={ "status status-" (class) } { (word) } }
}

pub fn account(visit: &AccountVisit, summary: &Summary) -> Markup {
    signed_in(
        visit,
        "Your account",
        Section::Account,
        &[],
        html! {
            h1 { (visit.client_name) }
            p { "Hello " (visit.first_name) ". This is " (visit.client_name) "'s account with " (visit.tenant_name) "." }
            dl class="summary" {
                div { dt { "Owed" } dd { (owed(&summary.owed)) } }
                div { dt { "Overdue" } dd { (owed(&summary.overdue)) } }
                div {
                    dt { "Next due" }
                    dd { @match summary.next_due { Some(day) => (long_date(day)), None => "Nothing due" } }
                }
            }
            p { a href="/account/invoices" { "See your invoices" } }
        },
    )
}

pub fn invoices(visit: &AccountVisit, show: Show, lines: &[Line]) -> Markup {
    let (title, empty) = match show {
        Show::Open => ("Open invoices", "There are no open invoices."),
        Show::Paid => (
            "Paid invoices",
            "No invoices were paid in the last 12 months.",
        ),
    };
    signed_in(
        visit,
        title,
        Section::Invoices,
        &[],
        html! {
            h1 { (title) }
            p class="filter" {
                @if show == Show::Open { strong { "Open" } } @else { a href="/account/invoices?show=open" { "Open" } }
                " · "
                @if show == Show::Paid { strong { "Paid" } } @else { a href="/account/invoices?show=paid" { "Paid" } }
            }
            @if lines.is_empty() {
                p { (empty) }
            } @else {
                table class="list" {
                    caption class="visually-hidden" { (title) }
                    thead {
                        tr {
                            th scope="col" { "Invoice" }
                            th scope="col" { "Issued" }
                            th scope="col" { "Due" }
                            th scope="col" class="money" { "Amount" }
                            th scope="col" class="money" { "Balance" }
                            th scope="col" { "Status" }
                            th scope="col" { span class="visually-hidden" { "Actions" } }
                        }
                    }
                    tbody {
                        @for line in lines {
                            tr {
                                th scope="row" data-label="Invoice" { a href={ "/account/invoices/" (line.id) } { (line.number) } }
                                td class="date" data-label="Issued" { (short_date(line.issue_date)) }
                                td class="date" data-label="Due" { (short_date(line.due_date)) }
                                td class="money" data-label="Amount" { (money(&line.currency, line.amount)) }
                                td class="money" data-label="Balance" { (money(&line.currency, line.balance)) }
                                td data-label="Status" { (status(line)) }
                                td class="links" data-label="" {
                                    @if let Some(url) = &line.document_url {
                                        a href=(url) rel="noopener" { "Document" span class="visually-hidden" { " for " (line.number) } }
                                        " "
                                    }
                                    @if let Some(url) = &line.pay_url {
                                        a href=(url) rel="noopener" class="pay" { "Pay now" span class="visually-hidden" { " " (line.number) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// One invoice, with what was said about it (a dispute, a promise) and the forms to answer it
/// while it is open.
pub fn invoice(visit: &AccountVisit, line: &Line, answers: &Answers) -> Markup {
    let title = format!("Invoice {}", line.number);
    signed_in(
        visit,
        &title,
        Section::Invoices,
        &answers.errors,
        html! {
            a class="back" href="/account/invoices" { "All invoices" }
            @if let Some(notice) = &answers.notice {
                p class="notice" role="status" { (notice) }
            }
            h1 { (title) " " (status(line)) }
            dl class="summary" {
                div { dt { "Issued" } dd { (long_date(line.issue_date)) } }
                div { dt { "Due" } dd { (long_date(line.due_date)) } }
                div { dt { "Amount" } dd { (money(&line.currency, line.amount)) } }
                div { dt { "Balance" } dd { (money(&line.currency, line.balance)) } }
            }
            @if line.document_url.is_some() || line.pay_url.is_some() {
                p class="links" {
                    @if let Some(url) = &line.document_url {
                        a href=(url) rel="noopener" { "See the invoice document" }
                        " "
                    }
                    @if let Some(url) = &line.pay_url {
                        a href=(url) rel="noopener" class="pay" { "Pay now" }
                    }
                }
            }
            (said(visit, line))
            (answer_forms(visit, line, answers))
        },
    )
}

/// What the invoice page's forms show: the days a promise may name, the tenant's dispute
/// reasons, and, after a refused answer, its problems (in the order of the fields on the page)
/// and what was entered.
#[derive(Default)]
pub struct Answers {
    pub promise_days: Vec<NaiveDate>,
    pub errors: Vec<(String, String)>,
    pub entered: BTreeMap<String, String>,
    /// A confirmation, or why the answer could not be taken (the invoice changed meanwhile).
    pub notice: Option<String>,
}

/// The dispute and the promise on the invoice, in words.
fn said(visit: &AccountVisit, line: &Line) -> Markup {
    html! {
        @if let Some(d) = &line.dispute {
            div class="card" {
                h2 { "Dispute" }
                p {
                    (d.contact_name) " disputed this invoice on " (long_date(views::local_day(visit, d.raised_at)))
                    ": " strong { (d.reason) } "."
                }
                @if let Some(comment) = &d.comment {
                    blockquote class="comment" { (comment) }
                }
                @match d.resolved_at {
                    Some(at) => p { (visit.tenant_name) " resolved the dispute on " (long_date(views::local_day(visit, at))) "." },
                    None => p { (visit.tenant_name) " is looking into it. We will not send reminders for this invoice meanwhile." },
                }
            }
        }
        @if let Some(p) = &line.promise {
            div class="card" {
                h2 { "Promise to pay" }
                @match p.status {
                    PromiseStatus::Pending => p {
                        (p.contact_name) " promised to pay this invoice by " strong { (long_date(p.date)) } ". "
                        "We will not send reminders for it until then."
                    },
                    PromiseStatus::Kept => p { "Thank you: the invoice was paid as promised by " (long_date(p.date)) "." },
                    PromiseStatus::Broken => p {
                        "The invoice was promised to be paid by " (long_date(p.date)) " and was not paid by then, so reminders have started again."
                    },
                }
            }
        }
    }
}

fn field_error(answers: &Answers, name: &str) -> Option<String> {
    answers
        .errors
        .iter()
        .find(|(field, _)| field == name)
        .map(|(_, message)| message.clone())
}

/// The forms to promise to pay and to dispute: only while the invoice is open, and a promise
/// only while none is pending.
fn answer_forms(visit: &AccountVisit, line: &Line, answers: &Answers) -> Markup {
    let open = matches!(line.standing, Standing::Open | Standing::Overdue);
    if !open {
        return html! {};
    }
    let pending = line
        .promise
        .as_ref()
        .is_some_and(|p| p.status == PromiseStatus::Pending);
    let entered = |name: &str| answers.entered.get(name).map(String::as_str).unwrap_or("");
    let date_error = field_error(answers, "date");
    let reason_error = field_error(answers, "reason");
    let comment_error = field_error(answers, "comment");
    html! {
        @if !pending && !answers.promise_days.is_empty() {
            section class="card" aria-labelledby="promise-title" {
                h2 id="promise-title" { "Promise to pay" }
                p { "Tell " (visit.tenant_name) " when you will pay. We will not send reminders for this invoice until the day after." }
                form method="post" action={ "/account/invoices/" (line.id) "/promise" } novalidate {
                    input type="hidden" name="csrf" value=(visit.csrf);
                    div class={ "field" @if date_error.is_some() { " has-error" } } {
                        label for=(field_id("date")) { "I will pay by" }
                        @if let Some(message) = &date_error {
                            p class="field-error" id="date-error" { span class="visually-hidden" { "Error: " } (message) }
                        }
                        select id=(field_id("date")) name="date" required
                            aria-describedby=[date_error.as_ref().map(|_| "date-error")] {
                            option value="" { "Choose a day" }
                            @for day in &answers.promise_days {
                                @let value = day.to_string();
                                option value=(value) selected[entered("date") == value] { (long_date(*day)) }
                            }
                        }
                    }
                    button type="submit" { "Promise to pay" }
                }
            }
        }
        section class="card" aria-labelledby="dispute-title" {
            h2 id="dispute-title" { "Dispute this invoice" }
            p { "If something about this invoice is wrong, tell " (visit.tenant_name) ". Reminders stop while they look into it." }
            form method="post" action={ "/account/invoices/" (line.id) "/dispute" } novalidate {
                input type="hidden" name="csrf" value=(visit.csrf);
                div class={ "field" @if reason_error.is_some() { " has-error" } } {
                    fieldset id=(field_id("reason")) aria-describedby=[reason_error.as_ref().map(|_| "reason-error")] {
                        legend { "Why do you dispute it?" }
                        @if let Some(message) = &reason_error {
                            p class="field-error" id="reason-error" { span class="visually-hidden" { "Error: " } (message) }
                        }
                        @for (i, reason) in visit.portal.dispute_reasons.iter().enumerate() {
                            label class="choice" {
                                input type="radio" name="reason" value=(reason) required[i == 0]
                                    checked[entered("reason") == reason.as_str()];
                                (reason)
                            }
                        }
                    }
                }
                div class={ "field" @if comment_error.is_some() { " has-error" } } {
                    label for=(field_id("comment")) { "Comment (optional)" }
                    p class="hint" id="comment-hint" { "What is wrong, and anything that helps " (visit.tenant_name) " put it right." }
                    @if let Some(message) = &comment_error {
                        p class="field-error" id="comment-error" { span class="visually-hidden" { "Error: " } (message) }
                    }
                    textarea id=(field_id("comment")) name="comment" rows="5" maxlength="2000"
                        aria-describedby={ "comment-hint" @if comment_error.is_some() { " comment-error" } } {
                        (entered("comment"))
                    }
                }
                button type="submit" class="secondary" { "Dispute invoice" }
            }
        }
    }
}

pub fn statements(visit: &AccountVisit, statements: &[Statement]) -> Markup {
    signed_in(
        visit,
        "Statements",
        Section::Statements,
        &[],
        html! {
            h1 { "Statements" }
            @if statements.is_empty() {
                p { "No statements have been sent to " (visit.client_name) " yet. They are sent at the start of each month while invoices are open." }
            } @else {
                table class="list" {
                    caption class="visually-hidden" { "Monthly statements, newest first" }
                    thead {
                        tr {
                            th scope="col" { "Month" }
                            th scope="col" { "Sent" }
                            th scope="col" { "Invoices" }
                            th scope="col" class="money" { "Owing" }
                        }
                    }
                    tbody {
                        @for s in statements {
                            tr {
                                th scope="row" data-label="Month" { a href={ "/account/statements/" (s.month) } { (month_name(&s.month)) } }
                                td class="date" data-label="Sent" { (short_date(s.day)) }
                                td data-label="Invoices" { (s.lines.len()) }
                                td class="money" data-label="Owing" { (statement_totals(s)) }
                            }
                        }
                    }
                }
            }
        },
    )
}

fn statement_totals(s: &Statement) -> Markup {
    totals(
        s.totals
            .iter()
            .map(|t| (t.currency.as_str(), t.balance.hundredths())),
    )
}

/// `2026-12` as "December 2026".
fn month_name(month: &str) -> String {
    NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map(|d| d.format("%B %Y").to_string())
        .unwrap_or_else(|_| month.to_owned())
}

/// A statement as the e-mail said it, laid out to print (the print stylesheet drops the
/// navigation and keeps rows whole).
pub fn statement(visit: &AccountVisit, s: &Statement) -> Markup {
    let title = format!("Statement for {}", month_name(&s.month));
    signed_in(
        visit,
        &title,
        Section::Statements,
        &[],
        html! {
            a class="back" href="/account/statements" { "All statements" }
            h1 { (title) }
            p { (visit.client_name) "'s account with " (visit.tenant_name) ", sent on " (long_date(s.day)) "." }
            dl class="summary" {
                div { dt { "Owing" } dd { (statement_totals(s)) } }
                div { dt { "Open invoices" } dd { (s.lines.len()) } }
            }
            @if s.lines.is_empty() {
                p { "No invoices were open." }
            } @else {
                table class="list" {
                    caption { "Open invoices, oldest due first" }
                    thead {
                        tr {
                            th scope="col" { "Invoice" }
                            th scope="col" { "Issued" }
                            th scope="col" { "Due" }
                            th scope="col" class="money" { "Amount" }
                            th scope="col" class="money" { "Balance" }
                        }
                    }
                    tbody {
                        @for l in &s.lines {
                            tr {
                                th scope="row" data-label="Invoice" { (l.number) }
                                td class="date" data-label="Issued" { (short_date(l.issue_date)) }
                                td class="date" data-label="Due" { (short_date(l.due_date)) }
                                td class="money" data-label="Amount" { (money(&l.currency, l.amount.hundredths())) }
                                td class="money" data-label="Balance" { (money(&l.currency, l.balance.hundredths())) }
                            }
                        }
                    }
                }
            }
            p class="hint print-hint" { "To keep a copy, use your browser's Print command and choose Save as PDF." }
        },
    )
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Invoice => "Invoice",
        Kind::Reminder => "Reminder",
        Kind::Escalation => "Reminder",
        Kind::Statement => "Statement",
        Kind::Dispute => "Dispute",
        Kind::Promise => "Promise to pay",
        Kind::PromiseBroken => "Promise to pay missed",
    }
}

pub fn messages(visit: &AccountVisit, entries: &[Entry]) -> Markup {
    signed_in(
        visit,
        "Messages",
        Section::Messages,
        &[],
        html! {
            h1 { "Messages to you" }
            @if entries.is_empty() {
                p { "We have not sent you any messages yet." }
            } @else {
                table class="list" {
                    caption class="visually-hidden" { "Messages sent to you, newest first" }
                    thead {
                        tr {
                            th scope="col" { "Sent" }
                            th scope="col" { "What" }
                            th scope="col" { "Subject" }
                            th scope="col" { "To" }
                        }
                    }
                    tbody {
                        @for entry in entries {
                            tr {
                                td class="date" data-label="Sent" { (short_date(views::local_day(visit, entry.at))) }
                                td data-label="What" { (kind_word(entry.kind)) }
                                td data-label="Subject" { (entry.subject) }
                                td data-label="To" { (entry.to.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        },
    )
}

pub struct CodePage<'a> {
    pub token: &'a str,
    pub form_token: &'a str,
    pub landing: &'a Landing,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

fn where_code_goes(to: &CodeTo) -> Markup {
    match to {
        CodeTo::Sms(masked) => {
            html! { "To keep your account safe, we will text a 6-digit code to your mobile number ending " strong { (masked) } "." }
        }
        CodeTo::Email(masked) => {
            html! { "To keep your account safe, we will e-mail a 6-digit code to " strong { (masked) } "." }
        }
        CodeTo::SmsRequired => html! {},
        CodeTo::Nowhere => html! {},
    }
}

fn send_label(to: &CodeTo) -> &'static str {
    match to {
        CodeTo::Email(_) => "E-mail me a code",
        _ => "Text me a code",
    }
}

pub fn landing(token: &str, form_token: &str, l: &Landing, expires: &str) -> Markup {
    page(
        "Your account",
        Some(&l.tenant_name),
        html! {
            h1 { "Hello " (l.first_name) }
            div class="card" {
                p { "See what you owe " (l.tenant_name) ", your invoices and the messages we sent you." }
                @match &l.code_to {
                    CodeTo::SmsRequired => {
                        p { (l.tenant_name) " sends sign-in codes only by text message, and we have no mobile number for you. Ask " (l.tenant_name) " to add your mobile number, then open this link again." }
                    }
                    CodeTo::Nowhere => {
                        p { "We have no mobile number or e-mail address to send you a sign-in code. Ask " (l.tenant_name) " to add one." }
                    }
                    to => {
                        p { (where_code_goes(to)) }
                        form method="post" action={ "/a/" (token) "/code" } {
                            input type="hidden" name="form_token" value=(form_token);
                            button type="submit" { (send_label(to)) }
                        }
                        @if l.code_waiting {
                            p { a href={ "/a/" (token) "/code" } { "I already have a code" } }
                        }
                    }
                }
            }
            p class="hint" { "This link works until " (expires) "." }
        },
    )
}

pub fn code_form(c: &CodePage) -> Markup {
    let hint = match &c.landing.code_to {
        CodeTo::Email(masked) => format!("We e-mailed it to {masked}. It works for 10 minutes."),
        CodeTo::Sms(masked) => {
            format!("We texted it to your mobile ending {masked}. It works for 10 minutes.")
        }
        _ => String::new(),
    };
    crate::pages::code_form(&crate::pages::CodeForm {
        link: &format!("/a/{}", c.token),
        form_token: c.form_token,
        company: &c.landing.tenant_name,
        hint: &hint,
        resend: "Send me a new code",
        notice: c.notice,
        error: c.error,
    })
}
