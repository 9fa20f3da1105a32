//! Questionnaires: a tenant's question sets, attached to opportunities, and the answers an
//! invited applicant gives in the Customer Centre.
//!
//! A definition is a tenant resource (`T#{t}` / `QNR#{id}`) managed by partners. Deleting one
//! is allowed even while opportunities list it: answers keep a copy of the questions they
//! answered, an opportunity keeps the id it already had (only newly attached ids must exist),
//! and the portal then finds the questionnaire "not found" and no longer offers it.
//!
//! Answers are kept per opportunity and questionnaire in the client's partition
//! (`ANSWERS#{opportunity}#{questionnaire}`). A customer may save an incomplete draft as often
//! as they like; submitting needs every required answer and is final. Each save is written
//! with its audit entry in one transaction and published as `CustomerCentreUpdated`.
//!
//! Definitions are here; answers, their checks and saving them are in [`answers`].

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Services;
use crate::domain::resource::Resource;
use crate::domain::{Error, Result, text};
use crate::keys;
use crate::ports::{Condition, Cursor, Key};
use crate::records::resource;

mod answers;

pub use answers::*;

const WHAT: &str = "questionnaire";
const MAX_QUESTIONS: usize = 100;
const MAX_TEXT: usize = 500;
const MAX_LONG_TEXT: usize = 5000;
/// A definition's stored size: answers carry a copy of it, and it should leave them most of
/// their item.
const MAX_DEFINITION_BYTES: usize = 100_000;
/// An answers item's stored size, below DynamoDB's 400 KB item limit (attribute names count).
const MAX_ANSWERS_BYTES: usize = 350_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionnaireSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub questions: Vec<Question>,
}

pub type Questionnaire = Resource<QuestionnaireSpec>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// The answer's key (also the form field's name): 1 to 64 of `a-z`, `0-9` and `_`.
    pub id: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    pub kind: QuestionKind,
    /// Needed to submit; a draft may leave it out.
    #[serde(default)]
    pub required: bool,
    /// The choices of a `choice` question (2 to 50, distinct); no other kind has options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// What a question asks for, and so how its answer is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// One line, at most 500 characters; stored as a string.
    Text,
    /// Paragraphs, at most 5000 characters; stored as a string.
    LongText,
    /// A decimal number; stored as a JSON number.
    Number,
    /// A calendar date; stored as a `YYYY-MM-DD` string.
    Date,
    /// Stored as `true` or `false`; a form posts `yes` or `no`.
    YesNo,
    /// One of the question's options; stored as that option.
    Choice,
}

impl QuestionnaireSpec {
    fn checked(mut self) -> Result<Self> {
        self.name = text("name", &self.name, 200)?;
        self.description = optional("description", self.description, 2000)?;
        if self.questions.is_empty() || self.questions.len() > MAX_QUESTIONS {
            return Err(Error::invalid(
                "questions",
                format!("a questionnaire has 1 to {MAX_QUESTIONS} questions"),
            ));
        }
        let mut ids = HashMap::new();
        for (i, question) in self.questions.iter_mut().enumerate() {
            let field = |name: &str| format!("questions[{i}].{name}");
            let id = &question.id;
            if id.is_empty()
                || id.len() > 64
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(Error::invalid(
                    field("id"),
                    "must be 1 to 64 of the characters a-z, 0-9 and _",
                ));
            }
            if let Some(first) = ids.insert(id.clone(), i) {
                return Err(Error::invalid(
                    field("id"),
                    format!("questions[{first}] already has this id"),
                ));
            }
            question.label = text(field("label"), &question.label, 500)?;
            question.help = optional(&field("help"), question.help.take(), 1000)?;
            question.options = checked_options(&field("options"), question)?;
        }
        let size = serde_json::to_vec(&self).map_or(usize::MAX, |json| json.len());
        if size > MAX_DEFINITION_BYTES {
            return Err(Error::invalid(
                "questions",
                format!(
                    "a questionnaire is at most {} KB of text; this one is {} KB",
                    MAX_DEFINITION_BYTES / 1000,
                    size.div_ceil(1000)
                ),
            ));
        }
        Ok(self)
    }
}

/// An optional text: absent, or 1 to `max` characters (trimmed).
fn optional(field: &str, value: Option<String>, max: usize) -> Result<Option<String>> {
    value.map(|v| text(field, &v, max)).transpose()
}

/// A choice question's options, trimmed: 2 to 50, none twice (whatever the case); no options
/// on any other kind, so a definition never carries choices it does not offer.
fn checked_options(field: &str, question: &Question) -> Result<Vec<String>> {
    if question.kind != QuestionKind::Choice {
        if question.options.is_empty() {
            return Ok(Vec::new());
        }
        return Err(Error::invalid(field, "only choice questions have options"));
    }
    if !(2..=50).contains(&question.options.len()) {
        return Err(Error::invalid(
            field,
            "a choice question has 2 to 50 options",
        ));
    }
    let mut seen = HashSet::new();
    let mut options = Vec::with_capacity(question.options.len());
    for (j, option) in question.options.iter().enumerate() {
        let option = text(format!("{field}[{j}]"), option, 200)?;
        if !seen.insert(option.to_lowercase()) {
            return Err(Error::invalid(
                format!("{field}[{j}]"),
                "this option is already listed",
            ));
        }
        options.push(option);
    }
    Ok(options)
}

pub async fn create(
    svc: &Services,
    tenant_id: &str,
    spec: QuestionnaireSpec,
) -> Result<Questionnaire> {
    let questionnaire = Resource::new(svc, spec.checked()?);
    let item = questionnaire.item(keys::questionnaire(tenant_id, &questionnaire.id))?;
    svc.table.put(item, Condition::Absent).await?;
    Ok(questionnaire)
}

pub async fn get(svc: &Services, tenant_id: &str, id: &str) -> Result<Questionnaire> {
    resource::get(
        svc.table.as_ref(),
        &keys::questionnaire(tenant_id, id),
        WHAT,
    )
    .await
}

pub async fn list(
    svc: &Services,
    tenant_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Questionnaire>, Option<Cursor>)> {
    resource::list_of_tenant(
        svc.table.as_ref(),
        tenant_id,
        keys::QUESTIONNAIRES,
        limit,
        cursor,
    )
    .await
}

/// Changes a definition by a merge patch (`questions` is replaced whole), if it is still at
/// version `seen`. Answers already given keep the questions they answered.
pub async fn update(
    svc: &Services,
    tenant_id: &str,
    id: &str,
    seen: u64,
    patch: &Value,
) -> Result<Questionnaire> {
    let current = get(svc, tenant_id, id).await?;
    let spec = crate::domain::resource::patched(&current.spec, patch)?.checked()?;
    let next = resource::changed(svc, &current, spec);
    resource::replace(
        svc.table.as_ref(),
        keys::questionnaire(tenant_id, id),
        &next,
        seen,
        WHAT,
    )
    .await?;
    Ok(next)
}

/// Deletes a definition, even one that opportunities still list (see the module's notes).
pub async fn delete(svc: &Services, tenant_id: &str, id: &str, seen: u64) -> Result<()> {
    get(svc, tenant_id, id).await?;
    svc.table
        .delete(
            &keys::questionnaire(tenant_id, id),
            Condition::VersionIs(seen),
        )
        .await
        .map_err(resource::stale(WHAT))?;
    Ok(())
}

/// Refuses the first of `ids` that is not a questionnaire of the tenant, naming it
/// `{field}[{i}]`; one batched read.
pub async fn ensure_exist(
    svc: &Services,
    tenant_id: &str,
    ids: &[String],
    field: &str,
) -> Result<()> {
    ensure_attachable(svc, tenant_id, ids, &[], field).await
}

/// Like [`ensure_exist`], but ids in `kept` (already attached) are not looked up: a definition
/// deleted since it was attached does not block other changes to the opportunity.
pub async fn ensure_attachable(
    svc: &Services,
    tenant_id: &str,
    ids: &[String],
    kept: &[String],
    field: &str,
) -> Result<()> {
    let fresh: Vec<usize> = (0..ids.len())
        .filter(|&i| !kept.contains(&ids[i]))
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    let keys: Vec<Key> = fresh
        .iter()
        .map(|&i| keys::questionnaire(tenant_id, &ids[i]))
        .collect();
    let found = svc.table.batch_get(&keys).await?;
    match fresh.iter().zip(&found).find(|(_, item)| item.is_none()) {
        Some((i, _)) => Err(Error::invalid(
            format!("{field}[{i}]"),
            "is not a questionnaire of this tenant",
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::answers::*;
    use super::*;
    use std::collections::BTreeMap;

    use chrono::Utc;
    use serde_json::json;

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

    fn spec(questions: Vec<Question>) -> QuestionnaireSpec {
        QuestionnaireSpec {
            name: "Income and expenses".into(),
            description: None,
            questions,
        }
    }

    fn field_of(result: Result<QuestionnaireSpec>) -> String {
        match result {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
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

    #[test]
    fn a_definition_with_every_kind_is_accepted_and_trimmed() {
        let mut questions = every_kind();
        questions[0].label = "  Employer  ".into();
        questions[5].options[0] = " Renting ".into();
        let checked = spec(questions).checked().unwrap();
        assert_eq!(checked.questions[0].label, "Employer");
        assert_eq!(checked.questions[5].options[0], "Renting");
    }

    #[test]
    fn definition_errors_name_the_field_path() {
        use QuestionKind::*;
        let with = |change: &dyn Fn(&mut Vec<Question>)| {
            let mut questions = every_kind();
            change(&mut questions);
            field_of(spec(questions).checked())
        };
        assert_eq!(with(&|q| q.clear()), "questions");
        assert_eq!(
            with(&|q| q.extend((0..100).map(|i| question(&format!("q{i}"), Text)))),
            "questions"
        );
        assert_eq!(with(&|q| q[1].id = "Income".into()), "questions[1].id");
        assert_eq!(with(&|q| q[1].id = "a-b".into()), "questions[1].id");
        assert_eq!(with(&|q| q[1].id = "x".repeat(65)), "questions[1].id");
        assert_eq!(with(&|q| q[3].id = "employer".into()), "questions[3].id");
        assert_eq!(with(&|q| q[2].label = " ".into()), "questions[2].label");
        assert_eq!(
            with(&|q| q[2].label = "x".repeat(501)),
            "questions[2].label"
        );
        assert_eq!(with(&|q| q[0].help = Some("".into())), "questions[0].help");
        assert_eq!(with(&|q| q[5].options.truncate(1)), "questions[5].options");
        assert_eq!(
            with(&|q| q[5].options = (0..51).map(|i| i.to_string()).collect()),
            "questions[5].options"
        );
        assert_eq!(
            with(&|q| q[5].options[2] = "renting".into()),
            "questions[5].options[2]"
        );
        assert_eq!(
            with(&|q| q[5].options[1] = "".into()),
            "questions[5].options[1]"
        );
        assert_eq!(
            with(&|q| q[4].options = vec!["Yes".into(), "No".into()]),
            "questions[4].options"
        );
        let mut unnamed = spec(every_kind());
        unnamed.name = "".into();
        assert_eq!(field_of(unnamed.checked()), "name");
        let mut described = spec(every_kind());
        described.description = Some("x".repeat(2001));
        assert_eq!(field_of(described.checked()), "description");
    }

    #[test]
    fn a_definition_too_large_to_store_with_its_answers_is_refused() {
        let questions = (0..100)
            .map(|i| Question {
                help: Some("h".repeat(1000)),
                label: "l".repeat(500),
                ..question(&format!("q{i}"), QuestionKind::Text)
            })
            .collect();
        assert_eq!(field_of(spec(questions).checked()), "questions");
    }

    #[test]
    fn answers_are_held_to_their_questions_whatever_read_them() {
        let answers = [
            ("employer", json!("x".repeat(501))),
            ("income", json!(-3)),
            ("started", json!("1899-12-31")),
            ("dependants", json!("yes")),
            ("housing", json!("owner")),
            ("not_a_question", json!("dropped")),
        ];
        let entered = Entered {
            answers: answers
                .into_iter()
                .map(|(id, value)| (id.to_owned(), value))
                .collect(),
            unreadable: BTreeMap::from([("history".into(), "Use ordinary text".into())]),
        };
        let errors = check(&every_kind(), entered, false).unwrap_err();
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            [
                "dependants",
                "employer",
                "history",
                "housing",
                "income",
                "started"
            ]
        );
        let fine = Entered {
            answers: BTreeMap::from([
                ("income".to_owned(), json!(85250.5)),
                ("not_a_question".to_owned(), json!("dropped")),
            ]),
            ..Entered::default()
        };
        let stored = check(&every_kind(), fine, false).unwrap();
        assert_eq!(
            stored,
            BTreeMap::from([("income".to_owned(), json!(85250.5))])
        );
    }

    #[test]
    fn answers_too_long_to_store_name_the_longest() {
        let questions: Vec<Question> = (0..80)
            .map(|i| question(&format!("q{i}"), QuestionKind::LongText))
            .collect();
        let mut posted: BTreeMap<String, String> = questions
            .iter()
            .map(|q| (q.id.clone(), "é".repeat(2200)))
            .collect();
        posted.insert("q7".into(), "é".repeat(2500));
        let answers = Answers {
            questionnaire_id: "q".into(),
            questionnaire_name: "Q".into(),
            opportunity_id: "o".into(),
            status: Status::Draft,
            answers: posted
                .into_iter()
                .map(|(id, text)| (id, Value::String(text)))
                .collect(),
            questions,
            updated_at: Utc::now(),
            updated_by: AnsweredBy {
                invite_id: "i".into(),
                contact_id: "c".into(),
            },
            submitted_at: None,
        };
        let errors = too_large(&answers).unwrap();
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["q7"]);
    }
}
