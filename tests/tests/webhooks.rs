//! Signed webhooks end to end, over both stores: a partner registers an endpoint through the
//! API (a receiver this test serves on 127.0.0.1, allowed as the local mode allows it), events
//! are published through the fan-out as every function publishes them, and the sender posts
//! them over real HTTP. Each request the receiver gets is verified by the reference
//! `standardwebhooks` library from PyPI (run in `.venv-aws`), not by our own code.
//!
//! Scenarios: a signed delivery verified by the library; a 500 retried with back-off and
//! delivered once; a 410 disabling the endpoint (its later events withheld, sent by a replay
//! once it is enabled again); an endpoint failing for three days disabled and the tenant's
//! alert recipients told; replay from a time and of one message with the same `webhook-id`;
//! rotation signing with both secrets during the overlap; an event published twice delivered
//! once; tenant isolation; hostile input refused naming the field; a kill at every write and
//! call of the fan-out and the sender (nothing lost, at most one repeat with the same id); two
//! senders at once.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::Duration;
use clientwatch::Services;
use clientwatch::adapters::http::HttpWebhooks;
use clientwatch::domain::webhooks::UrlPolicy;
use clientwatch::ports::DomainEvent;
use clientwatch::webhooks::send::{self, Report};
use clientwatch_tests::api::{Answer, TestApp, router_with_files};
use clientwatch_tests::over_both_stores;
use serde_json::{Value, json};
use tower::ServiceExt;

over_both_stores!(
    a_delivery_is_signed_and_the_reference_library_verifies_it,
    a_500_is_retried_with_back_off_and_delivered_once,
    a_410_disables_the_endpoint_and_a_replay_after_enabling_sends_what_it_missed,
    an_endpoint_failing_for_three_days_is_disabled_and_the_tenant_told,
    a_replay_from_a_time_or_of_one_message_keeps_the_webhook_id,
    a_rotation_signs_with_both_secrets_during_the_overlap,
    an_event_published_twice_is_delivered_once,
    another_tenants_endpoints_and_events_stay_apart,
    hostile_input_is_refused_naming_the_field,
    a_kill_at_any_step_of_fan_out_or_sending_loses_no_delivery,
    two_senders_at_once_post_a_delivery_once,
    an_outbox_event_the_bus_refused_is_delivered_once_across_the_flush,
    events_published_together_leave_the_outbox_empty_or_wait_in_it_whole,
    a_tenant_has_at_most_twenty_endpoints_also_under_concurrency,
    a_monitoring_days_hits_reach_the_endpoint_signed_once_each,
);

// ---- the receiver ------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Received {
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }
}

/// An HTTP server on 127.0.0.1 that records every request and answers the scripted statuses in
/// turn (200 once the script is used up).
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    always: Arc<Mutex<Option<u16>>>,
}

impl Receiver {
    async fn start() -> (Self, SocketAddr) {
        let receiver = Self::default();
        let state = receiver.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: String| {
            let state = state.clone();
            async move {
                state.got.lock().unwrap().push(Received {
                    headers: headers
                        .iter()
                        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
                        .collect(),
                    body,
                });
                let status = state
                    .script
                    .lock()
                    .unwrap()
                    .pop_front()
                    .or(*state.always.lock().unwrap())
                    .unwrap_or(200);
                (
                    StatusCode::from_u16(status).unwrap(),
                    "the receiver's answer",
                )
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, addr)
    }

    fn answer(&self, statuses: &[u16]) {
        self.script.lock().unwrap().extend(statuses);
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// Whether the reference library (`standardwebhooks` from PyPI) accepts `received` under
/// `secret`.
fn library_verifies(secret: &str, received: &Received) -> bool {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv-aws/bin/python");
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
given = json.load(sys.stdin)
try:
    Webhook(given["secret"]).verify(given["body"], given["headers"])
except Exception as e:
    print(type(e).__name__, e)
    sys.exit(1)
"#;
    let headers: serde_json::Map<String, Value> = received
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), Value::from(v.clone())))
        .collect();
    let input = json!({"secret": secret, "body": received.body, "headers": headers});
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
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

// ---- the world ---------------------------------------------------------------------------------

/// The test app, its services with the fan-out, and a receiver.
struct World {
    app: TestApp,
    svc: Services,
    receiver: Receiver,
    url: String,
}

impl World {
    async fn new(app: TestApp) -> Self {
        let (receiver, addr) = Receiver::start().await;
        let svc = clientwatch::webhooks::with_fanout(app.services.clone());
        Self {
            app,
            svc,
            receiver,
            url: format!("http://{addr}/hooks"),
        }
    }

    /// A request to the API as the local server serves it (http://localhost endpoints allowed).
    async fn call(&self, method: Method, path: &str, key: &str, body: Option<Value>) -> Answer {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("authorization", format!("Bearer {key}"));
        let body = match body {
            Some(json) => {
                let kind = if method == Method::PATCH {
                    "application/merge-patch+json"
                } else {
                    "application/json"
                };
                request = request.header("content-type", kind);
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        send(
            router_with_files(self.app.services.clone(), self.app.files.clone())
                .layer(axum::Extension(UrlPolicy::Local)),
            request.body(body).unwrap(),
        )
        .await
    }

    async fn patch(&self, path: &str, version: &Value, body: Value) -> Answer {
        let request = Request::builder()
            .method(Method::PATCH)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.app.admin_key))
            .header("content-type", "application/merge-patch+json")
            .header("if-match", format!("\"{version}\""))
            .body(Body::from(body.to_string()))
            .unwrap();
        send(
            router_with_files(self.app.services.clone(), self.app.files.clone())
                .layer(axum::Extension(UrlPolicy::Local)),
            request,
        )
        .await
    }

    /// Registers the receiver for `types`; returns the endpoint's id and secret.
    async fn endpoint(&self, types: &[&str]) -> (String, String) {
        let created = self
            .call(
                Method::POST,
                "/v1/webhooks",
                &self.app.admin_key,
                Some(json!({"url": self.url, "event_types": types, "description": "our receiver"})),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
        let secret = created.body["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"));
        (created.body["id"].as_str().unwrap().to_owned(), secret)
    }

    /// Publishes an `InvoiceDisputed` of `tenant` as the outbox does.
    async fn dispute(&self, tenant: &str, event_id: &str) -> DomainEvent {
        let event = DomainEvent::new(
            "InvoiceDisputed",
            json!({"event_id": event_id, "tenant_id": tenant, "client_id": "c1",
                   "invoice_id": "i1", "reason": "Wrong amount"}),
            self.svc.clock.now(),
        );
        self.svc
            .events
            .publish(std::slice::from_ref(&event))
            .await
            .unwrap();
        event
    }

    async fn send_due(&self) -> Report {
        send::run_due(&self.svc, &HttpWebhooks::new(UrlPolicy::Local), 100)
            .await
            .unwrap()
    }

    async fn deliveries(&self, id: &str) -> Vec<Value> {
        let log = self
            .call(
                Method::GET,
                &format!("/v1/webhooks/{id}/deliveries"),
                &self.app.admin_key,
                None,
            )
            .await;
        assert_eq!(log.status, StatusCode::OK, "{:#}", log.body);
        log.body["items"].as_array().unwrap().clone()
    }

    async fn replay(&self, id: &str, body: Value) -> Answer {
        self.call(
            Method::POST,
            &format!("/v1/webhooks/{id}/replay"),
            &self.app.admin_key,
            Some(body),
        )
        .await
    }
}

async fn send(router: axum::Router, request: Request<Body>) -> Answer {
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    Answer {
        status,
        headers,
        body,
    }
}

// ---- the scenarios -----------------------------------------------------------------------------

async fn a_delivery_is_signed_and_the_reference_library_verifies_it(app: TestApp) {
    let w = World::new(app).await;
    let (id, secret) = w.endpoint(&["InvoiceDisputed"]).await;
    let shown = w.app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(shown.body["enabled"], true);
    assert!(
        shown.body.get("secret").is_none(),
        "the secret is shown once"
    );

    w.dispute(&w.app.tenant_id, "ev-1").await;
    let report = w.send_due().await;
    assert_eq!(report.delivered, 1, "{report:?}");

    let got = w.receiver.got();
    assert_eq!(got.len(), 1);
    assert!(library_verifies(&secret, &got[0]), "{:?}", got[0]);
    assert!(
        !library_verifies("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &got[0]),
        "another secret does not verify"
    );
    assert!(got[0].header("webhook-id").starts_with("msg_"));
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["type"], "InvoiceDisputed");
    assert_eq!(body["data"]["event_id"], "ev-1");
    assert_eq!(body["data"]["tenant_id"], w.app.tenant_id);

    let log = w.deliveries(&id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["id"], got[0].header("webhook-id"));
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["attempts"][0]["status_code"], 200);
    assert_eq!(
        log[0]["attempts"][0]["response_excerpt"],
        "the receiver's answer"
    );
    assert!(log[0]["attempts"][0]["latency_ms"].is_u64());
    assert!(log[0]["next_attempt_at"].is_null());

    // An event type it did not ask for is not sent.
    let other = DomainEvent::new(
        "InviteExpired",
        json!({"tenant_id": w.app.tenant_id, "invite_id": "inv1"}),
        w.svc.clock.now(),
    );
    w.svc.events.publish(&[other]).await.unwrap();
    assert_eq!(w.send_due().await, Report::default());
    // The event also went on to the bus.
    assert_eq!(w.app.events.recorded().len(), 2);
}

async fn a_500_is_retried_with_back_off_and_delivered_once(app: TestApp) {
    let w = World::new(app).await;
    let (id, secret) = w.endpoint(&["InvoiceDisputed"]).await;
    w.receiver.answer(&[500, 503]);
    w.dispute(&w.app.tenant_id, "ev-1").await;

    assert_eq!(w.send_due().await.retrying, 1);
    let log = w.deliveries(&id).await;
    assert_eq!(log[0]["status"], "pending");
    let next: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(log[0]["next_attempt_at"].clone()).unwrap();
    let wait = next - w.svc.clock.now();
    assert!(
        wait >= Duration::seconds(24) && wait <= Duration::seconds(36),
        "{wait}"
    );
    // Not due yet: nothing is sent.
    assert_eq!(w.send_due().await, Report::default());

    w.app.harness.clock.advance(Duration::seconds(40));
    assert_eq!(w.send_due().await.retrying, 1);
    let log = w.deliveries(&id).await;
    let next: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(log[0]["next_attempt_at"].clone()).unwrap();
    let wait = next - w.svc.clock.now();
    assert!(
        wait >= Duration::seconds(48) && wait <= Duration::seconds(72),
        "the second wait doubles: {wait}"
    );

    w.app.harness.clock.advance(Duration::seconds(80));
    assert_eq!(w.send_due().await.delivered, 1);
    assert_eq!(w.send_due().await, Report::default());

    let got = w.receiver.got();
    assert_eq!(got.len(), 3);
    let ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "one webhook-id: {ids:?}");
    assert!(library_verifies(&secret, &got[2]));
    let log = w.deliveries(&id).await;
    assert_eq!(log[0]["status"], "delivered");
    let codes: Vec<&Value> = log[0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status_code"])
        .collect();
    assert_eq!(codes, [&json!(500), &json!(503), &json!(200)]);
}

async fn a_410_disables_the_endpoint_and_a_replay_after_enabling_sends_what_it_missed(
    app: TestApp,
) {
    let w = World::new(app).await;
    let (id, _) = w.endpoint(&["InvoiceDisputed"]).await;
    w.receiver.answer(&[410]);
    w.dispute(&w.app.tenant_id, "ev-1").await;
    let report = w.send_due().await;
    assert_eq!((report.failed, report.disabled), (1, 1), "{report:?}");

    let shown = w.app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(shown.body["enabled"], false);
    assert!(
        shown.body["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410")
    );
    // Events while it is disabled are kept, not sent.
    w.app.harness.clock.advance(Duration::seconds(1));
    w.dispute(&w.app.tenant_id, "ev-2").await;
    assert_eq!(w.send_due().await, Report::default());
    let log = w.deliveries(&id).await;
    assert_eq!(log[0]["status"], "withheld");
    assert_eq!(log[1]["status"], "failed");
    // A replay is refused while it is disabled.
    let refused = w
        .replay(&id, json!({"since": "2000-01-01T00:00:00Z"}))
        .await;
    refused.problem(409, "conflict");

    // Enabled again, a replay from before the first event sends both.
    let enabled = w
        .patch(
            &format!("/v1/webhooks/{id}"),
            &shown.body["version"],
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(enabled.status, StatusCode::OK, "{:#}", enabled.body);
    assert!(enabled.body.get("disabled_reason").is_none());
    let since = (w.svc.clock.now() - Duration::minutes(1)).to_rfc3339();
    let replayed = w.replay(&id, json!({"since": since})).await;
    assert_eq!(replayed.status, StatusCode::ACCEPTED, "{:#}", replayed.body);
    assert_eq!(replayed.body["queued"], 2);
    assert_eq!(w.send_due().await.delivered, 2);
    assert_eq!(w.receiver.got().len(), 3);
}

async fn an_endpoint_failing_for_three_days_is_disabled_and_the_tenant_told(app: TestApp) {
    let w = World::new(app).await;
    let tenant = w.app.get("/v1/tenant").await;
    let patched = w
        .app
        .patch(
            "/v1/tenant",
            &format!("\"{}\"", tenant.body["version"]),
            json!({"alert_recipients": ["ops@acme.test"]}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:#}", patched.body);
    let (id, _) = w.endpoint(&["InvoiceDisputed"]).await;
    *w.receiver.always.lock().unwrap() = Some(500);
    w.dispute(&w.app.tenant_id, "ev-1").await;

    let mut total = Report::default();
    for _ in 0..40 {
        let r = w.send_due().await;
        total.retrying += r.retrying;
        total.failed += r.failed;
        total.disabled += r.disabled;
        if r.disabled > 0 {
            break;
        }
        // A new event every twelve hours, so the endpoint keeps failing fresh deliveries too.
        w.app.harness.clock.advance(Duration::hours(6));
    }
    assert_eq!(total.disabled, 1, "{total:?}");
    let shown = w.app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(shown.body["enabled"], false);
    assert!(
        shown.body["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("failed since")
    );
    let attempts = w.receiver.got().len();
    assert!((8..=20).contains(&attempts), "{attempts} attempts");

    let mail = w.app.harness.dir.path().join("outbox").join("mail");
    let texts: Vec<String> = std::fs::read_dir(&mail)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|t| t.contains("Webhook endpoint disabled"))
        .collect();
    assert_eq!(texts.len(), 1, "one notice");
    assert!(texts[0].contains("ops@acme.test"));
}

async fn a_replay_from_a_time_or_of_one_message_keeps_the_webhook_id(app: TestApp) {
    let w = World::new(app).await;
    let (id, secret) = w.endpoint(&["InvoiceDisputed"]).await;
    let before = w.svc.clock.now() - Duration::seconds(1);
    w.dispute(&w.app.tenant_id, "ev-1").await;
    w.app.harness.clock.advance(Duration::seconds(5));
    w.dispute(&w.app.tenant_id, "ev-2").await;
    assert_eq!(w.send_due().await.delivered, 2);
    let first: Vec<String> = w
        .receiver
        .got()
        .iter()
        .map(|r| r.header("webhook-id").to_owned())
        .collect();

    // One message, by its webhook-id.
    let replayed = w.replay(&id, json!({"message_id": first[0]})).await;
    assert_eq!(replayed.body["queued"], 1, "{:#}", replayed.body);
    assert_eq!(w.send_due().await.delivered, 1);
    let got = w.receiver.got();
    assert_eq!(got[2].header("webhook-id"), first[0]);
    assert_eq!(got[2].body, got[0].body, "the same body");
    assert!(library_verifies(&secret, &got[2]));

    // From a time: both again, with their ids.
    let replayed = w.replay(&id, json!({"since": before.to_rfc3339()})).await;
    assert_eq!(replayed.body["queued"], 2);
    assert_eq!(w.send_due().await.delivered, 2);
    let mut again: Vec<String> = w.receiver.got()[3..]
        .iter()
        .map(|r| r.header("webhook-id").to_owned())
        .collect();
    again.sort();
    let mut want = first.clone();
    want.sort();
    assert_eq!(again, want);
    // From after both events: nothing.
    let later = (w.svc.clock.now() + Duration::seconds(1)).to_rfc3339();
    assert_eq!(
        w.replay(&id, json!({"since": later})).await.body["queued"],
        0
    );

    // Unknown message, bad bodies.
    w.replay(&id, json!({"message_id": "msg_nope"}))
        .await
        .problem(404, "not-found");
    let both = w
        .replay(&id, json!({"message_id": "msg_x", "since": later}))
        .await;
    assert_eq!(
        both.problem(422, "validation")["errors"][0]["field"],
        "body"
    );
    let bad = w.replay(&id, json!({"since": "yesterday"})).await;
    assert_eq!(
        bad.problem(422, "validation")["errors"][0]["field"],
        "since"
    );
}

async fn a_rotation_signs_with_both_secrets_during_the_overlap(app: TestApp) {
    let w = World::new(app).await;
    let (id, old) = w.endpoint(&["InvoiceDisputed"]).await;
    let rotated = w
        .call(
            Method::POST,
            &format!("/v1/webhooks/{id}/rotate-secret"),
            &w.app.admin_key,
            None,
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{:#}", rotated.body);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("whsec_") && new != old);

    w.dispute(&w.app.tenant_id, "ev-1").await;
    w.send_due().await;
    let got = w.receiver.got();
    assert_eq!(got[0].header("webhook-signature").split(' ').count(), 2);
    assert!(library_verifies(&new, &got[0]), "the new secret verifies");
    assert!(library_verifies(&old, &got[0]), "the old one still does");

    // After the overlap only the new secret signs.
    w.app.harness.clock.advance(Duration::hours(25));
    w.dispute(&w.app.tenant_id, "ev-2").await;
    w.send_due().await;
    let got = w.receiver.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].header("webhook-signature").split(' ').count(), 1);
}

async fn an_event_published_twice_is_delivered_once(app: TestApp) {
    let w = World::new(app).await;
    let (id, _) = w.endpoint(&["InvoiceDisputed", "MonitoringHit"]).await;
    let event = w.dispute(&w.app.tenant_id, "ev-1").await;
    // Published again, as the outbox does after a kill between the bus and the row's removal.
    w.svc.events.publish(&[event]).await.unwrap();
    // A hit's event carries its stable `id` and no event_id.
    let hit = DomainEvent::new(
        "MonitoringHit",
        json!({"id": "hit-1", "tenant_id": w.app.tenant_id, "kind": "default"}),
        w.svc.clock.now(),
    );
    w.svc
        .events
        .publish(std::slice::from_ref(&hit))
        .await
        .unwrap();
    w.svc.events.publish(&[hit]).await.unwrap();
    assert_eq!(w.send_due().await.delivered, 2);
    assert_eq!(w.send_due().await, Report::default());
    assert_eq!(w.receiver.got().len(), 2);
    assert_eq!(w.deliveries(&id).await.len(), 2);
}

async fn another_tenants_endpoints_and_events_stay_apart(app: TestApp) {
    let w = World::new(app).await;
    let (id, _) = w.endpoint(&["InvoiceDisputed"]).await;
    let other = w.app.other_tenant().await;
    for (method, path, body) in [
        (Method::GET, format!("/v1/webhooks/{id}"), None),
        (Method::GET, format!("/v1/webhooks/{id}/deliveries"), None),
        (
            Method::POST,
            format!("/v1/webhooks/{id}/replay"),
            Some(json!({"since": "2000-01-01T00:00:00Z"})),
        ),
        (
            Method::POST,
            format!("/v1/webhooks/{id}/rotate-secret"),
            None,
        ),
    ] {
        let answer = w.call(method, &path, &other, body).await;
        answer.problem(404, "not-found");
    }
    let listed = w.call(Method::GET, "/v1/webhooks", &other, None).await;
    assert_eq!(listed.body["items"], json!([]));

    // The other tenant's event does not reach this tenant's endpoint.
    let other_tenant = clientwatch::records::tenants::authenticate(&w.app.services, &other)
        .await
        .unwrap()
        .unwrap()
        .tenant_id;
    w.dispute(&other_tenant, "ev-theirs").await;
    assert_eq!(w.send_due().await, Report::default());
    assert!(w.receiver.got().is_empty());
}

async fn hostile_input_is_refused_naming_the_field(app: TestApp) {
    let w = World::new(app).await;
    let key = w.app.admin_key.clone();
    let ok = |url: &str| json!({"url": url, "event_types": ["MonitoringHit"]});
    let cases = [
        (
            json!({"url": "http://hooks.example.com/in", "event_types": ["MonitoringHit"]}),
            "url",
        ),
        (ok("https://10.0.0.7/in"), "url"),
        (ok("https://169.254.169.254/latest"), "url"),
        (ok("https://hooks.example.com/in\u{0}"), "url"),
        (
            json!({"url": "https://hooks.example.com/", "event_types": ["Nope"]}),
            "event_types[0]",
        ),
        (
            json!({"url": "https://hooks.example.com/", "event_types": []}),
            "event_types",
        ),
        (
            json!({"url": "https://hooks.example.com/", "event_types": "MonitoringHit"}),
            "event_types",
        ),
        (json!({"url": 7, "event_types": ["MonitoringHit"]}), "url"),
        (
            json!({"url": "https://hooks.example.com/", "event_types": ["MonitoringHit"], "description": "x".repeat(100_000)}),
            "description",
        ),
        (
            json!({"url": "https://hooks.example.com/", "event_types": ["MonitoringHit"], "description": "a\u{0}b"}),
            "description",
        ),
        (
            json!({"url": "https://hooks.example.com/", "event_types": ["MonitoringHit"], "disabled_reason": "x"}),
            "disabled_reason",
        ),
        (
            json!({"url": "https://hooks.example.com/", "event_types": ["MonitoringHit"], "secret": "whsec_x"}),
            "secret",
        ),
    ];
    for (body, field) in cases {
        // Under the Lambda policy (the default router): no http, no private targets.
        let answer = w
            .app
            .call(Method::POST, "/v1/webhooks", Some(&key), Some(body.clone()))
            .await;
        let problem = answer.problem(422, "validation");
        assert_eq!(problem["errors"][0]["field"], field, "{body:#}");
    }
    // http to localhost is the local mode's only.
    let local = w
        .app
        .call(
            Method::POST,
            "/v1/webhooks",
            Some(&key),
            Some(ok("http://localhost:9/in")),
        )
        .await;
    local.problem(422, "validation");
    // A path id that is not an id.
    let bad = w.app.get("/v1/webhooks/a%00b").await;
    assert_eq!(
        bad.problem(422, "validation")["errors"][0]["field"],
        "path.id"
    );
    assert_eq!(w.app.get("/v1/webhooks").await.body["items"], json!([]));

    // A patch is held to the same rules.
    let (id, _) = w.endpoint(&["MonitoringHit"]).await;
    let shown = w.app.get(&format!("/v1/webhooks/{id}")).await;
    let bad = w
        .patch(
            &format!("/v1/webhooks/{id}"),
            &shown.body["version"],
            json!({"url": "ftp://x.example/"}),
        )
        .await;
    assert_eq!(bad.problem(422, "validation")["errors"][0]["field"], "url");
    let bad = w
        .patch(
            &format!("/v1/webhooks/{id}"),
            &shown.body["version"],
            json!({"disabled_reason": "mine"}),
        )
        .await;
    assert_eq!(
        bad.problem(422, "validation")["errors"][0]["field"],
        "disabled_reason"
    );
}

/// The fan-out and the sender die at each of their steps in turn (before it, or right after it
/// happened); the publisher publishes again (as the outbox or the digest does after a kill) and
/// a healthy sender runs after the claim's lease. Every time the receiver gets the event, under
/// one `webhook-id`, at most twice (twice only when the kill came after the post, before its
/// outcome was stored), and the log shows it delivered.
async fn a_kill_at_any_step_of_fan_out_or_sending_loses_no_delivery(app: TestApp) {
    use clientwatch::adapters::http::HttpWebhooks;
    use clientwatch_tests::faults::{Death, Faults, faulty};
    use clientwatch_tests::faulty::Faulty;

    let w = World::new(app).await;
    let mut deaths = vec![Death::Never];
    let mut n = 1;
    let mut steps = usize::MAX;
    let mut runs = 0;
    while let Some(death) = deaths.pop() {
        runs += 1;
        // A tenant of its own each time, so that only its endpoint gets its event.
        let (tenant, key) =
            clientwatch::records::tenants::bootstrap(&w.app.services, &format!("Tenant {runs}"))
                .await
                .unwrap();
        let created = w
            .call(
                Method::POST,
                "/v1/webhooks",
                &key.secret,
                Some(json!({"url": w.url, "event_types": ["InvoiceDisputed"]})),
            )
            .await;
        let endpoint = created.body["id"].as_str().unwrap().to_owned();
        let event = DomainEvent::new(
            "InvoiceDisputed",
            json!({"event_id": format!("ev-{runs}"), "tenant_id": tenant.id}),
            w.svc.clock.now(),
        );

        let faults = Faults::new(death);
        let broken = clientwatch::webhooks::with_fanout(faulty(&w.app.services, &faults));
        let client = Faulty::new(
            Arc::new(HttpWebhooks::new(UrlPolicy::Local)),
            faults.clone(),
        );
        let published = broken.events.publish(std::slice::from_ref(&event)).await;
        let sent = send::run_due(&broken, &client, 100).await;
        if death == Death::Never {
            published.unwrap();
            sent.unwrap();
            steps = faults.trace().len();
            assert!(steps >= 4, "{:?}", faults.trace());
            for k in (1..=steps).rev() {
                deaths.push(Death::Before(k));
                deaths.push(Death::After(k));
            }
        } else {
            assert!(faults.died(), "{death:?} of {steps} steps");
        }
        // The publisher publishes again; a healthy sender comes after the lease.
        w.svc.events.publish(&[event]).await.unwrap();
        w.app
            .harness
            .clock
            .advance(Duration::seconds(send::LEASE_SECONDS + 1));
        w.send_due().await;

        let got: Vec<Received> = w
            .receiver
            .got()
            .into_iter()
            .filter(|r| r.body.contains(&format!("\"ev-{runs}\"")))
            .collect();
        assert!(
            (1..=2).contains(&got.len()),
            "{death:?}: received {} times",
            got.len()
        );
        assert!(
            got.iter()
                .all(|r| r.header("webhook-id") == got[0].header("webhook-id"))
        );
        let log = w
            .call(
                Method::GET,
                &format!("/v1/webhooks/{endpoint}/deliveries"),
                &key.secret,
                None,
            )
            .await;
        let items = log.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{death:?}");
        assert_eq!(items[0]["status"], "delivered", "{death:?}: {:#}", items[0]);
        n += 1;
    }
    assert_eq!(n - 1, 1 + 2 * steps);
}

/// Two senders (two schedules, two Lambda instances) take the same due delivery at once: the
/// claim lets one post it.
async fn two_senders_at_once_post_a_delivery_once(app: TestApp) {
    let w = World::new(app).await;
    w.endpoint(&["InvoiceDisputed"]).await;
    for i in 0..5 {
        w.dispute(&w.app.tenant_id, &format!("ev-{i}")).await;
    }
    let (a, b) = tokio::join!(w.send_due(), w.send_due());
    assert_eq!(a.delivered + b.delivered, 5, "{a:?} {b:?}");
    assert_eq!(w.receiver.got().len(), 5);
    assert_eq!(w.send_due().await, Report::default());
}

/// On Lambda the schedule queues due deliveries on SQS and the workers send each message's
/// delivery: here through the emulator's SQS, queued twice (the schedule coming round before a
/// worker took them), and sent once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_queues_due_deliveries_on_sqs_and_workers_send_each_once() {
    use clientwatch::adapters::sqs::SqsQueue;
    use clientwatch::webhooks::send::DueRef;

    let w = World::new(TestApp::new(clientwatch_tests::Store::DynamoDb).await).await;
    w.endpoint(&["InvoiceDisputed"]).await;
    for i in 0..3 {
        w.dispute(&w.app.tenant_id, &format!("ev-{i}")).await;
    }
    let sqs = aws_sdk_sqs::Client::new(&clientwatch_tests::sdk_config().await);
    let url = sqs
        .create_queue()
        .queue_name(clientwatch_tests::unique("webhooks"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue = SqsQueue::new(sqs.clone(), &url);
    assert_eq!(send::enqueue_due(&w.svc, &queue, 100).await.unwrap(), 3);
    assert_eq!(send::enqueue_due(&w.svc, &queue, 100).await.unwrap(), 3);

    let client = HttpWebhooks::new(UrlPolicy::Local);
    let mut report = Report::default();
    let mut messages = 0;
    loop {
        let got = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let batch = got.messages.unwrap_or_default();
        if batch.is_empty() {
            break;
        }
        for m in batch {
            messages += 1;
            let due: DueRef = serde_json::from_str(m.body().unwrap()).unwrap();
            send::send_ref(&w.svc, &client, &due, &mut report)
                .await
                .unwrap();
            sqs.delete_message()
                .queue_url(&url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(messages, 6);
    assert_eq!(report.delivered, 3, "{report:?}");
    assert_eq!(w.receiver.got().len(), 3);
}

/// An event bus that refuses every event while it is down.
#[derive(Default)]
struct FlakyBus {
    down: std::sync::atomic::AtomicBool,
    published: Mutex<Vec<DomainEvent>>,
}

#[async_trait::async_trait]
impl clientwatch::ports::Events for FlakyBus {
    async fn publish(
        &self,
        events: &[DomainEvent],
    ) -> Result<(), clientwatch::ports::PublishError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(clientwatch::ports::PublishError {
                total: events.len(),
                failed: (0..events.len())
                    .map(|i| (i, "ServiceUnavailable".into(), "down".into()))
                    .collect(),
            });
        }
        self.published.lock().unwrap().extend_from_slice(events);
        Ok(())
    }
}

/// An event of a change goes through the outbox as every change's does: written in the
/// change's transaction, published after it. With the bus down the publish fails and the row
/// waits, but the webhook delivery was written first, so the partner gets it at once; the
/// flush that later publishes the row writes no second delivery.
async fn an_outbox_event_the_bus_refused_is_delivered_once_across_the_flush(app: TestApp) {
    use clientwatch::records::outbox;

    let w = World::new(app).await;
    let (_, secret) = w.endpoint(&["CustomerCentreUpdated"]).await;
    let bus = Arc::new(FlakyBus::default());
    bus.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut svc = w.app.services.clone();
    svc.events = bus.clone();
    let svc = clientwatch::webhooks::with_fanout(svc);

    let staged = outbox::Staged::new(
        &svc,
        DomainEvent::new(
            "CustomerCentreUpdated",
            json!({"tenant_id": w.app.tenant_id, "client_id": "c1", "opportunity_id": "o1"}),
            svc.clock.now(),
        ),
    );
    svc.table
        .transact(vec![staged.op().unwrap()])
        .await
        .unwrap();
    assert!(
        outbox::publish(&svc, &staged).await.is_err(),
        "the bus is down"
    );
    assert_eq!(w.send_due().await.delivered, 1);

    bus.down.store(false, std::sync::atomic::Ordering::SeqCst);
    let flushed = outbox::flush(&svc, 100).await.unwrap();
    assert_eq!(flushed.published, 1);
    assert_eq!(bus.published.lock().unwrap().len(), 1);
    assert_eq!(w.send_due().await, Report::default());

    let got = w.receiver.got();
    assert_eq!(got.len(), 1);
    assert!(library_verifies(&secret, &got[0]));
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["type"], "CustomerCentreUpdated");
    assert_eq!(body["data"]["event_id"], staged.event_id());
}

/// `publish_all` (a run's many events at once): with the bus up, every event is published
/// once and the outbox is empty; with it down, every event waits and one flush publishes each
/// once, and each webhook delivery is written once across both.
async fn events_published_together_leave_the_outbox_empty_or_wait_in_it_whole(app: TestApp) {
    use clientwatch::keys;
    use clientwatch::ports::Query;
    use clientwatch::records::outbox;

    let w = World::new(app).await;
    w.endpoint(&["CustomerCentreUpdated"]).await;
    let bus = Arc::new(FlakyBus::default());
    let mut svc = w.app.services.clone();
    svc.events = bus.clone();
    let svc = clientwatch::webhooks::with_fanout(svc);
    let outbox_rows = || async {
        svc.table
            .query_all(Query::partition(keys::OUTBOX))
            .await
            .unwrap()
            .len()
    };
    let stage = |n: usize| {
        (0..n)
            .map(|i| {
                outbox::Staged::new(
                    &svc,
                    DomainEvent::new(
                        "CustomerCentreUpdated",
                        json!({"tenant_id": w.app.tenant_id, "client_id": format!("c{i}"), "opportunity_id": "o1"}),
                        svc.clock.now(),
                    ),
                )
            })
            .collect::<Vec<_>>()
    };
    for (down, n) in [(false, 23), (true, 12)] {
        bus.published.lock().unwrap().clear();
        bus.down.store(down, std::sync::atomic::Ordering::SeqCst);
        let staged = stage(n);
        let ops = staged.iter().map(|s| s.op().unwrap()).collect::<Vec<_>>();
        for chunk in ops.chunks(10) {
            svc.table.transact(chunk.to_vec()).await.unwrap();
        }
        let done = outbox::publish_all(&svc, &staged).await;
        if down {
            assert_eq!((done.published, done.failed), (0, n as u64));
            assert_eq!(outbox_rows().await, n, "every refused event waits");
            bus.down.store(false, std::sync::atomic::Ordering::SeqCst);
            let flushed = outbox::flush(&svc, 100).await.unwrap();
            assert_eq!(flushed.published, n as u64);
        } else {
            assert_eq!((done.published, done.failed), (n as u64, 0));
        }
        assert_eq!(outbox_rows().await, 0, "down: {down}");
        let mut ids: Vec<String> = bus
            .published
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.detail["event_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "each event once (down: {down})");
        let mut expected: Vec<&str> = staged.iter().map(|s| s.event_id()).collect();
        expected.sort();
        assert_eq!(ids, expected);
    }
    assert_eq!(w.send_due().await.delivered, 35, "one delivery per event");
}

/// Twenty-five creates at once leave exactly twenty endpoints; a delete makes room for one.
async fn a_tenant_has_at_most_twenty_endpoints_also_under_concurrency(app: TestApp) {
    let w = World::new(app).await;
    let creates = (0..25).map(|_| {
        w.call(
            Method::POST,
            "/v1/webhooks",
            &w.app.admin_key,
            Some(json!({"url": w.url, "event_types": ["MonitoringHit"]})),
        )
    });
    let answers = futures::future::join_all(creates).await;
    let created: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .collect();
    assert_eq!(created.len(), 20);
    for refused in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
        refused.problem(409, "conflict");
    }
    let listed = w.app.get("/v1/webhooks?limit=200").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 20);

    let id = created[0].body["id"].as_str().unwrap();
    let request = Request::builder()
        .method(Method::DELETE)
        .uri(format!("/v1/webhooks/{id}"))
        .header("authorization", format!("Bearer {}", w.app.admin_key))
        .header("if-match", format!("\"{}\"", created[0].body["version"]))
        .body(Body::empty())
        .unwrap();
    assert_eq!(w.app.send(request).await.status, StatusCode::NO_CONTENT);
    w.endpoint(&["InviteExpired"]).await;
}

/// The real source of `MonitoringHit`: a daily run whose digest carries Ana's new facts. Each
/// billed hit reaches the endpoint once, signed, its `data.id` the hit's stable id; running the
/// day again sends nothing more.
async fn a_monitoring_days_hits_reach_the_endpoint_signed_once_each(app: TestApp) {
    use clientwatch::domain::webhooks::WebhookSpec;
    use clientwatch_tests::monitoring::{self as mon, day, everything_new, person_line};

    let mut m = mon::World::new(app).await;
    m.svc = clientwatch::webhooks::with_fanout(m.svc.clone());
    let (receiver, addr) = Receiver::start().await;
    let (_, secret) = clientwatch::webhooks::endpoints::create(
        &m.svc,
        &m.app.tenant_id,
        WebhookSpec {
            url: format!("http://{addr}/hooks"),
            event_types: vec!["MonitoringHit".into()],
            description: None,
            enabled: true,
            disabled_reason: None,
        },
        UrlPolicy::Local,
    )
    .await
    .unwrap();
    let ana = m.person("Ana", Some("IND-100"), "L-100").await;
    m.monitor(&ana, json!({})).await;
    m.feed(
        day(1),
        "part-0000.ndjson",
        &[person_line("IND-100", "Ana Test", json!({}))],
    )
    .await;
    m.run(day(1)).await;
    m.feed(
        day(2),
        "part-0000.ndjson",
        &[person_line("IND-100", "Ana Test", everything_new())],
    )
    .await;
    m.run(day(2)).await;

    let client = HttpWebhooks::new(UrlPolicy::Local);
    let hits = m.hits().await;
    assert!(hits.len() >= 5, "{hits:#?}");
    let report = send::run_due(&m.svc, &client, 100).await.unwrap();
    assert_eq!(report.delivered as usize, hits.len(), "{report:?}");

    let got = receiver.got();
    assert!(got.iter().all(|r| library_verifies(&secret, r)));
    let mut sent: Vec<String> = got
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["data"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut want: Vec<String> = hits
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_owned())
        .collect();
    sent.sort();
    want.sort();
    assert_eq!(sent, want);

    m.run(day(2)).await;
    assert_eq!(
        send::run_due(&m.svc, &client, 100).await.unwrap(),
        Report::default()
    );
    assert_eq!(receiver.got().len(), hits.len());
}
