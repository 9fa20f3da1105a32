//! Contact roles: who of a client's contacts receives what. *Invoice presentment* means invoice
//! e-mails; *communication* means reminders, workflow reminders and statements, and being
//! invitable to the Customer Centre. A tenant has at most 30 roles, two of them built in
//! (`Company Contact` and `Primary Contact`, both with communication), which account syncs use.
//!
//! The cap holds under concurrent creation: a counter item with a capped increment is written in
//! the same transaction as the role. Names are unique per tenant (case-insensitive) through a
//! guard item, and a role in use by contacts cannot be deleted (a per-role usage counter).

use super::resource;
use crate::Services;
use crate::domain::resource::Resource;
use crate::domain::roles::*;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::{Condition, Cursor, Table, Transaction, TxOp, Update};

/// The operations that write a new role and claim its name.
fn role_ops(tenant_id: &str, role: &Role) -> Result<Vec<TxOp>> {
    Ok(vec![
        TxOp::Put(
            crate::ports::Item::new(
                keys::role_name(tenant_id, &role.spec.name),
                Default::default(),
            ),
            Condition::Absent,
        ),
        TxOp::Put(
            role.item(keys::role(tenant_id, &role.id))?,
            Condition::Absent,
        ),
    ])
}

fn name_taken(name: &str) -> Error {
    Error::Conflict(format!("a contact role named {name:?} already exists"))
}

/// Counts `n` more roles; with `capped`, only while the tenant stays within the cap.
fn count_op(tenant_id: &str, n: i64, capped: bool) -> TxOp {
    let update = Update::default().add("roles", n);
    let update = if capped {
        update.when(Condition::Below("roles".into(), MAX_ROLES - n + 1))
    } else {
        update
    };
    TxOp::Update(keys::role_count(tenant_id), update)
}

/// The built-in roles, created with a new tenant.
pub fn builtin_ops(svc: &Services, tenant_id: &str) -> Result<Vec<TxOp>> {
    let mut ops = vec![count_op(tenant_id, 2, false)];
    for (id, name) in [
        (COMPANY_CONTACT, "Company Contact"),
        (PRIMARY_CONTACT, "Primary Contact"),
    ] {
        let spec = RoleSpec {
            name: name.into(),
            invoice_presentment: false,
            communication: true,
        };
        let role = Resource {
            id: id.into(),
            ..Resource::new(svc, spec)
        };
        ops.extend(role_ops(tenant_id, &role)?);
    }
    Ok(ops)
}

pub async fn create(svc: &Services, tenant_id: &str, spec: RoleSpec) -> Result<Role> {
    let role = Resource::new(svc, spec.checked()?);
    let mut tx = Transaction::new();
    tx.guarded(
        count_op(tenant_id, 1, true),
        Error::Conflict(format!(
            "a tenant has at most {MAX_ROLES} contact roles; delete one to add another"
        )),
    )
    .ops(role_ops(tenant_id, &role)?)
    .otherwise(name_taken(&role.spec.name));
    tx.commit(svc.table.as_ref()).await?;
    Ok(role)
}

pub async fn get(table: &dyn Table, tenant_id: &str, role_id: &str) -> Result<Role> {
    resource::get(table, &keys::role(tenant_id, role_id), WHAT).await
}

pub async fn list(
    table: &dyn Table,
    tenant_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Role>, Option<Cursor>)> {
    resource::list_of_tenant(table, tenant_id, keys::ROLES, limit, cursor).await
}

/// All of a tenant's roles (at most 30), for deciding recipients.
pub async fn all(table: &dyn Table, tenant_id: &str) -> Result<Vec<Role>> {
    Ok(list(table, tenant_id, MAX_ROLES as usize, None).await?.0)
}

/// Changes a role by a merge patch, if it is still at version `seen`.
pub async fn update(
    svc: &Services,
    tenant_id: &str,
    role_id: &str,
    seen: u64,
    patch: &serde_json::Value,
) -> Result<Role> {
    let current = get(svc.table.as_ref(), tenant_id, role_id).await?;
    let spec = crate::domain::resource::patched(&current.spec, patch)?.checked()?;
    let next = resource::changed(svc, &current, spec);
    let mut tx = Transaction::new();
    tx.guarded(
        resource::replace_op(keys::role(tenant_id, role_id), &next, seen)?,
        Error::Stale(WHAT),
    );
    let (old, new) = (
        current.spec.name.to_lowercase(),
        next.spec.name.to_lowercase(),
    );
    if old != new {
        tx.op(TxOp::Delete(
            keys::role_name(tenant_id, &old),
            Condition::None,
        ))
        .guarded(
            TxOp::Put(
                crate::ports::Item::new(keys::role_name(tenant_id, &new), Default::default()),
                Condition::Absent,
            ),
            name_taken(&next.spec.name),
        );
    }
    tx.commit(svc.table.as_ref()).await?;
    Ok(next)
}

pub async fn delete(svc: &Services, tenant_id: &str, role_id: &str, seen: u64) -> Result<()> {
    if role_id == COMPANY_CONTACT || role_id == PRIMARY_CONTACT {
        return Err(Error::Conflict(
            "the built-in roles are the defaults of account syncs and cannot be deleted".into(),
        ));
    }
    let current = get(svc.table.as_ref(), tenant_id, role_id).await?;
    let mut tx = Transaction::new();
    tx.guarded(
        TxOp::Delete(keys::role(tenant_id, role_id), Condition::VersionIs(seen)),
        Error::Stale(WHAT),
    )
    .guarded(
        TxOp::Delete(
            keys::role_usage(tenant_id, role_id),
            Condition::Below("contacts".into(), 1),
        ),
        Error::Conflict("contacts still have this role; give them another role first".into()),
    )
    .op(TxOp::Delete(
        keys::role_name(tenant_id, &current.spec.name),
        Condition::None,
    ))
    .op(count_op(tenant_id, -1, false));
    tx.commit(svc.table.as_ref()).await
}
