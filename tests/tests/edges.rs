//! The API's edges, tried as a careless or hostile caller would, over both stores: every bad
//! input is a 4xx problem naming its field (ids in paths and bodies, text, formats, JSON
//! shape, sizes), bulk calls answer every row whatever one row holds, and keys are checked on
//! replays, scopes before bodies, and the last admin key kept.

use axum::body::Body;
use axum::http::{Method, Request};
use clientwatch_tests::api::{Answer, TestApp};
use clientwatch_tests::over_both_stores;
use serde_json::{Value, json};

over_both_stores!(
    path_ids_with_nul_unsafe_characters_or_over_the_length_are_refused_naming_the_parameter,
    invalid_utf8_in_a_path_is_a_problem_not_text,
    body_references_that_are_not_ids_are_refused_naming_the_field,
    names_refuse_control_characters_and_bidi_overrides,
    long_texts_are_refused_naming_the_field,
    e_mails_mobiles_dates_and_amounts_are_strict,
    a_billing_contact_must_be_a_contact_of_the_client,
    duplicate_keys_and_a_body_that_is_not_an_object_are_refused,
    a_missing_field_is_named_by_its_path,
    a_resource_grown_past_the_store_limit_is_refused_naming_the_size,
    an_import_with_a_bad_row_stores_and_reports_every_other_row,
    a_sync_with_a_bad_record_stores_and_reports_every_other_record,
    a_bulk_monitoring_call_with_a_bad_id_answers_every_client,
    a_revoked_key_cannot_replay_its_stored_answers,
    the_last_active_admin_key_cannot_be_revoked,
    two_admin_keys_revoking_each_other_at_once_leave_one,
    a_read_key_is_forbidden_before_its_body_is_looked_at,
);

/// The first field error of a 422 problem.
#[track_caller]
fn refused_field(answer: &Answer) -> String {
    let problem = answer.problem(422, "validation");
    problem["errors"][0]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("no field in {problem:#}"))
        .to_owned()
}

async fn raw(app: &TestApp, method: Method, path: &str, body: &str) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", app.admin_key))
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    app.send(request).await
}

async fn client_type(app: &TestApp) -> String {
    let answer = app
        .post(
            "/v1/client-types",
            json!({"name": "Borrowers", "class": "individual"}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

async fn client(app: &TestApp) -> String {
    let type_id = client_type(app).await;
    let answer = app
        .post(
            "/v1/clients",
            json!({"client_type_id": type_id, "identity": {"kind": "individual", "first_name": "Ana", "last_name": "Smith"}}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

async fn contact(app: &TestApp, client: &str, name: &str) -> String {
    let answer = app
        .post(
            &format!("/v1/clients/{client}/contacts"),
            json!({"name": name, "role_id": "primary-contact"}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

async fn path_ids_with_nul_unsafe_characters_or_over_the_length_are_refused_naming_the_parameter(
    app: TestApp,
) {
    let c = client(&app).await;
    let long = "a".repeat(1000);
    for (path, field) in [
        ("/v1/clients/a%00b".to_owned(), "path.id"),
        (format!("/v1/clients/{long}"), "path.id"),
        ("/v1/clients/a%23b".to_owned(), "path.id"),
        (format!("/v1/clients/{c}/contacts/x%0Ay"), "path.contact_id"),
        (
            format!("/v1/clients/{c}/invoices/{long}"),
            "path.invoice_id",
        ),
        (format!("/v1/contact-roles/{long}"), "path.id"),
        (format!("/v1/hits/{long}"), "path.id"),
    ] {
        let answer = app.get(&path).await;
        assert_eq!(refused_field(&answer), field, "{path}");
    }
    // An id of the right shape that names nothing is simply not found.
    app.get("/v1/clients/nosuchclient")
        .await
        .problem(404, "not-found");
    let answer = app.delete(&format!("/v1/api-keys/{long}")).await;
    assert_eq!(refused_field(&answer), "path.id");
}

async fn invalid_utf8_in_a_path_is_a_problem_not_text(app: TestApp) {
    let answer = app.get("/v1/clients/%FF%FE").await;
    assert_eq!(refused_field(&answer), "path");
    let c = client(&app).await;
    let answer = app.get(&format!("/v1/clients/{c}/contacts/%C3%28")).await;
    assert_eq!(refused_field(&answer), "path");
}

async fn body_references_that_are_not_ids_are_refused_naming_the_field(app: TestApp) {
    let c = client(&app).await;
    let ana = contact(&app, &c, "Ana").await;
    let long = "r".repeat(1000);
    let cases = [
        (
            format!("/v1/clients/{c}/contacts"),
            json!({"name": "Ben", "role_id": "a\u{0}b"}),
            "role_id",
        ),
        (
            format!("/v1/clients/{c}/contacts"),
            json!({"name": "Ben", "role_id": long}),
            "role_id",
        ),
        (
            format!("/v1/clients/{c}/opportunities"),
            json!({"name": "Loan", "parties": [{"contact_id": ana, "role": "applicant"}, {"contact_id": "x\u{0}", "role": "guarantor"}]}),
            "parties[1].contact_id",
        ),
        (
            format!("/v1/clients/{c}/opportunities"),
            json!({"name": "Loan", "questionnaire_ids": ["ok", long]}),
            "questionnaire_ids[1]",
        ),
        (
            "/v1/portfolios".to_owned(),
            json!({"name": "Retail", "workflow_id": "has space"}),
            "workflow_id",
        ),
        (
            "/v1/workflows".to_owned(),
            json!({"name": "W", "steps": [{"id": "s", "kind": "email", "role_id": "a#b", "subject": "S", "text": "T"}]}),
            "steps[0].role_id",
        ),
    ];
    for (path, body, field) in cases {
        let answer = app.post(&path, body).await;
        assert_eq!(refused_field(&answer), field, "{path}");
    }
    let answer = app
        .patch(
            &format!("/v1/clients/{c}"),
            "\"1\"",
            json!({"portfolio_id": long}),
        )
        .await;
    assert_eq!(refused_field(&answer), "portfolio_id");
}

async fn names_refuse_control_characters_and_bidi_overrides(app: TestApp) {
    for name in [
        "a\u{0}b",
        "bell\u{7}",
        "two\r\nlines",
        "\u{202E}evil",
        "x\u{2066}y",
    ] {
        let answer = app.post("/v1/contact-roles", json!({"name": name})).await;
        assert_eq!(refused_field(&answer), "name", "{name:?}");
    }
    // Text of every script is fine.
    let answer = app
        .post(
            "/v1/contact-roles",
            json!({"name": "Zahlungsempfänger – 收款人"}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
}

async fn long_texts_are_refused_naming_the_field(app: TestApp) {
    let c = client(&app).await;
    let huge = "x".repeat(100_000);
    for (patch, field) in [
        (
            json!({"addresses": [{"line1": huge, "city": "Auckland", "country": "NZ"}]}),
            "addresses[0].line1",
        ),
        (
            json!({"addresses": [{"line1": "1 Main St", "city": "Auckland", "postcode": huge, "country": "NZ"}]}),
            "addresses[0].postcode",
        ),
        (json!({"external_refs": {"crm": huge}}), "external_refs.crm"),
        (
            json!({"company_info": {"trading_name": huge}}),
            "company_info.trading_name",
        ),
    ] {
        let answer = app.patch(&format!("/v1/clients/{c}"), "\"1\"", patch).await;
        assert_eq!(refused_field(&answer), field);
    }
    let answer = app
        .post(
            &format!("/v1/clients/{c}/opportunities"),
            json!({"name": "Loan", "data": {"notes": huge}}),
        )
        .await;
    assert_eq!(refused_field(&answer), "data.notes");
}

async fn e_mails_mobiles_dates_and_amounts_are_strict(app: TestApp) {
    let c = client(&app).await;
    let contacts = format!("/v1/clients/{c}/contacts");
    let answer = app
        .post(
            &contacts,
            json!({"name": "Ben", "role_id": "primary-contact", "email": "a@@b.com"}),
        )
        .await;
    assert_eq!(refused_field(&answer), "email");
    let answer = app
        .post(
            &contacts,
            json!({"name": "Ben", "role_id": "primary-contact", "mobile": "+64 21 234 5678 ext 5"}),
        )
        .await;
    assert_eq!(refused_field(&answer), "mobile");
    assert!(
        answer.body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("extension"),
        "{}",
        answer.body
    );
    let invoices = format!("/v1/clients/{c}/invoices");
    let invoice = |issue: &str, amount: &str| json!({"number": "INV-1", "issue_date": issue, "due_date": "2026-02-01", "amount": amount});
    for date in [
        "0000-01-01",
        "+2026-01-01",
        "2026-1-5",
        "2026-02-30",
        "2101-01-01",
    ] {
        let answer = app.post(&invoices, invoice(date, "5.00")).await;
        assert_eq!(refused_field(&answer), "issue_date", "{date}");
    }
    for amount in [" 5.00", "5.00 ", "5.001", "-5", "lots"] {
        let answer = app.post(&invoices, invoice("2026-01-05", amount)).await;
        assert_eq!(refused_field(&answer), "amount", "{amount:?}");
    }
    let answer = app
        .patch(
            &format!("/v1/clients/{c}"),
            "\"1\"",
            json!({"identity": {"date_of_birth": "0000-01-01"}}),
        )
        .await;
    assert_eq!(refused_field(&answer), "identity.date_of_birth");
}

async fn a_billing_contact_must_be_a_contact_of_the_client(app: TestApp) {
    let c = client(&app).await;
    let other = client(&app).await;
    let strangers_contact = contact(&app, &other, "Zed").await;
    let answer = app
        .patch(
            &format!("/v1/clients/{c}"),
            "\"1\"",
            json!({"finances": {"billing_contact_id": strangers_contact}}),
        )
        .await;
    assert_eq!(refused_field(&answer), "finances.billing_contact_id");
    let ana = contact(&app, &c, "Ana").await;
    let answer = app
        .patch(
            &format!("/v1/clients/{c}"),
            "\"1\"",
            json!({"finances": {"billing_contact_id": ana}}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["finances"]["billing_contact_id"], ana);
    let type_id = client_type(&app).await;
    let answer = app
        .post(
            "/v1/clients",
            json!({"client_type_id": type_id, "identity": {"kind": "individual", "first_name": "B", "last_name": "C"}, "finances": {"billing_contact_id": ana}}),
        )
        .await;
    assert_eq!(refused_field(&answer), "finances.billing_contact_id");
}

async fn duplicate_keys_and_a_body_that_is_not_an_object_are_refused(app: TestApp) {
    let answer = raw(
        &app,
        Method::POST,
        "/v1/contact-roles",
        r#"{"name": "Billing", "name": "Other"}"#,
    )
    .await;
    assert_eq!(refused_field(&answer), "name");
    let answer = raw(
        &app,
        Method::POST,
        "/v1/contact-roles",
        r#"["Billing", true, true]"#,
    )
    .await;
    assert_eq!(refused_field(&answer), "body");
    assert_eq!(
        role_names(&app).await,
        ["Company Contact", "Primary Contact"]
    );
    // However deep: an array where the identity object goes.
    let type_id = client_type(&app).await;
    let answer = app
        .post(
            "/v1/clients",
            json!({"client_type_id": type_id, "identity": ["individual", "Ana", "Smith"]}),
        )
        .await;
    assert_eq!(refused_field(&answer), "identity");
    let answer = raw(&app, Method::POST, "/v1/contact-roles", r#"{"name": "#).await;
    answer.problem(400, "malformed-json");
}

async fn role_names(app: &TestApp) -> Vec<String> {
    let mut names: Vec<String> = app.get("/v1/contact-roles").await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

async fn a_missing_field_is_named_by_its_path(app: TestApp) {
    let answer = app.post("/v1/contact-roles", json!({})).await;
    assert_eq!(refused_field(&answer), "name");
    let type_id = client_type(&app).await;
    let answer = app
        .post(
            "/v1/clients",
            json!({"client_type_id": type_id, "identity": {}}),
        )
        .await;
    assert_eq!(refused_field(&answer), "identity.kind");
}

async fn a_resource_grown_past_the_store_limit_is_refused_naming_the_size(app: TestApp) {
    let c = client(&app).await;
    let chunk = |n: usize| vec![Value::from("y".repeat(900)); n];
    let made = app
        .post(
            &format!("/v1/clients/{c}/opportunities"),
            json!({"name": "Loan", "data": {"a": chunk(200)}}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let path = format!(
        "/v1/clients/{c}/opportunities/{}",
        made.body["id"].as_str().unwrap()
    );
    let grown = app
        .patch(&path, "\"1\"", json!({"data": {"b": chunk(250)}}))
        .await;
    assert_eq!(refused_field(&grown), "body");
    let detail = grown.body["errors"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("bytes, over the"), "{detail}");
    // Nothing was changed, and a smaller change still goes through.
    let kept = app.get(&path).await;
    assert_eq!(kept.body["version"], 1);
    let answer = app
        .patch(&path, "\"1\"", json!({"data": {"b": "small"}}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

async fn an_import_with_a_bad_row_stores_and_reports_every_other_row(app: TestApp) {
    let c = client(&app).await;
    let row = |client: &str, number: &str| json!({"client_id": client, "number": number, "issue_date": "2026-01-05", "due_date": "2026-02-05", "amount": "10.00"});
    let long = "c".repeat(2000);
    let rows = json!([
        row(&c, "INV-1"),
        row("bad\u{0}client", "INV-2"),
        row(&c, "INV-\u{0}3"),
        row(&long, "INV-4"),
        {"client_id": c, "number": "INV-5", "issue_date": "2026-01-05", "due_date": "2026-02-05", "amount": "10.00", "currency": "x".repeat(100_000)},
        row(&c, "INV-6"),
    ]);
    let answer = app
        .post("/v1/invoices/import", json!({"invoices": rows}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let results = answer.body["results"].as_array().unwrap();
    let outcomes: Vec<(u64, &str, &str)> = results
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["outcome"].as_str().unwrap(),
                r["problem"]["field"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (1, "created", ""),
            (2, "rejected", "client_id"),
            (3, "rejected", "number"),
            (4, "rejected", "client_id"),
            (5, "rejected", "currency"),
            (6, "created", ""),
        ]
    );
    assert_eq!(answer.body["created"], 2);
    assert_eq!(answer.body["rejected"], 4);
    let listed = app.get(&format!("/v1/clients/{c}/invoices")).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);
}

async fn a_sync_with_a_bad_record_stores_and_reports_every_other_record(app: TestApp) {
    let c = client(&app).await;
    let answer = app
        .post(
            "/v1/sync/contacts",
            json!({"source": "quickbooks_online", "records": [
                {"external_id": "QB-1", "client_id": c, "name": "Ana"},
                {"external_id": "QB\u{0}2", "client_id": c, "name": "Ben"},
                {"external_id": "QB-3", "client_id": "x".repeat(5000), "name": "Cy"},
                {"external_id": "QB-4", "client_id": c, "name": "D\u{202E}an"},
                "not an object",
                {"external_id": "QB-6", "client_id": c, "name": "Eve"},
            ]}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let statuses: Vec<&str> = answer.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "created", "rejected", "rejected", "rejected", "rejected", "created"
        ]
    );
    let reasons: Vec<&str> = answer.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["reason"].as_str())
        .collect();
    assert!(reasons[0].starts_with("external_id"), "{reasons:?}");
    assert!(reasons[1].starts_with("client_id"), "{reasons:?}");
    assert!(reasons[2].starts_with("name"), "{reasons:?}");
    let listed = app.get(&format!("/v1/clients/{c}/contacts")).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);
}

async fn a_bulk_monitoring_call_with_a_bad_id_answers_every_client(app: TestApp) {
    let tenant = app.get("/v1/tenant").await;
    let settings = app
        .patch(
            "/v1/tenant",
            tenant.header("etag").unwrap(),
            json!({"monitoring": {"enabled": true, "default_reason": "Credit risk review"}}),
        )
        .await;
    assert_eq!(settings.status, 200, "{}", settings.body);
    let type_id = app
        .post(
            "/v1/client-types",
            json!({"name": "Monitored", "class": "individual", "use_bureau_monitoring": true}),
        )
        .await
        .body["id"]
        .clone();
    let made = app
        .post(
            "/v1/clients",
            json!({"client_type_id": type_id, "identity": {"kind": "individual", "first_name": "Ana", "last_name": "Smith", "date_of_birth": "1980-02-03"}, "bureau_subject_id": "IND-1"}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let c = made.body["id"].as_str().unwrap();
    let answer = app
        .post(
            "/v1/monitoring/bulk",
            json!({"action": "start", "client_ids": ["bad\u{0}id", c, "y".repeat(2000), "nosuchclient"]}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let results = answer.body["results"].as_array().unwrap();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["failed", "started", "failed", "failed"],
        "{}",
        answer.body
    );
    assert_eq!(results[0]["problem"]["errors"][0]["field"], "client_ids[0]");
    assert_eq!(results[2]["problem"]["errors"][0]["field"], "client_ids[2]");
    assert_eq!(results[1]["client_id"], c);
    assert_eq!(answer.body["succeeded"], 1);
    assert_eq!(answer.body["failed"], 3);
}

async fn issue_key(app: &TestApp, scopes: Value) -> (String, String) {
    let answer = app
        .post("/v1/api-keys", json!({"name": "k", "scopes": scopes}))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    (
        answer.body["key"]["id"].as_str().unwrap().to_owned(),
        answer.body["secret"].as_str().unwrap().to_owned(),
    )
}

async fn a_revoked_key_cannot_replay_its_stored_answers(app: TestApp) {
    let (id, secret) = issue_key(&app, json!(["read", "write"])).await;
    let post = |key: String| {
        Request::post("/v1/contact-roles")
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .header("idempotency-key", "once")
            .body(Body::from(json!({"name": "Collections"}).to_string()))
            .unwrap()
    };
    let first = app.send(post(secret.clone())).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let replayed = app.send(post(secret.clone())).await;
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    let revoked = app.delete(&format!("/v1/api-keys/{id}")).await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let after = app.send(post(secret)).await;
    after.problem(401, "unauthenticated");
    assert_eq!(after.header("idempotent-replayed"), None);
}

async fn admin_key_ids(app: &TestApp, key: &str) -> Vec<String> {
    app.call(Method::GET, "/v1/api-keys", Some(key), None)
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| {
            k["revoked_at"].is_null() && k["scopes"].as_array().unwrap().contains(&json!("admin"))
        })
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_last_active_admin_key_cannot_be_revoked(app: TestApp) {
    let own = admin_key_ids(&app, &app.admin_key).await;
    assert_eq!(own.len(), 1);
    // A key without the admin scope does not count.
    issue_key(&app, json!(["read", "write"])).await;
    let answer = app.delete(&format!("/v1/api-keys/{}", own[0])).await;
    let problem = answer.problem(409, "conflict");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("last active admin key"),
        "{problem}"
    );
    assert_eq!(app.get("/v1/tenant").await.status, 200);
    // With a second admin key, the first can go; then the second is the last.
    let (second, second_secret) = issue_key(&app, json!(["admin"])).await;
    let answer = app.delete(&format!("/v1/api-keys/{}", own[0])).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = app
        .call(
            Method::DELETE,
            &format!("/v1/api-keys/{second}"),
            Some(&second_secret),
            None,
        )
        .await;
    answer.problem(409, "conflict");
}

async fn two_admin_keys_revoking_each_other_at_once_leave_one(app: TestApp) {
    let first = admin_key_ids(&app, &app.admin_key).await.remove(0);
    let (mut survivor_id, mut survivor) = issue_key(&app, json!(["admin"])).await;
    let gone = app.delete(&format!("/v1/api-keys/{first}")).await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    for round in 0..5 {
        let issued = app
            .call(
                Method::POST,
                "/v1/api-keys",
                Some(&survivor),
                Some(json!({"name": "other", "scopes": ["admin"]})),
            )
            .await;
        assert_eq!(issued.status, 201, "{}", issued.body);
        let other_id = issued.body["key"]["id"].as_str().unwrap().to_owned();
        let other = issued.body["secret"].as_str().unwrap().to_owned();
        let revoke_other = format!("/v1/api-keys/{other_id}");
        let revoke_survivor = format!("/v1/api-keys/{survivor_id}");
        let (a, b) = tokio::join!(
            app.call(Method::DELETE, &revoke_other, Some(&survivor), None),
            app.call(Method::DELETE, &revoke_survivor, Some(&other), None),
        );
        let succeeded = [&a, &b].iter().filter(|x| x.status == 200).count();
        // The loser is told it would leave no admin key (409), or, when its own key was
        // revoked before it was checked, that its key is no longer valid (401).
        for refused in [&a, &b].into_iter().filter(|x| x.status != 200) {
            match refused.status.as_u16() {
                401 => refused.problem(401, "unauthenticated"),
                _ => refused.problem(409, "conflict"),
            };
        }
        assert!(succeeded <= 1, "round {round}: both revocations succeeded");
        if b.status == 200 {
            (survivor_id, survivor) = (other_id, other);
        }
        let remaining = admin_key_ids(&app, &survivor).await;
        assert_eq!(remaining.len(), 2 - succeeded, "round {round}");
        assert!(remaining.contains(&survivor_id));
    }
}

async fn a_read_key_is_forbidden_before_its_body_is_looked_at(app: TestApp) {
    let (_, reader) = issue_key(&app, json!(["read"])).await;
    let answer = app
        .call(
            Method::POST,
            "/v1/clients",
            Some(&reader),
            Some(json!({"bogus": "\u{0}", "client_type_id": "a#b"})),
        )
        .await;
    answer.problem(403, "forbidden");
    // Every change route: a read key with a body that is not even JSON is 403.
    for (template, method) in clientwatch_api::route_list() {
        if method == Method::GET || template.ends_with("/preview") {
            continue;
        }
        let path = template.replace(['{', '}'], "");
        let request = Request::builder()
            .method(method.clone())
            .uri(&path)
            .header("authorization", format!("Bearer {reader}"))
            .header("content-type", "application/json")
            .header("if-match", "\"1\"")
            .body(Body::from("{not json"))
            .unwrap();
        let answer = app.send(request).await;
        assert_eq!(answer.status, 403, "{method} {template}: {}", answer.body);
    }
}
