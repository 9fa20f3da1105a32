//! What a client's contact answers to an invoice in the account portal, over both stores: a
//! dispute stops the invoice's workflow and the partner sees it (on the invoice and in
//! `GET /v1/disputes`) and resolves it; a promise to pay pauses the reminders until the day
//! after the date, and a broken one resumes them in that run with one `PaymentPromiseBroken`
//! event; a paid invoice keeps its promise. Races (two disputes, a dispute and a partner's
//! PATCH, two runs breaking one promise), tenant isolation, the events' outbox under injected
//! faults (a refused publish, a kill before and after the publish, two runs flushing one
//! leftover), and the monthly statements stored once and listed.
//!
//! The communications run is driven as `workflows.rs` drives it: the harness's clock is set to
//! 10:00 in the tenant's zone on each simulated day and `run_day` runs that day. Messages go to
//! the local outbox; what went out is read from the communications log, as a partner reads it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{Datelike, Days, Duration, NaiveDate, Utc};
use chrono_tz::Pacific::Auckland;
use clientwatch::Services;
use clientwatch::comms::invoices::{self, Invoice, PromiseStatus, Status, answers};
use clientwatch::comms::run::{self, Report};
use clientwatch::comms::statements;
use clientwatch::domain::Error;
use clientwatch::domain::portal::ContactRef;
use clientwatch::keys;
use clientwatch::ports::{Clock, DomainEvent, Query};
use clientwatch_tests::api::TestApp;
use clientwatch_tests::faulty::{Call, Faulty, Gate, Injected, Verdict};
use clientwatch_tests::over_both_stores;
use serde_json::json;

over_both_stores!(
    a_dispute_stops_the_workflow_and_the_partner_sees_it_and_resolves_it,
    two_disputes_at_once_make_one_and_the_other_is_told_it_is_disputed,
    a_dispute_racing_a_partners_payment_leaves_exactly_one_of_them,
    a_promise_pauses_reminders_until_the_day_after_the_date_and_a_broken_one_resumes_them,
    two_runs_at_once_break_a_promise_once,
    a_paid_invoice_keeps_its_promise,
    answers_outside_the_rules_are_refused_naming_the_field,
    another_tenants_or_clients_invoice_is_not_found,
    a_refused_publish_leaves_the_event_for_the_next_run_which_publishes_it_once,
    a_kill_between_the_change_and_its_publish_is_published_once_after_the_lease,
    a_kill_after_the_publish_repeats_the_event_with_the_same_event_id,
    two_runs_at_once_publish_a_leftover_event_once,
    statements_are_stored_once_a_month_sent_as_stored_and_listed,
);

/// A tenant with a three-step e-mail workflow (3 days before the due date, on it, 3 days
/// after) in a portfolio, and a client in it with Ana, a contact whose role has communication.
struct World {
    app: TestApp,
    client: String,
    ana: ContactRef,
    /// The first simulated day: three days before the standard invoice is due.
    today: NaiveDate,
}

impl World {
    async fn new(app: TestApp) -> Self {
        let workflow = id(&app
            .post(
                "/v1/workflows",
                json!({"name": "Standard", "steps": [
                    {"id": "friendly", "kind": "email", "days_from_due": -3,
                     "subject": "Invoice {{invoice_number}} is due on {{due_date}}", "text": "Please pay."},
                    {"id": "due-today", "kind": "email", "days_from_due": 0,
                     "subject": "Invoice {{invoice_number}} is due today", "text": "Please pay today."},
                    {"id": "overdue", "kind": "email", "days_from_due": 3,
                     "subject": "Invoice {{invoice_number}} is overdue", "text": "Please pay now."},
                ]}),
            )
            .await);
        let portfolio = id(&app
            .post(
                "/v1/portfolios",
                json!({"name": "Loans", "workflow_id": workflow}),
            )
            .await);
        let class = id(&app
            .post(
                "/v1/client-types",
                json!({"name": "Companies", "class": "company"}),
            )
            .await);
        let client = id(&app
            .post(
                "/v1/clients",
                json!({"client_type_id": class, "identity": {"kind": "company", "name": "Tui & Sons Ltd"},
                       "portfolio_id": portfolio}),
            )
            .await);
        let ana = id(&app
            .post(
                &format!("/v1/clients/{client}/contacts"),
                json!({"name": "Ana Tui", "email": "ana@tui.example", "role_id": "primary-contact"}),
            )
            .await);
        let today = Utc::now().with_timezone(&Auckland).date_naive();
        let ana = ContactRef {
            tenant_id: app.tenant_id.clone(),
            client_id: client.clone(),
            contact_id: ana,
            contact_name: "Ana Tui".into(),
        };
        Self {
            app,
            client,
            ana,
            today,
        }
    }

    fn svc(&self) -> &Services {
        &self.app.services
    }

    fn day(&self, offset: u64) -> NaiveDate {
        self.today + Days::new(offset)
    }

    /// An open invoice of the world's client, due `due`, created through the API.
    async fn invoice(&self, number: &str, due: NaiveDate) -> Invoice {
        let made = self
            .app
            .post(
                &format!("/v1/clients/{}/invoices", self.client),
                json!({"number": number, "issue_date": (due - Days::new(30)).to_string(),
                       "due_date": due.to_string(), "amount": "120.00"}),
            )
            .await;
        assert_eq!(made.status, 201, "{}", made.body);
        self.stored(made.body["id"].as_str().unwrap()).await
    }

    async fn stored(&self, id: &str) -> Invoice {
        invoices::get(self.svc(), &self.app.tenant_id, &self.client, id)
            .await
            .unwrap()
    }

    fn path(&self, invoice: &Invoice) -> String {
        format!("/v1/clients/{}/invoices/{}", self.client, invoice.id)
    }

    /// Sets the clock to 10:00 in the tenant's zone on `day`.
    fn at(&self, day: NaiveDate) {
        let at = clientwatch_tests::ten_in_auckland(day);
        self.app.harness.clock.set(at);
    }

    async fn run_with(&self, svc: &Services, day: NaiveDate) -> Report {
        self.at(day);
        let report = run::run_day(svc, day, &mut |line: &str| eprintln!("{line}"))
            .await
            .expect("the run completes");
        eprintln!("{report:?}");
        report
    }

    async fn run(&self, day: NaiveDate) -> Report {
        self.run_with(self.svc(), day).await
    }

    /// The invoice's log as the partner reads it: (kind, outcome, subject), newest first.
    async fn log(&self, invoice: &Invoice) -> Vec<(String, String, String)> {
        let answer = self
            .app
            .get(&format!("{}/communications", self.path(invoice)))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["kind"].as_str().unwrap().to_owned(),
                    e["outcome"].as_str().unwrap().to_owned(),
                    e["subject"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// The reminder steps that went out for the invoice, oldest first, by subject.
    async fn reminders(&self, invoice: &Invoice) -> Vec<String> {
        let mut sent: Vec<String> = self
            .log(invoice)
            .await
            .into_iter()
            .filter(|(kind, outcome, _)| kind == "reminder" && outcome == "sent")
            .map(|(_, _, subject)| subject)
            .collect();
        sent.reverse();
        sent
    }

    fn events(&self, detail_type: &str) -> Vec<DomainEvent> {
        self.app
            .events
            .recorded()
            .into_iter()
            .filter(|e| e.detail_type == detail_type)
            .collect()
    }

    /// Rows waiting in the outbox.
    async fn outbox(&self) -> usize {
        self.svc()
            .table
            .query_all(Query::partition(keys::OUTBOX))
            .await
            .unwrap()
            .len()
    }
}

#[track_caller]
fn id(answer: &clientwatch_tests::api::Answer) -> String {
    assert!(answer.status.is_success(), "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

#[track_caller]
fn invalid_field<T: std::fmt::Debug>(result: Result<T, Error>) -> (String, String) {
    match result {
        Err(Error::Invalid { field, message }) => (field, message),
        other => panic!("not refused as invalid: {other:?}"),
    }
}

#[track_caller]
fn conflict<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    match result {
        Err(Error::Conflict(why)) => why,
        other => panic!("not a conflict: {other:?}"),
    }
}

async fn a_dispute_stops_the_workflow_and_the_partner_sees_it_and_resolves_it(app: TestApp) {
    let w = World::new(app).await;
    let due = w.day(3);
    let invoice = w.invoice("INV-1", due).await;
    w.run(w.day(0)).await;
    assert_eq!(w.reminders(&invoice).await.len(), 1);

    w.at(w.day(1));
    let disputed = answers::dispute(
        w.svc(),
        &w.ana,
        &invoice.id,
        "already paid",
        Some("Paid on the 3rd.\nReference 42."),
    )
    .await
    .unwrap();
    assert_eq!(disputed.spec.status, Status::Disputed);

    // The workflow stops: nothing on the due date or after.
    for day in [due, due + Days::new(3)] {
        let report = w.run(day).await;
        assert_eq!((report.invoices, report.sent), (0, 0), "{report:?}");
    }
    assert_eq!(w.reminders(&invoice).await.len(), 1);

    // The partner sees it on the invoice, in the tenant's disputes and in the log.
    let seen = w.app.get(&w.path(&invoice)).await;
    assert_eq!(seen.body["status"], "disputed");
    let dispute = &seen.body["dispute"];
    assert_eq!(dispute["reason"], "Already paid", "the tenant's wording");
    assert_eq!(dispute["comment"], "Paid on the 3rd.\nReference 42.");
    assert_eq!(dispute["contact_id"], w.ana.contact_id.as_str());
    assert_eq!(dispute["contact_name"], "Ana Tui");
    assert!(dispute["raised_at"].is_string() && dispute.get("resolved_at").is_none());
    let listed = w.app.get("/v1/disputes").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", listed.body);
    assert_eq!(items[0]["id"], invoice.id.as_str());
    assert_eq!(items[0]["client_id"], w.client.as_str());
    assert_eq!(items[0]["dispute"]["reason"], "Already paid");
    let log = w.log(&invoice).await;
    assert_eq!(
        log[0],
        (
            "dispute".to_owned(),
            "recorded".to_owned(),
            "Invoice INV-1 disputed by Ana Tui: Already paid".to_owned()
        )
    );

    // One event, with a stable id, and nothing left in the outbox.
    let events = w.events(answers::DISPUTED_EVENT);
    assert_eq!(events.len(), 1, "{events:?}");
    let detail = &events[0].detail;
    assert!(detail["event_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(detail["tenant_id"], w.app.tenant_id.as_str());
    assert_eq!(detail["client_id"], w.client.as_str());
    assert_eq!(detail["invoice_id"], invoice.id.as_str());
    assert_eq!(detail["invoice_number"], "INV-1");
    assert_eq!(detail["reason"], "Already paid");
    assert_eq!(detail["contact_id"], w.ana.contact_id.as_str());
    assert_eq!(w.outbox().await, 0);

    // The partner may not write the contact's fields.
    let refused = w
        .app
        .patch(
            &w.path(&invoice),
            seen.header("etag").unwrap(),
            json!({"dispute": null}),
        )
        .await;
    assert_eq!(
        refused.problem(422, "validation")["errors"][0]["field"],
        "dispute",
        "{}",
        refused.body
    );
    let refused = w
        .app
        .post(
            &format!("/v1/clients/{}/invoices", w.client),
            json!({"number": "INV-9", "issue_date": "2026-11-01", "due_date": "2026-12-01",
                   "amount": "5.00", "promise": {"date": "2026-12-01"}}),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.body["errors"][0]["field"], "promise");
    let imported = w
        .app
        .post(
            "/v1/invoices/import",
            json!({"invoices": [{"client_id": w.client, "number": "INV-1", "issue_date": "2026-11-01",
                   "due_date": "2026-12-01", "amount": "120.00",
                   "dispute": {"reason": "Other"}}]}),
        )
        .await;
    assert_eq!(imported.body["rejected"], 1, "{}", imported.body);
    assert_eq!(
        imported.body["results"][0]["problem"]["field"], "dispute",
        "{}",
        imported.body
    );

    // The partner resolves it by reopening the invoice: the workflow goes on.
    w.at(due + Days::new(4));
    let reopened = w
        .app
        .patch(
            &w.path(&invoice),
            seen.header("etag").unwrap(),
            json!({"status": "open", "balance": "120.00"}),
        )
        .await;
    assert_eq!(reopened.status, 200, "{}", reopened.body);
    assert!(reopened.body["dispute"]["resolved_at"].is_string());
    assert_eq!(reopened.body["dispute"]["reason"], "Already paid");
    let listed = w.app.get("/v1/disputes").await;
    assert_eq!(listed.body["items"], json!([]));
    // An invoice the partner marks disputed is listed too, without a contact's dispute.
    let theirs = w.invoice("INV-1P", due + Days::new(30)).await;
    let etag = w
        .app
        .get(&w.path(&theirs))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let marked = w
        .app
        .patch(&w.path(&theirs), &etag, json!({"status": "disputed"}))
        .await;
    assert_eq!(marked.status, 200, "{}", marked.body);
    let listed = w.app.get("/v1/disputes").await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", listed.body);
    assert_eq!(items[0]["id"], theirs.id.as_str());
    assert!(items[0].get("dispute").is_none());
    let report = w.run(due + Days::new(4)).await;
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(
        w.reminders(&invoice).await,
        [
            format!("Invoice INV-1 is due on {}", due.format("%-d %B %Y")),
            "Invoice INV-1 is due today".to_owned()
        ]
    );
}

async fn two_disputes_at_once_make_one_and_the_other_is_told_it_is_disputed(app: TestApp) {
    let w = World::new(app).await;
    let invoice = w.invoice("INV-2", w.day(3)).await;
    let tom = ContactRef {
        contact_name: "Tom Tui".into(),
        contact_id: "tom".into(),
        ..w.ana.clone()
    };
    let (a, b) = tokio::join!(
        answers::dispute(w.svc(), &w.ana, &invoice.id, "Amount is wrong", None),
        answers::dispute(w.svc(), &tom, &invoice.id, "Other", Some("Not ours")),
    );
    let (won, lost) = match (a, b) {
        (Ok(won), lost @ Err(_)) | (lost @ Err(_), Ok(won)) => (won, lost),
        (a, b) => panic!("exactly one dispute wins: {a:?} {b:?}"),
    };
    assert!(conflict(lost).contains("already disputed"));
    let stored = w.stored(&invoice.id).await;
    assert_eq!(stored.spec.dispute, won.spec.dispute);
    assert_eq!(w.events(answers::DISPUTED_EVENT).len(), 1);
    let disputes = w
        .log(&invoice)
        .await
        .into_iter()
        .filter(|(kind, _, _)| kind == "dispute")
        .count();
    assert_eq!(disputes, 1);
}

async fn a_dispute_racing_a_partners_payment_leaves_exactly_one_of_them(app: TestApp) {
    let w = World::new(app).await;
    for round in 0..3 {
        let invoice = w.invoice(&format!("INV-3{round}"), w.day(3)).await;
        let path = w.path(&invoice);
        let etag = w.app.get(&path).await.header("etag").unwrap().to_owned();
        let (disputed, paid) = tokio::join!(
            answers::dispute(w.svc(), &w.ana, &invoice.id, "Already paid", None),
            w.app.patch(&path, &etag, json!({"status": "paid"})),
        );
        let stored = w.stored(&invoice.id).await;
        match (disputed, paid.status.as_u16()) {
            (Ok(_), 412) => {
                assert_eq!(stored.spec.status, Status::Disputed);
                assert!(stored.spec.dispute.is_some());
            }
            (Err(Error::Conflict(why)), 200) => {
                assert!(why.contains("paid"), "{why}");
                assert_eq!(stored.spec.status, Status::Paid);
                assert!(stored.spec.dispute.is_none());
            }
            (disputed, status) => panic!("round {round}: {disputed:?} and {status}"),
        }
    }
}

async fn a_promise_pauses_reminders_until_the_day_after_the_date_and_a_broken_one_resumes_them(
    app: TestApp,
) {
    let w = World::new(app).await;
    let due = w.day(3);
    let invoice = w.invoice("INV-4", due).await;
    w.run(w.day(0)).await;
    w.at(w.day(1));
    // The day after the promised date is before the next step's (due + 3).
    let promised_for = due + Days::new(1);
    let promised = answers::promise(w.svc(), &w.ana, &invoice.id, &promised_for.to_string())
        .await
        .unwrap();
    let promise = promised.spec.promise.clone().unwrap();
    assert_eq!(
        (promise.date, promise.status),
        (promised_for, PromiseStatus::Pending)
    );
    let made = w.events(answers::PROMISED_EVENT);
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].detail["promised_date"], promised_for.to_string());
    assert_eq!(
        w.app.get(&w.path(&invoice)).await.body["promise"]["status"],
        "pending"
    );

    // Paused on the due date and up to the promised date itself.
    for day in [due, promised_for] {
        let report = w.run(day).await;
        assert_eq!((report.sent, report.deferred_promise), (0, 1), "{report:?}");
    }
    assert_eq!(w.reminders(&invoice).await.len(), 1);
    assert!(w.events(answers::BROKEN_EVENT).is_empty());

    // The day after, still open: broken, and the workflow goes on in the same run.
    let after = promised_for + Days::new(1);
    let report = w.run(after).await;
    assert_eq!((report.promises_broken, report.sent), (1, 1), "{report:?}");
    assert_eq!(
        w.reminders(&invoice).await.last().unwrap(),
        "Invoice INV-4 is due today"
    );
    let stored = w.stored(&invoice.id).await;
    let promise = stored.spec.promise.unwrap();
    assert_eq!(promise.status, PromiseStatus::Broken);
    assert!(promise.settled_at.is_some());
    let broken = w.events(answers::BROKEN_EVENT);
    assert_eq!(broken.len(), 1);
    assert_eq!(broken[0].detail["broken_on"], after.to_string());
    assert!(
        w.log(&invoice)
            .await
            .iter()
            .any(|(kind, outcome, _)| kind == "promise_broken" && outcome == "recorded")
    );
    // A repeat of the day breaks nothing again and sends nothing twice.
    let again = w.run(after).await;
    assert_eq!((again.promises_broken, again.sent), (0, 0), "{again:?}");
    assert_eq!(w.events(answers::BROKEN_EVENT).len(), 1);
    // A new promise may be made after a broken one.
    answers::promise(
        w.svc(),
        &w.ana,
        &invoice.id,
        &(after + Days::new(5)).to_string(),
    )
    .await
    .expect("a new promise after a broken one");
}

async fn two_runs_at_once_break_a_promise_once(app: TestApp) {
    let w = World::new(app).await;
    let due = w.day(3);
    let invoice = w.invoice("INV-5", due).await;
    w.run(w.day(0)).await;
    w.at(w.day(1));
    answers::promise(w.svc(), &w.ana, &invoice.id, &due.to_string())
        .await
        .unwrap();
    let after = due + Days::new(1);
    w.at(after);
    let (mut quiet_a, mut quiet_b) = (|_: &str| {}, |_: &str| {});
    let (a, b) = tokio::join!(
        run::run_day(w.svc(), after, &mut quiet_a),
        run::run_day(w.svc(), after, &mut quiet_b),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.promises_broken + b.promises_broken, 1, "{a:?} {b:?}");
    assert_eq!(a.errors + b.errors, 0);
    assert_eq!(w.events(answers::BROKEN_EVENT).len(), 1);
    let log = w.log(&invoice).await;
    let broken = log.iter().filter(|(k, _, _)| k == "promise_broken").count();
    assert_eq!(broken, 1);
    // The step the pause held went out once.
    assert_eq!(
        w.reminders(&invoice).await,
        [
            format!("Invoice INV-5 is due on {}", due.format("%-d %B %Y")),
            "Invoice INV-5 is due today".to_owned()
        ]
    );
    assert_eq!(w.outbox().await, 0);
}

async fn a_paid_invoice_keeps_its_promise(app: TestApp) {
    let w = World::new(app).await;
    let due = w.day(3);
    let invoice = w.invoice("INV-6", due).await;
    answers::promise(w.svc(), &w.ana, &invoice.id, &due.to_string())
        .await
        .unwrap();
    w.at(w.day(2));
    let path = w.path(&invoice);
    let etag = w.app.get(&path).await.header("etag").unwrap().to_owned();
    let paid = w.app.patch(&path, &etag, json!({"status": "paid"})).await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    assert_eq!(paid.body["promise"]["status"], "kept");
    assert!(paid.body["promise"]["settled_at"].is_string());
    let report = w.run(due + Days::new(1)).await;
    assert_eq!((report.promises_broken, report.sent), (0, 0), "{report:?}");
    assert!(w.events(answers::BROKEN_EVENT).is_empty());
    // Paid by an import keeps one too.
    w.at(w.today);
    let other = w.invoice("INV-7", due).await;
    answers::promise(w.svc(), &w.ana, &other.id, &due.to_string())
        .await
        .unwrap();
    let imported = w
        .app
        .post(
            "/v1/invoices/import",
            json!({"invoices": [{"client_id": w.client, "number": "INV-7",
                   "issue_date": (due - Days::new(30)).to_string(), "due_date": due.to_string(),
                   "amount": "120.00", "status": "paid"}]}),
        )
        .await;
    assert_eq!(imported.body["updated"], 1, "{}", imported.body);
    let stored = w.stored(&other.id).await;
    assert_eq!(stored.spec.promise.unwrap().status, PromiseStatus::Kept);
}

async fn answers_outside_the_rules_are_refused_naming_the_field(app: TestApp) {
    let w = World::new(app).await;
    let invoice = w.invoice("INV-8", w.day(3)).await;
    w.at(w.today);
    let tenant_today = w.today;
    for date in [
        (tenant_today - Days::new(1)).to_string(),
        (tenant_today + Days::new(31)).to_string(),
        "next Friday".to_owned(),
        String::new(),
    ] {
        let (field, message) =
            invalid_field(answers::promise(w.svc(), &w.ana, &invoice.id, &date).await);
        assert_eq!(field, "date", "{date:?}");
        assert!(message.contains(&tenant_today.to_string()), "{message}");
    }
    // The window the portal's date field offers is the one checked.
    assert_eq!(
        answers::promise_window(w.svc(), &w.app.tenant_id)
            .await
            .unwrap(),
        (tenant_today, tenant_today + Days::new(30))
    );
    // The last day of the window is taken; then a second promise is a conflict.
    let last = (tenant_today + Days::new(30)).to_string();
    answers::promise(w.svc(), &w.ana, &invoice.id, &last)
        .await
        .unwrap();
    assert!(
        conflict(answers::promise(w.svc(), &w.ana, &invoice.id, &last).await)
            .contains("already has a promise")
    );
    // A reason the tenant does not list, and a comment too long.
    let (field, message) =
        invalid_field(answers::dispute(w.svc(), &w.ana, &invoice.id, "Too dear", None).await);
    assert_eq!(field, "reason");
    assert!(
        message.contains("Already paid; Amount is wrong"),
        "{message}"
    );
    let long = "x".repeat(2001);
    let (field, _) =
        invalid_field(answers::dispute(w.svc(), &w.ana, &invoice.id, "Other", Some(&long)).await);
    assert_eq!(field, "comment");
    // A paid invoice cannot be disputed or promised.
    let paid = w.invoice("INV-9", w.day(3)).await;
    let etag = w
        .app
        .get(&w.path(&paid))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    w.app
        .patch(&w.path(&paid), &etag, json!({"status": "paid"}))
        .await;
    assert!(
        conflict(answers::dispute(w.svc(), &w.ana, &paid.id, "Other", None).await).contains("paid")
    );
    assert!(conflict(answers::promise(w.svc(), &w.ana, &paid.id, &last).await).contains("paid"));
    assert_eq!(w.stored(&invoice.id).await.spec.status, Status::Open);
}

async fn another_tenants_or_clients_invoice_is_not_found(app: TestApp) {
    let w = World::new(app).await;
    let invoice = w.invoice("INV-10", w.day(3)).await;
    let other_key = w.app.other_tenant().await;
    let other_tenant = w
        .app
        .call(
            axum::http::Method::GET,
            "/v1/tenant",
            Some(&other_key),
            None,
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let strangers = [
        ContactRef {
            tenant_id: other_tenant,
            ..w.ana.clone()
        },
        ContactRef {
            client_id: "another-client".into(),
            ..w.ana.clone()
        },
    ];
    for stranger in &strangers {
        let disputed = answers::dispute(w.svc(), stranger, &invoice.id, "Other", None).await;
        assert!(matches!(disputed, Err(Error::NotFound(_))), "{disputed:?}");
        let promised = answers::promise(w.svc(), stranger, &invoice.id, &w.today.to_string()).await;
        assert!(matches!(promised, Err(Error::NotFound(_))), "{promised:?}");
    }
    assert_eq!(w.stored(&invoice.id).await.spec.status, Status::Open);
    // The other tenant's disputes list does not show this tenant's.
    answers::dispute(w.svc(), &w.ana, &invoice.id, "Other", None)
        .await
        .unwrap();
    let theirs = w
        .app
        .call(
            axum::http::Method::GET,
            "/v1/disputes",
            Some(&other_key),
            None,
        )
        .await;
    assert_eq!(theirs.body["items"], json!([]));
    assert_eq!(
        w.app.get("/v1/disputes").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// A gate that fails every `Events::publish` while `refuse` is set.
struct RefusingBus(AtomicBool);

impl Gate for RefusingBus {
    fn enter(&self, call: &Call<'_>) -> Verdict {
        match call {
            Call::Publish(_) if self.0.load(Ordering::SeqCst) => {
                Verdict::Fail(Injected("the event bus is down (injected)"))
            }
            _ => Verdict::Go,
        }
    }
}

/// A gate under which the process dies at its first `Events::publish`: before it (`after`
/// false: nothing published) or right after it (published, never heard of); every call after
/// the death fails, as a dead process makes none.
struct KillAtPublish {
    after: bool,
    dead: AtomicBool,
}

const DIED: Injected = Injected("the process died (injected)");

impl Gate for KillAtPublish {
    fn enter(&self, call: &Call<'_>) -> Verdict {
        if self.dead.load(Ordering::SeqCst) {
            return Verdict::Fail(DIED);
        }
        match call {
            Call::Publish(_) if self.after => Verdict::ThenFail(DIED),
            Call::Publish(_) => {
                self.dead.store(true, Ordering::SeqCst);
                Verdict::Fail(DIED)
            }
            _ => Verdict::Go,
        }
    }

    fn carried_out(&self) {
        self.dead.store(true, Ordering::SeqCst);
    }
}

/// The world's services with the store and the event bus behind `gate`.
fn behind(w: &World, gate: Arc<dyn Gate>) -> Services {
    let mut svc = w.svc().clone();
    svc.table = Arc::new(Faulty::new(w.svc().table.clone(), gate.clone()));
    svc.events = Arc::new(Faulty::new(w.svc().events.clone(), gate));
    svc
}

async fn a_refused_publish_leaves_the_event_for_the_next_run_which_publishes_it_once(app: TestApp) {
    let w = World::new(app).await;
    let invoice = w.invoice("INV-11", w.day(3)).await;
    let bus = Arc::new(RefusingBus(AtomicBool::new(true)));
    let svc = behind(&w, bus.clone());
    w.at(w.today);
    // The dispute stands though its event could not be published.
    let disputed = answers::dispute(&svc, &w.ana, &invoice.id, "Other", None)
        .await
        .unwrap();
    assert_eq!(disputed.spec.status, Status::Disputed);
    assert!(w.events(answers::DISPUTED_EVENT).is_empty());
    assert_eq!(w.outbox().await, 1);
    // A run while the bus is still down publishes nothing and keeps it.
    let report = w.run_with(&svc, w.today).await;
    assert_eq!(
        (report.events_published, report.events_waiting),
        (0, 1),
        "{report:?}"
    );
    assert_eq!(w.outbox().await, 1);
    // The next run, the bus back, publishes it once.
    bus.0.store(false, Ordering::SeqCst);
    let report = w.run_with(&svc, w.day(1)).await;
    assert_eq!(report.events_published, 1, "{report:?}");
    let events = w.events(answers::DISPUTED_EVENT);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail["invoice_id"], invoice.id.as_str());
    assert_eq!(w.outbox().await, 0);
    assert_eq!(w.run(w.day(2)).await.events_published, 0);
    assert_eq!(w.events(answers::DISPUTED_EVENT).len(), 1);
}

async fn a_kill_between_the_change_and_its_publish_is_published_once_after_the_lease(app: TestApp) {
    let w = World::new(app).await;
    let invoice = w.invoice("INV-12", w.day(3)).await;
    let gate = Arc::new(KillAtPublish {
        after: false,
        dead: AtomicBool::new(false),
    });
    w.at(w.today);
    let _ = answers::promise(
        &behind(&w, gate),
        &w.ana,
        &invoice.id,
        &w.day(2).to_string(),
    )
    .await;
    // The change and its event's row were committed together; nothing was published.
    assert_eq!(
        w.stored(&invoice.id).await.spec.promise.unwrap().status,
        PromiseStatus::Pending
    );
    assert!(w.events(answers::PROMISED_EVENT).is_empty());
    assert_eq!(w.outbox().await, 1);
    // The dead writer's hold lasts its lease: a run a minute later leaves the row alone
    // (the writer could still be publishing it).
    let minute_later = w.app.harness.clock.now() + Duration::minutes(1);
    w.app.harness.clock.set(minute_later);
    let report = run::run_day(w.svc(), w.today, &mut |_| {}).await.unwrap();
    assert_eq!(report.events_published, 0, "{report:?}");
    // The next day's run publishes it, once.
    let report = w.run(w.day(1)).await;
    assert_eq!(report.events_published, 1, "{report:?}");
    assert_eq!(w.events(answers::PROMISED_EVENT).len(), 1);
    assert_eq!(w.outbox().await, 0);
    w.run(w.day(2)).await;
    assert_eq!(w.events(answers::PROMISED_EVENT).len(), 1);
}

async fn a_kill_after_the_publish_repeats_the_event_with_the_same_event_id(app: TestApp) {
    let w = World::new(app).await;
    let invoice = w.invoice("INV-13", w.day(3)).await;
    let gate = Arc::new(KillAtPublish {
        after: true,
        dead: AtomicBool::new(false),
    });
    w.at(w.today);
    let _ = answers::dispute(&behind(&w, gate), &w.ana, &invoice.id, "Other", None).await;
    assert_eq!(w.events(answers::DISPUTED_EVENT).len(), 1);
    assert_eq!(
        w.outbox().await,
        1,
        "the row was not removed before the kill"
    );
    // At least once: the next run publishes it again, with the same event id, so a receiver
    // drops the repeat; then it is gone.
    let report = w.run(w.day(1)).await;
    assert_eq!(report.events_published, 1);
    let events = w.events(answers::DISPUTED_EVENT);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].detail, events[1].detail);
    assert!(events[0].detail["event_id"].is_string());
    assert_eq!(w.outbox().await, 0);
}

async fn two_runs_at_once_publish_a_leftover_event_once(app: TestApp) {
    let w = World::new(app).await;
    let invoice = w.invoice("INV-14", w.day(3)).await;
    let bus = Arc::new(RefusingBus(AtomicBool::new(true)));
    w.at(w.today);
    answers::dispute(&behind(&w, bus), &w.ana, &invoice.id, "Other", None)
        .await
        .unwrap();
    assert_eq!(w.outbox().await, 1);
    w.at(w.day(1));
    let (mut quiet_a, mut quiet_b) = (|_: &str| {}, |_: &str| {});
    let (a, b) = tokio::join!(
        run::run_day(w.svc(), w.day(1), &mut quiet_a),
        run::run_day(w.svc(), w.day(1), &mut quiet_b),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.events_published + b.events_published, 1, "{a:?} {b:?}");
    assert_eq!(w.events(answers::DISPUTED_EVENT).len(), 1);
    assert_eq!(w.outbox().await, 0);
}

/// A gate that fails, once, the first write that claims a statement's delivery: a run killed
/// after it stored the month's statement and before it sent it.
struct KillBeforeStatementClaim(AtomicBool);

impl Gate for KillBeforeStatementClaim {
    fn enter(&self, call: &Call<'_>) -> Verdict {
        let claims_statement = matches!(call, Call::Transact(_))
            && call
                .keys()
                .iter()
                .any(|k| k.sk.starts_with("SENT#statement#"));
        if claims_statement && !self.0.swap(true, Ordering::SeqCst) {
            return Verdict::Fail(DIED);
        }
        Verdict::Go
    }
}

async fn statements_are_stored_once_a_month_sent_as_stored_and_listed(app: TestApp) {
    let w = World::new(app).await;
    let first = w
        .today
        .with_day(1)
        .unwrap()
        .checked_add_months(chrono::Months::new(1))
        .unwrap();
    let invoice = w.invoice("INV-15", first + Days::new(10)).await;
    w.invoice("INV-16", first + Days::new(20)).await;
    // The first run of the 1st dies after storing the statement, before sending it.
    let killed = w
        .run_with(
            &behind(
                &w,
                Arc::new(KillBeforeStatementClaim(AtomicBool::new(false))),
            ),
            first,
        )
        .await;
    assert_eq!(killed.statements, 0, "{killed:?}");
    let month = first.format("%Y-%m").to_string();
    let stored = statements::get(w.svc(), &w.app.tenant_id, &w.client, &month)
        .await
        .unwrap();
    assert_eq!(stored.lines.len(), 2);
    // Meanwhile a payment comes in; the rerun sends the statement as it was stored, once.
    let path = w.path(&invoice);
    let etag = w.app.get(&path).await.header("etag").unwrap().to_owned();
    let part = w.app.patch(&path, &etag, json!({"balance": "20.00"})).await;
    assert_eq!(part.status, 200, "{}", part.body);
    let report = w.run(first).await;
    assert_eq!(report.statements, 1, "{report:?}");
    let again = w.run(first).await;
    assert_eq!(again.statements, 0, "{again:?}");
    let client_log = w
        .app
        .get(&format!("/v1/clients/{}/communications", w.client))
        .await;
    let statements_sent = client_log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "statement" && e["outcome"] == "sent")
        .count();
    assert_eq!(statements_sent, 1, "{}", client_log.body);
    assert_eq!(
        statements::get(w.svc(), &w.app.tenant_id, &w.client, &month)
            .await
            .unwrap(),
        stored,
        "the record is the first run's"
    );

    // The partner lists them, newest first, and reads one with its lines.
    let next_first = first.checked_add_months(chrono::Months::new(1)).unwrap();
    w.run(next_first).await;
    let listed = w
        .app
        .get(&format!("/v1/clients/{}/statements", w.client))
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let items = listed.body["items"].as_array().unwrap();
    let months: Vec<&str> = items.iter().map(|s| s["month"].as_str().unwrap()).collect();
    assert_eq!(
        months,
        [next_first.format("%Y-%m").to_string(), month.clone()]
    );
    assert_eq!(
        items[1]["totals"],
        json!([{"currency": "NZD", "balance": "240.00"}])
    );
    assert_eq!(
        items[0]["totals"],
        json!([{"currency": "NZD", "balance": "140.00"}])
    );
    assert_eq!(items[1]["invoices"], 2);
    let one = w
        .app
        .get(&format!("/v1/clients/{}/statements/{month}", w.client))
        .await;
    assert_eq!(one.status, 200, "{}", one.body);
    let numbers: Vec<&str> = one.body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["INV-15", "INV-16"]);
    assert_eq!(one.body["lines"][0]["balance"], "120.00");
    let missing = w
        .app
        .get(&format!("/v1/clients/{}/statements/1999-01", w.client))
        .await;
    assert_eq!(missing.status, 404);
    let unknown = w.app.get("/v1/clients/nobody/statements").await;
    assert_eq!(unknown.status, 404);
}
