//! `/v1/contact-roles`: the roles that decide who of a client's contacts receives invoices,
//! reminders and statements.

use clientwatch::Services;
use clientwatch::domain;
use clientwatch::domain::roles::{Role, RoleSpec};
use clientwatch::ports::Cursor;
use clientwatch::records;
use serde_json::Value;

use super::Routes;
use super::tenant_resource::{self, TenantResource};

pub fn router() -> Routes {
    Routes::new()
        .get("/v1/contact-roles", tenant_resource::list::<Roles>)
        .post("/v1/contact-roles", tenant_resource::create::<Roles>)
        .get("/v1/contact-roles/{id}", tenant_resource::get::<Roles>)
        .patch("/v1/contact-roles/{id}", tenant_resource::update::<Roles>)
        .delete("/v1/contact-roles/{id}", tenant_resource::delete::<Roles>)
}

pub struct Roles;

impl TenantResource for Roles {
    type Spec = RoleSpec;

    async fn list(
        svc: &Services,
        tenant_id: &str,
        limit: usize,
        cursor: Option<Cursor>,
    ) -> domain::Result<(Vec<Role>, Option<Cursor>)> {
        records::roles::list(svc.table.as_ref(), tenant_id, limit, cursor).await
    }

    async fn create(svc: &Services, tenant_id: &str, spec: RoleSpec) -> domain::Result<Role> {
        records::roles::create(svc, tenant_id, spec).await
    }

    async fn get(svc: &Services, tenant_id: &str, id: &str) -> domain::Result<Role> {
        records::roles::get(svc.table.as_ref(), tenant_id, id).await
    }

    async fn update(
        svc: &Services,
        tenant_id: &str,
        id: &str,
        seen: u64,
        patch: &Value,
    ) -> domain::Result<Role> {
        records::roles::update(svc, tenant_id, id, seen, patch).await
    }

    async fn delete(svc: &Services, tenant_id: &str, id: &str, seen: u64) -> domain::Result<()> {
        records::roles::delete(svc, tenant_id, id, seen).await
    }
}
