//! The account portal over both stores: a partner fetches a contact's link through the API (or
//! the communications run puts one in a reminder), the contact opens it, asks for a code (read
//! back from the emulator's SNS, or SES when the contact has no mobile), signs in and reads the
//! account, its invoices and its messages. Then who is let in, on every request: a role change,
//! a deletion or an e-mail change ends an open session and its link at once; codes are limited
//! and counted exactly under concurrency; links expire after the tenant's days and can be
//! replaced; a session reaches only its own client. Then what the contact does: dispute an
//! invoice or promise to pay it from its page (refused answers named, the partner seeing both),
//! and read the monthly statements the client was sent.

use chrono::{Days, Duration, NaiveDate};
use chrono_tz::Pacific::Auckland;
use clientwatch::access::links::{self, Holder};
use clientwatch::account::signin;
use clientwatch::comms::run;
use clientwatch_tests::api::TestApp;
use clientwatch_tests::over_both_stores;
use clientwatch_tests::portal::{
    Customer, Page, account_link_path, code_in, deliver_through_emulator, emails_to, texts_to,
    unique_email, unique_mobile,
};
use serde_json::{Value, json};

over_both_stores!(
    a_communication_contact_signs_in_with_the_link_and_a_texted_code_and_sees_the_account,
    without_a_mobile_the_code_comes_by_email_unless_the_tenant_requires_sms,
    a_role_change_ends_an_open_session_and_the_link_at_once,
    deleting_the_contact_or_changing_its_email_ends_access_at_once,
    twenty_wrong_codes_at_once_are_each_counted_exactly_and_ten_lock_the_access,
    a_link_older_than_the_tenants_link_days_is_refused,
    replacing_the_link_ends_older_links_and_sessions,
    a_session_sees_only_its_own_clients_invoices,
    the_portal_link_in_a_reminder_signs_the_contact_in,
    the_partner_endpoint_refuses_contacts_who_cannot_sign_in,
    a_contact_disputes_an_invoice_from_its_page_and_the_partner_sees_it,
    a_contact_promises_to_pay_by_a_day_in_the_window_and_reminders_wait,
    the_statements_sent_to_the_client_are_pages_of_the_account,
);

/// A tenant with a communication role and one without, a company client and its contact Ana
/// (e-mail and mobile, communication), e-mail and SMS through the emulator.
struct World {
    app: TestApp,
    communication: String,
    guarantor: String,
    client_type: String,
    client: String,
    ana: Person,
}

struct Person {
    id: String,
    email: String,
    mobile: String,
}

#[track_caller]
fn id(answer: &clientwatch_tests::api::Answer) -> String {
    assert!(answer.status.is_success(), "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

impl World {
    async fn new(mut app: TestApp) -> Self {
        deliver_through_emulator(&mut app.services).await;
        let communication = id(&app
            .post(
                "/v1/contact-roles",
                json!({"name": "Accounts", "communication": true}),
            )
            .await);
        let guarantor = id(&app
            .post(
                "/v1/contact-roles",
                json!({"name": "Guarantor", "communication": false}),
            )
            .await);
        let client_type = id(&app
            .post(
                "/v1/client-types",
                json!({"name": "Companies", "class": "company"}),
            )
            .await);
        let mut world = Self {
            app,
            communication,
            guarantor,
            client_type,
            client: String::new(),
            ana: Person {
                id: String::new(),
                email: String::new(),
                mobile: String::new(),
            },
        };
        world.client = world.new_client("Tui & Sons Ltd", json!({})).await;
        world.ana = world
            .contact(&world.client.clone(), "Ana Tui", true, true)
            .await;
        world
    }

    async fn new_client(&self, name: &str, extra: Value) -> String {
        let mut body = json!({"client_type_id": self.client_type, "identity": {"kind": "company", "name": name}});
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        id(&self.app.post("/v1/clients", body).await)
    }

    async fn contact(&self, client: &str, name: &str, email: bool, mobile: bool) -> Person {
        let person = Person {
            id: String::new(),
            email: if email {
                unique_email(name.split(' ').next().unwrap())
            } else {
                String::new()
            },
            mobile: if mobile {
                unique_mobile()
            } else {
                String::new()
            },
        };
        let mut body = json!({"name": name, "role_id": self.communication});
        if email {
            body["email"] = json!(person.email);
        }
        if mobile {
            body["mobile"] = json!(person.mobile);
        }
        let made = self
            .app
            .post(&format!("/v1/clients/{client}/contacts"), body)
            .await;
        Person {
            id: id(&made),
            ..person
        }
    }

    /// A link for `contact` from the partner API: its portal path.
    async fn link(&self, client: &str, contact: &str, body: Option<Value>) -> String {
        let answer = self
            .app
            .call(
                axum::http::Method::POST,
                &format!("/v1/clients/{client}/contacts/{contact}/portal-link"),
                Some(&self.app.admin_key),
                body,
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        assert_eq!(answer.header("cache-control"), Some("no-store"));
        let link = answer.body["link"].as_str().unwrap();
        assert!(
            link.starts_with("https://centre.clientwatch.test/a/"),
            "{link}"
        );
        account_link_path(link)
    }

    async fn invoice(&self, client: &str, spec: Value) {
        let made = self
            .app
            .post(&format!("/v1/clients/{client}/invoices"), spec)
            .await;
        assert!(made.status.is_success(), "{}", made.body);
    }

    async fn change(&self, path: &str, patch: Value) -> clientwatch_tests::api::Answer {
        let current = self.app.get(path).await;
        self.app
            .patch(path, current.header("etag").unwrap(), patch)
            .await
    }

    fn today(&self) -> NaiveDate {
        self.app
            .services
            .clock
            .now()
            .with_timezone(&Auckland)
            .date_naive()
    }
}

/// Opens the link, asks for a code, reads it from the contact's phone (or mailbox) and enters
/// it: the account page.
async fn sign_in(customer: &mut Customer, link: &str, person: &Person) -> Page {
    let landing = customer.get(link).await;
    assert_eq!(landing.status, 200, "{}", landing.html);
    let form_token = landing.field("form_token").unwrap();
    let sent = customer
        .post(&format!("{link}/code"), &[("form_token", &form_token)])
        .await;
    assert_eq!(sent.status, 303, "{}", sent.html);
    let code = if person.mobile.is_empty() {
        let mails = emails_to(&person.email).await;
        let (_, body) = mails
            .iter()
            .rev()
            .find(|(subject, _)| subject.contains("sign-in code"))
            .expect("the code was e-mailed");
        code_in(body)
    } else {
        code_in(
            texts_to(&person.mobile)
                .await
                .last()
                .expect("a code was texted"),
        )
    };
    let signed_in = customer
        .post(
            &format!("{link}/verify"),
            &[("form_token", &form_token), ("code", &code)],
        )
        .await;
    assert_eq!(signed_in.location(), Some("/account"), "{}", signed_in.html);
    assert!(
        signed_in
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("__Host-cw_account=") && c.contains("HttpOnly")),
        "{:?}",
        signed_in.set_cookies()
    );
    customer.follow(signed_in).await
}

/// The page a signed-out or ended session gets.
#[track_caller]
fn ended(page: &Page) {
    assert_eq!(page.status, 401, "{}", page.html);
    assert!(page.shows("Your session has ended"), "{}", page.html);
}

async fn a_communication_contact_signs_in_with_the_link_and_a_texted_code_and_sees_the_account(
    app: TestApp,
) {
    let w = World::new(app).await;
    let today = w.today();
    let day = |offset: i64| (today + Duration::days(offset)).to_string();
    w.invoice(&w.client, json!({"number": "INV-1", "issue_date": day(-40), "due_date": day(-10), "amount": "1250.00", "document_url": "https://docs.example.com/inv-1.pdf"})).await;
    w.invoice(&w.client, json!({"number": "INV-2", "issue_date": day(-5), "due_date": day(20), "amount": "2000000.50"})).await;
    w.invoice(&w.client, json!({"number": "INV-3", "issue_date": day(-60), "due_date": day(-30), "amount": "99.00", "status": "paid"})).await;
    w.invoice(&w.client, json!({"number": "INV-4", "issue_date": day(-20), "due_date": day(-2), "amount": "30.00", "currency": "AUD", "status": "disputed"})).await;
    let link = w.link(&w.client, &w.ana.id, None).await;

    // Opening the link spends and changes nothing (mail scanners open links).
    let mut ana = Customer::new(&w.app.services);
    let landing = ana.get(&link).await;
    assert_eq!(landing.status, 200);
    assert!(landing.shows("Hello Ana"), "{}", landing.html);
    assert!(landing.shows("Text me a code"));
    let holder = Holder {
        tenant_id: w.app.tenant_id.clone(),
        client_id: w.client.clone(),
        contact_id: w.ana.id.clone(),
    };
    let access_key = holder.access_key();
    assert!(
        w.app
            .services
            .table
            .get(&access_key)
            .await
            .unwrap()
            .is_none()
    );
    assert!(texts_to(&w.ana.mobile).await.is_empty());

    let account = sign_in(&mut ana, &link, &w.ana).await;
    assert_eq!(account.status, 200, "{}", account.html);
    assert!(account.shows("Tui &amp; Sons Ltd"), "{}", account.html);
    // Owed: open and disputed balances per currency; overdue: open ones past due.
    assert!(account.shows("AUD 30.00"), "{}", account.html);
    assert!(account.shows("NZD 2,001,250.50"), "{}", account.html);
    assert!(account.shows("NZD 1,250.00"), "{}", account.html);
    assert!(account.shows(&clientwatch::render::long_date(today + Duration::days(20))));
    assert!(account.shows("<nav class=\"tabs\""));

    let open = ana.get("/account/invoices").await;
    assert_eq!(open.status, 200);
    for shown in [
        "INV-1",
        "INV-2",
        "INV-4",
        "status-overdue",
        "status-disputed",
        "https://docs.example.com/inv-1.pdf",
    ] {
        assert!(open.shows(shown), "{shown}: {}", open.html);
    }
    assert!(!open.shows("INV-3"), "{}", open.html);
    let paid = ana.get("/account/invoices?show=paid").await;
    assert!(
        paid.shows("INV-3") && paid.shows("status-paid"),
        "{}",
        paid.html
    );
    assert!(!paid.shows("INV-1"), "{}", paid.html);

    let messages = ana.get("/account/messages").await;
    assert_eq!(messages.status, 200);
    assert!(messages.shows("Messages to you"));

    // Signing out ends the session in the store, whatever the browser keeps.
    let kept = ana.cookies.clone();
    let csrf = messages.field("csrf").unwrap();
    let out = ana.post("/account/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.location(), Some("/account/signed-out"));
    ana.cookies = kept;
    ended(&ana.get("/account").await);
}

async fn without_a_mobile_the_code_comes_by_email_unless_the_tenant_requires_sms(app: TestApp) {
    let w = World::new(app).await;
    let eve = w.contact(&w.client, "Eve Tui", true, false).await;
    let link = w.link(&w.client, &eve.id, None).await;
    let mut customer = Customer::new(&w.app.services);
    let landing = customer.get(&link).await;
    assert!(landing.shows("E-mail me a code"), "{}", landing.html);
    let account = sign_in(&mut customer, &link, &eve).await;
    assert_eq!(account.status, 200, "{}", account.html);

    // The tenant now requires SMS: the landing page says so, no code goes out, and the
    // partner cannot fetch a link for her.
    let changed = w
        .change("/v1/tenant", json!({"portal": {"require_sms": true}}))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let mut other = Customer::new(&w.app.services);
    let landing = other.get(&link).await;
    assert_eq!(landing.status, 200);
    assert!(landing.shows("only by text message"), "{}", landing.html);
    assert!(!landing.shows("E-mail me a code"));
    // No form is offered; a request made anyway (with the browser's form token) is refused.
    let form_token = other.cookies["__Host-cw_form"].clone();
    let refused = other
        .post(&format!("{link}/code"), &[("form_token", &form_token)])
        .await;
    assert_eq!(refused.status, 409, "{}", refused.html);
    let answer = w
        .app
        .post(
            &format!("/v1/clients/{}/contacts/{}/portal-link", w.client, eve.id),
            json!({}),
        )
        .await;
    assert_eq!(
        answer.problem(422, "validation")["errors"][0]["field"],
        "mobile",
        "{}",
        answer.body
    );
}

async fn a_role_change_ends_an_open_session_and_the_link_at_once(app: TestApp) {
    let w = World::new(app).await;
    let link = w.link(&w.client, &w.ana.id, None).await;
    let mut ana = Customer::new(&w.app.services);
    assert_eq!(sign_in(&mut ana, &link, &w.ana).await.status, 200);

    let path = format!("/v1/clients/{}/contacts/{}", w.client, w.ana.id);
    let changed = w.change(&path, json!({"role_id": w.guarantor})).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let page = ana.get("/account/invoices").await;
    ended(&page);
    assert!(
        page.shows("Acme Lending"),
        "the ended page names the tenant: {}",
        page.html
    );
    let landing = Customer::new(&w.app.services).get(&link).await;
    assert_eq!(landing.status, 403, "{}", landing.html);

    // Changing the role back lets the link in again (it was never the link that changed).
    w.change(&path, json!({"role_id": w.communication})).await;
    assert_eq!(Customer::new(&w.app.services).get(&link).await.status, 200);
    // The role itself losing communication ends access as well.
    let role_path = format!("/v1/contact-roles/{}", w.communication);
    let changed = w.change(&role_path, json!({"communication": false})).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(Customer::new(&w.app.services).get(&link).await.status, 403);
}

async fn deleting_the_contact_or_changing_its_email_ends_access_at_once(app: TestApp) {
    let w = World::new(app).await;
    let bo = w.contact(&w.client, "Bo Tui", true, true).await;
    let (ana_link, bo_link) = (
        w.link(&w.client, &w.ana.id, None).await,
        w.link(&w.client, &bo.id, None).await,
    );
    let mut ana = Customer::new(&w.app.services);
    let mut bo_browser = Customer::new(&w.app.services);
    assert_eq!(sign_in(&mut ana, &ana_link, &w.ana).await.status, 200);
    assert_eq!(sign_in(&mut bo_browser, &bo_link, &bo).await.status, 200);

    // A PATCH (as a sync would) changes Ana's e-mail: her session and link end.
    let path = format!("/v1/clients/{}/contacts/{}", w.client, w.ana.id);
    let changed = w
        .change(&path, json!({"email": unique_email("ana-new")}))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    ended(&ana.get("/account").await);
    assert_eq!(
        Customer::new(&w.app.services).get(&ana_link).await.status,
        403
    );
    // A new link, issued for the new address, works.
    let fresh = w.link(&w.client, &w.ana.id, None).await;
    assert_eq!(Customer::new(&w.app.services).get(&fresh).await.status, 200);

    // Bo is deleted: his session and link end.
    let bo_path = format!("/v1/clients/{}/contacts/{}", w.client, bo.id);
    let current = w.app.get(&bo_path).await;
    let deleted = w
        .app
        .call(
            axum::http::Method::DELETE,
            &bo_path,
            Some(&w.app.admin_key),
            None,
        )
        .await;
    let deleted = if deleted.status == 428 {
        let request = axum::http::Request::builder()
            .method(axum::http::Method::DELETE)
            .uri(&bo_path)
            .header("authorization", format!("Bearer {}", w.app.admin_key))
            .header("if-match", current.header("etag").unwrap())
            .body(axum::body::Body::empty())
            .unwrap();
        w.app.send(request).await
    } else {
        deleted
    };
    assert!(deleted.status.is_success(), "{}", deleted.body);
    ended(&bo_browser.get("/account/messages").await);
    assert_eq!(
        Customer::new(&w.app.services).get(&bo_link).await.status,
        403
    );
}

async fn twenty_wrong_codes_at_once_are_each_counted_exactly_and_ten_lock_the_access(app: TestApp) {
    let w = World::new(app).await;
    let link = w.link(&w.client, &w.ana.id, None).await;
    let token = link.trim_start_matches("/a/").to_owned();
    let svc = w.app.services.clone();
    let holder = Holder {
        tenant_id: w.app.tenant_id.clone(),
        client_id: w.client.clone(),
        contact_id: w.ana.id.clone(),
    };
    let burst = |svc: clientwatch::Services, token: String| async move {
        let right = code_in(
            texts_to(&w_mobile(&svc, &token).await)
                .await
                .last()
                .unwrap(),
        );
        let wrong = if right == "000000" {
            "111111"
        } else {
            "000000"
        };
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (svc, token) = (svc.clone(), token.clone());
                tokio::spawn(async move { signin::verify(&svc, &token, wrong).await.unwrap() })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(
                task.await
                    .unwrap()
                    .err()
                    .expect("a wrong code never signs in"),
            );
        }
        answers
    };
    signin::send_code(&svc, &token).await.unwrap().unwrap();
    let answers = burst(svc.clone(), token.clone()).await;
    let wrong_told = answers
        .iter()
        .filter(|a| {
            matches!(
                a,
                signin::Denied::Code(clientwatch::access::code::Refusal::WrongCode { .. })
            )
        })
        .count();
    assert_eq!(wrong_told, 4, "{answers:?}");
    assert_eq!(
        links::access(&svc, &holder).await.unwrap().codes.failures,
        5,
        "five tries counted against the code, however many raced"
    );

    // A second code a minute later: five more wrong entries lock the access.
    w.app.harness.clock.advance(Duration::seconds(61));
    signin::send_code(&svc, &token).await.unwrap().unwrap();
    let answers = burst(svc.clone(), token.clone()).await;
    let access = links::access(&svc, &holder).await.unwrap();
    assert_eq!(access.codes.failures, 10, "{answers:?}");
    assert!(access.locked);
    let landing = Customer::new(&svc).get(&link).await;
    assert_eq!(landing.status, 403);
    assert!(landing.shows("locked"), "{}", landing.html);
    // Replacing the link opens the access again.
    let fresh = w
        .link(
            &w.client,
            &w.ana.id,
            Some(json!({"replace_previous": true})),
        )
        .await;
    assert_eq!(Customer::new(&svc).get(&fresh).await.status, 200);
}

/// The mobile number a token's contact has (read as the portal would).
async fn w_mobile(svc: &clientwatch::Services, token: &str) -> String {
    let link = links::by_token(svc, token).await.unwrap().unwrap();
    clientwatch::records::contacts::get(
        svc.table.as_ref(),
        &link.holder.tenant_id,
        &link.holder.client_id,
        &link.holder.contact_id,
    )
    .await
    .unwrap()
    .spec
    .mobile
    .unwrap()
}

async fn a_link_older_than_the_tenants_link_days_is_refused(app: TestApp) {
    let w = World::new(app).await;
    let changed = w
        .change("/v1/tenant", json!({"portal": {"link_days": 2}}))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let link = w.link(&w.client, &w.ana.id, None).await;
    w.app
        .harness
        .clock
        .advance(Duration::days(2) - Duration::minutes(1));
    assert_eq!(Customer::new(&w.app.services).get(&link).await.status, 200);
    w.app.harness.clock.advance(Duration::minutes(1));
    let landing = Customer::new(&w.app.services).get(&link).await;
    assert_eq!(landing.status, 410, "{}", landing.html);
    assert!(landing.shows("This link has expired"));
}

async fn replacing_the_link_ends_older_links_and_sessions(app: TestApp) {
    let w = World::new(app).await;
    let first = w.link(&w.client, &w.ana.id, None).await;
    let second = w.link(&w.client, &w.ana.id, None).await;
    let mut ana = Customer::new(&w.app.services);
    assert_eq!(sign_in(&mut ana, &first, &w.ana).await.status, 200);
    assert_eq!(
        Customer::new(&w.app.services).get(&second).await.status,
        200,
        "many links may be live at once"
    );
    let third = w
        .link(
            &w.client,
            &w.ana.id,
            Some(json!({"replace_previous": true})),
        )
        .await;
    ended(&ana.get("/account").await);
    for old in [&first, &second] {
        let page = Customer::new(&w.app.services).get(old).await;
        assert_eq!(page.status, 410, "{}", page.html);
        assert!(page.shows("A newer link was sent"));
    }
    let mut again = Customer::new(&w.app.services);
    w.app.harness.clock.advance(Duration::seconds(61));
    assert_eq!(sign_in(&mut again, &third, &w.ana).await.status, 200);
}

async fn a_session_sees_only_its_own_clients_invoices(app: TestApp) {
    let w = World::new(app).await;
    let today = w.today();
    let due = (today + Duration::days(5)).to_string();
    let issued = today.to_string();
    w.invoice(
        &w.client,
        json!({"number": "MINE-1", "issue_date": issued, "due_date": due, "amount": "10.00"}),
    )
    .await;
    let other_client = w.new_client("Other Co", json!({})).await;
    w.invoice(
        &other_client,
        json!({"number": "THEIRS-1", "issue_date": issued, "due_date": due, "amount": "20.00"}),
    )
    .await;
    let theirs = w
        .app
        .get(&format!("/v1/clients/{other_client}/invoices"))
        .await;
    let theirs_id = theirs.body["items"][0]["id"].as_str().unwrap().to_owned();
    let mine = w
        .app
        .get(&format!("/v1/clients/{}/invoices", w.client))
        .await;
    let mine_id = mine.body["items"][0]["id"].as_str().unwrap().to_owned();

    let link = w.link(&w.client, &w.ana.id, None).await;
    let mut ana = Customer::new(&w.app.services);
    sign_in(&mut ana, &link, &w.ana).await;
    let list = ana.get("/account/invoices").await;
    assert!(
        list.shows("MINE-1") && !list.shows("THEIRS-1"),
        "{}",
        list.html
    );
    let detail = ana.get(&format!("/account/invoices/{mine_id}")).await;
    assert_eq!(detail.status, 200, "{}", detail.html);
    assert!(detail.shows("Invoice MINE-1"));
    for foreign in [
        theirs_id.as_str(),
        "no-such-invoice",
        "..%2F..%2Fx",
        "a%23b",
    ] {
        let page = ana.get(&format!("/account/invoices/{foreign}")).await;
        assert_eq!(page.status, 404, "{foreign}: {}", page.html);
        assert!(page.shows("Page not found"));
        assert!(!page.shows("THEIRS-1"));
    }
    // Another tenant's invoice id is as unknown as any other.
    let other_key = w.app.other_tenant().await;
    let other_type = w
        .app
        .call(
            axum::http::Method::POST,
            "/v1/client-types",
            Some(&other_key),
            Some(json!({"name": "Co", "class": "company"})),
        )
        .await;
    let other_tenant_client = w
        .app
        .call(axum::http::Method::POST, "/v1/clients", Some(&other_key), Some(json!({"client_type_id": other_type.body["id"], "identity": {"kind": "company", "name": "Far Away"}})))
        .await;
    let far_client = other_tenant_client.body["id"].as_str().unwrap().to_owned();
    w.app
        .call(axum::http::Method::POST, &format!("/v1/clients/{far_client}/invoices"), Some(&other_key), Some(json!({"number": "FAR-1", "issue_date": issued, "due_date": due, "amount": "30.00"})))
        .await;
    let far = w
        .app
        .call(
            axum::http::Method::GET,
            &format!("/v1/clients/{far_client}/invoices"),
            Some(&other_key),
            None,
        )
        .await;
    let far_id = far.body["items"][0]["id"].as_str().unwrap().to_owned();
    let page = ana.get(&format!("/account/invoices/{far_id}")).await;
    assert_eq!(page.status, 404);
    assert!(!page.shows("FAR-1"));
}

async fn the_portal_link_in_a_reminder_signs_the_contact_in(app: TestApp) {
    let w = World::new(app).await;
    let workflow = id(&w
        .app
        .post(
            "/v1/workflows",
            json!({"name": "Portal", "steps": [
                {"id": "due", "kind": "email", "days_from_due": 0,
                 "subject": "Invoice {{invoice_number}} is due",
                 "text": "Dear {{client_name}},\n\nSee your account: {{portal_link}}\n\n{{tenant_name}}"}
            ]}),
        )
        .await);
    let portfolio = id(&w
        .app
        .post(
            "/v1/portfolios",
            json!({"name": "Portal", "workflow_id": workflow}),
        )
        .await);
    let client = w
        .new_client("Reminded Ltd", json!({"portfolio_id": portfolio}))
        .await;
    let rua = w.contact(&client, "Rua Tui", true, true).await;
    let today = w.today();
    // A day away from the 1st, so that no statement goes out beside the reminder.
    let day = if chrono::Datelike::day(&today) <= 2 {
        today + Days::new(3)
    } else {
        today
    };
    let at = clientwatch_tests::ten_in_auckland(day);
    w.app.harness.clock.set(at);
    w.invoice(&client, json!({"number": "DUE-1", "issue_date": (day - Days::new(30)).to_string(), "due_date": day.to_string(), "amount": "75.00"})).await;
    run::run_day(&w.app.services, day, &mut |line: &str| eprintln!("{line}"))
        .await
        .expect("the run completes");

    let mails = emails_to(&rua.email).await;
    let (_, body) = mails
        .iter()
        .find(|(subject, _)| subject == "Invoice DUE-1 is due")
        .expect("the reminder reached Rua");
    assert!(!body.contains("portal-link.clientwatch.invalid"), "{body}");
    assert!(
        body.contains("https://centre.clientwatch.test/a/"),
        "{body}"
    );
    let link = account_link_path(body);
    let mut customer = Customer::new(&w.app.services);
    let account = sign_in(&mut customer, &link, &rua).await;
    assert_eq!(account.status, 200, "{}", account.html);
    assert!(account.shows("Reminded Ltd"));
    let messages = customer.get("/account/messages").await;
    assert!(messages.shows("Invoice DUE-1 is due"), "{}", messages.html);
}

async fn the_partner_endpoint_refuses_contacts_who_cannot_sign_in(app: TestApp) {
    let w = World::new(app).await;
    let base = |contact: &str| format!("/v1/clients/{}/contacts/{contact}/portal-link", w.client);
    let gus = id(&w
        .app
        .post(
            &format!("/v1/clients/{}/contacts", w.client),
            json!({"name": "Gus", "email": unique_email("gus"), "mobile": unique_mobile(), "role_id": w.guarantor}),
        )
        .await);
    let answer = w.app.post(&base(&gus), json!({})).await;
    assert_eq!(
        answer.problem(422, "validation")["errors"][0]["field"],
        "role_id",
        "{}",
        answer.body
    );
    let nobody = id(&w
        .app
        .post(
            &format!("/v1/clients/{}/contacts", w.client),
            json!({"name": "No Way", "role_id": w.communication}),
        )
        .await);
    let answer = w.app.post(&base(&nobody), json!({})).await;
    assert_eq!(
        answer.problem(422, "validation")["errors"][0]["field"],
        "mobile",
        "{}",
        answer.body
    );
    let answer = w.app.post(&base("no-such-contact"), json!({})).await;
    answer.problem(404, "not-found");
    let answer = w
        .app
        .post(&base(&w.ana.id), json!({"replace_previous": "yes"}))
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let answer = w.app.post(&base(&w.ana.id), json!({"other": true})).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    // A read-only key cannot issue links.
    let read_key = w
        .app
        .post(
            "/v1/api-keys",
            json!({"name": "reader", "scopes": ["read"]}),
        )
        .await;
    if let Some(secret) = read_key.body["secret"].as_str() {
        let answer = w
            .app
            .call(
                axum::http::Method::POST,
                &base(&w.ana.id),
                Some(secret),
                None,
            )
            .await;
        assert_eq!(answer.status, 403, "{}", answer.body);
    }
}

/// The invoice's id in the partner API, by number.
async fn invoice_id(w: &World, client: &str, number: &str) -> String {
    let list = w.app.get(&format!("/v1/clients/{client}/invoices")).await;
    list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["number"] == number)
        .unwrap_or_else(|| panic!("{number} in {}", list.body))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn events(w: &World, detail_type: &str) -> Vec<clientwatch::ports::DomainEvent> {
    w.app
        .events
        .recorded()
        .into_iter()
        .filter(|e| e.detail_type == detail_type)
        .collect()
}

async fn a_contact_disputes_an_invoice_from_its_page_and_the_partner_sees_it(app: TestApp) {
    let w = World::new(app).await;
    let today = w.today();
    w.invoice(&w.client, json!({"number": "D-1", "issue_date": (today - Duration::days(20)).to_string(), "due_date": (today - Duration::days(3)).to_string(), "amount": "480.00"})).await;
    let id = invoice_id(&w, &w.client, "D-1").await;
    let link = w.link(&w.client, &w.ana.id, None).await;
    let mut ana = Customer::new(&w.app.services);
    sign_in(&mut ana, &link, &w.ana).await;
    let page = ana.get(&format!("/account/invoices/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    // The tenant's reasons, each a choice; the forms carry the session's token.
    for reason in [
        "Already paid",
        "Amount is wrong",
        "Goods or service not received",
        "Other",
    ] {
        assert!(
            page.shows(&format!("value=\"{reason}\"")),
            "{reason}: {}",
            page.html
        );
    }
    let csrf = page.field("csrf").unwrap();
    let path = format!("/account/invoices/{id}/dispute");

    // Refused answers change nothing and say what is wrong, where.
    let forged = ana.post(&path, &[("reason", "Other")]).await;
    assert_eq!(forged.status, 403, "{}", forged.html);
    let no_reason = ana
        .post(
            &path,
            &[("csrf", &csrf), ("reason", "I just don't want to")],
        )
        .await;
    assert_eq!(no_reason.status, 422, "{}", no_reason.html);
    assert!(no_reason.shows("There is a problem"));
    assert!(no_reason.shows("href=\"#f-reason\""), "{}", no_reason.html);
    assert!(no_reason.shows("Choose why you dispute the invoice"));
    let long = "x".repeat(100_000);
    let too_long = ana
        .post(
            &path,
            &[("csrf", &csrf), ("reason", "Other"), ("comment", &long)],
        )
        .await;
    assert_eq!(too_long.status, 422, "{}", too_long.html);
    assert!(too_long.shows("href=\"#f-comment\""), "{}", too_long.html);
    let nul = ana
        .post(
            &path,
            &[("csrf", &csrf), ("reason", "Other"), ("comment", "a\u{0}b")],
        )
        .await;
    assert_eq!(nul.status, 422, "{}", nul.html);
    let api = w
        .app
        .get(&format!("/v1/clients/{}/invoices/{id}", w.client))
        .await;
    assert_eq!(api.body["status"], "open", "{}", api.body);
    assert!(events(&w, "InvoiceDisputed").is_empty());

    // The dispute: the page confirms it, the partner sees it, one event.
    let done = ana
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("reason", "amount is wrong "),
                ("comment", "We agreed 400.00 <b>not</b> 480"),
            ],
        )
        .await;
    assert_eq!(
        done.location(),
        Some(format!("/account/invoices/{id}?done=disputed").as_str()),
        "{}",
        done.html
    );
    let after = ana.follow(done).await;
    assert_eq!(after.status, 200, "{}", after.html);
    assert!(after.shows("has your dispute"), "{}", after.html);
    assert!(after.shows("status-disputed"));
    assert!(after.shows("Amount is wrong"), "the tenant's wording");
    assert!(
        after.shows("We agreed 400.00 &lt;b&gt;not&lt;/b&gt; 480"),
        "{}",
        after.html
    );
    assert!(
        !after.shows("action=\"/account/invoices/"),
        "no more forms: {}",
        after.html
    );
    let api = w
        .app
        .get(&format!("/v1/clients/{}/invoices/{id}", w.client))
        .await;
    assert_eq!(api.body["status"], "disputed", "{}", api.body);
    assert_eq!(api.body["dispute"]["reason"], "Amount is wrong");
    assert_eq!(api.body["dispute"]["contact_id"], w.ana.id.as_str());
    let open = w.app.get("/v1/disputes").await;
    assert!(
        open.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == id.as_str()
                && d["client_id"] == w.client.as_str()
                && d["dispute"]["reason"] == "Amount is wrong"),
        "{}",
        open.body
    );
    assert_eq!(events(&w, "InvoiceDisputed").len(), 1);

    // Again (a second tab, a double submit): told it is disputed, nothing more written.
    let again = ana
        .post(&path, &[("csrf", &csrf), ("reason", "Other")])
        .await;
    assert_eq!(again.status, 409, "{}", again.html);
    assert!(again.shows("already disputed"), "{}", again.html);
    assert_eq!(events(&w, "InvoiceDisputed").len(), 1);
    // The client's communications log has the dispute.
    let log = w
        .app
        .get(&format!("/v1/clients/{}/communications", w.client))
        .await;
    assert!(
        log.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "dispute"),
        "{}",
        log.body
    );
}

async fn a_contact_promises_to_pay_by_a_day_in_the_window_and_reminders_wait(app: TestApp) {
    let w = World::new(app).await;
    let today = w.today();
    w.invoice(&w.client, json!({"number": "P-1", "issue_date": (today - Duration::days(20)).to_string(), "due_date": (today - Duration::days(1)).to_string(), "amount": "99.95"})).await;
    let id = invoice_id(&w, &w.client, "P-1").await;
    let link = w.link(&w.client, &w.ana.id, None).await;
    let mut ana = Customer::new(&w.app.services);
    sign_in(&mut ana, &link, &w.ana).await;
    let page = ana.get(&format!("/account/invoices/{id}")).await;
    let csrf = page.field("csrf").unwrap();
    // The days offered are today to today + 30 (the tenant's default window).
    let last = today + Duration::days(30);
    assert!(page.shows(&format!("value=\"{today}\"")), "{}", page.html);
    assert!(page.shows(&format!("value=\"{last}\"")));
    assert!(!page.shows(&format!("value=\"{}\"", last + Duration::days(1))));
    let path = format!("/account/invoices/{id}/promise");
    for hostile in [
        (last + Duration::days(1)).to_string(),
        (today - Duration::days(1)).to_string(),
        "".into(),
        "31/12/2026".into(),
        "2026-12-0\u{0}".into(),
        "9".repeat(10_000),
    ] {
        let refused = ana
            .post(&path, &[("csrf", &csrf), ("date", &hostile)])
            .await;
        assert_eq!(refused.status, 422, "{hostile:.40}: {}", refused.html);
        assert!(refused.shows("href=\"#f-date\""), "{}", refused.html);
    }
    assert!(events(&w, "PaymentPromised").is_empty());

    let by = today + Duration::days(7);
    let done = ana
        .post(&path, &[("csrf", &csrf), ("date", &by.to_string())])
        .await;
    assert_eq!(
        done.location(),
        Some(format!("/account/invoices/{id}?done=promised").as_str()),
        "{}",
        done.html
    );
    let after = ana.follow(done).await;
    assert!(after.shows("has your promise to pay"), "{}", after.html);
    assert!(
        after.shows(&clientwatch::render::long_date(by)),
        "{}",
        after.html
    );
    assert!(
        !after.shows(&format!("action=\"{path}\"")),
        "one promise at a time: {}",
        after.html
    );
    assert!(
        after.shows("/dispute\""),
        "a promised invoice may still be disputed"
    );
    let api = w
        .app
        .get(&format!("/v1/clients/{}/invoices/{id}", w.client))
        .await;
    assert_eq!(api.body["promise"]["date"], by.to_string(), "{}", api.body);
    assert_eq!(api.body["promise"]["status"], "pending");
    assert_eq!(events(&w, "PaymentPromised").len(), 1);
    let twice = ana
        .post(&path, &[("csrf", &csrf), ("date", &by.to_string())])
        .await;
    assert_eq!(twice.status, 409, "{}", twice.html);
    assert_eq!(events(&w, "PaymentPromised").len(), 1);
}

async fn the_statements_sent_to_the_client_are_pages_of_the_account(app: TestApp) {
    let w = World::new(app).await;
    let today = w.today();
    let first = chrono::Datelike::with_day(&today, 1)
        .unwrap()
        .checked_add_months(chrono::Months::new(1))
        .unwrap();
    w.invoice(&w.client, json!({"number": "S-1", "issue_date": today.to_string(), "due_date": (first + Days::new(10)).to_string(), "amount": "1234.50"})).await;
    w.invoice(&w.client, json!({"number": "S-2", "issue_date": today.to_string(), "due_date": (first + Days::new(20)).to_string(), "amount": "40.00", "currency": "AUD"})).await;
    let link = w.link(&w.client, &w.ana.id, None).await;
    let mut ana = Customer::new(&w.app.services);
    sign_in(&mut ana, &link, &w.ana).await;
    let none = ana.get("/account/statements").await;
    assert_eq!(none.status, 200, "{}", none.html);
    assert!(none.shows("No statements have been sent"), "{}", none.html);

    // The 1st of next month, mid-morning in Auckland: the run sends the month's statement.
    let at = clientwatch_tests::ten_in_auckland(first);
    w.app.harness.clock.set(at);
    let report = run::run_day(&w.app.services, first, &mut |line: &str| {
        eprintln!("{line}")
    })
    .await
    .expect("the run completes");
    assert!(report.statements >= 1, "{report:?}");
    let month = first.format("%Y-%m").to_string();
    let month_name = first.format("%B %Y").to_string();

    // Sign in again (the old session timed out while the clock moved on).
    let mut ana = Customer::new(&w.app.services);
    let link = w.link(&w.client, &w.ana.id, None).await;
    sign_in(&mut ana, &link, &w.ana).await;
    let list = ana.get("/account/statements").await;
    assert_eq!(list.status, 200, "{}", list.html);
    assert!(
        list.shows(&format!("href=\"/account/statements/{month}\"")),
        "{}",
        list.html
    );
    assert!(list.shows(&month_name));
    let page = ana.get(&format!("/account/statements/{month}")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    for shown in [
        "Statement for",
        "S-1",
        "S-2",
        "NZD 1,234.50",
        "AUD 40.00",
        "Save as PDF",
    ] {
        assert!(page.shows(shown), "{shown}: {}", page.html);
    }
    // Months that are not there, or not months, are not found.
    for missing in [
        "2019-01",
        "2026-13",
        "..%2F..",
        "2026-12%00",
        &"9".repeat(5000),
    ] {
        let page = ana.get(&format!("/account/statements/{missing}")).await;
        assert_eq!(page.status, 404, "{missing:.40}: {}", page.html);
    }
    // Another client's contact sees none of them.
    let other = w.new_client("Other Co", json!({})).await;
    let mia = w.contact(&other, "Mia Hone", true, true).await;
    let mut mia_browser = Customer::new(&w.app.services);
    let mia_link = w.link(&other, &mia.id, None).await;
    sign_in(&mut mia_browser, &mia_link, &mia).await;
    let theirs = mia_browser
        .get(&format!("/account/statements/{month}"))
        .await;
    assert_eq!(theirs.status, 404, "{}", theirs.html);
}
