//! The communications run fanned out over a queue, as on Lambda, over both stores: the plan
//! hands one message per shard to the queue; workers take them in any order, some twice, two
//! at once, one cut off half-way and delivered again; every reminder goes out exactly once,
//! every shard is counted once, and exactly one worker takes the day's last step.

use chrono::{Days, NaiveDate};
use chrono_tz::Pacific::Auckland;
use clientwatch::adapters::recorder::RecordingQueue;
use clientwatch::comms::fanout::{self, ShardWork};
use clientwatch_tests::api::TestApp;
use clientwatch_tests::over_both_stores;
use clientwatch_tests::portal::{deliver_through_emulator, emails_to, unique_email};
use serde_json::{Value, json};

over_both_stores!(
    a_fanned_out_day_sends_each_reminder_once_whatever_the_queue_does,
    a_planned_day_again_replaces_the_plan_and_sends_nothing_twice,
    a_worker_cut_off_half_way_and_its_shard_delivered_again_sends_nothing_twice,
    a_shard_larger_than_a_workers_time_is_handed_on_and_finished_once,
);

/// The shards handed to the queue since the last call.
fn handed(queue: &RecordingQueue) -> Vec<ShardWork> {
    queue
        .take()
        .iter()
        .map(|m| serde_json::from_str(m).unwrap())
        .collect()
}

const CLIENTS: usize = 12;

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{v:#}"))
        .to_owned()
}

/// `CLIENTS` clients on one workflow, each with one contact and an invoice due in three days
/// (the workflow's first step is due): the day and the contacts' addresses.
async fn world(app: &mut TestApp) -> (NaiveDate, Vec<String>) {
    world_with(app, 0).await
}

/// [`world`], and one more client with `big` such invoices (all in its shard): its contact's
/// address comes last.
async fn world_with(app: &mut TestApp, big: usize) -> (NaiveDate, Vec<String>) {
    deliver_through_emulator(&mut app.services).await;
    let client_type = id(&app
        .post(
            "/v1/client-types",
            json!({"name": "Firms", "class": "company"}),
        )
        .await
        .body);
    let role = id(&app
        .post(
            "/v1/contact-roles",
            json!({"name": "Borrower", "communication": true}),
        )
        .await
        .body);
    let workflow = id(&app
        .post(
            "/v1/workflows",
            json!({"name": "Reminders", "steps": [
                {"id": "friendly", "kind": "email", "days_from_due": -3,
                 "subject": "Invoice {{invoice_number}} is due on {{due_date}}",
                 "text": "Invoice {{invoice_number}} is due on {{due_date}}."}]}),
        )
        .await
        .body);
    let day = chrono::Utc::now().with_timezone(&Auckland).date_naive() + Days::new(10);
    let mut addresses = Vec::new();
    let invoices = |n: usize| if n < CLIENTS { 1 } else { big };
    for n in 0..CLIENTS + usize::from(big > 0) {
        let client = id(&app
            .post(
                "/v1/clients",
                json!({"client_type_id": client_type, "workflow_id": workflow,
                       "identity": {"kind": "company", "name": format!("Firm {n}")}}),
            )
            .await
            .body);
        let email = unique_email(&format!("borrower{n}"));
        let contact = app
            .post(
                &format!("/v1/clients/{client}/contacts"),
                json!({"name": "Borrower", "email": email, "role_id": role}),
            )
            .await;
        assert_eq!(contact.status, 201, "{:#}", contact.body);
        for i in 0..invoices(n) {
            let invoice = app
                .post(
                    &format!("/v1/clients/{client}/invoices"),
                    json!({"number": format!("INV-{n}-{i}"), "issue_date": "2026-11-01",
                           "due_date": (day + Days::new(3)).to_string(), "amount": "100.00"}),
                )
                .await;
            assert_eq!(invoice.status, 201, "{:#}", invoice.body);
        }
        addresses.push(email);
    }
    let at = clientwatch_tests::ten_in_auckland(day);
    app.harness.clock.set(at);
    (day, addresses)
}

async fn each_got_one(addresses: &[String]) {
    for a in addresses {
        assert_eq!(emails_to(a).await.len(), 1, "{a} got its reminder once");
    }
}

async fn a_fanned_out_day_sends_each_reminder_once_whatever_the_queue_does(mut app: TestApp) {
    let (day, addresses) = world(&mut app).await;
    let queue = RecordingQueue::default();
    let planned = fanout::plan(&app.services, &queue, day).await.unwrap();
    let mut shards = handed(&queue);
    assert_eq!(shards.len(), 16, "one message per shard");
    assert_eq!(planned.shards, 16);
    assert!(
        shards
            .iter()
            .all(|s| s.run_id == planned.run_id && s.day == day)
    );

    // The queue's worst: the last shard first, one shard twice at once, one delivered again
    // after it was done.
    shards.reverse();
    let twice = shards[3].clone();
    let svc = &app.services;
    let (a, b) = futures::join!(fanout::work(svc, &twice), fanout::work(svc, &twice));
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut sent = a.report.sent + b.report.sent;
    let mut finished = usize::from(a.finished) + usize::from(b.finished);
    for shard in shards.iter().filter(|s| **s != twice) {
        let worked = fanout::work(svc, shard).await.unwrap();
        sent += worked.report.sent;
        finished += usize::from(worked.finished);
    }
    let again = fanout::work(svc, &shards[0]).await.unwrap();
    assert_eq!(
        again.report.sent, 0,
        "a shard delivered again sends nothing"
    );
    assert!(!again.finished);
    finished += usize::from(again.finished);

    assert_eq!(sent, CLIENTS as u64, "each reminder counted once");
    assert_eq!(finished, 1, "exactly one worker takes the day's last step");
    each_got_one(&addresses).await;
}

async fn a_planned_day_again_replaces_the_plan_and_sends_nothing_twice(mut app: TestApp) {
    let (day, addresses) = world(&mut app).await;
    let queue = RecordingQueue::default();
    let first = fanout::plan(&app.services, &queue, day).await.unwrap();
    let old = handed(&queue);
    // Half the shards are worked, then the schedule's retry plans the day again.
    for shard in &old[..8] {
        fanout::work(&app.services, shard).await.unwrap();
    }
    let second = fanout::plan(&app.services, &queue, day).await.unwrap();
    assert_ne!(first.run_id, second.run_id);
    let new = handed(&queue);
    // The old plan's leftovers, still in the queue, are worked but finish nothing.
    let mut finished = 0;
    for shard in &old[8..] {
        finished += usize::from(fanout::work(&app.services, shard).await.unwrap().finished);
    }
    assert_eq!(finished, 0, "the old plan's shards count for no plan");
    for shard in &new {
        finished += usize::from(fanout::work(&app.services, shard).await.unwrap().finished);
    }
    assert_eq!(finished, 1);
    each_got_one(&addresses).await;
}

async fn a_worker_cut_off_half_way_and_its_shard_delivered_again_sends_nothing_twice(
    mut app: TestApp,
) {
    use clientwatch_tests::faults::{Death, Faults, faulty};
    let (day, addresses) = world(&mut app).await;
    let queue = RecordingQueue::default();
    fanout::plan(&app.services, &queue, day).await.unwrap();
    let shards = handed(&queue);
    let mut interrupted = 0;
    let mut cut = 0;
    for (n, shard) in shards.iter().enumerate() {
        // Each shard is cut at a different point of its work (its 1st, 3rd, 5th … call),
        // then delivered again to a healthy worker.
        let faults = Faults::new(Death::Before(1 + 2 * (n % 6)));
        let svc = faulty(&app.services, &faults);
        let first = fanout::work(&svc, shard).await;
        if faults.died() {
            cut += 1;
            assert!(first.is_err() || first.is_ok_and(|w| !w.finished));
        }
        let again = fanout::work(&app.services, shard).await.unwrap();
        interrupted += again.report.interrupted;
    }
    assert!(cut > 0, "workers were cut off");
    // Every reminder went out at most once; one cut off inside its provider call (it may have
    // gone out: the call was made, its outcome not written) is reported interrupted instead of
    // sent again.
    let mut got = 0;
    for a in &addresses {
        let n = emails_to(a).await.len();
        assert!(n <= 1, "{a} got {n} reminders");
        got += n;
    }
    assert!(
        got as u64 + interrupted >= CLIENTS as u64,
        "each sent, or reported: {got} sent, {interrupted} interrupted"
    );
    assert!(
        interrupted <= cut,
        "at most one unknown message per cut-off worker"
    );
}

/// A worker whose time is up (on Lambda: its invocation's deadline, less a margin) stops after
/// the page in hand and hands its shard back to the queue instead of being cut off; the next
/// workers go on. Here every worker's time is up from the start, so each works one page (a
/// tenant's turn of 25 invoices) and hands on: the client with 40 invoices in one shard is
/// finished by two workers, every reminder goes out once, the plan is finished once, and an
/// invoice reminded by an earlier worker has had its turn for the day.
async fn a_shard_larger_than_a_workers_time_is_handed_on_and_finished_once(mut app: TestApp) {
    let (day, addresses) = world_with(&mut app, 40).await;
    let queue = RecordingQueue::default();
    fanout::plan(&app.services, &queue, day).await.unwrap();
    let stop_at = app.services.clock.now() - chrono::Duration::seconds(1);
    let (mut workers, mut handed_on, mut finished, mut sent) = (0, 0, 0, 0);
    loop {
        let shards = handed(&queue);
        if shards.is_empty() {
            break;
        }
        for shard in &shards {
            let until = fanout::Until {
                stop_at,
                queue: &queue,
            };
            let worked = fanout::work_until(&app.services, shard, Some(until))
                .await
                .unwrap();
            workers += 1;
            handed_on += usize::from(worked.handed_on);
            finished += usize::from(worked.finished);
            sent += worked.report.sent;
            assert_eq!(worked.report.errors, 0, "{:?}", worked.report);
        }
        assert!(workers < 100, "the shards come to an end");
    }
    assert_eq!(
        handed_on, 1,
        "the big client's shard is handed on once (40 = 25 + 15)"
    );
    assert_eq!(workers, 17, "16 shards and the one handed on");
    assert_eq!(finished, 1, "one worker took the day's last step");
    assert_eq!(sent, (CLIENTS + 40) as u64);
    let (big, small) = addresses.split_last().unwrap();
    each_got_one(small).await;
    assert_eq!(
        emails_to(big).await.len(),
        40,
        "each of the 40 invoices reminded once"
    );
}
