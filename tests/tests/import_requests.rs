//! What an invoice import costs in DynamoDB requests, on the emulator: the reads of clients,
//! number guards and invoices are batched for the whole import, so a row costs its own write
//! (and, for a new open invoice, its presentment) and nothing more. The README's budget for
//! the largest import (calls per row × a conservative latency, over the rows in flight) rests
//! on these counts.

use clientwatch::comms::invoices;
use clientwatch::records;
use clientwatch_tests::api::post_as as post;
use clientwatch_tests::counting::counted_dynamodb;
use serde_json::json;

const ROWS: usize = 100;

fn calls_per_row(calls: &std::collections::BTreeMap<&'static str, u64>) -> f64 {
    calls.values().sum::<u64>() as f64 / ROWS as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoice_import_costs_a_few_requests_a_row() {
    let (_harness, svc, counting) = counted_dynamodb().await;
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
        json!({"name": "Accounts", "invoice_presentment": true}),
    )
    .await;
    // Five clients, each with a contact who is sent the new invoices.
    let mut clients = Vec::new();
    for n in 0..5 {
        let client = post(
            &svc,
            &key,
            "/v1/clients",
            json!({"client_type_id": client_type["id"], "identity": {"kind": "company", "name": format!("Firm {n}")}}),
        )
        .await;
        let id = client["id"].as_str().unwrap().to_owned();
        post(
            &svc,
            &key,
            &format!("/v1/clients/{id}/contacts"),
            json!({"name": "Accounts", "email": format!("accounts{n}@firm.test"), "role_id": role["id"]}),
        )
        .await;
        clients.push(id);
    }
    let rows = |amount: &str| -> Vec<invoices::ImportRow> {
        (0..ROWS)
            .map(|n| {
                invoices::ImportRow::from_json(
                    n + 1,
                    json!({"client_id": clients[n % clients.len()], "number": format!("INV-{n}"),
                           "issue_date": "2026-11-02", "due_date": "2026-12-02", "amount": amount}),
                )
            })
            .collect()
    };
    let tenant_id = records::tenants::authenticate(&svc, &key)
        .await
        .unwrap()
        .unwrap()
        .tenant_id;
    counting.take();

    // New open invoices: one transaction each, plus the presentment e-mail's own requests.
    let results = invoices::import(&svc, &tenant_id, rows("100.00"))
        .await
        .unwrap();
    assert!(
        results
            .iter()
            .all(|r| r.outcome == invoices::ImportOutcome::Created)
    );
    let (created, _) = counting.take();
    println!("{ROWS} new invoices: {created:?}");
    // The import's three batch reads, and one a presentment: are its recipients' addresses
    // suppressed (bounced, complained)?
    assert_eq!(created["BatchGetItem"], 3 + ROWS as u64, "{created:?}");
    let total: u64 = created.values().sum();
    assert!(
        total <= NEW_ROW_BUDGET * ROWS as u64 + FIXED,
        "{} calls a row: {created:?}",
        calls_per_row(&created)
    );

    // The same rows again: nothing to write, so only the check that presentment was done.
    invoices::import(&svc, &tenant_id, rows("100.00"))
        .await
        .unwrap();
    let (unchanged, _) = counting.take();
    println!("{ROWS} unchanged invoices: {unchanged:?}");
    assert!(
        !unchanged.contains_key("TransactWriteItems"),
        "{unchanged:?}"
    );
    assert!(calls_per_row(&unchanged) <= 1.1, "{unchanged:?}");

    // Changed amounts: one conditional write a row.
    invoices::import(&svc, &tenant_id, rows("90.00"))
        .await
        .unwrap();
    let (changed, _) = counting.take();
    println!("{ROWS} changed invoices: {changed:?}");
    assert_eq!(changed["TransactWriteItems"], ROWS as u64, "{changed:?}");
    assert!(calls_per_row(&changed) <= 1.1, "{changed:?}");
}

/// The README's budget for a new open invoice's row: its write, and its presentment's reads of
/// the recipients and of their suppressions, claim, log and transaction.
const NEW_ROW_BUDGET: u64 = 7;
/// What an import costs whatever its size: the tenant, and three batch reads of up to 100 keys.
const FIXED: u64 = 4;

/// Clients of the bulk monitoring test: the documented maximum of one request.
const BULK: usize = 100;
/// The README's budget for one client of a bulk start: the client, the tenant's settings and
/// the client's type, the subject's watcher list, and the transaction of monitor and list.
const BULK_CLIENT_BUDGET: u64 = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_monitoring_call_costs_a_few_requests_a_client() {
    let (_harness, svc, counting) = counted_dynamodb().await;
    let (_, key) = records::tenants::bootstrap(&svc, "Counting Lender")
        .await
        .unwrap();
    let key = key.secret;
    let tenant = records::tenants::authenticate(&svc, &key)
        .await
        .unwrap()
        .unwrap();
    let current = records::tenants::get(svc.table.as_ref(), &tenant.tenant_id)
        .await
        .unwrap();
    records::tenants::update(
        &svc,
        &tenant.tenant_id,
        current.version,
        &json!({"monitoring": {"enabled": true, "default_reason": "Credit review"}}),
    )
    .await
    .unwrap();
    let class = post(
        &svc,
        &key,
        "/v1/client-types",
        json!({"name": "Borrowers", "class": "individual", "use_bureau_monitoring": true}),
    )
    .await;
    let mut ids = Vec::new();
    for n in 0..BULK {
        let client = post(
            &svc,
            &key,
            "/v1/clients",
            json!({"client_type_id": class["id"], "bureau_subject_id": format!("IND-{n:04}"),
                   "identity": {"kind": "individual", "first_name": "Person", "last_name": format!("{n}")}}),
        )
        .await;
        ids.push(client["id"].as_str().unwrap().to_owned());
    }
    counting.take();
    let answer = post(
        &svc,
        &key,
        "/v1/monitoring/bulk",
        json!({"action": "start", "client_ids": ids}),
    )
    .await;
    let (calls, _) = counting.take();
    println!("a bulk start of {BULK} clients: {calls:?}");
    assert_eq!(answer["succeeded"], BULK, "{answer}");
    assert!(
        answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "started"),
        "{answer}"
    );
    let total: u64 = calls.values().sum();
    assert!(
        total <= BULK_CLIENT_BUDGET * BULK as u64 + FIXED,
        "{:.1} calls a client: {calls:?}",
        total as f64 / BULK as f64
    );
}
