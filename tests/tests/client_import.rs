//! Bulk client import over both stores: `POST /v1/clients/import` (JSON and CSV rows upserted
//! by `external_ref`, a result per row, monitoring started in the same call, a replay that
//! changes nothing, races and tenants), and the asynchronous import of a whole file
//! (`/v1/imports`: upload, run, progress, results, `ImportCompleted`, a failing file, and a run
//! killed at every few steps that resumes without duplicating a client).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request};
use clientwatch::flows::imports::{self, Ran};
use clientwatch_tests::api::{Answer, TestApp};
use clientwatch_tests::faults::{Death, Faults, faulty, faulty_blobs};
use clientwatch_tests::over_both_stores;
use serde_json::{Value, json};

struct World {
    app: TestApp,
    person_type: String,
}

impl World {
    async fn new(app: TestApp) -> Self {
        let tenant = app.get("/v1/tenant").await;
        let settings = app
            .patch(
                "/v1/tenant",
                tenant.header("etag").unwrap(),
                json!({"monitoring": {"enabled": true, "default_reason": "Credit risk review"}}),
            )
            .await;
        assert_eq!(settings.status, 200, "{}", settings.body);
        let person_type = app
            .post(
                "/v1/client-types",
                json!({"name": "Borrower", "class": "individual", "use_bureau_monitoring": true}),
            )
            .await
            .body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        Self { app, person_type }
    }

    fn row(&self, reference: &str, first: &str, subject: Option<&str>) -> Value {
        let mut row = json!({
            "external_ref": reference,
            "client_type_id": self.person_type,
            "identity": {"kind": "individual", "first_name": first, "last_name": "Smith"},
        });
        if let Some(s) = subject {
            row["bureau_subject_id"] = json!(s);
        }
        row
    }

    async fn import(&self, rows: Vec<Value>, monitor: bool) -> Answer {
        self.import_as(&self.app.admin_key, rows, monitor).await
    }

    async fn import_as(&self, key: &str, rows: Vec<Value>, monitor: bool) -> Answer {
        self.app
            .call(
                Method::POST,
                "/v1/clients/import",
                Some(key),
                Some(json!({"rows": rows, "monitor": monitor})),
            )
            .await
    }

    async fn import_csv(&self, csv: &str, query: &str) -> Answer {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("/v1/clients/import{query}"))
            .header("authorization", format!("Bearer {}", self.app.admin_key))
            .header("content-type", "text/csv")
            .body(Body::from(csv.to_owned()))
            .unwrap();
        self.app.send(request).await
    }

    /// Every client of the tenant, by external reference (a reference twice fails the test).
    async fn clients(&self) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        let mut path = "/v1/clients?limit=200".to_owned();
        loop {
            let page = self.app.get(&path).await;
            assert_eq!(page.status, 200, "{}", page.body);
            for c in page.body["items"].as_array().unwrap() {
                let reference = c["external_ref"].as_str().unwrap_or("-").to_owned();
                assert!(
                    out.insert(reference.clone(), c.clone()).is_none(),
                    "two clients have the reference {reference}"
                );
            }
            match page.body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/v1/clients?limit=200&cursor={cursor}"),
                None => return out,
            }
        }
    }
}

fn results(answer: &Answer) -> Vec<Value> {
    assert_eq!(answer.status, 200, "{:#}", answer.body);
    answer.body["results"].as_array().unwrap().clone()
}

fn outcome(result: &Value) -> (&str, &str) {
    (
        result["outcome"].as_str().unwrap(),
        result["problem"]["field"].as_str().unwrap_or(""),
    )
}

async fn bad_json_rows_are_rejected_with_field_and_reason_and_the_rest_imported(app: TestApp) {
    let w = World::new(app).await;
    let mut no_last_name = w.row("L-3", "Cara", None);
    no_last_name["identity"]
        .as_object_mut()
        .unwrap()
        .remove("last_name");
    let mut unknown_type = w.row("L-4", "Dan", None);
    unknown_type["client_type_id"] = json!("no-such-type");
    let answer = w
        .import(
            vec![
                w.row("L-1", "Ana", None),
                json!({"client_type_id": w.person_type, "identity": {"kind": "individual", "first_name": "Bo", "last_name": "X"}}),
                no_last_name,
                unknown_type,
                json!("not an object"),
                w.row("L-1", "Ana again", None),
                w.row("bad ref!", "Eve", None),
                w.row("L-8", "Finn", None),
            ],
            false,
        )
        .await;
    let rows = results(&answer);
    let seen: Vec<(&str, &str)> = rows.iter().map(outcome).collect();
    assert_eq!(
        seen,
        vec![
            ("created", ""),
            ("rejected", "external_ref"),
            ("rejected", "identity.last_name"),
            ("rejected", "client_type_id"),
            ("rejected", "row"),
            ("rejected", "external_ref"),
            ("rejected", "external_ref"),
            ("created", ""),
        ]
    );
    let lines: Vec<u64> = rows.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, (1..=8).collect::<Vec<_>>());
    assert!(
        rows[5]["problem"]["reason"]
            .as_str()
            .unwrap()
            .contains("line 1"),
        "{}",
        rows[5]
    );
    assert!(
        rows.iter()
            .all(|r| r["outcome"] == "created"
                || !r["problem"]["reason"].as_str().unwrap().is_empty())
    );
    assert_eq!(answer.body["created"], 2);
    assert_eq!(answer.body["rejected"], 6);
    let stored = w.clients().await;
    assert_eq!(
        stored.keys().cloned().collect::<Vec<_>>(),
        vec!["L-1".to_owned(), "L-8".to_owned()]
    );
    assert_eq!(stored["L-1"]["identity"]["first_name"], "Ana");
}

async fn bad_csv_rows_are_rejected_with_their_line_and_column(app: TestApp) {
    let w = World::new(app).await;
    let t = &w.person_type;
    let csv = format!(
        "external_ref,client_type_id,kind,first_name,last_name,date_of_birth,city,line1,country\n\
         C-1,{t},individual,Ana,Smith,1980-02-03,Auckland,12 Kauri St,NZ\n\
         C-2,{t},individual,Bo,Jones,1980-13-40,,,\n\
         C-3,{t},individual,\"Cara,Lee\n\
         C-4,{t},individual,Dan\n\
         C-5,{t},individual,Eve,Brown,,Wellington,1 Lambton Quay,nz\n\
         C-6,{t},individual,Finn,Gray,,,,\n"
    );
    let answer = w.import_csv(&csv, "").await;
    let rows = results(&answer);
    let seen: Vec<(u64, &str, &str)> = rows
        .iter()
        .map(|r| {
            let (o, f) = outcome(r);
            (r["line"].as_u64().unwrap(), o, f)
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (2, "created", ""),
            (3, "rejected", "date_of_birth"),
            (4, "rejected", "row"),
            (5, "rejected", "row"),
            (6, "rejected", "country"),
            (7, "created", ""),
        ]
    );
    let stored = w.clients().await;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored["C-1"]["addresses"][0]["city"], "Auckland");
    assert_eq!(stored["C-1"]["identity"]["date_of_birth"], "1980-02-03");
    // A header naming an unknown column refuses the whole file, naming it.
    let refused = w.import_csv("external_ref,nickname\nX-1,Al\n", "").await;
    let body = refused.problem(422, "validation");
    assert!(body["errors"].to_string().contains("nickname"), "{body}");
}

async fn rows_upsert_by_external_reference(app: TestApp) {
    let w = World::new(app).await;
    // A client made one at a time with a reference is the one an import updates.
    let made = w.app.post("/v1/clients", w.row("U-1", "Ana", None)).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.body["id"].as_str().unwrap().to_owned();
    let twice = w.app.post("/v1/clients", w.row("U-1", "Other", None)).await;
    twice.problem(409, "conflict");

    let answer = w
        .import(
            vec![w.row("U-1", "Anna", None), w.row("U-2", "Bo", None)],
            false,
        )
        .await;
    let rows = results(&answer);
    assert_eq!(rows[0]["outcome"], "updated");
    assert_eq!(rows[0]["client_id"], id.as_str());
    assert_eq!(rows[1]["outcome"], "created");
    let stored = w.clients().await;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored["U-1"]["identity"]["first_name"], "Anna");
    assert_eq!(stored["U-1"]["id"], id.as_str());
    // Fields a row leaves out are kept: a CSV row naming only the reference and a new name.
    let kept = w
        .import_csv("external_ref,first_name\nU-1,Annie\n", "")
        .await;
    assert_eq!(results(&kept)[0]["outcome"], "updated");
    let stored = w.clients().await;
    assert_eq!(stored["U-1"]["identity"]["first_name"], "Annie");
    assert_eq!(stored["U-1"]["identity"]["last_name"], "Smith");
    // A reference moved to another value frees the old one.
    let one = w.app.get(&format!("/v1/clients/{id}")).await;
    let moved = w
        .app
        .patch(
            &format!("/v1/clients/{id}"),
            one.header("etag").unwrap(),
            json!({"external_ref": "U-1b"}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let again = w.import(vec![w.row("U-1", "New", None)], false).await;
    let row = &results(&again)[0];
    assert_eq!(row["outcome"], "created");
    assert_ne!(row["client_id"], id.as_str());
}

async fn monitoring_is_started_for_each_imported_client(app: TestApp) {
    let w = World::new(app).await;
    let answer = w
        .import(
            vec![
                w.row("M-1", "Ana", Some("IND-1001")),
                w.row("M-2", "Bo", Some("IND-1002")),
                w.row("M-3", "Cara", None),
            ],
            true,
        )
        .await;
    let rows = results(&answer);
    assert_eq!(rows[0]["monitoring"]["status"], "started");
    assert_eq!(rows[1]["monitoring"]["status"], "started");
    assert_eq!(rows[2]["outcome"], "created");
    assert_eq!(rows[2]["monitoring"]["status"], "not_started");
    assert!(
        rows[2]["monitoring"]["reason"]
            .as_str()
            .unwrap()
            .contains("bureau_subject_id")
    );
    for (row, subject) in [(&rows[0], "IND-1001"), (&rows[1], "IND-1002")] {
        let monitor = w
            .app
            .get(&format!(
                "/v1/clients/{}/monitoring",
                row["client_id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(monitor.status, 200, "{}", monitor.body);
        assert_eq!(monitor.body["subject"], subject);
        assert_eq!(monitor.body["reason"], "Credit risk review");
    }
    let unmonitored = w
        .app
        .get(&format!(
            "/v1/clients/{}/monitoring",
            rows[2]["client_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(unmonitored.status, 404);
    // The subject's watcher list names the client: the daily run will find it.
    let watchers =
        clientwatch::monitoring::monitors::watchers_of(&w.app.services, &["IND-1001".to_owned()])
            .await
            .unwrap();
    assert_eq!(watchers[0].watchers.len(), 1);
    assert_eq!(
        watchers[0].watchers[0].client_id,
        rows[0]["client_id"].as_str().unwrap()
    );
    // Once the third has a subject, importing it again starts its monitor.
    let fixed = w
        .import(vec![w.row("M-3", "Cara", Some("IND-1003"))], true)
        .await;
    let row = &results(&fixed)[0];
    assert_eq!(row["outcome"], "updated");
    assert_eq!(row["monitoring"]["status"], "started");
}

async fn replaying_an_import_changes_nothing(app: TestApp) {
    let w = World::new(app).await;
    let rows: Vec<Value> = (1..=30)
        .map(|i| w.row(&format!("R-{i}"), "Ana", Some(&format!("IND-R{i}"))))
        .collect();
    let first = w.import(rows.clone(), true).await;
    assert_eq!(first.body["created"], 30, "{}", first.body);
    let before = w.clients().await;
    let replay = w.import(rows, true).await;
    assert_eq!(replay.body["unchanged"], 30, "{}", replay.body);
    assert_eq!(replay.body["created"], 0);
    let replayed = results(&replay);
    for (a, b) in results(&first).iter().zip(&replayed) {
        assert_eq!(a["client_id"], b["client_id"]);
        assert_eq!(b["monitoring"]["status"], "monitored");
    }
    let after = w.clients().await;
    assert_eq!(before, after, "versions and times unchanged");
    let watchers =
        clientwatch::monitoring::monitors::watchers_of(&w.app.services, &["IND-R1".to_owned()])
            .await
            .unwrap();
    assert_eq!(watchers[0].watchers.len(), 1);
}

async fn two_imports_racing_on_one_reference_make_one_client(app: TestApp) {
    let w = World::new(app).await;
    let rows: Vec<Value> = (1..=20)
        .map(|i| w.row(&format!("X-{i}"), "Ana", Some(&format!("IND-X{i}"))))
        .collect();
    let (a, b) = tokio::join!(w.import(rows.clone(), true), w.import(rows, true));
    let (a, b) = (results(&a), results(&b));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x["client_id"], y["client_id"], "{x} {y}");
        let outcomes = BTreeSet::from([
            x["outcome"].as_str().unwrap(),
            y["outcome"].as_str().unwrap(),
        ]);
        assert!(
            outcomes == BTreeSet::from(["created", "unchanged"]),
            "{x} {y}"
        );
    }
    let stored = w.clients().await;
    assert_eq!(stored.len(), 20);
    let watchers =
        clientwatch::monitoring::monitors::watchers_of(&w.app.services, &["IND-X7".to_owned()])
            .await
            .unwrap();
    assert_eq!(watchers[0].watchers.len(), 1);
}

async fn another_tenants_references_never_meet(app: TestApp) {
    let w = World::new(app).await;
    let mine = w.import(vec![w.row("T-1", "Ana", None)], false).await;
    let mine = results(&mine)[0]["client_id"].as_str().unwrap().to_owned();
    let other_key = w.app.other_tenant().await;
    let other_type = w
        .app
        .call(
            Method::POST,
            "/v1/client-types",
            Some(&other_key),
            Some(json!({"name": "Borrower", "class": "individual"})),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut row = w.row("T-1", "Other", None);
    row["client_type_id"] = json!(other_type);
    let theirs = w.import_as(&other_key, vec![row], false).await;
    let theirs = &results(&theirs)[0];
    assert_eq!(theirs["outcome"], "created");
    assert_ne!(theirs["client_id"], mine.as_str());
    // A row naming my type from the other tenant finds no such type.
    let mine_type = w
        .import_as(&other_key, vec![w.row("T-2", "Bo", None)], false)
        .await;
    assert_eq!(
        outcome(&results(&mine_type)[0]),
        ("rejected", "client_type_id")
    );
    let stored = w.clients().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored["T-1"]["identity"]["first_name"], "Ana");
}

async fn too_many_rows_point_to_the_asynchronous_import(app: TestApp) {
    let w = World::new(app).await;
    let rows: Vec<Value> = (0..=clientwatch::flows::client_import::MAX_SYNC_ROWS)
        .map(|i| json!({"external_ref": format!("Z-{i}")}))
        .collect();
    let answer = w.import(rows, false).await;
    let body = answer.problem(422, "validation");
    assert!(body.to_string().contains("/v1/imports"), "{body}");
    assert!(w.clients().await.is_empty());
}

/// A CSV file of `n` people with subjects, references `{prefix}{i}`; every `bad_every`th row
/// has a date that does not exist.
fn portfolio(person_type: &str, prefix: &str, n: usize, bad_every: usize) -> String {
    let mut csv = String::from(
        "external_ref,client_type_id,kind,first_name,last_name,date_of_birth,bureau_subject_id\n",
    );
    for i in 1..=n {
        let dob = if i % bad_every == 0 {
            "1980-02-31"
        } else {
            "1980-02-03"
        };
        csv.push_str(&format!(
            "{prefix}{i},{person_type},individual,Person{i},Smith,{dob},IND-{prefix}{i}\n"
        ));
    }
    csv
}

async fn upload(app: &TestApp, url: &str, bytes: Vec<u8>) -> Answer {
    let request = Request::builder()
        .method(Method::PUT)
        .uri(url)
        .header("authorization", format!("Bearer {}", app.admin_key))
        .header("content-type", "text/csv")
        .body(Body::from(bytes))
        .unwrap();
    app.send(request).await
}

async fn finished(app: &TestApp, id: &str) -> Value {
    for _ in 0..1200 {
        let import = app.get(&format!("/v1/imports/{id}")).await;
        assert_eq!(import.status, 200, "{}", import.body);
        if import.body["status"] == "completed" || import.body["status"] == "failed" {
            return import.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the import did not finish within a minute");
}

async fn an_asynchronous_import_runs_a_whole_file(app: TestApp) {
    let w = World::new(app).await;
    let created = w.app.post("/v1/imports", json!({"monitor": true})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["status"], "awaiting_upload");
    let id = created.body["id"].as_str().unwrap().to_owned();
    let url = created.body["upload"]["url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("/v1/imports/{id}/file"));
    let early = w.app.get(&format!("/v1/imports/{id}/results")).await;
    early.problem(409, "conflict");

    let n = 1_200; // three chunks
    let uploaded = upload(
        &w.app,
        &url,
        portfolio(&w.person_type, "P-", n, 100).into_bytes(),
    )
    .await;
    assert_eq!(uploaded.status, 202, "{}", uploaded.body);
    let done = finished(&w.app, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["rows_done"], n);
    assert_eq!(done["rows_total"], n);
    assert_eq!(done["created"], n - 12);
    assert_eq!(done["rejected"], 12);
    assert_eq!(done["chunks_done"], 3);

    // The results: a line per row in the file's order, rejected rows with line and field.
    let request = Request::builder()
        .method(Method::GET)
        .uri(format!("/v1/imports/{id}/results"))
        .header("authorization", format!("Bearer {}", w.app.admin_key))
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(
        clientwatch_tests::api::router_with_files(w.app.services.clone(), w.app.files.clone()),
        request,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let lines: Vec<Value> = String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), n);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["line"], i + 2, "the header is line 1");
        if (i + 1) % 100 == 0 {
            assert_eq!(outcome(line), ("rejected", "date_of_birth"), "{line}");
        } else {
            assert_eq!(line["outcome"], "created", "{line}");
            assert_eq!(line["monitoring"]["status"], "started", "{line}");
        }
    }
    let stored = w.clients().await;
    assert_eq!(stored.len(), n - 12);
    // The event that ends it.
    let events: Vec<_> = w
        .app
        .events
        .recorded()
        .into_iter()
        .filter(|e| e.detail_type == "ImportCompleted")
        .collect();
    assert_eq!(events.len(), 1);
    let detail = &events[0].detail;
    assert_eq!(detail["import_id"], id.as_str());
    assert_eq!(detail["status"], "completed");
    assert_eq!(detail["created"], n - 12);
    assert_eq!(detail["rejected"], 12);
    assert!(detail["event_id"].as_str().is_some());
    // A second file for a finished import is refused.
    let again = upload(&w.app, &url, b"external_ref\nA-1\n".to_vec()).await;
    again.problem(409, "conflict");
}

async fn a_file_that_is_neither_csv_nor_ndjson_fails_the_import(app: TestApp) {
    let w = World::new(app).await;
    for (file, why) in [
        (vec![0x89, b'P', b'N', b'G', 0xff, 0xfe, 0x00], "not UTF-8"),
        (
            b"<html><body>clients</body></html>\n".to_vec(),
            "neither NDJSON",
        ),
    ] {
        let created = w.app.post("/v1/imports", json!({})).await;
        let id = created.body["id"].as_str().unwrap().to_owned();
        let url = created.body["upload"]["url"].as_str().unwrap().to_owned();
        assert_eq!(upload(&w.app, &url, file).await.status, 202);
        let done = finished(&w.app, &id).await;
        assert_eq!(done["status"], "failed", "{done}");
        assert!(done["failure"].as_str().unwrap().contains(why), "{done}");
    }
    // NDJSON works, a bad line among good ones rejected with its line.
    let created = w.app.post("/v1/imports", json!({})).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let url = created.body["upload"]["url"].as_str().unwrap().to_owned();
    let file = format!(
        "{}\n{{not json\n{}\n",
        w.row("N-1", "Ana", None),
        w.row("N-2", "Bo", None)
    );
    assert_eq!(upload(&w.app, &url, file.into_bytes()).await.status, 202);
    let done = finished(&w.app, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["created"], 2);
    assert_eq!(done["rejected"], 1);
    let events = w.app.events.recorded();
    let failed = events
        .iter()
        .filter(|e| e.detail_type == "ImportCompleted" && e.detail["status"] == "failed")
        .count();
    assert_eq!(failed, 2);
}

async fn an_import_killed_mid_file_resumes_without_duplicates(app: TestApp) {
    let w = World::new(app).await;
    let (n, chunk, bad_every) = (50, 20, 10); // three chunks, the last short; 5 bad rows
    let good = (n - n / bad_every) as u64;
    // One import of the file, its references prefixed, run under `death` and then again
    // unharmed: what the finished import says.
    let trial = async |prefix: &str, death: Death| {
        let svc = &w.app.services;
        let import = imports::create_in_chunks(svc, &w.app.tenant_id, true, chunk)
            .await
            .unwrap();
        let file = portfolio(&w.person_type, prefix, n, bad_every);
        w.app
            .files
            .put(
                &clientwatch::keys::import_file(&w.app.tenant_id, &import.id),
                file.into_bytes(),
            )
            .await
            .unwrap();
        let faults = Faults::new(death);
        let first = imports::run(
            &faulty(svc, &faults),
            faulty_blobs(&w.app.files, &faults).as_ref(),
            &w.app.tenant_id,
            &import.id,
        )
        .await;
        if death != Death::Never {
            assert!(faults.died(), "{death:?}: {first:?}");
            let again = imports::run(svc, w.app.files.as_ref(), &w.app.tenant_id, &import.id)
                .await
                .unwrap();
            assert!(matches!(again, Ran::Finished(_)), "{death:?}: {again:?}");
        }
        let import = imports::get(svc, &w.app.tenant_id, &import.id)
            .await
            .unwrap();
        let results = imports::results(svc, w.app.files.as_ref(), &w.app.tenant_id, &import.id)
            .await
            .unwrap();
        (import, results, faults.trace().len())
    };
    let (clean, clean_results, steps) = trial("Q-", Death::Never).await;
    assert_eq!(clean.counts.created, good);
    assert!(steps >= 8, "{steps} steps");
    let mut runs = 1;
    for k in 1..=steps {
        for death in [Death::Before(k), Death::After(k)] {
            let prefix = format!("K{runs}-");
            let (import, results, _) = trial(&prefix, death).await;
            runs += 1;
            assert_eq!(import.rows_done, n as u64, "{death:?}");
            assert_eq!(import.counts.created, good, "{death:?}: {import:?}");
            assert_eq!(import.counts.rejected, (n as u64) - good, "{death:?}");
            // The same results as the clean run, but for the references.
            let results = String::from_utf8(results).unwrap().replace(&prefix, "Q-");
            let same = |text: &str| -> Vec<(u64, String)> {
                text.lines()
                    .map(|l| serde_json::from_str::<Value>(l).unwrap())
                    .map(|v| (v["line"].as_u64().unwrap(), v["outcome"].to_string()))
                    .collect()
            };
            assert_eq!(
                same(&results),
                same(std::str::from_utf8(&clean_results).unwrap()),
                "{death:?}"
            );
        }
    }
    // One client per reference over every run (`clients` fails on a reference twice), and
    // each subject watched once.
    let stored = w.clients().await;
    assert_eq!(stored.len() as u64, runs * good);
    let subjects: Vec<String> = stored
        .values()
        .map(|c| c["bureau_subject_id"].as_str().unwrap().to_owned())
        .collect();
    let lists = clientwatch::monitoring::monitors::watchers_of(&w.app.services, &subjects)
        .await
        .unwrap();
    assert!(lists.iter().all(|l| l.watchers.len() == 1));
}

/// What importing costs on the table, printed for the README: requests (one batch get counted
/// as one request per 100 keys, as DynamoDB takes them) and write units per new monitored
/// client, for a synchronous call of `MAX_SYNC_ROWS` rows and for a 1,000-row asynchronous
/// import; and a budget that fails the test when a change makes a client cost more.
async fn an_imported_client_costs_about_one_request(mut app: TestApp) {
    use clientwatch_tests::counting::Counting;
    let counting = std::sync::Arc::new(Counting::new(app.services.table.clone()));
    app.services.table = counting.clone();
    let w = World::new(app).await;
    counting.take();
    counting.take_write_units();
    let requests = |calls: std::collections::BTreeMap<&str, u64>, keys: u64| -> u64 {
        let batch_gets = calls.get("BatchGetItem").copied().unwrap_or(0);
        calls.values().sum::<u64>() - batch_gets + batch_gets.max(keys.div_ceil(100))
    };

    let n = clientwatch::flows::client_import::MAX_SYNC_ROWS;
    let rows: Vec<Value> = (1..=n)
        .map(|i| w.row(&format!("S-{i}"), "Ana", Some(&format!("IND-S{i}"))))
        .collect();
    let sync = w.import(rows, true).await;
    assert_eq!(sync.body["created"], n, "{}", sync.body);
    let (calls, keys) = counting.take();
    let units = counting.take_write_units();
    let sync_requests = requests(calls.clone(), keys);
    println!(
        "synchronous import of {n} monitored clients: {sync_requests} requests ({:.2} a client), \
         {units} write units ({:.1} a client); {calls:?}",
        sync_requests as f64 / n as f64,
        units as f64 / n as f64
    );

    let m = 1_000;
    let import = imports::create(&w.app.services, &w.app.tenant_id, true)
        .await
        .unwrap();
    w.app
        .files
        .put(
            &clientwatch::keys::import_file(&w.app.tenant_id, &import.id),
            portfolio(&w.person_type, "A-", m, usize::MAX).into_bytes(),
        )
        .await
        .unwrap();
    counting.take();
    counting.take_write_units();
    let ran = imports::run(
        &w.app.services,
        w.app.files.as_ref(),
        &w.app.tenant_id,
        &import.id,
    )
    .await
    .unwrap();
    let Ran::Finished(done) = ran else {
        panic!("{ran:?}")
    };
    assert_eq!(done.counts.created, m as u64);
    let (calls, keys) = counting.take();
    let units = counting.take_write_units();
    let async_requests = requests(calls.clone(), keys);
    println!(
        "asynchronous import of {m} monitored clients: {async_requests} requests ({:.2} a \
         client), {units} write units ({:.1} a client); {calls:?}",
        async_requests as f64 / m as f64,
        units as f64 / m as f64
    );
    // One transaction a new client, plus the batch reads and a chunk's checkpoint.
    assert!(sync_requests as f64 / n as f64 <= 1.2, "{sync_requests}");
    assert!(async_requests as f64 / m as f64 <= 1.2, "{async_requests}");
}

over_both_stores!(
    bad_json_rows_are_rejected_with_field_and_reason_and_the_rest_imported,
    bad_csv_rows_are_rejected_with_their_line_and_column,
    rows_upsert_by_external_reference,
    monitoring_is_started_for_each_imported_client,
    replaying_an_import_changes_nothing,
    two_imports_racing_on_one_reference_make_one_client,
    another_tenants_references_never_meet,
    too_many_rows_point_to_the_asynchronous_import,
    an_asynchronous_import_runs_a_whole_file,
    a_file_that_is_neither_csv_nor_ndjson_fails_the_import,
    an_import_killed_mid_file_resumes_without_duplicates,
    an_imported_client_costs_about_one_request,
);
