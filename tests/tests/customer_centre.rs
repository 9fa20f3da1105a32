//! The Customer Centre over both stores: a partner invites an applicant through the API, the
//! invite e-mail is read back from the emulator's SES, its link followed, the code read back
//! from the emulator's SNS, and the customer edits their application in the portal. Then every
//! refusal: wrong codes, an expired, revoked or replaced link, a reused code, ineligible
//! contacts, forms without their token, and another customer's session.

use chrono::Duration;
use clientwatch::centre::{access, invites};
use clientwatch::ports::Key;
use clientwatch_tests::api::TestApp;
use clientwatch_tests::over_both_stores;
use clientwatch_tests::portal::{
    Customer, Page, code_in, deliver_through_emulator, emails_to, link_path, texts_to,
    unique_email, unique_mobile,
};
use serde_json::{Value, json};

over_both_stores!(
    an_invited_applicant_signs_in_with_the_emailed_link_and_the_texted_code_and_edits,
    opening_the_link_spends_and_changes_nothing,
    a_link_delivered_invite_returns_its_link_once,
    five_wrong_codes_use_up_a_code_and_too_many_lock_the_link,
    twenty_wrong_codes_at_once_are_each_counted_exactly,
    the_portal_forms_check_numbers_and_text_by_their_kind,
    a_burst_of_wrong_codes_with_the_right_one_never_tells_which_was_right,
    a_code_works_once_and_only_for_ten_minutes,
    codes_cannot_be_resent_at_once,
    an_expired_link_is_refused_on_every_request_and_the_sweep_reports_it_once,
    a_revoked_link_and_its_sessions_stop_working,
    regenerating_replaces_the_link,
    only_applicants_and_guarantors_with_an_email_and_a_mobile_are_invited,
    a_contact_has_one_open_invite_per_opportunity,
    forms_without_their_token_or_from_another_site_are_refused,
    a_session_reaches_only_its_own_invites_data,
    a_session_ends_after_thirty_idle_minutes_or_twelve_hours,
    the_pages_after_a_session_name_the_company_it_was_with,
    an_invite_email_follows_the_tenants_template_and_keeps_its_tags,
    an_applicant_answers_the_questionnaires_of_the_invite,
    a_client_goes_with_its_customer_centre_history_once_its_records_are_gone,
);

/// A client with an applicant (Ana), a guarantor (Gus) and a broker (Bo) on a loan application,
/// e-mail and SMS going through the emulator.
struct World {
    app: TestApp,
    client: String,
    opportunity: String,
    ana: Contact,
    gus: Contact,
    bo: Contact,
    /// Two questionnaires on the opportunity: income (every kind of question) and vehicle.
    income: String,
    vehicle: String,
}

struct Contact {
    id: String,
    email: String,
    mobile: String,
}

impl World {
    async fn new(mut app: TestApp) -> Self {
        deliver_through_emulator(&mut app.services).await;
        let role = app
            .post(
                "/v1/contact-roles",
                json!({"name": "Borrower", "communication": true}),
            )
            .await;
        let role = role.body["id"].as_str().unwrap().to_owned();
        let client_type = app
            .post(
                "/v1/client-types",
                json!({"name": "Individuals", "class": "individual"}),
            )
            .await;
        let client = app
            .post(
                "/v1/clients",
                json!({
                    "client_type_id": client_type.body["id"],
                    "identity": {"kind": "individual", "first_name": "Ana", "last_name": "Tui", "date_of_birth": "1985-04-12"},
                }),
            )
            .await;
        assert_eq!(client.status, 201, "{}", client.body);
        let client = client.body["id"].as_str().unwrap().to_owned();
        let mut people = Vec::new();
        for name in ["Ana Tui", "Gus Tui", "Bo Broker"] {
            let (email, mobile) = (
                unique_email(name.split(' ').next().unwrap()),
                unique_mobile(),
            );
            let made = app
                .post(
                    &format!("/v1/clients/{client}/contacts"),
                    json!({"name": name, "email": email, "mobile": mobile, "role_id": role}),
                )
                .await;
            assert_eq!(made.status, 201, "{}", made.body);
            people.push(Contact {
                id: made.body["id"].as_str().unwrap().to_owned(),
                email,
                mobile,
            });
        }
        let income = app
            .post(
                "/v1/questionnaires",
                json!({"name": "Income and expenses", "questions": [
                    {"id": "employer", "label": "Who do you work for?", "kind": "text", "required": true},
                    {"id": "income", "label": "Monthly income after tax", "kind": "number", "required": true},
                    {"id": "started", "label": "When did you start there?", "kind": "date"},
                    {"id": "renting", "label": "Do you rent your home?", "kind": "yes_no", "required": true},
                    {"id": "pay", "label": "How often are you paid?", "kind": "choice", "options": ["Weekly", "Fortnightly", "Monthly"], "required": true},
                    {"id": "notes", "label": "Anything else we should know?", "kind": "long_text"}
                ]}),
            )
            .await;
        assert_eq!(income.status, 201, "{}", income.body);
        let vehicle = app
            .post(
                "/v1/questionnaires",
                json!({"name": "Vehicle details", "questions": [{"id": "rego", "label": "Registration", "kind": "text"}]}),
            )
            .await;
        let (income, vehicle) = (
            income.body["id"].as_str().unwrap().to_owned(),
            vehicle.body["id"].as_str().unwrap().to_owned(),
        );
        let bo = people.pop().unwrap();
        let gus = people.pop().unwrap();
        let ana = people.pop().unwrap();
        let opportunity = app
            .post(
                &format!("/v1/clients/{client}/opportunities"),
                json!({
                    "name": "Car loan",
                    "parties": [
                        {"contact_id": ana.id, "role": "primary_applicant"},
                        {"contact_id": gus.id, "role": "guarantor"},
                        {"contact_id": bo.id, "role": "broker"},
                    ],
                    "data": {"loan_amount": 25000, "purpose": "vehicle", "employer": "Kauri Mills", "home_owner": false, "vehicle": {"make": "Toyota"}},
                    "questionnaire_ids": [income, vehicle],
                }),
            )
            .await;
        assert_eq!(opportunity.status, 201, "{}", opportunity.body);
        let opportunity = opportunity.body["id"].as_str().unwrap().to_owned();
        Self {
            app,
            client,
            opportunity,
            ana,
            gus,
            bo,
            income,
            vehicle,
        }
    }

    fn invites_path(&self) -> String {
        format!(
            "/v1/clients/{}/opportunities/{}/invites",
            self.client, self.opportunity
        )
    }

    fn opportunity_path(&self) -> String {
        format!(
            "/v1/clients/{}/opportunities/{}",
            self.client, self.opportunity
        )
    }

    /// Invites `who` by e-mail; returns the invite as the API answered it.
    async fn invite(&self, who: &Contact) -> Value {
        let answer = self
            .app
            .post(
                &self.invites_path(),
                json!({"contact_id": who.id, "delivery": "email", "adviser": {"name": "Mere Adviser", "email": "mere@acme.test"}}),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.body
    }

    /// The portal path of the newest invite e-mail to `who`.
    async fn emailed_link(&self, who: &Contact) -> String {
        let mails = emails_to(&who.email).await;
        let (_, body) = mails.last().expect("an invite e-mail");
        link_path(body)
    }

    /// The newest code texted to `who`.
    async fn texted_code(&self, who: &Contact) -> String {
        let texts = texts_to(&who.mobile).await;
        code_in(texts.last().expect("a text with a code"))
    }

    fn customer(&self) -> Customer {
        Customer::new(&self.app.services)
    }

    /// Opens the link and asks for a code; the code page.
    async fn ask_for_code(&self, customer: &mut Customer, link: &str) -> Page {
        let landing = customer.get(link).await;
        assert_eq!(landing.status, 200, "{}", landing.html);
        let form_token = landing.field("form_token").expect("a form token");
        let sent = customer
            .post(&format!("{link}/code"), &[("form_token", &form_token)])
            .await;
        assert_eq!(sent.status, 303, "{}", sent.html);
        customer.follow(sent).await
    }

    async fn enter_code(&self, customer: &mut Customer, link: &str, code: &str) -> Page {
        let form_token = customer.cookies["__Host-cw_form"].clone();
        customer
            .post(
                &format!("{link}/verify"),
                &[("form_token", &form_token), ("code", code)],
            )
            .await
    }

    /// The whole sign-in: link, code by SMS, session. Returns the application page.
    async fn sign_in(&self, customer: &mut Customer, who: &Contact) -> Page {
        let link = self.emailed_link(who).await;
        self.ask_for_code(customer, &link).await;
        let code = self.texted_code(who).await;
        let signed_in = self.enter_code(customer, &link, &code).await;
        assert_eq!(signed_in.status, 303, "{}", signed_in.html);
        assert_eq!(signed_in.location(), Some("/app"));
        customer.follow(signed_in).await
    }

    fn advance(&self, by: Duration) {
        self.app.harness.clock.advance(by);
    }
}

async fn an_invited_applicant_signs_in_with_the_emailed_link_and_the_texted_code_and_edits(
    app: TestApp,
) {
    let w = World::new(app).await;
    let invite = w.invite(&w.ana).await;
    assert_eq!(invite["status"], "active");
    assert_eq!(invite["sent_to"], json!(w.ana.email));
    assert!(invite.get("link").is_none(), "{invite:#}");
    assert!(invite.get("link_hash").is_none() && invite.get("code").is_none());
    assert_ne!(
        invite["mobile"],
        json!(w.ana.mobile),
        "the number is masked"
    );

    // The e-mail, as SES received it: to Ana, greeting her, with the link.
    let mails = emails_to(&w.ana.email).await;
    assert_eq!(mails.len(), 1);
    let (_, body) = &mails[0];
    assert!(body.contains("Ana"), "{body}");
    assert!(body.contains("Mere Adviser"), "{body}");
    let link = link_path(body);
    assert!(body.contains(&format!("https://centre.clientwatch.test{link}")));
    // It says which button gives the code, and until when the link works in the tenant's
    // zone (Auckland), with the zone named.
    assert!(body.contains("Text me a code"), "{body}");
    let expires: chrono::DateTime<chrono::Utc> =
        invite["expires_at"].as_str().unwrap().parse().unwrap();
    let local = expires.with_timezone(&chrono_tz::Pacific::Auckland);
    let zone = if body.contains("NZDT") {
        "NZDT"
    } else {
        "NZST"
    };
    assert!(
        body.contains(&format!(
            "{}, {} {zone}",
            local.format("%A %-d %B %Y"),
            local.format("%-I:%M %p")
        )),
        "expiry {local} in the tenant's zone: {body}"
    );

    // The landing page shows only the masked number.
    let mut ana = w.customer();
    let landing = ana.get(&link).await;
    assert_eq!(landing.status, 200);
    assert!(landing.shows("Hello Ana"));
    assert!(!landing.shows(&w.ana.mobile) && !landing.shows(&w.ana.mobile[3..]));
    assert!(landing.shows(&w.ana.mobile[w.ana.mobile.len() - 3..]));
    for (name, value) in [
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
        ("x-frame-options", "DENY"),
    ] {
        assert_eq!(landing.headers[name], value);
    }
    let csp = landing.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self'"));

    let code_page = w.ask_for_code(&mut ana, &link).await;
    assert!(code_page.shows("Enter your code"));
    let texts = texts_to(&w.ana.mobile).await;
    assert_eq!(texts.len(), 1);
    assert!(texts[0].contains("Acme Lending"), "{}", texts[0]);
    let code = code_in(&texts[0]);

    let signed_in = w.enter_code(&mut ana, &link, &code).await;
    assert_eq!(signed_in.status, 303);
    let cookie = signed_in
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-cw_session="))
        .expect("a session cookie");
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Domain"),
        "a __Host- cookie has no Domain: {cookie}"
    );
    let secret = ana.cookies["__Host-cw_session"].clone();
    assert!(secret.len() >= 22, "at least 128 bits");
    // Only the session id's hash is a key in the store.
    let stored = w
        .app
        .services
        .table
        .get(&Key::new(format!("SESSION#{secret}"), "SESSION"))
        .await
        .unwrap();
    assert!(stored.is_none());

    // The application, with its fields; a structured one is shown, not editable.
    let page = ana.follow(signed_in).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.shows("Car loan") && page.shows("Kauri Mills"));
    assert_eq!(page.field("f.employer").as_deref(), Some("Kauri Mills"));
    assert!(page.field("f.vehicle").is_none());
    let (csrf, version) = (page.field("csrf").unwrap(), page.field("version").unwrap());

    // A bad number is explained next to its field, and nothing is saved.
    let refused = ana
        .post(
            "/app",
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("f.loan_amount", "lots"),
                ("f.employer", "Rimu Timber"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.shows("There is a problem") && refused.shows("Enter a number"));
    assert_eq!(refused.field("f.employer").as_deref(), Some("Rimu Timber"));
    let unchanged = w.app.get(&w.opportunity_path()).await;
    assert_eq!(unchanged.body["data"]["employer"], "Kauri Mills");

    let saved = ana
        .post(
            "/app",
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("f.loan_amount", "27,500"),
                ("f.employer", "Rimu Timber"),
                ("f.home_owner", "yes"),
                ("f.purpose", "vehicle"),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.html);
    assert!(saved.shows("Your changes were saved."));

    // The partner sees the change, who made it and when, and got an event.
    let opportunity = w.app.get(&w.opportunity_path()).await;
    assert_eq!(
        opportunity.body["data"],
        json!({"loan_amount": 27500, "purpose": "vehicle", "employer": "Rimu Timber", "home_owner": true, "vehicle": {"make": "Toyota"}})
    );
    let events = w.app.events.recorded();
    let updated: Vec<_> = events
        .iter()
        .filter(|e| e.detail_type == "CustomerCentreUpdated")
        .collect();
    assert_eq!(updated.len(), 1);
    let detail = &updated[0].detail;
    assert_eq!(detail["tenant_id"], json!(w.app.tenant_id));
    assert_eq!(detail["opportunity_id"], json!(w.opportunity));
    assert_eq!(detail["contact_id"], json!(w.ana.id));
    assert_eq!(detail["invite_id"], invite["id"]);
    assert_eq!(detail["action"], "application_edited");
    let fields: Vec<&str> = detail["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["employer", "home_owner", "loan_amount"]);
    assert_eq!(
        detail["changes"][1],
        json!({"field": "home_owner", "from": false, "to": true})
    );

    // An edit from a page older than the last save is refused, not silently applied.
    let stale = ana
        .post(
            "/app",
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("f.employer", "Old"),
            ],
        )
        .await;
    assert_eq!(stale.status, 409);
    assert!(stale.shows("changed while you were editing"));
    assert_eq!(
        w.app.get(&w.opportunity_path()).await.body["data"]["employer"],
        "Rimu Timber"
    );

    // Signing out ends the session in the store, not only in the browser.
    let out = ana.post("/app/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(
        access::resume(&w.app.services, &secret)
            .await
            .unwrap()
            .is_none()
    );
    let after = ana.get("/app").await;
    assert_eq!(after.location(), Some("/session-ended"));
}

async fn opening_the_link_spends_and_changes_nothing(app: TestApp) {
    let w = World::new(app).await;
    let invite = w.invite(&w.ana).await;
    let link = w.emailed_link(&w.ana).await;
    for _ in 0..3 {
        // A mail scanner, then the customer, then a preview: all GETs.
        assert_eq!(Customer::new(&w.app.services).get(&link).await.status, 200);
        assert_eq!(
            Customer::new(&w.app.services)
                .get(&format!("{link}/code"))
                .await
                .status,
            303,
            "no code was asked for, so the code page leads back to the link"
        );
    }
    assert!(texts_to(&w.ana.mobile).await.is_empty());
    let path = format!("{}/{}", w.invites_path(), invite["id"].as_str().unwrap());
    let after = w.app.get(&path).await;
    assert_eq!(after.body["version"], invite["version"]);
    // And the customer can still sign in.
    let page = w.sign_in(&mut w.customer(), &w.ana).await;
    assert!(page.shows("Your application"));
}

async fn a_link_delivered_invite_returns_its_link_once(app: TestApp) {
    let w = World::new(app).await;
    let answer = w
        .app
        .send(
            http::Request::post(w.invites_path())
                .header("authorization", format!("Bearer {}", w.app.admin_key))
                .header("content-type", "application/json")
                .header("idempotency-key", "invite-gus-1")
                .body(axum::body::Body::from(
                    json!({"contact_id": w.gus.id, "delivery": "link"}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let link = answer.body["link"].as_str().unwrap().to_owned();
    assert!(link.starts_with("https://centre.clientwatch.test/i/"));
    assert!(emails_to(&w.gus.email).await.is_empty(), "nothing e-mailed");

    // Not in a later read, and not in a replay of the same request.
    let id = answer.body["id"].as_str().unwrap();
    let read = w.app.get(&format!("{}/{id}", w.invites_path())).await;
    assert!(read.body.get("link").is_none());
    assert!(!read.body.to_string().contains(&link[link.len() - 43..]));
    let replay = w
        .app
        .send(
            http::Request::post(w.invites_path())
                .header("authorization", format!("Bearer {}", w.app.admin_key))
                .header("content-type", "application/json")
                .header("idempotency-key", "invite-gus-1")
                .body(axum::body::Body::from(
                    json!({"contact_id": w.gus.id, "delivery": "link"}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    replay.problem(409, "conflict");
    assert!(!replay.body.to_string().contains(&link[link.len() - 43..]));

    // The pasted link still needs the texted code.
    let mut gus = w.customer();
    let path = link_path(&link);
    w.ask_for_code(&mut gus, &path).await;
    let code = w.texted_code(&w.gus).await;
    let signed_in = w.enter_code(&mut gus, &path, &code).await;
    assert_eq!(signed_in.location(), Some("/app"));
}

async fn five_wrong_codes_use_up_a_code_and_too_many_lock_the_link(app: TestApp) {
    let w = World::new(app).await;
    w.invite(&w.ana).await;
    let link = w.emailed_link(&w.ana).await;
    let mut ana = w.customer();
    w.ask_for_code(&mut ana, &link).await;
    let right = w.texted_code(&w.ana).await;
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for left in (0..5).rev() {
        let page = w.enter_code(&mut ana, &link, wrong).await;
        assert_eq!(page.status, 400);
        if left > 0 {
            assert!(page.shows(&format!("({left} tr")), "{}", page.html);
        } else {
            assert!(
                page.shows("entered wrongly too many times"),
                "{}",
                page.html
            );
        }
    }
    // The right code no longer opens anything: it had its five tries.
    let page = w.enter_code(&mut ana, &link, &right).await;
    assert_eq!(page.status, 400);
    assert!(page.shows("entered wrongly too many times"));
    assert!(!ana.cookies.contains_key("__Host-cw_session"));

    // A new code works, but the wrong tries count on: five more wrong ones lock the link,
    // and a resend does not reset that count.
    w.advance(Duration::seconds(61));
    w.ask_for_code(&mut ana, &link).await;
    for _ in 0..4 {
        w.enter_code(&mut ana, &link, wrong).await;
    }
    w.advance(Duration::seconds(61));
    w.ask_for_code(&mut ana, &link).await;
    let locked = w.enter_code(&mut ana, &link, wrong).await;
    assert_eq!(locked.status, 403, "{}", locked.html);
    assert!(locked.shows("This link is locked"));
    let newest = w.texted_code(&w.ana).await;
    let still = w.enter_code(&mut ana, &link, &newest).await;
    assert!(still.shows("This link is locked"));
    assert_eq!(
        w.app.get(&w.invites_path()).await.body["items"][0]["status"],
        "locked"
    );

    // Regenerating opens it again with a new link.
    let id = w.app.get(&w.invites_path()).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = w
        .app
        .post(&format!("{}/{id}/regenerate", w.invites_path()), json!({}))
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    w.sign_in(&mut w.customer(), &w.ana).await;
}

async fn a_code_works_once_and_only_for_ten_minutes(app: TestApp) {
    let w = World::new(app).await;
    w.invite(&w.ana).await;
    let link = w.emailed_link(&w.ana).await;

    // Too late: eleven minutes after it was sent.
    let mut late = w.customer();
    w.ask_for_code(&mut late, &link).await;
    let code = w.texted_code(&w.ana).await;
    w.advance(Duration::minutes(11));
    let page = w.enter_code(&mut late, &link, &code).await;
    assert!(
        page.shows("That code has expired or was already used"),
        "{}",
        page.html
    );

    // Used once, then refused: also from another browser.
    let mut ana = w.customer();
    w.ask_for_code(&mut ana, &link).await;
    let code = w.texted_code(&w.ana).await;
    assert_eq!(w.enter_code(&mut ana, &link, &code).await.status, 303);
    let mut thief = w.customer();
    thief.get(&link).await;
    let reused = w.enter_code(&mut thief, &link, &code).await;
    assert_eq!(reused.status, 400);
    assert!(reused.shows("That code has expired or was already used"));
    assert!(!thief.cookies.contains_key("__Host-cw_session"));
}

async fn codes_cannot_be_resent_at_once(app: TestApp) {
    let w = World::new(app).await;
    w.invite(&w.ana).await;
    let link = w.emailed_link(&w.ana).await;
    let mut ana = w.customer();
    w.ask_for_code(&mut ana, &link).await;
    let form_token = ana.cookies["__Host-cw_form"].clone();
    let again = ana
        .post(&format!("{link}/code"), &[("form_token", &form_token)])
        .await;
    assert_eq!(again.status, 429);
    assert!(again.shows("You can ask for another in"), "{}", again.html);
    assert_eq!(texts_to(&w.ana.mobile).await.len(), 1);
    // At most five a day, a minute apart.
    for _ in 0..4 {
        w.advance(Duration::seconds(61));
        let sent = ana
            .post(&format!("{link}/code"), &[("form_token", &form_token)])
            .await;
        assert_eq!(sent.status, 303);
    }
    w.advance(Duration::seconds(61));
    let sixth = ana
        .post(&format!("{link}/code"), &[("form_token", &form_token)])
        .await;
    assert_eq!(sixth.status, 429);
    assert!(sixth.shows("the most codes allowed in a day"));
    assert_eq!(texts_to(&w.ana.mobile).await.len(), 5);
}

async fn an_expired_link_is_refused_on_every_request_and_the_sweep_reports_it_once(app: TestApp) {
    let w = World::new(app).await;
    let invite = w.invite(&w.ana).await;
    let mut ana = w.customer();
    let page = w.sign_in(&mut ana, &w.ana).await;
    let csrf = page.field("csrf").unwrap();
    let link = w.emailed_link(&w.ana).await;

    // A week later (the session kept alive all along would not help either).
    w.advance(Duration::days(7) + Duration::seconds(1));
    let landing = ana.get(&link).await;
    assert_eq!(landing.status, 410);
    assert!(landing.shows("This link has expired") && landing.shows("send you a new one"));
    assert_eq!(ana.get("/app").await.location(), Some("/session-ended"));
    let form_token = ana
        .cookies
        .get("__Host-cw_form")
        .cloned()
        .unwrap_or_default();
    let code = ana
        .post(&format!("{link}/code"), &[("form_token", &form_token)])
        .await;
    assert_eq!(code.status, 410);
    let edit = ana
        .post("/app", &[("csrf", &csrf), ("f.employer", "X")])
        .await;
    assert_eq!(edit.location(), Some("/session-ended"));
    let path = format!("{}/{}", w.invites_path(), invite["id"].as_str().unwrap());
    assert_eq!(w.app.get(&path).await.body["status"], "expired");

    // The sweep marks it and tells partners once.
    let report = invites::expire_due(&w.app.services).await.unwrap();
    assert_eq!(report.expired, 1);
    let again = invites::expire_due(&w.app.services).await.unwrap();
    assert_eq!(again.expired, 0);
    let expired: Vec<_> = w
        .app
        .events
        .recorded()
        .into_iter()
        .filter(|e| e.detail_type == "InviteExpired")
        .collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].detail["invite_id"], invite["id"]);
    assert_eq!(expired[0].detail["tenant_id"], json!(w.app.tenant_id));
    let read = w.app.get(&path).await;
    assert_eq!(read.body["status"], "expired");
    assert!(read.body["expired_at"].is_string());

    // The store removes the records after the retention period.
    let item = w
        .app
        .services
        .table
        .get(&clientwatch::keys::invite(
            &w.app.tenant_id,
            &w.client,
            &w.opportunity,
            invite["id"].as_str().unwrap(),
        ))
        .await
        .unwrap()
        .unwrap();
    let keep_until = item.expires_at.expect("a TTL");
    let link_end = chrono::DateTime::parse_from_rfc3339(invite["expires_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert_eq!(keep_until - link_end, invites::KEEP_DAYS * 86_400);
}

async fn a_revoked_link_and_its_sessions_stop_working(app: TestApp) {
    let w = World::new(app).await;
    let invite = w.invite(&w.ana).await;
    let mut ana = w.customer();
    w.sign_in(&mut ana, &w.ana).await;
    let link = w.emailed_link(&w.ana).await;
    let path = format!("{}/{}", w.invites_path(), invite["id"].as_str().unwrap());
    let revoked = w.app.post(&format!("{path}/revoke"), json!({})).await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(revoked.body["status"], "revoked");

    assert_eq!(ana.get("/app").await.location(), Some("/session-ended"));
    let landing = w.customer().get(&link).await;
    assert_eq!(landing.status, 410);
    assert!(landing.shows("This link is no longer valid"));
    // A revoked invite is final; the contact can be invited afresh.
    let regenerate = w.app.post(&format!("{path}/regenerate"), json!({})).await;
    regenerate.problem(409, "conflict");
    w.invite(&w.ana).await;
    w.sign_in(&mut w.customer(), &w.ana).await;
}

async fn regenerating_replaces_the_link(app: TestApp) {
    let w = World::new(app).await;
    let invite = w.invite(&w.ana).await;
    let old = w.emailed_link(&w.ana).await;
    let mut ana = w.customer();
    w.sign_in(&mut ana, &w.ana).await;
    w.advance(Duration::days(6));
    let path = format!("{}/{}", w.invites_path(), invite["id"].as_str().unwrap());
    let again = w.app.post(&format!("{path}/regenerate"), json!({})).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["generation"], 2);
    assert!(again.body["expires_at"].as_str() > invite["expires_at"].as_str());

    let new = w.emailed_link(&w.ana).await;
    assert_ne!(new, old);
    assert_eq!(emails_to(&w.ana.email).await.len(), 2);
    let landing = w.customer().get(&old).await;
    assert_eq!(landing.status, 410);
    assert!(landing.shows("A newer link was sent"));
    assert_eq!(ana.get("/app").await.location(), Some("/session-ended"));
    // Two more days: past the first link's week, inside the new one's.
    w.advance(Duration::days(2));
    let page = w.sign_in(&mut w.customer(), &w.ana).await;
    assert!(page.shows("Your application"));
}

async fn only_applicants_and_guarantors_with_an_email_and_a_mobile_are_invited(app: TestApp) {
    let w = World::new(app).await;
    let refused = w
        .app
        .post(
            &w.invites_path(),
            json!({"contact_id": w.bo.id, "delivery": "email"}),
        )
        .await;
    let problem = refused.problem(422, "validation");
    assert!(
        problem["detail"].as_str().unwrap().contains("broker"),
        "{problem:#}"
    );
    assert_eq!(problem["errors"][0]["field"], "contact_id");

    // Gus loses his mobile, then his e-mail: each refusal says which is missing.
    let gus = format!("/v1/clients/{}/contacts/{}", w.client, w.gus.id);
    let version = w.app.get(&gus).await.body["version"].to_string();
    let changed = w.app.patch(&gus, &version, json!({"mobile": null})).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let refused = w
        .app
        .post(
            &w.invites_path(),
            json!({"contact_id": w.gus.id, "delivery": "email"}),
        )
        .await;
    assert!(
        refused.problem(422, "validation")["detail"]
            .as_str()
            .unwrap()
            .contains("no mobile number")
    );
    let version = changed.body["version"].to_string();
    w.app
        .patch(
            &gus,
            &version,
            json!({"mobile": w.gus.mobile, "email": null}),
        )
        .await;
    let refused = w
        .app
        .post(
            &w.invites_path(),
            json!({"contact_id": w.gus.id, "delivery": "link"}),
        )
        .await;
    assert!(
        refused.problem(422, "validation")["detail"]
            .as_str()
            .unwrap()
            .contains("no e-mail address")
    );

    // Not a party at all, and an unknown opportunity.
    let outsider = w
        .app
        .post(
            &w.invites_path(),
            json!({"contact_id": "nobody", "delivery": "email"}),
        )
        .await;
    assert!(
        outsider.problem(422, "validation")["detail"]
            .as_str()
            .unwrap()
            .contains("not a party")
    );
    let unknown = w
        .app
        .post(
            &format!("/v1/clients/{}/opportunities/nope/invites", w.client),
            json!({"contact_id": w.ana.id, "delivery": "email"}),
        )
        .await;
    unknown.problem(404, "not-found");
    assert!(
        w.app.get(&w.invites_path()).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(emails_to(&w.bo.email).await.is_empty());
}

async fn a_contact_has_one_open_invite_per_opportunity(app: TestApp) {
    let w = World::new(app).await;
    w.invite(&w.ana).await;
    let second = w
        .app
        .post(
            &w.invites_path(),
            json!({"contact_id": w.ana.id, "delivery": "email"}),
        )
        .await;
    assert!(
        second.problem(409, "conflict")["detail"]
            .as_str()
            .unwrap()
            .contains("regenerate or revoke")
    );
    assert_eq!(emails_to(&w.ana.email).await.len(), 1);
    // Gus is a different invitee, and sees the same application.
    w.invite(&w.gus).await;
    let page = w.sign_in(&mut w.customer(), &w.gus).await;
    assert!(page.shows("Hello Gus") && page.shows("Kauri Mills"));
    assert_eq!(
        w.app.get(&w.invites_path()).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

async fn forms_without_their_token_or_from_another_site_are_refused(app: TestApp) {
    let w = World::new(app).await;
    w.invite(&w.ana).await;
    let link = w.emailed_link(&w.ana).await;
    let mut ana = w.customer();
    ana.get(&link).await;
    // Before sign-in: the code form without its token, or with another browser's.
    let missing = ana.post(&format!("{link}/code"), &[]).await;
    assert_eq!(missing.status, 403);
    let forged = ana
        .post(
            &format!("{link}/code"),
            &[("form_token", "A".repeat(43).as_str())],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(texts_to(&w.ana.mobile).await.is_empty());

    let page = w.sign_in(&mut ana, &w.ana).await;
    let version = page.field("version").unwrap();
    // After: the application form without the session's token.
    let missing = ana
        .post(
            "/app",
            &[("version", &version), ("f.employer", "Forged Ltd")],
        )
        .await;
    assert_eq!(missing.status, 403);
    assert!(missing.shows("This form has expired"));
    // From another site, even with the token.
    let csrf = page.field("csrf").unwrap();
    let same_site = ana
        .post(
            "/app",
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("f.employer", "Forged"),
            ],
        )
        .await;
    assert_eq!(
        same_site.status, 200,
        "the same form from the portal is accepted"
    );
    let response = tower::ServiceExt::oneshot(
        clientwatch_portal::app(w.app.services.clone()),
        http::Request::post("/app")
            .header("host", "centre.clientwatch.test")
            .header("origin", "https://evil.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "cookie",
                format!("__Host-cw_session={}", ana.cookies["__Host-cw_session"]),
            )
            .body(axum::body::Body::from(format!(
                "csrf={csrf}&version=0&f.employer=Evil"
            )))
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 403);
    let data = w.app.get(&w.opportunity_path()).await.body["data"].clone();
    assert_eq!(
        data["employer"], "Forged",
        "only the portal's own form with its token saved"
    );
}

async fn a_session_reaches_only_its_own_invites_data(app: TestApp) {
    let w = World::new(app).await;
    // A second opportunity of the same client, with Gus as its applicant.
    let other = w
        .app
        .post(
            &format!("/v1/clients/{}/opportunities", w.client),
            json!({"name": "Boat loan", "parties": [{"contact_id": w.gus.id, "role": "applicant"}], "data": {"secret_field": "Gus only"}}),
        )
        .await;
    let other_path = format!(
        "/v1/clients/{}/opportunities/{}/invites",
        w.client,
        other.body["id"].as_str().unwrap()
    );
    w.invite(&w.ana).await;
    let answer = w
        .app
        .post(
            &other_path,
            json!({"contact_id": w.gus.id, "delivery": "email"}),
        )
        .await;
    assert_eq!(answer.status, 201);
    let mut ana = w.customer();
    let ana_page = w.sign_in(&mut ana, &w.ana).await;
    let mut gus = w.customer();
    let gus_page = w.sign_in(&mut gus, &w.gus).await;
    assert!(gus_page.shows("Boat loan") && !gus_page.shows("Car loan"));
    assert!(ana_page.shows("Car loan") && !ana_page.shows("Gus only"));

    // Ana's session with Gus's form token, and Gus's form token in Ana's browser: refused.
    let gus_csrf = gus_page.field("csrf").unwrap();
    let mixed = ana
        .post(
            "/app",
            &[
                ("csrf", &gus_csrf),
                ("version", &ana_page.field("version").unwrap()),
                ("f.employer", "Mixed"),
            ],
        )
        .await;
    assert_eq!(mixed.status, 403);
    // A made-up session id is no session.
    let mut stranger = w.customer();
    stranger
        .cookies
        .insert("__Host-cw_session".into(), "B".repeat(43));
    assert_eq!(
        stranger.get("/app").await.location(),
        Some("/session-ended")
    );
    let data = w.app.get(&w.opportunity_path()).await.body["data"].clone();
    assert_eq!(data["employer"], "Kauri Mills");
}

async fn a_session_ends_after_thirty_idle_minutes_or_twelve_hours(app: TestApp) {
    let w = World::new(app).await;
    w.invite(&w.ana).await;
    let mut ana = w.customer();
    w.sign_in(&mut ana, &w.ana).await;
    // Busy: a request every 20 minutes keeps it going.
    for _ in 0..3 {
        w.advance(Duration::minutes(20));
        assert_eq!(ana.get("/app").await.status, 200);
    }
    w.advance(Duration::minutes(31));
    assert_eq!(ana.get("/app").await.location(), Some("/session-ended"));
    let ended = ana.get("/session-ended").await;
    assert!(ended.shows("open the link in your e-mail from Acme Lending again"));

    // Busy all along, a session still ends 12 hours after it opened.
    let mut busy = w.customer();
    w.advance(Duration::minutes(2));
    w.sign_in(&mut busy, &w.ana).await;
    for _ in 0..28 {
        w.advance(Duration::minutes(25));
        assert_eq!(busy.get("/app").await.status, 200);
    }
    w.advance(Duration::minutes(25));
    assert_eq!(busy.get("/app").await.location(), Some("/session-ended"));
}

async fn the_pages_after_a_session_name_the_company_it_was_with(app: TestApp) {
    let w = World::new(app).await;
    w.invite(&w.ana).await;
    let mut ana = w.customer();
    w.sign_in(&mut ana, &w.ana).await;
    // A cookie of this site's only, holding the company's name and nothing secret.
    assert_eq!(ana.cookies["__Host-cw_company"], "Acme%20Lending");

    // The session ends unseen: the page it lands on says whose link to open again.
    w.advance(Duration::minutes(31));
    let redirected = ana.get("/app").await;
    let ended = ana.follow(redirected).await;
    assert!(ended.shows("Your session has ended"), "{}", ended.html);
    assert!(
        ended.shows("open the link in your e-mail from Acme Lending again"),
        "{}",
        ended.html
    );

    // Signing out says the same, then leaves nothing of the visit in the browser.
    w.sign_in(&mut ana, &w.ana).await;
    let csrf = ana.get("/app").await.field("csrf").unwrap();
    let out = ana.post("/app/sign-out", &[("csrf", &csrf)]).await;
    let out = ana.follow(out).await;
    assert!(out.shows("You have signed out"), "{}", out.html);
    assert!(
        out.shows("your e-mail from Acme Lending again"),
        "{}",
        out.html
    );
    assert!(!ana.cookies.contains_key("__Host-cw_company"));
    let ended = ana.get("/session-ended").await;
    assert!(ended.shows("open the link in your e-mail again") && !ended.shows("Acme"));

    // Whatever the cookie holds is shown as text, never as markup; one that does not decode
    // is no name.
    ana.cookies
        .insert("__Host-cw_company".into(), "%3Cb%3EEvil%3C%2Fb%3E".into());
    let ended = ana.get("/session-ended").await;
    assert!(ended.shows("&lt;b&gt;Evil") && !ended.shows("<b>Evil"));
    ana.cookies
        .insert("__Host-cw_company".into(), "%E2%28%A1".into());
    let ended = ana.get("/session-ended").await;
    assert!(
        ended.shows("open the link in your e-mail again"),
        "{}",
        ended.html
    );
}

async fn an_invite_email_follows_the_tenants_template_and_keeps_its_tags(app: TestApp) {
    let w = World::new(app).await;
    let template = w
        .app
        .post(
            "/v1/email-templates",
            json!({
                "name": "Application check",
                "subject": "Your {{company_name}} application",
                "html": "<p>Kia ora {{first_name}},</p><p><a href=\"{{link}}\">Check your application</a> by {{expires_on}}.</p><p>{{adviser_name}}</p>",
                "text": "Kia ora {{first_name}}, check your application: {{link}} (until {{expires_on}}). {{adviser_name}}",
            }),
        )
        .await;
    assert_eq!(template.status, 201, "{}", template.body);
    let template_id = template.body["id"].as_str().unwrap();

    // An invite's own subject must keep the template's tags: dropping one is refused, and
    // nothing is stored or sent.
    let refused = w
        .app
        .post(
            &w.invites_path(),
            json!({"contact_id": w.ana.id, "delivery": "email", "template_id": template_id, "subject": "Hello {{first_name}}"}),
        )
        .await;
    assert_eq!(
        refused.problem(422, "validation")["errors"][0]["field"],
        "subject"
    );
    let unknown = w
        .app
        .post(
            &w.invites_path(),
            json!({"contact_id": w.ana.id, "delivery": "email", "template_id": "nope"}),
        )
        .await;
    assert_eq!(
        unknown.problem(422, "validation")["errors"][0]["field"],
        "template_id"
    );
    assert!(
        w.app.get(&w.invites_path()).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(emails_to(&w.ana.email).await.is_empty());

    let made = w
        .app
        .post(
            &w.invites_path(),
            json!({"contact_id": w.ana.id, "delivery": "email", "template_id": template_id,
                   "subject": "Action needed: your {{company_name}} application",
                   "adviser": {"name": "Mere <Adviser>"}}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let mails = emails_to(&w.ana.email).await;
    assert_eq!(mails.len(), 1);
    let (subject, html) = &mails[0];
    assert_eq!(subject, "Action needed: your Acme Lending application");
    assert!(html.contains("Kia ora Ana"), "{html}");
    assert!(
        html.contains("Mere &lt;Adviser&gt;"),
        "values are escaped in HTML: {html}"
    );
    // The link in the template's anchor leads to a working sign-in.
    let page = w.sign_in(&mut w.customer(), &w.ana).await;
    assert!(page.shows("Your application"));
}

async fn an_applicant_answers_the_questionnaires_of_the_invite(app: TestApp) {
    let w = World::new(app).await;
    // Ana is asked about her income only; the vehicle questionnaire is not on her invite.
    let invite = w
        .app
        .post(
            &w.invites_path(),
            json!({"contact_id": w.ana.id, "delivery": "email", "questionnaire_ids": [w.income]}),
        )
        .await;
    assert_eq!(invite.status, 201, "{}", invite.body);
    let mut ana = w.customer();
    let app_page = w.sign_in(&mut ana, &w.ana).await;
    assert!(app_page.shows("Income and expenses") && app_page.shows("Not started"));
    assert!(!app_page.shows("Vehicle details"));
    assert_eq!(ana.get(&format!("/app/q/{}", w.vehicle)).await.status, 404);
    assert_eq!(ana.get("/app/q/nope").await.status, 404);

    let path = format!("/app/q/{}", w.income);
    let form = ana.get(&path).await;
    assert_eq!(form.status, 200, "{}", form.html);
    assert!(form.shows("Who do you work for?") && form.shows("(optional)"));
    let csrf = form.field("csrf").unwrap();

    // A draft may be incomplete.
    let draft = ana
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("action", "save"),
                ("q.employer", "Kauri Mills"),
            ],
        )
        .await;
    assert_eq!(draft.status, 200, "{}", draft.html);
    assert!(draft.shows("Your answers were saved"));
    assert_eq!(draft.field("q.employer").as_deref(), Some("Kauri Mills"));
    assert!(ana.get("/app").await.shows("Draft saved"));

    // Submitting needs every required answer, each problem next to its question; nothing changes.
    let refused = ana
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("action", "submit"),
                ("q.employer", "Kauri Mills"),
                ("q.income", "lots"),
                ("q.started", "2026-02-30"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(refused.shows("There is a problem"));
    // The summary lists them in the order of the questions (not of their ids), each link's
    // text the message with its question as context.
    let links: Vec<usize> = [
        "href=\"#f-q-2e-income\">Enter a number for “Monthly income after tax”, such as 1250 or 1250.50<",
        "href=\"#f-q-2e-started-2e-day\">The date for “When did you start there?” does not exist<",
        "href=\"#f-q-2e-renting\">Choose yes or no for “Do you rent your home?”<",
        "href=\"#f-q-2e-pay\">Choose an answer to “How often are you paid?”<",
    ]
    .iter()
    .map(|link| {
        refused
            .html
            .find(link)
            .unwrap_or_else(|| panic!("{link}: {}", refused.html))
    })
    .collect();
    assert!(links.is_sorted(), "in page order: {links:?}");
    assert!(!refused.shows("Monthly income after tax: "));
    for id in ["income", "started", "renting", "pay"] {
        assert!(
            refused.shows(&format!("id=\"f-q-2e-{id}-error\"")),
            "no error for {id}: {}",
            refused.html
        );
    }
    assert_eq!(
        refused.field("q.income").as_deref(),
        Some("lots"),
        "what was typed is shown again"
    );

    w.advance(Duration::minutes(3));
    let submitted = ana
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("action", "submit"),
                ("q.employer", "Kauri Mills"),
                ("q.income", "4,250.50"),
                ("q.started", "2019-03-01"),
                ("q.renting", "yes"),
                ("q.pay", "Fortnightly"),
                ("q.notes", "Second job on weekends <b>bold</b>"),
            ],
        )
        .await;
    assert_eq!(submitted.status, 303, "{}", submitted.html);
    let done = ana.follow(submitted).await;
    assert!(done.shows("Your answers to Income and expenses were sent to Acme Lending"));
    let read_only = ana.get(&path).await;
    // No form to answer with any more (the header's sign-out is the only form).
    assert!(read_only.shows("can no longer be changed"));
    assert!(
        !read_only.shows(&format!("action=\"{path}\"")) && read_only.field("q.employer").is_none()
    );
    assert!(
        read_only.shows("&lt;b&gt;bold&lt;/b&gt;"),
        "answers are escaped"
    );
    let again = ana
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("action", "submit"),
                ("q.employer", "Other"),
            ],
        )
        .await;
    assert_eq!(again.status, 409);
    assert!(ana.get("/app").await.shows("Submitted"));

    // The partner reads the typed answers and who gave them, and got an event for each save.
    let answers = w
        .app
        .get(&format!("{}/answers", w.opportunity_path()))
        .await;
    let item = &answers.body["items"][0];
    assert_eq!(item["status"], "submitted");
    assert_eq!(
        item["answers"],
        json!({"employer": "Kauri Mills", "income": 4250.5, "started": "2019-03-01", "renting": true, "pay": "Fortnightly", "notes": "Second job on weekends <b>bold</b>"})
    );
    assert_eq!(item["updated_by"]["contact_id"], json!(w.ana.id));
    let activity = w
        .app
        .get(&format!("{}/activity", w.opportunity_path()))
        .await;
    let actions: Vec<&str> = activity.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["questionnaire_draft_saved", "questionnaire_submitted"]
    );
    let published = w
        .app
        .events
        .recorded()
        .into_iter()
        .filter(|e| e.detail_type == "CustomerCentreUpdated")
        .count();
    assert_eq!(published, 2);
}

async fn a_client_goes_with_its_customer_centre_history_once_its_records_are_gone(app: TestApp) {
    let w = World::new(app).await;
    w.invite(&w.ana).await;
    let mut ana = w.customer();
    let page = w.sign_in(&mut ana, &w.ana).await;
    let saved = ana
        .post(
            "/app",
            &[
                ("csrf", &page.field("csrf").unwrap()),
                ("version", &page.field("version").unwrap()),
                ("f.employer", "Rimu"),
            ],
        )
        .await;
    assert_eq!(saved.status, 200);
    let delete = |path: String, version: String| {
        http::Request::delete(path)
            .header("authorization", format!("Bearer {}", w.app.admin_key))
            .header("if-match", format!("\"{version}\""))
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let client = format!("/v1/clients/{}", w.client);
    let refused = w.app.send(delete(client.clone(), "1".into())).await;
    let detail = refused.problem(409, "conflict")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains("3 contact(s)") && detail.contains("1 opportunity"),
        "{detail}"
    );

    let opportunity = w.app.get(&w.opportunity_path()).await;
    let version = opportunity.body["version"].to_string();
    assert_eq!(
        w.app
            .send(delete(w.opportunity_path(), version))
            .await
            .status,
        204
    );
    for contact in [&w.ana, &w.gus, &w.bo] {
        let path = format!("{client}/contacts/{}", contact.id);
        assert_eq!(w.app.send(delete(path, "1".into())).await.status, 204);
    }
    let version = w.app.get(&client).await.body["version"].to_string();
    assert_eq!(
        w.app.send(delete(client.clone(), version)).await.status,
        204
    );
    let left = w
        .app
        .services
        .table
        .query(clientwatch::ports::Query::partition(format!(
            "T#{}#C#{}",
            w.app.tenant_id, w.client
        )))
        .await
        .unwrap();
    assert!(
        left.items.is_empty(),
        "{:?}",
        left.items.iter().map(|i| &i.key).collect::<Vec<_>>()
    );
    // The link leads nowhere now.
    assert_eq!(
        w.customer().get(&w.emailed_link(&w.ana).await).await.status,
        404
    );
}

/// `n` entries of `codes` (one per task) sent for the link at the same moment.
async fn entered_at_once(
    w: &World,
    link: &str,
    codes: Vec<String>,
) -> Vec<access::Step<access::Opened>> {
    let token = link.trim_start_matches("/i/").to_owned();
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(codes.len()));
    let tasks: Vec<_> = codes
        .into_iter()
        .map(|code| {
            let svc = w.app.services.clone();
            let token = token.clone();
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                access::verify(&svc, &token, &code)
                    .await
                    .expect("no store error")
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("the entry ran"));
    }
    answers
}

async fn invite_behind(w: &World, link: &str) -> invites::Invite {
    let token = link.trim_start_matches("/i/");
    invites::by_token(&w.app.services, token)
        .await
        .unwrap()
        .expect("the link's invite")
        .1
}

fn count(answers: &[access::Step<access::Opened>], denied: access::Denied) -> usize {
    answers
        .iter()
        .filter(|a| matches!(a, Err(d) if *d == denied))
        .count()
}

fn wrong_for(right: &str) -> String {
    if right == "000000" {
        "111111"
    } else {
        "000000"
    }
    .to_owned()
}

async fn twenty_wrong_codes_at_once_are_each_counted_exactly(app: TestApp) {
    let w = World::new(app).await;
    w.invite(&w.ana).await;
    let link = w.emailed_link(&w.ana).await;
    let mut ana = w.customer();
    w.ask_for_code(&mut ana, &link).await;
    let wrong = wrong_for(&w.texted_code(&w.ana).await);

    let answers = entered_at_once(&w, &link, vec![wrong.clone(); 20]).await;
    // Five counted against the code (the fifth uses it up), the rest told it is used up.
    let invite = invite_behind(&w, &link).await;
    assert_eq!(invite.failures, 5);
    assert_eq!(invite.code.as_ref().map(|c| c.tries), Some(5));
    for tries_left in 1..=4 {
        assert_eq!(
            count(&answers, access::Denied::WrongCode { tries_left }),
            1,
            "{tries_left}"
        );
    }
    assert_eq!(count(&answers, access::Denied::CodeUsedUp), 16);

    // A new code, twenty more at once: the link locks at exactly ten.
    w.advance(Duration::seconds(61));
    w.ask_for_code(&mut ana, &link).await;
    let answers = entered_at_once(&w, &link, vec![wrong; 20]).await;
    let invite = invite_behind(&w, &link).await;
    assert_eq!(invite.failures, 10);
    assert_eq!(invite.status, invites::Status::Locked);
    for tries_left in 1..=4 {
        assert_eq!(count(&answers, access::Denied::WrongCode { tries_left }), 1);
    }
    assert_eq!(count(&answers, access::Denied::LinkLocked), 16);
}

async fn a_burst_of_wrong_codes_with_the_right_one_never_tells_which_was_right(app: TestApp) {
    let w = World::new(app).await;
    w.invite(&w.ana).await;
    let link = w.emailed_link(&w.ana).await;
    let mut ana = w.customer();
    w.ask_for_code(&mut ana, &link).await;
    let right = w.texted_code(&w.ana).await;
    let wrong = wrong_for(&right);
    let mut codes = vec![wrong; 9];
    codes.insert(4, right.clone());

    let answers = entered_at_once(&w, &link, codes).await;
    let right_answer = &answers[4];
    let wrong_answers: Vec<_> = answers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 4)
        .map(|(_, a)| a)
        .collect();
    assert!(wrong_answers.iter().all(|a| a.is_err()));
    let wrongly = |denied: access::Denied| {
        wrong_answers
            .iter()
            .filter(|a| matches!(a, Err(d) if *d == denied))
            .count()
    };
    let told_wrong: usize = (1..=4)
        .map(|tries_left| wrongly(access::Denied::WrongCode { tries_left }))
        .sum();
    let invite = invite_behind(&w, &link).await;
    match right_answer {
        // Signed in before the code had its five wrong tries: each wrong entry before it was
        // counted, each after it found no code.
        Ok(_) => {
            assert!(invite.code.is_none());
            assert_eq!(invite.failures as usize, told_wrong);
            assert_eq!(told_wrong + wrongly(access::Denied::NoCode), 9);
        }
        // Five wrong entries came first: the right code gets the very answer a wrong one gets
        // once a code is used up, and the code stays used up.
        Err(denied) => {
            assert_eq!(*denied, access::Denied::CodeUsedUp);
            assert_eq!(invite.failures, 5);
            assert_eq!(told_wrong, 4);
            assert_eq!(wrongly(access::Denied::CodeUsedUp), 5);
            let again = access::verify(&w.app.services, link.trim_start_matches("/i/"), &right)
                .await
                .unwrap();
            assert_eq!(again.err(), Some(access::Denied::CodeUsedUp));
        }
    }
}

async fn the_portal_forms_check_numbers_and_text_by_their_kind(app: TestApp) {
    let w = World::new(app).await;
    w.invite(&w.ana).await;
    let mut ana = w.customer();
    let page = w.sign_in(&mut ana, &w.ana).await;
    let (csrf, version) = (page.field("csrf").unwrap(), page.field("version").unwrap());

    // The application: an amount is a number of 0 or more, never blank, never words.
    for (typed, told) in [
        ("lots", "Enter a number"),
        ("", "Enter a number"),
        ("-5", "0 or more"),
        ("1.005", "two decimals"),
        ("99999999999999", "up to"),
    ] {
        let refused = ana
            .post(
                "/app",
                &[
                    ("csrf", &csrf),
                    ("version", &version),
                    ("f.loan_amount", typed),
                ],
            )
            .await;
        assert_eq!(refused.status, 400, "{typed:?}: {}", refused.html);
        assert!(refused.shows(told), "{typed:?}: {}", refused.html);
        assert!(
            refused.shows("id=\"f-loan_amount-error\""),
            "{}",
            refused.html
        );
    }
    let refused = ana
        .post(
            "/app",
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("f.employer", "Kauri\u{202E}Mills"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(refused.shows("one line of ordinary text"));
    assert!(refused.shows("id=\"f-employer-error\""));
    let unchanged = w.app.get(&w.opportunity_path()).await;
    assert_eq!(unchanged.body["data"]["loan_amount"], 25000);
    assert_eq!(unchanged.body["data"]["employer"], "Kauri Mills");

    // A questionnaire's number and date follow the same rules, named by their question.
    let path = format!("/app/q/{}", w.income);
    let form = ana.get(&path).await;
    let csrf = form.field("csrf").unwrap();
    let refused = ana
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("action", "save"),
                ("q.income", "-5"),
                ("q.started", "0001-01-01"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(
        refused.shows("id=\"f-q-2e-income-error\""),
        "{}",
        refused.html
    );
    assert!(refused.shows("0 or more"));
    assert!(refused.shows("id=\"f-q-2e-started-error\""));
    assert!(refused.shows("between 1900 and 2100"));
}
