//! `/v1/email-templates`: the tenant's wording of Customer Centre invite e-mails, and a
//! preview of one with example values.

use crate::extract::Path;
use axum::Json;
use axum::extract::State;
use clientwatch::Services;
use clientwatch::centre::templates::{self, Overrides, Rendered, TemplateSpec};
use clientwatch::domain::tenants::Scope;
use serde::Deserialize;

use crate::extract::{Auth, JsonBody};
use crate::problem::ApiError;

tenant_resource!(
    TemplateSpec,
    list: templates::list,
    create: templates::create,
    get: templates::get,
    update: templates::update,
    delete: templates::delete,
);

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
