//! Presenting an invoice: the e-mail of a new open invoice to the client's contacts whose role
//! has invoice presentment, sent once (see [`super::deliver`]).

use super::super::deliver::{self, Audience, Message};
use super::super::log::{self, Kind};
use crate::Services;
use crate::domain::clients::{Channel, Client};
use crate::domain::roles::Purpose;
use crate::domain::tenants::Tenant;
use crate::domain::{Error, Result};
use crate::render::mail;

use super::{Invoice, Status};

/// E-mails an open invoice to the client's contacts with invoice presentment, each once.
/// What happens is logged by [`super::super::deliver`]: sent, failed (the provider refused it) or skipped
/// (nobody to send it to); only the store failing fails the caller, who may then retry.
pub(super) async fn present(
    svc: &Services,
    tenant: &Tenant,
    client: &Client,
    invoice: &Invoice,
) -> Result<()> {
    if invoice.spec.status != Status::Open {
        return Ok(());
    }
    let message = presentment(tenant, client, invoice);
    match deliver::deliver(
        svc,
        &tenant.id,
        client,
        &Audience::Purpose(Purpose::Invoice),
        Channel::Email,
        &message,
        &format!("invoice#{}", invoice.id),
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(e @ (Error::Store(_) | Error::Unavailable(..))) => Err(e),
        Err(e) => {
            tracing::warn!(client = %client.id, invoice = %invoice.id, error = %e, "invoice not presented");
            Ok(())
        }
    }
}

/// Presents an invoice met again by a retried create or import, if it is still as it was
/// created and its presentment never began (nothing logged for it).
pub(super) async fn finish_presentment(
    svc: &Services,
    tenant: &Tenant,
    client: &Client,
    invoice: &Invoice,
) -> Result<()> {
    if invoice.version != 1 || invoice.spec.status != Status::Open {
        return Ok(());
    }
    let (logged, _) = log::for_invoice(svc, &tenant.id, &client.id, &invoice.id, 1, None).await?;
    if logged.is_empty() {
        present(svc, tenant, client, invoice).await?;
    }
    Ok(())
}

/// The presentment e-mail of a new invoice.
pub fn presentment(tenant: &Tenant, client: &Client, invoice: &Invoice) -> Message {
    let spec = &invoice.spec;
    let mail = mail::invoice(&mail::Invoice {
        from: &tenant.spec.name,
        to: &client.spec.identity.display_name(),
        number: &spec.number,
        currency: spec.currency.as_deref().unwrap_or(&tenant.spec.currency),
        amount: spec.amount,
        balance: spec.balance.unwrap_or(spec.amount),
        issued: spec.issue_date,
        due: spec.due_date,
        document_url: spec.document_url.as_deref(),
    });
    Message {
        kind: Kind::Invoice,
        invoice_id: Some(invoice.id.clone()),
        step: None,
        subject: mail.subject,
        html: mail.html,
        text: mail.text,
    }
}
