//! Signed webhooks end to end through the real `clientwatch-local serve`: a partner registers
//! a receiver on 127.0.0.1 over HTTP, uploads a client import (whose end publishes
//! `ImportCompleted` through the outbox), and the server's own sender loop POSTs it; the
//! reference `standardwebhooks` library from PyPI (in `.venv-aws`) verifies the request.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_clientwatch-local"))
            .args(["serve", "--addr", "127.0.0.1:0", "--data"])
            .arg(data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("clientwatch-local starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut base = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("a line");
            if let Some(api) = line.trim().strip_prefix("API:") {
                base = api.trim().split("/v1").next().map(str::to_owned);
            }
            if line.starts_with("stop with") {
                break;
            }
        }
        Self {
            child,
            base: base.expect("the server says where the API is"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Got = Arc<Mutex<Vec<(Vec<(String, String)>, String)>>>;

async fn receiver() -> (Got, String) {
    let got: Got = Arc::default();
    let kept = got.clone();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap, body: String| {
        let kept = kept.clone();
        async move {
            let headers = headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
                .collect();
            kept.lock().unwrap().push((headers, body));
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (got, url)
}

fn library_verifies(secret: &str, headers: &[(String, String)], body: &str) -> bool {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv-aws/bin/python");
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(n, v)| (n.clone(), Value::from(v.clone())))
        .collect();
    let input = json!({"secret": secret, "body": body, "headers": headers});
    let mut child = Command::new(python)
        .args([
            "-c",
            "import json,sys\nfrom standardwebhooks.webhooks import Webhook\n\
             g=json.load(sys.stdin)\nWebhook(g['secret']).verify(g['body'], g['headers'])",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .expect(
            "the .venv-aws python runs (infra/emulator.sh install puts standardwebhooks there)",
        );
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    child.wait().unwrap().success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_completed_event_reaches_a_local_receiver_signed() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let key = std::fs::read_to_string(data.path().join("demo-api-key"))
        .unwrap()
        .trim()
        .to_owned();
    let (got, url) = receiver().await;
    let http = reqwest::Client::new();
    let api = |path: &str| format!("{}{path}", server.base);

    let created: Value = http
        .post(api("/v1/webhooks"))
        .bearer_auth(&key)
        .json(&json!({"url": url, "event_types": ["ImportCompleted"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = created["secret"].as_str().expect("a secret").to_owned();
    let endpoint = created["id"].as_str().unwrap().to_owned();

    let import: Value = http
        .post(api("/v1/imports"))
        .bearer_auth(&key)
        .json(&json!({"monitor": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let upload = http
        .put(api(import["upload"]["url"].as_str().unwrap()))
        .bearer_auth(&key)
        .header("content-type", "text/csv")
        .body("external_ref,kind,name\nR-1,company,Kauri Holdings\n")
        .send()
        .await
        .unwrap();
    assert!(upload.status().is_success(), "{}", upload.status());

    // The server's sender runs every 2 s.
    for _ in 0..100 {
        if !got.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one delivery");
    let (headers, body) = &got[0];
    assert!(
        library_verifies(&secret, headers, body),
        "{headers:?} {body}"
    );
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["type"], "ImportCompleted");
    assert_eq!(body["data"]["import_id"], import["id"]);

    // The outcome is recorded right after the receiver answered.
    let mut log = Value::Null;
    for _ in 0..50 {
        log = http
            .get(api(&format!("/v1/webhooks/{endpoint}/deliveries")))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if log["items"][0]["status"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log["items"][0]["status"], "delivered", "{log:#}");
    assert_eq!(
        log["items"][0]["id"],
        got[0].0.iter().find(|(n, _)| n == "webhook-id").unwrap().1
    );
}
