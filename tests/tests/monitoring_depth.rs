//! Monitoring's depth, over both stores: credit scores and financial statements in the feed
//! (a first one is a baseline; a band change or a move of the tenant's threshold is a hit, a
//! smaller move is not; a new period filed and a restated one are hits), old and new values in
//! hits, events and `GET /v1/hits`, prices per kind in the hits and the usage, and the digest:
//! a summary per kind first, clients by their most severe hit, a link per client, screenshots
//! at a phone's and a desktop's width.

use clientwatch_tests::api::TestApp;
use clientwatch_tests::monitoring::*;
use clientwatch_tests::over_both_stores;
use serde_json::{Value, json};

over_both_stores!(
    scores_and_statements_are_baselines_first_and_hits_when_they_change,
    the_day_every_line_changes_bills_only_what_is_new,
    hits_say_what_an_address_and_a_default_changed_from,
    monitoring_settings_for_scores_prices_and_links_are_checked,
);

async fn set_monitoring(w: &World, monitoring: Value) {
    let tenant = w.app.get("/v1/tenant").await;
    let answer = w
        .app
        .patch(
            "/v1/tenant",
            tenant.header("etag").unwrap(),
            json!({ "monitoring": monitoring }),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

fn score(value: i32, band: &str) -> Value {
    json!({"value": value, "band": band, "model": "cw-2", "date": "2026-11-15"})
}

fn statement(period_end: &str, turnover: i64, profit_loss: i64, net_assets: i64) -> Value {
    json!({"period_end": period_end, "filed": "2026-11-10", "turnover": turnover,
           "profit_loss": profit_loss, "net_assets": net_assets, "currency": "NZD"})
}

/// Ana (a person) and Kauri (a company), monitored; one part.
async fn ana_and_kauri(w: &World) -> (String, String) {
    let ana = w.person("Ana", Some("IND-100"), "L-100").await;
    let kauri = w.company("Kauri Holdings Ltd", "CO-200").await;
    w.monitor(&ana, json!({})).await;
    w.monitor(&kauri, json!({})).await;
    (ana, kauri)
}

async fn day_of(w: &World, n: u64, kauri: Value, ana: Value) -> (u64, Vec<Value>) {
    w.feed(
        day(n),
        "part-0000.ndjson",
        &[
            company_line("CO-200", "Kauri Holdings Ltd", "registered", kauri),
            person_line("IND-100", "Ana Test", ana),
        ],
    )
    .await;
    let report = w.run(day(n)).await;
    let hits = report.parts.iter().map(|p| p.hits).sum();
    let found: Vec<Value> = w
        .hits()
        .await
        .into_iter()
        .filter(|h| h["feed_day"] == json!(day(n)))
        .collect();
    (hits, found)
}

fn of_kind<'a>(hits: &'a [Value], kind: &str) -> Vec<&'a Value> {
    hits.iter().filter(|h| h["kind"] == kind).collect()
}

async fn scores_and_statements_are_baselines_first_and_hits_when_they_change(app: TestApp) {
    let w = World::new(app).await;
    let (ana, kauri) = ana_and_kauri(&w).await;
    set_monitoring(
        &w,
        json!({"price_per_kind": {"score_change": "1.50", "financial_statements": "5.00"},
               "client_link": "https://loans.example.com/clients/{{client_id}}?ref={{external_ref}}"}),
    )
    .await;
    // Day 1: the feed as it was, without scores or statements.
    assert_eq!(day_of(&w, 1, json!({}), json!({})).await.0, 0);
    // Day 2: the bureau sends scores and statements for the first time. Every line changed;
    // nothing merely appeared is a hit, nothing is billed.
    let (hits, _) = day_of(
        &w,
        2,
        json!({"score": score(610, "C"), "financial_statements": [statement("2025-03-31", 900_000, 40_000, 300_000)]}),
        json!({"score": score(700, "B")}),
    )
    .await;
    assert_eq!(hits, 0, "a first score and a first statement are baselines");
    assert_eq!(w.usage("2026-11").await["hits"], 0);
    assert!(w.inbox.messages().await.is_empty());

    // Day 3: Ana's score rises 60 points within band B (the default threshold is 50); Kauri's
    // band changes on a 5-point move, and it files a new period; Kauri's status changes too.
    let kauri_day3 = json!({"company": {"name": "Kauri Holdings Ltd", "status": "in receivership"},
        "score": score(605, "D"),
        "financial_statements": [statement("2025-03-31", 900_000, 40_000, 300_000),
                                 statement("2026-03-31", 1_100_000, -25_000, 275_000)]});
    let ana_day3 = json!({"score": score(760, "B"),
        "enquiries": [{"enquirer": "Harbour Loans", "product": "card", "date": "2026-11-17"}]});
    let (hits, found) = day_of(&w, 3, kauri_day3.clone(), ana_day3.clone()).await;
    assert_eq!(hits, 5, "{found:#?}");
    let scores = of_kind(&found, "score_change");
    let ana_score = scores
        .iter()
        .find(|h| h["client_id"] == json!(ana))
        .unwrap();
    assert_eq!(
        ana_score["change"],
        json!({"type": "score", "old": {"value": 700, "band": "B"},
               "new": {"value": 760, "band": "B"}, "points": 60})
    );
    assert_eq!(
        (&ana_score["price"], &ana_score["gst"]),
        (&json!("1.50"), &json!("0.23"))
    );
    let kauri_score = scores
        .iter()
        .find(|h| h["client_id"] == json!(kauri))
        .unwrap();
    assert_eq!(
        kauri_score["change"]["old"],
        json!({"value": 610, "band": "C"})
    );
    assert_eq!(
        kauri_score["change"]["new"],
        json!({"value": 605, "band": "D"})
    );
    let filed = of_kind(&found, "financial_statements");
    assert_eq!(filed.len(), 1);
    let filed = filed[0];
    assert_eq!(filed["price"], "5.00");
    assert_eq!(filed["change"]["restated"], false);
    assert_eq!(filed["change"]["old"]["period_end"], "2025-03-31");
    assert_eq!(filed["change"]["new"]["net_assets_cents"], 27_500_000);
    let summary = filed["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("filed for the period to 2026-03-31"),
        "{summary}"
    );
    assert!(
        summary.contains("net assets down NZD 25,000.00"),
        "{summary}"
    );
    let status = of_kind(&found, "status_change")[0];
    assert_eq!(
        status["change"],
        json!({"type": "value", "old": "registered", "new": "in receivership"})
    );

    // The digest: the summary first, Kauri (a status change) before Ana (a score rise and an
    // enquiry), each client named once, old → new, a link to the tenant's client page.
    let mail = w.inbox.messages().await;
    assert_eq!(mail.len(), 1);
    let html = &mail[0].1;
    let at = |s: &str| {
        html.find(s)
            .unwrap_or_else(|| panic!("the digest lacks {s:?}: {html}"))
    };
    assert!(at("Company status changed") < at("Credit score changed"));
    assert!(at("Credit score changed") < at("Financial statements filed"));
    assert!(at("Financial statements filed") < at("Credit enquiry"));
    assert!(
        at("Credit enquiry") < at("Kauri Holdings Ltd"),
        "the summary comes first"
    );
    assert!(
        at("Kauri Holdings Ltd") < at("Ana Test"),
        "the most severe client first"
    );
    assert_eq!(html.matches("bureau subject IND-100").count(), 1);
    assert!(
        html.contains("score 700 (B) → 760 (B), +60 points"),
        "{html}"
    );
    assert!(html.contains(&format!(
        "https://loans.example.com/clients/{ana}?ref=L-100"
    )));
    assert!(html.contains(r#"name="viewport""#));

    let events = w.hit_events();
    let event = events.iter().find(|e| e["id"] == ana_score["id"]).unwrap();
    assert_eq!(
        event["change"], ana_score["change"],
        "events carry old and new"
    );

    // Day 4: Ana drops 60 points (a hit); Kauri's score is unchanged and it restates the
    // period it filed yesterday (a hit, saying so).
    let kauri_day4 = json!({"company": {"name": "Kauri Holdings Ltd", "status": "in receivership"},
        "score": score(605, "D"),
        "financial_statements": [statement("2025-03-31", 900_000, 40_000, 300_000),
                                 statement("2026-03-31", 1_100_000, -45_000, 255_000)]});
    let mut ana_day4 = ana_day3.clone();
    ana_day4["score"] = score(700, "B");
    let (hits, found) = day_of(&w, 4, kauri_day4.clone(), ana_day4.clone()).await;
    assert_eq!(hits, 2, "{found:#?}");
    let drop = of_kind(&found, "score_change")[0];
    assert_eq!(drop["client_id"], json!(ana));
    assert_eq!(drop["change"]["points"], -60);
    let restated = of_kind(&found, "financial_statements")[0];
    assert_eq!(restated["change"]["restated"], true);
    assert_eq!(restated["change"]["old"]["profit_loss_cents"], -2_500_000);
    assert_eq!(restated["change"]["new"]["profit_loss_cents"], -4_500_000);
    assert!(
        restated["summary"]
            .as_str()
            .unwrap()
            .starts_with("restated")
    );

    // Day 5: Ana moves 30 points within her band: under the default threshold, no hit.
    let mut ana_day5 = ana_day4.clone();
    ana_day5["score"] = score(670, "B");
    assert_eq!(day_of(&w, 5, kauri_day4.clone(), ana_day5).await.0, 0);
    // Day 6: with a threshold of 25 points, the same size of move is a hit.
    set_monitoring(&w, json!({"score_threshold": 25})).await;
    let mut ana_day6 = ana_day4.clone();
    ana_day6["score"] = score(640, "B");
    let (hits, found) = day_of(&w, 6, kauri_day4, ana_day6).await;
    assert_eq!(hits, 1);
    assert_eq!(found[0]["change"]["points"], -30);

    // Usage: each kind at its price; the other kinds at the price per hit.
    let usage = w.usage("2026-11").await;
    let kind = |k: &str| {
        usage["by_kind"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["kind"] == k)
            .cloned()
            .unwrap_or_else(|| panic!("no {k} in {usage}"))
    };
    assert_eq!(
        (
            kind("score_change")["hits"].clone(),
            kind("score_change")["net"].clone()
        ),
        (json!(4), json!("6.00"))
    );
    assert_eq!(
        (
            kind("financial_statements")["hits"].clone(),
            kind("financial_statements")["net"].clone()
        ),
        (json!(2), json!("10.00"))
    );
    assert_eq!(kind("status_change")["net"], "3.00");
    assert_eq!(usage["hits"], 8);
    assert_eq!(usage["net"], "22.00");
}

/// The first day the bureau sends scores and statements, in two parts: every line differs from
/// its baseline, yet the only hit is the one fact that is new that day (Bo's new address); a
/// subject first seen that day gets a baseline; the same lines again the next day are unchanged.
async fn the_day_every_line_changes_bills_only_what_is_new(app: TestApp) {
    let w = World::new(app).await;
    let ana = w.person("Ana", Some("IND-100"), "L-100").await;
    let bo = w.person("Bo", Some("IND-300"), "L-300").await;
    let cy = w.person("Cy", Some("IND-500"), "L-500").await;
    let kauri = w.company("Kauri Holdings Ltd", "CO-200").await;
    for client in [&ana, &bo, &cy, &kauri] {
        w.monitor(client, json!({})).await;
    }
    let enquiry = json!([{"enquirer": "Kiwi Bank", "product": "card", "date": "2026-11-01"}]);
    let bo_default = json!([{"creditor": "Acme Finance", "amount_cents": 125000, "currency": "NZD", "date": "2026-10-01"}]);
    let kauri_statements = json!([
        statement("2024-03-31", 800_000, 10_000, 250_000),
        statement("2025-03-31", 900_000, 40_000, 300_000)
    ]);
    let write_day = |n: u64, scored: bool, bo_moved: bool| {
        let with = |mut facts: Value, extra: Value| {
            if scored {
                merge(&mut facts, extra);
            }
            facts
        };
        let mut bo_facts = json!({"defaults": bo_default.clone()});
        if bo_moved {
            bo_facts["addresses"] = json!([
                {"line1": "12 Kauri St", "city": "Auckland", "postcode": "1010", "country": "NZ"},
                {"line1": "7 Rata Ave", "city": "Hamilton", "postcode": "3200", "country": "NZ"}]);
        }
        let mut part1 = vec![person_line(
            "IND-300",
            "Bo Test",
            with(bo_facts, json!({"score": score(455, "E")})),
        )];
        if scored {
            // Cy is in the feed for the first time, with a score.
            part1.push(person_line(
                "IND-500",
                "Cy Test",
                json!({"score": score(720, "B")}),
            ));
        }
        let part0 = vec![
            company_line(
                "CO-200",
                "Kauri Holdings Ltd",
                "registered",
                with(
                    json!({}),
                    json!({"score": score(610, "C"), "financial_statements": kauri_statements.clone()}),
                ),
            ),
            person_line(
                "IND-100",
                "Ana Test",
                with(
                    json!({"enquiries": enquiry.clone()}),
                    json!({"score": score(700, "B")}),
                ),
            ),
        ];
        let w = &w;
        async move {
            w.feed(day(n), "part-0000.ndjson", &part0).await;
            w.feed(day(n), "part-0001.ndjson", &part1).await;
            w.run(day(n)).await
        }
    };

    // Day 1: the feed as it was, without scores: baselines.
    let report = write_day(1, false, false).await;
    assert_eq!(report.parts.iter().map(|p| p.hits).sum::<u64>(), 0);

    // Day 2: scores for everyone and Kauri's statements appear; Bo also moved.
    let report = write_day(2, true, true).await;
    let (lines, unchanged, first_seen) = report.parts.iter().fold((0, 0, 0), |t, p| {
        (
            t.0 + p.stats.lines,
            t.1 + p.stats.unchanged,
            t.2 + p.stats.first_seen,
        )
    });
    assert_eq!(
        (lines, unchanged, first_seen),
        (4, 0, 1),
        "every known line changed; Cy is new"
    );
    assert_eq!(report.parts.iter().map(|p| p.hits).sum::<u64>(), 1);
    let hits = w.hits().await;
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0]["client_id"], json!(bo));
    assert_eq!(hits[0]["kind"], "address");
    assert_eq!(
        hits[0]["change"]["old"], "12 Kauri St, Auckland, 1010, NZ",
        "{:#}",
        hits[0]
    );
    let usage = w.usage("2026-11").await;
    assert_eq!(usage["hits"], 1, "{usage}");
    assert_eq!(w.hit_events().len(), 1);
    let mail = w.inbox.messages().await;
    assert_eq!(mail.len(), 1);
    for other in ["Ana Test", "Cy Test", "Kauri Holdings Ltd"] {
        assert!(
            !mail[0].1.contains(other),
            "the digest names only Bo: {}",
            mail[0].1
        );
    }

    // Day 3: the same lines again: unchanged, nothing billed.
    let report = write_day(3, true, true).await;
    let unchanged: u64 = report.parts.iter().map(|p| p.stats.unchanged).sum();
    assert_eq!(unchanged, 4);
    assert_eq!(report.parts.iter().map(|p| p.hits).sum::<u64>(), 0);
    assert_eq!(w.usage("2026-11").await["hits"], 1);
}

async fn hits_say_what_an_address_and_a_default_changed_from(app: TestApp) {
    let w = World::new(app).await;
    let (ana, _) = ana_and_kauri(&w).await;
    let default = |creditor: &str, cents: i64| json!({"creditor": creditor, "amount_cents": cents, "currency": "NZD", "date": "2026-11-01"});
    let day1 = json!({
        "addresses": [{"line1": "12 Kauri St", "city": "Auckland", "postcode": "1010", "country": "NZ", "reported": "2026-10-01"},
                      {"line1": "3 Old Rd", "city": "Auckland", "postcode": "1011", "country": "NZ", "reported": "2025-01-01"}],
        "defaults": [default("First Finance", 10_000)]});
    assert_eq!(day_of(&w, 1, json!({}), day1.clone()).await.0, 0);
    let mut day2 = day1.clone();
    day2["addresses"]
        .as_array_mut()
        .unwrap()
        .push(json!({"line1": "7 Rata Ave", "city": "Hamilton", "postcode": "3200", "country": "NZ", "reported": "2026-11-16"}));
    day2["defaults"]
        .as_array_mut()
        .unwrap()
        .push(default("Acme Finance", 125_000));
    day2["judgements"] = json!([{"court": "District Court", "amount_cents": 500_000, "currency": "NZD", "date": "2026-11-11"}]);
    let (hits, found) = day_of(&w, 2, json!({}), day2).await;
    assert_eq!(hits, 3);
    assert!(found.iter().all(|h| h["client_id"] == json!(ana)));
    let address = of_kind(&found, "address")[0];
    assert_eq!(
        address["change"],
        json!({"type": "address", "old": "12 Kauri St, Auckland, 1010, NZ",
               "new": "7 Rata Ave, Hamilton, 3200, NZ"}),
        "the previous current address is the latest reported one"
    );
    let adverse = of_kind(&found, "default")[0];
    assert_eq!(adverse["change"]["type"], "adverse");
    assert_eq!(
        adverse["change"]["old"],
        json!({"count": 1, "total_cents": 10_000, "currency": "NZD"})
    );
    assert_eq!(
        adverse["change"]["new"],
        json!({"count": 3, "total_cents": 635_000, "currency": "NZD"}),
        "after: every default and judgement the subject now has"
    );
    let judgement = of_kind(&found, "judgement")[0];
    assert_eq!(
        judgement["change"]["new"],
        json!({"count": 3, "total_cents": 635_000, "currency": "NZD"})
    );
    let events = w.hit_events();
    let event = events.iter().find(|e| e["id"] == address["id"]).unwrap();
    assert_eq!(event["change"], address["change"]);
    let html = &w.inbox.messages().await[0].1;
    assert!(
        html.contains("12 Kauri St, Auckland, 1010, NZ") && html.contains("1 open (NZD 100.00)"),
        "{html}"
    );
}

async fn monitoring_settings_for_scores_prices_and_links_are_checked(app: TestApp) {
    let w = World::new(app).await;
    for (monitoring, field) in [
        (json!({"score_threshold": 0}), "monitoring.score_threshold"),
        (json!({"score_threshold": "ten"}), "monitoring"),
        (
            json!({"client_link": "http://loans.example.com/{{client_id}}"}),
            "monitoring.client_link",
        ),
        (
            json!({"client_link": "https://loans.example.com/{{password}}"}),
            "monitoring.client_link",
        ),
        (
            json!({"price_per_kind": {"score_change": "-1.00"}}),
            "monitoring.price_per_kind",
        ),
        (json!({"price_per_kind": {"weather": "1.00"}}), "monitoring"),
    ] {
        let tenant = w.app.get("/v1/tenant").await;
        let answer = w
            .app
            .patch(
                "/v1/tenant",
                tenant.header("etag").unwrap(),
                json!({ "monitoring": monitoring }),
            )
            .await;
        assert!(
            matches!(answer.status.as_u16(), 400 | 422),
            "{monitoring}: {} {}",
            answer.status,
            answer.body
        );
        let said = answer.body.to_string();
        assert!(said.contains(field), "{monitoring}: {said}");
    }
    set_monitoring(
        &w,
        json!({"score_threshold": 30, "price_per_kind": {"score_change": "0.50"},
               "client_link": "https://loans.example.com/c/{{ client_id }}"}),
    )
    .await;
    let tenant = w.app.get("/v1/tenant").await.body;
    assert_eq!(tenant["monitoring"]["score_threshold"], 30);
    assert_eq!(
        tenant["monitoring"]["price_per_kind"]["score_change"],
        "0.50"
    );
}

/// The digest a tenant receives, looked at in a real browser at a phone's width (390 px) and a
/// desktop's (1280 px): saved as `target/screenshots/digest-390.png` and `digest-1280.png`, and
/// neither scrolls sideways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digest_reads_on_a_phone_and_a_desktop() {
    use clientwatch_tests::browser::Browser;
    use clientwatch_tests::look::screenshot_folder;

    let w = World::new(TestApp::new(clientwatch_tests::Store::Embedded).await).await;
    let (ana, kauri) = ana_and_kauri(&w).await;
    let bo = w.person("Bo", Some("IND-400"), "L-400").await;
    w.monitor(&bo, json!({})).await;
    set_monitoring(
        &w,
        json!({"price_per_kind": {"score_change": "1.50", "financial_statements": "5.00"},
               "client_link": "https://loans.example.com/clients/{{external_ref}}"}),
    )
    .await;
    let lines = |kauri: Value, ana: Value, bo: Value| {
        vec![
            company_line("CO-200", "Kauri Holdings Ltd", "registered", kauri),
            person_line("IND-100", "Ana Test", ana),
            person_line("IND-400", "Bo Test", bo),
        ]
    };
    let base = json!({"score": score(700, "B")});
    let kauri_base = json!({"score": score(610, "C"),
        "financial_statements": [statement("2025-03-31", 900_000, 40_000, 300_000)]});
    w.feed(
        day(1),
        "part-0000.ndjson",
        &lines(kauri_base, base.clone(), base.clone()),
    )
    .await;
    w.run(day(1)).await;
    let kauri_news = json!({"company": {"name": "Kauri Holdings Ltd", "status": "in receivership"},
        "score": score(540, "D"),
        "financial_statements": [statement("2025-03-31", 900_000, 40_000, 300_000),
                                 statement("2026-03-31", 1_100_000, -25_000, 275_000)]});
    let mut ana_news = everything_new();
    ana_news["score"] = score(620, "C");
    let bo_news = json!({"score": score(760, "B"),
        "enquiries": [{"enquirer": "Harbour Loans", "product": "credit card", "date": "2026-11-17"}]});
    w.feed(
        day(2),
        "part-0000.ndjson",
        &lines(kauri_news, ana_news, bo_news),
    )
    .await;
    w.run(day(2)).await;
    let html = w.inbox.messages().await.pop().expect("a digest").1;
    let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("no {s:?}"));
    assert!(
        at("Ana Test") < at("Kauri Holdings Ltd"),
        "an insolvency first"
    );
    assert!(
        at("Kauri Holdings Ltd") < at("Bo Test"),
        "a status change before a rise"
    );
    let _ = (ana, kauri);

    let folder = screenshot_folder().join("digest");
    let page = folder.join("digest.html");
    let browser = Browser::start(folder.clone()).await;
    std::fs::write(&page, &html).unwrap();
    browser.goto(&format!("file://{}", page.display())).await;
    for width in [390u32, 1280] {
        let shot = browser
            .screenshot_at(&format!("digest-{width}"), width)
            .await;
        std::fs::copy(
            &shot,
            screenshot_folder().join(format!("digest-{width}.png")),
        )
        .unwrap();
        let sizes = browser
            .script(
                "return [document.scrollingElement.scrollWidth, window.innerWidth,
                         parseFloat(getComputedStyle(document.body).fontSize)]",
                json!([]),
            )
            .await;
        assert!(
            sizes[0].as_f64() <= sizes[1].as_f64(),
            "the digest scrolls sideways at {width} px: {sizes}"
        );
        assert!(sizes[2].as_f64().unwrap() >= 16.0, "{sizes}");
    }
    browser.quit().await;
}
