//! The API's conventions across routes, over both stores: `Idempotency-Key` on POST, and tenant
//! isolation tried on every route of the router with another tenant's key.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Request};
use clientwatch::centre::audit::Invitee;
use clientwatch::centre::questionnaires;
use clientwatch_tests::api::{Answer, TestApp};
use clientwatch_tests::over_both_stores;
use serde_json::{Value, json};

over_both_stores!(
    a_retried_post_gets_the_first_answer_and_does_the_work_once,
    an_idempotency_key_reused_for_another_request_is_refused,
    idempotency_keys_of_different_api_keys_do_not_meet,
    no_route_lets_a_key_reach_another_tenants_data,
);

async fn post_with_key(
    app: &TestApp,
    api_key: &str,
    idem: &str,
    path: &str,
    body: Value,
) -> Answer {
    let request = Request::post(path)
        .header("authorization", format!("Bearer {api_key}"))
        .header("content-type", "application/json")
        .header("idempotency-key", idem)
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(request).await
}

async fn role_count(app: &TestApp) -> usize {
    app.get("/v1/contact-roles?limit=100").await.body["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn a_retried_post_gets_the_first_answer_and_does_the_work_once(app: TestApp) {
    let body = json!({"name": "Collections", "communication": true});
    let first = post_with_key(
        &app,
        &app.admin_key,
        "req-1",
        "/v1/contact-roles",
        body.clone(),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("idempotent-replayed"), None);
    let retry = post_with_key(&app, &app.admin_key, "req-1", "/v1/contact-roles", body).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.header("etag"), first.header("etag"));
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(role_count(&app).await, 3, "two built-in roles and one new");
    // A refusal is an answer too: replayed, not re-evaluated.
    let bad = json!({"name": ""});
    let refused = post_with_key(
        &app,
        &app.admin_key,
        "req-2",
        "/v1/contact-roles",
        bad.clone(),
    )
    .await;
    refused.problem(422, "validation");
    let again = post_with_key(&app, &app.admin_key, "req-2", "/v1/contact-roles", bad).await;
    assert_eq!(again.body["detail"], refused.body["detail"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}

async fn an_idempotency_key_reused_for_another_request_is_refused(app: TestApp) {
    let first = post_with_key(
        &app,
        &app.admin_key,
        "k",
        "/v1/contact-roles",
        json!({"name": "A"}),
    )
    .await;
    assert_eq!(first.status, 201);
    let other = post_with_key(
        &app,
        &app.admin_key,
        "k",
        "/v1/contact-roles",
        json!({"name": "B"}),
    )
    .await;
    assert_eq!(
        other.problem(422, "validation")["errors"][0]["field"],
        "Idempotency-Key"
    );
    assert_eq!(role_count(&app).await, 3);
}

async fn idempotency_keys_of_different_api_keys_do_not_meet(app: TestApp) {
    let other = app.other_tenant().await;
    let body = json!({"name": "Same name"});
    let mine = post_with_key(
        &app,
        &app.admin_key,
        "shared",
        "/v1/contact-roles",
        body.clone(),
    )
    .await;
    let theirs = post_with_key(&app, &other, "shared", "/v1/contact-roles", body).await;
    assert_eq!((mine.status.as_u16(), theirs.status.as_u16()), (201, 201));
    assert_ne!(mine.body["id"], theirs.body["id"]);
    assert_eq!(theirs.header("idempotent-replayed"), None);
}

/// Tenant A's resources, one of each kind, and every id they carry.
struct Owned {
    client: String,
    contact: String,
    role: String,
    client_type: String,
    api_key: String,
    opportunity: String,
    template: String,
    questionnaire: String,
    invite: String,
    /// An invoice of the client; its contact's role lacks invoice presentment, so tenant A
    /// also has a skipped message to leak.
    invoice: String,
    workflow: String,
    portfolio: String,
    webhook: String,
}

async fn owned(app: &TestApp) -> Owned {
    let client_type = app
        .post(
            "/v1/client-types",
            json!({"name": "Personal", "class": "individual"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let role = app
        .post("/v1/contact-roles", json!({"name": "Private role"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let workflow = app
        .post(
            "/v1/workflows",
            json!({"name": "Private workflow", "steps": [
                {"id": "nudge", "kind": "email", "subject": "Invoice {{invoice_number}}", "text": "Please pay", "days_from_due": 0},
                {"id": "escalate", "kind": "escalate", "role_id": role, "channel": "sms", "text": "Overdue", "days_from_due": 7},
            ]}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let portfolio = app
        .post(
            "/v1/portfolios",
            json!({"name": "Private portfolio", "workflow_id": workflow}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = app
        .post(
            "/v1/clients",
            json!({"client_type_id": client_type, "identity": {"kind": "individual", "first_name": "Secret", "last_name": "Person"},
                   "portfolio_id": portfolio, "workflow_id": workflow}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let contact = app
        .post(
            &format!("/v1/clients/{client}/contacts"),
            json!({"name": "Hidden Contact", "role_id": role, "email": "hidden@example.com", "mobile": "+64211234567"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let api_key = app
        .post("/v1/api-keys", json!({"name": "a key", "scopes": ["read"]}))
        .await
        .body["key"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let questionnaire = app
        .post(
            "/v1/questionnaires",
            json!({"name": "Private questions", "questions": [{"id": "secret", "label": "Tell us", "kind": "text"}]}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let template = app
        .post(
            "/v1/email-templates",
            json!({"name": "Private template", "subject": "Hello {{first_name}}",
                   "html": "<a href=\"{{link}}\">Open</a>", "text": "Open {{link}}"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let opportunity = app
        .post(
            &format!("/v1/clients/{client}/opportunities"),
            json!({"name": "Confidential loan", "parties": [{"contact_id": contact, "role": "primary_applicant"}], "questionnaire_ids": [questionnaire]}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // An applicant's answers, so that answers and activity have something to leak.
    let who = Invitee {
        tenant_id: app.tenant_id.clone(),
        client_id: client.clone(),
        opportunity_id: opportunity.clone(),
        invite_id: "invite-1".into(),
        contact_id: contact.clone(),
    };
    let form = BTreeMap::from([("secret".to_owned(), "Hidden answer".to_owned())]);
    questionnaires::save(
        &app.services,
        &who,
        &questionnaire,
        std::slice::from_ref(&questionnaire),
        false,
        |questions| clientwatch_portal::read_form(questions, &form),
    )
    .await
    .expect("a draft saved");
    // An invite, so that the invite routes have something to leak.
    let invite = app
        .post(
            &format!("/v1/clients/{client}/opportunities/{opportunity}/invites"),
            json!({"contact_id": contact, "delivery": "link"}),
        )
        .await;
    assert_eq!(invite.status, 201, "{}", invite.body);
    let invite = invite.body["id"].as_str().unwrap().to_owned();
    let invoice = app
        .post(
            &format!("/v1/clients/{client}/invoices"),
            json!({"number": "SECRET-INV-1", "issue_date": "2026-11-03", "due_date": "2026-11-20", "amount": "4321.00"}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let webhook = app
        .post(
            "/v1/webhooks",
            json!({"url": "https://hooks.example.com/private", "event_types": ["MonitoringHit"]}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Owned {
        webhook,
        invoice,
        invite,
        workflow,
        portfolio,
        template,
        opportunity,
        questionnaire,
        client,
        contact,
        role,
        client_type,
        api_key,
    }
}

/// The route's path with tenant A's ids in its parameters.
fn concrete(path: &str, ids: &Owned) -> String {
    let id = if path.starts_with("/v1/clients/") {
        &ids.client
    } else if path.starts_with("/v1/contact-roles/") {
        &ids.role
    } else if path.starts_with("/v1/client-types/") {
        &ids.client_type
    } else if path.starts_with("/v1/email-templates/") {
        &ids.template
    } else if path.starts_with("/v1/questionnaires/") {
        &ids.questionnaire
    } else if path.starts_with("/v1/workflows/") {
        &ids.workflow
    } else if path.starts_with("/v1/portfolios/") {
        &ids.portfolio
    } else if path.starts_with("/v1/webhooks/") {
        &ids.webhook
    } else {
        &ids.api_key
    };
    path.replace("{contact_id}", &ids.contact)
        .replace("{opportunity_id}", &ids.opportunity)
        .replace("{invite_id}", &ids.invite)
        .replace("{invoice_id}", &ids.invoice)
        .replace("{id}", id)
}

async fn no_route_lets_a_key_reach_another_tenants_data(app: TestApp) {
    let ids = owned(&app).await;
    let foreign = app.other_tenant().await;
    let secrets = [
        ids.client.as_str(),
        ids.contact.as_str(),
        ids.role.as_str(),
        ids.client_type.as_str(),
        ids.api_key.as_str(),
        ids.opportunity.as_str(),
        ids.template.as_str(),
        ids.questionnaire.as_str(),
        ids.invite.as_str(),
        "hidden@example.com",
        ids.invoice.as_str(),
        ids.workflow.as_str(),
        ids.portfolio.as_str(),
        ids.webhook.as_str(),
        "hooks.example.com/private",
        app.tenant_id.as_str(),
        "SECRET-INV-1",
        "4321",
        "Confidential loan",
        "Private questions",
        "Hidden answer",
        "Secret",
        "Hidden Contact",
        "Private role",
        "Private template",
        "Private workflow",
        "Private portfolio",
    ];
    let before = app
        .get(&format!("/v1/clients/{}/contacts", ids.client))
        .await
        .body;
    let mut tried = 0;
    for (path, method) in clientwatch_api::route_list() {
        if path == "/v1/health" {
            continue;
        }
        let uri = concrete(path, &ids);
        let uri = if uri.ends_with("/recipients") {
            format!("{uri}?purpose=reminder")
        } else {
            uri
        };
        // Bodies that name tenant A's things, as a probing caller would.
        let invoice = json!({"number": "PROBE-1", "issue_date": "2026-11-03", "due_date": "2026-11-20", "amount": "1"});
        let body = if path.contains("invoices") && method == Method::POST {
            // Well-formed, so that only the tenant can stop it.
            let mut row = invoice.clone();
            row["client_id"] = json!(ids.client);
            if path.ends_with("/import") {
                json!({"invoices": [row]})
            } else {
                invoice
            }
        } else {
            json!({
                "client_type_id": ids.client_type, "role_id": ids.role, "name": "probe",
                "identity": {"kind": "individual", "first_name": "P", "last_name": "Q"},
                "scopes": ["read"], "class": "individual", "source": "netsuite",
                "records": [{"external_id": "x", "client_id": ids.client, "name": "probe"}],
                "workflow_id": ids.workflow, "portfolio_id": ids.portfolio,
            })
        };
        let probe = |uri: &str| {
            let mut request = Request::builder()
                .method(method.clone())
                .uri(uri)
                .header("authorization", format!("Bearer {foreign}"))
                .header("if-match", "\"1\"");
            let body = if method == Method::POST || method == Method::PATCH {
                request = request.header("content-type", "application/json");
                Body::from(body.to_string())
            } else {
                Body::empty()
            };
            request.body(body).unwrap()
        };
        let answer = app.send(probe(&uri)).await;
        tried += 1;
        if path.contains('{') {
            // Tenant A's resource looks exactly like one that does not exist.
            let nowhere = path
                .replace("{contact_id}", "nonexistent")
                .replace("{opportunity_id}", "nonexistent")
                .replace("{invite_id}", "nonexistent")
                .replace("{invoice_id}", "nonexistent")
                .replace("{id}", "nonexistent");
            let nowhere = if nowhere.ends_with("/recipients") {
                format!("{nowhere}?purpose=reminder")
            } else {
                nowhere
            };
            let missing = app.send(probe(&nowhere)).await;
            assert_eq!(
                (answer.status, &answer.body["type"], &answer.body["detail"]),
                (
                    missing.status,
                    &missing.body["type"],
                    &missing.body["detail"]
                ),
                "{method} {uri}"
            );
            assert!(
                answer.status.is_client_error(),
                "{method} {uri}: {}",
                answer.status
            );
        }
        let text = answer.body.to_string();
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "{method} {uri} revealed {secret:?}: {text}"
            );
        }
    }
    assert!(tried >= 20, "every route was tried ({tried})");
    // Naming tenant A's workflow or role in another tenant's own resources is refused as if
    // they did not exist.
    let foreign_post = |path: &str, body: Value| {
        let request = Request::post(path)
            .header("authorization", format!("Bearer {foreign}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        app.send(request)
    };
    let answer = foreign_post(
        "/v1/portfolios",
        json!({"name": "probe", "workflow_id": ids.workflow}),
    )
    .await;
    assert_eq!(
        answer.problem(422, "validation")["errors"][0]["field"],
        "workflow_id"
    );
    let answer = foreign_post(
        "/v1/workflows",
        json!({"name": "probe", "steps": [{"id": "e", "kind": "escalate", "role_id": ids.role, "channel": "email", "subject": "s", "text": "t"}]}),
    )
    .await;
    assert_eq!(
        answer.problem(422, "validation")["errors"][0]["field"],
        "steps[0].role_id"
    );
    // Tenant A's data is exactly as it was.
    assert_eq!(
        app.get(&format!("/v1/clients/{}/contacts", ids.client))
            .await
            .body,
        before
    );
    assert_eq!(
        app.get(&format!("/v1/clients/{}", ids.client))
            .await
            .header("etag"),
        Some("\"1\"")
    );
    let invoices = app
        .get(&format!("/v1/clients/{}/invoices", ids.client))
        .await
        .body;
    assert_eq!(invoices["items"].as_array().unwrap().len(), 1, "{invoices}");
    assert_eq!(invoices["items"][0]["version"], 1);
}
