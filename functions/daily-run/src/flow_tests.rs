//! The handler over the local adapters: a scheduled day flows through its parts to the digest.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use clientwatch::adapters::folder::FolderBlobs;
use clientwatch::adapters::local;
use clientwatch::adapters::recorder::RecordingEvents;
use clientwatch::ports::{DomainEvent, FixedClock, SeededIds};
use serde_json::{Value, json};

use super::*;

struct World {
    run: DailyRun,
    events: Arc<RecordingEvents>,
    dir: tempfile::TempDir,
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
async fn a_day_without_feed_parts_ends_successfully_and_publishes_nothing() {
    let w = world();
    let answer = w
        .run
        .handle(json!({"time": "2026-11-19T17:00:00Z"}))
        .await
        .unwrap();
    assert_eq!(answer["day"], "2026-11-20");
    assert_eq!(answer["parts"], 0);
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

#[tokio::test]
async fn a_retried_last_part_starts_the_digest_again() {
    // The worker that completed the plan may fail to publish FeedPartsDone; its retry finds the
    // part already recorded and must still start the digest.
    let w = world();
    let mut seen = 0;
    w.feed_part(
        "feeds/2026-11-20/part-0001.ndjson",
        &[r#"{"subject":"IND-1","kind":"individual"}"#],
    );
    w.run.handle(json!({"day": "2026-11-20"})).await.unwrap();
    let ready = w.published(&mut seen);
    assert_eq!(
        w.run.handle(delivered(&ready[0])).await.unwrap()["last"],
        true
    );
    assert_eq!(
        w.run.handle(delivered(&ready[0])).await.unwrap()["last"],
        true
    );
    let done = w.published(&mut seen);
    assert_eq!(done.len(), 2);
    assert!(done.iter().all(|e| e.detail_type == "FeedPartsDone"));
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
