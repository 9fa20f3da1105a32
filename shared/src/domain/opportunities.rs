//! Opportunities as values: a client's loan applications. Each names its parties (contacts of
//! the same client, each with a party role), carries the application's data fields, and lists
//! the questionnaires attached to it. Primary applicants, applicants and guarantors are the
//! parties who may later be invited into the Customer Centre.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::resource::Resource;
use super::{Error, Result, text};

pub const WHAT: &str = "opportunity";
pub const PRIMARY_APPLICANT: &str = "primary_applicant";
pub const APPLICANT: &str = "applicant";
pub const GUARANTOR: &str = "guarantor";
const MAX_FIELDS: usize = 200;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub contact_id: String,
    /// `primary_applicant`, `applicant`, `guarantor`, or another role of the partner's.
    pub role: String,
}

impl Party {
    /// Whether this party may be invited into the Customer Centre.
    pub fn invitable(&self) -> bool {
        [PRIMARY_APPLICANT, APPLICANT, GUARANTOR].contains(&self.role.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpportunitySpec {
    pub name: String,
    #[serde(default)]
    pub parties: Vec<Party>,
    /// The application's fields, by name.
    #[serde(default)]
    pub data: BTreeMap<String, Value>,
    /// The order the Customer Centre shows `data`'s fields in. A JSON object's keys have no
    /// order once stored (DynamoDB's maps keep none, and `data` is read into a sorted map), so
    /// the partner's order is kept as this list. Checked to name each field of `data` once:
    /// names that are no field are dropped, fields it leaves out follow in the order of their
    /// names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_order: Vec<String>,
    #[serde(default)]
    pub questionnaire_ids: Vec<String>,
}

pub type Opportunity = Resource<OpportunitySpec>;

/// Every field name of `data` once: those `wanted` names first, in its order (names that are
/// no field, and repeats, are passed over), then the rest in the order of their names.
pub fn ordered_fields(data: &BTreeMap<String, Value>, wanted: &[String]) -> Vec<String> {
    let mut order: Vec<String> = Vec::with_capacity(data.len());
    for name in wanted {
        if data.contains_key(name) && !order.contains(name) {
            order.push(name.clone());
        }
    }
    for name in data.keys() {
        if !order.contains(name) {
            order.push(name.clone());
        }
    }
    order
}

impl OpportunitySpec {
    /// The spec, checked as far as it can be without the store: its name, parties, data
    /// fields and questionnaire list. That its parties are the client's contacts and its
    /// questionnaires exist is checked by [`crate::flows::opportunities`].
    pub fn checked(mut self) -> Result<Self> {
        self.name = text("name", &self.name, 200)?;
        if self.parties.len() > 20 {
            return Err(Error::invalid("parties", "at most 20 parties"));
        }
        let mut seen = HashSet::new();
        for (i, party) in self.parties.iter_mut().enumerate() {
            party.role = text(format!("parties[{i}].role"), &party.role, 50)?;
            if !seen.insert(party.contact_id.clone()) {
                return Err(Error::invalid(
                    format!("parties[{i}].contact_id"),
                    "this contact is already a party",
                ));
            }
        }
        if self
            .parties
            .iter()
            .filter(|p| p.role == PRIMARY_APPLICANT)
            .count()
            > 1
        {
            return Err(Error::invalid(
                "parties",
                "an opportunity has at most one primary applicant",
            ));
        }
        if self.data.len() > MAX_FIELDS {
            return Err(Error::invalid(
                "data",
                format!("at most {MAX_FIELDS} fields"),
            ));
        }
        if let Some(name) = self
            .data
            .keys()
            .find(|k| k.is_empty() || k.chars().count() > 64)
        {
            return Err(Error::invalid(
                format!("data.{name}"),
                "field names are 1 to 64 characters",
            ));
        }
        if self.field_order.len() > MAX_FIELDS {
            return Err(Error::invalid(
                "field_order",
                format!("at most {MAX_FIELDS} names"),
            ));
        }
        self.field_order = ordered_fields(&self.data, &self.field_order);
        if self.questionnaire_ids.len() > 20 {
            return Err(Error::invalid(
                "questionnaire_ids",
                "at most 20 questionnaires",
            ));
        }
        let mut listed = HashSet::new();
        for (i, id) in self.questionnaire_ids.iter().enumerate() {
            if !listed.insert(id) {
                return Err(Error::invalid(
                    format!("questionnaire_ids[{i}]"),
                    "this questionnaire is already attached",
                ));
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(names: &[&str]) -> BTreeMap<String, Value> {
        names.iter().map(|n| (n.to_string(), json!(1))).collect()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn the_field_order_names_every_field_once_in_the_partners_order_first() {
        let fields = data(&["employer", "income", "address", "dependants"]);
        let cases: [(&[&str], &[&str]); 5] = [
            // Not given: the names' order.
            (&[], &["address", "dependants", "employer", "income"]),
            // Given whole: kept.
            (
                &["income", "employer", "dependants", "address"],
                &["income", "employer", "dependants", "address"],
            ),
            // Given in part: the rest follow by name.
            (
                &["income"],
                &["income", "address", "dependants", "employer"],
            ),
            // Names that are no field, and repeats, are passed over.
            (
                &["gone", "employer", "employer", "income"],
                &["employer", "income", "address", "dependants"],
            ),
            (&["gone"], &["address", "dependants", "employer", "income"]),
        ];
        for (wanted, shown) in cases {
            assert_eq!(
                ordered_fields(&fields, &names(wanted)),
                names(shown),
                "{wanted:?}"
            );
        }
    }

    #[test]
    fn a_checked_spec_carries_its_whole_field_order() {
        let spec: OpportunitySpec = serde_json::from_value(json!({
            "name": "Loan",
            "data": {"b": 1, "a": 2, "c": 3},
            "field_order": ["c", "b"],
        }))
        .unwrap();
        assert_eq!(spec.checked().unwrap().field_order, names(&["c", "b", "a"]));
        let long: OpportunitySpec = serde_json::from_value(json!({
            "name": "Loan",
            "field_order": vec!["x"; MAX_FIELDS + 1],
        }))
        .unwrap();
        assert!(matches!(long.checked(), Err(Error::Invalid { .. })));
    }
}
