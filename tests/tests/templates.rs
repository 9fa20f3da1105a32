//! E-mail templates for Customer Centre invites through the API, over both stores: the
//! resource's life (create, list, read, change under If-Match, delete), templates refused when
//! saved with a damaged tag or without their link (and nothing stored), the preview with its
//! example values escaped in the HTML part, the 50-template cap, and tenant isolation.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use clientwatch_tests::api::{Answer, TestApp};
use clientwatch_tests::over_both_stores;
use serde_json::{Value, json};

over_both_stores!(
    a_template_is_created_listed_read_changed_and_deleted,
    a_template_without_its_link_is_refused_naming_the_field,
    a_damaged_tag_is_refused_and_nothing_is_stored,
    a_patch_that_damages_a_template_leaves_the_stored_one_unchanged,
    the_preview_fills_in_example_values_escaped_in_the_html_only,
    the_preview_takes_an_invites_overrides_with_the_same_tags_only,
    a_tenant_has_at_most_fifty_templates_even_when_created_at_once,
    another_tenants_key_finds_no_template,
);

fn template() -> Value {
    json!({
        "name": "Broker invite",
        "subject": "{{ adviser_name }} from {{company_name}} invites you",
        "html": "<p>Hi {{first_name}},</p>\n<p><a href=\"{{link}}\">Open your application</a> before {{expires_on}}.</p>",
        "text": "Hi {{first_name}},\n\nOpen your application: {{link}}\nIt works until {{expires_on}}.",
    })
}

async fn create(app: &TestApp, body: Value) -> String {
    let created = app.post("/v1/email-templates", body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

async fn names(app: &TestApp) -> Vec<String> {
    let listed = app.get("/v1/email-templates?limit=100").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn delete(app: &TestApp, key: &str, path: &str, version: &str) -> Answer {
    let request = Request::delete(path)
        .header("authorization", format!("Bearer {key}"))
        .header("if-match", version)
        .body(Body::empty())
        .unwrap();
    app.send(request).await
}

/// The field and detail of a 422 answer.
#[track_caller]
fn refused(answer: &Answer) -> (String, String) {
    let problem = answer.problem(422, "validation");
    (
        problem["errors"][0]["field"].as_str().unwrap().to_owned(),
        problem["errors"][0]["detail"].as_str().unwrap().to_owned(),
    )
}

async fn a_template_is_created_listed_read_changed_and_deleted(app: TestApp) {
    let created = app.post("/v1/email-templates", template()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("etag"), Some("\"1\""));
    assert_eq!(created.body["subject"], template()["subject"]);
    let id = created.body["id"].as_str().unwrap();
    let path = format!("/v1/email-templates/{id}");

    assert_eq!(names(&app).await, ["Broker invite"]);
    let read = app.get(&path).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, created.body);

    let changed = app
        .patch(
            &path,
            "\"1\"",
            json!({"name": "Broker invite (short)", "text": "{{first_name}}, open {{link}} by {{expires_on}}."}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.header("etag"), Some("\"2\""));
    assert_eq!(changed.body["name"], "Broker invite (short)");
    assert_eq!(
        changed.body["html"],
        template()["html"],
        "fields not in the patch stay"
    );
    // A partner still holding version 1 is told, and changes nothing.
    app.patch(&path, "\"1\"", json!({"name": "Late"}))
        .await
        .problem(412, "stale");

    delete(&app, &app.admin_key, &path, "\"1\"")
        .await
        .problem(412, "stale");
    assert_eq!(
        delete(&app, &app.admin_key, &path, "\"2\"").await.status,
        204
    );
    app.get(&path).await.problem(404, "not-found");
    assert!(names(&app).await.is_empty());
}

async fn a_template_without_its_link_is_refused_naming_the_field(app: TestApp) {
    let mut no_link_in_text = template();
    no_link_in_text["text"] = json!("Hi {{first_name}}, see you soon.");
    let mut no_link_in_html = template();
    no_link_in_html["html"] = json!("<p>Hi {{first_name}}</p>");
    let mut link_in_subject = template();
    link_in_subject["subject"] = json!("Your link: {{link}}");
    for (body, field, says) in [
        (
            no_link_in_text,
            "text",
            "must contain the {{link}} merge tag",
        ),
        (
            no_link_in_html,
            "html",
            "must contain the {{link}} merge tag",
        ),
        (link_in_subject, "subject", "must not contain the {{link}}"),
    ] {
        let answer = app.post("/v1/email-templates", body).await;
        let (named, detail) = refused(&answer);
        assert_eq!(named, field, "{detail}");
        assert!(detail.contains(says), "{detail}");
    }
    assert!(names(&app).await.is_empty());
}

async fn a_damaged_tag_is_refused_and_nothing_is_stored(app: TestApp) {
    let mut unknown = template();
    unknown["text"] = json!("Hi {{first_name}},\n\nOpen {{lnk}}\n{{link}}");
    let mut unclosed = template();
    unclosed["html"] = json!("<p>Hi</p>\n<p><a href=\"{{link\">Open</a></p>");
    let mut stray = template();
    stray["subject"] = json!("Hello first_name}}");
    for (body, field, says) in [
        (
            unknown,
            "text",
            "the merge tag \"{{lnk}}\" at line 3 is not one of first_name, contact_name, \
             adviser_name, company_name, link, expires_on",
        ),
        (unclosed, "html", "\"{{link\" at line 2 is not closed"),
        (stray, "subject", "\"}}\" at line 1 closes no merge tag"),
    ] {
        let answer = app.post("/v1/email-templates", body).await;
        let (named, detail) = refused(&answer);
        assert_eq!(named, field, "{detail}");
        assert!(detail.contains(says), "{detail}");
        assert!(
            answer.body["detail"].as_str().unwrap().contains(says),
            "the problem's detail says it too"
        );
    }
    assert!(names(&app).await.is_empty());
}

async fn a_patch_that_damages_a_template_leaves_the_stored_one_unchanged(app: TestApp) {
    let id = create(&app, template()).await;
    let path = format!("/v1/email-templates/{id}");
    let before = app.get(&path).await.body;
    for (patch, field) in [
        (json!({"text": "Hi {{first_name}}, open {{link}"}), "text"),
        (json!({"html": "<p>The link is gone</p>"}), "html"),
        (json!({"subject": null}), "subject"),
        (json!({"colour": "blue"}), "colour"),
    ] {
        let answer = app.patch(&path, "\"1\"", patch.clone()).await;
        assert_eq!(refused(&answer).0, field, "{patch}");
    }
    let after = app.get(&path).await;
    assert_eq!(after.header("etag"), Some("\"1\""));
    assert_eq!(after.body, before);
}

async fn the_preview_fills_in_example_values_escaped_in_the_html_only(app: TestApp) {
    // The tenant's name is the company name; one with characters HTML must escape.
    let renamed = app
        .patch(
            "/v1/tenant",
            "\"1\"",
            json!({"name": "Smith & Sons <Lending>"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let mut body = template();
    body["html"] = json!("<h1>{{company_name}}</h1><a href=\"{{link}}\">Open</a>");
    let id = create(&app, body).await;
    let path = format!("/v1/email-templates/{id}/preview");

    // A read-only key may preview.
    let reader = app
        .post(
            "/v1/api-keys",
            json!({"name": "reader", "scopes": ["read"]}),
        )
        .await;
    let reader = reader.body["secret"].as_str().unwrap();
    let preview = app
        .call(Method::POST, &path, Some(reader), Some(json!({})))
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(
        preview.body["subject"],
        "Sam Taylor from Smith & Sons <Lending> invites you"
    );
    assert_eq!(
        preview.body["html"],
        "<h1>Smith &amp; Sons &lt;Lending&gt;</h1><a href=\"https://portal.example/i/EXAMPLE\">Open</a>"
    );
    let text = preview.body["text"].as_str().unwrap();
    assert!(
        text.starts_with("Hi Ana,\n\nOpen your application: https://portal.example/i/EXAMPLE\n"),
        "{text}"
    );
    assert!(!text.contains("{{"), "{text}");
    // Nothing was stored by it.
    assert_eq!(
        app.get(&format!("/v1/email-templates/{id}"))
            .await
            .header("etag"),
        Some("\"1\"")
    );
}

async fn the_preview_takes_an_invites_overrides_with_the_same_tags_only(app: TestApp) {
    let id = create(&app, template()).await;
    let path = format!("/v1/email-templates/{id}/preview");
    let overrides = json!({"overrides": {
        "subject": "A note from {{company_name}} & {{adviser_name}}",
        "text": "Kia ora {{first_name}},\n\nYour application <draft> is ready:\n{{link}}\n\nUntil {{expires_on}}.",
    }});
    let preview = app.post(&path, overrides).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(
        preview.body["subject"],
        "A note from Acme Lending & Sam Taylor"
    );
    assert!(
        preview.body["text"]
            .as_str()
            .unwrap()
            .starts_with("Kia ora Ana,\n\nYour application <draft> is ready:\n")
    );
    // The HTML part is made from the overridden text, not the template's html.
    let html = preview.body["html"].as_str().unwrap();
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(!html.contains("Open your application"), "{html}");
    assert!(
        html.contains("Your application &lt;draft&gt; is ready:<br>"),
        "{html}"
    );
    assert!(
        html.contains(
            "<a href=\"https://portal.example/i/EXAMPLE\" style=\"color:#0b57d0;word-break:break-all;\">https://portal.example/i/EXAMPLE</a>"
        ),
        "{html}"
    );

    let missing = json!({"overrides": {"text": "Hi {{first_name}}, open {{link}}"}});
    let (field, detail) = refused(&app.post(&path, missing).await);
    assert_eq!(field, "overrides.text");
    assert!(detail.contains("{{expires_on}}"), "{detail}");
    let added =
        json!({"overrides": {"subject": "{{adviser_name}} {{company_name}} {{first_name}}"}});
    let (field, detail) = refused(&app.post(&path, added).await);
    assert_eq!(field, "overrides.subject");
    assert!(detail.contains("{{first_name}}"), "{detail}");
    let unknown = json!({"overrides": {"html": "<p>{{link}}</p>"}});
    assert_eq!(refused(&app.post(&path, unknown).await).0, "overrides.html");
}

async fn a_tenant_has_at_most_fifty_templates_even_when_created_at_once(app: TestApp) {
    let app = Arc::new(app);
    let attempts: Vec<_> = (0..55)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let mut body = template();
                body["name"] = json!(format!("Template {i}"));
                app.post("/v1/email-templates", body).await
            })
        })
        .collect();
    let (mut created, mut refused) = (0, 0);
    for attempt in attempts {
        let answer = attempt.await.unwrap();
        match answer.status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {
                let detail = answer.body["detail"].as_str().unwrap();
                assert!(detail.contains("at most 50"), "{detail}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
    assert_eq!((created, refused), (50, 5));
    assert_eq!(names(&app).await.len(), 50);
    // Deleting one makes room for one.
    let first = app.get("/v1/email-templates?limit=1").await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/email-templates/{first}");
    assert_eq!(
        delete(&app, &app.admin_key, &path, "\"1\"").await.status,
        204
    );
    assert_eq!(
        app.post("/v1/email-templates", template()).await.status,
        201
    );
    app.post("/v1/email-templates", template())
        .await
        .problem(409, "conflict");
}

async fn another_tenants_key_finds_no_template(app: TestApp) {
    let id = create(&app, template()).await;
    let path = format!("/v1/email-templates/{id}");
    let other = app.other_tenant().await;

    let listed = app
        .call(Method::GET, "/v1/email-templates", Some(&other), None)
        .await;
    assert_eq!(listed.body["items"], json!([]));
    app.call(Method::GET, &path, Some(&other), None)
        .await
        .problem(404, "not-found");
    app.call(
        Method::POST,
        &format!("{path}/preview"),
        Some(&other),
        Some(json!({})),
    )
    .await
    .problem(404, "not-found");
    let request = Request::patch(&path)
        .header("authorization", format!("Bearer {other}"))
        .header("content-type", "application/merge-patch+json")
        .header("if-match", "\"1\"")
        .body(Body::from(json!({"name": "Taken over"}).to_string()))
        .unwrap();
    app.send(request).await.problem(404, "not-found");
    delete(&app, &other, &path, "\"1\"")
        .await
        .problem(404, "not-found");

    let mine = app.get(&path).await;
    assert_eq!(mine.header("etag"), Some("\"1\""));
    assert_eq!(mine.body["name"], "Broker invite");
}
