//! The questionnaires attached to a customer's invite: a form per questionnaire (save a draft,
//! submit once), read-only after it was submitted. The form's text is read into typed answers
//! here ([`read_form`]); the shared crate holds them to the questions' rules and stores them.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use chrono::NaiveDate;
use clientwatch::Services;
use clientwatch::centre::access::Visit;
use clientwatch::centre::questionnaires::{
    self, Entered, Question, QuestionKind, SaveError, Status,
};
use clientwatch::domain::{Error, Result, input};
use serde_json::Value;

use crate::shown::DateParts;
use crate::{FormData, failed, form_map, html, not_found, pages, signed_in, signed_in_form};

/// (id, name, status shown, submitted) of each questionnaire on the invite that still exists.
pub(crate) async fn listed(
    svc: &Services,
    visit: &Visit,
) -> Result<Vec<(String, String, String, bool)>> {
    let mut listed = Vec::new();
    for id in &visit.questionnaire_ids {
        let definition =
            match questionnaires::definition_for(svc, &visit.who, id, &visit.questionnaire_ids)
                .await
            {
                Ok(d) => d,
                Err(Error::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
        let (status, done) = match questionnaires::answers(svc, &visit.who, id).await? {
            None => ("Not started", false),
            Some(a) if a.status == Status::Submitted => ("Submitted", true),
            Some(_) => ("Draft saved", false),
        };
        listed.push((id.clone(), definition.spec.name, status.to_owned(), done));
    }
    Ok(listed)
}

pub(crate) async fn show(
    State(svc): State<Services>,
    Path(id): Path<String>,
    jar: CookieJar,
) -> Response {
    let (visit, _) = match signed_in(&svc, &jar).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    page(&svc, &visit, &id, StatusCode::OK, None, &[], None).await
}

/// The questionnaire's page: its form (with `entered` values and `errors` when given), or its
/// answers read-only once submitted.
async fn page(
    svc: &Services,
    visit: &Visit,
    id: &str,
    status: StatusCode,
    entered: Option<&BTreeMap<String, String>>,
    errors: &[(String, String)],
    notice: Option<&str>,
) -> Response {
    let definition =
        match questionnaires::definition_for(svc, &visit.who, id, &visit.questionnaire_ids).await {
            Ok(d) => d,
            Err(Error::NotFound(_)) => return not_found().await,
            Err(e) => return failed(e),
        };
    let saved = match questionnaires::answers(svc, &visit.who, id).await {
        Ok(saved) => saved,
        Err(e) => return failed(e),
    };
    if let Some(answers) = saved.as_ref().filter(|a| a.status == Status::Submitted) {
        return html(
            status,
            pages::submitted(
                &visit.company_name,
                &visit.csrf,
                &answers.questionnaire_name,
                &answers.questions,
                &answers.form(),
            ),
        );
    }
    let values = match entered {
        Some(entered) => entered.clone(),
        None => saved.map(|a| a.form()).unwrap_or_default(),
    };
    html(
        status,
        pages::questionnaire(&pages::QuestionnaireForm {
            company: &visit.company_name,
            id,
            name: &definition.spec.name,
            description: definition.spec.description.as_deref(),
            questions: &definition.spec.questions,
            csrf: &visit.csrf,
            values: &values,
            errors,
            notice,
        }),
    )
}

pub(crate) async fn save(
    State(svc): State<Services>,
    Path(id): Path<String>,
    jar: CookieJar,
    form: FormData,
) -> Response {
    let form = form_map(form);
    let (visit, _) = match signed_in_form(&svc, &jar, &form).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let submit = form.get("action").map(String::as_str) == Some("submit");
    let answers: BTreeMap<String, String> = form
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("q.").map(|k| (k.to_owned(), v.clone())))
        .collect();
    match questionnaires::save(
        &svc,
        &visit.who,
        &id,
        &visit.questionnaire_ids,
        submit,
        |questions| read_form(questions, &answers),
    )
    .await
    {
        Ok(_) if submit => Redirect::to(&format!("/app/done?q={id}")).into_response(),
        Ok(_) => {
            page(
                &svc,
                &visit,
                &id,
                StatusCode::OK,
                None,
                &[],
                Some("Your answers were saved. You can come back and finish them later."),
            )
            .await
        }
        Err(SaveError::Invalid(problems)) => {
            let errors: Vec<(String, String)> = problems.into_iter().collect();
            page(
                &svc,
                &visit,
                &id,
                StatusCode::BAD_REQUEST,
                Some(&answers),
                &errors,
                None,
            )
            .await
        }
        Err(SaveError::Other(Error::NotFound(_))) => not_found().await,
        Err(SaveError::Other(Error::Conflict(why))) => {
            page(
                &svc,
                &visit,
                &id,
                StatusCode::CONFLICT,
                None,
                &[],
                Some(&why),
            )
            .await
        }
        Err(SaveError::Other(e)) => failed(e),
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct Done {
    q: Option<String>,
}

pub(crate) async fn done(
    State(svc): State<Services>,
    Query(done): Query<Done>,
    jar: CookieJar,
) -> Response {
    let (visit, _) = match signed_in(&svc, &jar).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let name = match done.q {
        Some(id) => {
            match questionnaires::definition_for(&svc, &visit.who, &id, &visit.questionnaire_ids)
                .await
            {
                Ok(d) => d.spec.name,
                Err(_) => "the questions".to_owned(),
            }
        }
        None => "the questions".to_owned(),
    };
    html(
        StatusCode::OK,
        pages::done(&visit.company_name, &visit.csrf, &name),
    )
}

/// Reads a posted form against `questions`: a string per question id (`yes`/`no` for yes-or-no
/// questions), each trimmed and read by its question's kind; empty or missing ones are
/// unanswered, keys that are no question are not read. A date comes in three parts,
/// `{id}.day`, `{id}.month` and `{id}.year` (the page's three boxes; a problem names the part
/// that is wrong), or as one `YYYY-MM-DD` under `{id}`.
pub fn read_form(questions: &[Question], form: &BTreeMap<String, String>) -> Entered {
    let mut entered = Entered::default();
    for question in questions {
        let read = if question.kind == QuestionKind::Date && DateParts::posted(form, &question.id) {
            DateParts::of(form, &question.id)
                .read()
                .map(|day| day.map(|d| Value::String(d.format("%Y-%m-%d").to_string())))
                .map_err(|(_, why)| why)
        } else {
            let raw = form.get(&question.id).map(String::as_str).unwrap_or("");
            let raw = raw.trim();
            if raw.is_empty() {
                Ok(None)
            } else {
                convert(question, raw).map(Some)
            }
        };
        match read {
            Ok(None) => {}
            Ok(Some(value)) => {
                entered.answers.insert(question.id.clone(), value);
            }
            Err(message) => {
                entered.unreadable.insert(question.id.clone(), message);
            }
        }
    }
    entered
}

/// One non-empty, trimmed answer read as its question's kind stores it, or what the customer
/// should type instead. (Lengths, characters and the dates' years are the shared crate's
/// `check`.)
fn convert(question: &Question, raw: &str) -> std::result::Result<Value, String> {
    match question.kind {
        QuestionKind::Text => Ok(Value::String(raw.to_owned())),
        // Browsers post line breaks as CRLF; keep (and count) each as one character.
        QuestionKind::LongText => Ok(Value::String(raw.replace("\r\n", "\n"))),
        QuestionKind::Number => input::form_number(raw),
        QuestionKind::Date => date(raw).map(|d| Value::String(d.format("%Y-%m-%d").to_string())),
        QuestionKind::YesNo => match raw.to_ascii_lowercase().as_str() {
            "yes" => Ok(Value::Bool(true)),
            "no" => Ok(Value::Bool(false)),
            _ => Err("Choose yes or no".to_owned()),
        },
        QuestionKind::Choice => question
            .options
            .iter()
            .find(|o| o.as_str() == raw)
            .or_else(|| {
                question
                    .options
                    .iter()
                    .find(|o| o.eq_ignore_ascii_case(raw))
            })
            .map(|o| Value::String(o.clone()))
            .ok_or_else(|| "Choose one of the options".to_owned()),
    }
}

/// A date written `YYYY-MM-DD` that exists on the calendar.
fn date(raw: &str) -> std::result::Result<NaiveDate, String> {
    let b = raw.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return Err("Enter a date as YYYY-MM-DD".to_owned());
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| "This date does not exist".to_owned())
}

#[cfg(test)]
mod tests {
    //! The form read and held to the shared rules together, as a save does.
    use super::*;
    use chrono::Utc;
    use clientwatch::centre::questionnaires::{AnsweredBy, Answers};
    use serde_json::json;

    /// What a save keeps of a posted form, or the problems it shows.
    fn read_form(
        questions: &[Question],
        form: &BTreeMap<String, String>,
        submit: bool,
    ) -> std::result::Result<BTreeMap<String, Value>, BTreeMap<String, String>> {
        questionnaires::check(questions, super::read_form(questions, form), submit)
    }

    /// One answer as a save reads and checks it.
    fn convert(question: &Question, raw: &str) -> std::result::Result<Value, String> {
        let form = BTreeMap::from([(question.id.clone(), raw.to_owned())]);
        match read_form(std::slice::from_ref(question), &form, false) {
            Ok(mut values) => Ok(values.remove(&question.id).expect("an answer")),
            Err(mut errors) => Err(errors.remove(&question.id).expect("a problem")),
        }
    }

    fn question(id: &str, kind: QuestionKind) -> Question {
        Question {
            id: id.into(),
            label: format!("What is your {id}?"),
            help: None,
            kind,
            required: false,
            options: if kind == QuestionKind::Choice {
                vec!["Renting".into(), "Owner".into(), "Boarding".into()]
            } else {
                Vec::new()
            },
        }
    }

    fn every_kind() -> Vec<Question> {
        use QuestionKind::*;
        vec![
            question("employer", Text),
            question("history", LongText),
            question("income", Number),
            question("started", Date),
            question("dependants", YesNo),
            question("housing", Choice),
        ]
    }

    fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn each_kind_is_stored_typed() {
        let values = read_form(
            &every_kind(),
            &form(&[
                ("employer", "  Acme Ltd "),
                ("history", "Line one\r\nLine two"),
                ("income", "85,250.50"),
                ("started", "2021-03-01"),
                ("dependants", "No"),
                ("housing", "owner"),
            ]),
            true,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&values).unwrap(),
            json!({
                "employer": "Acme Ltd",
                "history": "Line one\nLine two",
                "income": 85250.5,
                "started": "2021-03-01",
                "dependants": false,
                "housing": "Owner",
            })
        );
    }

    #[test]
    fn numbers_are_read_by_the_form_number_rule() {
        let income = question("income", QuestionKind::Number);
        assert_eq!(convert(&income, "25,000"), Ok(json!(25000)));
        for (typed, why) in [
            ("-3", "0 or more"),
            ("lots", "such as"),
            ("1.005", "two decimals"),
        ] {
            assert!(
                convert(&income, typed).unwrap_err().contains(why),
                "{typed}"
            );
        }
        let started = question("started", QuestionKind::Date);
        assert!(
            convert(&started, "0001-01-01")
                .unwrap_err()
                .contains("between")
        );
        let employer = question("employer", QuestionKind::Text);
        assert!(convert(&employer, "Kauri\u{202E}Mills").is_err());
    }

    #[test]
    fn wrong_answers_say_what_to_do_and_all_come_back_at_once() {
        let errors = read_form(
            &every_kind(),
            &form(&[
                ("employer", &"x".repeat(501)),
                ("history", &"x".repeat(5001)),
                ("income", "lots"),
                ("started", "1/3/2021"),
                ("dependants", "maybe"),
                ("housing", "Castle"),
            ]),
            false,
        )
        .unwrap_err();
        assert_eq!(
            errors,
            form(&[
                ("employer", "Use at most 500 characters"),
                ("history", "Use at most 5000 characters"),
                ("income", "Enter a number, such as 1250 or 1250.50"),
                ("started", "Enter a date as YYYY-MM-DD"),
                ("dependants", "Choose yes or no"),
                ("housing", "Choose one of the options"),
            ])
        );
        let errors =
            read_form(&every_kind(), &form(&[("started", "2026-02-30")]), false).unwrap_err();
        assert_eq!(errors["started"], "This date does not exist");
    }

    #[test]
    fn a_date_is_read_from_its_three_boxes_and_a_problem_names_the_wrong_part() {
        let started = question("started", QuestionKind::Date);
        let boxes = |day: &str, month: &str, year: &str| {
            form(&[
                ("started.day", day),
                ("started.month", month),
                ("started.year", year),
            ])
        };
        let read = |posted: &BTreeMap<String, String>| {
            read_form(std::slice::from_ref(&started), posted, false)
        };
        assert_eq!(
            read(&boxes("27", "3", "2007")),
            Ok(BTreeMap::from([("started".into(), json!("2007-03-27"))]))
        );
        assert_eq!(
            read(&boxes(" 1 ", "march", " 2019")),
            Ok(BTreeMap::from([("started".into(), json!("2019-03-01"))]))
        );
        assert_eq!(read(&boxes("", "", "")), Ok(BTreeMap::new()), "unanswered");
        for (day, month, year, why) in [
            ("27", "", "2007", "The date must include a month"),
            ("27", "3", "", "The date must include a year"),
            (
                "twenty",
                "3",
                "2007",
                "Enter the day as a number, such as 27",
            ),
            ("27", "13", "2007", "Enter a month from 1 to 12"),
            ("27", "3", "07", "Enter the year as 4 digits, such as 2007"),
            (
                "30",
                "2",
                "2026",
                "The date must be a real date: February 2026 has 28 days",
            ),
            // The shared rule for years still holds.
            ("1", "1", "0001", "Enter a date between"),
        ] {
            let problems = read(&boxes(day, month, year)).unwrap_err();
            assert!(
                problems["started"].starts_with(why),
                "{day} {month} {year}: {problems:?}"
            );
        }
        // Required: empty boxes are no answer to submit.
        let mut needed = started.clone();
        needed.required = true;
        let problems =
            read_form(std::slice::from_ref(&needed), &boxes("", " ", ""), true).unwrap_err();
        assert_eq!(problems["started"], "This question needs an answer");
        // One `YYYY-MM-DD` text (what the stored answers fill in) is still read.
        assert_eq!(
            read(&form(&[("started", "2021-03-01")])),
            Ok(BTreeMap::from([("started".into(), json!("2021-03-01"))]))
        );
    }

    #[test]
    fn required_answers_are_needed_only_to_submit() {
        let mut questions = every_kind();
        questions[0].required = true;
        questions[2].required = true;
        let partial = form(&[("employer", "   "), ("dependants", "yes")]);
        let draft = read_form(&questions, &partial, false).unwrap();
        assert_eq!(draft, BTreeMap::from([("dependants".into(), json!(true))]));
        let errors = read_form(&questions, &partial, true).unwrap_err();
        assert_eq!(
            errors,
            form(&[
                ("employer", "This question needs an answer"),
                ("income", "This question needs an answer"),
            ])
        );
    }

    #[test]
    fn keys_that_are_no_question_are_not_stored() {
        let values = read_form(
            &every_kind(),
            &form(&[
                ("employer", "Acme"),
                ("csrf_token", "abc"),
                ("is_admin", "yes"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(values.keys().collect::<Vec<_>>(), ["employer"]);
    }

    #[test]
    fn stored_answers_fill_the_form_again_as_it_was_posted() {
        let posted = form(&[
            ("employer", "Acme Ltd"),
            ("income", "85250.5"),
            ("started", "2021-03-01"),
            ("dependants", "no"),
            ("housing", "Owner"),
        ]);
        let answers = Answers {
            questionnaire_id: "q".into(),
            questionnaire_name: "Q".into(),
            opportunity_id: "o".into(),
            status: Status::Draft,
            answers: read_form(&every_kind(), &posted, false).unwrap(),
            questions: every_kind(),
            updated_at: Utc::now(),
            updated_by: AnsweredBy {
                invite_id: "i".into(),
                contact_id: "c".into(),
            },
            submitted_at: None,
        };
        assert_eq!(answers.form(), posted);
    }
}
