//! `/v1/clients/{id}/contacts` (with a contact's account-portal link),
//! `/v1/clients/{id}/recipients` and `/v1/sync/contacts`.

use axum::Json;
use axum::extract::State;
use clientwatch::Services;
use clientwatch::domain;
use clientwatch::domain::contacts::{self, Contact, ContactSpec, Source};
use clientwatch::domain::resource::Resource;
use clientwatch::domain::roles::Purpose;
use clientwatch::domain::tenants::Scope;
use clientwatch::ports::Cursor;
use clientwatch::records;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Routes;
use super::client_resource::{self, ClientResource};
use crate::extract::{Auth, JsonBody, Path};
use crate::problem::ApiError;

pub fn router() -> Routes {
    Routes::new()
        .get(
            "/v1/clients/{id}/contacts",
            client_resource::list::<Contacts>,
        )
        .post(
            "/v1/clients/{id}/contacts",
            client_resource::create::<Contacts>,
        )
        .get(
            "/v1/clients/{id}/contacts/{contact_id}",
            client_resource::get::<Contacts>,
        )
        .patch(
            "/v1/clients/{id}/contacts/{contact_id}",
            client_resource::update::<Contacts>,
        )
        .delete(
            "/v1/clients/{id}/contacts/{contact_id}",
            client_resource::delete::<Contacts>,
        )
        .post(
            "/v1/clients/{id}/contacts/{contact_id}/portal-link",
            portal_link,
        )
        .get("/v1/clients/{id}/recipients", recipients)
        .post("/v1/sync/contacts", sync)
}

pub struct Contacts;

impl ClientResource for Contacts {
    type Spec = ContactSpec;

    /// `email_suppressed` on a contact whose address bounced for good or complained: its
    /// messages are skipped until the address changes or the suppression is lifted.
    async fn annotate(
        svc: &Services,
        tenant_id: &str,
        items: &[Contact],
        views: &mut [Value],
    ) -> domain::Result<()> {
        suppressed(svc, tenant_id, items, views).await
    }

    async fn list(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        limit: usize,
        cursor: Option<Cursor>,
    ) -> domain::Result<(Vec<Contact>, Option<Cursor>)> {
        records::contacts::list(svc.table.as_ref(), tenant_id, client_id, limit, cursor).await
    }

    async fn create(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        spec: ContactSpec,
    ) -> domain::Result<Contact> {
        records::contacts::create(svc, tenant_id, client_id, spec).await
    }

    async fn get(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        id: &str,
    ) -> domain::Result<Contact> {
        records::contacts::get(svc.table.as_ref(), tenant_id, client_id, id).await
    }

    async fn update(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        id: &str,
        seen: u64,
        patch: &Value,
    ) -> domain::Result<Contact> {
        records::contacts::update(svc, tenant_id, client_id, id, seen, patch).await
    }

    async fn delete(
        svc: &Services,
        tenant_id: &str,
        client_id: &str,
        id: &str,
        seen: u64,
    ) -> domain::Result<()> {
        records::contacts::delete(svc, tenant_id, client_id, id, seen).await
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientsQuery {
    purpose: Purpose,
}

pub async fn recipients(
    State(svc): State<Services>,
    auth: Auth,
    Path(client): Path<String>,
    query: Result<axum::extract::Query<RecipientsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth.require(Scope::Read)?;
    let purpose = query
        .map_err(|_| ApiError::invalid("purpose", "give purpose=invoice, reminder or statement"))?
        .0
        .purpose;
    let (chosen, warning) =
        records::contacts::recipients(&svc, &caller.tenant_id, &client, purpose).await?;
    let mut body = json!({
        "purpose": purpose,
        "items": chosen.iter().map(Resource::view).collect::<Vec<_>>(),
    });
    if let Some(items) = body["items"].as_array_mut() {
        suppressed(&svc, &caller.tenant_id, &chosen, items).await?;
    }
    if let Some(warning) = warning {
        body["warning"] = Value::from(warning);
    }
    Ok(Json(body))
}

/// Adds `email_suppressed` (reason, since, detail) to the views of contacts whose e-mail address
/// is suppressed (one batched read).
async fn suppressed(
    svc: &Services,
    tenant_id: &str,
    contacts: &[Contact],
    views: &mut [Value],
) -> domain::Result<()> {
    let addresses: Vec<&domain::EmailAddress> = contacts
        .iter()
        .filter_map(|c| c.spec.email.as_ref())
        .collect();
    let found = records::suppressions::of(svc.table.as_ref(), tenant_id, &addresses).await?;
    for (contact, view) in contacts.iter().zip(views.iter_mut()) {
        let Some(s) = contact
            .spec
            .email
            .as_ref()
            .and_then(|a| found.get(&a.as_str().to_lowercase()))
        else {
            continue;
        };
        view["email_suppressed"] = json!({
            "reason": s.reason,
            "since": s.since,
            "detail": s.detail,
        });
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncBatch {
    source: Source,
    /// Parsed one by one, so that one bad record does not refuse the batch.
    records: Vec<Value>,
}

pub async fn sync(
    State(svc): State<Services>,
    auth: Auth,
    JsonBody(batch): JsonBody<SyncBatch>,
) -> Result<Json<Value>, ApiError> {
    let caller = auth.require(Scope::Write)?;
    let results =
        records::contacts::sync(&svc, &caller.tenant_id, batch.source, batch.records).await?;
    let count =
        |status: contacts::SyncOutcome| results.iter().filter(|r| r.status == status).count();
    Ok(Json(json!({
        "created": count(contacts::SyncOutcome::Created),
        "updated": count(contacts::SyncOutcome::Updated),
        "unchanged": count(contacts::SyncOutcome::Unchanged),
        "rejected": count(contacts::SyncOutcome::Rejected),
        "results": results,
    })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PortalLinkRequest {
    #[serde(default)]
    replace_previous: bool,
}

/// A new account-portal link for a contact, shown once (only its hash is stored): 201 with the
/// link and when it stops working. The body is optional.
pub async fn portal_link(
    State(svc): State<Services>,
    auth: Auth,
    Path((client, contact)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let caller = auth.require(Scope::Write)?;
    let request: PortalLinkRequest = if body.iter().all(u8::is_ascii_whitespace) {
        PortalLinkRequest::default()
    } else {
        let json = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        if !json {
            return Err(ApiError::UnsupportedMediaType(
                "Send the body as JSON with `Content-Type: application/json`.",
            ));
        }
        crate::extract::parse(&body)?
    };
    let minted = clientwatch::account::issue::portal_link(
        &svc,
        &caller.tenant_id,
        &client,
        &contact,
        request.replace_previous,
    )
    .await?;
    let mut response = (
        axum::http::StatusCode::CREATED,
        Json(json!({"link": minted.link, "expires_at": minted.expires_at})),
    )
        .into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
