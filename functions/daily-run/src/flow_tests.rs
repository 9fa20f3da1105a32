//! The handler over the local adapters: a scheduled day flows through its parts to the digest.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use clientwatch::adapters::folder::FolderBlobs;
use clientwatch::adapters::local;
use clientwatch::adapters::recorder::RecordingEvents;
use clientwatch::ports::{DomainEvent, Events, FixedClock, SeededIds};
use serde_json::{Value, json};

use super::*;

struct World {
    run: DailyRun,
    events: Arc<RecordingEvents>,
    dir: tempfile::TempDir,
}

/// The bus, refusing the first `FeedPartsDone` it is handed.
struct RefusesFirstPartsDone {
    inner: Arc<RecordingEvents>,
    refused: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Events for RefusesFirstPartsDone {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), PublishError> {
        let parts_done = events.iter().any(|e| e.detail_type == PARTS_DONE);
        if parts_done && !self.refused.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(PublishError {
                total: events.len(),
                failed: vec![(0, "ThrottlingException".into(), "slow down".into())],
            });
        }
        self.inner.publish(events).await
    }
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::at(
        Utc.with_ymd_and_hms(2026, 11, 19, 17, 0, 0).unwrap(),
    ));
    let mut svc =
        local::services(&dir.path().join("data"), clock, Arc::new(SeededIds::new(7))).unwrap();
    let events = Arc::new(RecordingEvents::default());
    svc.events = events.clone();
    let run = DailyRun {
        svc,
        sources: Sources {
            feeds: Arc::new(FolderBlobs::new(dir.path().join("feed"))),
            state: Arc::new(FolderBlobs::new(dir.path().join("state"))),
        },
        feed_time_zone: chrono_tz::Pacific::Auckland,
        digest_queue: None,
    };
    World { run, events, dir }
}

impl World {
    fn feed_part(&self, key: &str, lines: &[&str]) {
        let path = self.dir.path().join("feed").join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }

    /// Events published since the last call.
    fn published(&self, seen: &mut usize) -> Vec<DomainEvent> {
        let all = self.events.recorded();
        let new = all[*seen..].to_vec();
        *seen = all.len();
        new
    }
}

/// An event as the bus hands it to a rule's Lambda target.
fn delivered(event: &DomainEvent) -> Value {
    json!({
        "version": "0",
        "id": "1",
        "detail-type": event.detail_type,
        "source": "clientwatch",
        "time": event.time,
        "detail": event.detail,
    })
}

#[tokio::test]
async fn a_day_without_feed_parts_is_a_retried_feed_fault_that_names_the_folder() {
    let w = world();
    let e = w
        .run
        .handle(json!({"time": "2026-11-19T17:00:00Z"}))
        .await
        .unwrap_err();
    assert!(e.retryable(), "the delivery may be late");
    assert!(
        e.to_string().contains(
            "no feed was delivered for 2026-11-20: there is nothing under feeds/2026-11-20/"
        ),
        "{e}"
    );
    assert_eq!(lambda_runtime::Diagnostic::from(e).error_type, "FeedFault");
    assert!(w.events.recorded().is_empty());
}

#[tokio::test]
async fn a_scheduled_day_fans_out_its_parts_and_the_last_part_starts_the_digest() {
    let w = world();
    let mut seen = 0;
    w.feed_part(
        "feeds/2026-11-20/part-0001.ndjson",
        &[r#"{"subject":"IND-1","kind":"individual"}"#, "not json"],
    );
    w.feed_part(
        "feeds/2026-11-20/part-0002.ndjson",
        &[r#"{"subject":"IND-2","kind":"individual"}"#],
    );

    let planned = w
        .run
        .handle(json!({"time": "2026-11-19T17:00:00Z"}))
        .await
        .unwrap();
    assert_eq!(planned["parts"], 2);
    let ready = w.published(&mut seen);
    assert_eq!(ready.len(), 2);
    assert!(ready.iter().all(|e| e.detail_type == "FeedPartReady"));

    let first = w.run.handle(delivered(&ready[0])).await.unwrap();
    assert_eq!(first["part"], "part-0001");
    assert_eq!(first["bad_lines"], 1);
    assert_eq!(first["last"], false);
    assert!(w.published(&mut seen).is_empty());

    let second = w.run.handle(delivered(&ready[1])).await.unwrap();
    assert_eq!(second["last"], true);
    let done = w.published(&mut seen);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].detail_type, "FeedPartsDone");
    assert_eq!(
        done[0].detail,
        json!({"day": "2026-11-20", "run_id": planned["run_id"]})
    );

    let digest = w.run.handle(delivered(&done[0])).await.unwrap();
    assert_eq!(digest["day"], "2026-11-20");
    assert_eq!(digest["tenants"], 0);
}

/// A planned day of `parts` parts, one line each; the FeedPartReady events.
async fn planned(w: &World, parts: usize, seen: &mut usize) -> Vec<DomainEvent> {
    for p in 0..parts {
        w.feed_part(
            &format!("feeds/2026-11-20/part-{p:04}.ndjson"),
            &[&format!(r#"{{"subject":"IND-{p}","kind":"individual"}}"#)],
        );
    }
    w.run.handle(json!({"day": "2026-11-20"})).await.unwrap();
    w.published(seen)
}

fn parts_done(events: &[DomainEvent]) -> usize {
    events
        .iter()
        .filter(|e| e.detail_type == "FeedPartsDone")
        .count()
}

#[tokio::test]
async fn re_delivered_feed_part_ready_events_of_a_completed_plan_publish_feed_parts_done_once() {
    let w = world();
    let mut seen = 0;
    let ready = planned(&w, 2, &mut seen).await;
    for event in &ready {
        w.run.handle(delivered(event)).await.unwrap();
    }
    assert_eq!(parts_done(&w.published(&mut seen)), 1);
    // Eight re-deliveries (the bus delivers at least once; Lambda retries).
    for i in 0..8 {
        let again = w.run.handle(delivered(&ready[i % 2])).await.unwrap();
        assert_eq!(again["last"], false);
    }
    assert!(w.published(&mut seen).is_empty(), "no second FeedPartsDone");
}

#[tokio::test]
async fn concurrent_duplicate_feed_part_ready_events_publish_feed_parts_done_once() {
    let w = world();
    let mut seen = 0;
    let ready = planned(&w, 3, &mut seen).await;
    // Every part delivered three times at once.
    let deliveries: Vec<Value> = ready
        .iter()
        .flat_map(|e| std::iter::repeat_n(delivered(e), 3))
        .collect();
    let answers = futures::future::join_all(deliveries.into_iter().map(|d| w.run.handle(d))).await;
    let last = answers
        .into_iter()
        .map(|a| a.unwrap())
        .filter(|a| a["last"] == true)
        .count();
    assert_eq!(last, 1);
    assert_eq!(parts_done(&w.published(&mut seen)), 1);
    // And once more, after it all.
    for event in &ready {
        w.run.handle(delivered(event)).await.unwrap();
    }
    assert!(w.published(&mut seen).is_empty());
}

#[tokio::test]
async fn a_failed_feed_parts_done_is_published_by_the_retry_and_only_once() {
    let mut w = world();
    w.run.svc.events = Arc::new(RefusesFirstPartsDone {
        inner: w.events.clone(),
        refused: Default::default(),
    });
    let mut seen = 0;
    let ready = planned(&w, 2, &mut seen).await;
    w.run.handle(delivered(&ready[0])).await.unwrap();
    let e = w.run.handle(delivered(&ready[1])).await.unwrap_err();
    assert!(e.retryable(), "{e}");
    assert!(w.published(&mut seen).is_empty());
    // A re-delivery of the other part may take the released claim too; either way, once.
    w.run.handle(delivered(&ready[0])).await.unwrap();
    w.run.handle(delivered(&ready[1])).await.unwrap();
    w.run.handle(delivered(&ready[1])).await.unwrap();
    assert_eq!(parts_done(&w.published(&mut seen)), 1);
}

#[tokio::test]
async fn a_corrupt_part_fails_alone_the_plan_completes_and_the_part_is_retried() {
    use std::io::Write as _;
    let w = world();
    let mut seen = 0;
    w.feed_part(
        "feeds/2026-11-20/part-0001.ndjson",
        &[r#"{"subject":"IND-1","kind":"individual"}"#],
    );
    let lines: String = (0..3000)
        .map(|i| format!("{{\"subject\":\"IND-2{i:05}\",\"kind\":\"individual\"}}\n"))
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(lines.as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    let path = w
        .dir
        .path()
        .join("feed/feeds/2026-11-20/part-0002.ndjson.gz");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    w.run.handle(json!({"day": "2026-11-20"})).await.unwrap();
    let ready = w.published(&mut seen);
    w.run.handle(delivered(&ready[0])).await.unwrap();
    let e = w.run.handle(delivered(&ready[1])).await.unwrap_err();
    assert!(e.retryable(), "Lambda retries it, then dead-letters it");
    let message = e.full_message();
    assert!(
        message
            .contains("feed part feeds/2026-11-20/part-0002.ndjson.gz: cannot be read past line"),
        "{message}"
    );
    assert!(message.contains("of the compressed file"), "{message}");
    let done = w.published(&mut seen);
    assert_eq!(
        parts_done(&done),
        1,
        "the good part's digest still goes out"
    );
    // Lambda's retry fails the same way and publishes nothing again.
    assert!(w.run.handle(delivered(&ready[1])).await.is_err());
    assert!(w.published(&mut seen).is_empty());
}

#[tokio::test]
async fn an_input_no_retry_can_mend_is_answered_without_an_error_so_lambda_does_not_retry_it() {
    let w = world();
    let answer = w.run.invoke(json!({"day": "tomorrow"})).await.unwrap();
    assert!(
        answer["rejected"]
            .as_str()
            .unwrap()
            .contains("not a YYYY-MM-DD date"),
        "{answer}"
    );
    // A retryable failure stays an error for Lambda to retry.
    assert!(w.run.invoke(json!({"day": "2026-11-20"})).await.is_err());
}

#[tokio::test]
async fn a_part_of_a_replaced_plan_does_not_start_the_digest() {
    let w = world();
    let mut seen = 0;
    w.feed_part(
        "feeds/2026-11-20/part-0001.ndjson",
        &[r#"{"subject":"IND-1","kind":"individual"}"#],
    );
    w.run.handle(json!({"day": "2026-11-20"})).await.unwrap();
    let old = w.published(&mut seen);
    w.run.handle(json!({"day": "2026-11-20"})).await.unwrap();
    let new = w.published(&mut seen);
    assert_eq!(
        w.run.handle(delivered(&old[0])).await.unwrap()["last"],
        false
    );
    assert_eq!(
        w.run.handle(delivered(&new[0])).await.unwrap()["last"],
        true
    );
}

#[tokio::test]
async fn a_bad_payload_is_an_error_that_is_not_retried_in_vain() {
    let w = world();
    let e = w.run.handle(json!({"day": "tomorrow"})).await.unwrap_err();
    assert!(!e.retryable());
    assert!(e.to_string().contains("not a YYYY-MM-DD date"), "{e}");
}

#[tokio::test]
async fn the_deadline_check_says_how_far_a_late_run_came_and_is_quiet_once_it_finished() {
    let w = world();
    let mut seen = 0;
    let check = || {
        w.run
            .handle(json!({"check": "finished", "day": "2026-11-20"}))
    };

    let before = check().await.unwrap();
    assert_eq!(before["finished"], false);
    assert!(
        before["progress"]
            .as_str()
            .unwrap()
            .contains("has not started")
    );

    let ready = planned(&w, 2, &mut seen).await;
    w.run.handle(delivered(&ready[0])).await.unwrap();
    let half = check().await.unwrap();
    assert_eq!(half["finished"], false);
    assert!(
        half["progress"]
            .as_str()
            .unwrap()
            .contains("1 of 2 feed part(s) diffed"),
        "{half}"
    );

    w.run.handle(delivered(&ready[1])).await.unwrap();
    let parts_done = check().await.unwrap();
    assert!(
        parts_done["progress"]
            .as_str()
            .unwrap()
            .contains("digests have not been sent"),
        "{parts_done}"
    );

    let done = w.published(&mut seen);
    w.run.handle(delivered(&done[0])).await.unwrap();
    assert_eq!(check().await.unwrap()["finished"], true);
}

#[tokio::test]
async fn with_a_digest_queue_a_day_without_digests_due_is_finished_at_once() {
    let mut w = world();
    let queue = Arc::new(clientwatch::adapters::recorder::RecordingQueue::default());
    w.run.digest_queue = Some(queue.clone());
    let mut seen = 0;
    let ready = planned(&w, 1, &mut seen).await;
    w.run.handle(delivered(&ready[0])).await.unwrap();
    let done = w.published(&mut seen);
    let answer = w.run.handle(delivered(&done[0])).await.unwrap();
    assert_eq!(answer["handed_out"], true);
    assert_eq!(answer["tenants"], 0);
    assert!(queue.take().is_empty());
    let check = w
        .run
        .handle(json!({"check": "finished", "day": "2026-11-20"}))
        .await
        .unwrap();
    assert_eq!(check["finished"], true, "{check}");

    // A queue message that is no tenant's digest is dropped (not retried in vain).
    let batch = json!({"Records": [{"messageId": "m-1", "body": "{\"not\": \"a digest\"}"}]});
    let answer = w.run.handle(batch).await.unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]));
}
