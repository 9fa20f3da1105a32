//! What a signed-in contact may do about one of the client's invoices: dispute it, or promise
//! to pay it by a date. Both act as the session's own contact on the session's own client
//! (never on ids from the request beyond the invoice's), through the communications feature's
//! answers ([`crate::comms::invoices::answers`]): one transaction with the log entry and the
//! event, rules and refusals as there.

use chrono::NaiveDate;

use super::signin::AccountVisit;
use crate::Services;
use crate::comms::invoices::{Invoice, answers};
use crate::domain::portal::ContactRef;
use crate::domain::{Error, Result};

fn by(visit: &AccountVisit) -> ContactRef {
    ContactRef {
        tenant_id: visit.holder.tenant_id.clone(),
        client_id: visit.holder.client_id.clone(),
        contact_id: visit.holder.contact_id.clone(),
        contact_name: visit.contact_name.clone(),
    }
}

/// An id that cannot be an invoice's is the same as another client's: not found.
fn invoice_id(id: &str) -> Result<&str> {
    crate::domain::input::id("invoice_id", id).map_err(|_| Error::NotFound(super::views::WHAT))?;
    Ok(id)
}

/// The contact disputes the invoice for `reason` (one of the tenant's), with an optional
/// `comment`.
pub async fn dispute(
    svc: &Services,
    visit: &AccountVisit,
    id: &str,
    reason: &str,
    comment: Option<&str>,
) -> Result<Invoice> {
    answers::dispute(svc, &by(visit), invoice_id(id)?, reason, comment).await
}

/// The contact promises to pay the invoice by `date` (`YYYY-MM-DD`).
pub async fn promise(
    svc: &Services,
    visit: &AccountVisit,
    id: &str,
    date: &str,
) -> Result<Invoice> {
    answers::promise(svc, &by(visit), invoice_id(id)?, date).await
}

/// The days a promise made now may name, first to last.
pub async fn promise_days(svc: &Services, visit: &AccountVisit) -> Result<Vec<NaiveDate>> {
    let (first, last) = answers::promise_window(svc, &visit.holder.tenant_id).await?;
    Ok(first.iter_days().take_while(|d| *d <= last).collect())
}
