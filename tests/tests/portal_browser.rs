//! The Customer Centre end to end in a real headless browser: a partner invites an applicant
//! through the API; the invite e-mail is read back from the emulator's SES and its link opened
//! in chromium; the code texted through the emulator's SNS is typed in; the customer corrects
//! the application and submits a questionnaire. A screenshot of each page is saved under
//! `target/tmp/portal-browser/`.

use clientwatch::records;
use clientwatch_tests::Store;
use clientwatch_tests::api::TestApp;
use clientwatch_tests::browser::Browser;
use clientwatch_tests::portal::{
    code_in, deliver_through_emulator, emails_to, texts_to, unique_email, unique_mobile,
};
use serde_json::json;

/// The API and the portal on one loopback listener, as `clientwatch-local` serves them.
async fn serve(app: &mut TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let port = listener.local_addr().unwrap().port();
    // Browsers keep secure cookies over plain HTTP for localhost only.
    app.services.portal_url = format!("http://localhost:{port}");
    let api = clientwatch_tests::api::router(app.services.clone());
    let portal = clientwatch_portal::app(app.services.clone());
    let dispatch = tower::service_fn(move |request: axum::extract::Request| {
        let target = if request.uri().path().starts_with("/v1/") {
            api.clone()
        } else {
            portal.clone()
        };
        tower::ServiceExt::oneshot(target, request)
    });
    let router = axum::Router::new().fallback_service(dispatch);
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://localhost:{port}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_follows_the_emailed_link_and_the_texted_code_to_a_saved_edit_and_a_submitted_questionnaire()
 {
    let mut app = TestApp::new(Store::DynamoDb).await;
    // The browser's requests happen in real time; the clock follows it.
    app.harness.clock.set(chrono::Utc::now());
    deliver_through_emulator(&mut app.services).await;
    let base = serve(&mut app).await;
    let tenant = app.get("/v1/tenant").await;
    records::tenants::update(
        &app.services,
        &app.tenant_id,
        tenant.body["version"].as_u64().unwrap(),
        &json!({"name": "Harbour Lending"}),
    )
    .await
    .unwrap();

    let role = app
        .post(
            "/v1/contact-roles",
            json!({"name": "Borrower", "communication": true}),
        )
        .await;
    let client_type = app
        .post(
            "/v1/client-types",
            json!({"name": "Individuals", "class": "individual"}),
        )
        .await;
    let client = app
        .post(
            "/v1/clients",
            json!({"client_type_id": client_type.body["id"], "identity": {"kind": "individual", "first_name": "Aroha", "last_name": "Ngata", "date_of_birth": "1990-07-01"}}),
        )
        .await;
    let client = client.body["id"].as_str().unwrap().to_owned();
    let (email, mobile) = (unique_email("aroha"), unique_mobile());
    let contact = app
        .post(
            &format!("/v1/clients/{client}/contacts"),
            json!({"name": "Aroha Ngata", "email": email, "mobile": mobile, "role_id": role.body["id"]}),
        )
        .await;
    let questionnaire = app
        .post(
            "/v1/questionnaires",
            json!({"name": "Living costs", "questions": [
                {"id": "rent", "label": "Weekly rent or mortgage", "kind": "number", "required": true},
                {"id": "renting", "label": "Do you rent your home?", "kind": "yes_no", "required": true},
                {"id": "notes", "label": "Anything else we should know?", "kind": "long_text", "help": "For example, a change of job coming up."}
            ]}),
        )
        .await;
    assert_eq!(questionnaire.status, 201, "{}", questionnaire.body);
    let opportunity = app
        .post(
            &format!("/v1/clients/{client}/opportunities"),
            json!({
                "name": "Home loan top-up",
                "parties": [{"contact_id": contact.body["id"], "role": "primary_applicant"}],
                "data": {"employer": "Kauri Mills", "annual_income": 82000, "dependants": 1},
                "questionnaire_ids": [questionnaire.body["id"]],
            }),
        )
        .await;
    assert_eq!(opportunity.status, 201, "{}", opportunity.body);
    let opportunity_path = format!(
        "/v1/clients/{client}/opportunities/{}",
        opportunity.body["id"].as_str().unwrap()
    );
    let invite = app
        .post(
            &format!("{opportunity_path}/invites"),
            json!({"contact_id": contact.body["id"], "delivery": "email", "adviser": {"name": "Hemi Walker"}}),
        )
        .await;
    assert_eq!(invite.status, 201, "{}", invite.body);

    // The link, as the customer's mail program shows it.
    let mails = emails_to(&email).await;
    let (_, body) = mails.last().expect("the invite e-mail");
    let start = body.find(&base).expect("the e-mail links to the portal");
    let link: String = body[start..]
        .chars()
        .take_while(|c| !matches!(c, '"' | '<' | ' ' | '\n'))
        .collect();

    let folder = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("portal-browser");
    let mut browser = Browser::start(folder.clone()).await;
    browser.goto(&link).await;
    assert!(browser.text().await.contains("Hello Aroha"));
    browser.screenshot("link-landing").await;

    browser.click_through("form button[type=submit]").await;
    let url = browser.url().await;
    assert!(url.ends_with("/code"), "{url}: {}", browser.text().await);
    assert_eq!(browser.title().await, "Enter your code – Customer Centre");
    browser.screenshot("enter-code").await;

    let code = code_in(texts_to(&mobile).await.last().expect("the code's text"));
    browser.type_into("#f-code", &code).await;
    browser
        .click_through("form[action$='/verify'] button")
        .await;
    assert!(
        browser.url().await.ends_with("/app"),
        "{}",
        browser.url().await
    );
    let text = browser.text().await;
    assert!(text.contains("Home loan top-up"), "{text}");
    browser.screenshot("application").await;

    browser.type_into("#f-employer", "Rimu Timber Ltd").await;
    browser.type_into("#f-annual_income", "86500").await;
    browser
        .click_through("form[action='/app'] button[type=submit]")
        .await;
    assert!(browser.text().await.contains("Your changes were saved."));
    browser.screenshot("application-saved").await;

    let saved = app.get(&opportunity_path).await;
    assert_eq!(saved.body["data"]["employer"], "Rimu Timber Ltd");
    assert_eq!(saved.body["data"]["annual_income"], 86500);

    browser.click_through("a[href^='/app/q/']").await;
    assert_eq!(browser.title().await, "Living costs – Customer Centre");
    browser.screenshot("questionnaire").await;
    // Submitting without the required answers shows each problem by its question.
    browser.click_through("button[value=submit]").await;
    assert!(browser.title().await.starts_with("Error:"));
    assert!(browser.text().await.contains("There is a problem"));
    browser.screenshot("questionnaire-errors").await;
    browser.type_into("#f-q-2e-rent", "520").await;
    browser.click("#f-q-2e-renting").await;
    browser
        .type_into("#f-q-2e-notes", "Starting a new job in March.")
        .await;
    browser.click_through("button[value=submit]").await;
    assert!(
        browser
            .text()
            .await
            .contains("Your answers to Living costs were sent to Harbour Lending")
    );
    browser.screenshot("questionnaire-submitted").await;

    let answers = app.get(&format!("{opportunity_path}/answers")).await;
    assert_eq!(answers.body["items"][0]["status"], "submitted");
    assert_eq!(
        answers.body["items"][0]["answers"],
        json!({"rent": 520, "renting": true, "notes": "Starting a new job in March."})
    );

    browser.quit().await;
    let pictures = std::fs::read_dir(&folder).unwrap().count();
    assert_eq!(pictures, 7);
    println!("screenshots: {}", folder.display());
}
