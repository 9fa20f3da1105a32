//! Tenant settings and contact roles through the API, over both stores: defaults, changes
//! guarded by ETag / If-Match, the 30-role cap under concurrent creation, unique names, and the
//! built-in roles.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use clientwatch_tests::api::TestApp;
use clientwatch_tests::over_both_stores;
use serde_json::json;

over_both_stores!(
    tenant_settings_start_with_the_defaults,
    tenant_settings_change_only_with_the_current_etag,
    bad_settings_name_the_field_and_change_nothing,
    the_built_in_roles_exist_from_the_start,
    a_tenant_has_at_most_thirty_roles_even_when_created_at_once,
    role_names_are_unique_per_tenant,
    a_role_changes_with_its_etag_and_can_be_deleted,
    the_built_in_roles_cannot_be_deleted,
);

async fn tenant_settings_start_with_the_defaults(app: TestApp) {
    let tenant = app.get("/v1/tenant").await;
    assert_eq!(tenant.status, 200);
    assert_eq!(tenant.header("etag"), Some("\"1\""));
    let body = &tenant.body;
    assert_eq!(
        (
            &body["price_per_hit"],
            &body["gst_rate_percent"],
            &body["currency"],
            &body["time_zone"]
        ),
        (
            &json!("3.00"),
            &json!("15.00"),
            &json!("NZD"),
            &json!("Pacific/Auckland")
        )
    );
    assert_eq!(body["alert_recipients"], json!([]));
}

async fn tenant_settings_change_only_with_the_current_etag(app: TestApp) {
    let change = json!({"alert_recipients": ["credit@acme.test"], "price_per_hit": "2.50"});
    let without = app
        .call(
            Method::PATCH,
            "/v1/tenant",
            Some(&app.admin_key),
            Some(change.clone()),
        )
        .await;
    without.problem(428, "if-match-required");
    let changed = app.patch("/v1/tenant", "\"1\"", change.clone()).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.header("etag"), Some("\"2\""));
    assert_eq!(changed.body["price_per_hit"], "2.50");
    assert_eq!(
        changed.body["name"], "Acme Lending",
        "fields not in the patch stay"
    );
    // A second partner still holding version 1 is told, and its change is not applied.
    let late = app
        .patch("/v1/tenant", "\"1\"", json!({"currency": "AUD"}))
        .await;
    late.problem(412, "stale");
    assert_eq!(app.get("/v1/tenant").await.body["currency"], "NZD");
}

async fn bad_settings_name_the_field_and_change_nothing(app: TestApp) {
    let cases = [
        (json!({"time_zone": "Mars/Olympus"}), "time_zone"),
        (
            json!({"alert_recipients": ["ok@acme.test", "nope"]}),
            "alert_recipients[1]",
        ),
        (json!({"price_per_hit": "3.005"}), "price_per_hit"),
        (json!({"currency": "dollars"}), "currency"),
        (json!({"colour": "blue"}), "colour"),
    ];
    for (patch, field) in cases {
        let answer = app.patch("/v1/tenant", "\"1\"", patch.clone()).await;
        let problem = answer.problem(422, "validation");
        assert_eq!(problem["errors"][0]["field"], field, "{patch}: {problem:#}");
    }
    assert_eq!(app.get("/v1/tenant").await.header("etag"), Some("\"1\""));
}

async fn the_built_in_roles_exist_from_the_start(app: TestApp) {
    let roles = app.get("/v1/contact-roles").await;
    let roles = roles.body["items"].as_array().unwrap().clone();
    let named: Vec<_> = roles
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap(),
                r["communication"].as_bool().unwrap(),
                r["invoice_presentment"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            ("Company Contact", true, false),
            ("Primary Contact", true, false)
        ]
    );
}

async fn a_tenant_has_at_most_thirty_roles_even_when_created_at_once(app: TestApp) {
    let app = Arc::new(app);
    let attempts: Vec<_> = (0..35)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                app.post(
                    "/v1/contact-roles",
                    json!({"name": format!("Role {i}"), "communication": true}),
                )
                .await
            })
        })
        .collect();
    let (mut created, mut refused) = (0, 0);
    for attempt in attempts {
        let answer = attempt.await.unwrap();
        match answer.status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {
                assert!(
                    answer.body["detail"]
                        .as_str()
                        .unwrap()
                        .contains("at most 30")
                );
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
    assert_eq!((created, refused), (28, 7), "two built-in roles plus 28");
    let listed = app.get("/v1/contact-roles?limit=100").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 30);
    let one_more = app
        .post("/v1/contact-roles", json!({"name": "Thirty-first"}))
        .await;
    one_more.problem(409, "conflict");
}

async fn role_names_are_unique_per_tenant(app: TestApp) {
    let first = app
        .post(
            "/v1/contact-roles",
            json!({"name": "Accounts Payable", "invoice_presentment": true}),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = app
        .post("/v1/contact-roles", json!({"name": "accounts payable"}))
        .await;
    assert!(
        again.problem(409, "conflict")["detail"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    // Another tenant may use the same name.
    let other = app.other_tenant().await;
    let theirs = app
        .call(
            Method::POST,
            "/v1/contact-roles",
            Some(&other),
            Some(json!({"name": "Accounts Payable"})),
        )
        .await;
    assert_eq!(theirs.status, 201);
}

async fn a_role_changes_with_its_etag_and_can_be_deleted(app: TestApp) {
    let created = app
        .post("/v1/contact-roles", json!({"name": "Billing"}))
        .await;
    let path = format!("/v1/contact-roles/{}", created.body["id"].as_str().unwrap());
    let changed = app
        .patch(
            &path,
            "\"1\"",
            json!({"invoice_presentment": true, "name": "Billing Team"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        (
            changed.body["invoice_presentment"].as_bool(),
            changed.body["name"].as_str()
        ),
        (Some(true), Some("Billing Team"))
    );
    // The old name is free again; the new one is taken.
    assert_eq!(
        app.post("/v1/contact-roles", json!({"name": "Billing"}))
            .await
            .status,
        201
    );
    app.post("/v1/contact-roles", json!({"name": "Billing Team"}))
        .await
        .problem(409, "conflict");
    let request = |version: &str| {
        axum::http::Request::delete(path.as_str())
            .header("authorization", format!("Bearer {}", app.admin_key))
            .header("if-match", version)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    app.send(request("\"1\"")).await.problem(412, "stale");
    assert_eq!(app.send(request("\"2\"")).await.status, 204);
    app.get(&path).await.problem(404, "not-found");
}

async fn the_built_in_roles_cannot_be_deleted(app: TestApp) {
    let request = axum::http::Request::delete("/v1/contact-roles/company-contact")
        .header("authorization", format!("Bearer {}", app.admin_key))
        .header("if-match", "\"1\"")
        .body(axum::body::Body::empty())
        .unwrap();
    app.send(request).await.problem(409, "conflict");
    assert_eq!(
        app.get("/v1/contact-roles/company-contact").await.status,
        200
    );
}
