//! E-mail templates for Customer Centre invites: a tenant's own wording of the invite e-mail,
//! kept under the tenant and managed through the partner API, and the built-in template used
//! when an invite names none.
//!
//! A template has a subject, an HTML part and a text part, each with merge tags written
//! `{{tag}}` (spaces inside the braces allowed) that an invite fills in. A template is checked
//! when it is saved, so an invite never meets a damaged one: every `{{` and `}}` must form a
//! known tag, both bodies must carry `{{link}}` (without it the customer cannot get in), and the
//! subject must not (the link is a credential; it does not belong in a header that mail
//! systems log and show in previews).
//!
//! An invite may change the subject and the text, but not the tags: an override uses exactly
//! the tags of the part it replaces. An overridden text replaces the HTML part too, generated
//! from the text, so the two parts never say different things.
//!
//! A tenant has at most 50 templates; like the roles' cap, a counter item with a capped
//! increment is written in the same transaction as the template.

use chrono::Days;
use serde::{Deserialize, Serialize};

use crate::Services;
use crate::domain::resource::Resource;
use crate::domain::{Error, Result, text};
use crate::keys;
use crate::ports::{Condition, Cursor, Transaction, TxOp, Update};
use crate::records::resource;
use crate::records::tenants;
use crate::render::merge::{self, Piece, TagSet, Wording, tags};
use crate::render::{long_date, mail};

pub const MAX_TEMPLATES: i64 = 50;
pub const MAX_NAME: usize = 100;
pub const MAX_SUBJECT: usize = 200;
/// For each of the HTML and the text part.
pub const MAX_BODY: usize = 20_000;
const WHAT: &str = "e-mail template";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSpec {
    pub name: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}

pub type Template = Resource<TemplateSpec>;

/// What an invite fills the merge tags with. Values are plain text; rendering escapes them
/// where needed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeValues {
    pub first_name: String,
    pub contact_name: String,
    pub adviser_name: String,
    /// The tenant's name.
    pub company_name: String,
    /// The invite link; the only way into the Customer Centre.
    pub link: String,
    /// The last day the link works, as the customer should read it.
    pub expires_on: String,
}

/// An invite's own subject or text in place of the template's; the tags stay the template's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Overrides {
    pub subject: Option<String>,
    pub text: Option<String>,
}

/// One e-mail, ready for the mailer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// A merge tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Tag {
    FirstName,
    ContactName,
    AdviserName,
    CompanyName,
    Link,
    ExpiresOn,
}

impl TagSet for Tag {
    type Values = MergeValues;
    const ALL: &'static [Tag] = &[
        Tag::FirstName,
        Tag::ContactName,
        Tag::AdviserName,
        Tag::CompanyName,
        Tag::Link,
        Tag::ExpiresOn,
    ];
    const WORDING: Wording = Wording::LineInside;

    fn name(self) -> &'static str {
        match self {
            Tag::FirstName => "first_name",
            Tag::ContactName => "contact_name",
            Tag::AdviserName => "adviser_name",
            Tag::CompanyName => "company_name",
            Tag::Link => "link",
            Tag::ExpiresOn => "expires_on",
        }
    }

    fn value(self, values: &MergeValues) -> &str {
        match self {
            Tag::FirstName => &values.first_name,
            Tag::ContactName => &values.contact_name,
            Tag::AdviserName => &values.adviser_name,
            Tag::CompanyName => &values.company_name,
            Tag::Link => &values.link,
            Tag::ExpiresOn => &values.expires_on,
        }
    }

    fn is_link(self) -> bool {
        self == Tag::Link
    }
}

/// Reads a template part (`field` names it in errors) with the invite's tags.
fn parse<'a>(field: &str, source: &'a str) -> Result<Vec<Piece<'a, Tag>>> {
    merge::parse(field, source)
}

/// Checks one-line parts (subjects): they go into a mail header.
fn one_line(field: &str, value: &str) -> Result<()> {
    if value.contains(['\r', '\n']) {
        return Err(Error::invalid(field, "must be one line"));
    }
    Ok(())
}

/// Checks the link tag's place: in both bodies, never in the subject.
fn link_rule(field: &str, pieces: &[Piece<Tag>]) -> Result<()> {
    let has_link = tags(pieces).contains(&Tag::Link);
    match (field, has_link) {
        ("subject", true) => Err(Error::invalid(
            field,
            "must not contain the {{link}} merge tag: the link is the customer's way in and \
             does not belong in a subject line",
        )),
        ("html" | "text", false) => Err(Error::invalid(
            field,
            "must contain the {{link}} merge tag: without it the customer cannot open the \
             Customer Centre",
        )),
        _ => Ok(()),
    }
}

impl TemplateSpec {
    /// The spec trimmed, if every part is within its limits and its tags are sound.
    fn checked(self) -> Result<Self> {
        let spec = Self {
            name: text("name", &self.name, MAX_NAME)?,
            subject: text("subject", &self.subject, MAX_SUBJECT)?,
            html: text("html", &self.html, MAX_BODY)?,
            text: text("text", &self.text, MAX_BODY)?,
        };
        one_line("subject", &spec.subject)?;
        for (field, part) in [
            ("subject", &spec.subject),
            ("html", &spec.html),
            ("text", &spec.text),
        ] {
            link_rule(field, &parse(field, part)?)?;
        }
        Ok(spec)
    }
}

/// Checks an invite's overrides against the template: each within its limits, and using
/// exactly the merge tags of the part it replaces. An invite calls this before it stores
/// anything; [`render`] calls it too.
pub fn check_overrides(template: &TemplateSpec, overrides: &Overrides) -> Result<()> {
    if let Some(subject) = &overrides.subject {
        text("subject", subject, MAX_SUBJECT)?;
        one_line("subject", subject)?;
        same_tags("subject", &template.subject, subject)?;
    }
    if let Some(body) = &overrides.text {
        text("text", body, MAX_BODY)?;
        same_tags("text", &template.text, body)?;
    }
    Ok(())
}

fn same_tags(field: &str, original: &str, replacement: &str) -> Result<()> {
    let want = tags(&parse(field, original)?);
    let got = tags(&parse(field, replacement)?);
    if let Some(missing) = want.difference(&got).next() {
        return Err(Error::invalid(
            field,
            format!(
                "the merge tag {{{{{}}}}} of the template is missing; the {field} may be \
                 changed per invite, its merge tags may not",
                missing.name()
            ),
        ));
    }
    if let Some(added) = got.difference(&want).next() {
        return Err(Error::invalid(
            field,
            format!(
                "the merge tag {{{{{}}}}} is not in the template's {field}; the {field} may be \
                 changed per invite, its merge tags may not",
                added.name()
            ),
        ));
    }
    Ok(())
}

/// The invite e-mail: the template (or the invite's overrides) with the tags filled in.
/// Values are HTML-escaped in the HTML part and put in as they are in the text; in the
/// subject their line breaks become spaces, so that no value can add a mail header.
pub fn render(
    template: &TemplateSpec,
    overrides: &Overrides,
    values: &MergeValues,
) -> Result<Rendered> {
    check_overrides(template, overrides)?;
    let subject = overrides.subject.as_deref().unwrap_or(&template.subject);
    let text = overrides.text.as_deref().unwrap_or(&template.text);
    // An overridden text makes the HTML part too.
    let html = overrides.text.is_none().then_some(template.html.as_str());
    let mail = mail::merged::<Tag>(subject, html, text, values)?;
    Ok(Rendered {
        subject: mail.subject,
        html: mail.html,
        text: mail.text,
    })
}

/// The built-in invite, used when an invite names no template: plain words, the link as a
/// large button and again as an address, in one column that reads well on a phone, with
/// inline styles only (mail programs drop style sheets).
pub fn default_template() -> TemplateSpec {
    TemplateSpec {
        name: "Customer Centre invite".into(),
        subject: "{{adviser_name}} at {{company_name}} has invited you to the Customer Centre"
            .into(),
        html: DEFAULT_HTML.into(),
        text: DEFAULT_TEXT.into(),
    }
}

const DEFAULT_TEXT: &str = "\
Hello {{first_name}},

{{adviser_name}} at {{company_name}} has invited you to the Customer Centre to review your \
application.

To start, open this link:
{{link}}

When you open it, press \"Text me a code\": we text a code to your mobile phone, and you \
enter it on the page, to make sure it is you.

The link works until {{expires_on}}.

If you did not expect this invitation, you can ignore this e-mail.

{{company_name}}";

const DEFAULT_HTML: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your invitation to the Customer Centre</title>
</head>
<body style="margin:0;padding:0;background:#f4f4f4;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f4f4f4;">
<tr>
<td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:600px;background:#ffffff;border-radius:8px;">
<tr>
<td style="padding:32px 24px;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1f1f1f;">
<h1 style="margin:0 0 16px;font-size:22px;line-height:1.3;color:#1f1f1f;">You are invited to the Customer Centre</h1>
<p style="margin:0 0 16px;">Hello {{first_name}},</p>
<p style="margin:0 0 16px;">{{adviser_name}} at {{company_name}} has invited you to the Customer Centre to review your application.</p>
<p style="margin:0 0 24px;">
<a href="{{link}}" style="display:inline-block;padding:14px 28px;background:#0b57d0;color:#ffffff;font-size:18px;font-weight:bold;text-decoration:none;border-radius:6px;">Open the Customer Centre</a>
</p>
<p style="margin:0 0 16px;">When you open it, press <strong>Text me a code</strong>: we text a code to your mobile phone, and you enter it on the page, to make sure it is you.</p>
<p style="margin:0 0 16px;">The link works until <strong>{{expires_on}}</strong>.</p>
<p style="margin:0 0 16px;font-size:14px;color:#444444;">If the button does not work, copy this address into your browser:<br>
<a href="{{link}}" style="color:#0b57d0;word-break:break-all;">{{link}}</a></p>
<p style="margin:0;font-size:14px;color:#444444;">If you did not expect this invitation, you can ignore this e-mail.</p>
</td>
</tr>
</table>
<p style="margin:16px 0 0;font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#444444;">{{company_name}}</p>
</td>
</tr>
</table>
</body>
</html>"##;

/// What the preview fills the tags with: a made-up customer and link, the tenant's own name,
/// and a date a week from `today`.
pub fn example_values(company_name: &str, today: chrono::NaiveDate) -> MergeValues {
    let expires = today.checked_add_days(Days::new(7)).unwrap_or(today);
    MergeValues {
        first_name: "Ana".into(),
        contact_name: "Ana Smith".into(),
        adviser_name: "Sam Taylor".into(),
        company_name: company_name.into(),
        link: "https://portal.example/i/EXAMPLE".into(),
        expires_on: long_date(expires),
    }
}

/// Counts `n` more templates; a positive `n` only while the tenant stays within the cap.
fn count_op(tenant_id: &str, n: i64) -> TxOp {
    let update = Update::default().add("templates", n);
    let update = if n > 0 {
        update.when(Condition::Below("templates".into(), MAX_TEMPLATES - n + 1))
    } else {
        update
    };
    TxOp::Update(keys::template_count(tenant_id), update)
}

pub async fn create(svc: &Services, tenant_id: &str, spec: TemplateSpec) -> Result<Template> {
    let template = Resource::new(svc, spec.checked()?);
    let mut tx = Transaction::new();
    tx.guarded(
        count_op(tenant_id, 1),
        Error::Conflict(format!(
            "a tenant has at most {MAX_TEMPLATES} e-mail templates; delete one to add another"
        )),
    )
    .op(TxOp::Put(
        template.item(keys::template(tenant_id, &template.id))?,
        Condition::Absent,
    ));
    tx.commit(svc.table.as_ref()).await?;
    Ok(template)
}

pub async fn get(svc: &Services, tenant_id: &str, template_id: &str) -> Result<Template> {
    resource::get(
        svc.table.as_ref(),
        &keys::template(tenant_id, template_id),
        WHAT,
    )
    .await
}

pub async fn list(
    svc: &Services,
    tenant_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Template>, Option<Cursor>)> {
    resource::list_of_tenant(
        svc.table.as_ref(),
        tenant_id,
        keys::TEMPLATES,
        limit,
        cursor,
    )
    .await
}

/// Changes a template by a merge patch, if it is still at version `seen`; the result is
/// checked like a new template, so a patch cannot damage a tag or remove the link.
pub async fn update(
    svc: &Services,
    tenant_id: &str,
    template_id: &str,
    seen: u64,
    patch: &serde_json::Value,
) -> Result<Template> {
    let current = get(svc, tenant_id, template_id).await?;
    let spec = crate::domain::resource::patched(&current.spec, patch)?.checked()?;
    let next = resource::changed(svc, &current, spec);
    resource::replace(
        svc.table.as_ref(),
        keys::template(tenant_id, template_id),
        &next,
        seen,
        WHAT,
    )
    .await?;
    Ok(next)
}

pub async fn delete(svc: &Services, tenant_id: &str, template_id: &str, seen: u64) -> Result<()> {
    get(svc, tenant_id, template_id).await?;
    let ops = vec![
        TxOp::Delete(
            keys::template(tenant_id, template_id),
            Condition::VersionIs(seen),
        ),
        count_op(tenant_id, -1),
    ];
    svc.table.transact(ops).await.map_err(resource::stale(WHAT))
}

/// A stored template rendered with [`example_values`], so a partner can see it (and an
/// invite's overrides) before any invite uses it.
pub async fn preview(
    svc: &Services,
    tenant_id: &str,
    template_id: &str,
    overrides: &Overrides,
) -> Result<Rendered> {
    let template = get(svc, tenant_id, template_id).await?;
    // The caller sent the overrides as `overrides`; their errors say so.
    check_overrides(&template.spec, overrides).map_err(|e| match e {
        Error::Invalid { field, message } => Error::invalid(format!("overrides.{field}"), message),
        e => e,
    })?;
    let tenant = tenants::get(svc.table.as_ref(), tenant_id).await?;
    let zone: chrono_tz::Tz = tenant.spec.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let today = svc.clock.now().with_timezone(&zone).date_naive();
    render(
        &template.spec,
        overrides,
        &example_values(&tenant.spec.name, today),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(subject: &str, html: &str, text: &str) -> TemplateSpec {
        TemplateSpec {
            name: "Invite".into(),
            subject: subject.into(),
            html: html.into(),
            text: text.into(),
        }
    }

    fn valid() -> TemplateSpec {
        spec(
            "Hello {{first_name}} from {{company_name}}",
            "<p>Hi {{first_name}}, <a href=\"{{link}}\">open</a></p>",
            "Hi {{first_name}},\n\nOpen {{link}} before {{expires_on}}.",
        )
    }

    fn values() -> MergeValues {
        MergeValues {
            first_name: "Ana".into(),
            contact_name: "Ana Smith".into(),
            adviser_name: "Sam".into(),
            company_name: "Acme Lending".into(),
            link: "https://portal.example/i/abc".into(),
            expires_on: "4 December 2026".into(),
        }
    }

    /// The field and message of a refusal.
    fn refusal(result: Result<impl std::fmt::Debug>) -> (String, String) {
        match result {
            Err(Error::Invalid { field, message }) => (field, message),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn tags_are_read_with_or_without_spaces_inside_the_braces() {
        let pieces = parse("text", "Hi {{first_name}}, {{ link }} {{\tlink}}!").unwrap();
        assert_eq!(
            pieces,
            [
                Piece::Text("Hi "),
                Piece::Tag(Tag::FirstName),
                Piece::Text(", "),
                Piece::Tag(Tag::Link),
                Piece::Text(" "),
                Piece::Tag(Tag::Link),
                Piece::Text("!"),
            ]
        );
        // Single braces are text (style sheets use them).
        assert_eq!(
            parse("html", "a { color: red }").unwrap(),
            [Piece::Text("a { color: red }")]
        );
    }

    #[test]
    fn an_unknown_tag_is_named_with_its_line_and_the_known_tags() {
        let (field, message) = refusal(parse("text", "Hello\n\nOpen {{lnk}} now"));
        assert_eq!(field, "text");
        assert_eq!(
            message,
            "the merge tag \"{{lnk}}\" at line 3 is not one of first_name, contact_name, \
             adviser_name, company_name, link, expires_on"
        );
        // Names are exact: no other case, no other spelling.
        for damaged in ["{{Link}}", "{{ first name }}", "{{}}", "{{{link}}}"] {
            refusal(parse("text", damaged));
        }
    }

    #[test]
    fn an_unclosed_tag_is_refused_with_its_line() {
        let (field, message) = refusal(parse("html", "<p>\n\n\n\n<a href=\"{{link\">x</a>"));
        assert_eq!(field, "html");
        assert!(
            message.starts_with("\"{{link\" at line 5 is not closed"),
            "{message}"
        );
        // A tag never spans lines, and a second `{{` means the first was not closed.
        let (_, message) = refusal(parse("text", "{{link\n}}"));
        assert!(message.contains("line 1 is not closed"), "{message}");
        let (_, message) = refusal(parse("text", "ok\n{{first_name {{link}}"));
        assert!(message.contains("line 2 is not closed"), "{message}");
    }

    #[test]
    fn a_stray_closing_pair_is_refused_with_its_line() {
        let (field, message) = refusal(parse("subject", "Hello first_name}}"));
        assert_eq!(field, "subject");
        assert!(
            message.starts_with("\"}}\" at line 1 closes no merge tag"),
            "{message}"
        );
        let (_, message) = refusal(parse("html", "{{link}}\n<style>a{b{c:d}}</style>"));
        assert!(message.contains("at line 2"), "{message}");
    }

    #[test]
    fn a_saved_template_needs_the_link_in_both_bodies_and_not_in_the_subject() {
        assert!(valid().checked().is_ok());
        let mut no_link = valid();
        no_link.text = "Hi {{first_name}}".into();
        let (field, message) = refusal(no_link.checked());
        assert_eq!(field, "text");
        assert!(message.contains("must contain the {{link}} merge tag"));
        let mut no_link = valid();
        no_link.html = "<p>Hi</p>".into();
        assert_eq!(refusal(no_link.checked()).0, "html");
        let mut in_subject = valid();
        in_subject.subject = "Your link: {{ link }}".into();
        let (field, message) = refusal(in_subject.checked());
        assert_eq!(field, "subject");
        assert!(message.contains("must not contain the {{link}}"));
        let mut two_lines = valid();
        two_lines.subject = "Hello\r\nBcc: someone@else.test".into();
        let (field, message) = refusal(two_lines.checked());
        assert_eq!(field, "subject");
        assert!(message.contains("one-line"), "{message}");
    }

    #[test]
    fn a_saved_template_keeps_to_its_limits() {
        let cases = [
            ("name", spec_with(|s| s.name = "n".repeat(101))),
            ("name", spec_with(|s| s.name = "  ".into())),
            ("subject", spec_with(|s| s.subject = "s".repeat(201))),
            (
                "html",
                spec_with(|s| s.html = format!("{{{{link}}}}{}", "h".repeat(20_000))),
            ),
            ("text", spec_with(|s| s.text = String::new())),
        ];
        for (field, spec) in cases {
            assert_eq!(refusal(spec.checked()).0, field);
        }
        let longest = spec_with(|s| s.text = format!("{{{{link}}}}{}", "é".repeat(19_992)));
        assert!(longest.checked().is_ok(), "the limit counts characters");
    }

    fn spec_with(change: impl FnOnce(&mut TemplateSpec)) -> TemplateSpec {
        let mut spec = valid();
        change(&mut spec);
        spec
    }

    #[test]
    fn values_are_escaped_in_the_html_part_only() {
        let mut values = values();
        values.first_name = "<b>Ana</b> & \"Bo\" O'Neil".into();
        values.link = "https://portal.example/i/a?x=1&y=\"2\"".into();
        let rendered = render(&valid(), &Overrides::default(), &values).unwrap();
        assert_eq!(
            rendered.html,
            "<p>Hi &lt;b&gt;Ana&lt;/b&gt; &amp; &quot;Bo&quot; O&#39;Neil, \
             <a href=\"https://portal.example/i/a?x=1&amp;y=&quot;2&quot;\">open</a></p>"
        );
        assert_eq!(
            rendered.text,
            "Hi <b>Ana</b> & \"Bo\" O'Neil,\n\nOpen https://portal.example/i/a?x=1&y=\"2\" \
             before 4 December 2026."
        );
        assert_eq!(
            rendered.subject,
            "Hello <b>Ana</b> & \"Bo\" O'Neil from Acme Lending"
        );
    }

    #[test]
    fn line_breaks_in_values_never_reach_the_subject() {
        let mut values = values();
        values.first_name = "Ana\r\nBcc: victim@example.test".into();
        values.company_name = "Acme\nLending\r".into();
        let rendered = render(&valid(), &Overrides::default(), &values).unwrap();
        assert_eq!(
            rendered.subject,
            "Hello Ana Bcc: victim@example.test from Acme Lending"
        );
        assert!(!rendered.subject.contains(['\r', '\n']));
    }

    #[test]
    fn an_override_keeps_exactly_the_tags_of_the_part_it_replaces() {
        let template = valid();
        let fine = Overrides {
            subject: Some("{{company_name}}: a note for {{ first_name }}".into()),
            text: Some("{{first_name}}, {{link}} until {{expires_on}} ({{link}})".into()),
        };
        assert!(check_overrides(&template, &fine).is_ok());

        let missing = Overrides {
            text: Some("Hi {{first_name}}, open {{link}}".into()),
            ..Overrides::default()
        };
        let (field, message) = refusal(check_overrides(&template, &missing));
        assert_eq!(field, "text");
        assert!(message.contains("{{expires_on}}"), "{message}");
        assert!(message.contains("missing"), "{message}");

        let added = Overrides {
            subject: Some("{{first_name}} at {{company_name}}, {{adviser_name}}".into()),
            ..Overrides::default()
        };
        let (field, message) = refusal(check_overrides(&template, &added));
        assert_eq!(field, "subject");
        assert!(message.contains("{{adviser_name}}"), "{message}");

        let damaged = Overrides {
            text: Some("{{first_name}} {{link}} {{expires_on}} {{oops}}".into()),
            ..Overrides::default()
        };
        assert_eq!(refusal(check_overrides(&template, &damaged)).0, "text");
        let two_lines = Overrides {
            subject: Some("{{first_name}} {{company_name}}\nBcc: x@y.test".into()),
            ..Overrides::default()
        };
        assert_eq!(refusal(check_overrides(&template, &two_lines)).0, "subject");
        // render refuses what check_overrides refuses.
        assert_eq!(refusal(render(&template, &missing, &values())).0, "text");
    }

    #[test]
    fn an_overridden_text_makes_the_html_part_too() {
        let overrides = Overrides {
            subject: Some("{{first_name}} & {{company_name}}".into()),
            text: Some(
                "Kia ora {{first_name}},\r\n\r\nPlease <review> your application:\n{{link}}\n\
                 \n  \nUntil {{expires_on}}.\n"
                    .into(),
            ),
        };
        let mut values = values();
        values.first_name = "Ana <3".into();
        let rendered = render(&valid(), &overrides, &values).unwrap();
        assert_eq!(rendered.subject, "Ana <3 & Acme Lending");
        assert!(
            rendered
                .text
                .starts_with("Kia ora Ana <3,\r\n\r\nPlease <review>")
        );
        let html = &rendered.html;
        assert!(
            html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"),
            "{html}"
        );
        assert!(html.contains("<meta charset=\"utf-8\">"), "{html}");
        assert!(html.contains("font-size:16px"), "{html}");
        assert!(
            html.contains("<title>Ana &lt;3 &amp; Acme Lending</title>"),
            "{html}"
        );
        let p = "<p style=\"margin:0 0 16px;\">";
        let body = format!(
            "{p}Kia ora Ana &lt;3,</p>\n\
             {p}Please &lt;review&gt; your application:<br>\n\
             <a href=\"https://portal.example/i/abc\" style=\"color:#0b57d0;word-break:break-all;\">\
             https://portal.example/i/abc</a></p>\n\
             {p}Until 4 December 2026.</p>"
        );
        assert!(html.contains(&body), "{html}");
        assert!(!html.contains("<p>Hi"), "the template's html is not used");
    }

    #[test]
    fn the_default_template_is_valid_and_renders_every_value() {
        let template = default_template();
        assert_eq!(template.clone().checked().unwrap(), template);
        let rendered = render(&template, &Overrides::default(), &values()).unwrap();
        assert_eq!(
            rendered.subject,
            "Sam at Acme Lending has invited you to the Customer Centre"
        );
        for part in [&rendered.html, &rendered.text] {
            for value in [
                "Ana",
                "Sam",
                "Acme Lending",
                "https://portal.example/i/abc",
                "4 December 2026",
            ] {
                assert!(part.contains(value), "{value} missing from {part}");
            }
            assert!(!part.contains("{{"), "{part}");
        }
        assert!(rendered.html.contains("<html lang=\"en\">"));
        assert!(rendered.html.contains("name=\"viewport\""));
        // Its tags allow overriding the text with the same ones.
        let overrides = Overrides {
            text: Some(
                "{{first_name}}: {{adviser_name}} ({{company_name}}) {{link}} {{expires_on}}"
                    .into(),
            ),
            subject: None,
        };
        assert!(render(&template, &overrides, &values()).is_ok());
    }

    #[test]
    fn the_preview_values_are_examples() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let values = example_values("Acme Lending", today);
        assert_eq!(values.first_name, "Ana");
        assert_eq!(values.link, "https://portal.example/i/EXAMPLE");
        assert_eq!(values.expires_on, "4 December 2026");
    }
}
