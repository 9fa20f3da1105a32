//! The questionnaires attached to a customer's invite: a form per questionnaire (save a draft,
//! submit once), read-only after it was submitted.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use clientwatch::Services;
use clientwatch::centre::access::Visit;
use clientwatch::centre::questionnaires::{self, SaveError, Status};
use clientwatch::domain::{Error, Result};

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
        &answers,
        submit,
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
    html(StatusCode::OK, pages::done(&visit.company_name, &name))
}
