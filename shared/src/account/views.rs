//! What the account pages show, always for the visit's own tenant and client (read from the
//! session, never from the request): the account's key figures, its invoices, one invoice, and
//! the messages sent to this contact. The figures are a pure function of the invoices
//! ([`summarise`]), table-tested.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::signin::AccountVisit;
use crate::Services;
use crate::comms::invoices::{self, Invoice, Status};
use crate::comms::log::{self, Entry, Outcome};
use crate::domain::{Error, Result};

/// How an invoice stands for the contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Open,
    Overdue,
    Disputed,
    Paid,
}

impl Standing {
    /// The class suffix and the word shown.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Standing::Open => ("open", "Open"),
            Standing::Overdue => ("overdue", "Overdue"),
            Standing::Disputed => ("disputed", "Disputed"),
            Standing::Paid => ("paid", "Paid"),
        }
    }
}

/// One invoice as the contact sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub id: String,
    pub number: String,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub currency: String,
    /// Hundredths.
    pub amount: i64,
    pub balance: i64,
    pub standing: Standing,
    pub document_url: Option<String>,
    /// "Pay now", from the tenant's payment URL, for what is still owed.
    pub pay_url: Option<String>,
    /// When the invoice last changed (for a paid one: when it was marked paid).
    pub changed_at: DateTime<Utc>,
}

/// The account's key figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Balances of open and disputed invoices, per currency (hundredths).
    pub owed: BTreeMap<String, i64>,
    /// Balances of open invoices past their due date, per currency.
    pub overdue: BTreeMap<String, i64>,
    /// The earliest due date of an open invoice not yet overdue.
    pub next_due: Option<NaiveDate>,
    pub open_count: usize,
}

/// Which invoices the list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Show {
    /// Open and disputed.
    Open,
    /// Paid in the last twelve months.
    Paid,
}

/// How far back paid invoices are listed.
pub const PAID_DAYS: i64 = 365;

fn line(visit: &AccountVisit, invoice: &Invoice, today: NaiveDate) -> Option<Line> {
    let spec = &invoice.spec;
    let currency = spec
        .currency
        .clone()
        .unwrap_or_else(|| visit.tenant_currency.clone());
    let balance = match spec.status {
        Status::Paid => 0,
        _ => spec.balance.unwrap_or(spec.amount).hundredths(),
    };
    let standing = match spec.status {
        Status::Void => return None,
        Status::Paid => Standing::Paid,
        Status::Disputed => Standing::Disputed,
        Status::Open if spec.due_date < today => Standing::Overdue,
        Status::Open => Standing::Open,
    };
    let pay_url = (standing != Standing::Paid && balance > 0)
        .then(|| {
            visit.portal.payment_link(|tag| match tag {
                "invoice_number" => spec.number.clone(),
                "invoice_id" => invoice.id.clone(),
                "client_id" => visit.holder.client_id.clone(),
                "balance" => crate::domain::Decimal2(balance).to_string(),
                "currency" => currency.clone(),
                _ => String::new(),
            })
        })
        .flatten();
    Some(Line {
        id: invoice.id.clone(),
        number: spec.number.clone(),
        issue_date: spec.issue_date,
        due_date: spec.due_date,
        currency,
        amount: spec.amount.hundredths(),
        balance,
        standing,
        document_url: spec.document_url.clone(),
        pay_url,
        changed_at: invoice.updated_at,
    })
}

/// The key figures of the lines (pure).
pub fn summarise(lines: &[Line]) -> Summary {
    let mut summary = Summary::default();
    for l in lines {
        match l.standing {
            Standing::Paid => {}
            Standing::Open | Standing::Overdue | Standing::Disputed => {
                *summary.owed.entry(l.currency.clone()).or_default() += l.balance;
            }
        }
        match l.standing {
            Standing::Overdue => {
                *summary.overdue.entry(l.currency.clone()).or_default() += l.balance;
                summary.open_count += 1;
            }
            Standing::Open => {
                summary.open_count += 1;
                summary.next_due = Some(match summary.next_due {
                    Some(d) => d.min(l.due_date),
                    None => l.due_date,
                });
            }
            Standing::Disputed | Standing::Paid => {}
        }
    }
    summary
}

/// Today in the tenant's time zone.
pub fn today(svc: &Services, visit: &AccountVisit) -> NaiveDate {
    invoices::answers::local_day(&visit.time_zone, svc.clock.now())
}

/// Every invoice of the visit's client as lines (void ones left out), by due date.
pub async fn lines(svc: &Services, visit: &AccountVisit) -> Result<Vec<Line>> {
    let today = today(svc, visit);
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = invoices::list(
            svc,
            &visit.holder.tenant_id,
            &visit.holder.client_id,
            100,
            cursor,
        )
        .await?;
        out.extend(page.iter().filter_map(|i| line(visit, i, today)));
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    out.sort_by(|a, b| (a.due_date, &a.number).cmp(&(b.due_date, &b.number)));
    Ok(out)
}

/// The account's key figures.
pub async fn summary(svc: &Services, visit: &AccountVisit) -> Result<Summary> {
    Ok(summarise(&lines(svc, visit).await?))
}

/// The invoices to list: open and disputed, or paid in the last twelve months (by when the
/// invoice last changed, which for a paid invoice is when it was marked paid).
pub async fn list(svc: &Services, visit: &AccountVisit, show: Show) -> Result<Vec<Line>> {
    let since = svc.clock.now() - Duration::days(PAID_DAYS);
    let mut out: Vec<Line> = lines(svc, visit)
        .await?
        .into_iter()
        .filter(|l| match show {
            Show::Open => l.standing != Standing::Paid,
            Show::Paid => l.standing == Standing::Paid && l.changed_at >= since,
        })
        .collect();
    // `lines` is by due date; paid invoices read newest first.
    if show == Show::Paid {
        out.reverse();
    }
    Ok(out)
}

/// One invoice of the visit's client; `None` for an id that is not one of them (another
/// client's or tenant's included: they are never read), or a void one.
pub async fn invoice(svc: &Services, visit: &AccountVisit, id: &str) -> Result<Option<Line>> {
    if crate::domain::input::id("invoice_id", id).is_err() {
        return Ok(None);
    }
    match invoices::get(svc, &visit.holder.tenant_id, &visit.holder.client_id, id).await {
        Ok(invoice) => Ok(line(visit, &invoice, today(svc, visit))),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The messages sent to this contact (reminders, escalations, statements, invoice e-mails),
/// newest first; at most `limit`.
pub async fn messages(svc: &Services, visit: &AccountVisit, limit: usize) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = log::for_client(
            svc,
            &visit.holder.tenant_id,
            &visit.holder.client_id,
            100,
            cursor,
        )
        .await?;
        out.extend(page.into_iter().filter(|e| {
            e.contact_id.as_deref() == Some(visit.holder.contact_id.as_str())
                && e.outcome == Outcome::Sent
        }));
        if out.len() >= limit {
            out.truncate(limit);
            break;
        }
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn l(currency: &str, balance: i64, due: &str, standing: Standing) -> Line {
        Line {
            id: "i".into(),
            number: "N".into(),
            issue_date: d("2026-10-01"),
            due_date: d(due),
            currency: currency.into(),
            amount: balance,
            balance,
            standing,
            document_url: None,
            pay_url: None,
            changed_at: DateTime::UNIX_EPOCH,
        }
    }

    /// (reason, lines, owed, overdue, next due)
    type Case = (
        &'static str,
        Vec<Line>,
        &'static [(&'static str, i64)],
        &'static [(&'static str, i64)],
        Option<&'static str>,
    );

    #[test]
    fn the_account_owes_open_and_disputed_balances_per_currency() {
        use Standing::*;
        #[rustfmt::skip]
        let table: Vec<Case> = vec![
            ("nothing", vec![], &[], &[], None),
            ("one open", vec![l("NZD", 125_000, "2026-12-20", Open)], &[("NZD", 125_000)], &[], Some("2026-12-20")),
            ("paid owes nothing", vec![l("NZD", 0, "2026-11-01", Paid)], &[], &[], None),
            ("disputed is owed, not overdue, not next",
                vec![l("NZD", 500, "2026-11-01", Disputed), l("NZD", 100, "2026-12-24", Open)],
                &[("NZD", 600)], &[], Some("2026-12-24")),
            ("overdue counts in both, next due is the earliest not overdue",
                vec![l("NZD", 700, "2026-11-01", Overdue), l("NZD", 100, "2027-01-10", Open), l("NZD", 100, "2026-12-24", Open)],
                &[("NZD", 900)], &[("NZD", 700)], Some("2026-12-24")),
            ("per currency", vec![l("NZD", 100, "2026-11-01", Overdue), l("AUD", 250, "2026-12-24", Open)],
                &[("AUD", 250), ("NZD", 100)], &[("NZD", 100)], Some("2026-12-24")),
        ];
        for (reason, lines, owed, overdue, next) in table {
            let s = summarise(&lines);
            let as_map = |pairs: &[(&str, i64)]| -> BTreeMap<String, i64> {
                pairs.iter().map(|(c, v)| (c.to_string(), *v)).collect()
            };
            assert_eq!(s.owed, as_map(owed), "{reason}: owed");
            assert_eq!(s.overdue, as_map(overdue), "{reason}: overdue");
            assert_eq!(s.next_due, next.map(d), "{reason}: next due");
        }
    }
}
