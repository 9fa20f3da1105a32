//! Portfolios: groups of clients that share a collection workflow. A client's invoices follow
//! the client's own `workflow_id` when it has one, else its portfolio's, else none (no
//! reminders); the daily run ([`super::run`]) decides it per invoice.
//!
//! A portfolio is a tenant resource (`T#{t}` / `PF#{id}`) naming a workflow that must exist;
//! the workflow counts it as a user in the portfolio's own transaction, so the workflow cannot
//! be deleted under it. Clients in a portfolio are counted the same way (`PFUSE#{id}`), and a
//! portfolio with clients cannot be deleted.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::workflows::{self, Refused, User};
use crate::Services;
use crate::domain::resource::Resource;
use crate::domain::{Error, Result, text};
use crate::keys;
use crate::ports::{Condition, Cursor, Transaction, TxOp, Update};
use crate::records::resource;

pub const WHAT: &str = "portfolio";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioSpec {
    pub name: String,
    /// The workflow of the portfolio's clients (those without one of their own).
    pub workflow_id: String,
}

pub type Portfolio = Resource<PortfolioSpec>;

impl PortfolioSpec {
    fn checked(mut self) -> Result<Self> {
        self.name = text("name", &self.name, 200)?;
        Ok(self)
    }
}

/// The operations that move a client from portfolio `old` to `new`, for the client's own
/// transaction: the new portfolio must still exist (the first operation, when `new` is set),
/// and the counts move. Nothing when they are the same.
pub fn reference_ops(
    tx: &mut Transaction<Error>,
    tenant_id: &str,
    old: Option<&str>,
    new: Option<&str>,
) {
    if old == new {
        return;
    }
    if let Some(new) = new {
        tx.guarded(
            TxOp::Check(keys::portfolio(tenant_id, new), Condition::Exists),
            Error::invalid("portfolio_id", "the portfolio was deleted meanwhile"),
        )
        .op(TxOp::Update(
            keys::portfolio_usage(tenant_id, new),
            Update::default().add("clients", 1),
        ));
    }
    if let Some(old) = old {
        tx.op(TxOp::Update(
            keys::portfolio_usage(tenant_id, old),
            Update::default().add("clients", -1),
        ));
    }
}

/// Refuses `id` (named `field`) unless it is a portfolio of the tenant.
pub async fn ensure_exists(svc: &Services, tenant_id: &str, id: &str, field: &str) -> Result<()> {
    match get(svc, tenant_id, id).await {
        Ok(_) => Ok(()),
        Err(Error::NotFound(_)) => Err(Error::invalid(field, "there is no portfolio with this id")),
        Err(e) => Err(e),
    }
}

pub async fn create(svc: &Services, tenant_id: &str, spec: PortfolioSpec) -> Result<Portfolio> {
    let spec = spec.checked()?;
    workflows::ensure_exists(svc, tenant_id, &spec.workflow_id, "workflow_id").await?;
    let portfolio = Resource::new(svc, spec);
    let mut tx = Transaction::new();
    tx.op(TxOp::Put(
        portfolio.item(keys::portfolio(tenant_id, &portfolio.id))?,
        Condition::Absent,
    ));
    workflows::reference_ops(
        &mut tx,
        tenant_id,
        User::Portfolio,
        None,
        Some(&portfolio.spec.workflow_id),
        workflows::deleted_meanwhile,
    );
    tx.commit(svc.table.as_ref()).await?;
    Ok(portfolio)
}

pub async fn get(svc: &Services, tenant_id: &str, id: &str) -> Result<Portfolio> {
    resource::get(svc.table.as_ref(), &keys::portfolio(tenant_id, id), WHAT).await
}

pub async fn list(
    svc: &Services,
    tenant_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Portfolio>, Option<Cursor>)> {
    resource::list_of_tenant(
        svc.table.as_ref(),
        tenant_id,
        keys::PORTFOLIOS,
        limit,
        cursor,
    )
    .await
}

/// Changes a portfolio by a merge patch, if it is still at version `seen`. A new workflow
/// applies from the next run; its clients' invoices keep the steps they have done.
pub async fn update(
    svc: &Services,
    tenant_id: &str,
    id: &str,
    seen: u64,
    patch: &Value,
) -> Result<Portfolio> {
    let current = get(svc, tenant_id, id).await?;
    let spec = crate::domain::resource::patched(&current.spec, patch)?.checked()?;
    let (old, new) = (&current.spec.workflow_id, &spec.workflow_id);
    if old != new {
        workflows::ensure_exists(svc, tenant_id, new, "workflow_id").await?;
    }
    let next = resource::changed(svc, &current, spec);
    let mut tx = Transaction::new();
    tx.guarded(
        resource::replace_op(keys::portfolio(tenant_id, id), &next, seen)?,
        Error::Stale(WHAT),
    );
    workflows::reference_ops(
        &mut tx,
        tenant_id,
        User::Portfolio,
        Some(&current.spec.workflow_id),
        Some(&next.spec.workflow_id),
        workflows::deleted_meanwhile,
    );
    tx.commit(svc.table.as_ref()).await?;
    Ok(next)
}

/// Deletes a portfolio that no client is in.
pub async fn delete(svc: &Services, tenant_id: &str, id: &str, seen: u64) -> Result<()> {
    let current = get(svc, tenant_id, id).await?;
    let mut tx = Transaction::new();
    tx.guarded(
        TxOp::Delete(keys::portfolio(tenant_id, id), Condition::VersionIs(seen)),
        Refused::Stale,
    )
    .guarded(
        TxOp::Delete(
            keys::portfolio_usage(tenant_id, id),
            Condition::Below("clients".into(), 1),
        ),
        Refused::InUse,
    );
    workflows::reference_ops(
        &mut tx,
        tenant_id,
        User::Portfolio,
        Some(&current.spec.workflow_id),
        None,
        || Refused::InUse,
    );
    match tx.try_commit(svc.table.as_ref()).await? {
        Ok(()) => Ok(()),
        Err(Refused::Stale) => Err(Error::Stale(WHAT)),
        Err(Refused::InUse) => {
            let usage = svc.table.get(&keys::portfolio_usage(tenant_id, id)).await?;
            let clients = usage
                .and_then(|u| u.data.get("clients").and_then(Value::as_i64))
                .unwrap_or(0);
            Err(Error::Conflict(format!(
                "{clients} client(s) are in this portfolio; move them to another first"
            )))
        }
    }
}
