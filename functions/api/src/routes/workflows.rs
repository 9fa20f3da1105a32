//! `/v1/workflows`: the tenant's collection workflows, the steps the daily communications run
//! takes an open invoice through.

use clientwatch::Services;
use clientwatch::comms::workflows::{self, Workflow, WorkflowSpec};
use clientwatch::domain;
use clientwatch::ports::Cursor;
use serde_json::Value;

use super::Routes;
use super::tenant_resource::{self, TenantResource};

pub fn router() -> Routes {
    Routes::new()
        .get("/v1/workflows", tenant_resource::list::<Workflows>)
        .post("/v1/workflows", tenant_resource::create::<Workflows>)
        .get("/v1/workflows/{id}", tenant_resource::get::<Workflows>)
        .patch("/v1/workflows/{id}", tenant_resource::update::<Workflows>)
        .delete("/v1/workflows/{id}", tenant_resource::delete::<Workflows>)
}

pub struct Workflows;

impl TenantResource for Workflows {
    type Spec = WorkflowSpec;

    async fn list(
        svc: &Services,
        tenant_id: &str,
        limit: usize,
        cursor: Option<Cursor>,
    ) -> domain::Result<(Vec<Workflow>, Option<Cursor>)> {
        workflows::list(svc, tenant_id, limit, cursor).await
    }

    async fn create(
        svc: &Services,
        tenant_id: &str,
        spec: WorkflowSpec,
    ) -> domain::Result<Workflow> {
        workflows::create(svc, tenant_id, spec).await
    }

    async fn get(svc: &Services, tenant_id: &str, id: &str) -> domain::Result<Workflow> {
        workflows::get(svc, tenant_id, id).await
    }

    async fn update(
        svc: &Services,
        tenant_id: &str,
        id: &str,
        seen: u64,
        patch: &Value,
    ) -> domain::Result<Workflow> {
        workflows::update(svc, tenant_id, id, seen, patch).await
    }

    async fn delete(svc: &Services, tenant_id: &str, id: &str, seen: u64) -> domain::Result<()> {
        workflows::delete(svc, tenant_id, id, seen).await
    }
}
