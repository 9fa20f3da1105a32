//! The README's first command: `clientwatch-local` starts, says where it listens, where the
//! store and the outbox are, and serves the API with a working demo key, across restarts.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running local server and what it printed before it was ready.
struct Server {
    child: Child,
    banner: Vec<String>,
}

impl Server {
    fn start(data: &Path) -> Self {
        Self::run("serve", data)
    }

    fn run(command: &str, data: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_clientwatch-local"))
            .args([command, "--addr", "127.0.0.1:0", "--data"])
            .arg(data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("clientwatch-local starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut banner = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("a line");
            let done = line.starts_with("stop with");
            banner.push(line);
            if done {
                break;
            }
        }
        Self { child, banner }
    }

    fn line(&self, label: &str) -> &str {
        self.banner
            .iter()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {label} line in {:#?}", self.banner))
    }

    fn base(&self) -> String {
        self.line("API:").split("/v1").next().unwrap().to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_local_server_says_where_to_look_and_serves_the_demo_tenant_across_restarts() {
    let data = tempfile::tempdir().unwrap();
    let first_tenant = {
        let server = Server::start(data.path());
        assert!(
            server.line("outbox:").contains("outbox"),
            "{:#?}",
            server.banner
        );
        assert!(server.line("store:").contains("clientwatch.redb"));
        let health: serde_json::Value = reqwest::get(format!("{}/v1/health", server.base()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(health["status"], "ok");
        // The account portal is served by the same listener.
        let unknown = reqwest::get(format!("{}/a/{}", server.base(), "x".repeat(43)))
            .await
            .unwrap();
        assert_eq!(unknown.status(), 404);
        assert!(
            unknown
                .text()
                .await
                .unwrap()
                .contains("This link is not valid")
        );
        tenant(&server, data.path()).await
    };
    assert_eq!(first_tenant["name"], "Demo Lender");
    assert!(
        server_banner_mentions_clients(data.path()).await,
        "the banner shows example calls on a demo client"
    );
    // The embedded store is durable: a restart keeps the tenant and its key.
    let server = Server::start(data.path());
    assert_eq!(tenant(&server, data.path()).await, first_tenant);
}

#[tokio::test]
async fn the_demo_prints_an_account_portal_link_for_its_communication_contact() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::run("demo", data.path());
    let link = server
        .banner
        .iter()
        .filter_map(|l| l.trim().strip_prefix("open:").map(str::trim))
        .find(|l| l.contains("/a/"))
        .unwrap_or_else(|| panic!("no account-portal link in {:#?}", server.banner))
        .to_owned();
    let path = &link[link.find("/a/").unwrap()..];
    let landing = reqwest::get(format!("{}{path}", server.base()))
        .await
        .unwrap();
    assert_eq!(landing.status(), 200);
    let page = landing.text().await.unwrap();
    let name = server
        .banner
        .iter()
        .find_map(|l| l.split("communication contact, ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("the banner names the contact: {:#?}", server.banner));
    assert!(page.contains(&format!("Hello {name}")), "{name}: {page}");
    assert!(page.contains("Text me a code"), "{page}");
}

/// Starts the server again and checks the demo data: two clients, one with a loan application
/// whose parties are its contacts, the other with contacts synced from NetSuite.
async fn server_banner_mentions_clients(data: &Path) -> bool {
    let server = Server::start(data);
    let key = std::fs::read_to_string(data.join("demo-api-key")).unwrap();
    let get = |path: String| {
        let request = reqwest::Client::new()
            .get(format!("{}{path}", server.base()))
            .bearer_auth(key.trim());
        async move {
            let answer = request.send().await.unwrap();
            let status = answer.status();
            let text = answer.text().await.unwrap();
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|_| panic!("{status}: {text}"))
        }
    };
    let clients = get("/v1/clients".into()).await;
    let clients = clients["items"].as_array().unwrap();
    assert_eq!(clients.len(), 2);
    let mut synced = 0;
    let mut opportunities = 0;
    for client in clients {
        let id = client["id"].as_str().unwrap();
        // Both demo clients are monitored, but `serve` runs no feed day: no bureau record yet.
        let profile = get(format!("/v1/clients/{id}/bureau-profile")).await;
        assert_eq!(profile["status"], 404, "{profile}");
        assert!(
            profile["detail"].as_str().unwrap().contains("no daily run"),
            "{profile}"
        );
        let contacts = get(format!("/v1/clients/{id}/contacts")).await;
        synced += contacts["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["source"] == "netsuite")
            .count();
        opportunities += get(format!("/v1/clients/{id}/opportunities")).await["items"]
            .as_array()
            .unwrap()
            .len();
    }
    assert_eq!((synced, opportunities), (2, 1));
    server
        .banner
        .iter()
        .any(|line| line.contains("/v1/clients/") && line.contains("/contacts"))
}

async fn tenant(server: &Server, data: &Path) -> serde_json::Value {
    let key = std::fs::read_to_string(data.join("demo-api-key")).unwrap();
    let answer = reqwest::Client::new()
        .get(format!("{}/v1/tenant", server.base()))
        .bearer_auth(key.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

/// A body announced but never sent is answered 408 once the server stops waiting for it (10 s),
/// and the connection is closed: a lying client cannot hold a connection for minutes.
#[tokio::test]
async fn a_body_that_never_arrives_is_a_408_problem_and_closes_the_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let address = server.base().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(
            b"POST /v1/clients HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"partial\":",
        )
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server answers and closes within 30 s")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("/problems/request-timeout"), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

/// Local mode's asynchronous client import: a file over the listener's 1 MB body limit goes
/// through the upload route into the data folder, and the import runs in the same process to
/// completion, its results readable through the API and the file kept under `uploads/`.
#[tokio::test]
async fn an_import_file_uploaded_to_the_local_server_is_imported_in_process() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let key = std::fs::read_to_string(data.path().join("demo-api-key")).unwrap();
    let key = key.trim();
    let http = reqwest::Client::new();
    let base = server.base();
    let client_type: serde_json::Value = http
        .post(format!("{base}/v1/client-types"))
        .bearer_auth(key)
        .json(&serde_json::json!({"name": "Imported", "class": "individual"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let type_id = client_type["id"].as_str().unwrap();
    let created: serde_json::Value = http
        .post(format!("{base}/v1/imports"))
        .bearer_auth(key)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let url = created["upload"]["url"].as_str().unwrap();
    let n = 16_000;
    let mut csv = String::from("external_ref,client_type_id,kind,first_name,last_name\n");
    for i in 1..=n {
        csv.push_str(&format!(
            "LOCAL-{i:06},{type_id},individual,Person{i},Smith\n"
        ));
    }
    assert!(csv.len() > 1024 * 1024, "{} bytes", csv.len());
    let uploaded = http
        .put(format!("{base}{url}"))
        .bearer_auth(key)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 202, "{}", uploaded.text().await.unwrap());
    let mut import = serde_json::Value::Null;
    for _ in 0..1200 {
        import = http
            .get(format!("{base}/v1/imports/{id}"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if import["status"] == "completed" || import["status"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(import["status"], "completed", "{import}");
    assert_eq!(import["created"], n);
    let results = http
        .get(format!("{base}/v1/imports/{id}/results"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(results.lines().count(), n);
    assert!(results.lines().all(|l| l.contains("\"created\"")));
    assert!(
        data.path()
            .join("uploads/imports")
            .read_dir()
            .unwrap()
            .next()
            .is_some(),
        "the file store is the data folder's uploads/"
    );
}

#[tokio::test]
async fn the_demo_banner_points_at_the_outbox_viewer_which_shows_what_was_sent() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::run("demo", data.path());
    let viewer = server
        .line("outbox:")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert!(viewer.ends_with("/outbox"), "{viewer}");
    let get = |path: String| async move { reqwest::get(path).await.unwrap() };
    let list = get(viewer.clone()).await;
    assert_eq!(list.status(), 200);
    let list = list.text().await.unwrap();
    for sent in [
        "has invited you to the Customer Centre",
        "Invoice INV-1001 is due on",
        "new hits for Demo Lender",
        "Texts (2)",
        "MonitoringHit",
    ] {
        assert!(list.contains(sent), "the outbox lists {sent:?}: {list}");
    }

    // The banner's "the newest e-mail" is the invite: the first one listed.
    let first = list.split("href=\"/outbox/mail/").nth(1).unwrap();
    let (name, rest) = first.split_once("\">").unwrap();
    assert!(
        rest.starts_with("Hemi Walker at Demo Lender has invited you"),
        "{rest}"
    );
    let origin = viewer.trim_end_matches("/outbox");
    let page = get(format!("{origin}/outbox/mail/{name}")).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("ana.smith@example.com"), "{page}");
    assert!(
        page.contains(&format!("/outbox/mail/{name}/html")),
        "{page}"
    );

    let html = get(format!("{origin}/outbox/mail/{name}/html")).await;
    let policy = html.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.starts_with("sandbox"), "{policy}");
    let html = html.text().await.unwrap();
    let link = server
        .banner
        .iter()
        .filter_map(|l| l.trim().strip_prefix("open:").map(str::trim))
        .find(|l| l.contains("/i/"))
        .unwrap();
    assert!(html.contains(link), "the invite e-mail carries {link}");

    let eml = get(format!("{origin}/outbox/mail/{name}/eml")).await;
    assert_eq!(eml.headers()["content-type"], "message/rfc822");

    // Nothing outside the outbox folder is reachable through it.
    for hostile in [
        "/outbox/mail/..%2Fclientwatch.redb",
        "/outbox/mail/..%2F..%2Fdemo-api-key",
        "/outbox/mail/%00.eml",
        "/outbox/mail/.hidden.eml/html",
        "/outbox/events/..%2Fclientwatch",
        "/outbox/events/2026-13-45",
    ] {
        let answer = get(format!("{origin}{hostile}")).await;
        assert_eq!(answer.status(), 404, "{hostile}");
        assert!(
            !answer.text().await.unwrap().contains("Bearer"),
            "{hostile}"
        );
    }
}
