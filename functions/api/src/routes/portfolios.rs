//! `/v1/portfolios`: groups of clients that share a collection workflow.

use clientwatch::Services;
use clientwatch::comms::portfolios::{self, Portfolio, PortfolioSpec};
use clientwatch::domain;
use clientwatch::ports::Cursor;
use serde_json::Value;

use super::Routes;
use super::tenant_resource::{self, TenantResource};

pub fn router() -> Routes {
    Routes::new()
        .get("/v1/portfolios", tenant_resource::list::<Portfolios>)
        .post("/v1/portfolios", tenant_resource::create::<Portfolios>)
        .get("/v1/portfolios/{id}", tenant_resource::get::<Portfolios>)
        .patch("/v1/portfolios/{id}", tenant_resource::update::<Portfolios>)
        .delete("/v1/portfolios/{id}", tenant_resource::delete::<Portfolios>)
}

pub struct Portfolios;

impl TenantResource for Portfolios {
    type Spec = PortfolioSpec;

    async fn list(
        svc: &Services,
        tenant_id: &str,
        limit: usize,
        cursor: Option<Cursor>,
    ) -> domain::Result<(Vec<Portfolio>, Option<Cursor>)> {
        portfolios::list(svc, tenant_id, limit, cursor).await
    }

    async fn create(
        svc: &Services,
        tenant_id: &str,
        spec: PortfolioSpec,
    ) -> domain::Result<Portfolio> {
        portfolios::create(svc, tenant_id, spec).await
    }

    async fn get(svc: &Services, tenant_id: &str, id: &str) -> domain::Result<Portfolio> {
        portfolios::get(svc, tenant_id, id).await
    }

    async fn update(
        svc: &Services,
        tenant_id: &str,
        id: &str,
        seen: u64,
        patch: &Value,
    ) -> domain::Result<Portfolio> {
        portfolios::update(svc, tenant_id, id, seen, patch).await
    }

    async fn delete(svc: &Services, tenant_id: &str, id: &str, seen: u64) -> domain::Result<()> {
        portfolios::delete(svc, tenant_id, id, seen).await
    }
}
