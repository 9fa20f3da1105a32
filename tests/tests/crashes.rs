//! Crashes at every step: a whole monitoring day (plan, parts, digest) and a whole
//! communications day are run once for every write and outward call they make, dying at that
//! step (before it, and right after it), then run again over healthy ports. What users see is
//! compared with an uninterrupted run: the same hits, the same billed usage, each e-mail, text
//! and event once — except inside a provider call's window, where the documented rule holds
//! (a digest e-mail sent again and marked as a repeat; a page of events published again; a
//! collection message marked interrupted, never sent twice) and is counted.
//!
//! On the embedded store a crash is modelled as a kill is: the store file is copied as the dead
//! process left it (writes not yet made durable are whatever the file holds) and the rerun opens
//! the copy. On DynamoDB every acknowledged write is durable, so the rerun uses the same table.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{Datelike, Days, NaiveDate, Utc};
use chrono_tz::Pacific::Auckland;
use clientwatch::Services;
use clientwatch::adapters::embedded::EmbeddedTable;
use clientwatch::adapters::folder::FolderBlobs;
use clientwatch::comms::invoices::{self, InvoiceSpec, Status};
use clientwatch::comms::log::{self, Outcome};
use clientwatch::comms::run as comms_run;
use clientwatch::domain::resource::Resource;
use clientwatch::domain::{Decimal2, PhoneNumber};
use clientwatch::monitoring::digest::{self, HIT_EVENT, REPEAT_NOTE};
use clientwatch::monitoring::run::{self, Sources};
use clientwatch::ports::{Condition, DeliveryError, Email, Mailer, Sms};
use clientwatch_tests::api::TestApp;
use clientwatch_tests::faults::{Death, Faults, StepKind, faulty, faulty_blobs};
use clientwatch_tests::{Store, for_both_stores, unique};
use serde_json::{Value, json};

/// Every e-mail and text "sent", across the crashed run and its rerun.
#[derive(Clone, Default)]
struct Sent(Arc<Mutex<Vec<(String, String)>>>);

impl Sent {
    fn all(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Mailer for Sent {
    async fn send(&self, email: &Email) -> Result<String, DeliveryError> {
        let mut sent = self.0.lock().unwrap();
        for to in &email.to {
            sent.push((
                to.as_str().to_owned(),
                format!("{}\n{}", email.subject, email.text),
            ));
        }
        Ok(format!("m{}", sent.len()))
    }
}

#[async_trait::async_trait]
impl Sms for Sent {
    async fn send(&self, to: &PhoneNumber, body: &str) -> Result<String, DeliveryError> {
        let mut sent = self.0.lock().unwrap();
        sent.push((to.e164().to_string(), body.to_owned()));
        Ok(format!("s{}", sent.len()))
    }
}

/// A trial's world: the API over a fresh store, mail and texts captured.
struct Trial {
    app: TestApp,
    svc: Services,
    sent: Sent,
}

impl Trial {
    async fn new(store: Store) -> Self {
        let app = TestApp::new(store).await;
        let sent = Sent::default();
        let mut svc = app.services.clone();
        svc.mailer = Arc::new(sent.clone());
        svc.sms = Arc::new(sent.clone());
        Self { app, svc, sent }
    }

    /// The services a run uses after a crash: on the embedded store, a copy of the store file
    /// as the dead process left it.
    fn after_crash(&self, n: usize) -> Services {
        let mut svc = self.svc.clone();
        if self.app.harness.store == Store::Embedded {
            let dir = self.app.harness.dir.path();
            let copy = dir.join(format!("after-crash-{n}.redb"));
            std::fs::copy(dir.join("store.redb"), &copy).expect("the store file copies");
            svc.table = Arc::new(
                EmbeddedTable::open(&copy, self.app.harness.clock.clone())
                    .expect("the store opens after a crash"),
            );
        }
        svc
    }

    async fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let answer = match method {
            "POST" => self.app.post(path, body).await,
            _ => {
                let current = self.app.get(path).await;
                self.app
                    .patch(path, current.header("etag").unwrap(), body)
                    .await
            }
        };
        assert!(answer.status.is_success(), "{path}: {}", answer.body);
        answer.body
    }
}

/// Whether a crash at `death` fell inside a provider call's window: from the durable record
/// of the intent to the write that records the call's outcome. A process that dies right
/// after the intent is written, or right after the call returns, is to the store one that
/// died inside the call. `trace` is the crashed run's steps (its last is the step it died at);
/// `is_intent` tells the write that records the intent of a `provider` call.
fn in_provider_window(
    death: Death,
    trace: &[(StepKind, String)],
    provider: &str,
    is_intent: impl Fn(&[(StepKind, String)], usize) -> bool,
) -> bool {
    let is_call = |n: usize| {
        n.checked_sub(1)
            .and_then(|i| trace.get(i))
            .is_some_and(|(k, what)| *k == StepKind::Provider && what.starts_with(provider))
    };
    match death {
        Death::Never | Death::AfterNth(..) => false,
        Death::Before(n) => is_call(n) || is_call(n - 1),
        Death::After(n) => is_call(n) || is_intent(trace, n),
    }
}

/// The digest's intent: the first checkpoint write of the run (`mailing`, with the attempt).
fn digest_intent(trace: &[(StepKind, String)], n: usize) -> bool {
    trace
        .iter()
        .position(|(_, what)| what == "put DIGEST")
        .is_some_and(|i| i + 1 == n)
}

/// Whether a death leaves a collection message claimed without its outcome: after its claim
/// and up to its provider call (between them, delivery mints the contact's portal link when
/// the message carries one, so the window holds more than the call itself). A rerun marks
/// such a message interrupted and never sends it.
fn in_claimed_window(death: Death, trace: &[(StepKind, String)]) -> bool {
    let done = match death {
        Death::Never | Death::AfterNth(..) => return false,
        Death::Before(n) => n - 1,
        Death::After(n) => n,
    };
    let done = done.min(trace.len());
    let is_claim = |i: usize| trace[i].1.starts_with("transact SENT");
    // 0-based positions among the steps done: the last claim, then its provider call if made.
    let Some(claim) = (0..done).rev().find(|&i| is_claim(i)) else {
        return false;
    };
    match (claim + 1..done).find(|&i| trace[i].0 == StepKind::Provider) {
        None => true,
        Some(call) => call + 1 == done,
    }
}

fn death_step(death: Death) -> usize {
    match death {
        Death::Never | Death::AfterNth(..) => usize::MAX,
        Death::Before(n) | Death::After(n) => n,
    }
}

/// Every crash point of a run of `steps` steps: before each, and right after each.
fn deaths(steps: usize) -> Vec<Death> {
    (1..=steps)
        .flat_map(|n| [Death::Before(n), Death::After(n)])
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Monitoring

fn day(n: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 2).unwrap() + Days::new(n - 1)
}

fn person(subject: &str, name: &str, extra: Value) -> String {
    let mut record = json!({"subject": subject, "kind": "individual", "name": name,
        "addresses": [{"line1": "12 Kauri St", "city": "Auckland", "postcode": "1010", "country": "NZ"}]});
    for (k, v) in extra.as_object().unwrap() {
        record[k] = v.clone();
    }
    record.to_string()
}

fn company(subject: &str, name: &str, status: &str) -> String {
    json!({"subject": subject, "kind": "company", "company": {"name": name, "status": status}})
        .to_string()
}

/// A tenant monitoring a person and a company in two feed parts, day 1 run (the baselines);
/// day 2 brings a default and an enquiry for the person and a liquidation for the company.
struct Monitoring {
    trial: Trial,
    sources: Sources,
}

impl Monitoring {
    async fn new(store: Store) -> Self {
        let trial = Trial::new(store).await;
        let root = trial.app.harness.dir.path().to_owned();
        let sources = Sources {
            feeds: Arc::new(FolderBlobs::new(root.join("bureau"))),
            state: Arc::new(FolderBlobs::new(root.join("state"))),
        };
        let alerts = format!("{}@lender.test", unique("alerts"));
        trial
            .ok(
                "PATCH",
                "/v1/tenant",
                json!({"alert_recipients": [alerts],
                       "monitoring": {"enabled": true, "default_reason": "Credit risk review"}}),
            )
            .await;
        let person_type = trial
            .ok(
                "POST",
                "/v1/client-types",
                json!({"name": "Borrower", "class": "individual", "use_bureau_monitoring": true}),
            )
            .await["id"]
            .clone();
        let company_type = trial
            .ok(
                "POST",
                "/v1/client-types",
                json!({"name": "Business", "class": "company", "use_bureau_monitoring": true}),
            )
            .await["id"]
            .clone();
        let ana = trial
            .ok(
                "POST",
                "/v1/clients",
                json!({"client_type_id": person_type, "bureau_subject_id": "IND-100",
                       "identity": {"kind": "individual", "first_name": "Ana", "last_name": "Test"}}),
            )
            .await["id"]
            .clone();
        let kauri = trial
            .ok(
                "POST",
                "/v1/clients",
                json!({"client_type_id": company_type, "bureau_subject_id": "CO-200",
                       "identity": {"kind": "company", "name": "Kauri Holdings Ltd"}}),
            )
            .await["id"]
            .clone();
        for client in [ana, kauri] {
            let client = client.as_str().unwrap();
            trial
                .ok(
                    "POST",
                    &format!("/v1/clients/{client}/monitoring"),
                    json!({}),
                )
                .await;
        }
        let world = Self { trial, sources };
        world
            .feed(
                1,
                "part-0000.ndjson",
                &[company("CO-200", "Kauri Holdings Ltd", "registered")],
            )
            .await;
        world
            .feed(
                1,
                "part-0001.ndjson",
                &[person("IND-100", "Ana Test", json!({}))],
            )
            .await;
        run::run_day(&world.trial.svc, &world.sources, day(1), &mut |_| {})
            .await
            .expect("day 1 runs");
        world
            .feed(
                2,
                "part-0000.ndjson",
                &[company("CO-200", "Kauri Group Ltd", "in liquidation")],
            )
            .await;
        world
            .feed(
                2,
                "part-0001.ndjson",
                &[person(
                    "IND-100",
                    "Ana Test",
                    json!({"defaults": [{"creditor": "Acme Finance", "amount_cents": 125000, "currency": "NZD", "date": "2026-11-01"}],
                           "enquiries": [{"enquirer": "Harbour Loans", "product": "personal loan", "date": "2026-11-02"}]}),
                )],
            )
            .await;
        world
    }

    async fn feed(&self, n: u64, part: &str, lines: &[String]) {
        let mut text = lines.join("\n");
        text.push('\n');
        self.sources
            .feeds
            .put(&format!("feeds/{}/{part}", day(n)), text.into_bytes())
            .await
            .unwrap();
    }

    /// Day 2, dying at `death`; returns the crashed run's steps.
    async fn crash_day_two(&self, death: Death) -> (Arc<Faults>, Result<(), String>) {
        let faults = Faults::new(death);
        let svc = faulty(&self.trial.svc, &faults);
        let sources = Sources {
            feeds: faulty_blobs(&self.sources.feeds, &faults),
            state: faulty_blobs(&self.sources.state, &faults),
        };
        let result = run::run_day(&svc, &sources, day(2), &mut |_| {})
            .await
            .map(|_| ())
            .map_err(|e| e.to_string());
        (faults, result)
    }

    /// What users see after day 2: hits (kind and summary, sorted), billed usage, digest
    /// e-mails, and events per hit id.
    async fn seen(&self, svc: &Services) -> Seen {
        let hits_path = "/v1/hits?limit=200";
        let app = TestApp {
            harness: clientwatch_tests::Harness {
                store: self.trial.app.harness.store,
                table: svc.table.clone(),
                clock: self.trial.app.harness.clock.clone(),
                dir: tempfile::tempdir().unwrap(),
            },
            services: svc.clone(),
            events: self.trial.app.events.clone(),
            tenant_id: self.trial.app.tenant_id.clone(),
            admin_key: self.trial.app.admin_key.clone(),
            files: self.trial.app.files.clone(),
            baselines: None,
        };
        let hits = app.get(hits_path).await.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["id"].as_str().unwrap().to_owned(),
                    format!("{} {}", h["kind"], h["summary"]),
                )
            })
            .collect::<BTreeMap<_, _>>();
        let usage = app.get("/v1/usage?month=2026-11").await.body;
        let mut events: BTreeMap<String, usize> = BTreeMap::new();
        for e in self.trial.app.events.recorded() {
            if e.detail_type == HIT_EVENT {
                *events
                    .entry(e.detail["id"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
        Seen {
            hits,
            billed: usage["hits"].clone(),
            total: usage["total"].clone(),
            digests: self.trial.sent.all().into_iter().map(|(_, m)| m).collect(),
            events,
        }
    }
}

#[derive(Debug)]
struct Seen {
    hits: BTreeMap<String, String>,
    billed: Value,
    total: Value,
    digests: Vec<String>,
    events: BTreeMap<String, usize>,
}

async fn every_crash_point_of_a_monitoring_day_bills_and_sends_each_hit_once(store: Store) {
    // The uninterrupted day: its steps, and what users see.
    let reference = Monitoring::new(store).await;
    let (faults, result) = reference.crash_day_two(Death::Never).await;
    result.expect("the uninterrupted day runs");
    let reference_trace = faults.trace();
    let steps = reference_trace.len();
    let expected = reference.seen(&reference.trial.svc).await;
    assert_eq!(expected.hits.len(), 4, "{expected:?}");
    assert_eq!(expected.digests.len(), 1);
    assert!(expected.events.values().all(|n| *n == 1));

    let (mut points, mut mail_window, mut events_window) = (0, 0, 0);
    for death in deaths(steps) {
        let world = Monitoring::new(store).await;
        let (faults, result) = world.crash_day_two(death).await;
        if !faults.died() {
            // Parts run side by side, so a run may take a step fewer than the reference (a
            // version conflict retried, or not): past its last step there is nothing to kill.
            assert!(result.is_ok(), "{death:?}: {result:?}");
            assert!(
                death_step(death) > faults.trace().len(),
                "{death:?}: the run died"
            );
            continue;
        }
        assert!(result.is_err(), "{death:?}: the run died");
        points += 1;
        let trace = faults.trace();
        let svc = world.trial.after_crash(points);
        run::run_day(&svc, &world.sources, day(2), &mut |_| {})
            .await
            .unwrap_or_else(|e| panic!("{death:?}: the rerun completes: {e}"));
        let seen = world.seen(&svc).await;
        let context = format!("{death:?} ({:?}): {seen:#?}", trace.last());

        // Hits and billing: exactly as without the crash.
        let sorted = |hits: &BTreeMap<String, String>| {
            let mut v: Vec<String> = hits.values().cloned().collect();
            v.sort();
            v
        };
        assert_eq!(sorted(&seen.hits), sorted(&expected.hits), "{context}");
        assert_eq!(
            (&seen.billed, &seen.total),
            (&expected.billed, &expected.total),
            "{context}"
        );

        // The digest e-mail: once, or inside the mailer call's window once more, marked.
        let mailed_in_window = in_provider_window(death, &trace, "e-mail", digest_intent);
        let subject = |m: &String| {
            m.lines()
                .next()
                .unwrap_or_default()
                .replace(" (sent again)", "")
        };
        match (seen.digests.as_slice(), mailed_in_window) {
            ([one], _) if !one.contains(REPEAT_NOTE) => {}
            // Died after recording the attempt, before the call: sent once, marked.
            ([one], true) => assert_eq!(subject(one), subject(&expected.digests[0]), "{context}"),
            // Died after the call: the repeat says so.
            ([first, again], true) => {
                assert!(
                    !first.contains(REPEAT_NOTE) && again.contains(REPEAT_NOTE),
                    "{context}"
                );
                assert_eq!(subject(first), subject(again), "{context}");
            }
            _ => panic!(
                "the digest went out {} time(s): {context}",
                seen.digests.len()
            ),
        }
        if mailed_in_window {
            mail_window += 1;
        }

        // Events: every hit's once; a page again only inside the events window.
        assert_eq!(
            seen.events.keys().collect::<Vec<_>>(),
            seen.hits.keys().collect::<Vec<_>>(),
            "every hit has its event: {context}"
        );
        let window = in_events_window(death, &trace);
        if window {
            events_window += 1;
        }
        assert!(
            seen.events.values().all(|n| *n == 1 || (window && *n == 2)),
            "{context}"
        );
    }
    eprintln!(
        "monitoring day over {store:?}: {steps} steps, {points} crash points; {mail_window} in the digest e-mail's window, {events_window} in the events' window"
    );
}

/// The events' window: from the call that publishes a page to the write that makes the page's
/// removal from the queue durable.
fn in_events_window(death: Death, trace: &[(StepKind, String)]) -> bool {
    let Some(published) = trace
        .iter()
        .rposition(|(k, what)| *k == StepKind::Provider && what.starts_with("events"))
        .map(|i| i + 1)
    else {
        return false;
    };
    // The first write after it that is durable on every store: `batch_delete` and
    // `transact_each` are made durable by the next `sync` or other write on the embedded store.
    let removed_durably = trace
        .iter()
        .enumerate()
        .skip(published)
        .find(|(_, (kind, what))| {
            *kind == StepKind::Write
                && !what.starts_with("batch_delete")
                && !what.starts_with("transact_each")
        })
        .map(|(i, _)| i + 1);
    match death {
        Death::Never | Death::AfterNth(..) => false,
        Death::Before(n) => n > published && removed_durably.is_none_or(|s| n <= s),
        Death::After(n) => n >= published && removed_durably.is_none_or(|s| n < s),
    }
}

async fn a_day_killed_after_its_digest_was_mailed_and_never_rerun_is_not_listed_again(
    store: Store,
) {
    let world = Monitoring::new(store).await;
    // Killed right after the e-mail went out and was recorded (the checkpoint's second
    // write: `mailing`, then `mailed`), before its events; day 2 is never run again.
    let (faults, result) = world.crash_day_two(Death::AfterNth("put DIGEST", 2)).await;
    assert!(result.is_err() && faults.died());
    let svc = world.trial.after_crash(1);
    // Day 3 brings one new fact.
    world
        .feed(
            3,
            "part-0000.ndjson",
            &[company("CO-200", "Kauri Group Ltd", "removed")],
        )
        .await;
    world
        .feed(
            3,
            "part-0001.ndjson",
            &[person(
                "IND-100",
                "Ana Test",
                json!({"defaults": [{"creditor": "Acme Finance", "amount_cents": 125000, "currency": "NZD", "date": "2026-11-01"}],
                       "enquiries": [{"enquirer": "Harbour Loans", "product": "personal loan", "date": "2026-11-02"}]}),
            )],
        )
        .await;
    let report = run::run_day(&svc, &world.sources, day(3), &mut |_| {})
        .await
        .expect("day 3 runs");
    let seen = world.seen(&svc).await;
    // Day 2's digest went out once and listed its hits; day 3's lists only the new one.
    assert_eq!(seen.digests.len(), 2, "{seen:#?}");
    assert!(
        seen.digests[1].starts_with("clientwatch: 1 new hit"),
        "{seen:#?}"
    );
    let note = report.digests[0].note.clone().unwrap_or_default();
    assert!(
        note.contains(&format!("the digest of {} was left unfinished", day(2))),
        "{note}"
    );
    assert_eq!(seen.billed, json!(5), "{seen:#?}");
    assert!(seen.events.values().all(|n| *n == 1), "{seen:#?}");
    assert_eq!(seen.events.len(), 5);
}

/// Two digest runs of one tenant at once (a `FeedPartsDone` delivered twice, side by side): they
/// meet on the checkpoint's version, so the e-mail goes out once and each hit's event once, and
/// a run after them sends nothing.
async fn two_digest_runs_at_once_send_the_digest_and_its_events_once(store: Store) {
    let world = Monitoring::new(store).await;
    let svc = &world.trial.svc;
    let plan = run::plan(svc, &world.sources, day(2)).await.unwrap();
    for part in &plan.parts {
        run::run_part(svc, &world.sources, day(2), part)
            .await
            .unwrap();
    }
    let (first, second) = futures::join!(digest::run(svc, day(2)), digest::run(svc, day(2)));
    assert!(
        first.is_ok() || second.is_ok(),
        "one of them carries the digest: {first:?} {second:?}"
    );
    // The one that lost the race (if either did) is retried, as Lambda retries it.
    digest::run(svc, day(2)).await.unwrap();
    let seen = world.seen(svc).await;
    assert_eq!(seen.digests.len(), 1, "{seen:#?}");
    assert_eq!(seen.hits.len(), 4, "{seen:#?}");
    assert_eq!(
        seen.events.keys().collect::<Vec<_>>(),
        seen.hits.keys().collect::<Vec<_>>(),
        "{seen:#?}"
    );
    assert!(seen.events.values().all(|n| *n == 1), "{seen:#?}");
}

// ---------------------------------------------------------------------------------------------
// Communications

/// A tenant with two clients on the 1st of a month: Tui & Sons (a portfolio's workflow: an
/// e-mail 3 days before the due date, an SMS on it) with two invoices whose e-mail is due, and
/// Kea Ltd (its own workflow: an SMS 3 days before) with one. Each client has contacts whose
/// role has communication, so the day also brings monthly statements.
struct Comms {
    trial: Trial,
    day: NaiveDate,
    /// Shards worked through at once.
    workers: usize,
}

impl Comms {
    async fn new(store: Store) -> Self {
        let trial = Trial::new(store).await;
        let today = Utc::now().with_timezone(&Auckland).date_naive();
        let day = today
            .with_day(1)
            .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
            .unwrap();
        let standard = trial
            .ok(
                "POST",
                "/v1/workflows",
                json!({"name": "Standard", "steps": [
                    {"id": "friendly", "kind": "email", "days_from_due": -3,
                     "subject": "Invoice {{invoice_number}} is due on {{due_date}}",
                     "text": "Invoice {{invoice_number}} for {{currency}} {{balance}} is due on {{due_date}}."},
                    {"id": "due-today", "kind": "sms", "days_from_due": 0,
                     "text": "Invoice {{invoice_number}} is due today."}]}),
            )
            .await["id"]
            .clone();
        let texting = trial
            .ok(
                "POST",
                "/v1/workflows",
                json!({"name": "Texts", "steps": [
                    {"id": "nudge", "kind": "sms", "days_from_due": -3,
                     "text": "Invoice {{invoice_number}} is due on {{due_date}}."}]}),
            )
            .await["id"]
            .clone();
        let portfolio = trial
            .ok(
                "POST",
                "/v1/portfolios",
                json!({"name": "Loans", "workflow_id": standard}),
            )
            .await["id"]
            .clone();
        let class = trial
            .ok(
                "POST",
                "/v1/client-types",
                json!({"name": "Companies", "class": "company"}),
            )
            .await["id"]
            .clone();
        let tui = trial
            .ok(
                "POST",
                "/v1/clients",
                json!({"client_type_id": class, "identity": {"kind": "company", "name": "Tui & Sons Ltd"},
                       "portfolio_id": portfolio}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let kea = trial
            .ok(
                "POST",
                "/v1/clients",
                json!({"client_type_id": class, "identity": {"kind": "company", "name": "Kea Ltd"},
                       "workflow_id": texting}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for (client, name, role, mobile) in [
            (&tui, "Ana Tui", "primary-contact", "+64211000001"),
            (&tui, "Tom Tui", "company-contact", "+64211000002"),
            (&kea, "Mia Kea", "primary-contact", "+64211000003"),
        ] {
            let email = format!(
                "{}@example.com",
                unique(&name.replace(' ', ".").to_lowercase())
            );
            trial
                .ok(
                    "POST",
                    &format!("/v1/clients/{client}/contacts"),
                    json!({"name": name, "email": email, "mobile": mobile, "role_id": role}),
                )
                .await;
        }
        let world = Self {
            trial,
            day,
            workers: 1,
        };
        world.invoice(&tui, "INV-1", day + Days::new(3)).await;
        world.invoice(&tui, "INV-2", day + Days::new(2)).await;
        world.invoice(&kea, "INV-3", day + Days::new(3)).await;
        world
    }

    async fn invoice(&self, client: &str, number: &str, due: NaiveDate) {
        let invoice = Resource::new(
            &self.trial.svc,
            InvoiceSpec {
                number: number.into(),
                issue_date: due - Days::new(30),
                due_date: due,
                amount: Decimal2::parse("80.00").unwrap(),
                currency: None,
                balance: None,
                status: Status::Open,
                document_url: None,
                dispute: None,
                promise: None,
            },
        );
        let item = invoices::item(&self.trial.app.tenant_id, client, &invoice).unwrap();
        self.trial
            .svc
            .table
            .put(item, Condition::Absent)
            .await
            .unwrap();
    }

    async fn run(&self, svc: &Services) -> Result<comms_run::Report, String> {
        let at = clientwatch_tests::ten_in_auckland(self.day);
        self.trial.app.harness.clock.set(at);
        // One shard at a time: every kill point is then the same from trial to trial, and a
        // kill leaves at most the one message in hand unknown. (Workers side by side are
        // killed in `a_communications_day_killed_with_shards_side_by_side_…`.)
        match comms_run::run_day_with(svc, self.day, self.workers, &mut |_| {}).await {
            Ok(report) if report.errors == 0 => Ok(report),
            Ok(report) => Err(format!("{} invoice(s) failed", report.errors)),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn interrupted(&self, svc: &Services) -> usize {
        log::skipped(svc, &self.trial.app.tenant_id, 200, None)
            .await
            .unwrap()
            .0
            .iter()
            .filter(|e| e.outcome == Outcome::Interrupted)
            .count()
    }
}

async fn every_crash_point_of_a_communications_day_sends_each_message_at_most_once_and_reports_the_rest(
    store: Store,
) {
    let reference = Comms::new(store).await;
    let faults = Faults::new(Death::Never);
    reference
        .run(&faulty(&reference.trial.svc, &faults))
        .await
        .expect("the uninterrupted day runs");
    let reference_trace = faults.trace();
    let steps = reference_trace.len();
    let expected = {
        let mut sent = reference.trial.sent.all();
        sent.sort();
        sent
    };
    // Two e-mails for INV-1 and two for INV-2 (Ana and Tom), a text for INV-3 (Mia), and the
    // month's statements (Ana, Tom; Mia).
    assert_eq!(expected.len(), 8, "{expected:#?}");

    let (mut points, mut window) = (0, 0);
    for death in deaths(steps) {
        let world = Comms::new(store).await;
        let faults = Faults::new(death);
        let result = world.run(&faulty(&world.trial.svc, &faults)).await;
        if !faults.died() {
            // Parts run side by side, so a run may take a step fewer than the reference (a
            // version conflict retried, or not): past its last step there is nothing to kill.
            assert!(result.is_ok(), "{death:?}: {result:?}");
            assert!(
                death_step(death) > faults.trace().len(),
                "{death:?}: the run died"
            );
            continue;
        }
        assert!(result.is_err(), "{death:?}: the run died");
        points += 1;
        let trace = faults.trace();
        let svc = world.trial.after_crash(points);
        let report = world
            .run(&svc)
            .await
            .unwrap_or_else(|e| panic!("{death:?}: the rerun completes: {e}"));
        let mut sent = world.trial.sent.all();
        sent.sort();
        let context = format!("{death:?} ({:?}): {report:?}\n{sent:#?}", trace.last());
        // Normalise the per-trial addresses: compare by recipient's position and message (each
        // statement carries a personal account-portal link, new on every send: compared without
        // its random token).
        let shape = |list: &[(String, String)]| {
            list.iter()
                .map(|(to, m)| {
                    (
                        to.split('-').next().unwrap_or(to).to_owned(),
                        without_link_tokens(m),
                    )
                })
                .collect::<Vec<_>>()
        };
        let interrupted = world.interrupted(&svc).await;
        let in_window = in_claimed_window(death, &trace);
        if in_window {
            window += 1;
            // The message whose call was cut off: sent at most once, marked interrupted, and
            // everything else exactly once.
            assert_eq!((report.interrupted, interrupted), (1, 1), "{context}");
            assert!(
                sent.len() == expected.len() || sent.len() + 1 == expected.len(),
                "{context}"
            );
        } else {
            assert_eq!((report.interrupted, interrupted), (0, 0), "{context}");
            assert_eq!(shape(&sent), shape(&expected), "{context}");
        }
        let mut seen = std::collections::BTreeSet::new();
        for message in &sent {
            assert!(seen.insert(message), "sent twice: {message:?}; {context}");
        }
    }
    eprintln!(
        "communications day over {store:?}: {steps} steps, {points} crash points, {window} in a provider call's window"
    );
}

/// The same day with the shards worked side by side (as the run does by default): a kill may
/// now cut off a message in each worker's hands, so several can be unknown; each is still sent
/// at most once and reported interrupted, and every other message goes out exactly once.
async fn a_communications_day_killed_with_shards_side_by_side_sends_each_message_at_most_once(
    store: Store,
) {
    let mut reference = Comms::new(store).await;
    reference.workers = comms_run::SHARD_WORKERS;
    let faults = Faults::new(Death::Never);
    reference
        .run(&faulty(&reference.trial.svc, &faults))
        .await
        .expect("the uninterrupted day runs");
    let steps = faults.trace().len();
    let expected = reference.trial.sent.all().len();
    assert_eq!(expected, 8);
    let mut points = 0;
    // Every third kill point: the order of calls differs from trial to trial anyway.
    for death in deaths(steps).into_iter().step_by(3) {
        let mut world = Comms::new(store).await;
        world.workers = comms_run::SHARD_WORKERS;
        let faults = Faults::new(death);
        let result = world.run(&faulty(&world.trial.svc, &faults)).await;
        if !faults.died() {
            assert!(result.is_ok(), "{death:?}: {result:?}");
            continue;
        }
        points += 1;
        let svc = world.trial.after_crash(points);
        let report = world
            .run(&svc)
            .await
            .unwrap_or_else(|e| panic!("{death:?}: the rerun completes: {e}"));
        let sent = world.trial.sent.all();
        let interrupted = world.interrupted(&svc).await;
        let context = format!("{death:?}: {report:?}\n{sent:#?}");
        let mut seen = std::collections::BTreeSet::new();
        for message in &sent {
            assert!(seen.insert(message), "sent twice: {message:?}; {context}");
        }
        assert_eq!(report.interrupted as usize, interrupted, "{context}");
        assert!(
            interrupted <= comms_run::SHARD_WORKERS,
            "at most one unknown message per worker: {context}"
        );
        assert!(
            sent.len() <= expected && sent.len() + interrupted >= expected,
            "every message sent once, or surfaced as interrupted: {context}"
        );
    }
    assert!(points > 0);
}

/// A message with each account-portal link's token replaced by `<token>`.
fn without_link_tokens(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(at) = rest.find("/a/") {
        out.push_str(&rest[..at + 3]);
        rest = &rest[at + 3..];
        let token = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(rest.len());
        out.push_str("<token>");
        rest = &rest[token..];
    }
    out.push_str(rest);
    out
}

for_both_stores!(
    every_crash_point_of_a_monitoring_day_bills_and_sends_each_hit_once,
    a_day_killed_after_its_digest_was_mailed_and_never_rerun_is_not_listed_again,
    every_crash_point_of_a_communications_day_sends_each_message_at_most_once_and_reports_the_rest,
    a_communications_day_killed_with_shards_side_by_side_sends_each_message_at_most_once,
    two_digest_runs_at_once_send_the_digest_and_its_events_once,
);
