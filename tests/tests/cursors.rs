//! List cursors over both stores: opaque (no tenant id or key layout in them), still paging
//! every list to its end, and refused with a 422 naming `cursor` (never a 500) when they were
//! changed, cut short, given to another tenant or for another list, or have expired.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clientwatch_tests::api::{Answer, TestApp};
use clientwatch_tests::over_both_stores;
use serde_json::json;

over_both_stores!(
    a_cursor_pages_every_list_to_its_end_and_shows_no_keys,
    a_tampered_cursor_is_refused_with_422,
    a_truncated_cursor_is_refused_with_422,
    another_tenants_cursor_is_refused_with_422,
    another_lists_cursor_is_refused_with_422,
    an_expired_or_unsigned_cursor_is_refused_with_422,
);

async fn client(app: &TestApp, last_name: &str) -> String {
    let class = app
        .post(
            "/v1/client-types",
            json!({"name": format!("Type {last_name}"), "class": "individual"}),
        )
        .await;
    assert_eq!(class.status, 201, "{}", class.body);
    let answer = app
        .post(
            "/v1/clients",
            json!({
                "client_type_id": class.body["id"],
                "identity": {"kind": "individual", "first_name": "Ana", "last_name": last_name, "date_of_birth": "1980-02-03"},
            }),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

async fn contact(app: &TestApp, client: &str, name: &str) {
    let answer = app
        .post(
            &format!("/v1/clients/{client}/contacts"),
            json!({"name": name, "role_id": "primary-contact"}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
}

fn ids(answer: &Answer) -> Vec<String> {
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The first page of one item of `list` (which must hold at least two): its cursor.
async fn first_cursor(app: &TestApp, key: &str, list: &str) -> String {
    let answer = app
        .call(
            axum::http::Method::GET,
            &format!("{list}?limit=1"),
            Some(key),
            None,
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("{list} holds more than one item: {}", answer.body))
        .to_owned()
}

fn with_cursor(list: &str, cursor: &str) -> String {
    format!("{list}?limit=1&cursor={cursor}")
}

/// A 422 that names `cursor` and says nothing about keys or tenants.
#[track_caller]
fn refused(answer: &Answer, tenant_id: &str) {
    let body = answer.problem(422, "validation");
    assert_eq!(body["errors"][0]["field"], "cursor", "{body}");
    let text = format!("{} {}", body["detail"], body["errors"]);
    for secret in ["T#", "pk", "sk", "ROLE", tenant_id] {
        assert!(!text.contains(secret), "{secret:?} in {text}");
    }
}

async fn a_cursor_pages_every_list_to_its_end_and_shows_no_keys(app: TestApp) {
    let issued = app
        .post("/v1/api-keys", json!({"name": "CRM", "scopes": ["read"]}))
        .await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    let first = client(&app, "Smith").await;
    client(&app, "Jones").await;
    client(&app, "Brown").await;
    for name in ["Ana", "Tom", "Eve"] {
        contact(&app, &first, name).await;
    }
    let contacts = format!("/v1/clients/{first}/contacts");
    for list in [
        "/v1/contact-roles",
        "/v1/api-keys",
        "/v1/client-types",
        "/v1/clients",
        contacts.as_str(),
    ] {
        let whole = ids(&app.get(&format!("{list}?limit=200")).await);
        assert!(whole.len() >= 2, "{list}: {whole:?}");
        let mut paged = Vec::new();
        let mut answer = app.get(&format!("{list}?limit=1")).await;
        loop {
            paged.extend(ids(&answer));
            let Some(cursor) = answer.body["next_cursor"].as_str() else {
                break;
            };
            // Sealed: neither the tenant nor any item's key (which holds its id) can be read
            // out of it. Only strings long enough that random bytes cannot spell them by
            // chance are looked for (a two-byte "T#" turns up in one cursor in a few hundred).
            let raw = URL_SAFE_NO_PAD.decode(cursor).expect("base64url");
            let shown = String::from_utf8_lossy(&raw);
            for plain in std::iter::once(&app.tenant_id).chain(&whole) {
                assert!(
                    !shown.contains(plain.as_str()),
                    "{list}: the cursor shows {plain}"
                );
            }
            answer = app.get(&with_cursor(list, cursor)).await;
        }
        assert_eq!(paged, whole, "{list}");
    }
}

async fn a_tampered_cursor_is_refused_with_422(app: TestApp) {
    let cursor = first_cursor(&app, &app.admin_key, "/v1/contact-roles").await;
    // Change one character in the middle: the sealed position, not the framing.
    let mut chars: Vec<char> = cursor.chars().collect();
    let middle = chars.len() / 2;
    chars[middle] = if chars[middle] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let answer = app.get(&with_cursor("/v1/contact-roles", &tampered)).await;
    refused(&answer, &app.tenant_id);
    let not_base64 = app
        .get(&with_cursor("/v1/contact-roles", "%24%24%24"))
        .await;
    refused(&not_base64, &app.tenant_id);
}

async fn a_truncated_cursor_is_refused_with_422(app: TestApp) {
    let cursor = first_cursor(&app, &app.admin_key, "/v1/contact-roles").await;
    for cut in [cursor.len() - 1, cursor.len() / 2, 3] {
        let answer = app
            .get(&with_cursor("/v1/contact-roles", &cursor[..cut]))
            .await;
        refused(&answer, &app.tenant_id);
    }
}

async fn another_tenants_cursor_is_refused_with_422(app: TestApp) {
    let other = app.other_tenant().await;
    let theirs = first_cursor(&app, &other, "/v1/contact-roles").await;
    let answer = app.get(&with_cursor("/v1/contact-roles", &theirs)).await;
    refused(&answer, &app.tenant_id);
    // And the other tenant's own cursor still works for them.
    let own = app
        .call(
            axum::http::Method::GET,
            &with_cursor("/v1/contact-roles", &theirs),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(own.status, 200, "{}", own.body);
}

async fn another_lists_cursor_is_refused_with_422(app: TestApp) {
    let roles = first_cursor(&app, &app.admin_key, "/v1/contact-roles").await;
    client(&app, "Smith").await;
    client(&app, "Jones").await;
    let answer = app.get(&with_cursor("/v1/clients", &roles)).await;
    refused(&answer, &app.tenant_id);
    // The same route of another client is another list.
    let (a, b) = (client(&app, "Brown").await, client(&app, "Green").await);
    for name in ["Ana", "Tom"] {
        contact(&app, &a, name).await;
        contact(&app, &b, name).await;
    }
    let of_a = first_cursor(&app, &app.admin_key, &format!("/v1/clients/{a}/contacts")).await;
    let answer = app
        .get(&with_cursor(&format!("/v1/clients/{b}/contacts"), &of_a))
        .await;
    refused(&answer, &app.tenant_id);
}

async fn an_expired_or_unsigned_cursor_is_refused_with_422(app: TestApp) {
    let cursor = first_cursor(&app, &app.admin_key, "/v1/contact-roles").await;
    app.harness.clock.advance(chrono::Duration::hours(23));
    let answer = app.get(&with_cursor("/v1/contact-roles", &cursor)).await;
    assert_eq!(
        answer.status, 200,
        "a day-old cursor still works: {}",
        answer.body
    );
    app.harness.clock.advance(chrono::Duration::hours(2));
    let answer = app.get(&with_cursor("/v1/contact-roles", &cursor)).await;
    refused(&answer, &app.tenant_id);
    // The unsigned cursors of earlier versions (base64 of the table position), here one whose
    // sort key lies outside the list, which once answered 500.
    let position = json!({"pk": format!("T#{}", app.tenant_id), "sk": "TENANT"});
    let unsigned = URL_SAFE_NO_PAD.encode(position.to_string());
    let answer = app.get(&with_cursor("/v1/contact-roles", &unsigned)).await;
    refused(&answer, &app.tenant_id);
}
