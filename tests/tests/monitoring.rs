//! Monitoring end to end, over both stores: monitors through the partner API, feed days in a
//! blob store (a folder beside the embedded store; S3 on the emulator beside DynamoDB), the
//! daily run's steps, the digest e-mail read back (from SES on the emulator for DynamoDB), the
//! events, the hits and the usage.

use clientwatch::monitoring::digest::{self};
use clientwatch::monitoring::run;
use clientwatch::ports::Clock;
use clientwatch_tests::api::TestApp;
use clientwatch_tests::monitoring::*;
use clientwatch_tests::over_both_stores;
use serde_json::{Value, json};

over_both_stores!(
    day_one_sets_baselines_and_day_two_bills_each_new_fact_once,
    running_a_day_again_adds_nothing,
    a_skipped_day_loses_nothing,
    a_part_killed_before_its_baseline_was_stored_bills_nothing_twice,
    seven_generations_are_kept_and_an_abandoned_days_index_goes_with_the_old_ones,
    two_workers_racing_on_one_part_record_each_hit_once,
    bad_lines_are_reported_by_part_and_line_and_the_run_goes_on,
    the_monthly_cap_withholds_hits_and_the_digest_says_so,
    a_weekly_monitor_hears_on_its_run_day_of_everything_since,
    monitoring_is_refused_with_a_reason_until_its_conditions_hold,
    a_changed_subject_id_moves_the_monitor_to_the_new_subject,
    bulk_start_and_stop_answer_per_client,
    hits_can_be_polled_from_a_time_and_acknowledged,
    digests_handed_to_workers_go_out_once_and_the_last_worker_finishes_the_day,
);

/// Ana (monitored, person), Kauri (monitored, company) and an unmonitored person, on day one.
async fn two_monitored(w: &World) -> (String, String) {
    let ana = w.person("Ana", Some("IND-100"), "L-100").await;
    let kauri = w.company("Kauri Holdings Ltd", "CO-200").await;
    w.person("Nobody", Some("IND-300"), "L-300").await;
    w.monitor(&ana, json!({})).await;
    w.monitor(&kauri, json!({"reason": "Supplier watch"})).await;
    w.feed(
        day(1),
        "part-0000.ndjson",
        &[
            company_line("CO-200", "Kauri Holdings Ltd", "registered", json!({})),
            person_line("IND-100", "Ana Test", json!({})),
        ],
    )
    .await;
    w.feed(
        day(1),
        "part-0001.ndjson.gz",
        &[person_line("IND-300", "Nobody Test", json!({}))],
    )
    .await;
    (ana, kauri)
}

async fn day_two_with_news(w: &World) {
    w.feed(
        day(2),
        "part-0000.ndjson",
        &[
            company_line("CO-200", "Kauri Group Ltd", "in liquidation", json!({})),
            person_line("IND-100", "Ana Test", everything_new()),
        ],
    )
    .await;
    w.feed(
        day(2),
        "part-0001.ndjson.gz",
        &[person_line("IND-300", "Nobody Test", everything_new())],
    )
    .await;
}

async fn day_one_sets_baselines_and_day_two_bills_each_new_fact_once(app: TestApp) {
    let w = World::new(app).await;
    let (ana, kauri) = two_monitored(&w).await;
    let first = w.run(day(1)).await;
    assert_eq!(first.parts.len(), 2);
    assert_eq!(
        first.parts.iter().map(|p| p.stats.first_seen).sum::<u64>(),
        3
    );
    assert_eq!(first.parts.iter().map(|p| p.hits).sum::<u64>(), 0);
    assert!(
        w.inbox.messages().await.is_empty(),
        "no mail on a day without hits"
    );

    day_two_with_news(&w).await;
    let second = w.run(day(2)).await;
    // Ana: 7 kinds; Kauri: name and status; the unmonitored subject: nothing.
    assert_eq!(second.parts.iter().map(|p| p.hits).sum::<u64>(), 9);

    let hits = w.hits().await;
    assert_eq!(hits.len(), 9);
    let mut kinds: Vec<&str> = hits.iter().map(|h| h["kind"].as_str().unwrap()).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "address",
            "default",
            "directorship",
            "enquiry",
            "insolvency",
            "judgement",
            "name_change",
            "shareholding",
            "status_change"
        ]
    );
    assert!(
        hits.iter()
            .all(|h| h["price"] == "3.00" && h["gst"] == "0.45")
    );
    let name_change = hits.iter().find(|h| h["kind"] == "name_change").unwrap();
    assert_eq!(name_change["client_id"], json!(kauri));
    assert_eq!(
        name_change["details"],
        json!({"old": "Kauri Holdings Ltd", "new": "Kauri Group Ltd"})
    );
    let address = hits.iter().find(|h| h["kind"] == "address").unwrap();
    assert_eq!(address["client_id"], json!(ana));
    assert!(address["summary"].as_str().unwrap().contains("7 Rata Ave"));

    let mail = w.inbox.messages().await;
    assert_eq!(mail.len(), 1, "one digest for the tenant");
    let (subject, body) = &mail[0];
    assert!(subject.contains("9 new hits"), "{subject}");
    assert!(subject.contains("2026-11-17"), "{subject}");
    for expected in [
        "Ana Test",
        "loan_system L-100",
        "Kauri Holdings Ltd",
        "New default",
        "Acme Finance",
        "NZD 1,250.00",
        "New judgement",
        "Insolvency",
        "Credit enquiry",
        "New directorship",
        "New shareholding",
        "New address",
        "Company name changed",
        "Company status changed",
        "in liquidation",
        "NZD 31.05",
    ] {
        assert!(
            body.contains(expected),
            "the digest lacks {expected:?}: {body}"
        );
    }
    assert!(
        !body.contains("Nobody"),
        "an unmonitored subject is not reported"
    );

    let events = w.hit_events();
    assert_eq!(events.len(), 9);
    assert!(
        events
            .iter()
            .all(|e| e["tenant_id"] == json!(w.app.tenant_id))
    );
    let mut event_ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    event_ids.sort();
    let mut hit_ids: Vec<&str> = hits.iter().map(|h| h["id"].as_str().unwrap()).collect();
    hit_ids.sort();
    assert_eq!(event_ids, hit_ids);

    let usage = w.usage("2026-11").await;
    assert_eq!(usage["hits"], 9);
    assert_eq!(usage["net"], "27.00");
    assert_eq!(usage["gst"], "4.05");
    assert_eq!(usage["total"], "31.05");
    assert_eq!(usage["currency"], "NZD");
    let default = usage["by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "default")
        .unwrap();
    assert_eq!(
        (&default["hits"], &default["total"]),
        (&json!(1), &json!("3.45"))
    );
    assert_eq!(w.usage("2026-12").await["hits"], 0);
}

async fn running_a_day_again_adds_nothing(app: TestApp) {
    let w = World::new(app).await;
    two_monitored(&w).await;
    w.run(day(1)).await;
    day_two_with_news(&w).await;
    w.run(day(2)).await;
    let usage = w.usage("2026-11").await;
    let again = w.run(day(2)).await;
    assert_eq!(again.parts.iter().map(|p| p.hits).sum::<u64>(), 0);
    assert_eq!(w.hits().await.len(), 9);
    assert_eq!(w.inbox.messages().await.len(), 1, "no second digest");
    assert_eq!(w.hit_events().len(), 9);
    assert_eq!(w.usage("2026-11").await, usage);
    // And the day after, with nothing new, is quiet too.
    for part in ["part-0000.ndjson", "part-0001.ndjson.gz"] {
        let key = format!("feeds/{}/{part}", day(2));
        let mut bytes = Vec::new();
        let mut reader = w.sources.feeds.open(&key).await.unwrap().unwrap();
        tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut bytes)
            .await
            .unwrap();
        w.sources
            .feeds
            .put(&format!("feeds/{}/{part}", day(3)), bytes)
            .await
            .unwrap();
    }
    let third = w.run(day(3)).await;
    assert_eq!(
        third.parts.iter().map(|p| p.stats.unchanged).sum::<u64>(),
        3
    );
    assert_eq!(w.hits().await.len(), 9);
}

async fn a_skipped_day_loses_nothing(app: TestApp) {
    let w = World::new(app).await;
    two_monitored(&w).await;
    w.run(day(1)).await;
    // Day 2's file never came; day 3 shows what was new on day 2 and more.
    let mut news = everything_new();
    news["enquiries"]
        .as_array_mut()
        .unwrap()
        .push(json!({"enquirer": "Kiwi Bank", "product": "mortgage", "date": "2026-11-18"}));
    w.feed(
        day(3),
        "part-0000.ndjson",
        &[
            company_line("CO-200", "Kauri Holdings Ltd", "registered", json!({})),
            person_line("IND-100", "Ana Test", news),
        ],
    )
    .await;
    let report = w.run(day(3)).await;
    assert_eq!(report.parts.len(), 1);
    assert_eq!(report.parts[0].baseline, Some(day(1)));
    assert_eq!(
        report.parts[0].hits, 8,
        "seven kinds and the second enquiry"
    );
    assert_eq!(w.hits().await.len(), 8);
}

async fn a_part_killed_before_its_baseline_was_stored_bills_nothing_twice(app: TestApp) {
    let w = World::new(app).await;
    two_monitored(&w).await;
    w.run(day(1)).await;
    day_two_with_news(&w).await;
    let plan = run::plan(&w.svc, &w.sources, day(2)).await.unwrap();
    let part = &plan.parts[0];
    let first = run::run_part(&w.svc, &w.sources, day(2), part)
        .await
        .unwrap();
    assert_eq!(first.hits, 9);
    // The worker died after recording its hits, before the new baseline was stored.
    w.sources
        .state
        .delete(&format!("baselines/part-0000/{}.base", day(2)))
        .await
        .unwrap();
    let again = run::run_part(&w.svc, &w.sources, day(2), part)
        .await
        .unwrap();
    assert_eq!(
        again.baseline,
        Some(day(1)),
        "it diffed against day 1 again"
    );
    assert_eq!((again.hits, again.duplicates), (0, 9));
    for part in &plan.parts[1..] {
        let report = run::run_part(&w.svc, &w.sources, day(2), part)
            .await
            .unwrap();
        run::part_done(&w.svc, day(2), &plan.run_id, &report)
            .await
            .unwrap();
    }
    assert!(
        run::part_done(&w.svc, day(2), &plan.run_id, &again)
            .await
            .unwrap()
            .publishes()
    );
    digest::run(&w.svc, day(2)).await.unwrap();
    assert_eq!(w.usage("2026-11").await["hits"], 9);
    assert_eq!(w.hit_events().len(), 9);
    assert_eq!(w.inbox.messages().await.len(), 1);
}

/// Each run keeps its part's last seven baselines with their indexes; a day abandoned between
/// its index and its baseline (killed, never run again) leaves an index that goes once it is
/// older than every generation kept.
async fn seven_generations_are_kept_and_an_abandoned_days_index_goes_with_the_old_ones(
    app: TestApp,
) {
    let w = World::new(app).await;
    let ana = w.person("Ana", Some("IND-100"), "L-100").await;
    w.monitor(&ana, json!({})).await;
    let stored = || async { w.sources.state.list("baselines/part-0000/").await.unwrap() };
    let names = |days: &[u64]| -> Vec<String> {
        days.iter()
            .flat_map(|&n| {
                [".base", ".idx"].map(|ext| format!("baselines/part-0000/{}{ext}", day(n)))
            })
            .collect()
    };
    for n in 1..=10 {
        w.feed(
            day(n),
            "part-0000.ndjson",
            &[person_line("IND-100", "Ana Test", json!({}))],
        )
        .await;
        w.run(day(n)).await;
        if n == 2 {
            // Killed after the index was stored, before the baseline; day 2 is never run again.
            w.sources
                .state
                .delete(&format!("baselines/part-0000/{}.base", day(2)))
                .await
                .unwrap();
        }
        if n == 8 {
            // Days 1 and 3 to 8 are seven generations; day 2's index is younger than day 1.
            let mut expected = names(&[1, 3, 4, 5, 6, 7, 8]);
            expected.push(format!("baselines/part-0000/{}.idx", day(2)));
            expected.sort();
            assert_eq!(stored().await, expected);
        }
    }
    let mut expected = names(&[4, 5, 6, 7, 8, 9, 10]);
    expected.sort();
    assert_eq!(
        stored().await,
        expected,
        "the last seven generations, each with its index, and nothing else"
    );
}

async fn two_workers_racing_on_one_part_record_each_hit_once(app: TestApp) {
    let w = World::new(app).await;
    two_monitored(&w).await;
    w.run(day(1)).await;
    day_two_with_news(&w).await;
    let key = format!("feeds/{}/part-0000.ndjson", day(2));
    let (a, b) = tokio::join!(
        run::run_part(&w.svc, &w.sources, day(2), &key),
        run::run_part(&w.svc, &w.sources, day(2), &key),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.hits + b.hits, 9, "{a:?} {b:?}");
    assert_eq!(a.duplicates + b.duplicates, 9);
    assert_eq!(w.usage("2026-11").await["hits"], 9);
}

async fn bad_lines_are_reported_by_part_and_line_and_the_run_goes_on(app: TestApp) {
    let w = World::new(app).await;
    two_monitored(&w).await;
    w.run(day(1)).await;
    w.feed(
        day(2),
        "part-0000.ndjson",
        &[
            company_line("CO-200", "Kauri Holdings Ltd", "registered", json!({})),
            "{\"subject\":\"IND-050\",\"kind\":\"individual\",".into(),
            person_line("IND-100", "Ana Test", json!({"defaults": [{"creditor": "Acme", "amount_cents": 100, "currency": "NZD", "date": "2026-11-17"}]})),
            person_line("IND-099", "Out Of Order", json!({})),
        ],
    )
    .await;
    let report = w.run(day(2)).await;
    let part = &report.parts[0];
    assert_eq!(part.part, "part-0000");
    assert_eq!(part.stats.bad, 1);
    assert_eq!(part.stats.bad_lines[0].0, 2);
    assert!(
        part.stats.bad_lines[0].1.contains("not a feed record"),
        "{:?}",
        part.stats.bad_lines
    );
    // The last two lines are swapped: reported, and both diffed (see feed_faults.rs).
    assert_eq!(part.stats.out_of_order, 1);
    assert!(
        part.stats.out_of_order_lines[0]
            .1
            .contains("out of subject order")
    );
    assert_eq!(part.stats.first_seen, 1, "IND-099 got its baseline");
    assert_eq!(part.hits, 1, "the good line after the bad one still counts");
}

async fn the_monthly_cap_withholds_hits_and_the_digest_says_so(app: TestApp) {
    let w = World::new(app).await;
    let tenant = w.app.get("/v1/tenant").await;
    let capped = w
        .app
        .patch(
            "/v1/tenant",
            tenant.header("etag").unwrap(),
            json!({"monitoring": {"monthly_cap": 4}}),
        )
        .await;
    assert_eq!(capped.status, 200, "{}", capped.body);
    two_monitored(&w).await;
    w.run(day(1)).await;
    day_two_with_news(&w).await;
    let report = w.run(day(2)).await;
    assert_eq!(report.parts[0].hits, 4);
    assert_eq!(report.parts[0].withheld, 5);
    let usage = w.usage("2026-11").await;
    assert_eq!((&usage["hits"], &usage["withheld"]), (&json!(4), &json!(5)));
    assert_eq!(usage["total"], "13.80");
    assert_eq!(w.hit_events().len(), 4, "withheld hits are not published");
    let mail = w.inbox.messages().await;
    assert!(mail[0].0.contains("4 new hits"));
    assert!(
        mail[0].1.contains("5 more hits were found but withheld"),
        "{}",
        mail[0].1
    );
    assert!(mail[0].1.contains("cap of 4"));
}

async fn a_weekly_monitor_hears_on_its_run_day_of_everything_since(app: TestApp) {
    let w = World::new(app).await;
    let ana = w.person("Ana", Some("IND-100"), "L-100").await;
    w.monitor(&ana, json!({"frequency": "weekly"})).await;
    let with = |n: usize| {
        let enquiries: Vec<Value> = (0..n)
            .map(|i| json!({"enquirer": format!("Lender {i}"), "product": "loan", "date": "2026-11-10"}))
            .collect();
        vec![person_line(
            "IND-100",
            "Ana Test",
            json!({"enquiries": enquiries}),
        )]
    };
    // Monday: baseline. Tuesday and Thursday: news. Next Monday: the digest.
    for (n, count) in [(1, 0), (2, 1), (4, 2), (8, 2)] {
        w.feed(day(n), "part-0000.ndjson", &with(count)).await;
        w.run(day(n)).await;
        if n < 8 {
            assert!(
                w.inbox.messages().await.is_empty(),
                "nothing sent on day {n}"
            );
        }
    }
    assert_eq!(w.hits().await.len(), 2);
    assert!(w.hits().await.iter().all(|h| h["due_on"] == "2026-11-23"));
    let mail = w.inbox.messages().await;
    assert_eq!(mail.len(), 1);
    assert!(mail[0].0.contains("2 new hits"), "{}", mail[0].0);
}

async fn monitoring_is_refused_with_a_reason_until_its_conditions_hold(app: TestApp) {
    let w = World::new(app).await;
    let no_subject = w.person("Nosub", None, "L-1").await;
    let answer = w
        .app
        .post(&format!("/v1/clients/{no_subject}/monitoring"), json!({}))
        .await;
    assert!(
        answer.problem(409, "conflict")["detail"]
            .as_str()
            .unwrap()
            .contains("bureau_subject_id")
    );
    let plain_type = w
        .app
        .post(
            "/v1/client-types",
            json!({"name": "Unwatched", "class": "individual"}),
        )
        .await
        .body["id"]
        .clone();
    let unwatched = w
        .app
        .post(
            "/v1/clients",
            json!({"client_type_id": plain_type, "bureau_subject_id": "IND-9",
                   "identity": {"kind": "individual", "first_name": "U", "last_name": "W"}}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = w
        .app
        .post(&format!("/v1/clients/{unwatched}/monitoring"), json!({}))
        .await;
    assert!(
        answer.problem(409, "conflict")["detail"]
            .as_str()
            .unwrap()
            .contains("use_bureau_monitoring")
    );
    let ana = w.person("Ana", Some("IND-100"), "L-100").await;
    // No reason and no default reason.
    let tenant = w.app.get("/v1/tenant").await;
    w.app
        .patch(
            "/v1/tenant",
            tenant.header("etag").unwrap(),
            json!({"monitoring": {"default_reason": null}}),
        )
        .await;
    let answer = w
        .app
        .post(&format!("/v1/clients/{ana}/monitoring"), json!({}))
        .await;
    assert_eq!(
        answer.problem(422, "validation")["errors"][0]["field"],
        "reason"
    );
    let created = w
        .app
        .post(
            &format!("/v1/clients/{ana}/monitoring"),
            json!({"reason": "New loan"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["subject"], "IND-100");
    assert_eq!(created.body["frequency"], "daily");
    let changed = w
        .app
        .post(
            &format!("/v1/clients/{ana}/monitoring"),
            json!({"frequency": "monthly"}),
        )
        .await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.body["reason"], "New loan");
    assert_eq!(
        w.app
            .get(&format!("/v1/clients/{ana}/monitoring"))
            .await
            .body["frequency"],
        "monthly"
    );
    // Monitoring off for the tenant.
    let tenant = w.app.get("/v1/tenant").await;
    w.app
        .patch(
            "/v1/tenant",
            tenant.header("etag").unwrap(),
            json!({"monitoring": {"enabled": false}}),
        )
        .await;
    let kauri = w.company("Kauri", "CO-1").await;
    let answer = w
        .app
        .post(
            &format!("/v1/clients/{kauri}/monitoring"),
            json!({"reason": "x"}),
        )
        .await;
    assert!(
        answer.problem(409, "conflict")["detail"]
            .as_str()
            .unwrap()
            .contains("monitoring is off")
    );
    // A monitored client cannot be deleted, and stopping works once.
    let client = w.app.get(&format!("/v1/clients/{ana}")).await;
    let request = axum::http::Request::delete(format!("/v1/clients/{ana}"))
        .header("authorization", format!("Bearer {}", w.app.admin_key))
        .header("if-match", client.header("etag").unwrap())
        .body(axum::body::Body::empty())
        .unwrap();
    let refused = w.app.send(request).await;
    refused.problem(409, "conflict");
    assert_eq!(
        w.app
            .delete(&format!("/v1/clients/{ana}/monitoring"))
            .await
            .status,
        204
    );
    w.app
        .delete(&format!("/v1/clients/{ana}/monitoring"))
        .await
        .problem(404, "not-found");
}

async fn a_changed_subject_id_moves_the_monitor_to_the_new_subject(app: TestApp) {
    let w = World::new(app).await;
    let ana = w.person("Ana", Some("IND-100"), "L-100").await;
    w.monitor(&ana, json!({})).await;
    w.feed(
        day(1),
        "part-0000.ndjson",
        &[
            person_line("IND-100", "Wrong Person", json!({})),
            person_line("IND-101", "Ana Test", json!({})),
        ],
    )
    .await;
    w.run(day(1)).await;
    let client = w.app.get(&format!("/v1/clients/{ana}")).await;
    let moved = w
        .app
        .patch(
            &format!("/v1/clients/{ana}"),
            client.header("etag").unwrap(),
            json!({"bureau_subject_id": "IND-101"}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(
        w.app
            .get(&format!("/v1/clients/{ana}/monitoring"))
            .await
            .body["subject"],
        "IND-101"
    );
    let default = json!({"defaults": [{"creditor": "Acme", "amount_cents": 100, "currency": "NZD", "date": "2026-11-17"}]});
    w.feed(
        day(2),
        "part-0000.ndjson",
        &[
            person_line("IND-100", "Wrong Person", default.clone()),
            person_line("IND-101", "Ana Test", default),
        ],
    )
    .await;
    w.run(day(2)).await;
    let hits = w.hits().await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["subject"], "IND-101");
    // Dropping the subject of a monitored client is refused.
    let client = w.app.get(&format!("/v1/clients/{ana}")).await;
    w.app
        .patch(
            &format!("/v1/clients/{ana}"),
            client.header("etag").unwrap(),
            json!({"bureau_subject_id": null}),
        )
        .await
        .problem(409, "conflict");
}

async fn bulk_start_and_stop_answer_per_client(app: TestApp) {
    let w = World::new(app).await;
    let a = w.person("A", Some("IND-1"), "L-1").await;
    let b = w.person("B", None, "L-2").await;
    let answer = w
        .app
        .post(
            "/v1/monitoring/bulk",
            json!({"action": "start", "client_ids": [a, b, "missing"], "frequency": "weekly"}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        (&answer.body["succeeded"], &answer.body["failed"]),
        (&json!(1), &json!(2))
    );
    let results = answer.body["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "started");
    assert_eq!(results[1]["problem"]["status"], 409);
    assert!(
        results[1]["problem"]["detail"]
            .as_str()
            .unwrap()
            .contains("bureau_subject_id")
    );
    assert_eq!(results[2]["problem"]["status"], 404);
    assert_eq!(
        w.app.get(&format!("/v1/clients/{a}/monitoring")).await.body["frequency"],
        "weekly"
    );
    let stop = w
        .app
        .post(
            "/v1/monitoring/bulk",
            json!({"action": "stop", "client_ids": [a, b]}),
        )
        .await;
    assert_eq!(stop.body["results"][0]["status"], "stopped");
    assert_eq!(stop.body["results"][1]["problem"]["status"], 404);
    w.app
        .post(
            "/v1/monitoring/bulk",
            json!({"action": "stop", "client_ids": []}),
        )
        .await
        .problem(422, "validation");
}

async fn hits_can_be_polled_from_a_time_and_acknowledged(app: TestApp) {
    let w = World::new(app).await;
    two_monitored(&w).await;
    w.run(day(1)).await;
    let before = w.app.harness.clock.now();
    w.app.harness.clock.advance(chrono::Duration::seconds(5));
    day_two_with_news(&w).await;
    w.run(day(2)).await;
    let later = w.app.harness.clock.now() + chrono::Duration::seconds(1);
    let since = |t: chrono::DateTime<chrono::Utc>| {
        format!(
            "/v1/hits?since={}",
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    };
    assert_eq!(
        w.app.get(&since(before)).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        9
    );
    assert_eq!(
        w.app.get(&since(later)).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // Paging with a cursor visits each hit once.
    let mut seen = Vec::new();
    let mut next = "/v1/hits?limit=4".to_owned();
    loop {
        let page = w.app.get(&next).await;
        for h in page.body["items"].as_array().unwrap() {
            seen.push(h["id"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => next = format!("/v1/hits?limit=4&cursor={c}"),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 9);
    let id = &seen[0];
    let acked = w
        .app
        .post(&format!("/v1/hits/{id}/acknowledge"), json!({}))
        .await;
    assert_eq!(acked.status, 200, "{}", acked.body);
    let at = acked.body["acknowledged_at"].clone();
    assert!(at.is_string());
    let again = w
        .app
        .post(&format!("/v1/hits/{id}/acknowledge"), json!({}))
        .await;
    assert_eq!(again.body["acknowledged_at"], at, "the first time is kept");
    assert_eq!(
        w.app.get(&format!("/v1/hits/{id}")).await.body["acknowledged_at"],
        at
    );
    w.app
        .get("/v1/hits?since=yesterday")
        .await
        .problem(422, "validation");
    w.app
        .get("/v1/usage?month=2026-13")
        .await
        .problem(422, "validation");
}

/// The digest step fanned out, as on Lambda: each tenant's digest handed to a worker, workers
/// running one tenant's digest twice at once (the queue delivers at least once) send it once,
/// and the day counts as finished when the last tenant's digest is recorded done, once.
async fn digests_handed_to_workers_go_out_once_and_the_last_worker_finishes_the_day(app: TestApp) {
    let w = World::new(app).await;
    two_monitored(&w).await;
    w.run(day(1)).await;
    day_two_with_news(&w).await;
    let day2 = day(2);
    let plan = run::plan(&w.svc, &w.sources, day2).await.unwrap();
    for part in &plan.parts {
        let report = run::run_part(&w.svc, &w.sources, day2, part).await.unwrap();
        run::part_done(&w.svc, day2, &plan.run_id, &report)
            .await
            .unwrap();
    }
    let due = digest::due(&w.svc, day2).await.unwrap();
    assert_eq!(due.len(), 1, "one tenant with hits: {due:?}");
    run::digests_handed_out(&w.svc, day2, &plan.run_id, due.len())
        .await
        .unwrap();
    assert_ne!(
        run::progress(&w.svc, day2).await.unwrap(),
        run::Progress::Finished
    );
    let (tenant, markers) = due.into_iter().next().unwrap();
    let (a, b) = futures::join!(
        digest::run_tenant(&w.svc, day2, &tenant, &markers),
        digest::run_tenant(&w.svc, day2, &tenant, &markers)
    );
    // One sends it; the other finds it sent, or finds the first one moving it on and gives way
    // (a `Conflict`: its message goes back to the queue, and its next delivery finds it done).
    let sent_now: usize = [&a, &b]
        .iter()
        .map(|r| match r {
            Ok(d) => usize::from(d.message_id.is_some()),
            Err(clientwatch::domain::Error::Conflict(_)) => 0,
            Err(e) => panic!("{e}"),
        })
        .sum();
    assert!(sent_now <= 1, "the e-mail goes out once: {a:?} {b:?}");
    if a.is_err() || b.is_err() {
        // The redelivered message.
        digest::run_tenant(&w.svc, day2, &tenant, &markers)
            .await
            .unwrap();
    }
    assert_eq!(w.inbox.messages().await.len(), 1);
    assert!(
        digest::due(&w.svc, day2).await.unwrap().is_empty(),
        "markers removed"
    );
    let first = run::digest_done(&w.svc, day2, &plan.run_id, &tenant)
        .await
        .unwrap();
    let again = run::digest_done(&w.svc, day2, &plan.run_id, &tenant)
        .await
        .unwrap();
    assert!(
        first && !again,
        "the last tenant's digest finishes the day once"
    );
    assert_eq!(
        run::progress(&w.svc, day2).await.unwrap(),
        run::Progress::Finished
    );
}
