//! The e-mails clientwatch sends, each made from the data its feature passes in: a message in a
//! tenant's own wording with merge tags (a workflow's reminder, an invite), an invoice, a
//! statement and the monitoring digest. Every HTML part is the same page ([`html::page`]),
//! titled with the subject; the text part says the same in plain words.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::NaiveDate;
use maud::{Markup, html};

use super::display::{amount, long_date};
use super::html::{LINK, PARAGRAPH, page};
use super::merge::{self, TagSet};
use crate::domain::{Decimal2, Result};

/// One e-mail, ready to be addressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    /// One line.
    pub subject: String,
    pub html: String,
    pub text: String,
}

impl Mail {
    fn new(subject: String, body: Markup, text: String) -> Self {
        let html = page(&subject, body).into_string();
        Self {
            subject,
            html,
            text,
        }
    }
}

/// A message in a tenant's own wording: its subject, text and (if it has one) HTML, read with
/// `T`'s tags and filled with `values`. Without an HTML part, the text's is made from the
/// text. Parts are named in errors as `subject`, `html` and `text`.
pub fn merged<T: TagSet>(
    subject: &str,
    html: Option<&str>,
    text: &str,
    values: &T::Values,
) -> Result<Mail> {
    let subject = merge::subject(&merge::parse::<T>("subject", subject)?, values);
    let text_pieces = merge::parse::<T>("text", text)?;
    let html = match html {
        Some(html) => merge::html(&merge::parse::<T>("html", html)?, values),
        None => merge::html_from_text(&subject, &text_pieces, values).into_string(),
    };
    Ok(Mail {
        subject,
        html,
        text: merge::text(&text_pieces, values),
    })
}

/// A new invoice, as its e-mail shows it.
pub struct Invoice<'a> {
    /// The tenant's name.
    pub from: &'a str,
    /// The client's name.
    pub to: &'a str,
    pub number: &'a str,
    pub currency: &'a str,
    pub amount: Decimal2,
    pub balance: Decimal2,
    pub issued: NaiveDate,
    pub due: NaiveDate,
    pub document_url: Option<&'a str>,
}

/// The e-mail presenting a new invoice: its figures and dates, and a link to the document.
pub fn invoice(invoice: &Invoice) -> Mail {
    let Invoice {
        from, to, number, ..
    } = *invoice;
    let total = amount(invoice.currency, invoice.amount.hundredths());
    let rows = [
        ("Invoice", number.to_owned()),
        ("Amount", total.clone()),
        (
            "Balance due",
            amount(invoice.currency, invoice.balance.hundredths()),
        ),
        ("Issued", long_date(invoice.issued)),
        ("Due", long_date(invoice.due)),
    ];
    let subject = format!("Invoice {number} from {from}: {total}");
    let mut text = format!("Dear {to},\n\n{from} has sent you invoice {number}.\n\n");
    for (label, value) in &rows {
        let _ = writeln!(text, "{label}: {value}");
    }
    if let Some(url) = invoice.document_url {
        let _ = write!(text, "\nSee the invoice: {url}\n");
    }
    let _ = write!(text, "\n{from}\n");
    let body = html! {
        p style=(PARAGRAPH) { "Dear " (to) "," }
        p style=(PARAGRAPH) { (from) " has sent you invoice " (number) "." }
        table role="presentation" style="border-collapse:collapse;margin:0 0 16px;" {
            @for (label, value) in &rows {
                tr {
                    th style="padding:4px 16px 4px 0;text-align:left;" { (label) }
                    td style="padding:4px 0;" { (value) }
                }
            }
        }
        @if let Some(url) = invoice.document_url {
            p style=(PARAGRAPH) { a href=(url) style=(LINK) { "See invoice " (number) } }
        }
        p style="margin:0;" { (from) }
    };
    Mail::new(subject, body, text)
}

/// A client's statement of open invoices on `day`.
pub struct Statement<'a> {
    /// The tenant's name.
    pub from: &'a str,
    /// The client's name.
    pub to: &'a str,
    pub day: NaiveDate,
    /// In the order the statement lists them.
    pub invoices: &'a [StatementLine<'a>],
    /// The reader's account-portal link, if they have one.
    pub portal_link: Option<&'a str>,
}

pub struct StatementLine<'a> {
    pub number: &'a str,
    pub due: NaiveDate,
    pub currency: &'a str,
    pub balance: Decimal2,
}

/// The monthly statement: each open invoice with its due date and balance, and the total
/// owing per currency.
pub fn statement(statement: &Statement) -> Mail {
    let Statement { from, to, day, .. } = *statement;
    let subject = format!(
        "Your statement from {} for {}",
        merge::one_line(from),
        day.format("%B %Y")
    );
    let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
    let mut lines = String::new();
    for line in statement.invoices {
        *totals.entry(line.currency).or_default() += line.balance.hundredths();
        let _ = writeln!(
            lines,
            "{}, due {}: {} {}",
            line.number,
            long_date(line.due),
            line.currency,
            line.balance
        );
    }
    let total = totals
        .iter()
        .map(|(currency, hundredths)| format!("{currency} {}", Decimal2(*hundredths)))
        .collect::<Vec<_>>()
        .join(" and ");
    let online = statement
        .portal_link
        .map(|link| format!("See your account online: {link}\n\n"))
        .unwrap_or_default();
    let text = format!(
        "Statement for {to}, {}\n\nOpen invoices:\n{lines}\nTotal owing: {total}\n\n{online}{from}\n",
        long_date(day)
    );
    let cell = "padding:4px 8px;";
    let left = "padding:4px 8px;text-align:left;";
    let right = "padding:4px 8px;text-align:right;";
    let body = html! {
        p style=(PARAGRAPH) { "Statement for " (to) ", " (long_date(day)) }
        table role="presentation" style="border-collapse:collapse;margin:0 0 16px;" {
            tr { th style=(left) { "Invoice" } th style=(left) { "Due" } th style=(right) { "Owing" } }
            @for line in statement.invoices {
                tr {
                    td style=(cell) { (line.number) }
                    td style=(cell) { (long_date(line.due)) }
                    td style=(right) { (line.currency) " " (line.balance) }
                }
            }
        }
        p style=(PARAGRAPH) { strong { "Total owing: " (total) } }
        @if let Some(link) = statement.portal_link {
            p style=(PARAGRAPH) { "See your account online: " a href=(link) style=(LINK) { (link) } }
        }
        p style="margin:0;" { (from) }
    };
    Mail::new(subject, body, text)
}

/// A tenant's monitoring digest for `day`: the hits it lists, what they cost.
pub struct Digest<'a> {
    pub tenant: &'a str,
    pub day: NaiveDate,
    /// The hits the e-mail lists (at most the digest's limit), grouped by client when shown.
    pub listed: Vec<DigestHit<'a>>,
    /// All billed hits the digest carries, listed or not.
    pub billed: usize,
    /// Hits found but withheld by the monthly cap.
    pub withheld: usize,
    pub monthly_cap: u32,
    pub currency: &'a str,
    pub price_per_hit: Decimal2,
    pub gst_rate_percent: Decimal2,
    pub gst_each: Decimal2,
    pub net: Decimal2,
    pub gst: Decimal2,
    /// When the e-mail is sent again: what it opens with, saying why.
    pub repeat_note: Option<&'a str>,
}

pub struct DigestHit<'a> {
    /// The client's name and its partner references.
    pub client: String,
    pub reference: String,
    /// What kind of hit, as a person reads it ("New default").
    pub kind: &'a str,
    pub summary: &'a str,
    pub subject: &'a str,
    pub subject_name: &'a str,
}

/// The digest e-mail: hits grouped by client, with what they cost and what the cap withheld.
pub fn digest(digest: &Digest) -> Mail {
    let Digest {
        tenant,
        day,
        currency,
        ..
    } = *digest;
    let mut by_client: BTreeMap<(&str, &str), Vec<&DigestHit>> = BTreeMap::new();
    for hit in &digest.listed {
        by_client
            .entry((&hit.client, &hit.reference))
            .or_default()
            .push(hit);
    }
    let hits = |n: usize| if n == 1 { "hit" } else { "hits" };
    let count = digest.billed;
    let mut subject = format!(
        "clientwatch: {count} new {} for {tenant} on {day}",
        hits(count)
    );
    let heading = format!("Monitoring digest for {tenant} — {day}");
    let billing = format!(
        "{count} {} × {currency} {} + GST {}% ({currency} {} each) = {currency} {} \
         ({currency} {} + GST {currency} {})",
        hits(count),
        digest.price_per_hit,
        digest.gst_rate_percent,
        digest.gst_each,
        Decimal2(digest.net.0 + digest.gst.0),
        digest.net,
        digest.gst
    );
    let unlisted = count.saturating_sub(digest.listed.len());
    let more = (unlisted > 0).then(|| {
        format!(
            "… and {unlisted} more hits, not listed here: every hit is in the partner API \
             (GET /v1/hits)."
        )
    });
    let withheld = digest.withheld;
    let withheld_note = (withheld > 0).then(|| {
        format!(
            "{withheld} more {} found but withheld, not billed: this month's cap of {} billed \
             hits has been reached.",
            if withheld == 1 {
                "hit was"
            } else {
                "hits were"
            },
            digest.monthly_cap
        )
    });

    let mut text = String::new();
    if let Some(note) = digest.repeat_note {
        subject.push_str(" (sent again)");
        let _ = write!(text, "{note}\n\n");
    }
    let _ = write!(text, "{heading}\n\n");
    for ((name, reference), hits) in &by_client {
        let _ = writeln!(text, "{name} ({reference})");
        for h in hits {
            let _ = writeln!(
                text,
                "  - {}: {} [subject {} {}]",
                h.kind, h.summary, h.subject, h.subject_name
            );
        }
        text.push('\n');
    }
    if let Some(more) = &more {
        let _ = writeln!(text, "{more}\n");
    }
    let _ = writeln!(text, "Billed: {billing}");
    if let Some(note) = &withheld_note {
        let _ = writeln!(text, "\n{note}");
    }

    let body = html! {
        @if let Some(note) = digest.repeat_note {
            p style=(PARAGRAPH) { em { (note) } }
        }
        h1 style="margin:0 0 16px;font-size:22px;line-height:1.3;" { (heading) }
        @for ((name, reference), hits) in &by_client {
            h2 style="margin:24px 0 8px;font-size:18px;line-height:1.3;" {
                (name) " " small { "(" (reference) ")" }
            }
            ul style="margin:0 0 16px;padding-left:20px;" {
                @for h in hits {
                    li {
                        strong { (h.kind) } ": " (h.summary) " "
                        small { "(subject " (h.subject) " " (h.subject_name) ")" }
                    }
                }
            }
        }
        @if let Some(more) = &more { p style=(PARAGRAPH) { (more) } }
        p style=(PARAGRAPH) { "Billed: " (billing) }
        @if let Some(note) = &withheld_note { p style=(PARAGRAPH) { strong { (note) } } }
    };
    Mail::new(subject, body, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn an_invoice_shows_grouped_amounts_long_dates_and_escaped_values() {
        let mail = invoice(&Invoice {
            from: "Acme Lending",
            to: "Kauri & Sons <Ltd>",
            number: "INV-1001",
            currency: "NZD",
            amount: Decimal2(1_250_000),
            balance: Decimal2(1_000_050),
            issued: day(3),
            due: day(20),
            document_url: Some("https://x.test/1.pdf?a=1&b=2"),
        });
        assert_eq!(
            mail.subject,
            "Invoice INV-1001 from Acme Lending: NZD 12,500.00"
        );
        for shown in [
            "NZD 12,500.00",
            "NZD 10,000.50",
            "3 November 2026",
            "20 November 2026",
            "Kauri &amp; Sons &lt;Ltd&gt;",
            "href=\"https://x.test/1.pdf?a=1&amp;b=2\"",
        ] {
            assert!(mail.html.contains(shown), "{shown} in {}", mail.html);
        }
        assert!(!mail.html.contains("<Ltd>"));
        assert!(
            mail.text.starts_with("Dear Kauri & Sons <Ltd>,\n\n"),
            "{}",
            mail.text
        );
        assert!(
            mail.text
                .contains("\nSee the invoice: https://x.test/1.pdf?a=1&b=2\n")
        );
    }

    #[test]
    fn a_statement_totals_each_currency() {
        let lines = [
            StatementLine {
                number: "A-1",
                due: day(2),
                currency: "NZD",
                balance: Decimal2(10_000),
            },
            StatementLine {
                number: "A-2",
                due: day(9),
                currency: "AUD",
                balance: Decimal2(550),
            },
            StatementLine {
                number: "A-3",
                due: day(12),
                currency: "NZD",
                balance: Decimal2(25_050),
            },
        ];
        let mail = statement(&Statement {
            from: "Acme\n Lending",
            to: "Tui & Sons",
            day: day(1),
            invoices: &lines,
            portal_link: Some("https://centre.example.com/a/tok"),
        });
        assert_eq!(
            mail.subject,
            "Your statement from Acme Lending for November 2026"
        );
        assert!(
            mail.text
                .contains("See your account online: https://centre.example.com/a/tok\n"),
            "{}",
            mail.text
        );
        assert!(
            mail.html
                .contains("<a href=\"https://centre.example.com/a/tok\""),
            "{}",
            mail.html
        );
        assert!(
            mail.html.contains("Total owing: AUD 5.50 and NZD 350.50"),
            "{}",
            mail.html
        );
        assert!(mail.html.contains("Tui &amp; Sons"));
        assert!(mail.html.find("A-1") < mail.html.find("A-3"));
        assert!(
            mail.text.contains("A-2, due 9 November 2026: AUD 5.50\n"),
            "{}",
            mail.text
        );
    }

    #[test]
    fn a_repeated_digest_says_so_first() {
        let hit = |client: &str| DigestHit {
            client: client.into(),
            reference: "loan L-1".into(),
            kind: "New default",
            summary: "NZD 1,250.00 <owed>",
            subject: "IND-1",
            subject_name: "Ana",
        };
        let digest_of = |repeat_note| Digest {
            tenant: "Acme",
            day: day(17),
            listed: vec![hit("Zed"), hit("Ana")],
            billed: 3,
            withheld: 1,
            monthly_cap: 2,
            currency: "NZD",
            price_per_hit: Decimal2(300),
            gst_rate_percent: Decimal2(1500),
            gst_each: Decimal2(45),
            net: Decimal2(900),
            gst: Decimal2(135),
            repeat_note,
        };
        let first = digest(&digest_of(None));
        assert_eq!(
            first.subject,
            "clientwatch: 3 new hits for Acme on 2026-11-17"
        );
        assert!(
            first.html.contains("NZD 1,250.00 &lt;owed&gt;"),
            "{}",
            first.html
        );
        assert!(
            first.html.find("Ana") < first.html.find("Zed"),
            "grouped by client"
        );
        assert!(first.text.contains("… and 1 more hits"), "{}", first.text);
        assert!(first.text.contains(
            "Billed: 3 hits × NZD 3.00 + GST 15.00% (NZD 0.45 each) = NZD 10.35 (NZD 9.00 + GST NZD 1.35)"
        ));
        assert!(first.text.contains("1 more hit was found but withheld"));
        let again = digest(&digest_of(Some("Sent again.")));
        assert_eq!(again.subject, format!("{} (sent again)", first.subject));
        assert!(
            again
                .text
                .starts_with("Sent again.\n\nMonitoring digest for Acme")
        );
        let note = again.html.find("<em>Sent again.</em>").unwrap();
        assert!(note < again.html.find("<h1").unwrap(), "{}", again.html);
    }
}
