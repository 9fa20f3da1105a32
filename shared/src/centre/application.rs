//! The application as a customer sees and edits it: the opportunity's data fields. Text,
//! number and yes/no fields can be edited (each keeps its type); structured values are shown
//! but left to the partner. An edit is checked whole, written under the version the customer
//! saw (so two people editing at once cannot overwrite each other unseen), audited, and
//! published.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::audit::{self, Action, Change, Entry, Invitee};
use crate::Services;
use crate::domain::input;
use crate::domain::opportunities::Opportunity;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::TableError;
use crate::records::opportunities;
use crate::records::resource;

/// The longest text a customer may put in one field.
pub const MAX_TEXT: usize = 1000;

/// What a field's value lets a customer do with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Number,
    YesNo,
    /// A list or an object: shown, not editable here.
    Fixed,
}

pub fn kind_of(value: &Value) -> FieldKind {
    match value {
        Value::String(_) | Value::Null => FieldKind::Text,
        Value::Number(_) => FieldKind::Number,
        Value::Bool(_) => FieldKind::YesNo,
        Value::Array(_) | Value::Object(_) => FieldKind::Fixed,
    }
}

/// A value as a form shows it.
pub fn form_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        other => other.to_string(),
    }
}

/// The opportunity the customer was invited to.
pub async fn get(svc: &Services, who: &Invitee) -> Result<Opportunity> {
    opportunities::get(
        svc.table.as_ref(),
        &who.tenant_id,
        &who.client_id,
        &who.opportunity_id,
    )
    .await
}

/// The outcome of an edit: what changed, or every field's problem at once.
pub enum Edited {
    Saved(Vec<Change>),
    Invalid(Vec<(String, String)>),
}

/// Applies a form's values to the fields it names. Unknown and structured fields are ignored;
/// an edit that changes nothing writes nothing.
pub async fn edit(
    svc: &Services,
    who: &Invitee,
    seen_version: u64,
    form: &BTreeMap<String, String>,
) -> Result<Edited> {
    let current = get(svc, who).await?;
    if current.version != seen_version {
        return Err(Error::Stale("application"));
    }
    let mut data = current.spec.data.clone();
    let mut changes = Vec::new();
    let mut problems = Vec::new();
    for (field, value) in &current.spec.data {
        let Some(entered) = form.get(field) else {
            continue;
        };
        match parse(value, entered) {
            Ok(next) if next != *value => {
                changes.push(Change {
                    field: field.clone(),
                    from: value.clone(),
                    to: next.clone(),
                });
                data.insert(field.clone(), next);
            }
            Ok(_) => {}
            Err(message) => problems.push((field.clone(), message)),
        }
    }
    if !problems.is_empty() {
        return Ok(Edited::Invalid(problems));
    }
    if changes.is_empty() {
        return Ok(Edited::Saved(changes));
    }
    let mut spec = current.spec.clone();
    spec.data = data;
    let next = resource::changed(svc, &current, spec);
    let key = keys::opportunity(&who.tenant_id, &who.client_id, &who.opportunity_id);
    let op = resource::replace_op(key, &next, seen_version)?;
    let entry = Entry::new(
        svc,
        who,
        Action::ApplicationEdited,
        json!({ "changes": changes }),
    );
    match audit::commit(svc, who, vec![op], &entry).await {
        Ok(()) => {}
        Err(Error::Store(
            TableError::TransactionFailed { .. } | TableError::ConditionFailed(_),
        )) => return Err(Error::Stale("application")),
        Err(Error::Unavailable(what, e)) => {
            // Saved and audited; the partner can still read it through the API.
            tracing::error!(error = %e, "the {what} did not take the CustomerCentreUpdated event");
        }
        Err(e) => return Err(e),
    }
    Ok(Edited::Saved(changes))
}

/// The value a form's text gives a field of `current`'s kind.
fn parse(current: &Value, entered: &str) -> std::result::Result<Value, String> {
    let entered = entered.trim();
    match kind_of(current) {
        FieldKind::Text => {
            if entered.chars().count() > MAX_TEXT {
                return Err(format!("Keep this to {MAX_TEXT} characters or fewer."));
            }
            if input::characters_problem(entered, false).is_some() {
                return Err("Use one line of ordinary text.".to_owned());
            }
            if entered.is_empty() && current.is_null() {
                return Ok(Value::Null);
            }
            Ok(Value::String(entered.to_owned()))
        }
        // The same rule as a questionnaire's numbers: see `input::form_number`.
        FieldKind::Number => input::form_number(entered).map_err(|why| format!("{why}.")),
        FieldKind::YesNo => match entered {
            "yes" => Ok(Value::Bool(true)),
            "no" => Ok(Value::Bool(false)),
            _ => Err("Choose yes or no.".to_owned()),
        },
        FieldKind::Fixed => Ok(current.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_their_type() {
        assert_eq!(parse(&json!("a"), " b "), Ok(json!("b")));
        assert_eq!(parse(&json!(1), "1,250"), Ok(json!(1250)));
        assert_eq!(parse(&json!(1.5), "2.25"), Ok(json!(2.25)));
        assert_eq!(parse(&json!(true), "no"), Ok(json!(false)));
        assert_eq!(parse(&Value::Null, ""), Ok(Value::Null));
        assert_eq!(parse(&json!([1]), "x"), Ok(json!([1])));
    }

    #[test]
    fn bad_values_are_explained() {
        assert!(parse(&json!(1), "lots").unwrap_err().contains("number"));
        assert!(parse(&json!(1), "").unwrap_err().contains("number"));
        assert!(parse(&json!(1), "-5").unwrap_err().contains("0 or more"));
        assert!(
            parse(&json!("a"), "two\nlines")
                .unwrap_err()
                .contains("one line")
        );
        assert!(
            parse(&json!(true), "maybe")
                .unwrap_err()
                .contains("yes or no")
        );
        let long = "x".repeat(MAX_TEXT + 1);
        assert!(parse(&json!(""), &long).unwrap_err().contains("1000"));
    }
}
