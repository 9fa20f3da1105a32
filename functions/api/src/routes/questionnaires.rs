//! `/v1/questionnaires`: the tenant's questionnaire definitions; and what applicants did with
//! them in the Customer Centre: an opportunity's answers and its audit trail.

use axum::extract::State;
use clientwatch::Services;
use clientwatch::centre::audit;
use clientwatch::centre::questionnaires::{self, Answers, Questionnaire, QuestionnaireSpec};
use clientwatch::domain;
use clientwatch::domain::tenants::Scope;
use clientwatch::ports::Cursor;
use clientwatch::records;
use serde_json::Value;

use super::tenant_resource::{self, TenantResource};
use super::{List, Routes};
use crate::extract::{Auth, Page, Path};
use crate::problem::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get(
            "/v1/questionnaires",
            tenant_resource::list::<Questionnaires>,
        )
        .post(
            "/v1/questionnaires",
            tenant_resource::create::<Questionnaires>,
        )
        .get(
            "/v1/questionnaires/{id}",
            tenant_resource::get::<Questionnaires>,
        )
        .patch(
            "/v1/questionnaires/{id}",
            tenant_resource::update::<Questionnaires>,
        )
        .delete(
            "/v1/questionnaires/{id}",
            tenant_resource::delete::<Questionnaires>,
        )
        .get(
            "/v1/clients/{id}/opportunities/{opportunity_id}/answers",
            answers,
        )
        .get(
            "/v1/clients/{id}/opportunities/{opportunity_id}/activity",
            activity,
        )
}

pub struct Questionnaires;

impl TenantResource for Questionnaires {
    type Spec = QuestionnaireSpec;

    async fn list(
        svc: &Services,
        tenant_id: &str,
        limit: usize,
        cursor: Option<Cursor>,
    ) -> domain::Result<(Vec<Questionnaire>, Option<Cursor>)> {
        questionnaires::list(svc, tenant_id, limit, cursor).await
    }

    async fn create(
        svc: &Services,
        tenant_id: &str,
        spec: QuestionnaireSpec,
    ) -> domain::Result<Questionnaire> {
        questionnaires::create(svc, tenant_id, spec).await
    }

    async fn get(svc: &Services, tenant_id: &str, id: &str) -> domain::Result<Questionnaire> {
        questionnaires::get(svc, tenant_id, id).await
    }

    async fn update(
        svc: &Services,
        tenant_id: &str,
        id: &str,
        seen: u64,
        patch: &Value,
    ) -> domain::Result<Questionnaire> {
        questionnaires::update(svc, tenant_id, id, seen, patch).await
    }

    async fn delete(svc: &Services, tenant_id: &str, id: &str, seen: u64) -> domain::Result<()> {
        questionnaires::delete(svc, tenant_id, id, seen).await
    }
}

/// Every questionnaire's answers of an opportunity, drafts and submitted ones, in one list.
pub async fn answers(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, opportunity)): Path<(String, String)>,
) -> Result<List<Answers>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let items = questionnaires::answers_of(&svc, &caller.tenant_id, &client, &opportunity).await?;
    Ok(List::whole(items))
}

/// What applicants did in the Customer Centre about an opportunity, oldest first.
pub async fn activity(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, opportunity)): Path<(String, String)>,
    page: Page,
) -> Result<List<audit::Entry>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    // An unknown opportunity is a 404, not an empty trail.
    records::opportunities::get(svc.table.as_ref(), &caller.tenant_id, &client, &opportunity)
        .await?;
    let (items, next) = audit::list(
        &svc,
        &caller.tenant_id,
        &client,
        &opportunity,
        page.limit,
        page.cursor()?,
    )
    .await?;
    Ok(List::page(items, &page, next))
}
