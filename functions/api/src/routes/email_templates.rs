//! `/v1/email-templates`: the tenant's wording of Customer Centre invite e-mails, and a
//! preview of one with example values.

use axum::Json;
use axum::extract::State;
use clientwatch::Services;
use clientwatch::centre::templates::{self, Overrides, Rendered, Template, TemplateSpec};
use clientwatch::domain;
use clientwatch::domain::tenants::Scope;
use clientwatch::ports::Cursor;
use serde::Deserialize;
use serde_json::Value;

use super::Routes;
use super::tenant_resource::{self, TenantResource};
use crate::extract::{Auth, JsonBody, Path};
use crate::problem::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get("/v1/email-templates", tenant_resource::list::<Templates>)
        .post("/v1/email-templates", tenant_resource::create::<Templates>)
        .get(
            "/v1/email-templates/{id}",
            tenant_resource::get::<Templates>,
        )
        .patch(
            "/v1/email-templates/{id}",
            tenant_resource::update::<Templates>,
        )
        .delete(
            "/v1/email-templates/{id}",
            tenant_resource::delete::<Templates>,
        )
        .post("/v1/email-templates/{id}/preview", preview)
}

pub struct Templates;

impl TenantResource for Templates {
    type Spec = TemplateSpec;

    async fn list(
        svc: &Services,
        tenant_id: &str,
        limit: usize,
        cursor: Option<Cursor>,
    ) -> domain::Result<(Vec<Template>, Option<Cursor>)> {
        templates::list(svc, tenant_id, limit, cursor).await
    }

    async fn create(
        svc: &Services,
        tenant_id: &str,
        spec: TemplateSpec,
    ) -> domain::Result<Template> {
        templates::create(svc, tenant_id, spec).await
    }

    async fn get(svc: &Services, tenant_id: &str, id: &str) -> domain::Result<Template> {
        templates::get(svc, tenant_id, id).await
    }

    async fn update(
        svc: &Services,
        tenant_id: &str,
        id: &str,
        seen: u64,
        patch: &Value,
    ) -> domain::Result<Template> {
        templates::update(svc, tenant_id, id, seen, patch).await
    }

    async fn delete(svc: &Services, tenant_id: &str, id: &str, seen: u64) -> domain::Result<()> {
        templates::delete(svc, tenant_id, id, seen).await
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    #[serde(default)]
    overrides: Overrides,
}

/// The template rendered with example values (and the overrides an invite would send); it
/// changes nothing, so `read` is enough.
pub async fn preview(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<PreviewRequest>,
) -> Result<Json<Rendered>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let rendered = templates::preview(&svc, &caller.tenant_id, &id, &request.overrides).await?;
    Ok(Json(rendered))
}
