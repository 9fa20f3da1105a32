//! Nothing secret reaches a log: every line the API and the portal write during an invite, a
//! sign-in (with wrong codes, a bad link and a resend) and an edit is captured at the most
//! verbose level, and none holds the link token, an SMS code, the session id, the form token
//! or the mobile number; the same for a sign-in to the account portal.

use std::sync::{Arc, Mutex};

use clientwatch::domain::PhoneNumber;
use clientwatch::ports::{DeliveryError, Email, Mailer, Sms};
use clientwatch_tests::Store;
use clientwatch_tests::api::TestApp;
use clientwatch_tests::portal::{Customer, code_in, link_path};
use serde_json::json;

/// Mail and texts kept in memory, to be read back by the test.
#[derive(Default)]
struct Inbox {
    mail: Mutex<Vec<Email>>,
    texts: Mutex<Vec<(String, String)>>,
}

#[async_trait::async_trait]
impl Mailer for Inbox {
    async fn send(&self, email: &Email) -> Result<String, DeliveryError> {
        self.mail.lock().unwrap().push(email.clone());
        Ok("mail-1".into())
    }
}

#[async_trait::async_trait]
impl Sms for Inbox {
    async fn send(&self, to: &PhoneNumber, body: &str) -> Result<String, DeliveryError> {
        self.texts
            .lock()
            .unwrap()
            .push((to.e164().to_owned(), body.to_owned()));
        Ok("sms-1".into())
    }
}

clientwatch_tests::in_own_process! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_token_code_session_or_phone_number_is_logged() {
        let log = clientwatch_tests::logs::capture();

        let mut app = TestApp::new(Store::Embedded).await;
        let inbox = Arc::new(Inbox::default());
        app.services.mailer = inbox.clone();
        app.services.sms = inbox.clone();
        let mobile = "+64211234567";
        let role = app
            .post("/v1/contact-roles", json!({"name": "Borrower"}))
            .await;
        let client_type = app
            .post(
                "/v1/client-types",
                json!({"name": "People", "class": "individual"}),
            )
            .await;
        let client = app
            .post("/v1/clients", json!({"client_type_id": client_type.body["id"], "identity": {"kind": "individual", "first_name": "Ana", "last_name": "Tui", "date_of_birth": "1985-04-12"}}))
            .await;
        let client = client.body["id"].as_str().unwrap().to_owned();
        let contact = app
            .post(&format!("/v1/clients/{client}/contacts"), json!({"name": "Ana Tui", "email": "ana@customer.test", "mobile": mobile, "role_id": role.body["id"]}))
            .await;
        let opportunity = app
            .post(&format!("/v1/clients/{client}/opportunities"), json!({"name": "Loan", "parties": [{"contact_id": contact.body["id"], "role": "applicant"}], "data": {"employer": "Kauri Mills"}}))
            .await;
        let invites = format!(
            "/v1/clients/{client}/opportunities/{}/invites",
            opportunity.body["id"].as_str().unwrap()
        );
        let invite = app
            .post(
                &invites,
                json!({"contact_id": contact.body["id"], "delivery": "email"}),
            )
            .await;
        assert_eq!(invite.status, 201, "{}", invite.body);
        let link = link_path(&inbox.mail.lock().unwrap()[0].html);
        let token = link.trim_start_matches("/i/").to_owned();

        let mut customer = Customer::new(&app.services);
        let landing = customer.get(&link).await;
        let form_token = landing.field("form_token").unwrap();
        customer.get(&format!("/i/{}x", &token[..42])).await;
        customer
            .post(&format!("{link}/code"), &[("form_token", &form_token)])
            .await;
        customer
            .post(&format!("{link}/code"), &[("form_token", &form_token)])
            .await;
        let code = code_in(&inbox.texts.lock().unwrap()[0].1);
        let wrong = if code == "123456" { "654321" } else { "123456" };
        customer
            .post(
                &format!("{link}/verify"),
                &[("form_token", &form_token), ("code", wrong)],
            )
            .await;
        let signed_in = customer
            .post(
                &format!("{link}/verify"),
                &[("form_token", &form_token), ("code", &code)],
            )
            .await;
        let page = customer.follow(signed_in).await;
        let session = customer.cookies["__Host-cw_session"].clone();
        let csrf = page.field("csrf").unwrap();
        customer
            .post(
                "/app",
                &[
                    ("csrf", &csrf),
                    ("version", &page.field("version").unwrap()),
                    ("f.employer", "Rimu"),
                ],
            )
            .await;
        customer.post("/app", &[("version", "1")]).await;

        let logged = log.text();
        assert!(
            logged.contains("portal request"),
            "the portal's requests are logged:\n{logged}"
        );
        assert!(
            logged.contains("/i/{token}"),
            "by route template:\n{logged}"
        );
        let national = PhoneNumber::parse(mobile, "NZ").unwrap();
        for (what, secret) in [
            ("link token", token.as_str()),
            ("SMS code", code.as_str()),
            ("session id", session.as_str()),
            ("form token", form_token.as_str()),
            ("session form token", csrf.as_str()),
            ("mobile number", mobile),
            ("mobile number without +", &mobile[1..]),
            ("national mobile number", &national.e164()[3..]),
        ] {
            assert!(!logged.contains(secret), "the {what} was logged:\n{logged}");
        }
    }
}

clientwatch_tests::in_own_process! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_account_portal_token_code_session_or_phone_number_is_logged() {
        let log = clientwatch_tests::logs::capture();

        let mut app = TestApp::new(Store::Embedded).await;
        let inbox = Arc::new(Inbox::default());
        app.services.mailer = inbox.clone();
        app.services.sms = inbox.clone();
        let mobile = "+64211234568";
        let role = app
            .post("/v1/contact-roles", json!({"name": "Accounts", "communication": true}))
            .await;
        let client_type = app
            .post("/v1/client-types", json!({"name": "Companies", "class": "company"}))
            .await;
        let client = app
            .post("/v1/clients", json!({"client_type_id": client_type.body["id"], "identity": {"kind": "company", "name": "Tui Ltd"}}))
            .await;
        let client = client.body["id"].as_str().unwrap().to_owned();
        let contact = app
            .post(&format!("/v1/clients/{client}/contacts"), json!({"name": "Ana Tui", "email": "ana@customer.test", "mobile": mobile, "role_id": role.body["id"]}))
            .await;
        let issued = app
            .post(
                &format!(
                    "/v1/clients/{client}/contacts/{}/portal-link",
                    contact.body["id"].as_str().unwrap()
                ),
                json!({}),
            )
            .await;
        assert_eq!(issued.status, 201, "{}", issued.body);
        let url = issued.body["link"].as_str().unwrap();
        let link = url[url.find("/a/").unwrap()..].to_owned();
        let token = link.trim_start_matches("/a/").to_owned();

        let mut customer = Customer::new(&app.services);
        let landing = customer.get(&link).await;
        let form_token = landing.field("form_token").unwrap();
        customer.get(&format!("/a/{}x", &token[..42])).await;
        customer
            .post(&format!("{link}/code"), &[("form_token", &form_token)])
            .await;
        let code = code_in(&inbox.texts.lock().unwrap()[0].1);
        let wrong = if code == "123456" { "654321" } else { "123456" };
        customer
            .post(&format!("{link}/verify"), &[("form_token", &form_token), ("code", wrong)])
            .await;
        let signed_in = customer
            .post(&format!("{link}/verify"), &[("form_token", &form_token), ("code", &code)])
            .await;
        let page = customer.follow(signed_in).await;
        assert_eq!(page.status, 200, "{}", page.html);
        let session = customer.cookies["__Host-cw_account"].clone();
        let csrf = page.field("csrf").unwrap();
        customer.get("/account/invoices").await;
        customer.get("/account/invoices/nonexistent").await;
        customer.get("/account/messages").await;
        customer.post("/account/sign-out", &[("csrf", &csrf)]).await;

        let logged = log.text();
        assert!(logged.contains("/a/{token}"), "by route template:\n{logged}");
        let national = PhoneNumber::parse(mobile, "NZ").unwrap();
        for (what, secret) in [
            ("link token", token.as_str()),
            ("code", code.as_str()),
            ("session id", session.as_str()),
            ("form token", form_token.as_str()),
            ("session form token", csrf.as_str()),
            ("mobile number", mobile),
            ("mobile number without +", &mobile[1..]),
            ("national mobile number", &national.e164()[3..]),
        ] {
            assert!(!logged.contains(secret), "the {what} was logged:\n{logged}");
        }
    }
}
