//! `/v1/client-types`: individual or company, and whether its clients may be monitored.

use clientwatch::Services;
use clientwatch::domain;
use clientwatch::domain::clients::{ClientType, ClientTypeSpec};
use clientwatch::ports::Cursor;
use clientwatch::records;
use serde_json::Value;

use super::Routes;
use super::tenant_resource::{self, TenantResource};

pub fn router() -> Routes {
    Routes::new()
        .get("/v1/client-types", tenant_resource::list::<ClientTypes>)
        .post("/v1/client-types", tenant_resource::create::<ClientTypes>)
        .get("/v1/client-types/{id}", tenant_resource::get::<ClientTypes>)
        .patch(
            "/v1/client-types/{id}",
            tenant_resource::update::<ClientTypes>,
        )
        .delete(
            "/v1/client-types/{id}",
            tenant_resource::delete::<ClientTypes>,
        )
}

pub struct ClientTypes;

impl TenantResource for ClientTypes {
    type Spec = ClientTypeSpec;

    async fn list(
        svc: &Services,
        tenant_id: &str,
        limit: usize,
        cursor: Option<Cursor>,
    ) -> domain::Result<(Vec<ClientType>, Option<Cursor>)> {
        records::clients::list_types(svc.table.as_ref(), tenant_id, limit, cursor).await
    }

    async fn create(
        svc: &Services,
        tenant_id: &str,
        spec: ClientTypeSpec,
    ) -> domain::Result<ClientType> {
        records::clients::create_type(svc, tenant_id, spec).await
    }

    async fn get(svc: &Services, tenant_id: &str, id: &str) -> domain::Result<ClientType> {
        records::clients::get_type(svc.table.as_ref(), tenant_id, id).await
    }

    async fn update(
        svc: &Services,
        tenant_id: &str,
        id: &str,
        seen: u64,
        patch: &Value,
    ) -> domain::Result<ClientType> {
        records::clients::update_type(svc, tenant_id, id, seen, patch).await
    }

    async fn delete(svc: &Services, tenant_id: &str, id: &str, seen: u64) -> domain::Result<()> {
        records::clients::delete_type(svc, tenant_id, id, seen).await
    }
}
