//! Invoices over both stores: partners create, change and import them through the API; a new
//! open invoice is e-mailed (read back from the emulator's SES) to exactly the contacts whose
//! role has invoice presentment, once; the communications log shows what went to whom, and a
//! message nobody could receive is listed as skipped with its reason.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request};
use chrono::Duration;
use clientwatch::comms::invoices;
use clientwatch::ports::{DeliveryError, Email, Mailer};
use clientwatch_tests::api::{Answer, TestApp};
use clientwatch_tests::over_both_stores;
use clientwatch_tests::portal::{deliver_through_emulator, emails_to, unique_email};
use serde_json::{Value, json};

over_both_stores!(
    a_new_invoice_reaches_exactly_the_contacts_whose_role_has_invoice_presentment,
    the_log_shows_each_message_per_client_and_per_invoice,
    sending_an_invoice_again_or_changing_it_never_emails_it_again,
    an_invoice_nobody_can_receive_is_listed_as_skipped_with_its_reason,
    invoices_are_checked_and_each_refusal_names_its_field,
    a_json_import_stores_the_good_rows_and_reports_each_bad_one_by_line,
    a_csv_import_reads_quoted_fields_and_reports_bad_lines_by_their_line_number,
    an_unusable_csv_header_or_body_refuses_the_whole_import,
    paying_disputing_or_deleting_an_invoice_takes_it_out_of_the_open_index,
    concurrent_creates_of_one_number_make_exactly_one_invoice,
    a_refused_email_is_logged_as_failed_and_the_invoice_stands,
);

/// A company client with two accounts contacts (invoice presentment), a borrower (communication
/// only), and a client with only a borrower; e-mail through the emulator.
struct World {
    app: TestApp,
    client: String,
    /// A client none of whose contacts has invoice presentment.
    unreached: String,
    ann: String,
    ben: String,
    cal: String,
    dee: String,
}

impl World {
    async fn new(mut app: TestApp) -> Self {
        deliver_through_emulator(&mut app.services).await;
        let accounts = id(app
            .post(
                "/v1/contact-roles",
                json!({"name": "Accounts payable", "invoice_presentment": true}),
            )
            .await);
        let borrower = id(app
            .post(
                "/v1/contact-roles",
                json!({"name": "Borrower", "communication": true}),
            )
            .await);
        let client_type = id(app
            .post(
                "/v1/client-types",
                json!({"name": "Companies", "class": "company"}),
            )
            .await);
        let mut clients = Vec::new();
        for name in ["Kauri & Sons <Ltd>", "Rimu Traders"] {
            clients.push(id(app
                .post(
                    "/v1/clients",
                    json!({"client_type_id": client_type, "identity": {"kind": "company", "name": name}}),
                )
                .await));
        }
        let (client, unreached) = (clients[0].clone(), clients[1].clone());
        let mut emails = Vec::new();
        for (who, on, role) in [
            ("ann", &client, &accounts),
            ("ben", &client, &accounts),
            ("cal", &client, &borrower),
            ("dee", &unreached, &borrower),
        ] {
            let email = unique_email(who);
            id(app
                .post(
                    &format!("/v1/clients/{on}/contacts"),
                    json!({"name": who, "email": email, "role_id": role}),
                )
                .await);
            emails.push(email);
        }
        let [ann, ben, cal, dee] = emails.try_into().unwrap();
        Self {
            app,
            client,
            unreached,
            ann,
            ben,
            cal,
            dee,
        }
    }

    fn invoices(&self) -> String {
        format!("/v1/clients/{}/invoices", self.client)
    }

    async fn create(&self, body: Value) -> Answer {
        self.app.post(&self.invoices(), body).await
    }

    /// Imports a CSV file.
    async fn import_csv(&self, csv: &str) -> Answer {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/v1/invoices/import")
            .header("authorization", format!("Bearer {}", self.app.admin_key))
            .header("content-type", "text/csv; charset=utf-8")
            .body(Body::from(csv.to_owned()))
            .unwrap();
        self.app.send(request).await
    }

    /// Every invoice of `client`, by number.
    async fn stored(&self, client: &str) -> Vec<Value> {
        let answer = self
            .app
            .get(&format!("/v1/clients/{client}/invoices?limit=200"))
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let mut items = answer.body["items"].as_array().unwrap().clone();
        items.sort_by_key(|i| i["number"].as_str().unwrap().to_owned());
        items
    }

    /// The ids of every open invoice, as the daily run sees them (every list).
    async fn open(&self) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        let lists = clientwatch::keys::open_lists();
        let by_tenant = lists
            .iter()
            .filter_map(|l| clientwatch::keys::tenant_first(l));
        for list in lists.clone().into_iter().chain(by_tenant) {
            let (refs, next) = invoices::open_page(&self.app.services, &list, 1000, None)
                .await
                .unwrap();
            assert!(next.is_none());
            ids.extend(refs.into_iter().map(|r| r.invoice_id));
        }
        ids
    }
}

fn id(answer: Answer) -> String {
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

fn invoice(number: &str, amount: &str) -> Value {
    json!({"number": number, "issue_date": "2026-11-03", "due_date": "2026-11-20", "amount": amount})
}

/// (line, outcome, the problem's field) of each row of an import's answer.
fn outcomes(answer: &Answer) -> Vec<(u64, String, Option<String>)> {
    assert_eq!(answer.status, 200, "{:#}", answer.body);
    answer.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["outcome"].as_str().unwrap().to_owned(),
                r["problem"]["field"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn row(line: u64, outcome: &str, field: Option<&str>) -> (u64, String, Option<String>) {
    (line, outcome.to_owned(), field.map(str::to_owned))
}

async fn a_new_invoice_reaches_exactly_the_contacts_whose_role_has_invoice_presentment(
    app: TestApp,
) {
    let w = World::new(app).await;
    let created = w
        .create(json!({
            "number": "INV-1001", "issue_date": "2026-11-03", "due_date": "2026-11-20",
            "amount": "12500", "balance": "10000.5",
            "document_url": "https://accounts.example/i/1001.pdf?a=1&b=2",
        }))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("etag"), Some("\"1\""));
    let body = &created.body;
    assert_eq!(
        (
            &body["status"],
            &body["currency"],
            &body["amount"],
            &body["balance"]
        ),
        (
            &json!("open"),
            &json!("NZD"),
            &json!("12500.00"),
            &json!("10000.50")
        ),
        "the tenant's currency, exact amounts"
    );

    for who in [&w.ann, &w.ben] {
        let mails = emails_to(who).await;
        assert_eq!(mails.len(), 1, "{who}");
        let (subject, html) = &mails[0];
        assert!(subject.contains("INV-1001"), "{subject}");
        assert!(subject.contains("Acme Lending"), "{subject}");
        for shown in [
            "NZD 12,500.00",
            "NZD 10,000.50",
            "3 November 2026",
            "20 November 2026",
            "Kauri &amp; Sons &lt;Ltd&gt;",
            "href=\"https://accounts.example/i/1001.pdf?a=1&amp;b=2\"",
        ] {
            assert!(html.contains(shown), "{shown} in {html}");
        }
        assert!(!html.contains("<Ltd>"), "values are escaped");
    }
    assert!(
        emails_to(&w.cal).await.is_empty(),
        "a role with communication only does not receive invoices"
    );
    assert!(
        emails_to(&w.dee).await.is_empty(),
        "another client's contact"
    );
}

async fn the_log_shows_each_message_per_client_and_per_invoice(app: TestApp) {
    let w = World::new(app).await;
    let first = id(w.create(invoice("INV-1", "100")).await);
    w.app.harness.clock.advance(Duration::minutes(5));
    let second = id(w.create(invoice("INV-2", "200")).await);

    let log = w
        .app
        .get(&format!("/v1/clients/{}/communications", w.client))
        .await;
    assert_eq!(log.status, 200, "{}", log.body);
    let entries = log.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 4, "{:#}", log.body);
    // Newest first: the second invoice's two messages, then the first's.
    let order: Vec<&str> = entries
        .iter()
        .map(|e| e["invoice_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, [&second, &second, &first, &first]);
    for entry in entries {
        assert_eq!(entry["kind"], "invoice");
        assert_eq!(entry["channel"], "email");
        assert_eq!(entry["outcome"], "sent", "{entry:#}");
        assert!(entry["message_id"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(entry["at"].as_str().is_some());
        assert!(entry["contact_id"].as_str().is_some());
    }
    let recipients: BTreeSet<&str> = entries[..2]
        .iter()
        .map(|e| e["to"].as_str().unwrap())
        .collect();
    assert_eq!(recipients, BTreeSet::from([w.ann.as_str(), w.ben.as_str()]));

    let of_first = w
        .app
        .get(&format!(
            "/v1/clients/{}/invoices/{first}/communications",
            w.client
        ))
        .await;
    assert_eq!(of_first.status, 200, "{}", of_first.body);
    let items = of_first.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|e| e["invoice_id"] == json!(first)));
    assert!(items[0]["subject"].as_str().unwrap().contains("INV-1"));

    // A page at a time.
    let page = w
        .app
        .get(&format!("/v1/clients/{}/communications?limit=3", w.client))
        .await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 3);
    let cursor = page.body["next_cursor"].as_str().expect("more follow");
    let rest = w
        .app
        .get(&format!(
            "/v1/clients/{}/communications?limit=3&cursor={cursor}",
            w.client
        ))
        .await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
    assert!(rest.body.get("next_cursor").is_none());

    // An unknown invoice or client is not an empty log.
    w.app
        .get(&format!(
            "/v1/clients/{}/invoices/nonexistent/communications",
            w.client
        ))
        .await
        .problem(404, "not-found");
    w.app
        .get("/v1/clients/nonexistent/communications")
        .await
        .problem(404, "not-found");
}

async fn sending_an_invoice_again_or_changing_it_never_emails_it_again(app: TestApp) {
    let w = World::new(app).await;
    let first = w.create(invoice("INV-7", "70")).await;
    assert_eq!(first.status, 201);
    // The same request again (a retry): the stored invoice, nothing sent again.
    let again = w.create(invoice("INV-7", "70")).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body["id"], first.body["id"]);
    // The same number with other fields is another invoice: refused.
    w.create(invoice("INV-7", "75"))
        .await
        .problem(409, "conflict");
    let path = format!("{}/{}", w.invoices(), first.body["id"].as_str().unwrap());
    let changed = w
        .app
        .patch(&path, "\"1\"", json!({"amount": "80", "balance": "80"}))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["balance"], "80.00");
    // Imported as it now is: unchanged, and not sent again either.
    let mut row = invoice("INV-7", "80");
    row["client_id"] = json!(w.client);
    let imported = w
        .app
        .post("/v1/invoices/import", json!({"invoices": [row]}))
        .await;
    assert_eq!(outcomes(&imported), [row_of(1, "unchanged")]);
    assert_eq!(imported.body["results"][0]["invoice_id"], first.body["id"]);
    assert_eq!(emails_to(&w.ann).await.len(), 1);
    assert_eq!(emails_to(&w.ben).await.len(), 1);

    // A new number is a new invoice, presented once.
    let other = w.create(invoice("INV-8", "80")).await;
    assert_eq!(other.status, 201);
    assert_ne!(other.body["id"], first.body["id"]);
    let mails = emails_to(&w.ann).await;
    assert_eq!(mails.len(), 2);
    assert!(mails[1].0.contains("INV-8"), "{}", mails[1].0);
    let log = w
        .app
        .get(&format!("/v1/clients/{}/communications", w.client))
        .await;
    assert_eq!(log.body["items"].as_array().unwrap().len(), 4);
}

fn row_of(line: u64, outcome: &str) -> (u64, String, Option<String>) {
    row(line, outcome, None)
}

async fn an_invoice_nobody_can_receive_is_listed_as_skipped_with_its_reason(app: TestApp) {
    let w = World::new(app).await;
    let path = format!("/v1/clients/{}/invoices", w.unreached);
    let created = w.app.post(&path, invoice("R-1", "50")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    // Sent again: still one warning.
    assert_eq!(w.app.post(&path, invoice("R-1", "50")).await.status, 201);
    assert!(emails_to(&w.dee).await.is_empty());

    let skipped = w.app.get("/v1/communications/skipped").await;
    assert_eq!(skipped.status, 200, "{}", skipped.body);
    let items = skipped.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{:#}", skipped.body);
    let warning = &items[0];
    assert_eq!(warning["client_id"], json!(w.unreached));
    assert_eq!(warning["invoice_id"], created.body["id"]);
    assert_eq!(warning["outcome"], "skipped");
    assert_eq!(warning["channel"], "email");
    assert!(warning.get("to").is_none());
    assert_eq!(
        warning["reason"],
        "no contact of this client has a role with invoice presentment"
    );
    // The client's and the invoice's log show it too.
    let of_invoice = w
        .app
        .get(&format!(
            "{path}/{}/communications",
            created.body["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(of_invoice.body["items"][0]["outcome"], "skipped");
    // Another tenant sees none of it.
    let other = w.app.other_tenant().await;
    let theirs = w
        .app
        .call(
            Method::GET,
            "/v1/communications/skipped",
            Some(&other),
            None,
        )
        .await;
    assert_eq!(theirs.body["items"], json!([]));
}

async fn invoices_are_checked_and_each_refusal_names_its_field(app: TestApp) {
    let w = World::new(app).await;
    let cases = [
        (json!({"number": ""}), "number"),
        (json!({"number": "N".repeat(65)}), "number"),
        (json!({"due_date": "2026-11-02"}), "due_date"),
        (json!({"issue_date": "3/11/2026"}), "issue_date"),
        (json!({"amount": "0"}), "amount"),
        (json!({"amount": "12.345"}), "amount"),
        (json!({"balance": "100.01"}), "balance"),
        (json!({"status": "paid", "balance": "5"}), "balance"),
        (json!({"currency": "nz"}), "currency"),
        (
            json!({"document_url": "http://accounts.example/1.pdf"}),
            "document_url",
        ),
        (
            json!({"document_url": format!("https://a.example/{}", "x".repeat(2000))}),
            "document_url",
        ),
        (json!({"status": "overdue"}), "status"),
    ];
    for (change, field) in cases {
        let mut body = invoice("INV-9", "100");
        clientwatch::domain::resource::merge_patch(&mut body, &change);
        let refused = w.create(body).await;
        assert_eq!(
            refused.problem(422, "validation")["errors"][0]["field"],
            field,
            "{change}"
        );
    }
    assert_eq!(w.stored(&w.client).await, Vec::<Value>::new());
    assert!(emails_to(&w.ann).await.is_empty());
    w.app
        .post("/v1/clients/nonexistent/invoices", invoice("INV-9", "1"))
        .await
        .problem(404, "not-found");

    // Balance and status agree: an open invoice owing nothing is paid, a paid one owes nothing.
    let settled = w
        .create(
            json!({"number": "S-1", "issue_date": "2026-11-03", "due_date": "2026-11-03",
                        "amount": "10", "balance": "0", "currency": "AUD"}),
        )
        .await;
    assert_eq!(settled.status, 201, "{}", settled.body);
    assert_eq!(settled.body["status"], "paid");
    assert_eq!(settled.body["currency"], "AUD");
    let paid = w
        .create(
            json!({"number": "S-2", "issue_date": "2026-11-03", "due_date": "2026-11-04",
                        "amount": "10", "status": "paid"}),
        )
        .await;
    assert_eq!(paid.body["balance"], "0.00");
    assert!(
        emails_to(&w.ann).await.is_empty(),
        "only open invoices are presented"
    );
}

async fn a_json_import_stores_the_good_rows_and_reports_each_bad_one_by_line(app: TestApp) {
    let w = World::new(app).await;
    let existing = id(w.create(invoice("OLD-1", "10")).await);
    let kept = id(w.create(invoice("OLD-2", "20")).await);
    let c = &w.client;
    let rows = json!([
        {"client_id": c, "number": "NEW-1", "issue_date": "2026-11-03", "due_date": "2026-11-20", "amount": "150.00"},
        {"client_id": c, "number": "NEW-2", "issue_date": "2026-13-01", "due_date": "2026-11-20", "amount": "1"},
        {"client_id": c, "number": "NEW-3", "issue_date": "2026-11-03", "due_date": "2026-11-20", "amount": "0"},
        {"client_id": "nonexistent", "number": "NEW-4", "issue_date": "2026-11-03", "due_date": "2026-11-20", "amount": "1"},
        {"client_id": c, "number": "NEW-1", "issue_date": "2026-11-03", "due_date": "2026-11-20", "amount": "999"},
        {"client_id": c, "number": "OLD-1", "issue_date": "2026-11-03", "due_date": "2026-11-20", "amount": "10", "status": "disputed"},
        {"client_id": c, "number": "OLD-2", "issue_date": "2026-11-03", "due_date": "2026-11-20", "amount": "20"},
        {"client_id": c, "issue_date": "2026-11-03", "due_date": "2026-11-20", "amount": "1"},
        "not an invoice",
        {"client_id": w.unreached, "number": "NEW-1", "issue_date": "2026-11-03", "due_date": "2026-11-20", "amount": "5", "balance": "6"},
    ]);
    let answer = w
        .app
        .post("/v1/invoices/import", json!({"invoices": rows}))
        .await;
    assert_eq!(
        outcomes(&answer),
        [
            row(1, "created", None),
            row(2, "rejected", Some("issue_date")),
            row(3, "rejected", Some("amount")),
            row(4, "rejected", Some("client_id")),
            row(5, "rejected", Some("number")),
            row(6, "updated", None),
            row(7, "unchanged", None),
            row(8, "rejected", Some("number")),
            row(9, "rejected", Some("row")),
            row(10, "rejected", Some("balance")),
        ]
    );
    let body = &answer.body;
    assert_eq!(
        (
            &body["created"],
            &body["updated"],
            &body["unchanged"],
            &body["rejected"]
        ),
        (&json!(1), &json!(1), &json!(1), &json!(7))
    );
    let results = &body["results"];
    assert!(
        results[4]["problem"]["reason"]
            .as_str()
            .unwrap()
            .contains("line 1"),
        "{:#}",
        results[4]
    );
    assert_eq!(results[5]["invoice_id"], json!(existing));
    assert_eq!(results[6]["invoice_id"], json!(kept));
    assert!(results[1].get("invoice_id").is_none());

    // Only the good rows are stored; the bad ones left nothing.
    let stored = w.stored(&w.client).await;
    let numbers: Vec<&str> = stored
        .iter()
        .map(|i| i["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["NEW-1", "OLD-1", "OLD-2"]);
    assert_eq!(stored[0]["amount"], "150.00", "the duplicate did not apply");
    assert_eq!(stored[1]["status"], "disputed");
    assert_eq!(stored[1]["version"], 2);
    assert_eq!(w.stored(&w.unreached).await, Vec::<Value>::new());
    // The new invoice was presented; the changed and unchanged ones not again.
    let subjects: Vec<String> = emails_to(&w.ann).await.into_iter().map(|m| m.0).collect();
    assert_eq!(subjects.len(), 3, "{subjects:?}");
    assert!(subjects[2].contains("NEW-1"));
    // Disputed is not open.
    assert!(!w.open().await.contains(&existing));

    // At most 200 rows a request.
    let many: Vec<Value> = (0..201).map(|_| json!({})).collect();
    w.app
        .post("/v1/invoices/import", json!({"invoices": many}))
        .await
        .problem(422, "validation");
}

async fn a_csv_import_reads_quoted_fields_and_reports_bad_lines_by_their_line_number(app: TestApp) {
    let w = World::new(app).await;
    let c = &w.client;
    let csv = [
        "client_id,number,issue_date,due_date,amount,currency,balance,status,document_url"
            .to_owned(),
        format!("{c},\"INV,2026-1\",2026-11-03,2026-11-20,\"1,250.00\",NZD,,open,"),
        format!("{c},\"INV,2026-2\",2026-11-03,2026-11-20,1250.00,NZD,,open,\"https://accounts.example/i?a=1,2\""),
        format!("{c},\"Q \"\"quoted\"\"\",2026-11-03,2026-11-20,42,,,,"),
        format!("{c},BAD-DATE,2026-11-31,2026-12-20,10,,,,"),
        format!("{c},SHORT,2026-11-03,2026-11-20"),
        format!("{c},\"OPEN-QUOTE,2026-11-03,2026-11-20,10,,,,"),
        format!("{c},AFTER,2026-11-03,2026-11-20,10.5,usd,,,"),
        format!("{c},LAST,2026-11-03,2026-11-20,10.50,USD,,void,"),
        String::new(),
    ]
    .join("\r\n");
    let answer = w.import_csv(&csv).await;
    assert_eq!(
        outcomes(&answer),
        [
            row(2, "rejected", Some("amount")),
            row(3, "created", None),
            row(4, "created", None),
            row(5, "rejected", Some("issue_date")),
            row(6, "rejected", Some("row")),
            row(7, "rejected", Some("row")),
            row(8, "rejected", Some("currency")),
            row(9, "created", None),
        ]
    );
    let results = answer.body["results"].as_array().unwrap();
    assert!(
        results[4]["problem"]["reason"]
            .as_str()
            .unwrap()
            .contains("has 4 columns; the header has 9"),
        "{:#}",
        results[4]
    );
    assert!(
        results[5]["problem"]["reason"]
            .as_str()
            .unwrap()
            .contains("not closed"),
        "{:#}",
        results[5]
    );
    assert_eq!(results[1]["number"], "INV,2026-2");

    let stored = w.stored(&w.client).await;
    let numbers: Vec<&str> = stored
        .iter()
        .map(|i| i["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["INV,2026-2", "LAST", "Q \"quoted\""]);
    assert_eq!(
        stored[0]["document_url"],
        "https://accounts.example/i?a=1,2"
    );
    assert_eq!(stored[2]["currency"], "NZD", "an empty cell is absent");
    assert_eq!(stored[2]["balance"], "42.00");
    assert_eq!(stored[1]["status"], "void");
    // The open ones were presented (the void one not).
    let subjects: Vec<String> = emails_to(&w.ben).await.into_iter().map(|m| m.0).collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");

    // The same file again changes nothing and sends nothing.
    let again = w.import_csv(&csv).await;
    assert_eq!(again.body["unchanged"], 3, "{:#}", again.body);
    assert_eq!(again.body["created"], 0);
    assert_eq!(emails_to(&w.ben).await.len(), 2);
}

async fn an_unusable_csv_header_or_body_refuses_the_whole_import(app: TestApp) {
    let w = World::new(app).await;
    let line = format!("{},X-1,2026-11-03,2026-11-20,10", w.client);
    for (csv, field) in [
        (String::new(), "body"),
        (
            format!("client_id,number,issue_date,due_date,colour\n{line}"),
            "header",
        ),
        (
            format!("client_id,number,issue_date,due_date\n{line}"),
            "header",
        ),
        (
            format!("client_id,number,issue_date,due_date,amount,amount\n{line}"),
            "header",
        ),
    ] {
        let refused = w.import_csv(&csv).await;
        assert_eq!(
            refused.problem(422, "validation")["errors"][0]["field"],
            field,
            "{csv}"
        );
    }
    let many = format!(
        "client_id,number,issue_date,due_date,amount\n{}",
        vec![line.as_str(); 1001].join("\n")
    );
    w.import_csv(&many).await.problem(422, "validation");
    let plain = Request::builder()
        .method(Method::POST)
        .uri("/v1/invoices/import")
        .header("authorization", format!("Bearer {}", w.app.admin_key))
        .header("content-type", "text/plain")
        .body(Body::from(line.clone()))
        .unwrap();
    let refused = w.app.send(plain).await;
    let detail = refused.problem(415, "unsupported-media-type")["detail"]
        .as_str()
        .unwrap();
    assert!(detail.contains("text/csv"), "{detail}");
    // Other routes still take JSON only.
    let request = Request::builder()
        .method(Method::POST)
        .uri(w.invoices())
        .header("authorization", format!("Bearer {}", w.app.admin_key))
        .header("content-type", "text/csv")
        .body(Body::from(line))
        .unwrap();
    w.app
        .send(request)
        .await
        .problem(415, "unsupported-media-type");
    assert_eq!(w.stored(&w.client).await, Vec::<Value>::new());
}

async fn paying_disputing_or_deleting_an_invoice_takes_it_out_of_the_open_index(app: TestApp) {
    let w = World::new(app).await;
    let paid = id(w.create(invoice("P-1", "100")).await);
    let disputed = id(w.create(invoice("P-2", "100")).await);
    let deleted = id(w.create(invoice("P-3", "100")).await);
    assert_eq!(
        w.open().await,
        BTreeSet::from([paid.clone(), disputed.clone(), deleted.clone()])
    );
    let path = |id: &str| format!("{}/{id}", w.invoices());

    let changed = w
        .app
        .patch(&path(&paid), "\"1\"", json!({"status": "paid"}))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        changed.body["balance"], "0.00",
        "paying settles the balance"
    );
    assert_eq!(changed.header("etag"), Some("\"2\""));
    w.app
        .patch(&path(&disputed), "\"1\"", json!({"status": "disputed"}))
        .await;
    w.app
        .patch(&path(&deleted), "\"7\"", json!({"status": "void"}))
        .await
        .problem(412, "stale");
    let removed = w
        .app
        .send(
            Request::builder()
                .method(Method::DELETE)
                .uri(path(&deleted))
                .header("authorization", format!("Bearer {}", w.app.admin_key))
                .header("if-match", "\"1\"")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    assert_eq!(w.open().await, BTreeSet::new());
    w.app.get(&path(&deleted)).await.problem(404, "not-found");

    // Reopening needs the balance still owed; then it is open again.
    let refused = w
        .app
        .patch(&path(&paid), "\"2\"", json!({"status": "open"}))
        .await;
    assert_eq!(
        refused.problem(422, "validation")["errors"][0]["field"],
        "balance"
    );
    let reopened = w
        .app
        .patch(
            &path(&paid),
            "\"2\"",
            json!({"status": "open", "balance": "40"}),
        )
        .await;
    assert_eq!(reopened.status, 200, "{}", reopened.body);
    assert_eq!(w.open().await, BTreeSet::from([paid.clone()]));
    // Renumbering frees the old number and claims the new one.
    w.app
        .patch(&path(&paid), "\"3\"", json!({"number": "P-2"}))
        .await
        .problem(409, "conflict");
    let renumbered = w
        .app
        .patch(&path(&paid), "\"3\"", json!({"number": "P-1b"}))
        .await;
    assert_eq!(renumbered.status, 200, "{}", renumbered.body);
    // A deleted invoice's number, and a renumbered one's, are free again.
    let reused = w.create(invoice("P-3", "5")).await;
    assert_eq!(reused.status, 201, "{}", reused.body);
    assert_eq!(w.create(invoice("P-1", "5")).await.status, 201);
    // None of it sent the first invoices again: three at first, two new ones now.
    assert_eq!(emails_to(&w.ann).await.len(), 5);
    // The deleted invoice's log stays with the client.
    let log = w
        .app
        .get(&format!("/v1/clients/{}/communications", w.client))
        .await;
    assert!(
        log.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["invoice_id"] == json!(deleted))
    );
}

async fn concurrent_creates_of_one_number_make_exactly_one_invoice(app: TestApp) {
    let w = Arc::new(World::new(app).await);
    let tasks: Vec<_> = (1..=6)
        .map(|n| {
            let w = w.clone();
            tokio::spawn(async move { w.create(invoice("RACE-1", &format!("{n}00"))).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().status.as_u16());
    }
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409]);
    assert_eq!(w.stored(&w.client).await.len(), 1);
    assert_eq!(emails_to(&w.ann).await.len(), 1);
}

/// Refuses mail to one address, as a provider does for a suppressed one; sends the rest.
struct Refusing {
    inner: Arc<dyn Mailer>,
    refused: String,
}

#[async_trait::async_trait]
impl Mailer for Refusing {
    async fn send(&self, email: &Email) -> Result<String, DeliveryError> {
        if email.to.iter().any(|to| to.as_str() == self.refused) {
            return Err(DeliveryError::Rejected(
                "the address is on the suppression list".into(),
            ));
        }
        self.inner.send(email).await
    }
}

async fn a_refused_email_is_logged_as_failed_and_the_invoice_stands(app: TestApp) {
    let mut w = World::new(app).await;
    w.app.services.mailer = Arc::new(Refusing {
        inner: w.app.services.mailer.clone(),
        refused: w.ben.clone(),
    });
    let created = w.create(invoice("F-1", "100")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(emails_to(&w.ann).await.len(), 1);
    assert!(emails_to(&w.ben).await.is_empty());
    let path = format!(
        "{}/{}/communications",
        w.invoices(),
        created.body["id"].as_str().unwrap()
    );
    let log = w.app.get(&path).await;
    let mut results: Vec<(String, String, String)> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["to"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    results.sort_by_key(|r| r.0 == w.ben);
    assert_eq!(results[0], (w.ann.clone(), "sent".into(), String::new()));
    assert_eq!(results[1].0, w.ben);
    assert_eq!(results[1].1, "failed");
    assert!(
        results[1].2.contains("suppression list"),
        "{}",
        results[1].2
    );
    // Sent again, it is not retried to either of them.
    assert_eq!(w.create(invoice("F-1", "100")).await.status, 201);
    assert_eq!(
        w.app.get(&path).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(emails_to(&w.ann).await.len(), 1);
}
