//! `/v1/clients/{id}/opportunities`: a client's loan applications.

use clientwatch::Services;
use clientwatch::domain;
use clientwatch::domain::opportunities::{Opportunity, OpportunitySpec};
use clientwatch::flows;
use clientwatch::ports::Cursor;
use clientwatch::records;
use serde_json::Value;

use super::Routes;
use super::client_resource::{self, ClientResource};

pub fn router() -> Routes {
    Routes::new()
        .get(
            "/v1/clients/{id}/opportunities",
            client_resource::list::<Opportunities>,
        )
        .post(
            "/v1/clients/{id}/opportunities",
            client_resource::create::<Opportunities>,
        )
        .get(
            "/v1/clients/{id}/opportunities/{opportunity_id}",
            client_resource::get::<Opportunities>,
        )
        .patch(
            "/v1/clients/{id}/opportunities/{opportunity_id}",
            client_resource::update::<Opportunities>,
        )
        .delete(
            "/v1/clients/{id}/opportunities/{opportunity_id}",
            client_resource::delete::<Opportunities>,
        )
}

pub struct Opportunities;

impl ClientResource for Opportunities {
    type Spec = OpportunitySpec;

    async fn list(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        limit: usize,
        cursor: Option<Cursor>,
    ) -> domain::Result<(Vec<Opportunity>, Option<Cursor>)> {
        records::opportunities::list(svc.table.as_ref(), tenant_id, client_id, limit, cursor).await
    }

    async fn create(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        spec: OpportunitySpec,
    ) -> domain::Result<Opportunity> {
        flows::opportunities::create(svc, tenant_id, client_id, spec).await
    }

    async fn get(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        id: &str,
    ) -> domain::Result<Opportunity> {
        records::opportunities::get(svc.table.as_ref(), tenant_id, client_id, id).await
    }

    async fn update(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        id: &str,
        seen: u64,
        patch: &Value,
    ) -> domain::Result<Opportunity> {
        flows::opportunities::update(svc, tenant_id, client_id, id, seen, patch).await
    }

    async fn delete(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        id: &str,
        seen: u64,
    ) -> domain::Result<()> {
        records::opportunities::delete(svc, tenant_id, client_id, id, seen).await
    }
}
