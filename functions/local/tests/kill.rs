//! The real binary killed. `clientwatch-local daily` is SIGKILLed at seeded random moments of a
//! day's run, then run again, and what it left is compared with an uninterrupted run of the
//! same day: the same hits in the digest, each hit's `MonitoringHit` event present (again only
//! for a page whose publishing the kill cut off), the digest e-mail once (or once more, marked
//! as a repeat, when the kill fell inside the mailer call), no torn line in the events file and
//! no half-written file in the outbox. `clientwatch-local comms` is killed the same way: no
//! reminder reaches a contact twice, and every reminder either went out or is reported as
//! interrupted by the rerun.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use serde_json::{Value, json};

const CLIENTS: usize = 300;
const TRIALS: u64 = 14;
const DAY1: &str = "2026-11-02";
const DAY2: &str = "2026-11-03";

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_clientwatch-local"))
}

/// Serves the data folder until dropped; the API's base URL and the demo key.
struct Server {
    child: Child,
    base: String,
    key: String,
}

impl Server {
    fn start(data: &Path) -> Self {
        let mut child = binary()
            .args(["serve", "--addr", "127.0.0.1:0", "--data"])
            .arg(data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("clientwatch-local starts");
        let mut base = String::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if let Some(api) = line.trim().strip_prefix("API:") {
                base = api.trim().split("/v1").next().unwrap().to_owned();
            }
            if line.starts_with("stop with") {
                break;
            }
        }
        let key = std::fs::read_to_string(data.join("demo-api-key"))
            .unwrap()
            .trim()
            .to_owned();
        Self { child, base, key }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status();
        let text = answer.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn line(subject: &str, day: u32) -> String {
    let mut record = json!({"subject": subject, "kind": "individual", "name": format!("Person {subject}"),
        "addresses": [{"line1": "1 Main St", "city": "Auckland", "postcode": "1010", "country": "NZ"}]});
    if day == 2 {
        record["defaults"] = json!([{"creditor": "Acme Finance", "amount_cents": 10000, "currency": "NZD", "date": "2026-11-01"}]);
        record["enquiries"] =
            json!([{"enquirer": "Harbour Loans", "product": "loan", "date": "2026-11-02"}]);
    }
    record.to_string()
}

/// The demo tenant plus `CLIENTS` monitored people in two feed parts; day 1 run.
async fn seeded(root: &Path) -> (PathBuf, PathBuf) {
    let data = root.join("data");
    let feed = root.join("feed");
    {
        let server = Server::start(&data);
        let class = server
            .call(
                reqwest::Method::POST,
                "/v1/client-types",
                Some(json!({"name": "Monitored", "class": "individual", "use_bureau_monitoring": true})),
            )
            .await["id"]
            .clone();
        let mut ids = Vec::new();
        for n in 0..CLIENTS {
            let client = server
                .call(
                    reqwest::Method::POST,
                    "/v1/clients",
                    Some(json!({"client_type_id": class, "bureau_subject_id": format!("KIL-{n:05}"),
                                "identity": {"kind": "individual", "first_name": "Person", "last_name": format!("{n}")}})),
                )
                .await;
            ids.push(client["id"].as_str().unwrap().to_owned());
        }
        for chunk in ids.chunks(100) {
            server
                .call(
                    reqwest::Method::POST,
                    "/v1/monitoring/bulk",
                    Some(json!({"action": "start", "client_ids": chunk})),
                )
                .await;
        }
    }
    for (day, date) in [(1, DAY1), (2, DAY2)] {
        let folder = feed.join("feeds").join(date);
        std::fs::create_dir_all(&folder).unwrap();
        for part in 0..2 {
            let lines: Vec<String> = (0..CLIENTS)
                .filter(|n| n % 2 == part)
                .map(|n| line(&format!("KIL-{n:05}"), day))
                .collect();
            std::fs::write(
                folder.join(format!("part-{part:04}.ndjson")),
                lines.join("\n") + "\n",
            )
            .unwrap();
        }
    }
    let status = daily(&data, &feed, DAY1).status().unwrap();
    assert!(status.success(), "day 1 runs");
    (data, feed)
}

fn daily(data: &Path, feed: &Path, date: &str) -> Command {
    let mut command = binary();
    command
        .args(["daily", "--date", date, "--feed"])
        .arg(feed)
        .arg("--data")
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// What day 2 left: digest e-mail subjects (in order), events per hit id, stray files.
#[derive(Debug)]
struct Left {
    digests: Vec<String>,
    events: BTreeMap<String, usize>,
    partial_files: Vec<String>,
}

fn left(data: &Path, mails_before: usize) -> Left {
    let mail = data.join("outbox/mail");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&mail)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    names.sort();
    let partial_files = names
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "partial"))
        .map(|p| p.display().to_string())
        .collect();
    let digests = names
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .skip(mails_before)
        .map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .find_map(|l| l.strip_prefix("Subject: ").map(str::to_owned))
                .unwrap_or_default()
        })
        .collect();
    let mut events = BTreeMap::new();
    let file = data.join(format!("outbox/events/{DAY2}.ndjson"));
    if let Ok(text) = std::fs::read_to_string(&file) {
        for line in text.lines() {
            let event: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a torn line in {}: {e}: {line}", file.display()));
            // Hits' events only (a run may also tell of a client's new bureau differences).
            if event["detail-type"] != "MonitoringHit" {
                continue;
            }
            *events
                .entry(event["detail"]["id"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
    }
    Left {
        digests,
        events,
        partial_files,
    }
}

fn mails(data: &Path) -> usize {
    std::fs::read_dir(data.join("outbox/mail"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_run_killed_at_random_moments_and_run_again_bills_and_sends_each_hit_once() {
    let root = tempfile::tempdir().unwrap();
    let (seed, feed) = seeded(root.path()).await;
    let before = mails(&seed);

    // The uninterrupted day 2.
    let reference = root.path().join("reference");
    copy_dir(&seed, &reference);
    let started = Instant::now();
    assert!(daily(&reference, &feed, DAY2).status().unwrap().success());
    let took = started.elapsed();
    let expected = left(&reference, before);
    assert_eq!(expected.digests.len(), 1, "{expected:?}");
    assert_eq!(
        expected.events.len(),
        2 * CLIENTS,
        "a default and an enquiry each"
    );
    assert!(expected.events.values().all(|n| *n == 1));

    // Seeded moments across the run (a small linear congruential generator: repeatable).
    let mut state: u64 = 0x5eed_c11e_47a7;
    let (mut repeated_digests, mut repeated_events) = (0, 0);
    for trial in 0..TRIALS {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let at = took.mul_f64((state >> 11) as f64 / (1u64 << 53) as f64);
        let data = root.path().join(format!("trial-{trial}"));
        copy_dir(&seed, &data);
        let mut child = daily(&data, &feed, DAY2).spawn().unwrap();
        std::thread::sleep(at);
        let _ = child.kill();
        let _ = child.wait();
        let rerun = daily(&data, &feed, DAY2).status().unwrap();
        assert!(
            rerun.success(),
            "trial {trial} (killed at {at:?}): the rerun completes"
        );
        let got = left(&data, before);
        let context = format!("trial {trial}, killed at {at:?} of {took:?}: {got:?}");
        assert!(got.partial_files.is_empty(), "{context}");
        assert_eq!(
            got.events.keys().collect::<Vec<_>>(),
            expected.events.keys().collect::<Vec<_>>(),
            "every hit's event, and no other: {context}"
        );
        repeated_events += got.events.values().filter(|n| **n > 1).count();
        assert!(got.events.values().all(|n| *n <= 2), "{context}");
        match got.digests.as_slice() {
            [one] => assert_eq!(
                one.replace(" (sent again)", ""),
                expected.digests[0],
                "{context}"
            ),
            [first, again] => {
                repeated_digests += 1;
                assert_eq!(first, &expected.digests[0], "{context}");
                assert_eq!(
                    again,
                    &format!("{} (sent again)", expected.digests[0]),
                    "{context}"
                );
            }
            _ => panic!("{context}"),
        }
        let _ = std::fs::remove_dir_all(&data);
    }
    eprintln!(
        "{TRIALS} kills over a {took:?} run: {repeated_digests} digest(s) sent again inside the mailer call's window, {repeated_events} event(s) published again inside a page's window"
    );
}

const COMMS_CLIENTS: usize = 30;
const COMMS_DAY: &str = "2026-11-20";

/// The demo tenant plus `COMMS_CLIENTS` clients in a portfolio whose workflow e-mails a
/// reminder 3 days before the due date, each with two contacts and an invoice due in 3 days.
async fn seeded_for_comms(root: &Path) -> PathBuf {
    let data = root.join("comms-data");
    let server = Server::start(&data);
    let post =
        |path: &'static str, body: Value| server.call(reqwest::Method::POST, path, Some(body));
    let workflow = post(
        "/v1/workflows",
        json!({"name": "Kill test", "steps": [{"id": "early", "kind": "email", "days_from_due": -3,
            "subject": "Invoice {{invoice_number}} is due on {{due_date}}",
            "text": "Invoice {{invoice_number}} for {{currency}} {{balance}} is due on {{due_date}}."}]}),
    )
    .await["id"]
    .clone();
    let portfolio = post(
        "/v1/portfolios",
        json!({"name": "Kill test", "workflow_id": workflow}),
    )
    .await["id"]
        .clone();
    let class = post(
        "/v1/client-types",
        json!({"name": "Debtors", "class": "company"}),
    )
    .await["id"]
        .clone();
    for n in 0..COMMS_CLIENTS {
        let client = server
            .call(
                reqwest::Method::POST,
                "/v1/clients",
                Some(json!({"client_type_id": class, "portfolio_id": portfolio,
                            "identity": {"kind": "company", "name": format!("Debtor {n} Ltd")}})),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for (who, role) in [("pay", "primary-contact"), ("boss", "company-contact")] {
            server
                .call(
                    reqwest::Method::POST,
                    &format!("/v1/clients/{client}/contacts"),
                    Some(json!({"name": format!("{who} {n}"), "email": format!("{who}.{n}@debtor.example"),
                                "role_id": role})),
                )
                .await;
        }
        server
            .call(
                reqwest::Method::POST,
                &format!("/v1/clients/{client}/invoices"),
                Some(
                    json!({"number": format!("K-{n}"), "issue_date": "2026-10-23",
                            "due_date": "2026-11-23", "amount": "100.00"}),
                ),
            )
            .await;
    }
    data
}

fn comms(data: &Path) -> Command {
    let mut command = binary();
    command
        .args(["comms", "--date", COMMS_DAY, "--data"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

/// Every reminder e-mail in the outbox after the first `skip`: (recipient, subject).
fn reminders(data: &Path, skip: usize) -> Vec<(String, String)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(data.join("outbox/mail"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    names.retain(|p| p.extension().is_some_and(|e| e == "eml"));
    names.sort();
    names
        .iter()
        .skip(skip)
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let header = |name: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(name).map(str::to_owned))
                    .unwrap_or_default()
            };
            (header("To: "), header("Subject: "))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_communications_run_killed_at_random_moments_never_sends_twice_and_reports_what_it_cut_off()
 {
    let root = tempfile::tempdir().unwrap();
    let seed = seeded_for_comms(root.path()).await;
    let before = reminders(&seed, 0).len();

    let reference = root.path().join("comms-reference");
    copy_dir(&seed, &reference);
    let started = Instant::now();
    assert!(comms(&reference).status().unwrap().success());
    let took = started.elapsed();
    let expected = reminders(&reference, before);
    assert_eq!(expected.len(), 2 * COMMS_CLIENTS, "{expected:#?}");

    let mut state: u64 = 0xc0_44_5e_ed;
    let mut cut_off = 0;
    for trial in 0..TRIALS {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let at = took.mul_f64((state >> 11) as f64 / (1u64 << 53) as f64);
        let data = root.path().join(format!("comms-trial-{trial}"));
        copy_dir(&seed, &data);
        let mut child = comms(&data).spawn().unwrap();
        std::thread::sleep(at);
        let _ = child.kill();
        let _ = child.wait();
        let rerun = comms(&data).output().unwrap();
        assert!(rerun.status.success(), "trial {trial}: the rerun completes");
        let printed = String::from_utf8_lossy(&rerun.stdout).into_owned();
        let interrupted: usize = printed
            .lines()
            .find_map(|l| l.trim().strip_prefix("warning: "))
            .and_then(|w| w.split(' ').next())
            .map_or(0, |n| n.parse().unwrap());
        cut_off += interrupted;
        let mut got = reminders(&data, before);
        let context = format!("trial {trial}, killed at {at:?} of {took:?}: {printed}\n{got:#?}");
        got.sort();
        let mut unique = got.clone();
        unique.dedup();
        assert_eq!(
            unique.len(),
            got.len(),
            "a reminder went out twice: {context}"
        );
        assert!(got.iter().all(|m| expected.contains(m)), "{context}");
        // None lost silently: each went out, or the rerun reported it as interrupted (a kill
        // inside the mailer call: it may have gone out, so it is counted once either way).
        assert!(
            got.len() <= expected.len() && got.len() + interrupted >= expected.len(),
            "{context}"
        );
        // The run works several shards at once: a kill may cut off one message in each.
        assert!(
            interrupted <= clientwatch::comms::run::SHARD_WORKERS,
            "one call at a time is in flight per shard worker: {context}"
        );
        let _ = std::fs::remove_dir_all(&data);
    }
    eprintln!(
        "{TRIALS} kills over a {took:?} communications run: {cut_off} message(s) cut off inside the mailer call, reported as interrupted"
    );
}
