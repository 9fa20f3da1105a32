//! Pacing the sending, over both stores: workers sharing a send-rate budget never pass it in
//! any second; a send the provider throttles is backed off and tried again, and in the end
//! sent exactly once or left for the next run, never lost, whatever second a kill lands in.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{Days, NaiveDate};
use chrono_tz::Pacific::Auckland;
use clientwatch::Services;
use clientwatch::adapters::pacing::TableBudget;
use clientwatch::comms::deliver;
use clientwatch::comms::run::{self, Report};
use clientwatch::keys;
use clientwatch::ports::{Clock, DeliveryError, Email, Mailer, Provider, Rates, SendBudget, Table};
use clientwatch_tests::api::{TestApp, post_as};
use clientwatch_tests::counting::Counting;
use clientwatch_tests::faults::{Death, Faults, StepKind, faulty};
use clientwatch_tests::{Harness, Store, for_both_stores, over_both_stores};
use serde_json::{Value, json};

over_both_stores!(
    an_invoice_in_a_due_first_list_of_an_earlier_version_is_still_reminded_once,
    a_small_tenants_reminders_go_out_in_the_first_round_whatever_a_large_tenant_has_due,
    a_throttled_send_is_backed_off_and_sent_once,
    a_send_throttled_past_its_tries_is_left_for_the_next_run_and_sent_then_once,
    a_run_killed_anywhere_in_a_throttled_send_sends_it_once_or_reports_it,
);

mod budget {
    use super::*;
    for_both_stores!(workers_sharing_a_budget_never_pass_it_in_any_second);
}

/// A mailer that refuses its first `throttle` calls as SES does when the send rate is passed,
/// then takes every message, keeping what it took (each recipient, and the second its budget
/// was counted in, as the clock says at the call).
struct ThrottlingMailer {
    throttle: usize,
    calls: AtomicUsize,
    clock: Arc<dyn Clock>,
    sent: Mutex<Vec<(String, i64)>>,
}

impl ThrottlingMailer {
    fn new(throttle: usize, clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Self {
            throttle,
            calls: AtomicUsize::new(0),
            clock,
            sent: Mutex::new(Vec::new()),
        })
    }

    fn sent_to(&self) -> Vec<String> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .map(|(to, _)| to.clone())
            .collect()
    }
}

#[async_trait::async_trait]
impl Mailer for ThrottlingMailer {
    async fn send(&self, email: &Email) -> Result<String, DeliveryError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n < self.throttle {
            return Err(DeliveryError::Throttled(
                "Maximum sending rate exceeded.".into(),
            ));
        }
        let mut sent = self.sent.lock().unwrap();
        sent.push((email.to[0].to_string(), self.clock.now().timestamp()));
        Ok(format!("m{n}"))
    }
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{v:#}"))
        .to_owned()
}

/// What a tenant's clients share: a client type, a role with communication, and a workflow
/// whose one e-mail step is due three days before the due date.
pub struct Setup {
    client_type: String,
    role: String,
    workflow: String,
}

pub async fn setup(svc: &Services, key: &str) -> Setup {
    let client_type = id(&post_as(
        svc,
        key,
        "/v1/client-types",
        json!({"name": "Firms", "class": "company"}),
    )
    .await);
    let role = id(&post_as(
        svc,
        key,
        "/v1/contact-roles",
        json!({"name": "Borrower", "communication": true}),
    )
    .await);
    let workflow = id(&post_as(
        svc,
        key,
        "/v1/workflows",
        json!({"name": "Reminders", "steps": [
            {"id": "friendly", "kind": "email", "days_from_due": -3,
             "subject": "Invoice {{invoice_number}} is due on {{due_date}}",
             "text": "Invoice {{invoice_number}} is due on {{due_date}}."}]}),
    )
    .await);
    Setup {
        client_type,
        role,
        workflow,
    }
}

/// A client of the tenant of `key` with one contact: its id and the contact's address.
pub async fn client(svc: &Services, key: &str, setup: &Setup, n: usize) -> (String, String) {
    let client = id(&post_as(
        svc,
        key,
        "/v1/clients",
        json!({"client_type_id": setup.client_type, "workflow_id": setup.workflow,
               "identity": {"kind": "company", "name": format!("Firm {n}")},
               "communication": {"max_call_attempts": 100}}),
    )
    .await);
    let email = clientwatch_tests::portal::unique_email(&format!("borrower{n}"));
    post_as(
        svc,
        key,
        &format!("/v1/clients/{client}/contacts"),
        json!({"name": "Borrower", "email": email, "role_id": setup.role}),
    )
    .await;
    (client, email)
}

/// `count` open invoices of `client`, due on `due` (their reminder three days before).
pub async fn invoices(svc: &Services, key: &str, client: &str, count: usize, due: NaiveDate) {
    for i in 0..count {
        post_as(
            svc,
            key,
            &format!("/v1/clients/{client}/invoices"),
            json!({"number": format!("INV-{i}"), "issue_date": "2026-11-01",
                   "due_date": due.to_string(), "amount": "100.00"}),
        )
        .await;
    }
}

/// A tenant's book (the tenant of `key`): `clients` clients, each with one contact and
/// `invoices_each` invoices whose reminder is due on the run day `day`. The contacts'
/// addresses, by client.
pub async fn book(
    svc: &Services,
    key: &str,
    clients: usize,
    invoices_each: usize,
    day: NaiveDate,
) -> Vec<(String, String)> {
    let setup = setup(svc, key).await;
    let mut book = Vec::new();
    for n in 0..clients {
        let (id, email) = client(svc, key, &setup, n).await;
        invoices(svc, key, &id, invoices_each, day + Days::new(3)).await;
        book.push((id, email));
    }
    book
}

fn run_day_ahead() -> NaiveDate {
    chrono::Utc::now().with_timezone(&Auckland).date_naive() + Days::new(10)
}

/// One client with one due reminder, and a mailer that throttles its first `throttle` calls.
async fn one_due_reminder(
    app: &mut TestApp,
    throttle: usize,
) -> (NaiveDate, String, String, Arc<ThrottlingMailer>) {
    let day = run_day_ahead();
    let mut book = book(&app.services, &app.admin_key, 1, 1, day).await;
    let (client, email) = book.pop().unwrap();
    app.harness
        .clock
        .set(clientwatch_tests::ten_in_auckland(day));
    let mailer = ThrottlingMailer::new(throttle, app.harness.clock.clone());
    app.services.mailer = mailer.clone();
    (day, client, email, mailer)
}

/// The client's log entries of workflow steps (outcome, reason), oldest first.
async fn log_of(app: &TestApp, client: &str) -> Vec<(String, Option<String>)> {
    let (entries, _) =
        clientwatch::comms::log::for_client(&app.services, &app.tenant_id, client, 100, None)
            .await
            .unwrap();
    entries
        .into_iter()
        .rev()
        .filter(|e| e.step.is_some())
        .map(|e| {
            (
                serde_json::to_value(e.outcome)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
                e.reason,
            )
        })
        .collect()
}

async fn a_throttled_send_is_backed_off_and_sent_once(mut app: TestApp) {
    let (day, client, email, mailer) = one_due_reminder(&mut app, 3).await;
    let started = app.harness.clock.now();

    let report = run::run_day(&app.services, day, &mut |_| {}).await.unwrap();

    assert_eq!(
        (report.sent, report.errors, report.throttled),
        (1, 0, 0),
        "{report:?}"
    );
    assert_eq!(
        mailer.calls.load(Ordering::SeqCst),
        4,
        "three throttled, then sent"
    );
    assert_eq!(mailer.sent_to(), vec![email]);
    assert!(
        app.harness.clock.now() > started,
        "the back-off waited (through the clock)"
    );
    assert_eq!(
        log_of(&app, &client).await,
        vec![("sent".to_owned(), None)],
        "one entry: the throttled tries leave none behind"
    );
    let again = run::run_day(&app.services, day, &mut |_| {}).await.unwrap();
    assert_eq!(again.sent, 0, "{again:?}");
    assert_eq!(mailer.sent_to().len(), 1, "not sent twice");
}

async fn a_send_throttled_past_its_tries_is_left_for_the_next_run_and_sent_then_once(
    mut app: TestApp,
) {
    let tries = deliver::THROTTLED_TRIES as usize;
    let (day, client, email, mailer) = one_due_reminder(&mut app, tries).await;
    let mut lines = Vec::new();

    let report = run::run_day(&app.services, day, &mut |l| lines.push(l.to_owned()))
        .await
        .unwrap();

    assert_eq!(
        (report.sent, report.throttled, report.errors),
        (0, 1, 1),
        "{report:?}"
    );
    assert_eq!(mailer.calls.load(Ordering::SeqCst), tries);
    assert!(
        lines.iter().any(|l| l.contains("left for the next run")),
        "{lines:?}"
    );
    assert!(
        log_of(&app, &client).await.is_empty(),
        "no claim and no entry left: nothing to mark interrupted"
    );

    let next = run::run_day(&app.services, day, &mut |_| {}).await.unwrap();
    assert_eq!(
        (next.sent, next.errors, next.interrupted),
        (1, 0, 0),
        "{next:?}"
    );
    let last = run::run_day(&app.services, day, &mut |_| {}).await.unwrap();
    assert_eq!(last.sent, 0);
    assert_eq!(mailer.sent_to(), vec![email], "sent once, in the end");
}

/// A run whose one reminder is throttled twice is killed before and right after each of its
/// writes and calls; the run after it, on healthy ports, finds what the dead one left. The
/// reminder goes out at most once; if it did not go out it is sent by the next run, unless the
/// kill fell inside a provider call's window (from the claim to the call), where it is
/// reported interrupted. A kill while backing off (the claim given up) leaves it to the next
/// run, which sends it.
async fn a_run_killed_anywhere_in_a_throttled_send_sends_it_once_or_reports_it(app: TestApp) {
    let store = app.harness.store;
    // A fresh world per run: one client, one due reminder, a mailer throttling twice.
    let world = || async move {
        let mut world = TestApp::new(store).await;
        let (day, _, email, _) = one_due_reminder(&mut world, 0).await;
        let mailer = ThrottlingMailer::new(2, world.harness.clock.clone());
        let mut svc = world.services.clone();
        svc.mailer = mailer.clone();
        (world, svc, day, email, mailer)
    };
    let steps = {
        let (_world, svc, day, _, _) = world().await;
        let faults = Faults::new(Death::Never);
        run::run_day(&faulty(&svc, &faults), day, &mut |_| {})
            .await
            .unwrap();
        faults.trace()
    };
    let calls = steps
        .iter()
        .filter(|(k, _)| *k == StepKind::Provider)
        .count();
    assert_eq!(calls, 3, "throttled twice, then sent: {steps:?}");
    // A give-up of a claim is the write right after a throttled call; a claim is a transaction
    // of the marker and its entry that follows none.
    let after_call = |n: usize| n >= 2 && steps[n - 2].0 == StepKind::Provider;
    let is_claim_or_release = |n: usize| steps[n - 1].1 == "transact SENT,LOG";
    let mut left_to_next_run = 0;
    for n in 1..=steps.len() {
        for death in [Death::Before(n), Death::After(n)] {
            let (_world, svc, day, email, mailer) = world().await;
            let faults = Faults::new(death);
            let _ = run::run_day(&faulty(&svc, &faults), day, &mut |_| {}).await;
            assert!(faults.died(), "{death:?}: the run died");
            // The next run, on healthy ports, the provider taking everything now.
            let rerun: Report = run::run_day(&svc, day, &mut |_| {}).await.unwrap();
            let sent = mailer.sent_to();
            let what = &steps[n - 1].1;
            assert!(
                sent.iter().all(|to| *to == email) && sent.len() <= 1,
                "{death:?} at {what}: sent {sent:?}"
            );
            assert!(
                sent.len() == 1 || rerun.interrupted == 1,
                "{death:?} at {what}: neither sent nor reported: {rerun:?}"
            );
            // Dying right after a claim was given up, or right before it was taken again
            // (while backing off): nothing is held, so the next run sends it, uninterrupted.
            let backing_off = is_claim_or_release(n)
                && match death {
                    Death::After(_) => after_call(n),
                    _ => {
                        !after_call(n)
                            && steps[..n - 1].iter().any(|(k, _)| *k == StepKind::Provider)
                    }
                };
            if backing_off {
                left_to_next_run += 1;
                assert_eq!(
                    (sent.len(), rerun.interrupted),
                    (1, 0),
                    "{death:?} at {what}: killed while backing off, the message is the next run's to send"
                );
            }
        }
    }
    assert_eq!(
        left_to_next_run, 4,
        "two back-offs, each killed after its give-up and before its new claim: {steps:?}"
    );
}

/// Four workers (processes of their own, each with its own budget over the shared table) take
/// 100 sends each under a rate of 40 a second: in no second do they take more than 40, they
/// take all 400 in the fewest seconds the rate allows or close to it, and the budget costs far
/// fewer requests than sends (blocks of 5).
async fn workers_sharing_a_budget_never_pass_it_in_any_second(store: Store) {
    const RATE: u32 = 40;
    const WORKERS: usize = 4;
    const SENDS: usize = 100;
    let harness = Harness::new(store).await;
    let counting = Arc::new(Counting::new(harness.table.clone()));
    let table: Arc<dyn Table> = counting.clone();
    let rates = Rates {
        email: Some(RATE),
        sms: None,
    };
    let granted = Arc::new(Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let budget = TableBudget::new(table.clone(), harness.clock.clone(), rates);
        let granted = granted.clone();
        workers.push(tokio::spawn(async move {
            for _ in 0..SENDS {
                let second = budget.take(Provider::Email).await.unwrap();
                granted
                    .lock()
                    .unwrap()
                    .push(second.expect("e-mail is paced"));
            }
            // SMS has no rate: nothing asked, nothing waited for.
            assert_eq!(budget.take(Provider::Sms).await.unwrap(), None);
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let granted = granted.lock().unwrap().clone();
    assert_eq!(granted.len(), WORKERS * SENDS);
    let mut per_second = BTreeMap::new();
    for s in &granted {
        *per_second.entry(*s).or_insert(0u32) += 1;
    }
    assert!(
        per_second.values().all(|n| *n <= RATE),
        "a second over the rate: {per_second:?}"
    );
    let needed = (WORKERS * SENDS) as u32 / RATE;
    assert!(
        per_second.len() as u32 >= needed,
        "{} seconds for {} sends at {RATE} a second: {per_second:?}",
        per_second.len(),
        WORKERS * SENDS
    );
    let (calls, _) = counting.take();
    let requests: u64 = calls.values().sum();
    println!(
        "{} sends by {WORKERS} workers at {RATE} a second: {} seconds, {requests} budget requests ({:.2} a send)",
        granted.len(),
        per_second.len(),
        requests as f64 / granted.len() as f64
    );
    assert!(
        requests as usize * 2 < granted.len(),
        "the budget costs well under a request a send: {calls:?}"
    );
}

/// A large tenant with 60 reminders due (on invoices due a day earlier, so by due date they
/// would all go first) and a small tenant with 3, in the same shard, sent at 10 a second by
/// one worker: the small tenant's go out in the first round, after at most one turn of the
/// large tenant's (`TURN`), in the first few seconds; by due date they would have been the
/// last three, six seconds later. Every reminder goes out once.
async fn a_small_tenants_reminders_go_out_in_the_first_round_whatever_a_large_tenant_has_due(
    mut app: TestApp,
) {
    const LARGE: usize = 60;
    const SMALL: usize = 3;
    let day = run_day_ahead();
    let svc = app.services.clone();
    let large_setup = setup(&svc, &app.admin_key).await;
    let (large, _) = client(&svc, &app.admin_key, &large_setup, 0).await;
    invoices(&svc, &app.admin_key, &large, LARGE, day + Days::new(2)).await;
    let shard = keys::open_shard(&app.tenant_id, &large);
    let (small_tenant, small_key) = clientwatch::records::tenants::bootstrap(&svc, "Small Lender")
        .await
        .unwrap();
    let small_key = small_key.secret;
    let small_setup = setup(&svc, &small_key).await;
    // A client of the small tenant in the large one's shard (clients spread by a hash).
    let mut small = None;
    for n in 0..200 {
        let (c, email) = client(&svc, &small_key, &small_setup, n).await;
        if keys::open_shard(&small_tenant.id, &c) == shard {
            small = Some((c, email));
            break;
        }
    }
    let (small, small_email) = small.expect("a client in the shard within 200 tries");
    invoices(&svc, &small_key, &small, SMALL, day + Days::new(3)).await;

    let start = clientwatch_tests::ten_in_auckland(day);
    app.harness.clock.set(start);
    let mailer = ThrottlingMailer::new(0, app.harness.clock.clone());
    app.services.mailer = mailer.clone();
    app.services.budget = Arc::new(TableBudget::new(
        app.services.table.clone(),
        app.harness.clock.clone(),
        Rates {
            email: Some(10),
            sms: None,
        },
    ));
    let report = run::run_day_with(&app.services, day, 1, &mut |_| {})
        .await
        .unwrap();

    assert_eq!(report.sent, (LARGE + SMALL) as u64, "{report:?}");
    let sent = mailer.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), LARGE + SMALL, "each reminder once");
    let small_at: Vec<usize> = sent
        .iter()
        .enumerate()
        .filter(|(_, (to, _))| *to == small_email)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(small_at.len(), SMALL);
    assert!(
        small_at.iter().all(|n| *n < run::TURN + SMALL),
        "the small tenant's reminders were sends {small_at:?} of {}",
        sent.len()
    );
    let second_of = |n: usize| sent[n].1 - start.timestamp();
    let last_small = second_of(*small_at.last().unwrap());
    let last = second_of(sent.len() - 1);
    println!(
        "{LARGE} + {SMALL} reminders at 10 a second: the small tenant's were sends {small_at:?}, by second {last_small}; the last at second {last}"
    );
    assert!(last_small <= 3, "second {last_small}");
    assert!(
        last >= 6,
        "paced: 63 sends at 10 a second take over six seconds"
    );
}

/// An invoice an earlier version wrote to its shard's due-first list (`INVOICES#OPEN#{nn}`),
/// beside the client's invoices in the shard's tenant-first list: the day reminds each once,
/// whether the run works every shard itself or hands them to workers, and again nothing.
async fn an_invoice_in_a_due_first_list_of_an_earlier_version_is_still_reminded_once(
    mut app: TestApp,
) {
    let day = run_day_ahead();
    let svc = app.services.clone();
    let (client, email) = book(&svc, &app.admin_key, 1, 2, day).await.pop().unwrap();
    let shard = keys::open_shard(&app.tenant_id, &client);
    let items = app
        .services
        .table
        .query_all(
            clientwatch::ports::Query::partition(keys::client_pk(&app.tenant_id, &client))
                .sk(clientwatch::ports::SortKey::BeginsWith("INVOICE#".into())),
        )
        .await
        .unwrap();
    let mut older = items.into_iter().next().expect("an invoice");
    let sk = older.gsi2.as_ref().expect("open: listed").sk.clone();
    assert!(
        sk.starts_with(&format!("{}#", app.tenant_id)),
        "tenant first: {sk}"
    );
    // As an earlier version wrote it: due date first, in the due-first list.
    let (tenant, rest) = sk.split_once('#').unwrap();
    let (due, rest) = rest.split_once('#').unwrap();
    older.gsi2 = Some(clientwatch::ports::IndexKey::new(
        keys::open_invoices(shard),
        format!("{due}#{tenant}#{rest}"),
    ));
    let version = older.version;
    app.services
        .table
        .put(older, clientwatch::ports::Condition::VersionIs(version))
        .await
        .unwrap();
    app.harness
        .clock
        .set(clientwatch_tests::ten_in_auckland(day));
    let mailer = ThrottlingMailer::new(0, app.harness.clock.clone());
    app.services.mailer = mailer.clone();

    let queue = clientwatch::adapters::recorder::RecordingQueue::default();
    let planned = clientwatch::comms::fanout::plan(&app.services, &queue, day)
        .await
        .unwrap();
    let mut sent = planned.report.sent;
    for message in queue.take() {
        let shard = serde_json::from_str(&message).unwrap();
        sent += clientwatch::comms::fanout::work(&app.services, &shard)
            .await
            .unwrap()
            .report
            .sent;
    }
    assert_eq!(sent, 2, "both invoices reminded");
    let again = run::run_day(&app.services, day, &mut |_| {}).await.unwrap();
    assert_eq!((again.invoices, again.sent), (2, 0), "{again:?}");
    assert_eq!(mailer.sent_to(), vec![email.clone(), email]);
}
