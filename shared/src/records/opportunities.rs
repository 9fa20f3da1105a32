//! Opportunities in the table: read, listed and deleted under their client. Creating and
//! changing one checks its parties and questionnaires: [`crate::flows::opportunities`].

use super::{clients, resource};
use crate::Services;
use crate::domain::Result;
use crate::domain::opportunities::*;
use crate::keys;
use crate::ports::{Condition, Cursor, Table};

pub async fn get(
    table: &dyn Table,
    tenant_id: &str,
    client_id: &str,
    id: &str,
) -> Result<Opportunity> {
    resource::get(table, &keys::opportunity(tenant_id, client_id, id), WHAT).await
}

pub async fn list(
    table: &dyn Table,
    tenant_id: &str,
    client_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Opportunity>, Option<Cursor>)> {
    clients::list_children(
        table,
        tenant_id,
        client_id,
        keys::OPPORTUNITIES,
        limit,
        cursor,
    )
    .await
}

pub async fn delete(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    id: &str,
    seen: u64,
) -> Result<()> {
    get(svc.table.as_ref(), tenant_id, client_id, id).await?;
    svc.table
        .delete(
            &keys::opportunity(tenant_id, client_id, id),
            Condition::VersionIs(seen),
        )
        .await
        .map_err(resource::stale(WHAT))?;
    Ok(())
}
