//! The bureau's delivery missing or broken, over both stores: a line out of subject order, a
//! corrupt gzip part among good parts, a missing day folder, an empty part, a short day; and
//! the value-change hit ids that do not depend on the run day (a change reported twice, a
//! change back and forth, a skipped day replayed late).

use std::io::Write;

use clientwatch::monitoring::run;
use clientwatch_tests::api::TestApp;
use clientwatch_tests::monitoring::*;
use clientwatch_tests::over_both_stores;
use serde_json::json;

over_both_stores!(
    a_part_with_one_line_moved_early_finds_every_hit_on_the_day,
    a_corrupt_gzip_part_among_good_parts_fails_alone_and_the_good_parts_reach_the_digest,
    a_missing_day_folder_is_loud_and_sends_no_digest,
    an_empty_part_is_a_warning_and_its_subjects_keep_their_baselines,
    a_day_with_under_half_the_lines_of_the_day_before_is_a_warning,
    a_late_replay_of_a_skipped_day_bills_nothing_already_billed,
    the_same_company_change_reported_twice_is_one_hit_and_a_change_back_and_forth_is_a_hit_each_time,
);

/// Ana (person) and Kauri (company), monitored; `filler` unmonitored people after them.
async fn monitored(w: &World) -> (String, String) {
    let ana = w.person("Ana", Some("IND-100"), "L-100").await;
    let kauri = w.company("Kauri Holdings Ltd", "CO-200").await;
    w.monitor(&ana, json!({})).await;
    w.monitor(&kauri, json!({})).await;
    (ana, kauri)
}

fn filler(from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| person_line(&format!("IND-5{i:04}"), "Filler Test", json!({})))
        .collect()
}

fn day_one_lines() -> Vec<String> {
    let mut lines = vec![
        company_line("CO-200", "Kauri Holdings Ltd", "registered", json!({})),
        person_line("IND-100", "Ana Test", json!({})),
    ];
    lines.extend(filler(0, 20));
    lines
}

fn day_two_lines() -> Vec<String> {
    let mut lines = vec![
        company_line("CO-200", "Kauri Group Ltd", "in liquidation", json!({})),
        person_line("IND-100", "Ana Test", everything_new()),
    ];
    lines.extend(filler(0, 20));
    lines
}

fn total_hits(report: &run::DayReport) -> u64 {
    report.parts.iter().map(|p| p.hits).sum()
}

fn gzip(lines: &[String]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all((lines.join("\n") + "\n").as_bytes()).unwrap();
    gz.finish().unwrap()
}

async fn a_part_with_one_line_moved_early_finds_every_hit_on_the_day(app: TestApp) {
    let w = World::new(app).await;
    monitored(&w).await;
    let zed = w.person("Zed", Some("IND-999"), "L-999").await;
    w.monitor(&zed, json!({})).await;
    let mut day1 = day_one_lines();
    day1.push(person_line("IND-999", "Zed Test", json!({})));
    w.feed(day(1), "part-0000.ndjson", &day1).await;
    w.run(day(1)).await;
    // Day 2: Zed's line (the last subject, with a new default) moved to the top of the part.
    let mut day2 = day_two_lines();
    day2.insert(
        0,
        person_line(
            "IND-999",
            "Zed Test",
            json!({"defaults": [{"creditor": "Acme", "amount_cents": 100, "currency": "NZD", "date": "2026-11-17"}]}),
        ),
    );
    w.feed(day(2), "part-0000.ndjson", &day2).await;
    let report = w.run(day(2)).await;
    let part = &report.parts[0];
    assert_eq!(part.stats.bad, 0, "{:?}", part.stats.bad_lines);
    assert_eq!(part.stats.out_of_order, 1);
    assert_eq!(
        part.stats.out_of_order_lines[0].0, 1,
        "the moved line, by number"
    );
    assert!(part.stats.out_of_order_lines[0].1.contains("IND-999"));
    assert_eq!(
        part.stats.unchanged, 20,
        "the lines after it were diffed in order"
    );
    assert_eq!(
        part.hits, 10,
        "Ana's seven, Kauri's two and Zed's default, on the day"
    );
    assert_eq!(w.usage("2026-11").await["hits"], 10);
    assert_eq!(w.hit_events().len(), 10);
    assert_eq!(w.inbox.messages().await.len(), 1);
    // The same day again bills nothing twice; and day 2's baseline is whole: day 3, the same
    // lines in order, finds every one unchanged.
    let again = w.run(day(2)).await;
    assert_eq!((total_hits(&again), again.parts[0].duplicates), (0, 10));
    let mut day3 = day2.clone();
    let zed = day3.remove(0);
    day3.push(zed);
    w.feed(day(3), "part-0000.ndjson", &day3).await;
    let third = w.run(day(3)).await;
    assert_eq!(third.parts[0].stats.out_of_order, 0);
    assert_eq!(third.parts[0].stats.unchanged, 23);
}

async fn a_corrupt_gzip_part_among_good_parts_fails_alone_and_the_good_parts_reach_the_digest(
    app: TestApp,
) {
    let w = World::new(app).await;
    monitored(&w).await;
    w.feed(day(1), "part-0000.ndjson", &day_one_lines()).await;
    w.feed(day(1), "part-0001.ndjson.gz", &filler(100, 3000))
        .await;
    w.run(day(1)).await;
    w.feed(day(2), "part-0000.ndjson", &day_two_lines()).await;
    // Part 1 of day 2 is cut off half-way.
    let bytes = gzip(&filler(100, 3000));
    let key = format!("feeds/{}/part-0001.ndjson.gz", day(2));
    w.sources
        .feeds
        .put(&key, bytes[..bytes.len() / 2].to_vec())
        .await
        .unwrap();
    let report = w.run(day(2)).await;
    assert_eq!(report.parts.len(), 2);
    assert_eq!(report.parts[0].hits, 9, "the good part's hits");
    let failed = report.parts[1]
        .failed
        .as_deref()
        .expect("the bad part failed");
    assert!(failed.contains(&format!("feed part {key}")), "{failed}");
    assert!(failed.contains("cannot be read past line"), "{failed}");
    assert!(failed.contains("of the compressed file"), "{failed}");
    let trouble = report.trouble();
    assert!(
        trouble
            .iter()
            .any(|t| t.starts_with("feed part part-0001 failed")),
        "the outcome is an error: {trouble:?}"
    );
    // The good part's hits reached the day's digest.
    assert_eq!(report.digests.len(), 1);
    assert_eq!(w.usage("2026-11").await["hits"], 9);
    assert_eq!(w.inbox.messages().await.len(), 1);
    assert_eq!(w.hit_events().len(), 9);
    // The bad part kept its day-1 baseline: delivered whole the next day, it diffs against it.
    w.feed(day(3), "part-0000.ndjson", &day_two_lines()).await;
    w.feed(day(3), "part-0001.ndjson.gz", &filler(100, 3000))
        .await;
    let next = w.run(day(3)).await;
    assert!(next.trouble().is_empty(), "{:?}", next.trouble());
    assert_eq!(next.parts[1].baseline, Some(day(1)));
    assert_eq!(next.parts[1].stats.unchanged, 3000);
}

async fn a_missing_day_folder_is_loud_and_sends_no_digest(app: TestApp) {
    let w = World::new(app).await;
    monitored(&w).await;
    w.feed(day(1), "part-0000.ndjson", &day_one_lines()).await;
    w.run(day(1)).await;
    let report = w.run(day(2)).await;
    assert!(report.parts.is_empty());
    assert!(report.digests.is_empty());
    let trouble = report.trouble();
    assert_eq!(trouble.len(), 1);
    assert!(
        trouble[0].contains(&format!(
            "no feed was delivered for {}: there is nothing under feeds/{}/",
            day(2),
            day(2)
        )),
        "{trouble:?}"
    );
    // A folder with files but no parts is named as such.
    w.sources
        .feeds
        .put(&format!("feeds/{}/README.txt", day(3)), b"x".to_vec())
        .await
        .unwrap();
    let report = w.run(day(3)).await;
    assert!(
        report.trouble()[0].contains("holds 1 file(s) but none named part-*"),
        "{:?}",
        report.trouble()
    );
}

async fn an_empty_part_is_a_warning_and_its_subjects_keep_their_baselines(app: TestApp) {
    let w = World::new(app).await;
    monitored(&w).await;
    w.feed(day(1), "part-0000.ndjson", &day_one_lines()).await;
    w.feed(day(1), "part-0001.ndjson", &filler(100, 5)).await;
    w.run(day(1)).await;
    w.feed(day(2), "part-0000.ndjson", &day_two_lines()).await;
    w.sources
        .feeds
        .put(&format!("feeds/{}/part-0001.ndjson", day(2)), Vec::new())
        .await
        .unwrap();
    let report = w.run(day(2)).await;
    assert_eq!(total_hits(&report), 9);
    let trouble = report.trouble();
    assert!(
        trouble
            .iter()
            .any(|t| t.contains(&format!("feed part part-0001 of {} is empty", day(2)))),
        "{trouble:?}"
    );
    w.feed(day(3), "part-0000.ndjson", &day_two_lines()).await;
    w.feed(day(3), "part-0001.ndjson", &filler(100, 5)).await;
    let next = w.run(day(3)).await;
    assert_eq!(next.parts[1].stats.unchanged, 5, "nothing was lost");
    assert_eq!(next.parts[1].stats.first_seen, 0);
}

async fn a_day_with_under_half_the_lines_of_the_day_before_is_a_warning(app: TestApp) {
    let w = World::new(app).await;
    monitored(&w).await;
    w.feed(day(1), "part-0000.ndjson", &day_one_lines()).await;
    let first = w.run(day(1)).await;
    assert!(first.trouble().is_empty(), "{:?}", first.trouble());
    // Day 2: two lines of day 1's twenty-two.
    w.feed(day(2), "part-0000.ndjson", &day_two_lines()[..2])
        .await;
    let report = w.run(day(2)).await;
    assert_eq!(total_hits(&report), 9, "what came is diffed");
    let trouble = report.trouble();
    assert!(
        trouble.iter().any(|t| t.contains(&format!(
            "the feed of {} is short: 2 line(s), under half of the 22 of {}",
            day(2),
            day(1)
        ))),
        "{trouble:?}"
    );
    // A day as long as usual again is quiet.
    w.feed(day(3), "part-0000.ndjson", &day_two_lines()).await;
    assert!(w.run(day(3)).await.trouble().is_empty());
}

async fn a_late_replay_of_a_skipped_day_bills_nothing_already_billed(app: TestApp) {
    let w = World::new(app).await;
    monitored(&w).await;
    w.feed(day(1), "part-0000.ndjson", &day_one_lines()).await;
    w.run(day(1)).await;
    // Day 2's delivery is late; day 3 runs against day 1's baseline: Kauri's new name and
    // status, and Ana's seven new facts.
    w.feed(day(3), "part-0000.ndjson", &day_two_lines()).await;
    let third = w.run(day(3)).await;
    assert_eq!(total_hits(&third), 9);
    let usage = w.usage("2026-11").await;
    assert_eq!(usage["hits"], 9);
    // Day 2 arrives and is replayed: it reads day 1's baseline (the latest before it) and finds
    // the name change (made on day 2) and Ana's default and enquiry, all billed on day 3 already.
    let mut day2 = vec![
        company_line("CO-200", "Kauri Group Ltd", "registered", json!({})),
        person_line(
            "IND-100",
            "Ana Test",
            json!({"defaults": everything_new()["defaults"], "enquiries": everything_new()["enquiries"]}),
        ),
    ];
    day2.extend(filler(0, 20));
    w.feed(day(2), "part-0000.ndjson", &day2).await;
    let replay = w.run(day(2)).await;
    assert_eq!(replay.parts[0].baseline, Some(day(1)));
    assert_eq!(replay.parts[0].stats.changed, 2, "it saw the changes");
    assert_eq!(total_hits(&replay), 0, "and billed none of them again");
    assert_eq!(replay.parts[0].duplicates, 3);
    assert_eq!(w.usage("2026-11").await, usage);
    assert_eq!(w.hits().await.len(), 9);
    assert_eq!(w.hit_events().len(), 9);
    // Day 4, as day 3, reads day 3's baseline and finds nothing new.
    w.feed(day(4), "part-0000.ndjson", &day_two_lines()).await;
    let fourth = w.run(day(4)).await;
    assert_eq!(fourth.parts[0].baseline, Some(day(3)));
    assert_eq!(total_hits(&fourth), 0);
    assert_eq!(w.usage("2026-11").await, usage);
}

fn kauri(name: &str) -> Vec<String> {
    let mut lines = vec![company_line("CO-200", name, "registered", json!({}))];
    lines.extend(filler(0, 3));
    lines
}

async fn the_same_company_change_reported_twice_is_one_hit_and_a_change_back_and_forth_is_a_hit_each_time(
    app: TestApp,
) {
    let w = World::new(app).await;
    monitored(&w).await;
    w.feed(day(1), "part-0000.ndjson", &kauri("Kauri Holdings Ltd"))
        .await;
    w.run(day(1)).await;
    w.feed(day(2), "part-0000.ndjson", &kauri("Kauri Group Ltd"))
        .await;
    assert_eq!(total_hits(&w.run(day(2)).await), 1);
    // Reported twice: day 2 again, and day 2 killed before its baseline was stored and never
    // rerun, followed by day 3 showing the same change.
    assert_eq!(total_hits(&w.run(day(2)).await), 0);
    w.sources
        .state
        .delete(&format!("baselines/part-0000/{}.base", day(2)))
        .await
        .unwrap();
    w.feed(day(3), "part-0000.ndjson", &kauri("Kauri Group Ltd"))
        .await;
    let third = w.run(day(3)).await;
    assert_eq!(third.parts[0].baseline, Some(day(1)));
    assert_eq!(
        (total_hits(&third), third.parts[0].duplicates),
        (0, 1),
        "the same change is the same hit"
    );
    // Back and forth: each change is news.
    w.feed(day(4), "part-0000.ndjson", &kauri("Kauri Holdings Ltd"))
        .await;
    assert_eq!(total_hits(&w.run(day(4)).await), 1);
    w.feed(day(5), "part-0000.ndjson", &kauri("Kauri Group Ltd"))
        .await;
    assert_eq!(total_hits(&w.run(day(5)).await), 1);
    let mut changes: Vec<String> = w
        .hits()
        .await
        .into_iter()
        .filter(|h| h["kind"] == "name_change")
        .map(|h| h["summary"].as_str().unwrap().to_owned())
        .collect();
    changes.sort();
    assert_eq!(
        changes,
        [
            r#"name changed from "Kauri Group Ltd" to "Kauri Holdings Ltd""#,
            r#"name changed from "Kauri Holdings Ltd" to "Kauri Group Ltd""#,
            r#"name changed from "Kauri Holdings Ltd" to "Kauri Group Ltd""#,
        ]
    );
    assert_eq!(w.usage("2026-11").await["hits"], 3);
}
