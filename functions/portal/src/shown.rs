//! How values read on the portal's pages, as pure functions with table tests: an error as the
//! summary words it, an application's structured value as nested label/value pairs (never raw
//! JSON), an answer as people write it ("Yes", "1 March 2019", "85,250.50"), and a date typed
//! in three parts (day, month, year), read back with the part that is wrong named.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use maud::{Markup, html};
use serde_json::Value;

use clientwatch::centre::questionnaires::QuestionKind;
use clientwatch::render::display;

use crate::pages::label_of;

/// How deep a structured value is shown; below that the page says that more is held.
const MAX_DEPTH: usize = 6;

/// An error as the summary at the top of the page words it: the message with its question as
/// context, since the messages beside the fields ("Enter a number of 0 or more", "This
/// question needs an answer") do not say which field they are about, and a summary's line is
/// read away from its field: "Choose yes or no for “Do you rent your home?”", "Enter a number
/// for “Annual income”, such as 1250". A message that names its field already is left as it
/// is; no closing full stop.
pub fn summary_text(label: &str, kind: Option<QuestionKind>, message: &str) -> String {
    let message = message.trim().trim_end_matches('.');
    let quoted = format!("“{}”", label.trim());
    match message {
        "This question needs an answer" => match kind {
            Some(QuestionKind::YesNo) => format!("Choose yes or no for {quoted}"),
            Some(QuestionKind::Choice) => format!("Choose an answer to {quoted}"),
            Some(QuestionKind::Date) => format!("Enter a date for {quoted}"),
            _ => format!("Enter an answer to {quoted}"),
        },
        "Choose yes or no" => format!("Choose yes or no for {quoted}"),
        "Choose one of the options" => format!("Choose one of the options for {quoted}"),
        m if m.starts_with("Keep this ") => m.replacen("this", &quoted, 1),
        m if m.starts_with("The date ") => format!("{quoted} {}", &m["The date ".len()..]),
        m if m.starts_with("This date ") => {
            format!("The date for {quoted} {}", &m["This date ".len()..])
        }
        m if m.contains(&quoted) => m.to_owned(),
        m if m.starts_with("Enter ") || m.starts_with("Use ") || m.starts_with("Choose ") => {
            match m.split_once(", such as ") {
                Some((what, example)) => format!("{what} for {quoted}, such as {example}"),
                None => format!("{m} for {quoted}"),
            }
        }
        m => m.to_owned(),
    }
}

/// A stored value shown read-only: yes/no as "Yes"/"No", numbers grouped, `YYYY-MM-DD` as a
/// long date, lists as lists and objects as nested label/value pairs.
pub fn value(value: &Value) -> Markup {
    nested(value, 0)
}

fn nested(value: &Value, depth: usize) -> Markup {
    match value {
        Value::Null => html! { "Not given" },
        Value::Bool(b) => html! { (yes_no(*b)) },
        Value::Number(n) => html! { span class="num" { (number(&n.to_string())) } },
        Value::String(s) => match structured(s) {
            Some(inner) => nested(&inner, depth),
            None => html! { (text(s)) },
        },
        Value::Array(items) if items.is_empty() => html! { "None" },
        Value::Object(map) if map.is_empty() => html! { "None" },
        _ if depth >= MAX_DEPTH => html! { "More details are held; ask your adviser." },
        Value::Array(items) => html! {
            ul class="values" { @for item in items { li { (nested(item, depth + 1)) } } }
        },
        Value::Object(map) => html! {
            dl class="nested" {
                @for (key, inner) in map {
                    dt { (label_of(key)) }
                    dd { (nested(inner, depth + 1)) }
                }
            }
        },
    }
}

/// A string that holds a JSON object or list (a partner may store one as text): shown as the
/// structure it is, not as JSON.
fn structured(s: &str) -> Option<Value> {
    let trimmed = s.trim_start();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return None;
    }
    serde_json::from_str(trimmed)
        .ok()
        .filter(|v: &Value| v.is_object() || v.is_array())
}

fn yes_no(b: bool) -> &'static str {
    if b { "Yes" } else { "No" }
}

/// Text as shown: a `YYYY-MM-DD` date written out, anything else as it is.
fn text(s: &str) -> String {
    match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        Ok(day) if s.trim().len() == 10 => display::long_date(day),
        _ => s.to_owned(),
    }
}

/// A plain number with its thousands grouped ("82000" reads "82,000", "-1234.5" reads
/// "-1,234.5"); anything else (an exponent, text) as it is.
pub fn number(raw: &str) -> String {
    let (sign, rest) = match raw.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", raw),
    };
    let (whole, fraction) = match rest.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (rest, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return raw.to_owned();
    }
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    match fraction {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// A submitted answer (as its form posts it) as people write it.
pub fn answer(kind: QuestionKind, posted: &str) -> String {
    match kind {
        QuestionKind::YesNo => match posted {
            "yes" => "Yes".to_owned(),
            "no" => "No".to_owned(),
            other => other.to_owned(),
        },
        QuestionKind::Date => text(posted),
        QuestionKind::Number => number(posted),
        _ => posted.to_owned(),
    }
}

/// A part of a date typed in three boxes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatePart {
    Day,
    Month,
    Year,
}

impl DatePart {
    pub const ALL: [DatePart; 3] = [DatePart::Day, DatePart::Month, DatePart::Year];

    /// The part's form name, after the question's: `q.started.day`.
    pub fn name(self) -> &'static str {
        match self {
            DatePart::Day => "day",
            DatePart::Month => "month",
            DatePart::Year => "year",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DatePart::Day => "Day",
            DatePart::Month => "Month",
            DatePart::Year => "Year",
        }
    }
}

/// A date as typed in its three boxes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DateParts {
    pub day: String,
    pub month: String,
    pub year: String,
}

impl DateParts {
    /// The parts of question `id` in a form's values: the typed `{id}.day`, `{id}.month` and
    /// `{id}.year` when any is there, else a stored `YYYY-MM-DD` under `id` split up.
    pub fn of(values: &BTreeMap<String, String>, id: &str) -> Self {
        let part = |p: DatePart| values.get(&format!("{id}.{}", p.name())).cloned();
        if DatePart::ALL.iter().any(|p| part(*p).is_some()) {
            return Self {
                day: part(DatePart::Day).unwrap_or_default(),
                month: part(DatePart::Month).unwrap_or_default(),
                year: part(DatePart::Year).unwrap_or_default(),
            };
        }
        match values
            .get(id)
            .and_then(|v| NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok())
        {
            Some(day) => Self {
                day: day.day().to_string(),
                month: day.month().to_string(),
                year: day.year().to_string(),
            },
            None => Self::default(),
        }
    }

    /// Whether the question has parts in `values` at all (else the form posted one text).
    pub fn posted(values: &BTreeMap<String, String>, id: &str) -> bool {
        DatePart::ALL
            .iter()
            .any(|p| values.contains_key(&format!("{id}.{}", p.name())))
    }

    pub fn each(&self) -> [(DatePart, &str); 3] {
        [
            (DatePart::Day, self.day.as_str()),
            (DatePart::Month, self.month.as_str()),
            (DatePart::Year, self.year.as_str()),
        ]
    }

    /// The part to point at when the date is wrong: the first that [`read`](Self::read)
    /// blames, else the day.
    pub fn wrong_part(&self) -> DatePart {
        match self.read() {
            Err((part, _)) => part,
            Ok(_) => DatePart::Day,
        }
    }

    /// The date the parts give (none when all three are empty), or the part that is wrong
    /// and what to type instead.
    pub fn read(&self) -> Result<Option<NaiveDate>, (DatePart, String)> {
        let typed = self.each().map(|(part, text)| (part, text.trim()));
        let missing: Vec<DatePart> = typed
            .iter()
            .filter(|(_, text)| text.is_empty())
            .map(|(part, _)| *part)
            .collect();
        if missing.len() == 3 {
            return Ok(None);
        }
        if let Some(first) = missing.first() {
            let names: Vec<&str> = missing
                .iter()
                .map(|p| p.label())
                .map(|l| match l {
                    "Day" => "a day",
                    "Month" => "a month",
                    _ => "a year",
                })
                .collect();
            return Err((
                *first,
                format!("The date must include {}", names.join(" and ")),
            ));
        }
        let [(_, day), (_, month), (_, year)] = typed;
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !digits(day) {
            return Err((
                DatePart::Day,
                "Enter the day as a number, such as 27".to_owned(),
            ));
        }
        let month = match month_number(month) {
            Some(m) => m,
            None => {
                return Err((
                    DatePart::Month,
                    "Enter the month as a number from 1 to 12".to_owned(),
                ));
            }
        };
        if !(digits(year) && year.len() == 4) {
            return Err((
                DatePart::Year,
                "Enter the year as 4 digits, such as 2007".to_owned(),
            ));
        }
        let day: u32 = match day.parse() {
            Ok(d) if (1..=31).contains(&d) && day.len() <= 2 => d,
            _ => return Err((DatePart::Day, "Enter a day from 1 to 31".to_owned())),
        };
        if !(1..=12).contains(&month) {
            return Err((DatePart::Month, "Enter a month from 1 to 12".to_owned()));
        }
        let year: i32 = year.parse().unwrap_or_default();
        match NaiveDate::from_ymd_opt(year, month, day) {
            Some(date) => Ok(Some(date)),
            None => {
                let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
                let days = first
                    .checked_add_months(chrono::Months::new(1))
                    .and_then(|next| next.pred_opt())
                    .map_or(28, |last| last.day());
                Err((
                    DatePart::Day,
                    format!(
                        "The date must be a real date: {} has {days} days",
                        first.format("%B %Y")
                    ),
                ))
            }
        }
    }
}

/// A month typed as a number (1 to 2 digits, 0 when out of range is caught later) or a name
/// ("March", "mar").
fn month_number(typed: &str) -> Option<u32> {
    if !typed.is_empty() && typed.len() <= 2 && typed.bytes().all(|b| b.is_ascii_digit()) {
        return typed.parse().ok();
    }
    const NAMES: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = typed.to_ascii_lowercase();
    if lower.len() < 3 || !lower.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let at = NAMES.iter().position(|n| lower.starts_with(n))?;
    let full = NaiveDate::from_ymd_opt(2000, at as u32 + 1, 1)?
        .format("%B")
        .to_string()
        .to_ascii_lowercase();
    full.starts_with(&lower).then_some(at as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parts(day: &str, month: &str, year: &str) -> DateParts {
        DateParts {
            day: day.into(),
            month: month.into(),
            year: year.into(),
        }
    }

    #[test]
    fn a_date_in_three_parts_is_read_or_its_wrong_part_named() {
        use DatePart::*;
        let ok = |y, m, d| Ok(Some(NaiveDate::from_ymd_opt(y, m, d).unwrap()));
        let wrong = |part, message: &str| Err((part, message.to_owned()));
        let cases = [
            (parts("27", "3", "2007"), ok(2007, 3, 27)),
            (parts(" 01 ", "03", "2019"), ok(2019, 3, 1)),
            (parts("29", "2", "2028"), ok(2028, 2, 29)),
            (parts("4", "December", "2026"), ok(2026, 12, 4)),
            (parts("4", "dec", "2026"), ok(2026, 12, 4)),
            (parts("4", "Sept", "2026"), ok(2026, 9, 4)),
            (parts("", "", ""), Ok(None)),
            (parts(" ", "", "  "), Ok(None)),
            (
                parts("27", "", "2007"),
                wrong(Month, "The date must include a month"),
            ),
            (
                parts("", "3", ""),
                wrong(Day, "The date must include a day and a year"),
            ),
            (
                parts("27", "3", ""),
                wrong(Year, "The date must include a year"),
            ),
            (
                parts("x", "3", "2007"),
                wrong(Day, "Enter the day as a number, such as 27"),
            ),
            (
                parts("27", "Smarch", "2007"),
                wrong(Month, "Enter the month as a number from 1 to 12"),
            ),
            (
                parts("27", "123", "2007"),
                wrong(Month, "Enter the month as a number from 1 to 12"),
            ),
            (
                parts("27", "3", "07"),
                wrong(Year, "Enter the year as 4 digits, such as 2007"),
            ),
            (
                parts("27", "3", "20O7"),
                wrong(Year, "Enter the year as 4 digits, such as 2007"),
            ),
            (
                parts("32", "3", "2007"),
                wrong(Day, "Enter a day from 1 to 31"),
            ),
            (
                parts("0", "3", "2007"),
                wrong(Day, "Enter a day from 1 to 31"),
            ),
            (
                parts("0000000000001", "3", "2007"),
                wrong(Day, "Enter a day from 1 to 31"),
            ),
            (
                parts("1", "13", "2007"),
                wrong(Month, "Enter a month from 1 to 12"),
            ),
            (
                parts("1", "0", "2007"),
                wrong(Month, "Enter a month from 1 to 12"),
            ),
            (
                parts("30", "2", "2026"),
                wrong(
                    Day,
                    "The date must be a real date: February 2026 has 28 days",
                ),
            ),
            (
                parts("31", "4", "2026"),
                wrong(Day, "The date must be a real date: April 2026 has 30 days"),
            ),
        ];
        for (typed, read) in cases {
            assert_eq!(typed.read(), read, "{typed:?}");
        }
    }

    #[test]
    fn a_dates_parts_come_from_what_was_typed_or_from_the_stored_date() {
        let values: BTreeMap<String, String> = [
            ("started.day", "7"),
            ("started.year", "20"),
            ("ended", "2019-03-01"),
            ("bad", "1/3/2019"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(DateParts::of(&values, "started"), parts("7", "", "20"));
        assert_eq!(DateParts::of(&values, "ended"), parts("1", "3", "2019"));
        assert_eq!(DateParts::of(&values, "bad"), DateParts::default());
        assert_eq!(
            DateParts::of(&values, "started").wrong_part(),
            DatePart::Month
        );
        assert!(DateParts::posted(&values, "started") && !DateParts::posted(&values, "ended"));
    }

    #[test]
    fn the_summary_gives_each_message_its_question() {
        use QuestionKind::*;
        let cases = [
            (
                "Where do you live?",
                Some(Choice),
                "This question needs an answer",
                "Choose an answer to “Where do you live?”",
            ),
            (
                "Do you rent?",
                Some(YesNo),
                "This question needs an answer",
                "Choose yes or no for “Do you rent?”",
            ),
            (
                "Monthly income",
                Some(Number),
                "This question needs an answer",
                "Enter an answer to “Monthly income”",
            ),
            (
                "Employed since",
                Some(Date),
                "This question needs an answer",
                "Enter a date for “Employed since”",
            ),
            (
                "Employed since",
                Some(Date),
                "The date must include a month",
                "“Employed since” must include a month",
            ),
            (
                "Insured",
                None,
                "Choose yes or no.",
                "Choose yes or no for “Insured”",
            ),
            (
                "Employer",
                None,
                "Keep this to 1000 characters or fewer.",
                "Keep “Employer” to 1000 characters or fewer",
            ),
            (
                "Monthly income",
                Some(Number),
                "Enter a number, such as 1250 or 1250.50",
                "Enter a number for “Monthly income”, such as 1250 or 1250.50",
            ),
            (
                "Dependants",
                None,
                "Enter a number of 0 or more.",
                "Enter a number of 0 or more for “Dependants”",
            ),
            (
                "Employer",
                None,
                "Use one line of ordinary text.",
                "Use one line of ordinary text for “Employer”",
            ),
            (
                "Moved in",
                Some(Date),
                "Enter the day as a number, such as 27",
                "Enter the day as a number for “Moved in”, such as 27",
            ),
            (
                "Moved in",
                Some(Date),
                "This date does not exist",
                "The date for “Moved in” does not exist",
            ),
            (
                "Code",
                None,
                "That code is not right",
                "That code is not right",
            ),
        ];
        for (label, kind, message, shown) in cases {
            assert_eq!(summary_text(label, kind, message), shown, "{message}");
        }
    }

    #[test]
    fn answers_read_as_people_write_them() {
        use QuestionKind::*;
        let cases = [
            (YesNo, "no", "No"),
            (YesNo, "yes", "Yes"),
            (Date, "2019-03-01", "1 March 2019"),
            (Number, "85250.5", "85,250.5"),
            (Number, "-1234567", "-1,234,567"),
            (Number, "999", "999"),
            (Number, "1e21", "1e21"),
            (Text, "2019-03-01 or so", "2019-03-01 or so"),
            (Choice, "Renting", "Renting"),
        ];
        for (kind, posted, shown) in cases {
            assert_eq!(answer(kind, posted), shown, "{posted}");
        }
    }

    #[test]
    fn structured_values_are_nested_labels_and_values_never_json() {
        let shown = value(&json!({
            "name": "Harbour Motors",
            "registered": true,
            "opened": "2011-05-02",
            "staff": 1200,
            "owners": [{"full_name": "Ana"}, {"full_name": "Tom"}],
            "notes": null,
            "tags": [],
            "raw": "{\"inner_key\": [1, 2]}",
        }))
        .into_string();
        for expected in [
            "<dt>Name</dt><dd>Harbour Motors</dd>",
            "<dt>Registered</dt><dd>Yes</dd>",
            "<dt>Opened</dt><dd>2 May 2011</dd>",
            "<dt>Staff</dt><dd><span class=\"num\">1,200</span></dd>",
            "<dt>Full name</dt><dd>Ana</dd>",
            "<dt>Notes</dt><dd>Not given</dd>",
            "<dt>Tags</dt><dd>None</dd>",
            "<dt>Inner key</dt>",
        ] {
            assert!(shown.contains(expected), "{expected} in {shown}");
        }
        assert!(!shown.contains('{') && !shown.contains('['), "{shown}");
        let mut deep = json!("bottom");
        for _ in 0..20 {
            deep = json!({ "level": deep });
        }
        let shown = value(&deep).into_string();
        assert!(shown.contains("More details are held") && !shown.contains("bottom"));
    }
}
