//! Questionnaires over both stores: definitions through the API, attaching them to
//! opportunities, and an applicant's answers (saved through the domain functions the Customer
//! Centre calls) read back by the partner with their audit trail and events.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use clientwatch::centre::audit::{self, Invitee};
use clientwatch::centre::questionnaires::{self, SaveError, Status};
use clientwatch::domain::Error;
use clientwatch::ports::Clock;
use clientwatch_tests::api::TestApp;
use clientwatch_tests::faulty::{Call, Faulty, Gate, Injected, Verdict};
use clientwatch_tests::over_both_stores;
use serde_json::{Value, json};

over_both_stores!(
    a_questionnaire_is_defined_changed_listed_and_deleted,
    a_bad_definition_names_the_field_and_writes_nothing,
    an_opportunity_lists_only_existing_questionnaires_and_each_once,
    a_deleted_questionnaire_does_not_block_changes_to_an_opportunity,
    an_applicant_saves_a_draft_then_submits_once,
    two_windows_submitting_at_once_submit_once,
    a_submit_with_wrong_or_missing_answers_names_each_and_changes_nothing,
    submitted_answers_keep_the_questions_they_answered,
    a_questionnaire_not_attached_to_the_invite_is_not_found,
    the_activity_says_who_saved_and_submitted_and_when,
    every_save_is_published_for_the_partner,
    a_save_whose_event_the_bus_refused_is_published_by_the_next_communications_run,
    answers_and_activity_of_an_unknown_opportunity_are_not_found,
);

fn income_and_expenses() -> Value {
    json!({
        "name": "Income and expenses",
        "description": "For the affordability check.",
        "questions": [
            {"id": "employer", "label": "Who is your employer?", "kind": "text", "required": true},
            {"id": "monthly_income", "label": "Monthly income after tax", "kind": "number", "required": true},
            {"id": "employed_since", "label": "Employed since", "kind": "date"},
            {"id": "dependants", "label": "Do you have dependants?", "kind": "yes_no"},
            {"id": "housing", "label": "Where do you live?", "kind": "choice", "required": true,
             "options": ["Renting", "Owner", "Boarding"]},
            {"id": "other_debts", "label": "Other loans or debts", "kind": "long_text",
             "help": "Lender, balance and monthly repayment of each."}
        ]
    })
}

async fn created(app: &TestApp, path: &str, body: Value) -> String {
    let answer = app.post(path, body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body["id"].as_str().unwrap().to_owned()
}

async fn questionnaire(app: &TestApp, body: Value) -> String {
    created(app, "/v1/questionnaires", body).await
}

/// An applicant of a real opportunity, invited with the opportunity's questionnaires.
struct Applicant {
    who: Invitee,
    questionnaire: String,
    attached: Vec<String>,
    /// `/v1/clients/{c}/opportunities/{o}`
    opportunity_path: String,
}

async fn applicant(app: &TestApp) -> Applicant {
    let client_type = created(
        app,
        "/v1/client-types",
        json!({"name": "Personal", "class": "individual"}),
    )
    .await;
    let client = created(
        app,
        "/v1/clients",
        json!({"client_type_id": client_type, "identity": {"kind": "individual", "first_name": "Ana", "last_name": "Smith"}}),
    )
    .await;
    let contact = created(
        app,
        &format!("/v1/clients/{client}/contacts"),
        json!({"name": "Ana Smith", "email": "ana@example.com", "role_id": "primary-contact"}),
    )
    .await;
    let questionnaire = questionnaire(app, income_and_expenses()).await;
    let opportunity = created(
        app,
        &format!("/v1/clients/{client}/opportunities"),
        json!({
            "name": "Car loan",
            "parties": [{"contact_id": contact, "role": "primary_applicant"}],
            "questionnaire_ids": [questionnaire],
        }),
    )
    .await;
    Applicant {
        who: Invitee {
            tenant_id: app.tenant_id.clone(),
            client_id: client.clone(),
            opportunity_id: opportunity.clone(),
            invite_id: "invite-1".into(),
            contact_id: contact,
        },
        attached: vec![questionnaire.clone()],
        questionnaire,
        opportunity_path: format!("/v1/clients/{client}/opportunities/{opportunity}"),
    }
}

fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn complete() -> BTreeMap<String, String> {
    form(&[
        ("employer", "Acme Ltd"),
        ("monthly_income", "4,250.50"),
        ("employed_since", "2021-03-01"),
        ("dependants", "no"),
        ("housing", "Renting"),
        ("other_debts", ""),
    ])
}

impl Applicant {
    async fn save(
        &self,
        app: &TestApp,
        form: &BTreeMap<String, String>,
        submit: bool,
    ) -> Result<questionnaires::Saved, SaveError> {
        questionnaires::save(
            &app.services,
            &self.who,
            &self.questionnaire,
            &self.attached,
            submit,
            |questions| clientwatch_portal::read_form(questions, form),
        )
        .await
    }

    /// The partner's view of the opportunity's answers.
    async fn answers(&self, app: &TestApp) -> Value {
        let answer = app.get(&format!("{}/answers", self.opportunity_path)).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body
    }
}

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .unwrap_or_else(|| panic!("not a time: {value}"))
        .with_timezone(&Utc)
}

#[track_caller]
fn conflict(result: Result<questionnaires::Saved, SaveError>) -> String {
    match result {
        Err(SaveError::Other(Error::Conflict(why))) => why,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn a_questionnaire_is_defined_changed_listed_and_deleted(app: TestApp) {
    let made = app.post("/v1/questionnaires", income_and_expenses()).await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.header("etag"), Some("\"1\""));
    assert_eq!(made.body["questions"][4]["options"][1], "Owner");
    assert_eq!(
        made.body["questions"][2]["required"], false,
        "required defaults to false"
    );
    let path = format!("/v1/questionnaires/{}", made.body["id"].as_str().unwrap());
    assert_eq!(app.get(&path).await.body, made.body);

    let stale = app.patch(&path, "\"7\"", json!({"name": "x"})).await;
    stale.problem(412, "stale");
    let changed = app
        .patch(
            &path,
            "\"1\"",
            json!({"name": "Income, expenses and assets", "description": null}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.header("etag"), Some("\"2\""));
    assert_eq!(changed.body["name"], "Income, expenses and assets");
    assert!(changed.body.get("description").is_none());
    assert_eq!(changed.body["questions"], made.body["questions"]);

    questionnaire(&app, json!({"name": "Assets", "questions": [{"id": "house", "label": "House value", "kind": "number"}]})).await;
    let first = app.get("/v1/questionnaires?limit=1").await;
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("/v1/questionnaires?limit=1&cursor={cursor}"))
        .await;
    assert!(second.body.get("next_cursor").is_none());
    let mut names: Vec<&str> = [&first.body, &second.body]
        .iter()
        .map(|page| page["items"][0]["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["Assets", "Income, expenses and assets"]);

    let delete = |version: &str| {
        axum::http::Request::delete(path.as_str())
            .header("authorization", format!("Bearer {}", app.admin_key))
            .header("if-match", version)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    app.send(delete("\"1\"")).await.problem(412, "stale");
    assert_eq!(app.send(delete("\"2\"")).await.status, 204);
    app.get(&path).await.problem(404, "not-found");
}

async fn a_bad_definition_names_the_field_and_writes_nothing(app: TestApp) {
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = income_and_expenses();
        change(&mut body);
        body
    };
    let cases = [
        (with(&|b| b["name"] = json!(" ")), "name"),
        (with(&|b| b["questions"] = json!([])), "questions"),
        (
            with(&|b| b["questions"][1]["id"] = json!("Monthly income")),
            "questions[1].id",
        ),
        (
            with(&|b| b["questions"][3]["id"] = json!("employer")),
            "questions[3].id",
        ),
        (
            with(&|b| b["questions"][2]["kind"] = json!("colour")),
            "questions[2].kind",
        ),
        (
            with(&|b| b["questions"][4]["options"] = json!(["Renting"])),
            "questions[4].options",
        ),
        (
            with(&|b| b["questions"][4]["options"] = json!(["Renting", "renting "])),
            "questions[4].options[1]",
        ),
        (
            with(&|b| b["questions"][3]["options"] = json!(["Yes", "No"])),
            "questions[3].options",
        ),
        (
            with(&|b| b["questions"][0]["label"] = json!("x".repeat(501))),
            "questions[0].label",
        ),
        (
            with(&|b| b["questions"][0]["colour"] = json!("red")),
            "questions[0]",
        ),
    ];
    for (body, field) in cases {
        let answer = app.post("/v1/questionnaires", body).await;
        let problem = answer.problem(422, "validation");
        assert!(
            problem["errors"][0]["field"]
                .as_str()
                .is_some_and(|f| f == field || f.starts_with(&format!("{field}."))),
            "expected {field}: {problem:#}"
        );
    }
    let listed = app.get("/v1/questionnaires").await;
    assert!(listed.body["items"].as_array().unwrap().is_empty());
}

async fn an_opportunity_lists_only_existing_questionnaires_and_each_once(app: TestApp) {
    let applicant = applicant(&app).await;
    let client = &applicant.who.client_id;
    let path = format!("/v1/clients/{client}/opportunities");
    let theirs = {
        let other_key = app.other_tenant().await;
        let answer = app
            .call(
                axum::http::Method::POST,
                "/v1/questionnaires",
                Some(&other_key),
                Some(income_and_expenses()),
            )
            .await;
        answer.body["id"].as_str().unwrap().to_owned()
    };
    let mine = &applicant.questionnaire;
    for (ids, field) in [
        (
            json!([mine, "no-such-questionnaire"]),
            "questionnaire_ids[1]",
        ),
        (json!([theirs]), "questionnaire_ids[0]"),
        (json!([mine, mine]), "questionnaire_ids[1]"),
    ] {
        let answer = app
            .post(&path, json!({"name": "Loan", "questionnaire_ids": ids}))
            .await;
        assert_eq!(
            answer.problem(422, "validation")["errors"][0]["field"],
            field
        );
    }
    let unknown = app
        .patch(
            &applicant.opportunity_path,
            "\"1\"",
            json!({"questionnaire_ids": [mine, "ghost"]}),
        )
        .await;
    assert_eq!(
        unknown.problem(422, "validation")["errors"][0]["field"],
        "questionnaire_ids[1]"
    );
    let listed = app.get(&path).await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        1,
        "only the applicant's opportunity"
    );
}

async fn a_deleted_questionnaire_does_not_block_changes_to_an_opportunity(app: TestApp) {
    let applicant = applicant(&app).await;
    let gone = app
        .delete(&format!("/v1/questionnaires/{}", applicant.questionnaire))
        .await;
    gone.problem(428, "if-match-required");
    let request =
        axum::http::Request::delete(format!("/v1/questionnaires/{}", applicant.questionnaire))
            .header("authorization", format!("Bearer {}", app.admin_key))
            .header("if-match", "\"1\"")
            .body(axum::body::Body::empty())
            .unwrap();
    assert_eq!(app.send(request).await.status, 204);
    let changed = app
        .patch(
            &applicant.opportunity_path,
            "\"1\"",
            json!({"data": {"amount": "25000.00"}}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        changed.body["questionnaire_ids"],
        json!([applicant.questionnaire])
    );
    // The portal no longer offers it.
    let found = questionnaires::definition_for(
        &app.services,
        &applicant.who,
        &applicant.questionnaire,
        &applicant.attached,
    )
    .await;
    assert!(matches!(found, Err(Error::NotFound("questionnaire"))));
}

async fn an_applicant_saves_a_draft_then_submits_once(app: TestApp) {
    let applicant = applicant(&app).await;
    assert_eq!(applicant.answers(&app).await, json!({"items": []}));

    let draft = form(&[
        ("employer", " Acme Ltd "),
        ("monthly_income", "4,250.50"),
        ("dependants", "yes"),
        ("is_admin", "yes"),
    ]);
    let saved = applicant.save(&app, &draft, false).await.unwrap();
    assert_eq!(saved.answers.status, Status::Draft);

    let body = applicant.answers(&app).await;
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let answers = &items[0];
    assert_eq!(answers["status"], "draft");
    assert_eq!(
        answers["questionnaire_id"],
        applicant.questionnaire.as_str()
    );
    assert_eq!(answers["questionnaire_name"], "Income and expenses");
    assert_eq!(
        answers["answers"],
        json!({"employer": "Acme Ltd", "monthly_income": 4250.5, "dependants": true}),
        "typed values, unknown keys dropped, required ones may wait"
    );
    assert_eq!(
        answers["updated_by"],
        json!({"invite_id": "invite-1", "contact_id": applicant.who.contact_id})
    );
    assert!(answers.get("submitted_at").is_none());

    // The portal reads the draft back to fill its form in again.
    let stored = questionnaires::answers(&app.services, &applicant.who, &applicant.questionnaire)
        .await
        .unwrap()
        .expect("the draft");
    assert_eq!(stored.form()["dependants"], "yes");
    assert_eq!(stored.form()["monthly_income"], "4250.5");

    app.harness.clock.advance(Duration::minutes(5));
    let submitted = applicant.save(&app, &complete(), true).await.unwrap();
    assert_eq!(submitted.answers.status, Status::Submitted);
    let answers = &applicant.answers(&app).await["items"][0];
    assert_eq!(answers["status"], "submitted");
    assert_eq!(
        answers["answers"],
        json!({
            "employer": "Acme Ltd", "monthly_income": 4250.5, "employed_since": "2021-03-01",
            "dependants": false, "housing": "Renting"
        })
    );
    assert_eq!(time(&answers["submitted_at"]), app.harness.clock.now());

    let before = applicant.answers(&app).await;
    assert_eq!(
        conflict(applicant.save(&app, &complete(), true).await),
        "this questionnaire was already submitted"
    );
    assert_eq!(
        conflict(applicant.save(&app, &draft, false).await),
        "this questionnaire was already submitted"
    );
    assert_eq!(applicant.answers(&app).await, before);
}

async fn two_windows_submitting_at_once_submit_once(app: TestApp) {
    let applicant = applicant(&app).await;
    let mine = complete();
    let mut other = complete();
    other.insert("employer".into(), "Other Ltd".into());
    let (first, second) = tokio::join!(
        applicant.save(&app, &mine, true),
        applicant.save(&app, &other, true)
    );
    let (won, lost) = match (first, second) {
        (Ok(saved), lost @ Err(_)) | (lost @ Err(_), Ok(saved)) => (saved, lost),
        (first, second) => panic!("expected one submit to win: {first:?}, {second:?}"),
    };
    assert_eq!(conflict(lost), "this questionnaire was already submitted");
    let answers = &applicant.answers(&app).await["items"][0];
    assert_eq!(
        answers["answers"]["employer"],
        won.answers.answers["employer"]
    );
    let activity = app
        .get(&format!("{}/activity", applicant.opportunity_path))
        .await;
    assert_eq!(activity.body["items"].as_array().unwrap().len(), 1);
}

async fn a_submit_with_wrong_or_missing_answers_names_each_and_changes_nothing(app: TestApp) {
    let applicant = applicant(&app).await;
    applicant
        .save(&app, &form(&[("employer", "Acme Ltd")]), false)
        .await
        .unwrap();
    let before = applicant.answers(&app).await;

    let mut wrong = complete();
    wrong.insert("employed_since".into(), "1/3/2021".into());
    wrong.insert("housing".into(), "Castle".into());
    wrong.remove("monthly_income");
    match applicant.save(&app, &wrong, true).await {
        Err(SaveError::Invalid(errors)) => assert_eq!(
            errors,
            form(&[
                ("employed_since", "Enter a date as YYYY-MM-DD"),
                ("housing", "Choose one of the options"),
                ("monthly_income", "This question needs an answer"),
            ])
        ),
        other => panic!("expected the answers' errors, got {other:?}"),
    }
    // A draft with a malformed answer is refused too; only required answers may wait.
    match applicant
        .save(&app, &form(&[("monthly_income", "lots")]), false)
        .await
    {
        Err(SaveError::Invalid(errors)) => assert_eq!(
            errors,
            form(&[("monthly_income", "Enter a number, such as 1250 or 1250.50")])
        ),
        other => panic!("expected the answers' errors, got {other:?}"),
    }
    assert_eq!(applicant.answers(&app).await, before);
    let activity = app
        .get(&format!("{}/activity", applicant.opportunity_path))
        .await;
    assert_eq!(
        activity.body["items"].as_array().unwrap().len(),
        1,
        "refused saves are not audited"
    );
}

async fn submitted_answers_keep_the_questions_they_answered(app: TestApp) {
    let applicant = applicant(&app).await;
    applicant.save(&app, &complete(), true).await.unwrap();
    let mut definition = income_and_expenses();
    definition["questions"][4]["options"] = json!(["Own home", "Rent"]);
    definition["questions"][0]["label"] = json!("Employer's legal name");
    let changed = app
        .patch(
            &format!("/v1/questionnaires/{}", applicant.questionnaire),
            "\"1\"",
            json!({"questions": definition["questions"]}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let answers = &applicant.answers(&app).await["items"][0];
    assert_eq!(answers["answers"]["housing"], "Renting");
    assert_eq!(
        answers["questions"][4]["options"],
        json!(["Renting", "Owner", "Boarding"])
    );
    assert_eq!(answers["questions"][0]["label"], "Who is your employer?");
}

async fn a_questionnaire_not_attached_to_the_invite_is_not_found(app: TestApp) {
    let applicant = applicant(&app).await;
    let other = questionnaire(
        &app,
        json!({"name": "Assets", "questions": [{"id": "house", "label": "House value", "kind": "number"}]}),
    )
    .await;
    let answers = form(&[("house", "650000")]);
    for (id, attached) in [
        (other.as_str(), applicant.attached.clone()),
        (
            "no-such-questionnaire",
            vec!["no-such-questionnaire".into()],
        ),
    ] {
        let saved = questionnaires::save(
            &app.services,
            &applicant.who,
            id,
            &attached,
            false,
            |questions| clientwatch_portal::read_form(questions, &answers),
        )
        .await;
        assert!(
            matches!(
                saved,
                Err(SaveError::Other(Error::NotFound("questionnaire")))
            ),
            "{id}: {saved:?}"
        );
        let definition =
            questionnaires::definition_for(&app.services, &applicant.who, id, &attached).await;
        assert!(
            matches!(definition, Err(Error::NotFound("questionnaire"))),
            "{id}"
        );
    }
    assert_eq!(applicant.answers(&app).await, json!({"items": []}));
    assert!(app.events.recorded().is_empty());
}

async fn the_activity_says_who_saved_and_submitted_and_when(app: TestApp) {
    let applicant = applicant(&app).await;
    let drafted_at = app.harness.clock.now();
    applicant
        .save(&app, &form(&[("employer", "Acme Ltd")]), false)
        .await
        .unwrap();
    app.harness.clock.advance(Duration::minutes(12));
    let submitted_at = app.harness.clock.now();
    applicant.save(&app, &complete(), true).await.unwrap();

    let path = format!("{}/activity", applicant.opportunity_path);
    let first = app.get(&format!("{path}?limit=1")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app.get(&format!("{path}?limit=1&cursor={cursor}")).await;
    assert!(second.body.get("next_cursor").is_none());
    let entries = [&first.body["items"][0], &second.body["items"][0]];
    for (entry, (action, at)) in entries.iter().zip([
        ("questionnaire_draft_saved", drafted_at),
        ("questionnaire_submitted", submitted_at),
    ]) {
        assert_eq!(entry["action"], action);
        assert_eq!(time(&entry["at"]), at);
        assert_eq!(entry["invite_id"], "invite-1");
        assert_eq!(entry["contact_id"], applicant.who.contact_id.as_str());
        assert_eq!(
            entry["detail"],
            json!({"questionnaire_id": applicant.questionnaire, "questionnaire_name": "Income and expenses"})
        );
    }
    assert_eq!(
        app.get(&path).await.body["items"].as_array().unwrap().len(),
        2
    );
}

async fn every_save_is_published_for_the_partner(app: TestApp) {
    let applicant = applicant(&app).await;
    let draft = applicant
        .save(&app, &form(&[("employer", "Acme Ltd")]), false)
        .await
        .unwrap();
    let submit = applicant.save(&app, &complete(), true).await.unwrap();
    let events = app.events.recorded();
    let updates: Vec<_> = events
        .iter()
        .filter(|e| e.detail_type == audit::UPDATED_EVENT)
        .collect();
    assert_eq!(audit::UPDATED_EVENT, "CustomerCentreUpdated");
    assert_eq!(updates.len(), 2, "{events:?}");
    for (event, (saved, action)) in updates.iter().zip([
        (&draft, "questionnaire_draft_saved"),
        (&submit, "questionnaire_submitted"),
    ]) {
        let detail = &event.detail;
        assert_eq!(detail["tenant_id"], app.tenant_id.as_str());
        assert_eq!(detail["client_id"], applicant.who.client_id.as_str());
        assert_eq!(
            detail["opportunity_id"],
            applicant.who.opportunity_id.as_str()
        );
        assert_eq!(detail["invite_id"], "invite-1");
        assert_eq!(detail["contact_id"], applicant.who.contact_id.as_str());
        assert_eq!(detail["questionnaire_id"], applicant.questionnaire.as_str());
        assert_eq!(detail["questionnaire_name"], "Income and expenses");
        assert_eq!(detail["action"], action);
        assert_eq!(detail["audit_id"], saved.entry.id.as_str());
        assert_eq!(event.time, saved.answers.updated_at);
    }
}

async fn answers_and_activity_of_an_unknown_opportunity_are_not_found(app: TestApp) {
    let applicant = applicant(&app).await;
    let client = &applicant.who.client_id;
    for tail in ["answers", "activity"] {
        app.get(&format!("/v1/clients/{client}/opportunities/ghost/{tail}"))
            .await
            .problem(404, "not-found");
        app.get(&format!(
            "/v1/clients/ghost/opportunities/{}/{tail}",
            applicant.who.opportunity_id
        ))
        .await
        .problem(404, "not-found");
    }
}

/// An event bus that refuses every event.
struct DownBus;

impl Gate for DownBus {
    fn enter(&self, call: &Call<'_>) -> Verdict {
        match call {
            Call::Publish(_) => Verdict::Fail(Injected("the event bus is down (injected)")),
            _ => Verdict::Go,
        }
    }
}

async fn a_save_whose_event_the_bus_refused_is_published_by_the_next_communications_run(
    app: TestApp,
) {
    let applicant = applicant(&app).await;
    let mut down = app.services.clone();
    down.events = std::sync::Arc::new(Faulty::new(
        app.services.events.clone(),
        std::sync::Arc::new(DownBus),
    ));
    // The save stands; its event waits in the outbox.
    let saved = questionnaires::save(
        &down,
        &applicant.who,
        &applicant.questionnaire,
        &applicant.attached,
        false,
        |questions| clientwatch_portal::read_form(questions, &form(&[("employer", "Acme Ltd")])),
    )
    .await
    .unwrap();
    assert!(app.events.recorded().is_empty());
    let today = app.harness.clock.now().date_naive();
    let report = clientwatch::comms::run::run_day(&app.services, today, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(report.events_published, 1, "{report:?}");
    let events = app.events.recorded();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].detail_type, audit::UPDATED_EVENT);
    assert_eq!(events[0].detail["audit_id"], saved.entry.id.as_str());
    assert!(events[0].detail["event_id"].is_string());
    let again = clientwatch::comms::run::run_day(&app.services, today, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(again.events_published, 0);
    assert_eq!(app.events.recorded().len(), 1);
}
