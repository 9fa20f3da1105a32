//! The Customer Centre end to end in a real headless browser: a partner invites an applicant
//! through the API; the invite e-mail is read back from the emulator's SES and its link opened
//! in chromium; the code texted through the emulator's SNS is typed in; the customer corrects
//! the application and submits a questionnaire. Every page is looked at as a person would at a
//! phone's width (390 px) and a desktop's (1280 px) (`clientwatch_tests::look`: screenshots in
//! `target/screenshots/`, no sideways scrolling, readable text, touch targets, the header in
//! line with the content, no raw JSON, focus rings of 3:1), and what each page says is checked:
//! errors summarised in the order of the fields, answers read back as "Yes" and "31 March
//! 2020", the application's fields in the partner's order, the company named after sign-out.
//!
//! Then the account portal the same way: a client's contact follows the link in the monthly
//! statement e-mail, signs in with a texted code, reads the account, the invoices, a statement
//! (also as printed) and the messages, disputes one invoice and promises to pay another.

use clientwatch::records;
use clientwatch_tests::Store;
use clientwatch_tests::api::TestApp;
use clientwatch_tests::browser::Browser;
use clientwatch_tests::look::{COMPONENTS, components, look, screenshot_folder};
use clientwatch_tests::portal::{
    code_in, deliver_through_emulator, emails_to, texts_to, unique_email, unique_mobile,
};
use serde_json::{Value, json};

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

/// The error summary's links (href, text), after checking that focus is on the summary and
/// that its links lead to fields in the order they stand on the page.
async fn error_summary(browser: &Browser) -> Vec<(String, String)> {
    let summary = browser
        .script(
            "const links = [...document.querySelectorAll('.error-summary a')];
             const targets = links.map(a => document.getElementById(a.getAttribute('href').slice(1)));
             const ordered = targets.every((t, i) => t && (i === 0
               || (targets[i - 1].compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING)));
             return {
               focused: document.activeElement.classList.contains('error-summary'),
               first: document.querySelector('main').firstElementChild.className,
               ordered,
               links: links.map(a => [a.getAttribute('href'), a.innerText.trim()]),
             };",
            json!([]),
        )
        .await;
    assert_eq!(summary["first"], "error-summary", "the summary comes first");
    assert_eq!(summary["focused"], true, "focus moves to the summary");
    assert_eq!(
        summary["ordered"], true,
        "the summary follows the fields' order on the page: {summary}"
    );
    assert!(browser.title().await.starts_with("Error: "));
    summary["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l[0].as_str().unwrap().to_owned(),
                l[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The screenshots in `folder` whose names start with `prefix`.
fn pictures(folder: &std::path::Path, prefix: &str) -> Vec<Value> {
    std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|f| f.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(prefix) && name.ends_with(".png"))
        .map(Value::from)
        .collect()
}

/// The texts a script finds, in page order.
async fn texts(browser: &Browser, css: &str) -> Vec<String> {
    let found = browser
        .script(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText.trim())",
            json!([css]),
        )
        .await;
    serde_json::from_value(found).unwrap()
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
    // Its questions in an order that is not their ids' alphabetical one.
    let questionnaire = app
        .post(
            "/v1/questionnaires",
            json!({"name": "Living costs", "questions": [
                {"id": "rent", "label": "Weekly rent or mortgage", "kind": "number", "required": true},
                {"id": "renting", "label": "Do you rent your home?", "kind": "yes_no", "required": true},
                {"id": "moved_in", "label": "When did you move in?", "kind": "date", "required": true},
                {"id": "housing", "label": "Where do you live?", "kind": "choice", "required": true,
                 "options": ["A house", "A flat", "With family"]},
                {"id": "notes", "label": "Anything else we should know?", "kind": "long_text", "help": "For example, a change of job coming up."}
            ]}),
        )
        .await;
    assert_eq!(questionnaire.status, 201, "{}", questionnaire.body);
    let questionnaire_id = questionnaire.body["id"].as_str().unwrap().to_owned();
    let field_order = [
        "employer",
        "employer_address",
        "dependants",
        "annual_income",
        "insured",
    ];
    let opportunity = app
        .post(
            &format!("/v1/clients/{client}/opportunities"),
            json!({
                "name": "Home loan top-up",
                "parties": [{"contact_id": contact.body["id"], "role": "primary_applicant"}],
                "data": {
                    "employer": "Kauri Mills", "annual_income": 82000, "dependants": 1,
                    "insured": false,
                    "employer_address": {"street": "12 Wharf Road", "city": "Nelson", "since": "2018-04-01", "head_office": true},
                },
                "field_order": field_order,
                "questionnaire_ids": [questionnaire_id],
            }),
        )
        .await;
    assert_eq!(opportunity.status, 201, "{}", opportunity.body);
    assert_eq!(opportunity.body["field_order"], json!(field_order));
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

    let folder = screenshot_folder();
    for prefix in ["centre-", "portal-components"] {
        for old in pictures(&folder, prefix) {
            let _ = std::fs::remove_file(folder.join(old.as_str().unwrap()));
        }
    }
    let browser = Browser::start(folder.clone()).await;
    browser.goto(&link).await;
    assert!(browser.text().await.contains("Hello Aroha"));
    assert_eq!(look(&browser, "centre-landing").await, ["button"]);

    browser.click_through("form button[type=submit]").await;
    let url = browser.url().await;
    assert!(url.ends_with("/code"), "{url}: {}", browser.text().await);
    assert_eq!(browser.title().await, "Enter your code – Customer Centre");
    assert_eq!(
        look(&browser, "centre-code").await,
        ["input:text", "button"]
    );

    // A wrong code first: the summary says what to do and leads to the box.
    let code = code_in(texts_to(&mobile).await.last().expect("the code's text"));
    let wrong: String = code
        .chars()
        .map(|c| if c == '1' { '2' } else { '1' })
        .collect();
    browser.type_into("#f-code", &wrong).await;
    browser
        .click_through("form[action$='/verify'] button")
        .await;
    let summary = error_summary(&browser).await;
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0].0, "#f-code");
    assert!(
        summary[0].1.starts_with("That code is not right"),
        "{summary:?}"
    );
    look(&browser, "centre-code-error").await;

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
    // The fields in the partner's order; the address as labels and values, its date written out.
    assert_eq!(
        texts(
            &browser,
            "form[action='/app'] .field > label, form[action='/app'] .field legend, form[action='/app'] .field dl.fixed > dt"
        )
        .await,
        ["Employer", "Employer address", "Dependants", "Annual income", "Insured"]
    );
    assert_eq!(
        texts(&browser, "dl.nested > dt, dl.nested > dd").await,
        [
            "City",
            "Nelson",
            "Head office",
            "Yes",
            "Since",
            "1 April 2018",
            "Street",
            "12 Wharf Road"
        ]
    );
    let kinds = look(&browser, "centre-application").await;
    for kind in ["a", "button", "input:text", "input:radio"] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no {kind} reached: {kinds:?}"
        );
    }

    // The account portal's components, in this portal's frame and stylesheet, looked at the
    // same way before its pages exist.
    browser
        .script(
            "document.querySelector('main').innerHTML = arguments[0]",
            json!([COMPONENTS]),
        )
        .await;
    look(&browser, "portal-components").await;
    components(&browser).await;
    browser.goto(&format!("{base}/app")).await;

    // Two wrong values: summarised in the order of the page, not of the names.
    browser.type_into("#f-dependants", "several").await;
    browser.type_into("#f-annual_income", "-5").await;
    browser
        .click_through("form[action='/app'] button[type=submit]")
        .await;
    let summary = error_summary(&browser).await;
    assert_eq!(
        summary,
        [
            (
                "#f-dependants",
                "Enter a number for “Dependants”, such as 1250 or 1250.50"
            ),
            (
                "#f-annual_income",
                "Enter a number of 0 or more for “Annual income”"
            ),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    look(&browser, "centre-application-errors").await;

    browser.type_into("#f-employer", "Rimu Timber Ltd").await;
    browser.type_into("#f-dependants", "2").await;
    browser.type_into("#f-annual_income", "86500").await;
    browser.click("#f-insured").await;
    browser
        .click_through("form[action='/app'] button[type=submit]")
        .await;
    assert!(browser.text().await.contains("Your changes were saved."));
    look(&browser, "centre-application-saved").await;

    let saved = app.get(&opportunity_path).await;
    assert_eq!(saved.body["data"]["employer"], "Rimu Timber Ltd");
    assert_eq!(saved.body["data"]["annual_income"], 86500);
    assert_eq!(saved.body["data"]["insured"], true);

    browser.click_through("a[href^='/app/q/']").await;
    assert_eq!(browser.title().await, "Living costs – Customer Centre");
    let kinds = look(&browser, "centre-questionnaire").await;
    for kind in ["a", "button", "input:text", "input:radio", "textarea"] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no {kind} reached: {kinds:?}"
        );
    }
    // A date is three boxes, not the browser's mm/dd/yyyy.
    assert_eq!(
        texts(&browser, "fieldset .date-parts label").await,
        ["Day", "Month", "Year"]
    );
    // Submitting without the required answers, and a date without its month: each problem
    // in the order of the questions, the date's leading to its month.
    browser.type_into("#f-q-2e-moved_in-2e-day", "31").await;
    browser.type_into("#f-q-2e-moved_in-2e-year", "2020").await;
    browser.click_through("button[value=submit]").await;
    let summary = error_summary(&browser).await;
    assert_eq!(
        summary,
        [
            (
                "#f-q-2e-rent",
                "Enter an answer to “Weekly rent or mortgage”"
            ),
            (
                "#f-q-2e-renting",
                "Choose yes or no for “Do you rent your home?”"
            ),
            (
                "#f-q-2e-moved_in-2e-month",
                "“When did you move in?” must include a month"
            ),
            (
                "#f-q-2e-housing",
                "Choose an answer to “Where do you live?”"
            ),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    // Beside the date, its own message; what was typed stays.
    let beside: Vec<String> = texts(&browser, "#f-q-2e-moved_in-error")
        .await
        .iter()
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(beside, ["Error: The date must include a month"]);
    look(&browser, "centre-questionnaire-errors").await;

    browser.type_into("#f-q-2e-rent", "520").await;
    browser.click("#f-q-2e-renting").await;
    browser.type_into("#f-q-2e-moved_in-2e-month", "3").await;
    browser.click("#f-q-2e-housing").await;
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
    look(&browser, "centre-questionnaire-sent").await;

    let answers = app.get(&format!("{opportunity_path}/answers")).await;
    assert_eq!(answers.body["items"][0]["status"], "submitted");
    assert_eq!(
        answers.body["items"][0]["answers"],
        json!({"rent": 520, "renting": true, "moved_in": "2020-03-31", "housing": "A house", "notes": "Starting a new job in March."})
    );

    // The submitted answers, read-only, as people write them.
    browser
        .goto(&format!("{base}/app/q/{questionnaire_id}"))
        .await;
    let shown = texts(&browser, "dl.details > dd").await;
    assert_eq!(
        shown,
        [
            "520",
            "Yes",
            "31 March 2020",
            "A house",
            "Starting a new job in March."
        ]
    );
    look(&browser, "centre-questionnaire-answers").await;

    // A session that ends names the company the customer was dealing with.
    browser.goto(&format!("{base}/session-ended")).await;
    let text = browser.text().await;
    assert!(
        text.contains("Harbour Lending") && text.contains("Your session has ended"),
        "{text}"
    );
    look(&browser, "centre-session-ended").await;

    browser.goto(&format!("{base}/app")).await;
    browser.click_through("header form button").await;
    let text = browser.text().await;
    assert!(
        text.contains("You have signed out")
            && text.contains("open the link in your e-mail from Harbour Lending again"),
        "{text}"
    );
    look(&browser, "centre-signed-out").await;
    browser.goto(&format!("{base}/app")).await;
    assert!(browser.url().await.ends_with("/session-ended"));

    browser.goto(&format!("{base}/i/not-a-link")).await;
    assert!(browser.text().await.contains("This link is not valid"));
    look(&browser, "centre-link-invalid").await;

    browser.quit().await;
    let mut pictures = pictures(&folder, "centre-");
    pictures.extend(self::pictures(&folder, "portal-components"));
    assert_eq!(pictures.len(), 14 * 2, "{pictures:?}");
    println!("screenshots: {}", folder.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_follows_the_statement_link_reads_the_account_disputes_one_invoice_and_promises_another()
 {
    use chrono::{Datelike, Duration};
    use chrono_tz::Pacific::Auckland;

    let mut app = TestApp::new(Store::DynamoDb).await;
    deliver_through_emulator(&mut app.services).await;
    let base = serve(&mut app).await;
    // The run of the 1st sends the month's statement; the browser then works in real time.
    let today = chrono::Utc::now().with_timezone(&Auckland).date_naive();
    let first = today.with_day(1).unwrap();
    let at = clientwatch_tests::ten_in_auckland(first);
    app.harness.clock.set(at);
    let tenant = app.get("/v1/tenant").await;
    records::tenants::update(
        &app.services,
        &app.tenant_id,
        tenant.body["version"].as_u64().unwrap(),
        &json!({"name": "Harbour Lending", "portal": {"payment_url": "https://pay.example.com/harbour/{{invoice_number}}"}}),
    )
    .await
    .unwrap();
    let role = app
        .post(
            "/v1/contact-roles",
            json!({"name": "Accounts payable", "communication": true}),
        )
        .await;
    let client_type = app
        .post(
            "/v1/client-types",
            json!({"name": "Companies", "class": "company"}),
        )
        .await;
    let client = app
        .post(
            "/v1/clients",
            json!({"client_type_id": client_type.body["id"], "identity": {"kind": "company", "name": "Kauri Holdings Limited"}}),
        )
        .await;
    let client = client.body["id"].as_str().unwrap().to_owned();
    let (email, mobile) = (unique_email("ana"), unique_mobile());
    let contact = app
        .post(
            &format!("/v1/clients/{client}/contacts"),
            json!({"name": "Ana Tui", "email": email, "mobile": mobile, "role_id": role.body["id"]}),
        )
        .await;
    assert_eq!(contact.status, 201, "{}", contact.body);
    let day = |offset: i64| (today + Duration::days(offset)).to_string();
    for (number, issued, due, amount, status) in [
        ("HL-1041", -45, -15, "1250.00", "open"),
        ("HL-1042", -10, 20, "2480.50", "open"),
        ("HL-1043", -5, 25, "310.00", "open"),
        ("HL-1038", -80, -50, "640.00", "paid"),
    ] {
        let made = app
            .post(
                &format!("/v1/clients/{client}/invoices"),
                json!({"number": number, "issue_date": day(issued), "due_date": day(due), "amount": amount, "status": status,
                       "document_url": format!("https://docs.example.com/{number}.pdf")}),
            )
            .await;
        assert_eq!(made.status, 201, "{}", made.body);
    }
    clientwatch::comms::run::run_day(&app.services, first, &mut |_: &str| {})
        .await
        .expect("the run of the 1st");
    app.harness.clock.set(chrono::Utc::now());

    // The link, as the statement e-mail shows it.
    let mails = emails_to(&email).await;
    let (_, body) = mails
        .iter()
        .find(|(subject, _)| subject.to_lowercase().contains("statement"))
        .unwrap_or_else(|| panic!("the statement e-mail: {mails:?}"));
    let start = body
        .find(&format!("{base}/a/"))
        .expect("the statement links to the account");
    let link: String = body[start..]
        .chars()
        .take_while(|c| !matches!(c, '"' | '<' | ' ' | '\n' | '\r'))
        .collect();

    let folder = screenshot_folder();
    for old in pictures(&folder, "account-") {
        let _ = std::fs::remove_file(folder.join(old.as_str().unwrap()));
    }
    let browser = Browser::start(folder.clone()).await;
    browser.goto(&link).await;
    assert!(browser.text().await.contains("Hello Ana"));
    assert_eq!(look(&browser, "account-landing").await, ["button"]);
    browser.click_through("form button[type=submit]").await;
    assert!(browser.url().await.ends_with("/code"));
    look(&browser, "account-code").await;
    let code = code_in(texts_to(&mobile).await.last().expect("the code's text"));
    browser.type_into("#f-code", &code).await;
    browser
        .click_through("form[action$='/verify'] button")
        .await;
    assert!(
        browser.url().await.ends_with("/account"),
        "{}",
        browser.url().await
    );

    // The account: what is owed, what is overdue, what is due next.
    let figures = texts(&browser, "dl.summary dd").await;
    assert_eq!(
        figures,
        [
            "NZD 4,040.50",
            "NZD 1,250.00",
            clientwatch::render::long_date(today + Duration::days(20)).as_str()
        ]
    );
    look(&browser, "account-summary").await;

    browser
        .click_through("nav.tabs a[href='/account/invoices']")
        .await;
    let numbers = texts(&browser, "table.list tbody th").await;
    assert_eq!(numbers, ["HL-1041", "HL-1042", "HL-1043"]);
    let pay = browser
        .script(
            "return [...document.querySelectorAll('a.pay')].map(a => a.href)",
            json!([]),
        )
        .await;
    assert_eq!(pay[0], "https://pay.example.com/harbour/HL-1041");
    look(&browser, "account-invoices").await;
    browser
        .goto(&format!("{base}/account/invoices?show=paid"))
        .await;
    assert_eq!(texts(&browser, "table.list tbody th").await, ["HL-1038"]);
    look(&browser, "account-invoices-paid").await;

    // Disputing the overdue invoice: without a reason first.
    browser.goto(&format!("{base}/account/invoices")).await;
    browser.click_through("table.list tbody th a").await;
    assert!(browser.text().await.contains("Invoice HL-1041"));
    look(&browser, "account-invoice").await;
    browser
        .click_through("form[action$='/dispute'] button")
        .await;
    let summary = error_summary(&browser).await;
    assert_eq!(
        summary,
        [(
            "#f-reason".to_owned(),
            "Choose why you dispute the invoice".to_owned()
        )]
    );
    look(&browser, "account-dispute-error").await;
    browser.click("input[value='Amount is wrong']").await;
    browser
        .type_into("#f-comment", "We agreed NZD 1,000.00 on the phone.")
        .await;
    browser
        .click_through("form[action$='/dispute'] button")
        .await;
    let text = browser.text().await;
    assert!(text.contains("Harbour Lending has your dispute"), "{text}");
    assert!(text.contains("Ana Tui disputed this invoice"), "{text}");
    look(&browser, "account-disputed").await;

    // Promising to pay the next one in ten days.
    browser.goto(&format!("{base}/account/invoices")).await;
    browser
        .click_through("table.list tbody tr:nth-child(2) th a")
        .await;
    assert!(browser.text().await.contains("Invoice HL-1042"));
    let by = today + Duration::days(10);
    browser
        .script(
            "document.querySelector('#f-date').value = arguments[0]",
            json!([by.to_string()]),
        )
        .await;
    browser
        .click_through("form[action$='/promise'] button")
        .await;
    let text = browser.text().await;
    assert!(
        text.contains("Harbour Lending has your promise to pay"),
        "{text}"
    );
    assert!(text.contains(&clientwatch::render::long_date(by)), "{text}");
    look(&browser, "account-promised").await;

    // The statement of the 1st, on screen and as printed.
    browser
        .click_through("nav.tabs a[href='/account/statements']")
        .await;
    look(&browser, "account-statements").await;
    browser.click_through("table.list tbody th a").await;
    let text = browser.text().await;
    assert!(text.contains("Statement for"), "{text}");
    assert_eq!(
        texts(&browser, "table.list tbody th").await,
        ["HL-1041", "HL-1042", "HL-1043"],
        "as it was sent: before the dispute"
    );
    look(&browser, "account-statement").await;
    browser.print_media(true).await;
    browser
        .screenshot_at("account-statement-print-1280", 1280)
        .await;
    let hidden = browser
        .script(
            "return ['nav.tabs', 'header.site form'].map(s => getComputedStyle(document.querySelector(s)).display)",
            json!([]),
        )
        .await;
    assert_eq!(
        hidden,
        json!(["none", "none"]),
        "print drops the navigation"
    );
    browser.print_media(false).await;

    browser
        .click_through("nav.tabs a[href='/account/messages']")
        .await;
    assert!(browser.text().await.contains("Statement"));
    look(&browser, "account-messages").await;

    // The partner sees both answers.
    let invoices = app.get(&format!("/v1/clients/{client}/invoices")).await;
    let by_number = |n: &str| {
        invoices.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["number"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by_number("HL-1041")["status"], "disputed");
    assert_eq!(by_number("HL-1041")["dispute"]["reason"], "Amount is wrong");
    assert_eq!(by_number("HL-1042")["promise"]["date"], by.to_string());

    browser.click_through("header form button").await;
    assert!(browser.text().await.contains("You have signed out"));
    look(&browser, "account-signed-out").await;
    browser.quit().await;
    let pictures = pictures(&folder, "account-");
    assert_eq!(pictures.len(), 13 * 2 + 1, "{pictures:?}");
    println!("screenshots: {}", folder.display());
}
