//! Client types, clients, contacts, recipients and the one-way contact sync through the API,
//! over both stores.

use clientwatch_tests::api::TestApp;
use clientwatch_tests::over_both_stores;
use serde_json::{Value, json};

over_both_stores!(
    a_client_is_created_with_its_type_and_profile,
    a_clients_identity_must_match_its_types_class,
    clients_are_listed_page_by_page,
    a_contacts_mobile_is_stored_in_e164_and_bad_ones_are_named,
    a_contact_needs_an_existing_role_and_client,
    recipients_follow_the_roles_flags_and_say_when_there_are_none,
    a_sync_creates_updates_and_leaves_unchanged_with_the_sources_default_roles,
    a_synced_contacts_owned_fields_are_refused_here_but_its_role_is_kept,
    one_bad_sync_record_does_not_stop_the_batch,
    manual_contacts_are_never_touched_by_a_sync,
    a_role_or_type_in_use_cannot_be_deleted,
    an_opportunity_names_its_parties_data_and_questionnaires,
    an_opportunitys_parties_must_be_contacts_of_its_client,
);

async fn client_type(app: &TestApp, class: &str) -> String {
    let answer = app
        .post("/v1/client-types", json!({"name": format!("{class} borrowers"), "class": class, "use_bureau_monitoring": true}))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

async fn client(app: &TestApp, type_id: &str, last_name: &str) -> String {
    let answer = app
        .post(
            "/v1/clients",
            json!({
                "client_type_id": type_id,
                "identity": {"kind": "individual", "first_name": "Ana", "last_name": last_name, "date_of_birth": "1980-02-03"},
                "bureau_subject_id": format!("IND-{last_name}"),
            }),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

async fn contact(app: &TestApp, client: &str, body: Value) -> Value {
    let answer = app
        .post(&format!("/v1/clients/{client}/contacts"), body)
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body
}

async fn role(app: &TestApp, name: &str, invoice: bool, communication: bool) -> String {
    let answer = app
        .post(
            "/v1/contact-roles",
            json!({"name": name, "invoice_presentment": invoice, "communication": communication}),
        )
        .await;
    answer.body["id"].as_str().unwrap().to_owned()
}

async fn a_client_is_created_with_its_type_and_profile(app: TestApp) {
    let company = client_type(&app, "company").await;
    let workflow = app
        .post(
            "/v1/workflows",
            json!({"name": "Standard", "steps": [{"id": "remind", "kind": "sms", "text": "Please pay {{invoice_number}}"}]}),
        )
        .await;
    assert_eq!(workflow.status, 201, "{}", workflow.body);
    let portfolio = app
        .post(
            "/v1/portfolios",
            json!({"name": "Retail", "workflow_id": workflow.body["id"]}),
        )
        .await;
    assert_eq!(portfolio.status, 201, "{}", portfolio.body);
    let answer = app
        .post(
            "/v1/clients",
            json!({
                "client_type_id": company,
                "identity": {"kind": "company", "name": "Smith Holdings Ltd", "registration_number": "1234567"},
                "addresses": [{"line1": "12 Kauri St", "city": "Auckland", "postcode": "1010", "country": "NZ"}],
                "external_refs": {"loanpro": "L-99"},
                "company_info": {"trading_name": "Smith's"},
                "communication": {"allowed_channels": ["email"], "breathing_space_days": 14},
                "finances": {"payment_terms_days": 20, "late_fee": "25.00"},
                "workflow_id": workflow.body["id"], "portfolio_id": portfolio.body["id"]
            }),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.header("etag"), Some("\"1\""));
    let read = app
        .get(&format!(
            "/v1/clients/{}",
            answer.body["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(read.body, answer.body);
    assert_eq!(
        read.body["communication"]["max_call_attempts"], 3,
        "defaults filled in"
    );
    assert_eq!(read.body["finances"]["late_fee"], "25.00");
}

async fn a_clients_identity_must_match_its_types_class(app: TestApp) {
    let individual = client_type(&app, "individual").await;
    let answer = app
        .post(
            "/v1/clients",
            json!({"client_type_id": individual, "identity": {"kind": "company", "name": "X Ltd"}}),
        )
        .await;
    assert_eq!(
        answer.problem(422, "validation")["errors"][0]["field"],
        "identity.kind"
    );
    let answer = app
        .post(
            "/v1/clients",
            json!({"client_type_id": "nope", "identity": {"kind": "company", "name": "X Ltd"}}),
        )
        .await;
    assert_eq!(
        answer.problem(422, "validation")["errors"][0]["field"],
        "client_type_id"
    );
    let answer = app
        .post("/v1/clients", json!({"client_type_id": individual, "identity": {"kind": "individual", "first_name": "A", "last_name": "B", "date_of_birth": "02/03/1980"}}))
        .await;
    assert_eq!(
        answer.problem(422, "validation")["errors"][0]["field"],
        "identity.date_of_birth"
    );
    assert!(
        app.get("/v1/clients").await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn clients_are_listed_page_by_page(app: TestApp) {
    let individual = client_type(&app, "individual").await;
    let mut ids = Vec::new();
    for name in ["One", "Two", "Three"] {
        ids.push(client(&app, &individual, name).await);
    }
    let first = app.get("/v1/clients?limit=2").await;
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("/v1/clients?limit=2&cursor={cursor}"))
        .await;
    let mut seen: Vec<String> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second.body["items"].as_array().unwrap())
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(second.body.get("next_cursor").is_none());
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);
}

async fn a_contacts_mobile_is_stored_in_e164_and_bad_ones_are_named(app: TestApp) {
    let c = client(&app, &client_type(&app, "individual").await, "Smith").await;
    let made = contact(&app, &c, json!({"name": "Ana Smith", "email": "ana@example.com", "mobile": "021 234 5678", "role_id": "primary-contact"})).await;
    assert_eq!(made["mobile"], "+64212345678");
    assert_eq!(made["source"], "manual");
    let bad = app
        .post(
            &format!("/v1/clients/{c}/contacts"),
            json!({"name": "Bo", "mobile": "12", "role_id": "primary-contact"}),
        )
        .await;
    assert_eq!(
        bad.problem(422, "validation")["errors"][0]["field"],
        "mobile"
    );
    let bad = app
        .post(
            &format!("/v1/clients/{c}/contacts"),
            json!({"name": "Bo", "email": "bo@", "role_id": "primary-contact"}),
        )
        .await;
    assert_eq!(
        bad.problem(422, "validation")["errors"][0]["field"],
        "email"
    );
}

async fn a_contact_needs_an_existing_role_and_client(app: TestApp) {
    let c = client(&app, &client_type(&app, "individual").await, "Smith").await;
    let bad = app
        .post(
            &format!("/v1/clients/{c}/contacts"),
            json!({"name": "Bo", "role_id": "ghost"}),
        )
        .await;
    assert_eq!(
        bad.problem(422, "validation")["errors"][0]["field"],
        "role_id"
    );
    let missing = app
        .post(
            "/v1/clients/ghost/contacts",
            json!({"name": "Bo", "role_id": "primary-contact"}),
        )
        .await;
    missing.problem(404, "not-found");
    let synced = app
        .post(
            &format!("/v1/clients/{c}/contacts"),
            json!({"name": "Bo", "role_id": "primary-contact", "source": "netsuite"}),
        )
        .await;
    assert_eq!(
        synced.problem(422, "validation")["errors"][0]["field"],
        "source"
    );
}

async fn recipients_follow_the_roles_flags_and_say_when_there_are_none(app: TestApp) {
    let c = client(&app, &client_type(&app, "individual").await, "Smith").await;
    let path = |purpose: &str| format!("/v1/clients/{c}/recipients?purpose={purpose}");
    let none = app.get(&path("invoice")).await;
    assert!(none.body["items"].as_array().unwrap().is_empty());
    assert!(
        none.body["warning"]
            .as_str()
            .unwrap()
            .contains("invoice presentment")
    );

    let billing = role(&app, "Billing", true, false).await;
    let both = role(&app, "Owner", true, true).await;
    let silent = role(&app, "Guarantor", false, false).await;
    for (name, role_id) in [
        ("Bill", &billing),
        ("Olive", &both),
        ("Gus", &silent),
        ("Pia", &"primary-contact".to_owned()),
    ] {
        contact(&app, &c, json!({"name": name, "email": format!("{}@example.com", name.to_lowercase()), "role_id": role_id})).await;
    }
    let names = |answer: &Value| {
        let mut names: Vec<String> = answer["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        names(&app.get(&path("invoice")).await.body),
        ["Bill", "Olive"]
    );
    assert_eq!(
        names(&app.get(&path("reminder")).await.body),
        ["Olive", "Pia"]
    );
    assert_eq!(
        names(&app.get(&path("statement")).await.body),
        ["Olive", "Pia"]
    );
    assert!(
        app.get(&path("invoice"))
            .await
            .body
            .get("warning")
            .is_none()
    );
    let bad = app.get(&path("fax")).await;
    assert_eq!(
        bad.problem(422, "validation")["errors"][0]["field"],
        "purpose"
    );
}

async fn sync(app: &TestApp, source: &str, records: Value) -> Value {
    let answer = app
        .post(
            "/v1/sync/contacts",
            json!({"source": source, "records": records}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

async fn a_sync_creates_updates_and_leaves_unchanged_with_the_sources_default_roles(app: TestApp) {
    let c = client(&app, &client_type(&app, "individual").await, "Smith").await;
    let first = sync(
        &app,
        "netsuite",
        json!([
            {"external_id": "ns-1", "client_id": c, "name": "Ana Smith", "email": "ana@example.com", "contact_type": "primary"},
            {"external_id": "ns-2", "client_id": c, "name": "Accounts", "email": "ap@example.com"},
        ]),
    )
    .await;
    assert_eq!(
        (first["created"].as_u64(), first["rejected"].as_u64()),
        (Some(2), Some(0)),
        "{first}"
    );
    let qb = sync(
        &app,
        "quickbooks_online",
        json!([{"external_id": "qb-1", "client_id": c, "name": "Quinn", "mobile": "021 555 0101"}]),
    )
    .await;
    assert_eq!(qb["created"], 1);

    let listed = app.get(&format!("/v1/clients/{c}/contacts")).await;
    let by_name = |name: &str| {
        listed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("Ana Smith")["role_id"], "primary-contact");
    assert_eq!(by_name("Accounts")["role_id"], "company-contact");
    assert_eq!(by_name("Quinn")["role_id"], "company-contact");
    assert_eq!(by_name("Quinn")["source"], "quickbooks_online");

    let again = sync(
        &app,
        "netsuite",
        json!([
            {"external_id": "ns-1", "client_id": c, "name": "Ana Smith-Jones", "email": "ana@example.com", "contact_type": "primary"},
            {"external_id": "ns-2", "client_id": c, "name": "Accounts", "email": "ap@example.com"},
        ]),
    )
    .await;
    let statuses: Vec<&str> = again["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["updated", "unchanged"]);
    assert_eq!(
        app.get(&format!("/v1/clients/{c}/contacts")).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

async fn a_synced_contacts_owned_fields_are_refused_here_but_its_role_is_kept(app: TestApp) {
    let c = client(&app, &client_type(&app, "individual").await, "Smith").await;
    let made = sync(&app, "quickbooks_desktop", json!([{"external_id": "qbd-7", "client_id": c, "name": "Pat", "email": "pat@example.com"}])).await;
    let id = made["results"][0]["contact_id"].as_str().unwrap();
    let path = format!("/v1/clients/{c}/contacts/{id}");
    let refused = app
        .patch(&path, "\"1\"", json!({"email": "other@example.com"}))
        .await;
    assert!(
        refused.problem(409, "conflict")["detail"]
            .as_str()
            .unwrap()
            .contains("quickbooks_desktop")
    );
    let billing = role(&app, "Billing", true, false).await;
    let moved = app.patch(&path, "\"1\"", json!({"role_id": billing})).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    // The next sync changes the e-mail and keeps the role chosen here.
    sync(&app, "quickbooks_desktop", json!([{"external_id": "qbd-7", "client_id": c, "name": "Pat", "email": "pat@new.example.com"}])).await;
    let now = app.get(&path).await;
    assert_eq!(
        (now.body["email"].as_str(), now.body["role_id"].as_str()),
        (Some("pat@new.example.com"), Some(billing.as_str()))
    );
}

async fn one_bad_sync_record_does_not_stop_the_batch(app: TestApp) {
    let c = client(&app, &client_type(&app, "individual").await, "Smith").await;
    let answer = sync(
        &app,
        "netsuite",
        json!([
            {"external_id": "ok-1", "client_id": c, "name": "Fine"},
            {"external_id": "bad-1", "client_id": c, "name": "Bad mobile", "mobile": "0"},
            {"external_id": "bad-2", "client_id": "ghost", "name": "No client"},
            {"external_id": "bad-3", "client_id": c, "name": "Odd", "contact_type": "boss"},
            {"client_id": c, "name": "No id"},
            {"external_id": "ok-2", "client_id": c, "name": "Also fine", "email": "fine@example.com"},
        ]),
    )
    .await;
    assert_eq!(
        (answer["created"].as_u64(), answer["rejected"].as_u64()),
        (Some(2), Some(4)),
        "{answer:#}"
    );
    let reasons: Vec<&str> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["reason"].as_str())
        .collect();
    assert!(reasons[0].starts_with("mobile:"), "{reasons:?}");
    assert!(reasons[1].starts_with("client_id:"), "{reasons:?}");
    assert!(reasons[2].starts_with("contact_type:"), "{reasons:?}");
    assert!(reasons[3].contains("external_id"), "{reasons:?}");
}

async fn manual_contacts_are_never_touched_by_a_sync(app: TestApp) {
    let c = client(&app, &client_type(&app, "individual").await, "Smith").await;
    let mine = contact(
        &app,
        &c,
        json!({"name": "Ana Smith", "email": "ana@example.com", "role_id": "primary-contact"}),
    )
    .await;
    sync(&app, "netsuite", json!([{"external_id": "ns-1", "client_id": c, "name": "Ana Smith", "email": "ana@example.com"}])).await;
    let after = app
        .get(&format!(
            "/v1/clients/{c}/contacts/{}",
            mine["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(after.body, mine, "the manual contact is as it was");
    assert_eq!(
        app.get(&format!("/v1/clients/{c}/contacts")).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

async fn a_role_or_type_in_use_cannot_be_deleted(app: TestApp) {
    let individual = client_type(&app, "individual").await;
    let c = client(&app, &individual, "Smith").await;
    let billing = role(&app, "Billing", true, false).await;
    let made = contact(&app, &c, json!({"name": "Bill", "role_id": billing})).await;
    let delete = |path: String| {
        axum::http::Request::delete(path)
            .header("authorization", format!("Bearer {}", app.admin_key))
            .header("if-match", "\"1\"")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    app.send(delete(format!("/v1/contact-roles/{billing}")))
        .await
        .problem(409, "conflict");
    app.send(delete(format!("/v1/client-types/{individual}")))
        .await
        .problem(409, "conflict");
    app.send(delete(format!("/v1/clients/{c}")))
        .await
        .problem(409, "conflict");
    let contact_id = made["id"].as_str().unwrap();
    assert_eq!(
        app.send(delete(format!("/v1/clients/{c}/contacts/{contact_id}")))
            .await
            .status,
        204
    );
    assert_eq!(
        app.send(delete(format!("/v1/contact-roles/{billing}")))
            .await
            .status,
        204
    );
    assert_eq!(
        app.send(delete(format!("/v1/clients/{c}"))).await.status,
        204
    );
    assert_eq!(
        app.send(delete(format!("/v1/client-types/{individual}")))
            .await
            .status,
        204
    );
}

async fn an_opportunity_names_its_parties_data_and_questionnaires(app: TestApp) {
    let c = client(&app, &client_type(&app, "individual").await, "Smith").await;
    let ana = contact(
        &app,
        &c,
        json!({"name": "Ana", "role_id": "primary-contact"}),
    )
    .await["id"]
        .clone();
    let gus = contact(
        &app,
        &c,
        json!({"name": "Gus", "role_id": "company-contact"}),
    )
    .await["id"]
        .clone();
    let income = app
        .post(
            "/v1/questionnaires",
            json!({"name": "Income and expenses", "questions": [{"id": "employer", "label": "Employer", "kind": "text"}]}),
        )
        .await
        .body["id"]
        .clone();
    let made = app
        .post(
            &format!("/v1/clients/{c}/opportunities"),
            json!({
                "name": "Car loan",
                "parties": [{"contact_id": ana, "role": "primary_applicant"}, {"contact_id": gus, "role": "guarantor"}],
                "data": {"amount": "25000.00", "term_months": 48, "purpose": "vehicle"},
                "field_order": ["purpose", "amount"],
                "questionnaire_ids": [income]
            }),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    // The order the Customer Centre shows the fields in: the partner's, the rest after.
    assert_eq!(
        made.body["field_order"],
        json!(["purpose", "amount", "term_months"])
    );
    let path = format!(
        "/v1/clients/{c}/opportunities/{}",
        made.body["id"].as_str().unwrap()
    );
    let changed = app
        .patch(
            &path,
            "\"1\"",
            json!({"data": {"term_months": 60, "purpose": null, "deposit": 5000}}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        changed.body["data"],
        json!({"amount": "25000.00", "term_months": 60, "deposit": 5000})
    );
    // A removed field leaves the order; a new one joins at its end.
    assert_eq!(
        changed.body["field_order"],
        json!(["amount", "term_months", "deposit"])
    );
    let reordered = app
        .patch(
            &path,
            "\"2\"",
            json!({"field_order": ["deposit", "no_such_field", "deposit"]}),
        )
        .await;
    assert_eq!(reordered.status, 200, "{}", reordered.body);
    assert_eq!(
        reordered.body["field_order"],
        json!(["deposit", "amount", "term_months"])
    );
    let too_long = app
        .patch(&path, "\"3\"", json!({"field_order": vec!["x"; 201]}))
        .await;
    assert_eq!(too_long.status, 422, "{}", too_long.body);
    assert!(
        too_long.body.to_string().contains("field_order"),
        "{}",
        too_long.body
    );
    let listed = app.get(&format!("/v1/clients/{c}/opportunities")).await;
    assert_eq!(listed.body["items"][0]["parties"][1]["role"], "guarantor");
    assert_eq!(
        listed.body["items"][0]["questionnaire_ids"],
        json!([income])
    );
}

async fn an_opportunitys_parties_must_be_contacts_of_its_client(app: TestApp) {
    let individual = client_type(&app, "individual").await;
    let (mine, other) = (
        client(&app, &individual, "Mine").await,
        client(&app, &individual, "Other").await,
    );
    let outsider = contact(
        &app,
        &other,
        json!({"name": "Olga", "role_id": "primary-contact"}),
    )
    .await["id"]
        .clone();
    let ana = contact(
        &app,
        &mine,
        json!({"name": "Ana", "role_id": "primary-contact"}),
    )
    .await["id"]
        .clone();
    let path = format!("/v1/clients/{mine}/opportunities");
    let cases = [
        (
            json!([{"contact_id": ana, "role": "applicant"}, {"contact_id": outsider, "role": "guarantor"}]),
            "parties[1].contact_id",
        ),
        (
            json!([{"contact_id": ana, "role": "primary_applicant"}, {"contact_id": ana, "role": "guarantor"}]),
            "parties[1].contact_id",
        ),
        (json!([{"contact_id": ana, "role": ""}]), "parties[0].role"),
    ];
    for (parties, field) in cases {
        let answer = app
            .post(&path, json!({"name": "Loan", "parties": parties}))
            .await;
        assert_eq!(
            answer.problem(422, "validation")["errors"][0]["field"],
            field
        );
    }
    assert!(
        app.get(&path).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
