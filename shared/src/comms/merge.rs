//! Merge tags of workflow messages: `{{tag}}` (spaces inside the braces allowed) in a step's
//! subject, text and HTML, filled per invoice when the step is sent.
//!
//! A workflow is checked when it is saved, so a run never meets a damaged message: every `{{`
//! and `}}` must form a known tag. This is the workflows' tag set; reading and filling is
//! [`crate::render::merge`]'s, and an error there says the line and column.

use crate::domain::Result;
use crate::render::merge::{self, TagSet, Wording};

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
    /// The contact's personal account-portal link: filled per contact when the message is
    /// sent (see [`PORTAL_LINK_SLOT`]).
    pub portal_link: String,
}

/// What `{{portal_link}}` renders as until the message is sent: the link is personal, so
/// delivery puts a link minted for each contact in its place (and nothing in a subject, which
/// the communications log keeps).
pub const PORTAL_LINK_SLOT: &str = "https://portal-link.clientwatch.invalid/personal";

/// A workflow message's merge tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tag {
    ClientName,
    InvoiceNumber,
    Amount,
    Balance,
    Currency,
    DueDate,
    DaysOverdue,
    DocumentLink,
    TenantName,
    PortalLink,
}

impl TagSet for Tag {
    type Values = Values;
    const ALL: &'static [Tag] = &[
        Tag::ClientName,
        Tag::InvoiceNumber,
        Tag::Amount,
        Tag::Balance,
        Tag::Currency,
        Tag::DueDate,
        Tag::DaysOverdue,
        Tag::DocumentLink,
        Tag::TenantName,
        Tag::PortalLink,
    ];
    const WORDING: Wording = Wording::PositionFirst;

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
            Tag::PortalLink => "portal_link",
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
            Tag::PortalLink => &values.portal_link,
        }
    }

    fn is_link(self) -> bool {
        matches!(self, Tag::DocumentLink | Tag::PortalLink)
    }
}

/// Refuses a part whose braces do not all form known merge tags.
pub fn check(field: &str, source: &str) -> Result<()> {
    merge::parse::<Tag>(field, source).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Error;
    use crate::render::mail;

    fn render_text(field: &str, source: &str, values: &Values) -> Result<String> {
        Ok(merge::text(&merge::parse::<Tag>(field, source)?, values))
    }

    fn render_subject(field: &str, source: &str, values: &Values) -> Result<String> {
        Ok(merge::subject(&merge::parse::<Tag>(field, source)?, values))
    }

    fn render_html(field: &str, source: &str, values: &Values) -> Result<String> {
        Ok(merge::html(&merge::parse::<Tag>(field, source)?, values))
    }

    fn html_from_text(subject: &str, source: &str, values: &Values) -> Result<String> {
        Ok(mail::merged::<Tag>(subject, None, source, values)?.html)
    }

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
            portal_link: PORTAL_LINK_SLOT.into(),
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
    fn the_portal_link_is_a_link_holding_the_slot_delivery_fills() {
        let html = html_from_text("Reminder", "Your account: {{portal_link}}", &values()).unwrap();
        assert!(
            html.contains(&format!("<a href=\"{PORTAL_LINK_SLOT}\"")),
            "{html}"
        );
        let text = render_text("text", "See {{ portal_link }}", &values()).unwrap();
        assert_eq!(text, format!("See {PORTAL_LINK_SLOT}"));
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
