//! `/v1/clients`: clients with their identity, addresses, references and profile sections.

use clientwatch::Services;
use clientwatch::domain;
use clientwatch::domain::clients::{Client, ClientSpec};
use clientwatch::flows;
use clientwatch::ports::Cursor;
use clientwatch::records;
use serde_json::Value;

use super::Routes;
use super::tenant_resource::{self, TenantResource};

pub fn router() -> Routes {
    Routes::new()
        .get("/v1/clients", tenant_resource::list::<Clients>)
        .post("/v1/clients", tenant_resource::create::<Clients>)
        .get("/v1/clients/{id}", tenant_resource::get::<Clients>)
        .patch("/v1/clients/{id}", tenant_resource::update::<Clients>)
        .delete("/v1/clients/{id}", tenant_resource::delete::<Clients>)
}

pub struct Clients;

impl TenantResource for Clients {
    type Spec = ClientSpec;

    async fn list(
        svc: &Services,
        tenant_id: &str,
        limit: usize,
        cursor: Option<Cursor>,
    ) -> domain::Result<(Vec<Client>, Option<Cursor>)> {
        records::clients::list(svc.table.as_ref(), tenant_id, limit, cursor).await
    }

    async fn create(svc: &Services, tenant_id: &str, spec: ClientSpec) -> domain::Result<Client> {
        flows::clients::create(svc, tenant_id, spec).await
    }

    async fn get(svc: &Services, tenant_id: &str, id: &str) -> domain::Result<Client> {
        records::clients::get(svc.table.as_ref(), tenant_id, id).await
    }

    async fn update(
        svc: &Services,
        tenant_id: &str,
        id: &str,
        seen: u64,
        patch: &Value,
    ) -> domain::Result<Client> {
        flows::clients::update(svc, tenant_id, id, seen, patch).await
    }

    async fn delete(svc: &Services, tenant_id: &str, id: &str, seen: u64) -> domain::Result<()> {
        flows::clients::delete(svc, tenant_id, id, seen).await
    }
}
