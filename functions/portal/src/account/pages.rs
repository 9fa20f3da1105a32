//! The account portal's pages, in the Customer Centre's frame (`pages::page`): tables as
//! `table.list`, key figures as `dl.summary`, statuses as `span.status.status-*`, the sections
//! as `nav.tabs`. maud escapes every value; money is grouped with its currency, as in e-mails.

use maud::{Markup, html};

use crate::pages::page;
use clientwatch::account::AccountVisit;
use clientwatch::account::signin::{CodeTo, Landing};
use clientwatch::account::views::{Line, Show, Summary};
use clientwatch::comms::log::{Entry, Kind};
use clientwatch::render::{amount, long_date};

/// Which section a page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Account,
    Invoices,
    Messages,
}

fn tabs(current: Section) -> Markup {
    let tab = |section: Section, href: &str, label: &str| {
        html! {
            @if section == current {
                a href=(href) aria-current="page" { (label) }
            } @else {
                a href=(href) { (label) }
            }
        }
    };
    html! {
        nav class="tabs" aria-label="Your account" {
            (tab(Section::Account, "/account", "Account"))
            (tab(Section::Invoices, "/account/invoices", "Invoices"))
            (tab(Section::Messages, "/account/messages", "Messages"))
        }
    }
}

/// A signed-in page: the tabs, the body, and the sign-out form.
pub fn signed_in(visit: &AccountVisit, title: &str, section: Section, body: Markup) -> Markup {
    page(
        title,
        Some(&visit.tenant_name),
        html! {
            (tabs(section))
            (body)
            form method="post" action="/account/sign-out" class="sign-out" {
                input type="hidden" name="csrf" value=(visit.csrf);
                button type="submit" class="secondary" { "Sign out" }
            }
        },
    )
}

fn totals(figures: &std::collections::BTreeMap<String, i64>) -> Markup {
    html! {
        @if figures.is_empty() {
            "Nothing"
        } @else {
            @for (i, (currency, hundredths)) in figures.iter().enumerate() {
                @if i > 0 { br; }
                (amount(currency, *hundredths))
            }
        }
    }
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
        html! {
            h1 { (visit.client_name) }
            p { "Hello " (visit.first_name) ". This is " (visit.client_name) "'s account with " (visit.tenant_name) "." }
            dl class="summary" {
                div { dt { "Owed" } dd { (totals(&summary.owed)) } }
                div { dt { "Overdue" } dd { (totals(&summary.overdue)) } }
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
                            th scope="col" class="num" { "Amount" }
                            th scope="col" class="num" { "Balance" }
                            th scope="col" { "Status" }
                            th scope="col" { span class="visually-hidden" { "Actions" } }
                        }
                    }
                    tbody {
                        @for line in lines {
                            tr {
                                th scope="row" { a href={ "/account/invoices/" (line.id) } { (line.number) } }
                                td { (long_date(line.issue_date)) }
                                td { (long_date(line.due_date)) }
                                td class="num" { (amount(&line.currency, line.amount)) }
                                td class="num" { (amount(&line.currency, line.balance)) }
                                td { (status(line)) }
                                td class="actions" {
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

/// One invoice. The actions a contact can take on it (dispute, promise to pay) go in the
/// `section.actions` below the figures.
pub fn invoice(visit: &AccountVisit, line: &Line, actions: Markup) -> Markup {
    let title = format!("Invoice {}", line.number);
    signed_in(
        visit,
        &title,
        Section::Invoices,
        html! {
            p { a href="/account/invoices" { "All invoices" } }
            h1 { (title) " " (status(line)) }
            dl class="summary" {
                div { dt { "Issued" } dd { (long_date(line.issue_date)) } }
                div { dt { "Due" } dd { (long_date(line.due_date)) } }
                div { dt { "Amount" } dd { (amount(&line.currency, line.amount)) } }
                div { dt { "Balance" } dd { (amount(&line.currency, line.balance)) } }
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
            section class="actions" aria-label="What you can do" { (actions) }
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
                                td { (long_date(entry.at.date_naive())) }
                                td { (kind_word(entry.kind)) }
                                td { (entry.subject) }
                                td { (entry.to.as_deref().unwrap_or("")) }
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
