//! The bureau's view of a client, over both stores: the profile a run keeps per monitored
//! subject, its differences with the client record, `ClientDataChanged` once per new
//! difference, the tenant's setting that applies the bureau's changes (never to a field a sync
//! source owns), a subject monitored while its line stays unchanged, and a run killed between
//! its writes.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::Method;
use chrono::Duration;
use clientwatch::Services;
use clientwatch::adapters::embedded::EmbeddedTable;
use clientwatch::keys;
use clientwatch::monitoring::profiles::{self, CLIENT_DATA_CHANGED};
use clientwatch::monitoring::run::{self, Sources};
use clientwatch::records::{clients, outbox};
use clientwatch_tests::api::TestApp;
use clientwatch_tests::faults::{Death, Faults, faulty, faulty_blobs};
use clientwatch_tests::monitoring::*;
use clientwatch_tests::{Store, for_both_stores, over_both_stores};
use serde_json::{Value, json};

over_both_stores!(
    a_run_keeps_the_bureaus_record_of_monitored_subjects_and_their_differences,
    a_new_difference_is_told_once,
    a_subject_monitored_while_its_line_is_unchanged_gets_its_profile_on_the_next_run,
    the_bureaus_changes_are_applied_only_when_the_tenant_says_so,
    a_field_a_sync_source_owns_is_never_overwritten,
    another_tenants_client_has_no_profile_to_show,
    stopping_the_last_monitor_forgets_the_profile,
    two_workers_racing_on_one_part_write_one_profile_and_one_event,
    a_subject_with_more_clients_than_one_transaction_holds_never_stops_its_part,
    the_day_scores_appear_no_profile_is_written_and_each_shows_its_score,
);

mod killed {
    use super::*;
    for_both_stores!(a_run_killed_between_its_writes_leaves_one_profile_and_one_event);
}

fn lender_events(w: &World) -> Vec<Value> {
    w.app
        .events
        .recorded()
        .into_iter()
        .filter(|e| e.detail_type == CLIENT_DATA_CHANGED)
        .map(|e| e.detail)
        .collect()
}

async fn profile(w: &World, client: &str) -> clientwatch_tests::api::Answer {
    w.app
        .get(&format!("/v1/clients/{client}/bureau-profile"))
        .await
}

async fn stored_profile(w: &World, subject: &str) -> Option<Value> {
    w.svc
        .table
        .get(&keys::bureau_profile(subject))
        .await
        .unwrap()
        .map(|i| Value::Object(i.data))
}

fn fields(differences: &Value) -> Vec<&str> {
    differences
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect()
}

/// The client's change history as the API lists it, newest first.
async fn history(w: &World, client: &str) -> Value {
    let answer = w.app.get(&format!("/v1/clients/{client}/changes")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["items"].clone()
}

async fn apply_bureau_changes(w: &World, on: bool) {
    let tenant = w.app.get("/v1/tenant").await;
    let answer = w
        .app
        .patch(
            "/v1/tenant",
            tenant.header("etag").unwrap(),
            json!({"monitoring": {"apply_bureau_changes": on}}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["monitoring"]["apply_bureau_changes"], on);
}

/// A company client kept here, its bureau subject, and optionally the systems that sync it.
async fn company_client(w: &World, name: &str, subject: &str, refs: Value) -> String {
    let answer = w
        .app
        .post(
            "/v1/clients",
            json!({"client_type_id": w.company_type, "bureau_subject_id": subject,
                   "identity": {"kind": "company", "name": name, "registration_number": "1234567"},
                   "addresses": [{"line1": "1 Queen St", "city": "Auckland", "country": "NZ"}],
                   "company_info": {"status": "registered"},
                   "external_refs": refs}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

fn kauri(name: &str, status: &str, address: &str, reported: &str) -> String {
    company_line(
        "CO-200",
        name,
        status,
        json!({"company": {"name": name, "status": status, "registration_number": "1234567"},
               "addresses": [{"line1": address, "city": "Auckland", "country": "NZ", "reported": reported}],
               "score": {"value": 612, "band": "C", "date": "2026-11-15"}}),
    )
}

fn ana(address: &str, reported: &str) -> String {
    person_line(
        "IND-100",
        "Ana Test",
        json!({"dob": "1980-02-03",
               "addresses": [{"line1": "12 Kauri St", "city": "Auckland", "postcode": "1010", "country": "NZ", "reported": "2020-01-01"},
                             {"line1": address, "city": "Hamilton", "postcode": "3200", "country": "NZ", "reported": reported}]}),
    )
}

async fn a_run_keeps_the_bureaus_record_of_monitored_subjects_and_their_differences(app: TestApp) {
    let w = World::new(app).await;
    let ana_client = w.person("Ana", Some("IND-100"), "L-100").await;
    let kauri_client = company_client(&w, "Kauri Holdings Ltd", "CO-200", json!({})).await;
    let nobody = w.person("Nobody", Some("IND-300"), "L-300").await;
    w.monitor(&ana_client, json!({})).await;
    w.monitor(&kauri_client, json!({})).await;
    // Before any run: monitored, but no run has read the subject yet.
    let before = profile(&w, &ana_client).await;
    let problem = before.problem(404, "not-found");
    assert!(
        problem["detail"].as_str().unwrap().contains("no daily run"),
        "{problem}"
    );
    w.feed(
        day(1),
        "part-0000.ndjson",
        &[
            kauri(
                "Kauri Holdings Ltd",
                "registered",
                "1 Queen St",
                "2026-01-01",
            ),
            ana("7 Rata Ave", "2026-11-01"),
            person_line("IND-300", "Nobody Test", json!({})),
        ],
    )
    .await;
    w.run(day(1)).await;

    let answer = profile(&w, &ana_client).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let p = &answer.body;
    assert_eq!(p["client_id"], ana_client);
    assert_eq!(p["subject"], "IND-100");
    assert_eq!(p["kind"], "individual");
    assert_eq!(p["name"], "Ana Test");
    assert_eq!(p["date_of_birth"], "1980-02-03");
    assert_eq!(p["as_of"], day(1).to_string());
    // The current address (latest reported) first.
    assert_eq!(p["addresses"][0]["line1"], "7 Rata Ave");
    assert_eq!(p["addresses"][1]["line1"], "12 Kauri St");
    // The client kept here has no date of birth and no address.
    assert_eq!(fields(&p["differences"]), ["date_of_birth", "address"]);
    assert_eq!(
        p["differences"][1],
        json!({"field": "address", "bureau": "7 Rata Ave, Hamilton, 3200, NZ", "client": null})
    );

    let k = profile(&w, &kauri_client).await.body;
    assert_eq!(k["company_status"], "registered");
    assert_eq!(k["registration_number"], "1234567");
    assert_eq!(
        k["score"],
        json!({"value": 612, "band": "C", "date": "2026-11-15"})
    );
    assert_eq!(
        k["differences"],
        json!([]),
        "the company agrees with its record"
    );

    // Nothing is kept for a subject nobody monitors.
    profile(&w, &nobody).await.problem(404, "not-found");
    assert_eq!(stored_profile(&w, "IND-300").await, None);
    // A later day that changes the unmonitored line keeps nothing either.
    w.feed(
        day(2),
        "part-0000.ndjson",
        &[
            kauri(
                "Kauri Holdings Ltd",
                "registered",
                "1 Queen St",
                "2026-01-01",
            ),
            ana("7 Rata Ave", "2026-11-01"),
            person_line("IND-300", "Nobody Test", everything_new()),
        ],
    )
    .await;
    w.run(day(2)).await;
    assert_eq!(stored_profile(&w, "IND-300").await, None);
    assert_eq!(
        profile(&w, &ana_client).await.body["as_of"],
        day(1).to_string(),
        "an unchanged line keeps its profile as it was"
    );

    // A change to the client here shows at once: the differences are the client's as it is.
    let current = w.app.get(&format!("/v1/clients/{ana_client}")).await;
    let changed = w
        .app
        .patch(
            &format!("/v1/clients/{ana_client}"),
            current.header("etag").unwrap(),
            json!({"identity": {"date_of_birth": "1980-02-03"},
                   "addresses": [{"line1": "7 RATA AVE", "city": "Hamilton", "postcode": "3200", "country": "NZ"}]}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        profile(&w, &ana_client).await.body["differences"],
        json!([])
    );
}

async fn a_new_difference_is_told_once(app: TestApp) {
    let w = World::new(app).await;
    let kauri_client = company_client(&w, "Kauri Holdings Ltd", "CO-200", json!({})).await;
    w.monitor(&kauri_client, json!({})).await;
    let line1 = kauri(
        "Kauri Holdings Ltd",
        "registered",
        "1 Queen St",
        "2026-01-01",
    );
    w.feed(day(1), "part-0000.ndjson", std::slice::from_ref(&line1))
        .await;
    w.run(day(1)).await;
    assert_eq!(
        lender_events(&w),
        Vec::<Value>::new(),
        "no difference, no event"
    );

    let line2 = kauri(
        "Kauri Holdings Ltd",
        "in receivership",
        "1 Queen St",
        "2026-01-01",
    );
    w.feed(day(2), "part-0000.ndjson", std::slice::from_ref(&line2))
        .await;
    let report = w.run(day(2)).await;
    let part = &report.parts[0];
    assert_eq!(
        (part.profiles, part.client_data_changes, part.applied),
        (1, 1, 0)
    );
    let events = lender_events(&w);
    assert_eq!(events.len(), 1, "{events:#?}");
    let e = &events[0];
    assert_eq!(e["tenant_id"], w.app.tenant_id);
    assert_eq!(e["client_id"], kauri_client);
    assert_eq!(e["subject"], "CO-200");
    assert_eq!(e["as_of"], day(2).to_string());
    assert_eq!(
        e["differences"],
        json!([{"field": "company_status", "bureau": "in receivership", "client": "registered"}])
    );
    assert_eq!((&e["applied"], &e["not_applied"]), (&json!([]), &json!([])));
    assert!(e["event_id"].as_str().is_some());

    // The day again, and a later day still showing the same difference: nothing new to tell.
    let again = w.run(day(2)).await;
    assert_eq!(
        (again.parts[0].profiles, again.parts[0].client_data_changes),
        (0, 0)
    );
    w.feed(day(3), "part-0000.ndjson", std::slice::from_ref(&line2))
        .await;
    w.run(day(3)).await;
    let mut line4 = line2.clone();
    line4 = line4.replace("\"value\":612", "\"value\":640");
    w.feed(day(4), "part-0000.ndjson", &[line4]).await;
    w.run(day(4)).await;
    assert_eq!(
        lender_events(&w).len(),
        1,
        "the same difference is told once"
    );
    let p = profile(&w, &kauri_client).await.body;
    assert_eq!(p["score"]["value"], 640, "the score follows the line");
    assert_eq!(
        p["as_of"],
        day(2).to_string(),
        "the record itself is as day 2 found it: only the score moved since"
    );
    assert_eq!(fields(&p["differences"]), ["company_status"]);
    // Another status is another difference.
    w.feed(
        day(5),
        "part-0000.ndjson",
        &[kauri(
            "Kauri Holdings Ltd",
            "in liquidation",
            "1 Queen St",
            "2026-01-01",
        )],
    )
    .await;
    w.run(day(5)).await;
    let events = lender_events(&w);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["differences"][0]["bureau"], "in liquidation");
}

async fn a_subject_monitored_while_its_line_is_unchanged_gets_its_profile_on_the_next_run(
    app: TestApp,
) {
    let w = World::new(app).await;
    let ana_client = w.person("Ana", Some("IND-100"), "L-100").await;
    let line = ana("7 Rata Ave", "2026-11-01");
    w.feed(day(1), "part-0000.ndjson", std::slice::from_ref(&line))
        .await;
    w.run(day(1)).await;
    assert_eq!(
        stored_profile(&w, "IND-100").await,
        None,
        "not monitored yet"
    );

    w.monitor(&ana_client, json!({})).await;
    assert_eq!(profiles::wanted(&w.svc).await.unwrap(), ["IND-100"]);
    // Day 2 carries the same line, byte for byte.
    w.feed(day(2), "part-0000.ndjson", std::slice::from_ref(&line))
        .await;
    let report = w.run(day(2)).await;
    assert_eq!(report.parts[0].stats.unchanged, 1);
    let p = profile(&w, &ana_client).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body["as_of"], day(2).to_string());
    assert_eq!(p.body["date_of_birth"], "1980-02-03");
    // Nothing billed for it, and it is no longer asked for.
    assert_eq!(w.hits().await, Vec::<Value>::new());
    assert_eq!(w.usage("2026-11").await["hits"], 0);
    assert!(profiles::wanted(&w.svc).await.unwrap().is_empty());
    // A first profile is a baseline: its differences are shown, not told.
    assert_eq!(fields(&p.body["differences"]), ["date_of_birth", "address"]);
    assert_eq!(lender_events(&w), Vec::<Value>::new());
}

async fn the_bureaus_changes_are_applied_only_when_the_tenant_says_so(app: TestApp) {
    let w = World::new(app).await;
    let kauri_client = company_client(&w, "Kauri Holdings Ltd", "CO-200", json!({})).await;
    let ana_client = w.person("Ana", Some("IND-100"), "L-100").await;
    w.monitor(&kauri_client, json!({})).await;
    w.monitor(&ana_client, json!({})).await;
    w.feed(
        day(1),
        "part-0000.ndjson",
        &[
            kauri(
                "Kauri Holdings Ltd",
                "registered",
                "1 Queen St",
                "2026-01-01",
            ),
            ana("7 Rata Ave", "2026-11-01"),
        ],
    )
    .await;
    // Day 1 is each subject's first record: a baseline, nothing told or applied.
    w.run(day(1)).await;
    assert_eq!(lender_events(&w), Vec::<Value>::new());
    // Off (the default): a new difference is told, the client is left as it is.
    w.feed(
        day(2),
        "part-0000.ndjson",
        &[
            kauri(
                "Kauri Holdings Ltd",
                "in receivership",
                "1 Queen St",
                "2026-01-01",
            ),
            ana("7 Rata Ave", "2026-11-01"),
        ],
    )
    .await;
    w.run(day(2)).await;
    let events = lender_events(&w);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["applied"], json!([]));
    let k = w.app.get(&format!("/v1/clients/{kauri_client}")).await.body;
    assert_eq!(
        (&k["company_info"]["status"], &k["version"]),
        (&json!("registered"), &json!(1))
    );
    assert_eq!(history(&w, &kauri_client).await, json!([]));

    // On: the next run's new address, and the company's new name and status, are applied.
    apply_bureau_changes(&w, true).await;
    w.feed(
        day(3),
        "part-0000.ndjson",
        &[
            kauri(
                "Kauri Group Ltd",
                "in liquidation",
                "1 Queen St",
                "2026-01-01",
            ),
            ana("9 Totara Rd", "2026-11-17"),
        ],
    )
    .await;
    w.run(day(3)).await;
    let k = w.app.get(&format!("/v1/clients/{kauri_client}")).await.body;
    assert_eq!(k["identity"]["name"], "Kauri Group Ltd");
    assert_eq!(k["company_info"]["status"], "in liquidation");
    assert_eq!(k["version"], 2, "one change of the client");
    let told: BTreeSet<(String, String, Option<String>, String)> = history(&w, &kauri_client)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let text = |f: &str| c[f].as_str().map(str::to_owned);
            (
                text("by").unwrap(),
                text("field").unwrap(),
                text("old"),
                text("new").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        told,
        BTreeSet::from([
            (
                "bureau".into(),
                "name".into(),
                Some("Kauri Holdings Ltd".into()),
                "Kauri Group Ltd".into()
            ),
            (
                "bureau".into(),
                "company_status".into(),
                Some("registered".into()),
                "in liquidation".into()
            ),
        ])
    );
    let a = w.app.get(&format!("/v1/clients/{ana_client}")).await.body;
    assert_eq!(a["addresses"][0]["line1"], "9 Totara Rd");
    assert_eq!(a["addresses"][0]["postcode"], "3200");
    assert_eq!(
        profile(&w, &kauri_client).await.body["differences"],
        json!([]),
        "applied: no difference left"
    );
    let events = lender_events(&w);
    let kauri_event = events
        .iter()
        .rfind(|e| e["client_id"] == kauri_client)
        .unwrap();
    assert_eq!(fields(&kauri_event["applied"]), ["name", "company_status"]);
    // A person's date of birth is identity: told, never applied.
    assert_eq!(
        fields(&profile(&w, &ana_client).await.body["differences"]),
        ["date_of_birth"]
    );
}

async fn a_field_a_sync_source_owns_is_never_overwritten(app: TestApp) {
    let w = World::new(app).await;
    apply_bureau_changes(&w, true).await;
    let kauri_client = company_client(
        &w,
        "Kauri Holdings Ltd",
        "CO-200",
        json!({"netsuite": "C-9"}),
    )
    .await;
    w.monitor(&kauri_client, json!({})).await;
    w.feed(
        day(1),
        "part-0000.ndjson",
        &[kauri(
            "Kauri Holdings Ltd",
            "registered",
            "1 Queen St",
            "2026-01-01",
        )],
    )
    .await;
    w.run(day(1)).await;
    w.feed(
        day(2),
        "part-0000.ndjson",
        &[kauri(
            "Kauri Group Ltd",
            "in receivership",
            "5 Shortland St",
            "2026-11-16",
        )],
    )
    .await;
    w.run(day(2)).await;
    let k = w.app.get(&format!("/v1/clients/{kauri_client}")).await.body;
    assert_eq!(
        k["identity"]["name"], "Kauri Holdings Ltd",
        "NetSuite keeps the name"
    );
    assert_eq!(k["addresses"][0]["line1"], "1 Queen St", "and the address");
    assert_eq!(
        k["company_info"]["status"], "in receivership",
        "the bureau keeps the status"
    );
    let events = lender_events(&w);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(fields(&events[0]["applied"]), ["company_status"]);
    assert_eq!(fields(&events[0]["not_applied"]), ["name", "address"]);
    assert!(
        events[0]["not_applied"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("netsuite")
    );
    let p = profile(&w, &kauri_client).await.body;
    assert_eq!(fields(&p["differences"]), ["name", "address"]);
}

async fn another_tenants_client_has_no_profile_to_show(app: TestApp) {
    let w = World::new(app).await;
    let ana_client = w.person("Ana", Some("IND-100"), "L-100").await;
    w.monitor(&ana_client, json!({})).await;
    w.feed(
        day(1),
        "part-0000.ndjson",
        &[ana("7 Rata Ave", "2026-11-01")],
    )
    .await;
    w.run(day(1)).await;
    let other = w.app.other_tenant().await;
    let path = format!("/v1/clients/{ana_client}/bureau-profile");
    let answer = w.app.call(Method::GET, &path, Some(&other), None).await;
    answer.problem(404, "not-found");
    assert!(!answer.body.to_string().contains("Rata"));
    let changes = format!("/v1/clients/{ana_client}/changes");
    let answer = w.app.call(Method::GET, &changes, Some(&other), None).await;
    answer.problem(404, "not-found");
    // Hostile ids are refused as such.
    for bad in ["%00", "a%2Fb", &"x".repeat(200)] {
        let answer = w
            .app
            .get(&format!("/v1/clients/{bad}/bureau-profile"))
            .await;
        assert!(answer.status.is_client_error(), "{bad}: {}", answer.status);
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json")
        );
    }
}

async fn stopping_the_last_monitor_forgets_the_profile(app: TestApp) {
    let w = World::new(app).await;
    let ana_client = w.person("Ana", Some("IND-100"), "L-100").await;
    w.monitor(&ana_client, json!({})).await;
    w.feed(
        day(1),
        "part-0000.ndjson",
        &[ana("7 Rata Ave", "2026-11-01")],
    )
    .await;
    w.run(day(1)).await;
    assert!(stored_profile(&w, "IND-100").await.is_some());
    let stopped = w
        .app
        .delete(&format!("/v1/clients/{ana_client}/monitoring"))
        .await;
    assert_eq!(stopped.status, 204, "{}", stopped.body);
    assert_eq!(stored_profile(&w, "IND-100").await, None);
    profile(&w, &ana_client).await.problem(404, "not-found");
}

async fn two_workers_racing_on_one_part_write_one_profile_and_one_event(app: TestApp) {
    let w = World::new(app).await;
    apply_bureau_changes(&w, true).await;
    let kauri_client = company_client(&w, "Kauri Holdings Ltd", "CO-200", json!({})).await;
    w.monitor(&kauri_client, json!({})).await;
    w.feed(
        day(1),
        "part-0000.ndjson",
        &[kauri(
            "Kauri Holdings Ltd",
            "registered",
            "1 Queen St",
            "2026-01-01",
        )],
    )
    .await;
    w.run(day(1)).await;
    w.feed(
        day(2),
        "part-0000.ndjson",
        &[kauri(
            "Kauri Group Ltd",
            "in receivership",
            "1 Queen St",
            "2026-01-01",
        )],
    )
    .await;
    let key = format!("feeds/{}/part-0000.ndjson", day(2));
    let (a, b) = tokio::join!(
        run::run_part(&w.svc, &w.sources, day(2), &key),
        run::run_part(&w.svc, &w.sources, day(2), &key),
    );
    a.unwrap();
    b.unwrap();
    let told: Vec<Value> = lender_events(&w)
        .into_iter()
        .filter(|e| e["as_of"] == day(2).to_string())
        .collect();
    assert_eq!(told.len(), 1, "{told:#?}");
    let k = w.app.get(&format!("/v1/clients/{kauri_client}")).await.body;
    assert_eq!(k["identity"]["name"], "Kauri Group Ltd");
    assert_eq!(k["version"], 2, "the client changed once");
    let history = history(&w, &kauri_client).await;
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
    assert_eq!(
        profile(&w, &kauri_client).await.body["as_of"],
        day(2).to_string()
    );
}

async fn a_subject_with_more_clients_than_one_transaction_holds_never_stops_its_part(app: TestApp) {
    let w = World::new(app).await;
    apply_bureau_changes(&w, true).await;
    // Each told client takes 3 writes (the client, its history entry, its event): 33 fit
    // beside the profile in one transaction of 100.
    let mut ids = Vec::new();
    for n in 0..40 {
        let id = company_client(&w, "Kauri Holdings Ltd", "CO-200", json!({})).await;
        w.monitor(&id, json!({"reason": format!("Supplier {n}")}))
            .await;
        ids.push(id);
    }
    w.feed(
        day(1),
        "part-0000.ndjson",
        &[kauri(
            "Kauri Holdings Ltd",
            "registered",
            "1 Queen St",
            "2026-01-01",
        )],
    )
    .await;
    w.run(day(1)).await;
    w.feed(
        day(2),
        "part-0000.ndjson",
        &[kauri(
            "Kauri Holdings Ltd",
            "in receivership",
            "1 Queen St",
            "2026-01-01",
        )],
    )
    .await;
    let report = w.run(day(2)).await;
    assert_eq!(report.parts[0].failed, None);
    assert_eq!(report.parts[0].client_data_changes, 33);
    assert_eq!(lender_events(&w).len(), 33);
    let mut applied = 0;
    for id in &ids {
        let p = profile(&w, id).await.body;
        assert_eq!(p["as_of"], day(2).to_string());
        if p["differences"] == json!([]) {
            applied += 1;
        } else {
            assert_eq!(
                fields(&p["differences"]),
                ["company_status"],
                "untold: shown"
            );
        }
    }
    assert_eq!(applied, 33);
}

// ---- a run killed between its writes ---------------------------------------------------------

/// Day 1 with the company's record, apply on; day 2 renames it and changes its status.
async fn crash_world(store: Store) -> (World, String) {
    let w = World::new(TestApp::new(store).await).await;
    apply_bureau_changes(&w, true).await;
    let client = company_client(&w, "Kauri Holdings Ltd", "CO-200", json!({})).await;
    w.monitor(&client, json!({})).await;
    w.feed(
        day(1),
        "part-0000.ndjson",
        &[kauri(
            "Kauri Holdings Ltd",
            "registered",
            "1 Queen St",
            "2026-01-01",
        )],
    )
    .await;
    w.run(day(1)).await;
    w.feed(
        day(2),
        "part-0000.ndjson",
        &[kauri(
            "Kauri Group Ltd",
            "in receivership",
            "1 Queen St",
            "2026-01-01",
        )],
    )
    .await;
    // Sources on a folder on both stores, so a crash's blob writes are counted too.
    (w, client)
}

/// The services after a crash: on the embedded store, a copy of the file as the process left it.
fn after_crash(w: &World, n: usize) -> Services {
    let mut svc = w.svc.clone();
    if w.app.harness.store == Store::Embedded {
        let dir = w.app.harness.dir.path();
        let copy = dir.join(format!("after-crash-{n}.redb"));
        std::fs::copy(dir.join("store.redb"), &copy).expect("the store file copies");
        svc.table = Arc::new(
            EmbeddedTable::open(&copy, w.app.harness.clock.clone()).expect("the store opens"),
        );
    }
    svc
}

/// What a user would check: the profile, the client's name and status and its history, and the
/// day's events told (distinct event ids, and their differences) once the outbox is flushed.
async fn outcome(w: &World, svc: &Services, client: &str) -> (Value, Value, usize, Vec<Value>) {
    // Rows a dead writer held are published once its lease has run out.
    w.app
        .harness
        .clock
        .advance(Duration::seconds(outbox::LEASE_SECONDS + 1));
    outbox::flush(svc, 100).await.expect("the outbox flushes");
    let mut profile = Value::Object(
        svc.table
            .get(&keys::bureau_profile("CO-200"))
            .await
            .unwrap()
            .expect("a profile")
            .data,
    );
    profile.as_object_mut().unwrap().remove("version");
    let c = clients::get(svc.table.as_ref(), &w.app.tenant_id, client)
        .await
        .unwrap();
    let history = clients::changes(svc.table.as_ref(), &w.app.tenant_id, client, 200, None)
        .await
        .unwrap()
        .0
        .len();
    let mut told = std::collections::BTreeMap::new();
    for e in lender_events(w) {
        if e["as_of"] == day(2).to_string() {
            told.insert(
                e["event_id"].as_str().unwrap().to_owned(),
                e["differences"].clone(),
            );
        }
    }
    (
        profile,
        json!([c.spec.identity.name, c.spec.company_info.status]),
        history,
        told.into_values().collect(),
    )
}

async fn a_run_killed_between_its_writes_leaves_one_profile_and_one_event(store: Store) {
    let (reference, client) = crash_world(store).await;
    let faults = Faults::new(Death::Never);
    run::run_day(
        &faulty(&reference.svc, &faults),
        &reference.sources,
        day(2),
        &mut |_| {},
    )
    .await
    .expect("the uninterrupted day runs");
    let expected = outcome(&reference, &reference.svc, &client).await;
    assert_eq!(expected.1, json!(["Kauri Group Ltd", "in receivership"]));
    assert_eq!((expected.2, expected.3.len()), (2, 1), "{expected:#?}");
    // Every write of the day, before it and right after it.
    let steps = faults.trace().len();
    let mut points = 0;
    for death in (1..=steps).flat_map(|n| [Death::Before(n), Death::After(n)]) {
        let (w, client) = crash_world(store).await;
        let faults = Faults::new(death);
        let sources = Sources {
            feeds: faulty_blobs(&w.sources.feeds, &faults),
            state: faulty_blobs(&w.sources.state, &faults),
        };
        let result = run::run_day(&faulty(&w.svc, &faults), &sources, day(2), &mut |_| {}).await;
        if !faults.died() {
            continue;
        }
        assert!(result.is_err(), "{death:?}");
        points += 1;
        let svc = after_crash(&w, points);
        run::run_day(&svc, &w.sources, day(2), &mut |_| {})
            .await
            .unwrap_or_else(|e| panic!("{death:?}: the rerun completes: {e}"));
        let seen = outcome(&w, &svc, &client).await;
        let last = faults.trace().last().cloned();
        assert_eq!(seen, expected, "{death:?} at {last:?}");
    }
    assert!(points >= steps, "{points} crash points of {steps} steps");
    eprintln!("bureau profile day over {store:?}: {steps} steps, {points} crash points");
}

/// The day the bureau starts sending scores every line changes; no profile is written for it
/// (the score is kept in the baseline, where the API reads it), and a profile an earlier
/// version wrote (its score in it, no part) shows its own score until its subject is next
/// handed on.
async fn the_day_scores_appear_no_profile_is_written_and_each_shows_its_score(app: TestApp) {
    let w = World::new(app).await;
    let kauri_client = company_client(&w, "Kauri Holdings Ltd", "CO-200", json!({})).await;
    let ana_client = w.person("Ana", Some("IND-100"), "L-100").await;
    w.monitor(&kauri_client, json!({})).await;
    w.monitor(&ana_client, json!({})).await;
    let kauri = |score: Option<Value>| {
        let mut facts = json!({"company": {"name": "Kauri Holdings Ltd", "status": "registered", "registration_number": "1234567"},
               "addresses": [{"line1": "1 Queen St", "city": "Auckland", "country": "NZ"}]});
        if let Some(score) = score {
            facts["score"] = score;
        }
        company_line("CO-200", "Kauri Holdings Ltd", "registered", facts)
    };
    let ana = |score: Option<Value>| {
        let mut facts = json!({"dob": "1980-02-03"});
        if let Some(score) = score {
            facts["score"] = score;
        }
        person_line("IND-100", "Ana Test", facts)
    };
    w.feed(day(1), "part-0000.ndjson", &[kauri(None), ana(None)])
        .await;
    let first = w.run(day(1)).await;
    assert_eq!(first.parts[0].profiles, 2, "the first profiles");
    assert_eq!(profile(&w, &kauri_client).await.body["score"], Value::Null);

    let kauri_score = json!({"value": 612, "band": "C", "date": "2026-11-15"});
    let ana_score = json!({"value": 455, "band": "E"});
    w.feed(
        day(2),
        "part-0000.ndjson",
        &[
            kauri(Some(kauri_score.clone())),
            ana(Some(ana_score.clone())),
        ],
    )
    .await;
    let scored = w.run(day(2)).await;
    let part = &scored.parts[0];
    assert_eq!(part.stats.changed, 0, "a first score is no news");
    assert_eq!(
        (part.hits, part.profiles, part.client_data_changes),
        (0, 0, 0)
    );
    let k = profile(&w, &kauri_client).await.body;
    assert_eq!(k["score"], kauri_score, "read from the baseline");
    assert_eq!(k["as_of"], day(1).to_string(), "the record is day 1's");
    assert_eq!(profile(&w, &ana_client).await.body["score"], ana_score);
    let stored = stored_profile(&w, "CO-200").await.unwrap();
    assert_eq!(
        stored.get("score"),
        None,
        "no score is stored with the profile"
    );
    assert_eq!(stored["part"], "part-0000");

    // A profile as an earlier version stored it: the score in the record, no part.
    let mut item = w
        .svc
        .table
        .get(&keys::bureau_profile("CO-200"))
        .await
        .unwrap()
        .unwrap();
    item.data.remove("part");
    item.data
        .insert("score".into(), json!({"value": 590, "band": "D"}));
    w.svc
        .table
        .put(item, clientwatch::ports::Condition::None)
        .await
        .unwrap();
    assert_eq!(
        profile(&w, &kauri_client).await.body["score"],
        json!({"value": 590, "band": "D"}),
        "an earlier version's profile shows its own score"
    );
    // Its next news hands it on, and it is written the new way.
    let moved = json!({"value": 640, "band": "C", "date": "2026-11-29"});
    w.feed(
        day(3),
        "part-0000.ndjson",
        &[kauri(Some(moved.clone())), ana(Some(ana_score.clone()))],
    )
    .await;
    let report = w.run(day(3)).await;
    assert_eq!(
        report.parts[0].profiles, 1,
        "rewritten once, without its score"
    );
    assert_eq!(profile(&w, &kauri_client).await.body["score"], moved);
    let stored = stored_profile(&w, "CO-200").await.unwrap();
    assert_eq!(
        (stored.get("score"), &stored["part"]),
        (None, &json!("part-0000"))
    );
    // A later move rewrites nothing, and shows.
    let again = json!({"value": 700, "band": "B", "date": "2026-12-01"});
    w.feed(
        day(4),
        "part-0000.ndjson",
        &[kauri(Some(again.clone())), ana(Some(ana_score))],
    )
    .await;
    assert_eq!(w.run(day(4)).await.parts[0].profiles, 0);
    assert_eq!(profile(&w, &kauri_client).await.body["score"], again);
}
