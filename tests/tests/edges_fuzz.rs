//! Property: whatever string a caller puts where an id goes (NUL, control characters, 100 KB,
//! any script, `#` and `/`), in a path or as a reference in a body, the API answers 4xx or 2xx,
//! never 5xx. Over the embedded store (the rules are the same for both; the edge refuses before
//! the store is reached).

use clientwatch_tests::Store;
use clientwatch_tests::api::TestApp;
use proptest::prelude::*;
use serde_json::json;

/// Every byte but the unreserved ones percent-encoded, so any string makes a valid path.
fn encoded(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn awkward_strings() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\x00-\\x1f#/ ]{0,8}",
        "[a-z0-9]{120,140}",
        Just("x".repeat(100_000)),
        Just("\u{202E}abc".to_owned()),
        Just(String::new()),
    ]
}

#[test]
fn arbitrary_ids_in_paths_and_bodies_never_give_a_server_error() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (app, client) = runtime.block_on(async {
        let app = TestApp::new(Store::Embedded).await;
        let kind = app
            .post(
                "/v1/client-types",
                json!({"name": "Borrowers", "class": "individual"}),
            )
            .await;
        let made = app
            .post(
                "/v1/clients",
                json!({"client_type_id": kind.body["id"], "identity": {"kind": "individual", "first_name": "A", "last_name": "B"}}),
            )
            .await;
        let client = made.body["id"].as_str().unwrap().to_owned();
        (app, client)
    });
    let config = ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(id in awkward_strings())| {
        // A URI longer than 8 KB cannot be sent at all (API Gateway and HTTP libraries refuse
        // it first); such ids are tried in bodies only, and a 8,000-character prefix in paths.
        let id_in_path: String = encoded(&id).chars().take(8000).collect();
        let id_in_path = match id_in_path.rfind('%') {
            Some(at) if id_in_path.len() - at < 3 => id_in_path[..at].to_owned(),
            _ => id_in_path,
        };
        runtime.block_on(async {
            let answers = vec![
                app.get(&format!("/v1/clients/{id_in_path}")).await,
                app.get(&format!("/v1/clients/{client}/contacts/{id_in_path}")).await,
                app.delete(&format!("/v1/contact-roles/{id_in_path}")).await,
                app.post(&format!("/v1/clients/{client}/contacts"), json!({"name": "N", "role_id": id})).await,
                app.post(&format!("/v1/clients/{client}/opportunities"),
                    json!({"name": "L", "parties": [{"contact_id": id, "role": "applicant"}], "questionnaire_ids": [id]})).await,
                app.post("/v1/portfolios", json!({"name": "P", "workflow_id": id})).await,
                app.post("/v1/invoices/import", json!({"invoices": [
                    {"client_id": id, "number": id, "issue_date": "2026-01-05", "due_date": "2026-02-05", "amount": "1.00"},
                    {"client_id": client, "number": id, "issue_date": "2026-01-05", "due_date": "2026-02-05", "amount": "1.00"}]})).await,
                app.post("/v1/sync/contacts", json!({"source": "netsuite", "records": [
                    {"external_id": id, "client_id": client, "name": "N"},
                    {"external_id": "E-1", "client_id": id, "name": id}]})).await,
                app.post("/v1/monitoring/bulk", json!({"action": "stop", "client_ids": [id]})).await,
            ];
            for answer in answers {
                assert!(
                    !answer.status.is_server_error(),
                    "{id:?}: {} {}",
                    answer.status,
                    answer.body
                );
            }
        });
    });
}
