//! The input policy, written once and applied at every edge (the API's bodies and path ids,
//! each row of a bulk call, the portal's forms) before anything reaches the store:
//!
//! - **Ids.** A path id, and the value of every field whose name ends in `_id` (a list of them
//!   when it ends in `_ids`), is 1 to [`ID_MAX`] characters of ASCII letters, digits and
//!   `- _ . : ~ @ +`, starting with a letter or digit. Store keys are built from ids with `#`
//!   between the parts, so an id can never hold a `#`, a NUL or a space.
//! - **Text.** No string (value or object key) holds a control character (C0, DEL, C1) other
//!   than the line breaks and tabs of a multi-line field, nor a bidirectional override or
//!   isolate (U+202A–U+202E, U+2066–U+2069), which make text read differently from what it is.
//!   One-line fields hold at most [`ONE_LINE_MAX`] characters and no line break or tab;
//!   the multi-line fields ([`MULTI_LINE_FIELDS`]) at most [`MULTI_LINE_MAX`]. Object keys
//!   (of maps such as `external_refs`) hold at most [`KEY_MAX`] characters. Fields with a
//!   smaller documented limit are held to it by their own type.
//! - **JSON.** A body is one JSON object; a key given twice in one object is refused (JSON
//!   leaves its meaning open, so whichever we kept would surprise someone).
//! - **Dates** are RFC 3339 full-dates `YYYY-MM-DD` with a year from [`YEAR_MIN`] to
//!   [`YEAR_MAX`] ([`date`]).
//!
//! Each refusal names the field by its path as the caller wrote it (`parties[1].contact_id`).

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{Error, Result};

/// The longest id.
pub const ID_MAX: usize = 128;
/// The longest one-line string.
pub const ONE_LINE_MAX: usize = 1_000;
/// The longest multi-line string.
pub const MULTI_LINE_MAX: usize = 20_000;
/// The longest object key.
pub const KEY_MAX: usize = 200;
/// The fields that may hold several lines: message bodies, descriptions and help texts.
pub const MULTI_LINE_FIELDS: [&str; 4] = ["text", "html", "description", "help"];
/// Maps whose keys the partner chooses (`external_refs`, an opportunity's `data`): their
/// values are text, whatever their keys are called, never ids.
pub const FREE_MAPS: [&str; 2] = ["external_refs", "data"];
/// The range of years a date may have.
pub const YEAR_MIN: i32 = 1900;
pub const YEAR_MAX: i32 = 2100;

/// Why `value` is not an id, if it is not.
pub fn id_problem(value: &str) -> Option<String> {
    let length = value.chars().count();
    if length == 0 || length > ID_MAX {
        return Some(format!("an id is 1 to {ID_MAX} characters"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.:~@+".contains(c);
    if !value.chars().all(allowed) || !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Some(
            "an id holds only ASCII letters, digits and - _ . : ~ @ +, and starts with a \
             letter or digit"
                .into(),
        );
    }
    None
}

/// `value` if it is an id; otherwise an error naming `field`.
pub fn id(field: impl Into<String>, value: &str) -> Result<()> {
    match id_problem(value) {
        Some(why) => Err(Error::invalid(field, why)),
        None => Ok(()),
    }
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Why `value` cannot be a string of a field that is `multi_line` or not, if it cannot.
pub fn text_problem(value: &str, multi_line: bool) -> Option<String> {
    let max = if multi_line {
        MULTI_LINE_MAX
    } else {
        ONE_LINE_MAX
    };
    if value.chars().count() > max {
        return Some(format!("must be at most {max} characters"));
    }
    characters_problem(value, multi_line)
}

/// Whether the field at `path` (`steps[0].html`) is one of the [`MULTI_LINE_FIELDS`].
pub fn is_multi_line(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    let name = last.split('[').next().unwrap_or(last);
    MULTI_LINE_FIELDS.contains(&name)
}

/// Why `value` holds a character its field may not hold, if it does (length aside).
pub fn characters_problem(value: &str, multi_line: bool) -> Option<String> {
    let line_break = |c: char| matches!(c, '\n' | '\r' | '\t');
    if let Some(c) = value
        .chars()
        .find(|&c| (c.is_control() && !(multi_line && line_break(c))) || is_bidi_control(c))
    {
        let what = if is_bidi_control(c) {
            "a bidirectional override"
        } else if line_break(c) {
            "a line break or tab (this is a one-line field)"
        } else {
            "a control character"
        };
        return Some(format!("must not contain {what} (U+{:04X})", c as u32));
    }
    None
}

/// The characters of `value` checked for the field at `field` (one-line unless it is one of
/// the [`MULTI_LINE_FIELDS`]); its length is the caller's to check.
pub fn characters(field: impl Into<String>, value: &str) -> Result<()> {
    let field = field.into();
    match characters_problem(value, is_multi_line(&field)) {
        Some(why) => Err(Error::invalid(field, why)),
        None => Ok(()),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Checks every string, key and id of a JSON document against the policy; `path` is where
/// the document sits (empty for a whole body). The first problem found is the error.
pub fn check(value: &Value, path: &str) -> Result<()> {
    walk(value, path, None)
}

/// As [`check`], for a body whose lists named in `rows` are checked row by row later (by the
/// bulk call that reads them, so that one bad row does not refuse the rest).
pub fn check_except_rows(value: &Value, rows: &[&str]) -> Result<()> {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                check_key(key, "")?;
                if rows.contains(&key.as_str()) && inner.is_array() {
                    continue;
                }
                walk(inner, &join("", key), Some(key))?;
            }
            Ok(())
        }
        other => check(other, ""),
    }
}

fn check_key(key: &str, path: &str) -> Result<()> {
    if key.chars().count() > KEY_MAX {
        return Err(Error::invalid(
            join(path, &key.chars().take(40).collect::<String>()),
            format!("a key must be at most {KEY_MAX} characters"),
        ));
    }
    if let Some(why) = text_problem(key, false) {
        return Err(Error::invalid(
            if path.is_empty() { "body" } else { path },
            format!("a key {why}"),
        ));
    }
    Ok(())
}

/// `field` is the name of the member `value` is (the nearest key above, through lists).
fn walk(value: &Value, path: &str, field: Option<&str>) -> Result<()> {
    let named = |suffix: &str| field.is_some_and(|f| f.ends_with(suffix));
    match value {
        Value::String(s) if named("_id") => id(path, s),
        Value::String(s) => {
            let multi_line = field.is_some_and(|f| MULTI_LINE_FIELDS.contains(&f));
            match text_problem(s, multi_line) {
                Some(why) => Err(Error::invalid(path, why)),
                None => Ok(()),
            }
        }
        Value::Array(items) => {
            let item_field = if named("_ids") {
                Some("item_id")
            } else {
                field
            };
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{path}[{i}]"), item_field)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            let free = field.is_some_and(|f| FREE_MAPS.contains(&f));
            for (key, inner) in map {
                check_key(key, path)?;
                walk(
                    inner,
                    &join(path, key),
                    Some(if free { "value" } else { key }),
                )?;
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// JSON that is refused before its fields are looked at: bad syntax, or a key given twice.
#[derive(Debug, PartialEq, Eq)]
pub enum JsonProblem {
    /// Not JSON; the text says where.
    Syntax(String),
    /// `path` names the key given twice.
    DuplicateKey { path: String },
}

/// Reads JSON as `serde_json` does, except that a key given twice in one object is refused.
pub fn parse_json(bytes: &[u8]) -> std::result::Result<Value, JsonProblem> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut duplicate = None;
    let value = Strict {
        path: String::new(),
        duplicate: &mut duplicate,
    }
    .deserialize(&mut de);
    if let Some(path) = duplicate {
        return Err(JsonProblem::DuplicateKey { path });
    }
    let value = value.map_err(|e| JsonProblem::Syntax(e.to_string()))?;
    de.end().map_err(|e| JsonProblem::Syntax(e.to_string()))?;
    Ok(value)
}

/// A JSON value whose objects are checked for repeated keys; the first one's path is kept.
struct Strict<'a> {
    path: String,
    duplicate: &'a mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Strict {
            path: format!("{}[{}]", self.path, items.len()),
            duplicate: &mut *self.duplicate,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = join(&self.path, &key);
            let value = map.next_value_seed(Strict {
                path: path.clone(),
                duplicate: &mut *self.duplicate,
            })?;
            if object.insert(key, value).is_some() && self.duplicate.is_none() {
                *self.duplicate = Some(path);
                // Stop reading: the body is refused whatever follows.
                return Err(de::Error::custom("duplicate key"));
            }
        }
        Ok(Value::Object(object))
    }
}

/// Reads `T` from a checked JSON value, naming a wrong field by its path; a missing field is
/// named by its own path (`identity.name`), not by the object that lacks it.
pub fn fields<T: serde::de::DeserializeOwned>(value: Value) -> Result<T> {
    serde_path_to_error::deserialize(Shaped(value)).map_err(|e| {
        let parent = match e.path().to_string() {
            path if path == "." => String::new(),
            path => path,
        };
        let message = e.into_inner().to_string();
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name.to_owned());
        let field = match missing {
            Some(name) => join(&parent, &name),
            None if parent.is_empty() => "body".to_owned(),
            None => parent,
        };
        Error::invalid(field, message)
    })
}

/// The largest number a form of the Customer Centre takes.
pub const FORM_NUMBER_MAX: i64 = 1_000_000_000_000;

/// A number as a person types it into a form (an application's amount, a questionnaire's
/// income): digits, thousands optionally grouped with commas (`25,000`), at most two decimals,
/// from 0 to [`FORM_NUMBER_MAX`]. Amounts, incomes and counts are never negative; a blank is
/// not a number. The message says what to type instead.
pub fn form_number(raw: &str) -> std::result::Result<Value, String> {
    let example = "Enter a number, such as 1250 or 1250.50";
    let raw = raw.trim();
    if raw.starts_with('-') {
        return Err("Enter a number of 0 or more".into());
    }
    let (whole, fraction) = match raw.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (raw, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mut groups = whole.split(',');
    let first = groups.next().unwrap_or_default();
    if !digits(first) || (whole.contains(',') && first.len() > 3) {
        return Err(example.into());
    }
    if !groups.all(|g| g.len() == 3 && digits(g)) || fraction.is_some_and(|f| !digits(f)) {
        return Err(example.into());
    }
    if fraction.is_some_and(|f| f.len() > 2) {
        return Err("Use at most two decimals".into());
    }
    let whole: String = whole.chars().filter(|c| *c != ',').collect();
    let too_large = || format!("Enter a number up to {FORM_NUMBER_MAX}");
    let units: i64 = whole.parse().map_err(|_| too_large())?;
    if units > FORM_NUMBER_MAX {
        return Err(too_large());
    }
    match fraction {
        None => Ok(Value::from(units)),
        Some(fraction) => format!("{units}.{fraction}")
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| example.into()),
    }
}

/// A JSON value read with its shape kept: a struct is read from an object only. (Serde's
/// derived structs also take an array of their fields in order, so `["Ana", "Smith"]` would
/// pass for `{"first_name": ..., "last_name": ...}`.) Everything else reads as from `Value`.
struct Shaped(Value);

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("a number"),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

impl<'de> de::Deserializer<'de> for Shaped {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> serde_json::Result<V::Value> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(ShapedSeq(items.into_iter())),
            Value::Object(map) => visitor.visit_map(ShapedMap {
                entries: map.into_iter(),
                value: None,
            }),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> serde_json::Result<V::Value> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(ShapedMap {
                entries: map.into_iter(),
                value: None,
            }),
            other => Err(de::Error::invalid_type(unexpected(&other), &"an object")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> serde_json::Result<V::Value> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Shaped(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> serde_json::Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> serde_json::Result<V::Value> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

struct ShapedSeq(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for ShapedSeq {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> serde_json::Result<Option<T::Value>> {
        self.0
            .next()
            .map(|v| seed.deserialize(Shaped(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct ShapedMap {
    entries: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for ShapedMap {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> serde_json::Result<Option<K::Value>> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(de::value::StringDeserializer::<serde_json::Error>::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> serde_json::Result<V::Value> {
        let value = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value was asked for before its key"))?;
        seed.deserialize(Shaped(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// Strict RFC 3339 full-dates (`YYYY-MM-DD`, years [`YEAR_MIN`] to [`YEAR_MAX`]) for serde:
/// `#[serde(with = "input::date")]`, or [`date::option`] for an optional one.
pub mod date {
    use chrono::{Datelike, NaiveDate};
    use serde::{Deserialize, Deserializer, Serializer};

    use super::{YEAR_MAX, YEAR_MIN};

    /// `s` as a date, or why it is not one.
    pub fn parse(s: &str) -> Result<NaiveDate, String> {
        let shaped = s.len() == 10
            && s.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        let date = shaped
            .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .flatten()
            .ok_or_else(|| format!("{s:?} is not a date written YYYY-MM-DD"))?;
        if !(YEAR_MIN..=YEAR_MAX).contains(&date.year()) {
            return Err(format!(
                "{s:?} is outside the years {YEAR_MIN} to {YEAR_MAX}"
            ));
        }
        Ok(date)
    }

    pub fn serialize<S: Serializer>(date: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&date.format("%Y-%m-%d"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(date: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
            match date {
                Some(date) => super::serialize(date, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|s| parse(&s).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_have_one_pattern_and_length() {
        for good in [
            "abc",
            "company-contact",
            "x1.y_2:z~a@b+c",
            &"a".repeat(ID_MAX),
        ] {
            assert_eq!(id_problem(good), None, "{good}");
        }
        for bad in [
            "",
            "a\0b",
            "a#b",
            "a b",
            "-a",
            "é",
            "a/b",
            &"a".repeat(ID_MAX + 1),
        ] {
            assert!(id_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn names_refuse_control_characters_and_bidi_overrides() {
        for bad in [
            "a\0b",
            "bell\u{7}",
            "two\nlines",
            "cr\r",
            "\u{202E}evil",
            "x\u{2066}",
        ] {
            assert!(text_problem(bad, false).is_some(), "{bad:?}");
        }
        assert_eq!(text_problem("Ana Müller – 北京", false), None);
        assert_eq!(text_problem("line one\nline two\ttab", true), None);
        assert!(text_problem("nul\0", true).is_some());
        assert!(text_problem(&"x".repeat(ONE_LINE_MAX + 1), false).is_some());
        assert_eq!(text_problem(&"x".repeat(ONE_LINE_MAX + 1), true), None);
    }

    #[test]
    fn a_document_is_checked_with_each_problem_named_by_its_path() {
        let field = |v: Value| match check(&v, "") {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(json!({"parties": [{"contact_id": "ok"}, {"contact_id": "bad#id"}]})),
            "parties[1].contact_id"
        );
        assert_eq!(
            field(json!({"questionnaire_ids": ["a", "b\0"]})),
            "questionnaire_ids[1]"
        );
        assert_eq!(
            field(json!({"addresses": [{"line1": "x".repeat(100_000)}]})),
            "addresses[0].line1"
        );
        assert_eq!(field(json!({"name": "a\u{202E}b"})), "name");
        assert!(check(&json!({"text": "Dear {{name}},\n\nThanks."}), "").is_ok());
        assert!(check(&json!({"workflow_id": null, "amount": 5}), "").is_ok());
        assert!(check(&json!({"external_refs": {"crm_id": "CRM/001"}}), "").is_ok());
        assert_eq!(
            field(json!({"external_refs": {"crm": "\0"}})),
            "external_refs.crm"
        );
    }

    #[test]
    fn rows_are_left_for_their_bulk_call() {
        let body = json!({"source": "netsuite", "records": [{"external_id": "a\0"}]});
        assert!(check_except_rows(&body, &["records"]).is_ok());
        assert!(check(&body, "").is_err());
    }

    #[test]
    fn a_key_given_twice_is_refused_with_its_path() {
        assert_eq!(
            parse_json(br#"{"a": {"b": 1, "b": 2}}"#),
            Err(JsonProblem::DuplicateKey { path: "a.b".into() })
        );
        assert!(matches!(
            parse_json(b"{\"a\": "),
            Err(JsonProblem::Syntax(_))
        ));
        assert!(matches!(parse_json(b"{} x"), Err(JsonProblem::Syntax(_))));
        assert_eq!(
            parse_json(br#"{"a": [1, {"b": "c"}]}"#),
            Ok(json!({"a": [1, {"b": "c"}]}))
        );
    }

    #[test]
    fn a_missing_field_is_named_by_its_own_path() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Inner {
            name: String,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Outer {
            identity: Inner,
        }
        let err = fields::<Outer>(json!({"identity": {}})).unwrap_err();
        assert!(
            matches!(err, Error::Invalid { ref field, .. } if field == "identity.name"),
            "{err:?}"
        );
        let err = fields::<Outer>(json!({})).unwrap_err();
        assert!(
            matches!(err, Error::Invalid { ref field, .. } if field == "identity"),
            "{err:?}"
        );
        // An array where an object is expected is refused, however deep.
        let err = fields::<Outer>(json!({"identity": ["Ana"]})).unwrap_err();
        assert!(
            matches!(err, Error::Invalid { ref field, .. } if field == "identity"),
            "{err:?}"
        );
        let err = fields::<Outer>(json!([{"name": "Ana"}])).unwrap_err();
        assert!(
            matches!(err, Error::Invalid { ref field, .. } if field == "body"),
            "{err:?}"
        );
        let ok = fields::<Outer>(json!({"identity": {"name": "Ana"}})).unwrap();
        assert_eq!(ok.identity.name, "Ana");
    }

    #[test]
    fn form_numbers_are_plain_non_negative_and_bounded() {
        for (typed, stored) in [
            ("1250", json!(1250)),
            (" 1250 ", json!(1250)),
            ("0.1", json!(0.1)),
            ("25,000", json!(25000)),
            ("1,234,567.89", json!(1234567.89)),
            ("007", json!(7)),
            ("1000000000000", json!(1_000_000_000_000i64)),
        ] {
            assert_eq!(form_number(typed), Ok(stored), "{typed}");
        }
        for (typed, why) in [
            ("", "such as"),
            ("lots", "such as"),
            ("-5", "0 or more"),
            ("1.005", "two decimals"),
            ("1000000000001", "up to"),
            ("1,5", "such as"),
            ("1e5", "such as"),
            ("$5", "such as"),
            (".5", "such as"),
        ] {
            let err = form_number(typed).unwrap_err();
            assert!(err.contains(why), "{typed}: {err}");
        }
    }

    #[test]
    fn dates_are_strict_full_dates_in_range() {
        assert!(date::parse("2026-01-05").is_ok());
        assert!(date::parse("1900-01-01").is_ok());
        for bad in [
            "0000-01-01",
            "+2026-01-01",
            "2026-1-5",
            "2026-02-30",
            "2101-01-01",
            " 2026-01-05",
            "2026-01-05T00:00:00Z",
        ] {
            assert!(date::parse(bad).is_err(), "{bad}");
        }
    }
}
