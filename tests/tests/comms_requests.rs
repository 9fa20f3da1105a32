//! What the communications run costs per invoice in DynamoDB requests and provider calls, on
//! the emulator: the figures the README's projection of a day of 1,000,000 due reminders rests
//! on. A day on which every invoice has a reminder due, then the same day again (every step
//! done: what an open invoice with nothing due costs).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Days;
use chrono_tz::Pacific::Auckland;
use clientwatch::adapters::pacing::TableBudget;
use clientwatch::comms::run;
use clientwatch::ports::{DeliveryError, Email, Mailer, Rates};
use clientwatch::records;
use clientwatch_tests::api::post_as as post;
use clientwatch_tests::counting::{LIST_QUERY, counted_dynamodb};
use serde_json::json;

const CLIENTS: usize = 20;
const INVOICES_EACH: usize = 2;
const INVOICES: usize = CLIENTS * INVOICES_EACH;

/// Counts provider calls.
struct CountingMailer(AtomicU64);

#[async_trait::async_trait]
impl Mailer for CountingMailer {
    async fn send(&self, _: &Email) -> Result<String, DeliveryError> {
        Ok(format!("m{}", self.0.fetch_add(1, Ordering::SeqCst)))
    }
}

/// Requests an invoice, the list reads (a cost a day) apart.
fn per_invoice(calls: &BTreeMap<&'static str, u64>) -> f64 {
    let lists = calls.get(LIST_QUERY).copied().unwrap_or(0);
    (calls.values().sum::<u64>() - lists) as f64 / INVOICES as f64
}

/// The most list reads a day with one tenant can take: the 17 due-first lists of earlier
/// versions, and in each of the 16 tenant-first lists one query to find the tenant, one to
/// find no more, and one turn (each shard holds at most `TURN` of its invoices here).
const LIST_READS: u64 = 17 + 16 * 3;

/// `CLIENTS` clients with a contact each and `INVOICES_EACH` invoices whose reminder is due on
/// the day returned; the clock set to 10:00 that day and the counts taken.
async fn world(
    harness: &clientwatch_tests::Harness,
    svc: &clientwatch::Services,
    counting: &clientwatch_tests::counting::Counting,
) -> chrono::NaiveDate {
    let svc = svc.clone();
    let (_, key) = records::tenants::bootstrap(&svc, "Counting Lender")
        .await
        .unwrap();
    let key = key.secret;
    let client_type = post(
        &svc,
        &key,
        "/v1/client-types",
        json!({"name": "Firms", "class": "company"}),
    )
    .await;
    let role = post(
        &svc,
        &key,
        "/v1/contact-roles",
        json!({"name": "Borrower", "communication": true}),
    )
    .await;
    let workflow = post(
        &svc,
        &key,
        "/v1/workflows",
        json!({"name": "Reminders", "steps": [
            {"id": "friendly", "kind": "email", "days_from_due": -3,
             "subject": "Invoice {{invoice_number}} is due on {{due_date}}",
             "text": "Invoice {{invoice_number}} for {{currency}} {{balance}} is due on {{due_date}}."}]}),
    )
    .await;
    let day = chrono::Utc::now().with_timezone(&Auckland).date_naive() + Days::new(10);
    let due = (day + Days::new(3)).to_string();
    for n in 0..CLIENTS {
        let client = post(
            &svc,
            &key,
            "/v1/clients",
            json!({"client_type_id": client_type["id"], "workflow_id": workflow["id"],
                   "identity": {"kind": "company", "name": format!("Firm {n}")}}),
        )
        .await;
        let id = client["id"].as_str().unwrap();
        post(
            &svc,
            &key,
            &format!("/v1/clients/{id}/contacts"),
            json!({"name": "Borrower", "email": format!("borrower{n}@firm.test"), "role_id": role["id"]}),
        )
        .await;
        for i in 0..INVOICES_EACH {
            post(
                &svc,
                &key,
                &format!("/v1/clients/{id}/invoices"),
                json!({"number": format!("INV-{n}-{i}"), "issue_date": "2026-11-01", "due_date": due, "amount": "100.00"}),
            )
            .await;
        }
    }
    let at = clientwatch_tests::ten_in_auckland(day);
    harness.clock.set(at);
    counting.take();
    counting.take_write_units();
    day
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_reminder_costs_a_few_requests_and_one_send_per_contact() {
    let (harness, mut svc, counting) = counted_dynamodb().await;
    let mailer = Arc::new(CountingMailer(AtomicU64::new(0)));
    svc.mailer = mailer.clone();
    let day = world(&harness, &svc, &counting).await;

    let report = run::run_day(&svc, day, &mut |_| {}).await.unwrap();
    assert_eq!(report.sent, INVOICES as u64, "{report:?}");
    let (due_day, _) = counting.take();
    let units = counting.take_write_units();
    let sends = mailer.0.load(Ordering::SeqCst);
    println!(
        "{INVOICES} invoices with a reminder due: {due_day:?}; {:.2} requests (the list reads apart), {:.2} write units and {:.2} provider calls an invoice",
        per_invoice(&due_day),
        units as f64 / INVOICES as f64,
        sends as f64 / INVOICES as f64
    );
    assert_eq!(
        sends, INVOICES as u64,
        "one e-mail an invoice (one contact each)"
    );
    // Per invoice (measured 9.7 to 10.1, as clients fall into shards): its share of a batch
    // read (invoice and progress: one a shard's turn); the check for an earlier send of the
    // step (a query); its client's share of the client, contacts and roles reads; the claim
    // and the progress (two transactions), the outcome; the client's last contact. The list
    // reads are a cost a day, counted apart.
    assert!(per_invoice(&due_day) <= 10.5, "{due_day:?}");
    assert!(
        due_day.get(LIST_QUERY).is_some_and(|n| *n <= LIST_READS),
        "{due_day:?}"
    );

    // The same day again: every step done, nothing sent; an open invoice costs its share of the
    // batch read and its client's workflow check (the list reads apart).
    let again = run::run_day(&svc, day, &mut |_| {}).await.unwrap();
    assert_eq!(again.sent, 0);
    let (quiet, _) = counting.take();
    println!(
        "{INVOICES} invoices with nothing due: {quiet:?}; {:.2} requests an invoice (the list reads apart)",
        per_invoice(&quiet)
    );
    assert_eq!(mailer.0.load(Ordering::SeqCst), sends, "nothing sent twice");
    assert!(per_invoice(&quiet) <= 3.0, "{quiet:?}");
    assert!(
        quiet.get(LIST_QUERY).is_some_and(|n| *n <= LIST_READS),
        "{quiet:?}"
    );
}

/// The same day with the sending paced at 40 e-mails a second: the budget adds its requests
/// (one per block of 5 sends: 0.2 a reminder, more when workers meet at a second's end) and
/// nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_adds_one_request_per_block_of_sends() {
    let (harness, mut svc, counting) = counted_dynamodb().await;
    let mailer = Arc::new(CountingMailer(AtomicU64::new(0)));
    svc.mailer = mailer.clone();
    let day = world(&harness, &svc, &counting).await;
    svc.budget = Arc::new(TableBudget::new(
        svc.table.clone(),
        harness.clock.clone(),
        Rates {
            email: Some(40),
            sms: None,
        },
    ));

    let report = run::run_day(&svc, day, &mut |_| {}).await.unwrap();
    assert_eq!(report.sent, INVOICES as u64, "{report:?}");
    let (paced, _) = counting.take();
    let budget = paced.get("UpdateItem").copied().unwrap_or(0);
    println!(
        "{INVOICES} invoices with a reminder due, paced at 40 a second: {paced:?}; {:.2} requests an invoice, {:.2} of them the budget's",
        per_invoice(&paced),
        budget as f64 / INVOICES as f64
    );
    // Blocks of 5 (an eighth of 40): 8 for 40 sends, a few more where four shard workers
    // meet at a second's end and ask for one at a time.
    assert!(
        (INVOICES as u64 / 5..=INVOICES as u64 / 2).contains(&budget),
        "{paced:?}"
    );
    assert!(per_invoice(&paced) <= 10.5 + 0.5, "{paced:?}");
    assert_eq!(mailer.0.load(Ordering::SeqCst), INVOICES as u64);
}
