//! Driving the partner API's router in-process (no network), over either store.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use clientwatch::Services;
use clientwatch::adapters::recorder::RecordingEvents;
use clientwatch::records;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

use crate::{Harness, Store};

/// The fixed secret tests seal list cursors with.
pub const TEST_CURSOR_KEY: &str = "the tests' fixed cursor key: 32+ characters";

/// The router under test, with the tests' cursor key.
pub fn router(services: Services) -> axum::Router {
    clientwatch_api::app(
        services,
        clientwatch_api::CursorKey::from_secret(TEST_CURSOR_KEY),
    )
}

/// The router under test with a folder for asynchronous imports' files, which runs an import
/// in this process once its file is uploaded (as the local server does).
pub fn router_with_files(
    services: Services,
    files: Arc<dyn clientwatch::ports::Blobs>,
) -> axum::Router {
    clientwatch_api::app_with_imports(
        services,
        clientwatch_api::CursorKey::from_secret(TEST_CURSOR_KEY),
        clientwatch_api::ImportFiles {
            files,
            presign: None,
            run_here: true,
        },
    )
}

/// A POST of `body` with `key` to the router over `svc` (for tests that count the requests of
/// their own services): the answer's JSON, after asserting it succeeded.
pub async fn post_as(svc: &Services, key: &str, path: &str, body: Value) -> Value {
    let request = Request::post(path)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("a request");
    let response = router(svc.clone())
        .oneshot(request)
        .await
        .expect("the router always answers");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// The API over a fresh store, with one bootstrapped tenant and its admin key.
pub struct TestApp {
    pub harness: Harness,
    pub services: Services,
    pub events: Arc<RecordingEvents>,
    pub tenant_id: String,
    pub admin_key: String,
    /// Where asynchronous imports keep their files (a folder beside the store).
    pub files: Arc<dyn clientwatch::ports::Blobs>,
    /// Where bureau profiles' scores are read from (the daily runs' state), once a test has
    /// runs.
    pub baselines: Option<Arc<dyn clientwatch::ports::Blobs>>,
}

/// An answer: status, headers and the body parsed as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts this is a problem of the given status and type and returns its body.
    #[track_caller]
    pub fn problem(&self, status: u16, slug: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{:#}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(
            self.body["type"],
            format!("/problems/{slug}"),
            "{:#}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
        &self.body
    }
}

impl TestApp {
    pub async fn new(store: Store) -> Self {
        let harness = Harness::new(store).await;
        let (services, events) = harness.services();
        let (tenant, key) = records::tenants::bootstrap(&services, "Acme Lending")
            .await
            .expect("tenant bootstrapped");
        let files: Arc<dyn clientwatch::ports::Blobs> = Arc::new(
            clientwatch::adapters::folder::FolderBlobs::new(harness.dir.path().join("files")),
        );
        Self {
            harness,
            services,
            events,
            tenant_id: tenant.id,
            admin_key: key.secret,
            files,
            baselines: None,
        }
    }

    /// Another tenant in the same store, returning its admin key.
    pub async fn other_tenant(&self) -> String {
        records::tenants::bootstrap(&self.services, "Other Finance")
            .await
            .expect("second tenant")
            .1
            .secret
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        let mut router = router_with_files(self.services.clone(), self.files.clone());
        if let Some(state) = &self.baselines {
            router =
                clientwatch_api::with_baselines(router, clientwatch_api::Baselines(state.clone()));
        }
        let response = router
            .oneshot(request)
            .await
            .expect("the router always answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    /// A request with `key` as bearer token and `body` as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        let body = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).expect("a request")).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, Some(&self.admin_key), None)
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(&self.admin_key), Some(body))
            .await
    }

    /// A change guarded by `If-Match: "<version>"`.
    pub async fn patch(&self, path: &str, version: &str, body: Value) -> Answer {
        let request = Request::builder()
            .method(Method::PATCH)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.admin_key))
            .header("content-type", "application/merge-patch+json")
            .header("if-match", version)
            .body(Body::from(body.to_string()))
            .expect("a request");
        self.send(request).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, Some(&self.admin_key), None)
            .await
    }
}
