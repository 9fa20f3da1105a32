//! Merge tags of workflow messages: `{{tag}}` (spaces inside the braces allowed) in a step's
//! subject, text and HTML, filled per invoice when the step is sent.
//!
//! A workflow is checked when it is saved, so a run never meets a damaged message: every `{{`
//! and `}}` must form a known tag. Values are HTML-escaped in HTML, made one line in subjects
//! (no value can add a mail header), and put in as they are in texts and SMS.

use crate::domain::{Error, Result};
use crate::monitoring::digest::escape;

/// What a message is filled with, for one invoice. Plain text; rendering escapes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Values {
    pub client_name: String,
    pub invoice_number: String,
    /// The invoice's amount, "1250.00".
    pub amount: String,
    /// What is still owed, "1250.00".
    pub balance: String,
    /// ISO 4217 code: the invoice's, or the tenant's.
    pub currency: String,
    /// The due date as a person reads it: "4 December 2026".
    pub due_date: String,
    /// Whole days past the due date on the run's day; "0" until then.
    pub days_overdue: String,
    /// Where the customer sees the invoice; empty when the partner gave none.
    pub document_link: String,
    /// The tenant's name.
    pub tenant_name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    ClientName,
    InvoiceNumber,
    Amount,
    Balance,
    Currency,
    DueDate,
    DaysOverdue,
    DocumentLink,
    TenantName,
}

impl Tag {
    const ALL: [Tag; 9] = [
        Tag::ClientName,
        Tag::InvoiceNumber,
        Tag::Amount,
        Tag::Balance,
        Tag::Currency,
        Tag::DueDate,
        Tag::DaysOverdue,
        Tag::DocumentLink,
        Tag::TenantName,
    ];

    fn name(self) -> &'static str {
        match self {
            Tag::ClientName => "client_name",
            Tag::InvoiceNumber => "invoice_number",
            Tag::Amount => "amount",
            Tag::Balance => "balance",
            Tag::Currency => "currency",
            Tag::DueDate => "due_date",
            Tag::DaysOverdue => "days_overdue",
            Tag::DocumentLink => "document_link",
            Tag::TenantName => "tenant_name",
        }
    }

    fn value(self, values: &Values) -> &str {
        match self {
            Tag::ClientName => &values.client_name,
            Tag::InvoiceNumber => &values.invoice_number,
            Tag::Amount => &values.amount,
            Tag::Balance => &values.balance,
            Tag::Currency => &values.currency,
            Tag::DueDate => &values.due_date,
            Tag::DaysOverdue => &values.days_overdue,
            Tag::DocumentLink => &values.document_link,
            Tag::TenantName => &values.tenant_name,
        }
    }
}

/// The tags a message may use, for messages and documentation.
pub fn known_tags() -> String {
    Tag::ALL.map(Tag::name).join(", ")
}

enum Piece<'a> {
    Text(&'a str),
    Tag(Tag),
}

/// `s` quoted for a message, cut when long so that a paragraph swallowed by a mistyped tag
/// does not fill the answer.
fn quoted(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        format!("\"{}…\"", s.chars().take(MAX).collect::<String>())
    }
}

/// Reads a message part; `field` names it in errors (`steps[2].text`).
fn parse<'a>(field: &str, source: &'a str) -> Result<Vec<Piece<'a>>> {
    let mut pieces = Vec::new();
    let mut rest = source;
    while !rest.is_empty() {
        let open = rest.find("{{");
        if let Some(close) = rest.find("}}").filter(|c| open.is_none_or(|o| *c < o)) {
            return Err(Error::invalid(
                field,
                format!(
                    "{} has a \"}}}}\" that closes no merge tag (merge tags are written {{{{name}}}})",
                    quoted(&rest[..close + 2])
                ),
            ));
        }
        let Some(open) = open else {
            pieces.push(Piece::Text(rest));
            break;
        };
        if open > 0 {
            pieces.push(Piece::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let end = after
            .find("}}")
            .filter(|&e| !after[..e].contains(['\n', '{']));
        let Some(end) = end else {
            let meant: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | ' '))
                .collect();
            return Err(Error::invalid(
                field,
                format!(
                    "{} is not closed (a merge tag ends with \"}}}}\" on the same line)",
                    quoted(&format!("{{{{{}", meant.trim_end()))
                ),
            ));
        };
        let name = after[..end].trim_matches([' ', '\t']);
        let Some(tag) = Tag::ALL.into_iter().find(|t| t.name() == name) else {
            return Err(Error::invalid(
                field,
                format!(
                    "the merge tag {} is not one of {}",
                    quoted(&rest[open..open + 2 + end + 2]),
                    known_tags()
                ),
            ));
        };
        pieces.push(Piece::Tag(tag));
        rest = &after[end + 2..];
    }
    Ok(pieces)
}

/// Refuses a part whose braces do not all form known merge tags.
pub fn check(field: &str, source: &str) -> Result<()> {
    parse(field, source).map(|_| ())
}

fn fill(pieces: &[Piece], value: impl Fn(Tag) -> String) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(s) => out.push_str(s),
            Piece::Tag(tag) => out.push_str(&value(*tag)),
        }
    }
    out
}

fn one_line(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A text or an SMS: values as they are.
pub fn render_text(field: &str, source: &str, values: &Values) -> Result<String> {
    Ok(fill(&parse(field, source)?, |tag| {
        tag.value(values).to_owned()
    }))
}

/// A subject: one line, whatever the values hold.
pub fn render_subject(field: &str, source: &str, values: &Values) -> Result<String> {
    Ok(one_line(&fill(&parse(field, source)?, |tag| {
        tag.value(values).to_owned()
    })))
}

/// The tenant's own HTML: values escaped.
pub fn render_html(field: &str, source: &str, values: &Values) -> Result<String> {
    Ok(fill(&parse(field, source)?, |tag| {
        escape(tag.value(values))
    }))
}

/// The HTML part of an e-mail step that has only a text: its paragraphs (at blank lines) as
/// `<p>`, other line breaks as `<br>`, the document link as a link, everything escaped.
pub fn html_from_text(field: &str, subject: &str, source: &str, values: &Values) -> Result<String> {
    let pieces = parse(field, source)?;
    let mut body = String::new();
    for piece in &pieces {
        match piece {
            Piece::Text(s) => {
                let s = s.replace("\r\n", "\n");
                let mut paragraphs = s.split("\n\n").map(|p| escape(p).replace('\n', "<br>\n"));
                if let Some(first) = paragraphs.next() {
                    body.push_str(&first);
                }
                for p in paragraphs {
                    body.push_str("</p>\n<p style=\"margin:0 0 16px;\">");
                    body.push_str(p.trim_start_matches("<br>\n"));
                }
            }
            Piece::Tag(Tag::DocumentLink) if !values.document_link.is_empty() => {
                let link = escape(&one_line(&values.document_link));
                body.push_str(&format!(
                    "<a href=\"{link}\" style=\"color:#0b57d0;word-break:break-all;\">{link}</a>"
                ));
            }
            Piece::Tag(tag) => body.push_str(&escape(&one_line(tag.value(values)))),
        }
    }
    Ok(page(
        subject,
        &format!("<p style=\"margin:0 0 16px;\">{body}</p>"),
    ))
}

/// A plain document around `body` that reads well on a phone (inline styles only: mail
/// programs drop style sheets).
pub fn page(subject: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n</head>\n\
         <body style=\"margin:0;padding:24px 16px;background:#ffffff;color:#1f1f1f;\
         font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;\">\n\
         <div style=\"max-width:600px;margin:0 auto;\">\n{body}\n</div>\n</body>\n</html>\n",
        escape(subject)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values {
        Values {
            client_name: "Smith & Sons <Ltd>".into(),
            invoice_number: "INV-7".into(),
            amount: "1250.00".into(),
            balance: "250.00".into(),
            currency: "NZD".into(),
            due_date: "4 December 2026".into(),
            days_overdue: "3".into(),
            document_link: "https://docs.example.com/inv-7?a=1&b=2".into(),
            tenant_name: "Acme\nLending".into(),
        }
    }

    fn refusal(source: &str) -> String {
        match check("steps[2].text", source).unwrap_err() {
            Error::Invalid { field, message } => {
                assert_eq!(field, "steps[2].text");
                message
            }
            e => panic!("{e}"),
        }
    }

    #[test]
    fn every_tag_is_filled_and_spaces_inside_braces_are_allowed() {
        let text = render_text(
            "text",
            "{{client_name}} owes {{ currency }} {{balance}} of {{amount}} on {{invoice_number}}, \
             due {{due_date}} ({{days_overdue}} days ago): {{document_link}} — {{tenant_name}}",
            &values(),
        )
        .unwrap();
        assert_eq!(
            text,
            "Smith & Sons <Ltd> owes NZD 250.00 of 1250.00 on INV-7, due 4 December 2026 \
             (3 days ago): https://docs.example.com/inv-7?a=1&b=2 — Acme\nLending"
        );
    }

    #[test]
    fn html_escapes_values_and_a_subject_stays_one_line() {
        let html = render_html("html", "<b>{{client_name}}</b>", &values()).unwrap();
        assert_eq!(html, "<b>Smith &amp; Sons &lt;Ltd&gt;</b>");
        let subject = render_subject("subject", "From {{tenant_name}}", &values()).unwrap();
        assert_eq!(subject, "From Acme Lending");
    }

    #[test]
    fn html_made_from_text_keeps_paragraphs_and_links_the_document() {
        let html = html_from_text(
            "text",
            "Invoice",
            "Dear {{client_name}},\nplease pay.\n\nSee {{document_link}}",
            &values(),
        )
        .unwrap();
        assert!(
            html.contains("Dear Smith &amp; Sons &lt;Ltd&gt;,<br>\nplease pay.</p>"),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"https://docs.example.com/inv-7?a=1&amp;b=2\""),
            "{html}"
        );
    }

    #[test]
    fn unknown_unclosed_and_stray_tags_are_refused_naming_the_field() {
        assert!(refusal("Hi {{first_name}}").contains("\"{{first_name}}\" is not one of"));
        assert!(refusal("Hi {{client_name").contains("\"{{client_name\" is not closed"));
        assert!(refusal("Hi {{client_name\n}}").contains("is not closed"));
        assert!(refusal("Hi client_name}}").contains("closes no merge tag"));
        assert!(check("text", "No tags at all { } {x}").is_ok());
    }
}
