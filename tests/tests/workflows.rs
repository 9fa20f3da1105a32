//! Collection workflows and the daily communications run over both stores: a tenant defines a
//! workflow and a portfolio through the API, an invoice is put in place as a partner system
//! would have it, the test's clock moves across simulated days with a run on each, and what
//! the contacts received is read back from the emulator's SES and SNS. Then the rules: who is
//! reached, breathing space, channels, empty roles, contact attempts, quiet hours, payment,
//! runs repeated or killed half-way, a client's own workflow, monthly statements.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Days, NaiveDate, NaiveTime, Utc};
use chrono_tz::Pacific::Auckland;
use clientwatch::Services;
use clientwatch::comms::invoices::{self, Invoice, InvoiceSpec, Status};
use clientwatch::comms::log::{self, Entry, Outcome};
use clientwatch::comms::run::{self, Progress, Report};
use clientwatch::domain::Decimal2;
use clientwatch::domain::resource::Resource;
use clientwatch::ports::{Condition, DeliveryError, Email, Key, Mailer};
use clientwatch_tests::api::TestApp;
use clientwatch_tests::faulty::{Call, Effect, Faulty, Gate, Injected, Verdict};
use clientwatch_tests::over_both_stores;
use clientwatch_tests::portal::{
    deliver_through_emulator, emails_to, texts_to, unique_email, unique_mobile,
};
use serde_json::{Value, json};
use tokio::sync::Notify;

over_both_stores!(
    an_invoice_moves_through_its_workflow_reaching_the_contacts_with_communication_and_the_escalation_role,
    breathing_space_delays_a_step_without_skipping_it,
    a_channel_the_client_does_not_allow_is_logged_skipped_with_the_reason,
    a_step_with_nobody_in_its_role_is_skipped_with_the_reason_and_the_next_follows,
    steps_past_the_clients_contact_attempts_are_skipped,
    quiet_hours_hold_the_tenants_steps_for_a_later_run,
    a_paid_or_disputed_invoice_stops_its_workflow,
    running_a_day_twice_sends_nothing_twice,
    an_overdue_invoice_gets_one_step_a_day_however_often_the_day_is_run,
    a_run_killed_while_sending_sends_nothing_twice_when_run_again,
    a_run_that_did_not_record_its_progress_sends_nothing_twice_when_run_again,
    the_clients_own_workflow_overrides_its_portfolios,
    a_monthly_statement_on_the_first_lists_the_open_invoices_and_goes_out_once,
    statements_held_by_quiet_hours_on_the_first_go_out_with_the_next_run,
    workflows_and_portfolios_are_checked_when_saved_and_not_deleted_while_used,
);

/// A contact's addresses, unique to the test.
struct Person {
    id: String,
    email: String,
    mobile: String,
}

/// A tenant with the standard workflow (an e-mail 3 days before the due date, an SMS on the
/// day, an e-mail to the guarantor 7 days after) in a portfolio, and a company client in the
/// portfolio with four contacts: Ana and Tom (roles with communication), the accounts address
/// (invoice presentment only) and a guarantor (a role without communication). E-mail and SMS
/// go through the emulator.
struct World {
    app: TestApp,
    client: String,
    client_type: String,
    portfolio: String,
    ana: Person,
    tom: Person,
    accounts: Person,
    guarantor: Person,
    /// The first simulated day: three days before the standard invoice is due.
    today: NaiveDate,
}

fn standard_steps(guarantor_role: &str) -> Value {
    json!([
        {"id": "friendly", "kind": "email", "days_from_due": -3,
         "subject": "Invoice {{invoice_number}} is due on {{due_date}}",
         "text": "Dear {{client_name}},\n\nInvoice {{invoice_number}} for {{currency}} {{balance}} is due on {{due_date}}.\n\nSee {{document_link}}\n\n{{tenant_name}}"},
        {"id": "due-today", "kind": "sms", "days_from_due": 0,
         "text": "{{tenant_name}}: invoice {{invoice_number}} ({{currency}} {{balance}}) is due today."},
        {"id": "guarantor", "kind": "escalate", "days_from_due": 7, "role_id": guarantor_role, "channel": "email",
         "subject": "Overdue: {{invoice_number}} of {{client_name}}",
         "text": "Invoice {{invoice_number}} is {{days_overdue}} days overdue."},
    ])
}

impl World {
    async fn new(mut app: TestApp) -> Self {
        deliver_through_emulator(&mut app.services).await;
        let guarantor_role = id(&app
            .post(
                "/v1/contact-roles",
                json!({"name": "Guarantor", "communication": false}),
            )
            .await);
        let payables = id(&app
            .post(
                "/v1/contact-roles",
                json!({"name": "Accounts Payable", "invoice_presentment": true}),
            )
            .await);
        let client_type = id(&app
            .post(
                "/v1/client-types",
                json!({"name": "Companies", "class": "company"}),
            )
            .await);
        let workflow = id(&app
            .post(
                "/v1/workflows",
                json!({"name": "Standard", "steps": standard_steps(&guarantor_role)}),
            )
            .await);
        let portfolio = id(&app
            .post(
                "/v1/portfolios",
                json!({"name": "Business loans", "workflow_id": workflow}),
            )
            .await);
        let today = scenario_start(Utc::now().with_timezone(&Auckland).date_naive());
        let mut world = Self {
            app,
            client: String::new(),
            client_type,
            portfolio,
            ana: no_one(),
            tom: no_one(),
            accounts: no_one(),
            guarantor: no_one(),
            today,
        };
        world.client = world.client("Tui & Sons Ltd").await;
        world.ana = world
            .contact(&world.client, "Ana Tui", "primary-contact")
            .await;
        world.tom = world
            .contact(&world.client, "Tom Tui", "company-contact")
            .await;
        world.accounts = world
            .contact(&world.client, "Tui Accounts", &payables)
            .await;
        world.guarantor = world
            .contact(&world.client, "Gus Guarantor", &guarantor_role)
            .await;
        world
    }

    fn svc(&self) -> &Services {
        &self.app.services
    }

    fn tenant(&self) -> &str {
        &self.app.tenant_id
    }

    /// A company client in the world's portfolio.
    async fn client(&self, name: &str) -> String {
        id(&self
            .app
            .post(
                "/v1/clients",
                json!({"client_type_id": self.client_type, "identity": {"kind": "company", "name": name},
                       "portfolio_id": self.portfolio}),
            )
            .await)
    }

    async fn contact(&self, client: &str, name: &str, role: &str) -> Person {
        let (email, mobile) = (
            unique_email(name.split(' ').next().unwrap()),
            unique_mobile(),
        );
        let made = self
            .app
            .post(
                &format!("/v1/clients/{client}/contacts"),
                json!({"name": name, "email": email, "mobile": mobile, "role_id": role}),
            )
            .await;
        Person {
            id: id(&made),
            email,
            mobile,
        }
    }

    /// Changes the client by a merge patch through the API.
    async fn change_client(&self, client: &str, patch: Value) {
        let path = format!("/v1/clients/{client}");
        let current = self.app.get(&path).await;
        let changed = self
            .app
            .patch(&path, current.header("etag").unwrap(), patch)
            .await;
        assert_eq!(changed.status, 200, "{}", changed.body);
    }

    async fn change_tenant(&self, patch: Value) {
        let current = self.app.get("/v1/tenant").await;
        let changed = self
            .app
            .patch("/v1/tenant", current.header("etag").unwrap(), patch)
            .await;
        assert_eq!(changed.status, 200, "{}", changed.body);
    }

    /// An open invoice of `client`, as a partner system would have put it in.
    async fn invoice(&self, client: &str, number: &str, due: NaiveDate, amount: &str) -> Invoice {
        let invoice = Resource::new(
            self.svc(),
            InvoiceSpec {
                number: number.into(),
                issue_date: due - Days::new(30),
                due_date: due,
                amount: Decimal2::parse(amount).unwrap(),
                currency: None,
                balance: None,
                status: Status::Open,
                document_url: Some(format!("https://docs.example.com/{number}.pdf?a=1&b=2")),
                dispute: None,
                promise: None,
            },
        );
        let item = invoices::item(self.tenant(), client, &invoice).unwrap();
        self.svc().table.put(item, Condition::Absent).await.unwrap();
        invoice
    }

    async fn set_status(&self, client: &str, invoice: &Invoice, status: Status) {
        let mut next = invoice.clone();
        next.spec.status = status;
        next.version += 1;
        let item = invoices::item(self.tenant(), client, &next).unwrap();
        self.svc()
            .table
            .put(item, Condition::VersionIs(invoice.version))
            .await
            .unwrap();
    }

    /// `offset` days from the first simulated day.
    fn day(&self, offset: u64) -> NaiveDate {
        self.today + Days::new(offset)
    }

    /// Runs day `day` with the clock at `hh:mm` in Auckland (the tenant's zone) that day.
    async fn run_at(&self, svc: &Services, day: NaiveDate, time: &str) -> Report {
        let time = NaiveTime::parse_from_str(time, "%H:%M").unwrap();
        let at = day
            .and_time(time)
            .and_local_timezone(Auckland)
            .single()
            .unwrap()
            .to_utc();
        self.app.harness.clock.set(at);
        let report = run::run_day(svc, day, &mut |line: &str| eprintln!("{line}"))
            .await
            .expect("the run completes");
        eprintln!("{report:?}");
        report
    }

    /// Runs day `day` at 10:00 in the tenant's zone.
    async fn run(&self, day: NaiveDate) -> Report {
        self.run_at(self.svc(), day, "10:00").await
    }

    async fn progress(&self, client: &str, invoice: &Invoice) -> Option<Progress> {
        run::progress(self.svc(), self.tenant(), client, &invoice.id)
            .await
            .unwrap()
    }

    async fn invoice_log(&self, client: &str, invoice: &Invoice) -> Vec<Entry> {
        log::for_invoice(self.svc(), self.tenant(), client, &invoice.id, 100, None)
            .await
            .unwrap()
            .0
    }

    async fn warnings(&self) -> Vec<Entry> {
        log::skipped(self.svc(), self.tenant(), 100, None)
            .await
            .unwrap()
            .0
    }
}

fn no_one() -> Person {
    Person {
        id: String::new(),
        email: String::new(),
        mobile: String::new(),
    }
}

#[track_caller]
fn id(answer: &clientwatch_tests::api::Answer) -> String {
    assert!(answer.status.is_success(), "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

async fn an_invoice_moves_through_its_workflow_reaching_the_contacts_with_communication_and_the_escalation_role(
    app: TestApp,
) {
    let w = World::new(app).await;
    let due = w.day(3);
    let invoice = w.invoice(&w.client, "INV-100", due, "1250.00").await;
    // Four days before the due date nothing is due yet.
    let report = w.run(w.today - Days::new(1)).await;
    assert_eq!((report.invoices, report.sent), (1, 0));
    assert!(emails_to(&w.ana.email).await.is_empty());

    // Three days before: the e-mail, to the two contacts whose role has communication.
    let report = w.run(w.day(0)).await;
    assert_eq!(report.sent, 2, "{report:?}");
    let due_on = due.format("%-d %B %Y").to_string();
    for who in [&w.ana, &w.tom] {
        let mails = emails_to(&who.email).await;
        assert_eq!(mails.len(), 1, "{mails:?}");
        let (subject, html) = &mails[0];
        assert_eq!(subject, &format!("Invoice INV-100 is due on {due_on}"));
        assert!(html.contains("Dear Tui &amp; Sons Ltd,"), "{html}");
        assert!(html.contains("NZD 1250.00"), "{html}");
        assert!(
            html.contains("<a href=\"https://docs.example.com/INV-100.pdf?a=1&amp;b=2\""),
            "{html}"
        );
        assert!(html.contains("Acme Lending"), "{html}");
    }
    for nobody in [&w.accounts, &w.guarantor] {
        assert!(emails_to(&nobody.email).await.is_empty());
    }
    assert!(texts_to(&w.ana.mobile).await.is_empty());

    // The days between send nothing; on the due date the SMS.
    for offset in [1, 2] {
        assert_eq!(w.run(w.day(offset)).await.sent, 0);
    }
    let report = w.run(due).await;
    assert_eq!(report.sent, 2, "{report:?}");
    for who in [&w.ana, &w.tom] {
        assert_eq!(
            texts_to(&who.mobile).await,
            ["Acme Lending: invoice INV-100 (NZD 1250.00) is due today."]
        );
        assert_eq!(emails_to(&who.email).await.len(), 1);
    }
    for nobody in [&w.accounts, &w.guarantor] {
        assert!(texts_to(&nobody.mobile).await.is_empty());
    }

    // Seven days after: the escalation, to the guarantor only.
    assert_eq!(w.run(due + Days::new(6)).await.sent, 0);
    let report = w.run(due + Days::new(7)).await;
    assert_eq!(report.sent, 1, "{report:?}");
    let mails = emails_to(&w.guarantor.email).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].0, "Overdue: INV-100 of Tui & Sons Ltd");
    assert!(
        mails[0].1.contains("Invoice INV-100 is 7 days overdue."),
        "{}",
        mails[0].1
    );
    for who in [&w.ana, &w.tom, &w.accounts] {
        assert!(emails_to(&who.email).await.len() <= 1);
    }
    assert!(emails_to(&w.accounts.email).await.is_empty());

    // The workflow is done: later runs send nothing, and the log tells the story.
    assert_eq!(w.run(due + Days::new(8)).await.sent, 0);
    let progress = w.progress(&w.client, &invoice).await.unwrap();
    assert_eq!(progress.done, ["friendly", "due-today", "guarantor"]);
    assert_eq!(progress.messages, 3);
    let entries = w.invoice_log(&w.client, &invoice).await;
    let mut sent: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            assert_eq!(e.outcome, Outcome::Sent, "{e:?}");
            (
                e.step.clone().unwrap(),
                e.contact_id.clone().unwrap(),
                serde_json::to_value(e.channel)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    sent.sort();
    let mut expected = vec![
        ("due-today".to_owned(), w.ana.id.clone(), "sms".to_owned()),
        ("due-today".to_owned(), w.tom.id.clone(), "sms".to_owned()),
        ("friendly".to_owned(), w.ana.id.clone(), "email".to_owned()),
        ("friendly".to_owned(), w.tom.id.clone(), "email".to_owned()),
        (
            "guarantor".to_owned(),
            w.guarantor.id.clone(),
            "email".to_owned(),
        ),
    ];
    expected.sort();
    assert_eq!(sent, expected);
    assert!(w.warnings().await.is_empty());
}

async fn breathing_space_delays_a_step_without_skipping_it(app: TestApp) {
    let w = World::new(app).await;
    w.change_client(
        &w.client,
        json!({"communication": {"breathing_space_days": 5}}),
    )
    .await;
    let due = w.day(3);
    let invoice = w.invoice(&w.client, "INV-200", due, "80.00").await;
    assert_eq!(w.run(w.day(0)).await.sent, 2);
    // The SMS is due on the due date, but the e-mail went out three days before: it waits
    // until five days after the e-mail.
    for offset in [3, 4] {
        let report = w.run(w.day(offset)).await;
        assert_eq!(
            (report.sent, report.deferred_breathing_space, report.skipped),
            (0, 1, 0),
            "{report:?}"
        );
        assert!(texts_to(&w.ana.mobile).await.is_empty());
    }
    let report = w.run(w.day(5)).await;
    assert_eq!(report.sent, 2, "{report:?}");
    assert_eq!(texts_to(&w.ana.mobile).await.len(), 1);
    // The escalation is due seven days after the due date (day 10), and the SMS went on day
    // 5: day 10 is exactly five days later.
    assert_eq!(w.run(w.day(9)).await.sent, 0);
    assert_eq!(w.run(w.day(10)).await.sent, 1);
    assert_eq!(emails_to(&w.guarantor.email).await.len(), 1);
    let progress = w.progress(&w.client, &invoice).await.unwrap();
    assert_eq!(progress.done, ["friendly", "due-today", "guarantor"]);
    assert!(w.warnings().await.is_empty(), "nothing was skipped");
}

async fn a_channel_the_client_does_not_allow_is_logged_skipped_with_the_reason(app: TestApp) {
    let w = World::new(app).await;
    w.change_client(
        &w.client,
        json!({"communication": {"allowed_channels": ["email"]}}),
    )
    .await;
    let due = w.day(3);
    let invoice = w.invoice(&w.client, "INV-300", due, "80.00").await;
    w.run(w.day(0)).await;
    let report = w.run(due).await;
    assert_eq!((report.sent, report.skipped), (0, 1), "{report:?}");
    assert!(texts_to(&w.ana.mobile).await.is_empty());
    assert!(texts_to(&w.tom.mobile).await.is_empty());
    let warnings = w.warnings().await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = &warnings[0];
    assert_eq!(warning.outcome, Outcome::Skipped);
    assert_eq!(warning.invoice_id.as_deref(), Some(invoice.id.as_str()));
    assert_eq!(warning.step.as_deref(), Some("due-today"));
    assert_eq!(
        warning.reason.as_deref(),
        Some("the client does not allow SMS")
    );
    // The skipped step counts as done: the escalation (by e-mail) still follows.
    assert_eq!(w.run(due + Days::new(7)).await.sent, 1);
    assert_eq!(emails_to(&w.guarantor.email).await.len(), 1);
    // Running the day again does not log the warning again.
    w.run(due).await;
    assert_eq!(w.warnings().await.len(), 1);
}

async fn a_step_with_nobody_in_its_role_is_skipped_with_the_reason_and_the_next_follows(
    app: TestApp,
) {
    let w = World::new(app).await;
    let manager = id(&w
        .app
        .post("/v1/contact-roles", json!({"name": "Collections Manager"}))
        .await);
    let workflow = id(&w
        .app
        .post(
            "/v1/workflows",
            json!({"name": "Managers", "steps": [
                {"id": "manager", "kind": "escalate", "role_id": manager, "channel": "email",
                 "subject": "Overdue {{invoice_number}}", "text": "Please call", "days_from_due": 1},
                {"id": "last-word", "kind": "sms", "text": "Please pay {{invoice_number}}", "days_from_due": 1},
            ]}),
        )
        .await);
    w.change_client(&w.client, json!({"workflow_id": workflow}))
        .await;
    let due = w.day(0);
    let invoice = w.invoice(&w.client, "INV-400", due, "80.00").await;
    let report = w.run(w.day(1)).await;
    assert_eq!((report.skipped, report.sent), (1, 2), "{report:?}");
    let warnings = w.warnings().await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].step.as_deref(), Some("manager"));
    assert_eq!(
        warnings[0].reason.as_deref(),
        Some("no contact of this client has the role Collections Manager")
    );
    // Reaching nobody contacts nobody: the next step followed the same day.
    assert_eq!(texts_to(&w.ana.mobile).await, ["Please pay INV-400"]);
    let progress = w.progress(&w.client, &invoice).await.unwrap();
    assert_eq!(progress.done, ["manager", "last-word"]);
    assert_eq!(progress.messages, 1);
}

async fn steps_past_the_clients_contact_attempts_are_skipped(app: TestApp) {
    let w = World::new(app).await;
    w.change_client(
        &w.client,
        json!({"communication": {"max_call_attempts": 1}}),
    )
    .await;
    let due = w.day(3);
    let invoice = w.invoice(&w.client, "INV-500", due, "80.00").await;
    assert_eq!(w.run(w.day(0)).await.sent, 2);
    let report = w.run(due).await;
    assert_eq!((report.sent, report.skipped), (0, 1), "{report:?}");
    let report = w.run(due + Days::new(7)).await;
    assert_eq!((report.sent, report.skipped), (0, 1), "{report:?}");
    assert!(texts_to(&w.ana.mobile).await.is_empty());
    assert!(emails_to(&w.guarantor.email).await.is_empty());
    let reasons: Vec<(Option<String>, Option<String>)> = w
        .warnings()
        .await
        .into_iter()
        .map(|e| (e.step, e.reason))
        .collect();
    let used_up = Some("contact attempts used up".to_owned());
    assert_eq!(
        reasons,
        [
            (Some("guarantor".to_owned()), used_up.clone()),
            (Some("due-today".to_owned()), used_up),
        ]
    );
    let progress = w.progress(&w.client, &invoice).await.unwrap();
    assert_eq!(progress.done, ["friendly", "due-today", "guarantor"]);
    assert_eq!(progress.messages, 1);
}

async fn quiet_hours_hold_the_tenants_steps_for_a_later_run(app: TestApp) {
    let w = World::new(app).await;
    w.change_tenant(json!({"quiet_hours": {"start": "20:00", "end": "08:00"}}))
        .await;
    let due = w.day(3);
    let invoice = w.invoice(&w.client, "INV-600", due, "80.00").await;
    for time in ["22:30", "07:59"] {
        let report = w.run_at(w.svc(), w.day(0), time).await;
        assert_eq!(
            (report.sent, report.deferred_quiet_hours),
            (0, 1),
            "at {time}: {report:?}"
        );
    }
    assert!(emails_to(&w.ana.email).await.is_empty());
    assert_eq!(w.progress(&w.client, &invoice).await, None);
    let report = w.run_at(w.svc(), w.day(0), "08:00").await;
    assert_eq!(report.sent, 2, "{report:?}");
    assert_eq!(emails_to(&w.ana.email).await.len(), 1);
    // Without quiet hours, any time will do.
    w.change_tenant(json!({"quiet_hours": null})).await;
    let report = w.run_at(w.svc(), due, "23:00").await;
    assert_eq!(report.sent, 2, "{report:?}");
    // Bad quiet hours are refused naming the field.
    let current = w.app.get("/v1/tenant").await;
    let refused = w
        .app
        .patch(
            "/v1/tenant",
            current.header("etag").unwrap(),
            json!({"quiet_hours": {"start": "8pm", "end": "08:00"}}),
        )
        .await;
    assert_eq!(
        refused.problem(422, "validation")["errors"][0]["field"],
        "quiet_hours.start"
    );
}

async fn a_paid_or_disputed_invoice_stops_its_workflow(app: TestApp) {
    let w = World::new(app).await;
    let due = w.day(3);
    let paid = w.invoice(&w.client, "INV-701", due, "80.00").await;
    let disputed = w.invoice(&w.client, "INV-702", due, "90.00").await;
    assert_eq!(w.run(w.day(0)).await.sent, 4);
    w.set_status(&w.client, &paid, Status::Paid).await;
    w.set_status(&w.client, &disputed, Status::Disputed).await;
    for day in [due, due + Days::new(7), due + Days::new(8)] {
        let report = w.run(day).await;
        assert_eq!((report.invoices, report.sent), (0, 0), "{report:?}");
    }
    assert!(texts_to(&w.ana.mobile).await.is_empty());
    assert!(emails_to(&w.guarantor.email).await.is_empty());
    assert_eq!(emails_to(&w.ana.email).await.len(), 2);
    // Even when the index lags behind the invoice: the run reads the invoice itself.
    let still_listed = invoices::item(w.tenant(), &w.client, &paid)
        .unwrap()
        .with_version(paid.version + 2);
    let mut lagging = still_listed.clone();
    lagging.data["spec"]["status"] = json!("paid");
    w.svc()
        .table
        .put(lagging, Condition::VersionIs(paid.version + 1))
        .await
        .unwrap();
    let report = w.run(due).await;
    assert_eq!((report.invoices, report.sent), (0, 0), "{report:?}");
}

async fn running_a_day_twice_sends_nothing_twice(app: TestApp) {
    let w = World::new(app).await;
    let due = w.day(3);
    let invoice = w.invoice(&w.client, "INV-800", due, "80.00").await;
    for (day, sends) in [(w.day(0), 2), (due, 2), (due + Days::new(7), 1)] {
        assert_eq!(w.run(day).await.sent, sends);
        let again = w.run(day).await;
        assert_eq!((again.sent, again.skipped), (0, 0), "{again:?}");
    }
    // And an earlier day replayed after later ones.
    assert_eq!(w.run(w.day(0)).await.sent, 0);
    assert_eq!(emails_to(&w.ana.email).await.len(), 1);
    assert_eq!(texts_to(&w.ana.mobile).await.len(), 1);
    assert_eq!(emails_to(&w.guarantor.email).await.len(), 1);
    assert_eq!(w.invoice_log(&w.client, &invoice).await.len(), 5);
}

/// An invoice long overdue has several steps due at once: a run sends the first, and the same
/// day run again (a retry, a shard delivered again) sends nothing more; the next day's run
/// sends the next step.
async fn an_overdue_invoice_gets_one_step_a_day_however_often_the_day_is_run(app: TestApp) {
    let w = World::new(app).await;
    let due = w.day(0) - Days::new(30);
    let invoice = w.invoice(&w.client, "INV-810", due, "80.00").await;
    let first = w.run(w.day(0)).await;
    assert!(first.sent > 0, "{first:?}");
    let done = w.progress(&w.client, &invoice).await.unwrap().done;
    assert_eq!(done.len(), 1, "one step today: {done:?}");
    for _ in 0..2 {
        let again = w.run(w.day(0)).await;
        assert_eq!((again.sent, again.skipped), (0, 0), "{again:?}");
    }
    assert_eq!(w.progress(&w.client, &invoice).await.unwrap().done, done);
    let next = w.run(w.day(1)).await;
    assert!(next.sent > 0, "the next day the next step: {next:?}");
    assert_eq!(w.progress(&w.client, &invoice).await.unwrap().done.len(), 2);
}

/// Sends through `inner` until `left` e-mails have gone, then never finishes a send (as a
/// process killed while handing one over), telling `stalled`.
struct StallingMailer {
    inner: Arc<dyn Mailer>,
    left: AtomicUsize,
    stalled: Arc<Notify>,
}

#[async_trait::async_trait]
impl Mailer for StallingMailer {
    async fn send(&self, email: &Email) -> Result<String, DeliveryError> {
        let go = self
            .left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if !go {
            self.stalled.notify_one();
            std::future::pending::<()>().await;
        }
        self.inner.send(email).await
    }
}

async fn a_run_killed_while_sending_sends_nothing_twice_when_run_again(app: TestApp) {
    let w = World::new(app).await;
    let due = w.day(3);
    let first = w.invoice(&w.client, "INV-901", due, "80.00").await;
    let second = w.invoice(&w.client, "INV-902", due, "90.00").await;
    // Four e-mails are due (two invoices, two contacts); the run is killed in the second.
    let stalled = Arc::new(Notify::new());
    let mut dying = w.svc().clone();
    dying.mailer = Arc::new(StallingMailer {
        inner: w.svc().mailer.clone(),
        left: AtomicUsize::new(1),
        stalled: stalled.clone(),
    });
    tokio::select! {
        _ = w.run_at(&dying, w.day(0), "10:00") => panic!("the run should have stalled"),
        _ = stalled.notified() => {}
    }
    let mails = |who: &Person| {
        let email = who.email.clone();
        async move { emails_to(&email).await }
    };
    let before = mails(&w.ana).await.len() + mails(&w.tom).await.len();
    assert_eq!(before, 1);

    let report = w.run(w.day(0)).await;
    assert_eq!(
        (report.sent, report.interrupted),
        (2, 1),
        "only the other invoice's e-mails, and the one cut off reported: {report:?}"
    );
    for who in [&w.ana, &w.tom] {
        let subjects: Vec<String> = mails(who).await.into_iter().map(|(s, _)| s).collect();
        for number in ["INV-901", "INV-902"] {
            assert!(
                subjects.iter().filter(|s| s.contains(number)).count() <= 1,
                "{subjects:?}"
            );
        }
    }
    assert_eq!(mails(&w.ana).await.len() + mails(&w.tom).await.len(), 3);
    // The message cut off while being handed over is marked interrupted: it may or may not
    // have gone out, and is not sent again.
    let mut outcomes: Vec<Outcome> = Vec::new();
    for invoice in [&first, &second] {
        outcomes.extend(
            w.invoice_log(&w.client, invoice)
                .await
                .iter()
                .map(|e| e.outcome),
        );
        let progress = w.progress(&w.client, invoice).await.unwrap();
        assert_eq!((progress.done.len(), progress.messages), (1, 1));
    }
    assert_eq!(outcomes.iter().filter(|o| **o == Outcome::Sent).count(), 3);
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Outcome::Interrupted)
            .count(),
        1
    );
    // ...and listed among the tenant's warnings, with the reason.
    let warnings = w.warnings().await;
    let cut_off: Vec<&Entry> = warnings
        .iter()
        .filter(|e| e.outcome == Outcome::Interrupted)
        .collect();
    assert_eq!(cut_off.len(), 1, "{warnings:?}");
    assert!(
        cut_off[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("may or may not have gone out")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().all(|e| e.outcome != Outcome::Sending),
        "nothing else is left being sent: {warnings:?}"
    );
    // A run after that finds nothing new to report.
    assert_eq!(w.run(w.day(0)).await.interrupted, 0);
    // The workflow goes on.
    assert_eq!(w.run(due).await.sent, 4);
}

/// A table whose writes of invoice progress fail, as a run killed between a send and its
/// progress write would leave things.
struct NoProgress;

fn is_progress(key: &Key) -> bool {
    key.sk.starts_with("PROGRESS#")
}

impl Gate for NoProgress {
    fn enter(&self, call: &Call<'_>) -> Verdict {
        if call.effect() == Effect::Write && call.keys().into_iter().any(is_progress) {
            Verdict::Fail(Injected("killed before the progress write"))
        } else {
            Verdict::Go
        }
    }
}

async fn a_run_that_did_not_record_its_progress_sends_nothing_twice_when_run_again(app: TestApp) {
    let w = World::new(app).await;
    let due = w.day(3);
    let invoice = w.invoice(&w.client, "INV-1000", due, "80.00").await;
    let mut broken = w.svc().clone();
    broken.table = Arc::new(Faulty::new(w.svc().table.clone(), Arc::new(NoProgress)));
    let report = w.run_at(&broken, w.day(0), "10:00").await;
    assert_eq!((report.sent, report.errors), (2, 1), "{report:?}");
    assert_eq!(w.progress(&w.client, &invoice).await, None);

    // Run again, the next day: the step is found begun, recorded as done, and not sent again.
    let report = w.run(w.day(1)).await;
    assert_eq!((report.sent, report.errors), (0, 0), "{report:?}");
    assert_eq!(emails_to(&w.ana.email).await.len(), 1);
    assert_eq!(emails_to(&w.tom.email).await.len(), 1);
    let progress = w.progress(&w.client, &invoice).await.unwrap();
    assert_eq!(progress.done, ["friendly"]);
    assert_eq!(progress.messages, 1);
    assert_eq!(progress.last_done_on, Some(w.day(1)));
    // The SMS follows on the due date, once.
    assert_eq!(w.run(due).await.sent, 2);
    assert_eq!(w.run(due).await.sent, 0);
    assert_eq!(texts_to(&w.ana.mobile).await.len(), 1);
}

async fn the_clients_own_workflow_overrides_its_portfolios(app: TestApp) {
    let w = World::new(app).await;
    let firm = id(&w
        .app
        .post(
            "/v1/workflows",
            json!({"name": "Firm", "steps": [
                {"id": "firm", "kind": "sms", "days_from_due": 0, "text": "FIRM: pay {{invoice_number}} today"},
            ]}),
        )
        .await);
    w.change_client(&w.client, json!({"workflow_id": firm}))
        .await;
    // Another client of the same portfolio keeps the portfolio's workflow.
    let other = w.client("Kauri Mills Ltd").await;
    let bea = w.contact(&other, "Bea Kauri", "primary-contact").await;
    let due = w.day(3);
    w.invoice(&w.client, "INV-1101", due, "80.00").await;
    w.invoice(&other, "INV-1102", due, "80.00").await;

    assert_eq!(w.run(w.day(0)).await.sent, 1);
    assert!(emails_to(&w.ana.email).await.is_empty());
    assert_eq!(emails_to(&bea.email).await.len(), 1);
    assert_eq!(w.run(due).await.sent, 3);
    assert_eq!(texts_to(&w.ana.mobile).await, ["FIRM: pay INV-1101 today"]);
    assert_eq!(
        texts_to(&bea.mobile).await,
        ["Acme Lending: invoice INV-1102 (NZD 80.00) is due today."]
    );
    // Without a workflow or a portfolio, a client's invoices get no reminders.
    w.change_client(&other, json!({"portfolio_id": null})).await;
    assert_eq!(w.run(due + Days::new(7)).await.sent, 0);
    assert!(emails_to(&w.guarantor.email).await.is_empty());
}

/// The scenarios' "today": today, unless the days they run (the day before it to twelve days
/// after) hold a 1st of a month, whose statements would go out among the workflow's messages;
/// then the 3rd of the next month. The statement scenarios pick their 1st themselves.
fn scenario_start(now: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    let first_day = now - Days::new(1);
    let spans_a_first = (0..=13).any(|d| (first_day + Days::new(d)).day() == 1);
    if spans_a_first {
        next_first(now) + Days::new(2)
    } else {
        now
    }
}

/// The first day of the next month.
fn next_first(today: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    let first = today.with_day(1).unwrap();
    first.checked_add_months(chrono::Months::new(1)).unwrap()
}

async fn a_monthly_statement_on_the_first_lists_the_open_invoices_and_goes_out_once(app: TestApp) {
    let w = World::new(app).await;
    // This client has no workflow: statements do not need one.
    w.change_client(&w.client, json!({"portfolio_id": null}))
        .await;
    let first = next_first(w.today);
    w.invoice(&w.client, "INV-S1", first + Days::new(20), "100.00")
        .await;
    w.invoice(&w.client, "INV-S2", first - Days::new(10), "250.50")
        .await;
    let paid = w
        .invoice(&w.client, "INV-S3", first - Days::new(5), "999.00")
        .await;
    w.set_status(&w.client, &paid, Status::Paid).await;

    assert_eq!(w.run(first - Days::new(1)).await.statements, 0);
    let report = w.run(first).await;
    assert_eq!((report.statements, report.sent), (1, 2), "{report:?}");
    let month = first.format("%B %Y").to_string();
    for who in [&w.ana, &w.tom] {
        let mails = emails_to(&who.email).await;
        assert_eq!(mails.len(), 1, "{mails:?}");
        let (subject, html) = &mails[0];
        assert_eq!(
            subject,
            &format!("Your statement from Acme Lending for {month}")
        );
        assert!(html.contains("Tui &amp; Sons Ltd"), "{html}");
        assert!(
            html.contains("INV-S1") && html.contains("NZD 100.00"),
            "{html}"
        );
        assert!(
            html.contains("INV-S2") && html.contains("NZD 250.50"),
            "{html}"
        );
        assert!(
            !html.contains("INV-S3"),
            "a paid invoice is not listed: {html}"
        );
        assert!(html.contains("Total owing: NZD 350.50"), "{html}");
        // The overdue one first.
        assert!(html.find("INV-S2") < html.find("INV-S1"), "{html}");
    }
    for nobody in [&w.accounts, &w.guarantor] {
        assert!(emails_to(&nobody.email).await.is_empty());
    }
    // Once: the same day again, and the next day, send nothing.
    let again = w.run(first).await;
    assert_eq!((again.statements, again.sent), (0, 0), "{again:?}");
    assert_eq!(w.run(first + Days::new(1)).await.statements, 0);
    assert_eq!(emails_to(&w.ana.email).await.len(), 1);
    let entries = log::for_client(w.svc(), w.tenant(), &w.client, 100, None)
        .await
        .unwrap()
        .0;
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e.subject.contains(&month)));
}

async fn statements_held_by_quiet_hours_on_the_first_go_out_with_the_next_run(app: TestApp) {
    let w = World::new(app).await;
    w.change_client(&w.client, json!({"portfolio_id": null}))
        .await;
    w.change_tenant(json!({"quiet_hours": {"start": "20:00", "end": "08:00"}}))
        .await;
    let first = next_first(w.today);
    w.invoice(&w.client, "INV-Q1", first + Days::new(20), "100.00")
        .await;
    let report = w.run_at(w.svc(), first, "07:00").await;
    assert_eq!(report.statements, 0, "{report:?}");
    assert!(emails_to(&w.ana.email).await.is_empty());
    // The first run outside quiet hours, the next day, sends them; then nothing more.
    let report = w.run_at(w.svc(), first + Days::new(1), "09:00").await;
    assert_eq!(report.statements, 1, "{report:?}");
    assert_eq!(emails_to(&w.ana.email).await.len(), 1);
    assert_eq!(emails_to(&w.tom.email).await.len(), 1);
    for day in [first + Days::new(1), first + Days::new(2)] {
        assert_eq!(w.run(day).await.statements, 0);
    }
    assert_eq!(emails_to(&w.ana.email).await.len(), 1);
}

async fn workflows_and_portfolios_are_checked_when_saved_and_not_deleted_while_used(app: TestApp) {
    let w = World::new(app).await;
    let app = &w.app;
    let bad = |steps: Value| async move {
        let answer = app
            .post("/v1/workflows", json!({"name": "Bad", "steps": steps}))
            .await;
        let problem = answer.problem(422, "validation");
        (
            problem["errors"][0]["field"].as_str().unwrap().to_owned(),
            problem["errors"][0]["detail"].as_str().unwrap().to_owned(),
        )
    };
    let (field, detail) = bad(json!([
        {"id": "a", "kind": "email", "subject": "Invoice {{invoice_number}}", "text": "Pay {{balance}}"},
        {"id": "b", "kind": "wait", "days": 3},
        {"id": "c", "kind": "sms", "text": "Hello {{first_name}}, pay {{balance}}"},
    ]))
    .await;
    assert_eq!(field, "steps[2].text");
    assert!(detail.contains("{{first_name}}"), "{detail}");
    let (field, _) = bad(json!([
        {"id": "a", "kind": "escalate", "role_id": "no-such-role", "channel": "email", "subject": "s", "text": "t"},
    ]))
    .await;
    assert_eq!(field, "steps[0].role_id");
    let (field, _) = bad(json!([{"id": "a", "kind": "sms", "text": "t", "colour": "red"}])).await;
    assert_eq!(field, "steps[0].colour");
    assert_eq!(
        app.get("/v1/workflows").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing was stored"
    );

    // A portfolio and a client name workflows and portfolios that exist.
    let answer = app
        .post(
            "/v1/portfolios",
            json!({"name": "Nowhere", "workflow_id": "nope"}),
        )
        .await;
    assert_eq!(
        answer.problem(422, "validation")["errors"][0]["field"],
        "workflow_id"
    );
    for (field, value) in [("workflow_id", "nope"), ("portfolio_id", "nope")] {
        let answer = app
            .post(
                "/v1/clients",
                json!({"client_type_id": w.client_type, "identity": {"kind": "company", "name": "X Ltd"}, field: value}),
            )
            .await;
        assert_eq!(
            answer.problem(422, "validation")["errors"][0]["field"],
            field
        );
    }

    // A workflow in use (by the portfolio) cannot be deleted, nor a portfolio with clients.
    let workflow = app
        .get(&format!("/v1/portfolios/{}", w.portfolio))
        .await
        .body["workflow_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/workflows/{workflow}");
    let etag = app.get(&path).await.header("etag").unwrap().to_owned();
    let refused = app
        .send(
            http::Request::delete(&path)
                .header("authorization", format!("Bearer {}", app.admin_key))
                .header("if-match", &etag)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    let detail = refused.problem(409, "conflict")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains("1 portfolio(s) and 0 client(s)"),
        "{detail}"
    );
    let portfolio_path = format!("/v1/portfolios/{}", w.portfolio);
    let portfolio_etag = app
        .get(&portfolio_path)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let delete = |path: String, etag: String| async move {
        app.send(
            http::Request::delete(&path)
                .header("authorization", format!("Bearer {}", app.admin_key))
                .header("if-match", &etag)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
    };
    delete(portfolio_path.clone(), portfolio_etag.clone())
        .await
        .problem(409, "conflict");
    // Out of the portfolio, the client lets it go; then the workflow can go too.
    w.change_client(&w.client, json!({"portfolio_id": null}))
        .await;
    assert_eq!(delete(portfolio_path, portfolio_etag).await.status, 204);
    assert_eq!(delete(path.clone(), etag).await.status, 204);
    assert_eq!(app.get(&path).await.status, 404);
}
