//! Answers to a questionnaire: kept per opportunity and questionnaire, checked against the
//! questions they answer, saved as drafts or submitted once, each save with its audit entry.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::super::audit::{self, Action, Invitee};
use crate::Services;
use crate::domain::{Error, Result, input};
use crate::keys;
use crate::ports::{Condition, Item, Key, Query, SortKey, TableError, TxOp};
use crate::records::opportunities;
use crate::records::resource;

use super::{
    MAX_ANSWERS_BYTES, MAX_LONG_TEXT, MAX_TEXT, Question, QuestionKind, Questionnaire, WHAT, get,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Saved, may be incomplete, may still change.
    Draft,
    /// Final: never changes again.
    Submitted,
}

/// Who saved answers: the invite the customer came through and the contact it was sent to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnsweredBy {
    pub invite_id: String,
    pub contact_id: String,
}

/// One applicant's answers to one questionnaire of an opportunity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answers {
    pub questionnaire_id: String,
    pub questionnaire_name: String,
    pub opportunity_id: String,
    pub status: Status,
    /// By question id, typed by the question's kind; unanswered questions are absent.
    pub answers: BTreeMap<String, Value>,
    /// The questions as they were when answered, so that a later change of the definition
    /// does not change what these answers meant.
    pub questions: Vec<Question>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: AnsweredBy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<DateTime<Utc>>,
}

impl Answers {
    /// The answers as a form would post them (`yes`/`no`, numbers and dates as text), to fill
    /// in the portal's form again.
    pub fn form(&self) -> BTreeMap<String, String> {
        self.answers
            .iter()
            .map(|(id, value)| {
                let text = match value {
                    Value::Bool(true) => "yes".to_owned(),
                    Value::Bool(false) => "no".to_owned(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (id.clone(), text)
            })
            .collect()
    }
}

/// What a save did: the answers as stored now, and the audit entry recording it.
#[derive(Clone, Debug, PartialEq)]
pub struct Saved {
    pub answers: Answers,
    pub entry: audit::Entry,
}

/// Why a save did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Answers the customer must correct, each message keyed by its question's id and worded
    /// for them; nothing was saved.
    #[error("{} answer(s) need correcting", .0.len())]
    Invalid(BTreeMap<String, String>),
    /// Anything else: not found, already submitted (`Conflict`), the store.
    #[error(transparent)]
    Other(#[from] Error),
}

impl From<TableError> for SaveError {
    fn from(e: TableError) -> Self {
        Self::Other(e.into())
    }
}

fn answers_key(who: &Invitee, questionnaire_id: &str) -> Key {
    keys::answers(
        &who.tenant_id,
        &who.client_id,
        &who.opportunity_id,
        questionnaire_id,
    )
}

/// The customer's answers to a questionnaire of their opportunity, if they saved any.
pub async fn answers(
    svc: &Services,
    who: &Invitee,
    questionnaire_id: &str,
) -> Result<Option<Answers>> {
    match svc.table.get(&answers_key(who, questionnaire_id)).await? {
        Some(item) => Ok(Some(item.record()?)),
        None => Ok(None),
    }
}

/// The definition of a questionnaire attached to the customer's invite. One not in `attached`
/// is "not found", exactly like one that does not exist, so a customer cannot reach others.
pub async fn definition_for(
    svc: &Services,
    who: &Invitee,
    questionnaire_id: &str,
    attached: &[String],
) -> Result<Questionnaire> {
    if !attached.iter().any(|id| id == questionnaire_id) {
        return Err(Error::NotFound(WHAT));
    }
    get(svc, &who.tenant_id, questionnaire_id).await
}

/// Answers as a customer gave them, read against the questions by whatever took them in (the
/// portal reads its form), before [`check`] holds them to the questions' rules.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entered {
    /// By question id, typed by the question's kind; unanswered questions are absent.
    pub answers: BTreeMap<String, Value>,
    /// Answers that could not be read, by question id: what the customer should do instead.
    pub unreadable: BTreeMap<String, String>,
}

/// Saves the customer's answers as a draft, or submits them (`submit`). `read` turns what
/// they entered into [`Entered`] answers, given the questions as they are now (the portal
/// reads its form with it). Drafts may leave required questions out; every problem with the
/// answers is returned at once. A submitted questionnaire is final.
///
/// The answers are written, conditioned on the version read here (so a save racing another
/// window's submit cannot reopen it), together with the audit entry in one transaction.
pub async fn save(
    svc: &Services,
    who: &Invitee,
    questionnaire_id: &str,
    attached: &[String],
    submit: bool,
    read: impl FnOnce(&[Question]) -> Entered,
) -> Result<Saved, SaveError> {
    if !attached.iter().any(|id| id == questionnaire_id) {
        return Err(Error::NotFound(WHAT).into());
    }
    let answers_key = answers_key(who, questionnaire_id);
    let found = svc
        .table
        .batch_get(&[
            keys::questionnaire(&who.tenant_id, questionnaire_id),
            answers_key.clone(),
        ])
        .await?;
    let [definition, current] = <[Option<Item>; 2]>::try_from(found)
        .map_err(|_| Error::Store(TableError::Invalid("a batch read lost keys".into())))?;
    // Final answers stay final, even once their definition is gone.
    let condition = match &current {
        Some(item) if item.record::<Answers>()?.status == Status::Submitted => {
            return Err(already_submitted().into());
        }
        Some(item) => Condition::VersionIs(item.version),
        None => Condition::Absent,
    };
    let version = current.as_ref().map_or(1, |item| item.version + 1);
    let definition: Questionnaire = resource::from_item(&definition.ok_or(Error::NotFound(WHAT))?)?;
    let entered = read(&definition.spec.questions);
    let values = check(&definition.spec.questions, entered, submit).map_err(SaveError::Invalid)?;

    let (action, status) = if submit {
        (Action::QuestionnaireSubmitted, Status::Submitted)
    } else {
        (Action::QuestionnaireDraftSaved, Status::Draft)
    };
    let entry = audit::Entry::new(
        svc,
        who,
        action,
        json!({"questionnaire_id": definition.id, "questionnaire_name": definition.spec.name}),
    );
    let answers = Answers {
        questionnaire_id: definition.id.clone(),
        questionnaire_name: definition.spec.name.clone(),
        opportunity_id: who.opportunity_id.clone(),
        status,
        answers: values,
        questions: definition.spec.questions.clone(),
        updated_at: entry.at,
        updated_by: AnsweredBy {
            invite_id: who.invite_id.clone(),
            contact_id: who.contact_id.clone(),
        },
        submitted_at: submit.then_some(entry.at),
    };
    if let Some(errors) = too_large(&answers) {
        return Err(SaveError::Invalid(errors));
    }
    let item = Item::from_record(answers_key.clone(), &answers)?.with_version(version);
    match audit::commit(svc, who, vec![TxOp::Put(item, condition)], &entry).await {
        Ok(()) => {}
        // The answers and their entry are written; only the event failed. `commit`'s one
        // non-store error is that publish, so the save stands and the failure is logged.
        Err(Error::Unavailable(what, e)) => {
            tracing::warn!(
                error = %e,
                audit_id = %entry.id,
                "{what}: {} not published",
                audit::UPDATED_EVENT
            );
        }
        // The answers' version is the only condition `commit` can fail (its audit entry is
        // new by its id).
        Err(Error::Store(TableError::TransactionFailed { .. })) => {
            return Err(lost_race(svc, &answers_key).await.into());
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Saved { answers, entry })
}

fn already_submitted() -> Error {
    Error::Conflict("this questionnaire was already submitted".into())
}

/// Another save of the same answers was written between our read and our write.
async fn lost_race(svc: &Services, answers_key: &Key) -> Error {
    let submitted = match svc.table.get(answers_key).await {
        Ok(Some(item)) => item
            .record::<Answers>()
            .is_ok_and(|a| a.status == Status::Submitted),
        _ => false,
    };
    if submitted {
        return already_submitted();
    }
    Error::Conflict(
        "these answers were saved in another window at the same moment; reload to see them".into(),
    )
}

/// Refuses answers too long to store together, naming the longest one for the customer.
pub(super) fn too_large(answers: &Answers) -> Option<BTreeMap<String, String>> {
    let size = serde_json::to_vec(answers).map_or(usize::MAX, |json| json.len());
    if size <= MAX_ANSWERS_BYTES {
        return None;
    }
    let longest = answers
        .answers
        .iter()
        .max_by_key(|(_, value)| value.as_str().map_or(0, str::len))?;
    Some(BTreeMap::from([(
        longest.0.clone(),
        "Your answers are too long to save together; please shorten this one".to_owned(),
    )]))
}

/// Holds answers to `questions`: each to its question's kind and limits, unanswered ones left
/// out, keys that are no question dropped; with `submit`, required questions must be answered.
/// Every problem is returned (those `entered` could not read among them), by question id,
/// worded for the customer.
pub fn check(
    questions: &[Question],
    entered: Entered,
    submit: bool,
) -> Result<BTreeMap<String, Value>, BTreeMap<String, String>> {
    let Entered {
        mut answers,
        mut unreadable,
    } = entered;
    let mut values = BTreeMap::new();
    let mut errors = BTreeMap::new();
    for question in questions {
        if let Some(problem) = unreadable.remove(&question.id) {
            errors.insert(question.id.clone(), problem);
            continue;
        }
        match answers.remove(&question.id) {
            None if submit && question.required => {
                errors.insert(
                    question.id.clone(),
                    "This question needs an answer".to_owned(),
                );
            }
            None => {}
            Some(value) => match check_answer(question, &value) {
                Ok(()) => {
                    values.insert(question.id.clone(), value);
                }
                Err(message) => {
                    errors.insert(question.id.clone(), message);
                }
            },
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// One answer against its question: the kind's type and limits, or what the customer should
/// do instead.
fn check_answer(question: &Question, value: &Value) -> Result<(), String> {
    let within = |text: &str, max: usize| {
        if text.chars().count() <= max {
            Ok(())
        } else {
            Err(format!("Use at most {max} characters"))
        }
    };
    match (question.kind, value) {
        (QuestionKind::Text, Value::String(text)) => {
            if input::characters_problem(text, false).is_some() {
                return Err("Use one line of ordinary text".to_owned());
            }
            within(text, MAX_TEXT)
        }
        (QuestionKind::Text, _) => Err("Use one line of ordinary text".to_owned()),
        (QuestionKind::LongText, Value::String(text)) => {
            if input::characters_problem(text, true).is_some() {
                return Err("Use ordinary text".to_owned());
            }
            within(text, MAX_LONG_TEXT)
        }
        (QuestionKind::LongText, _) => Err("Use ordinary text".to_owned()),
        // The form's rule for numbers, held to the number as stored.
        (QuestionKind::Number, Value::Number(n)) => input::form_number(&n.to_string()).map(drop),
        (QuestionKind::Number, _) => Err("Enter a number, such as 1250 or 1250.50".to_owned()),
        (QuestionKind::Date, Value::String(text)) => {
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| "Enter a date as YYYY-MM-DD".to_owned())?;
            if !(input::YEAR_MIN..=input::YEAR_MAX).contains(&date.year()) {
                return Err(format!(
                    "Enter a date between {} and {}",
                    input::YEAR_MIN,
                    input::YEAR_MAX
                ));
            }
            Ok(())
        }
        (QuestionKind::Date, _) => Err("Enter a date as YYYY-MM-DD".to_owned()),
        (QuestionKind::YesNo, Value::Bool(_)) => Ok(()),
        (QuestionKind::YesNo, _) => Err("Choose yes or no".to_owned()),
        (QuestionKind::Choice, Value::String(option)) if question.options.contains(option) => {
            Ok(())
        }
        (QuestionKind::Choice, _) => Err("Choose one of the options".to_owned()),
    }
}

/// Every questionnaire's answers of an opportunity, for its partner (at most one item per
/// attached questionnaire, so one small query).
pub async fn answers_of(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    opportunity_id: &str,
) -> Result<Vec<Answers>> {
    opportunities::get(svc.table.as_ref(), tenant_id, client_id, opportunity_id).await?;
    let query = Query::partition(keys::client_pk(tenant_id, client_id))
        .sk(SortKey::BeginsWith(keys::answers_of(opportunity_id)));
    svc.table
        .query_all(query)
        .await?
        .iter()
        .map(|item| item.record().map_err(Error::from))
        .collect()
}
