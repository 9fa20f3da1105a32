//! What a daily run costs in DynamoDB requests, on the emulator: 10,000 monitored subjects,
//! 0.7 % of them changed. Unchanged subjects must cost nothing per subject (their baselines are
//! files); changed subjects cost batched reads and transactions of many hits.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use clientwatch::adapters::folder::FolderBlobs;
use clientwatch::monitoring::monitors::{Frequency, Watcher, Watchers};
use clientwatch::monitoring::run::{self, Sources};
use clientwatch::ports::Item;
use clientwatch::records;
use clientwatch_tests::counting::counted_dynamodb;
use serde_json::json;

const SUBJECTS: usize = 10_000;
const CHANGED: usize = 70;

fn feed_line(n: usize, changed: bool, scored: bool) -> String {
    let enquiries = if changed {
        json!([{"enquirer": "Kiwi Bank", "product": "card", "date": "2026-11-01"},
               {"enquirer": "Harbour Loans", "product": "loan", "date": "2026-11-17"}])
    } else {
        json!([{"enquirer": "Kiwi Bank", "product": "card", "date": "2026-11-01"}])
    };
    let mut rest = json!({"kind": "individual", "name": format!("Person {n}"),
        "addresses": [{"line1": format!("{n} Kauri St"), "city": "Auckland", "country": "NZ"}],
        "enquiries": enquiries});
    if scored {
        rest["score"] = json!({"value": 500 + n % 300, "band": "C", "date": "2026-11-17"});
    }
    format!("{{\"subject\":\"IND-{n:06}\",{}", &rest.to_string()[1..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_subjects_cost_no_request_each() {
    let (harness, svc, counting) = counted_dynamodb().await;
    let (tenant, _) = records::tenants::bootstrap(&svc, "Counting Lender")
        .await
        .unwrap();
    records::tenants::update(
        &svc,
        &tenant.id,
        tenant.version,
        &json!({"monitoring": {"enabled": true}, "alert_recipients": ["alerts@lender.test"]}),
    )
    .await
    .unwrap();
    let watchers: Vec<Item> = (0..SUBJECTS)
        .map(|n| {
            let list = Watchers {
                watchers: vec![Watcher {
                    tenant_id: tenant.id.clone(),
                    client_id: format!("c{n}"),
                    frequency: Frequency::Daily,
                }],
            };
            Item::from_record(clientwatch::keys::watchers(&format!("IND-{n:06}")), &list).unwrap()
        })
        .collect();
    svc.table.batch_put(watchers).await.unwrap();

    let root = harness.dir.path();
    let sources = Sources {
        feeds: Arc::new(FolderBlobs::new(root.join("bureau"))),
        state: Arc::new(FolderBlobs::new(root.join("state"))),
    };
    let day1: NaiveDate = "2026-11-16".parse().unwrap();
    let day2: NaiveDate = "2026-11-17".parse().unwrap();
    // Every 143rd subject changes: 70 of 10,000.
    let changed = |n: usize| n.is_multiple_of(143) && n / 143 < CHANGED;
    let day3: NaiveDate = "2026-11-18".parse().unwrap();
    for (day, with_changes, scored) in [
        (day1, false, false),
        (day2, true, false),
        (day3, true, true),
    ] {
        let lines: Vec<String> = (0..SUBJECTS)
            .map(|n| feed_line(n, with_changes && changed(n), scored))
            .collect();
        sources
            .feeds
            .put(
                &format!("feeds/{day}/part-0000.ndjson"),
                (lines.join("\n") + "\n").into_bytes(),
            )
            .await
            .unwrap();
    }
    counting.take();

    let report = run::run_day(&svc, &sources, day1, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(report.parts[0].stats.first_seen, SUBJECTS as u64);
    let (day1_calls, _) = counting.take();
    let report = run::run_day(&svc, &sources, day2, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(report.parts[0].stats.unchanged, (SUBJECTS - CHANGED) as u64);
    assert_eq!(report.parts[0].hits, CHANGED as u64);
    let (day2_calls, keys) = counting.take();

    println!("DynamoDB calls for {SUBJECTS} monitored subjects, {CHANGED} changed:");
    println!("  day 1 (baselines): {day1_calls:?}");
    println!("  day 2 (diff):      {day2_calls:?}; {keys} keys read in batches");
    let total = |c: &BTreeMap<&str, u64>| c.values().sum::<u64>();
    // Day 1 reads no subject at all; day 2 reads only the changed subjects' watchers, in
    // batches, and writes their hits many to a transaction.
    assert!(total(&day1_calls) < 10, "{day1_calls:?}");
    // Keys read: the changed subjects' watcher lists; then, for the watched ones, their bureau
    // profiles (to keep them: one more batched read and one batch write, for changed watched
    // subjects only; none is kept yet here, so each is a first profile, a baseline, and no
    // client is read for it); then the clients for the digest, and whether the digest's alert
    // recipient (one) is suppressed.
    assert_eq!(
        keys,
        3 * CHANGED as u64 + 1,
        "the changed subjects' watcher lists, their profiles, their clients for the digest, the alert recipient's suppression"
    );
    // Watchers, profiles, clients, and the alert recipients' suppressions: one batch each.
    assert!(day2_calls["BatchGetItem"] <= 4, "{day2_calls:?}");
    assert!(day2_calls["BatchWriteItem"] <= 4, "{day2_calls:?}");
    assert!(total(&day2_calls) < 35, "{day2_calls:?}");

    // Day 3: the bureau sends every subject's score for the first time and nothing else new.
    // Every line changed, yet no subject is read or written: a first score is no news, and
    // the profile's score is read from the baseline.
    let report = run::run_day(&svc, &sources, day3, &mut |_| {})
        .await
        .unwrap();
    let part = &report.parts[0];
    assert_eq!(
        (
            part.stats.unchanged,
            part.stats.changed,
            part.hits,
            part.profiles
        ),
        (0, 0, 0, 0)
    );
    let (day3_calls, keys) = counting.take();
    println!("  day 3 (every line scored): {day3_calls:?}; {keys} keys read in batches");
    assert_eq!(keys, 0, "{day3_calls:?}");
    assert!(total(&day3_calls) < 10, "{day3_calls:?}");
}
