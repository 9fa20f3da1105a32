//! The rules of a contact's answers to an invoice, as pure functions of plain values: which
//! invoice may be disputed or promised, what a reason, a comment and a promised date may be,
//! and what a partner's change does to a dispute or a promise already on the invoice.
//! [`super::answers`] gathers the inputs, applies the answer and writes it.

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::{InvoiceSpec, PromiseStatus, Status};
use crate::domain::input::{characters_problem, date};
use crate::domain::{Error, Result};

/// The longest comment on a dispute.
pub const MAX_COMMENT: usize = 2000;

/// Whether an invoice in this state may be disputed: only an open one (409 otherwise).
pub fn may_dispute(spec: &InvoiceSpec) -> Result<()> {
    match spec.status {
        Status::Open => Ok(()),
        Status::Disputed => Err(Error::Conflict(format!(
            "invoice {} is already disputed; the tenant is looking into it",
            spec.number
        ))),
        Status::Paid => Err(Error::Conflict(format!(
            "invoice {} is paid: there is nothing to dispute",
            spec.number
        ))),
        Status::Void => Err(Error::Conflict(format!(
            "invoice {} was cancelled (void): there is nothing to dispute",
            spec.number
        ))),
    }
}

/// Whether an invoice in this state may get a promise to pay: an open one without a pending
/// promise (409 otherwise).
pub fn may_promise(spec: &InvoiceSpec) -> Result<()> {
    if spec.status != Status::Open {
        let state = match spec.status {
            Status::Paid => "is paid",
            Status::Disputed => "is disputed",
            _ => "was cancelled (void)",
        };
        return Err(Error::Conflict(format!(
            "invoice {} {state}: only an open invoice can be promised",
            spec.number
        )));
    }
    match &spec.promise {
        Some(p) if p.is_pending() => Err(Error::Conflict(format!(
            "invoice {} already has a promise to pay by {}",
            spec.number, p.date
        ))),
        _ => Ok(()),
    }
}

/// The tenant's wording of the reason given (compared without case or surrounding spaces), or
/// a 422 naming `reason` and listing the allowed ones.
pub fn reason(allowed: &[String], given: &str) -> Result<String> {
    let given = given.trim();
    allowed
        .iter()
        .find(|r| r.to_lowercase() == given.to_lowercase())
        .cloned()
        .ok_or_else(|| Error::invalid("reason", format!("must be one of: {}", allowed.join("; "))))
}

/// A dispute's comment: optional (blank is none), several lines, at most [`MAX_COMMENT`]
/// characters, no control characters but line breaks and tabs; a 422 naming `comment`.
pub fn comment(given: Option<&str>) -> Result<Option<String>> {
    let Some(text) = given.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_COMMENT {
        return Err(Error::invalid(
            "comment",
            format!("must be at most {MAX_COMMENT} characters"),
        ));
    }
    if let Some(why) = characters_problem(text, true) {
        return Err(Error::invalid("comment", why));
    }
    Ok(Some(text.replace("\r\n", "\n")))
}

/// The first and last day a promise made `today` may name (a form's `min` and `max`).
pub fn window(today: NaiveDate, max_days: u32) -> (NaiveDate, NaiveDate) {
    let last = today
        .checked_add_days(Days::new(u64::from(max_days)))
        .unwrap_or(today);
    (today, last)
}

/// The promised date, if it is `YYYY-MM-DD` from `today` (the tenant's, in its time zone) to
/// `today + max_days`; a 422 naming `date` otherwise.
pub fn promise_date(today: NaiveDate, max_days: u32, given: &str) -> Result<NaiveDate> {
    let (today, last) = window(today, max_days);
    let window = format!("must be a date from {today} to {last} (YYYY-MM-DD)");
    let day = date::parse(given.trim()).map_err(|_| Error::invalid("date", &window))?;
    if day < today || day > last {
        return Err(Error::invalid("date", window));
    }
    Ok(day)
}

/// The spec `next` (a partner's change of `current`) with the contact's dispute and promise
/// carried over: a dispute is resolved (at `now`) when the invoice leaves `disputed`; a pending
/// promise is kept when the invoice becomes paid. Anything else leaves them as they were.
pub fn carried(current: &InvoiceSpec, mut next: InvoiceSpec, now: DateTime<Utc>) -> InvoiceSpec {
    next.dispute = current.dispute.clone();
    next.promise = current.promise.clone();
    if current.status == Status::Disputed
        && next.status != Status::Disputed
        && let Some(dispute) = &mut next.dispute
        && dispute.resolved_at.is_none()
    {
        dispute.resolved_at = Some(now);
    }
    if next.status == Status::Paid
        && let Some(promise) = &mut next.promise
        && promise.is_pending()
    {
        promise.status = PromiseStatus::Kept;
        promise.settled_at = Some(now);
    }
    next
}

#[cfg(test)]
mod tests {
    use super::super::{Dispute, Promise};
    use super::*;
    use crate::domain::Decimal2;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn spec(status: Status, dispute: Option<bool>, promise: Option<PromiseStatus>) -> InvoiceSpec {
        InvoiceSpec {
            number: "INV-1".into(),
            issue_date: d("2026-11-01"),
            due_date: d("2026-11-20"),
            amount: Decimal2(10000),
            currency: Some("NZD".into()),
            balance: Some(Decimal2(if status == Status::Paid { 0 } else { 10000 })),
            status,
            document_url: None,
            dispute: dispute.map(|resolved| Dispute {
                id: "d1".into(),
                reason: "Other".into(),
                comment: None,
                contact_id: "k1".into(),
                contact_name: "Ana".into(),
                raised_at: at("2026-11-21T09:00:00Z"),
                resolved_at: resolved.then(|| at("2026-11-22T09:00:00Z")),
            }),
            promise: promise.map(|status| Promise {
                date: d("2026-12-01"),
                contact_id: "k1".into(),
                contact_name: "Ana".into(),
                made_at: at("2026-11-21T09:00:00Z"),
                status,
                settled_at: None,
            }),
        }
    }

    #[test]
    fn only_an_open_invoice_is_disputed_and_only_one_without_a_pending_promise_promised() {
        use PromiseStatus::*;
        use Status::*;
        #[rustfmt::skip]
        let table: &[(&str, Status, Option<PromiseStatus>, bool, bool)] = &[
            // (reason, status, promise, may dispute, may promise)
            ("open", Open, None, true, true),
            ("open with a pending promise", Open, Some(Pending), true, false),
            ("open after a broken promise", Open, Some(Broken), true, true),
            ("open after a kept promise (reopened)", Open, Some(Kept), true, true),
            ("disputed", Disputed, None, false, false),
            ("paid", Paid, None, false, false),
            ("void", Void, None, false, false),
        ];
        for &(why, status, promise, dispute_ok, promise_ok) in table {
            let s = spec(status, None, promise);
            assert_eq!(may_dispute(&s).is_ok(), dispute_ok, "dispute: {why}");
            assert_eq!(may_promise(&s).is_ok(), promise_ok, "promise: {why}");
            for refused in [may_dispute(&s), may_promise(&s)]
                .into_iter()
                .flat_map(Result::err)
            {
                assert!(matches!(refused, Error::Conflict(_)), "{why}: {refused:?}");
            }
        }
    }

    #[test]
    fn a_reason_is_one_of_the_tenants_in_its_wording() {
        let allowed = crate::domain::portal::default_dispute_reasons();
        assert_eq!(reason(&allowed, "Already paid").unwrap(), "Already paid");
        assert_eq!(reason(&allowed, "  already PAID ").unwrap(), "Already paid");
        for bad in ["", "Paid", "Other reason"] {
            match reason(&allowed, bad) {
                Err(Error::Invalid { field, message }) => {
                    assert_eq!(field, "reason");
                    assert!(
                        message.contains("Goods or service not received"),
                        "{message}"
                    );
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_comment_is_optional_multi_line_and_at_most_two_thousand_characters() {
        /// (reason, given, expected: `None` when refused)
        type Row<'a> = (&'a str, Option<&'a str>, Option<Option<&'a str>>);
        #[rustfmt::skip]
        let table: &[Row<'_>] = &[
            // (reason, given, expected: None = refused)
            ("absent", None, Some(None)),
            ("blank", Some("  \n "), Some(None)),
            ("one line, trimmed", Some(" Paid on the 3rd "), Some(Some("Paid on the 3rd"))),
            ("several lines", Some("Paid on the 3rd.\r\nRef 42"), Some(Some("Paid on the 3rd.\nRef 42"))),
            ("a control character", Some("Paid\u{7}"), None),
            ("a bidirectional override", Some("Paid \u{202E}321"), None),
        ];
        for &(why, given, expected) in table {
            match (comment(given), expected) {
                (Ok(got), Some(want)) => assert_eq!(got.as_deref(), want, "{why}"),
                (Err(Error::Invalid { field, .. }), None) => assert_eq!(field, "comment", "{why}"),
                (got, _) => panic!("{why}: {got:?}"),
            }
        }
        assert!(comment(Some(&"x".repeat(MAX_COMMENT))).is_ok());
        assert!(comment(Some(&"x".repeat(MAX_COMMENT + 1))).is_err());
    }

    #[test]
    fn a_promised_date_is_from_today_to_the_tenants_limit() {
        let today = d("2026-11-20");
        #[rustfmt::skip]
        let table: &[(&str, &str, u32, Option<&str>)] = &[
            // (reason, given, max days, expected)
            ("today", "2026-11-20", 30, Some("2026-11-20")),
            ("tomorrow", "2026-11-21", 30, Some("2026-11-21")),
            ("the last day allowed", "2026-12-20", 30, Some("2026-12-20")),
            ("a day past the limit", "2026-12-21", 30, None),
            ("yesterday", "2026-11-19", 30, None),
            ("a shorter limit", "2026-11-28", 7, None),
            ("not a date", "next Friday", 30, None),
            ("another format", "21/11/2026", 30, None),
            ("blank", "", 30, None),
        ];
        for &(why, given, max, expected) in table {
            match (promise_date(today, max, given), expected) {
                (Ok(got), Some(want)) => assert_eq!(got, d(want), "{why}"),
                (Err(Error::Invalid { field, message }), None) => {
                    assert_eq!(field, "date", "{why}");
                    assert!(message.contains("from 2026-11-20"), "{why}: {message}");
                }
                (got, _) => panic!("{why}: {got:?}"),
            }
        }
    }

    #[test]
    fn a_partners_change_resolves_a_dispute_and_keeps_a_promise() {
        type Row = (
            &'static str,
            InvoiceSpec,
            Status,
            Option<bool>,
            Option<PromiseStatus>,
        );
        use PromiseStatus::*;
        use Status::*;
        let now = at("2026-11-25T10:00:00Z");
        #[rustfmt::skip]
        let table: &[Row] = &[
            // (reason, current, next status, expected dispute resolved, expected promise status)
            ("disputed to open resolves", spec(Disputed, Some(false), None), Open, Some(true), None),
            ("disputed to paid resolves", spec(Disputed, Some(false), None), Paid, Some(true), None),
            ("disputed to void resolves", spec(Disputed, Some(false), None), Void, Some(true), None),
            ("still disputed stays unresolved", spec(Disputed, Some(false), None), Disputed, Some(false), None),
            ("a resolved dispute stays as it was", spec(Open, Some(true), None), Disputed, Some(true), None),
            ("paid keeps a pending promise", spec(Open, None, Some(Pending)), Paid, None, Some(Kept)),
            ("open leaves it pending", spec(Open, None, Some(Pending)), Open, None, Some(Pending)),
            ("void leaves it pending", spec(Open, None, Some(Pending)), Void, None, Some(Pending)),
            ("a broken promise stays broken when paid", spec(Open, None, Some(Broken)), Paid, None, Some(Broken)),
        ];
        for (why, current, status, resolved, promise) in table {
            let mut partners = current.clone();
            partners.dispute = None;
            partners.promise = None;
            partners.status = *status;
            let next = carried(current, partners, now);
            let got_resolved = next.dispute.as_ref().map(|d| d.resolved_at.is_some());
            assert_eq!(got_resolved, *resolved, "{why}");
            if let Some(d) = &next.dispute
                && current
                    .dispute
                    .as_ref()
                    .is_some_and(|c| c.resolved_at.is_none())
                && d.resolved_at.is_some()
            {
                assert_eq!(d.resolved_at, Some(now), "{why}");
            }
            assert_eq!(next.promise.as_ref().map(|p| p.status), *promise, "{why}");
            if *promise == Some(Kept) {
                assert_eq!(
                    next.promise.as_ref().unwrap().settled_at,
                    Some(now),
                    "{why}"
                );
            }
        }
    }
}
