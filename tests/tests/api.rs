//! The partner API's foundation, through the router, over both stores: authentication by API
//! key, scopes, tenant isolation, problem answers to bad input (and nothing written), request
//! ids, and pagination.

use axum::body::Body;
use axum::http::{Method, Request};
use clientwatch::ports::{Key, Query, SortKey};
use clientwatch_tests::api::TestApp;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use clientwatch_tests::over_both_stores;

over_both_stores!(
    health_answers_without_a_key,
    a_request_without_a_key_is_a_401_problem,
    an_unknown_or_malformed_key_is_refused,
    the_bootstrap_key_reads_its_own_tenant,
    an_issued_key_is_shown_once_and_stored_only_as_a_hash,
    a_revoked_key_stops_working_at_once,
    scopes_limit_what_a_key_may_do,
    malformed_json_is_a_400_problem_and_writes_nothing,
    wrong_and_unknown_fields_are_named_and_write_nothing,
    an_oversized_body_is_a_413_problem_and_writes_nothing,
    a_body_that_is_not_json_is_a_415_problem,
    unknown_routes_and_methods_are_problems_too,
    a_key_never_reaches_another_tenants_keys,
    keys_are_listed_page_by_page,
    a_bad_cursor_or_limit_is_a_problem,
    every_answer_carries_a_request_id,
);

/// The tenant's API keys as stored (listing items), to prove nothing was written.
async fn stored_key_count(app: &TestApp) -> usize {
    let query =
        Query::partition(format!("T#{}", app.tenant_id)).sk(SortKey::BeginsWith("APIKEY#".into()));
    app.services.table.query(query).await.unwrap().items.len()
}

async fn health_answers_without_a_key(app: TestApp) {
    let answer = app.call(Method::GET, "/v1/health", None, None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["status"], "ok");
}

async fn a_request_without_a_key_is_a_401_problem(app: TestApp) {
    let answer = app.call(Method::GET, "/v1/tenant", None, None).await;
    let problem = answer.problem(401, "unauthenticated");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer")
    );
    assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
}

async fn an_unknown_or_malformed_key_is_refused(app: TestApp) {
    let unknown = format!("cw_{}", "A".repeat(43));
    for key in [unknown.as_str(), "not-a-key", "", "cw_"] {
        let answer = app.call(Method::GET, "/v1/tenant", Some(key), None).await;
        answer.problem(401, "unauthenticated");
    }
    let request = Request::get("/v1/tenant")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .body(Body::empty())
        .unwrap();
    app.send(request).await.problem(401, "unauthenticated");
}

async fn the_bootstrap_key_reads_its_own_tenant(app: TestApp) {
    let answer = app.get("/v1/tenant").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["id"], app.tenant_id.as_str());
    assert_eq!(answer.body["name"], "Acme Lending");
    // The same key works as X-Api-Key.
    let request = Request::get("/v1/tenant")
        .header("x-api-key", &app.admin_key)
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(request).await.status, 200);
}

async fn an_issued_key_is_shown_once_and_stored_only_as_a_hash(app: TestApp) {
    let answer = app
        .post(
            "/v1/api-keys",
            json!({"name": "CRM sync", "scopes": ["read", "write"]}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let secret = answer.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("cw_") && secret.len() == 46, "{secret}");
    assert_eq!(answer.body["key"]["scopes"], json!(["read", "write"]));
    let id = answer.body["key"]["id"].as_str().unwrap();

    // The new key works, and reads its own tenant.
    let tenant = app
        .call(Method::GET, "/v1/tenant", Some(&secret), None)
        .await;
    assert_eq!(tenant.body["id"], app.tenant_id.as_str());

    // Listing shows the key but never its secret.
    let listed = app.get("/v1/api-keys").await;
    let text = listed.body.to_string();
    assert!(text.contains(id) && !text.contains(&secret), "{text}");

    // The store holds the secret's hash, not the secret.
    let hash = hex::encode(Sha256::digest(&secret));
    let lookup = app
        .services
        .table
        .get(&Key::new(format!("KEY#{hash}"), "KEY"))
        .await
        .unwrap();
    assert!(lookup.is_some());
    let query = Query::partition(format!("T#{}", app.tenant_id));
    let stored = app.services.table.query(query).await.unwrap();
    for item in stored.items.iter().chain(lookup.iter()) {
        assert!(
            !Value::Object(item.data.clone())
                .to_string()
                .contains(&secret)
        );
    }
}

async fn a_revoked_key_stops_working_at_once(app: TestApp) {
    let issued = app
        .post("/v1/api-keys", json!({"name": "old", "scopes": ["read"]}))
        .await;
    let (id, secret) = (
        issued.body["key"]["id"].as_str().unwrap(),
        issued.body["secret"].as_str().unwrap(),
    );
    let revoked = app.delete(&format!("/v1/api-keys/{id}")).await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert!(revoked.body["revoked_at"].is_string());
    app.call(Method::GET, "/v1/tenant", Some(secret), None)
        .await
        .problem(401, "unauthenticated");
    // Revoking again changes nothing and still answers with the key.
    let again = app.delete(&format!("/v1/api-keys/{id}")).await;
    assert_eq!(again.body["revoked_at"], revoked.body["revoked_at"]);
}

async fn scopes_limit_what_a_key_may_do(app: TestApp) {
    let issued = app
        .post(
            "/v1/api-keys",
            json!({"name": "reader", "scopes": ["read"]}),
        )
        .await;
    let reader = issued.body["secret"].as_str().unwrap();
    assert_eq!(
        app.call(Method::GET, "/v1/tenant", Some(reader), None)
            .await
            .status,
        200
    );
    let before = stored_key_count(&app).await;
    let answer = app
        .call(
            Method::POST,
            "/v1/api-keys",
            Some(reader),
            Some(json!({"name": "x", "scopes": ["admin"]})),
        )
        .await;
    assert!(
        answer.problem(403, "forbidden")["detail"]
            .as_str()
            .unwrap()
            .contains("`admin`")
    );
    app.call(Method::GET, "/v1/api-keys", Some(reader), None)
        .await
        .problem(403, "forbidden");
    assert_eq!(stored_key_count(&app).await, before);
}

async fn malformed_json_is_a_400_problem_and_writes_nothing(app: TestApp) {
    let before = stored_key_count(&app).await;
    for body in [
        "{\"name\": \"x\", ",
        "{\"name\": \"x\", \"scopes\": [\"read\"]} trailing",
        "[1, 2",
    ] {
        let request = Request::post("/v1/api-keys")
            .header("authorization", format!("Bearer {}", app.admin_key))
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let answer = app.send(request).await;
        let problem = answer.problem(400, "malformed-json");
        assert!(
            problem["detail"].as_str().unwrap().contains("line 1"),
            "{problem}"
        );
    }
    assert_eq!(stored_key_count(&app).await, before);
}

async fn wrong_and_unknown_fields_are_named_and_write_nothing(app: TestApp) {
    let before = stored_key_count(&app).await;
    let cases = [
        (
            json!({"name": "x", "scopes": ["read", "root"]}),
            "scopes[1]",
        ),
        (json!({"name": 7, "scopes": ["read"]}), "name"),
        (
            json!({"name": "x", "scopes": ["read"], "expires": "never"}),
            "expires",
        ),
        (json!({"scopes": ["read"]}), "name"),
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": "   ", "scopes": ["read"]}), "name"),
    ];
    for (body, field) in cases {
        let answer = app.post("/v1/api-keys", body.clone()).await;
        let problem = answer.problem(422, "validation");
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem:#}");
    }
    let unknown = app
        .post(
            "/v1/api-keys",
            json!({"name": "x", "scopes": ["read"], "expires": 1}),
        )
        .await;
    assert!(
        unknown.body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field `expires`")
    );
    assert_eq!(stored_key_count(&app).await, before);
}

async fn an_oversized_body_is_a_413_problem_and_writes_nothing(app: TestApp) {
    let before = stored_key_count(&app).await;
    let huge = json!({"name": "x".repeat(300 * 1024), "scopes": ["read"]});
    app.post("/v1/api-keys", huge)
        .await
        .problem(413, "body-too-large");
    assert_eq!(stored_key_count(&app).await, before);
}

async fn a_body_that_is_not_json_is_a_415_problem(app: TestApp) {
    let request = Request::post("/v1/api-keys")
        .header("authorization", format!("Bearer {}", app.admin_key))
        .header("content-type", "text/plain")
        .body(Body::from("name=x"))
        .unwrap();
    app.send(request)
        .await
        .problem(415, "unsupported-media-type");
}

async fn unknown_routes_and_methods_are_problems_too(app: TestApp) {
    app.get("/v1/nothing-here")
        .await
        .problem(404, "no-such-route");
    app.call(Method::PUT, "/v1/tenant", Some(&app.admin_key), None)
        .await
        .problem(405, "method-not-allowed");
}

async fn a_key_never_reaches_another_tenants_keys(app: TestApp) {
    let other = app.other_tenant().await;
    let mine = app
        .post("/v1/api-keys", json!({"name": "mine", "scopes": ["read"]}))
        .await;
    let my_key_id = mine.body["key"]["id"].as_str().unwrap();
    // The other tenant sees only its own keys and its own tenant.
    let listed = app
        .call(Method::GET, "/v1/api-keys", Some(&other), None)
        .await;
    assert!(!listed.body.to_string().contains(my_key_id));
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let tenant = app
        .call(Method::GET, "/v1/tenant", Some(&other), None)
        .await;
    assert_ne!(tenant.body["id"], app.tenant_id.as_str());
    // Revoking my key with theirs is "not found", exactly like a key that does not exist.
    let path = format!("/v1/api-keys/{my_key_id}");
    let foreign = app.call(Method::DELETE, &path, Some(&other), None).await;
    let missing = app
        .call(
            Method::DELETE,
            "/v1/api-keys/nonexistent",
            Some(&other),
            None,
        )
        .await;
    foreign.problem(404, "not-found");
    assert_eq!(foreign.body["detail"], missing.body["detail"]);
    assert_eq!(
        app.call(
            Method::GET,
            "/v1/tenant",
            Some(mine.body["secret"].as_str().unwrap()),
            None
        )
        .await
        .status,
        200
    );
}

async fn keys_are_listed_page_by_page(app: TestApp) {
    for i in 0..4 {
        app.post(
            "/v1/api-keys",
            json!({"name": format!("key {i}"), "scopes": ["read"]}),
        )
        .await;
    }
    let mut names = Vec::new();
    let mut path = "/v1/api-keys?limit=2".to_owned();
    loop {
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        names.extend(items.iter().map(|k| k["name"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/api-keys?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    names.sort();
    assert_eq!(names, ["bootstrap", "key 0", "key 1", "key 2", "key 3"]);
}

async fn a_bad_cursor_or_limit_is_a_problem(app: TestApp) {
    let answer = app.get("/v1/api-keys?cursor=nonsense").await;
    assert_eq!(
        answer.problem(422, "validation")["errors"][0]["field"],
        "cursor"
    );
    for limit in ["0", "201", "ten"] {
        let answer = app.get(&format!("/v1/api-keys?limit={limit}")).await;
        assert_eq!(
            answer.problem(422, "validation")["errors"][0]["field"],
            "limit"
        );
    }
}

async fn every_answer_carries_a_request_id(app: TestApp) {
    let ok = app.get("/v1/tenant").await;
    assert!(ok.header("x-request-id").is_some_and(|id| id.len() >= 16));
    let refused = app.call(Method::GET, "/v1/tenant", None, None).await;
    let id = refused.header("x-request-id").unwrap();
    assert_eq!(refused.body["request_id"], id);
    // A caller's own request id is kept, so partners can correlate.
    let request = Request::get("/v1/health")
        .header("x-request-id", "partner-req-42")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.send(request).await.header("x-request-id"),
        Some("partner-req-42")
    );
}
