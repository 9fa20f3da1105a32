//! What happens after an e-mail is handed over, over both stores: SES's reports (in the event
//! shapes AWS documents for a configuration set's SNS destination, with the message's tags)
//! are recorded in the client's communications log; a hard bounce or a complaint suppresses
//! the address, so the next message to it is skipped with the reason, the contact shows it, and
//! a new address is reached at once; the tenant lists and lifts suppressions; a digest's alert
//! recipient whose address bounced is left out of the next digest. A report delivered twice is
//! recorded once, and a report naming no tenant here, or another tenant's client, touches
//! nothing.

use clientwatch::comms::outcomes::{self, SesEvent};
use clientwatch_tests::api::{Answer, TestApp};
use clientwatch_tests::monitoring::{self as mon, day, person_line};
use clientwatch_tests::over_both_stores;
use clientwatch_tests::portal::{deliver_through_emulator, emails_to, unique_email};
use serde_json::{Value, json};

over_both_stores!(
    a_hard_bounce_suppresses_the_address_until_it_changes_or_is_lifted,
    a_complaint_suppresses_and_a_soft_bounce_or_a_delivery_is_only_logged,
    a_report_recorded_twice_is_recorded_once,
    reports_naming_no_tenant_here_or_another_tenants_client_touch_nothing_of_theirs,
    a_digest_recipient_whose_address_bounced_is_left_out_of_the_next_digest,
    a_report_recorded_by_a_process_killed_between_its_writes_is_recorded_once_when_delivered_again,
    hostile_addresses_are_refused_naming_the_field,
);

struct World {
    app: TestApp,
    client: String,
    ann: String,
    ann_email: String,
    ben_email: String,
}

fn id(answer: Answer) -> String {
    assert!(answer.status.is_success(), "{:#}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

impl World {
    /// A client with two accounts contacts (invoice presentment), e-mailed through the
    /// emulator's SES on DynamoDB.
    async fn new(mut app: TestApp) -> Self {
        deliver_through_emulator(&mut app.services).await;
        let accounts = id(app
            .post(
                "/v1/contact-roles",
                json!({"name": "Accounts payable", "invoice_presentment": true}),
            )
            .await);
        let client_type = id(app
            .post(
                "/v1/client-types",
                json!({"name": "Companies", "class": "company"}),
            )
            .await);
        let client = id(app
            .post(
                "/v1/clients",
                json!({"client_type_id": client_type, "identity": {"kind": "company", "name": "Kauri Ltd"}}),
            )
            .await);
        let (ann_email, ben_email) = (unique_email("ann"), unique_email("ben"));
        let ann = id(app
            .post(
                &format!("/v1/clients/{client}/contacts"),
                json!({"name": "Ann", "email": ann_email, "role_id": accounts}),
            )
            .await);
        id(app
            .post(
                &format!("/v1/clients/{client}/contacts"),
                json!({"name": "Ben", "email": ben_email, "role_id": accounts}),
            )
            .await);
        Self {
            app,
            client,
            ann,
            ann_email,
            ben_email,
        }
    }

    async fn invoice(&self, number: &str) {
        let made = self
            .app
            .post(
                &format!("/v1/clients/{}/invoices", self.client),
                json!({"number": number, "issue_date": "2026-11-03", "due_date": "2026-11-20", "amount": "120.00"}),
            )
            .await;
        assert_eq!(made.status, 201, "{:#}", made.body);
    }

    async fn log(&self) -> Vec<Value> {
        let answer = self
            .app
            .get(&format!(
                "/v1/clients/{}/communications?limit=200",
                self.client
            ))
            .await;
        answer.body["items"].as_array().unwrap().clone()
    }

    /// The provider's id of the message sent to `to`, from the log.
    async fn message_to(&self, to: &str) -> String {
        self.log()
            .await
            .iter()
            .find(|e| e["to"] == to && e["outcome"] == "sent")
            .and_then(|e| e["message_id"].as_str())
            .unwrap_or_else(|| panic!("a message was sent to {to}"))
            .to_owned()
    }

    fn tags(&self, kind: &str) -> Value {
        json!({"ses:configuration-set": ["clientwatch"], "tenant": [self.app.tenant_id],
               "client": [self.client], "kind": [kind]})
    }

    async fn record(&self, event: Value) -> outcomes::Recorded {
        let event: SesEvent = serde_json::from_value(event).expect("an SES event record");
        outcomes::record(&self.app.services, &event)
            .await
            .expect("recorded")
    }

    async fn contact(&self, id: &str) -> Answer {
        self.app
            .get(&format!("/v1/clients/{}/contacts/{id}", self.client))
            .await
    }
}

/// The `mail` object of an SES event record, as AWS documents it.
fn mail(message_id: &str, to: &str, subject: &str, tags: Value) -> Value {
    json!({
        "timestamp": "2026-12-01T09:00:00.000Z",
        "source": "Acme Lending <no-reply@acme.example>",
        "sourceArn": "arn:aws:ses:ap-southeast-2:123456789012:identity/acme.example",
        "sendingAccountId": "123456789012",
        "messageId": message_id,
        "destination": [to],
        "headersTruncated": false,
        "headers": [{"name": "To", "value": to}, {"name": "Subject", "value": subject}],
        "commonHeaders": {"from": ["no-reply@acme.example"], "to": [to], "messageId": message_id, "subject": subject},
        "tags": tags
    })
}

fn bounce(mail: Value, to: &str, kind: &str) -> Value {
    json!({
        "eventType": "Bounce",
        "bounce": {
            "bounceType": kind,
            "bounceSubType": if kind == "Permanent" { "General" } else { "MailboxFull" },
            "bouncedRecipients": [{"emailAddress": to, "action": "failed", "status": "5.1.1",
                                   "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
            "timestamp": "2026-12-01T09:00:05.000Z",
            "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
            "reportingMTA": "dsn; mta.example.com"
        },
        "mail": mail
    })
}

fn complaint(mail: Value, to: &str) -> Value {
    json!({
        "eventType": "Complaint",
        "complaint": {
            "feedbackId": "0100015de2e4d226-ad6fd21f-0b58-4a8b-8a63-d7e8e1e1d3b8-000000",
            "complaintSubType": null,
            "complainedRecipients": [{"emailAddress": to}],
            "timestamp": "2026-12-01T10:00:00.000Z",
            "userAgent": "Mozilla/5.0",
            "complaintFeedbackType": "abuse",
            "arrivalDate": "2026-12-01T09:59:00.000Z"
        },
        "mail": mail
    })
}

fn delivery(mail: Value, to: &str) -> Value {
    json!({
        "eventType": "Delivery",
        "delivery": {"timestamp": "2026-12-01T09:00:01.000Z", "processingTimeMillis": 546,
                     "recipients": [to], "smtpResponse": "250 2.6.0 Message received",
                     "reportingMTA": "mta.example.com"},
        "mail": mail
    })
}

async fn a_hard_bounce_suppresses_the_address_until_it_changes_or_is_lifted(app: TestApp) {
    let w = World::new(app).await;
    w.invoice("INV-1").await;
    let message = w.message_to(&w.ann_email).await;

    let recorded = w
        .record(bounce(
            mail(&message, &w.ann_email, "Invoice INV-1", w.tags("invoice")),
            &w.ann_email,
            "Permanent",
        ))
        .await;
    assert_eq!((recorded.suppressed, recorded.logged), (1, 1));

    // The client's log and the tenant's warnings show the bounce, with the server's words.
    let bounced: Vec<Value> = w
        .log()
        .await
        .into_iter()
        .filter(|e| e["outcome"] == "bounced")
        .collect();
    assert_eq!(bounced.len(), 1);
    assert_eq!(bounced[0]["to"], w.ann_email);
    assert_eq!(bounced[0]["message_id"], message);
    assert!(bounced[0]["reason"].as_str().unwrap().contains("550 5.1.1"));
    let warnings = w.app.get("/v1/communications/skipped").await;
    assert!(
        warnings.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["outcome"] == "bounced" && e["to"] == w.ann_email),
        "{:#}",
        warnings.body
    );

    // The contact shows it; the list of suppressions has it.
    let ann = w.contact(&w.ann).await;
    assert_eq!(
        ann.body["email_suppressed"]["reason"], "bounce",
        "{:#}",
        ann.body
    );
    let listed = w.app.get("/v1/suppressions").await;
    assert_eq!(
        listed.body["items"][0]["address"],
        w.ann_email.to_lowercase()
    );
    assert_eq!(listed.body["items"][0]["message_kind"], "invoice");

    // The next invoice reaches Ben, not Ann: hers is logged as skipped, with the reason.
    w.invoice("INV-2").await;
    assert_eq!(emails_to(&w.ann_email).await.len(), 1, "Ann got INV-1 only");
    assert_eq!(emails_to(&w.ben_email).await.len(), 2);
    let skipped = w
        .log()
        .await
        .into_iter()
        .find(|e| e["outcome"] == "skipped" && e["to"] == w.ann_email)
        .expect("Ann's INV-2 is logged as skipped");
    assert!(
        skipped["reason"]
            .as_str()
            .unwrap()
            .contains("is suppressed: an e-mail to it bounced for good"),
        "{skipped:#}"
    );

    // A new address is reached at once.
    let new_address = unique_email("ann-new");
    let changed = w
        .app
        .patch(
            &format!("/v1/clients/{}/contacts/{}", w.client, w.ann),
            ann.header("etag").unwrap(),
            json!({"email": new_address}),
        )
        .await;
    assert_eq!(changed.status, 200, "{:#}", changed.body);
    assert!(changed.body.get("email_suppressed").is_none());
    w.invoice("INV-3").await;
    assert_eq!(emails_to(&new_address).await.len(), 1);

    // Lifting the old address's suppression: gone from the list; lifting again is a 404.
    let path = format!(
        "/v1/suppressions?address={}",
        w.ann_email.replace('@', "%40")
    );
    assert_eq!(w.app.delete(&path).await.status, 204);
    w.app.delete(&path).await.problem(404, "not-found");
    assert!(
        w.app.get("/v1/suppressions").await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    w.app
        .delete("/v1/suppressions?address=not-an-address")
        .await
        .problem(422, "validation");
}

async fn a_complaint_suppresses_and_a_soft_bounce_or_a_delivery_is_only_logged(app: TestApp) {
    let w = World::new(app).await;
    w.invoice("INV-1").await;
    let to_ann = w.message_to(&w.ann_email).await;
    let to_ben = w.message_to(&w.ben_email).await;

    let soft = w
        .record(bounce(
            mail(&to_ann, &w.ann_email, "Invoice INV-1", w.tags("invoice")),
            &w.ann_email,
            "Transient",
        ))
        .await;
    assert_eq!((soft.suppressed, soft.logged), (0, 1));
    let delivered = w
        .record(delivery(
            mail(&to_ben, &w.ben_email, "Invoice INV-1", w.tags("invoice")),
            &w.ben_email,
        ))
        .await;
    assert_eq!((delivered.suppressed, delivered.logged), (0, 1));
    let complained = w
        .record(complaint(
            mail(&to_ben, &w.ben_email, "Invoice INV-1", w.tags("invoice")),
            &w.ben_email,
        ))
        .await;
    assert_eq!((complained.suppressed, complained.logged), (1, 1));

    let log = w.log().await;
    let outcome_of = |to: &str, outcome: &str| {
        log.iter()
            .filter(|e| e["to"] == to && e["outcome"] == outcome)
            .count()
    };
    assert_eq!(outcome_of(&w.ann_email, "failed"), 1, "the soft bounce");
    assert_eq!(outcome_of(&w.ben_email, "delivered"), 1);
    assert_eq!(outcome_of(&w.ben_email, "complained"), 1);

    let listed = w.app.get("/v1/suppressions").await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "only the complaint suppresses: {items:#?}");
    assert_eq!(items[0]["address"], w.ben_email.to_lowercase());
    assert_eq!(items[0]["reason"], "complaint");
    // The delivery is no warning; the complaint is.
    let warnings = w.app.get("/v1/communications/skipped").await;
    let outcomes: Vec<&str> = warnings.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert!(outcomes.contains(&"complained") && !outcomes.contains(&"delivered"));
}

async fn a_report_recorded_twice_is_recorded_once(app: TestApp) {
    let w = World::new(app).await;
    w.invoice("INV-1").await;
    let message = w.message_to(&w.ann_email).await;
    let event = bounce(
        mail(&message, &w.ann_email, "Invoice INV-1", w.tags("invoice")),
        &w.ann_email,
        "Permanent",
    );
    let first = w.record(event.clone()).await;
    let entries = w.log().await.len();
    let again = w.record(event.clone()).await;
    assert_eq!(first.suppressed, 1);
    assert_eq!(again.suppressed, 0, "already suppressed");
    assert_eq!(
        w.log().await.len(),
        entries,
        "the same log entry, written again"
    );
    // Two deliveries of the same report at once: still one entry, one suppression.
    let (a, b) = futures::join!(w.record(event.clone()), w.record(event));
    assert_eq!(a.suppressed + b.suppressed, 0);
    assert_eq!(w.log().await.len(), entries);
    assert_eq!(
        w.app.get("/v1/suppressions").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn reports_naming_no_tenant_here_or_another_tenants_client_touch_nothing_of_theirs(
    app: TestApp,
) {
    let w = World::new(app).await;
    w.invoice("INV-1").await;
    let message = w.message_to(&w.ann_email).await;
    let before = w.log().await.len();

    for tags in [
        json!({}),
        json!({"tenant": ["nosuchtenant"], "client": [w.client], "kind": ["invoice"]}),
    ] {
        let ignored = w
            .record(bounce(
                mail(&message, &w.ann_email, "x", tags),
                &w.ann_email,
                "Permanent",
            ))
            .await;
        assert!(ignored.ignored.is_some(), "{ignored:?}");
        assert_eq!((ignored.suppressed, ignored.logged), (0, 0));
    }
    // Another tenant's report about its own client: this tenant's log and suppressions stay
    // as they were; the other tenant's client is not written under this tenant.
    let other_key = w.app.other_tenant().await;
    let as_other = |path: &'static str| {
        w.app
            .call(axum::http::Method::GET, path, Some(&other_key), None)
    };
    let other_tenant = as_other("/v1/tenant").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = w
        .record(bounce(
            mail(
                &message,
                &w.ann_email,
                "x",
                json!({"tenant": [other_tenant], "client": [w.client], "kind": ["invoice"]}),
            ),
            &w.ann_email,
            "Permanent",
        ))
        .await;
    assert_eq!(theirs.logged, 0, "our client is not theirs");
    assert_eq!(w.log().await.len(), before);
    assert!(
        w.app.get("/v1/suppressions").await.body["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "our tenant suppressed nothing"
    );
    assert_eq!(
        as_other("/v1/suppressions").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "theirs is theirs"
    );
}

async fn a_digest_recipient_whose_address_bounced_is_left_out_of_the_next_digest(app: TestApp) {
    let w = mon::World::new(app).await;
    let ana = w.person("Ana", Some("IND-100"), "L-100").await;
    w.monitor(&ana, json!({})).await;
    w.feed(
        day(1),
        "part-0000.ndjson",
        &[person_line("IND-100", "Ana Test", json!({}))],
    )
    .await;
    w.run(day(1)).await;
    let with_default = |creditor: &str| {
        person_line(
            "IND-100",
            "Ana Test",
            json!({"defaults": [{"creditor": creditor, "amount_cents": 10000, "currency": "NZD", "date": "2026-11-01"}]}),
        )
    };
    w.feed(day(2), "part-0000.ndjson", &[with_default("Acme")])
        .await;
    w.run(day(2)).await;
    assert_eq!(w.inbox.messages().await.len(), 1, "day two's digest");

    let tenant = w.app.get("/v1/tenant").await;
    let alerts = tenant.body["alert_recipients"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let event: SesEvent = serde_json::from_value(bounce(
        mail(
            "digest-message-1",
            &alerts,
            "clientwatch: 1 new hit",
            json!({"tenant": [w.app.tenant_id], "kind": ["digest"]}),
        ),
        &alerts,
        "Permanent",
    ))
    .unwrap();
    let recorded = outcomes::record(&w.app.services, &event).await.unwrap();
    assert_eq!((recorded.suppressed, recorded.logged), (1, 0));
    let listed = w.app.get("/v1/suppressions").await;
    assert_eq!(listed.body["items"][0]["message_kind"], "digest");

    let mut day3 = with_default("Acme");
    day3 = day3.replace(
        "\"defaults\":[",
        "\"defaults\":[{\"creditor\":\"Beta\",\"amount_cents\":20000,\"currency\":\"NZD\",\"date\":\"2026-11-02\"},",
    );
    w.feed(day(3), "part-0000.ndjson", &[day3]).await;
    let report = w.run(day(3)).await;
    assert_eq!(
        w.inbox.messages().await.len(),
        1,
        "no digest to a suppressed address"
    );
    let digest = &report.digests[0];
    assert_eq!(
        digest.hits, 1,
        "the hit is billed and listed by the API: {digest:?}"
    );
    assert!(digest.message_id.is_none());
    let note = digest.note.as_deref().unwrap_or_default();
    assert!(
        note.contains("is suppressed") && note.contains(&alerts.to_lowercase()),
        "{note}"
    );
}

async fn a_report_recorded_by_a_process_killed_between_its_writes_is_recorded_once_when_delivered_again(
    app: TestApp,
) {
    use clientwatch_tests::faults::{Death, Faults, faulty};
    let w = World::new(app).await;
    w.invoice("INV-1").await;
    let message = w.message_to(&w.ann_email).await;
    let event: SesEvent = serde_json::from_value(bounce(
        mail(&message, &w.ann_email, "Invoice INV-1", w.tags("invoice")),
        &w.ann_email,
        "Permanent",
    ))
    .unwrap();
    let before = w.log().await.len();
    // Killed before and after each of its writes (tenant and client reads, the suppression,
    // the log entry), then SNS delivers the report again (Lambda's retry).
    for n in 1..=5 {
        for death in [Death::Before(n), Death::After(n)] {
            let faults = Faults::new(death);
            let _ = outcomes::record(&faulty(&w.app.services, &faults), &event).await;
            outcomes::record(&w.app.services, &event).await.unwrap();
            let bounced = w
                .log()
                .await
                .iter()
                .filter(|e| e["outcome"] == "bounced")
                .count();
            assert_eq!(bounced, 1, "{death:?}: one bounce in the log");
            assert_eq!(w.log().await.len(), before + 1, "{death:?}");
            let listed = w.app.get("/v1/suppressions").await;
            assert_eq!(
                listed.body["items"].as_array().unwrap().len(),
                1,
                "{death:?}"
            );
        }
    }
}

async fn hostile_addresses_are_refused_naming_the_field(app: TestApp) {
    let w = World::new(app).await;
    for hostile in [
        "not-an-address".to_owned(),
        "a%00b%40example.com".to_owned(),
        // A long address (the `http` crate refuses a URL of 64 KB or more before any router).
        format!("{}%40example.com", "a".repeat(30_000)),
        "%40".to_owned(),
    ] {
        let answer = w
            .app
            .delete(&format!("/v1/suppressions?address={hostile}"))
            .await;
        let problem = answer.problem(422, "validation");
        assert_eq!(problem["errors"][0]["field"], "address", "{problem:#}");
    }
    w.app
        .delete("/v1/suppressions")
        .await
        .problem(422, "validation");
    // Another tenant's suppression is not this tenant's to lift.
    let other_key = w.app.other_tenant().await;
    let lifted = w
        .app
        .call(
            axum::http::Method::DELETE,
            &format!(
                "/v1/suppressions?address={}",
                w.ann_email.replace('@', "%40")
            ),
            Some(&other_key),
            None,
        )
        .await;
    lifted.problem(404, "not-found");
}
