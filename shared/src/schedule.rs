//! What the scheduled functions share: the day a run is for, read from the invocation's
//! payload, and one line for an error with all its causes, as Lambda records it.
//!
//! A payload names its day as
//! - the schedule: EventBridge Scheduler's `{"time": "<RFC 3339>"}`, or a classic EventBridge
//!   "Scheduled Event" (its top-level `time`). The day is the date of that instant in the
//!   function's time zone, so a run fired at 06:00 in Auckland runs Auckland's today even though
//!   UTC is still on yesterday;
//! - a replay of one day, invoked by hand: `{"day": "YYYY-MM-DD"}`.
//!
//! Any other EventBridge event (a `detail-type` that is not "Scheduled Event") is handed back
//! to the function, which reads its own events or refuses them.

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use serde_json::{Map, Value};

/// The classic EventBridge schedule's `detail-type`.
pub const SCHEDULED_EVENT: &str = "Scheduled Event";

/// What a scheduled function's payload asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Invocation<'a> {
    /// Run this day: the schedule's, or a replay's.
    Day(NaiveDate),
    /// Another EventBridge event: its `detail-type` (not always a string) and the whole event.
    Event {
        detail_type: &'a Value,
        event: &'a Map<String, Value>,
    },
}

/// Reads a scheduled function's payload; `zone` names the schedule's days. `expected` says
/// what the function accepts, for the errors. The error is the message, for the function to
/// put in its own error type.
pub fn invocation<'a>(
    payload: &'a Value,
    zone: Tz,
    expected: &str,
) -> Result<Invocation<'a>, String> {
    let Some(object) = payload.as_object() else {
        return Err(format!("the payload is not a JSON object; {expected}"));
    };
    match object.get("detail-type") {
        None => manual(object, zone, expected).map(Invocation::Day),
        Some(Value::String(t)) if t == SCHEDULED_EVENT => {
            let time = object
                .get("time")
                .ok_or("the Scheduled Event has no time")?;
            day_of(Some(time), None, zone).map(Invocation::Day)
        }
        Some(detail_type) => Ok(Invocation::Event {
            detail_type,
            event: object,
        }),
    }
}

/// The schedule's `{"time"}` or a replay's `{"day"}`; anything else is refused, so a mistyped
/// replay does not quietly run today.
fn manual(object: &Map<String, Value>, zone: Tz, expected: &str) -> Result<NaiveDate, String> {
    let unknown: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|k| !["time", "day"].contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(format!("unknown field(s) {unknown:?}; {expected}"));
    }
    if object.get("time").is_none() && object.get("day").is_none() {
        return Err(expected.to_owned());
    }
    day_of(object.get("time"), object.get("day"), zone)
}

/// The day of a run: `time` (an RFC 3339 instant, the schedule's) read as a date in `zone`,
/// or `day` as given. Exactly one of them; the error says what is wrong with the input.
pub fn day_of(time: Option<&Value>, day: Option<&Value>, zone: Tz) -> Result<NaiveDate, String> {
    match (time, day) {
        (Some(Value::String(time)), None) => DateTime::parse_from_rfc3339(time)
            .map(|instant| instant.with_timezone(&zone).date_naive())
            .map_err(|e| format!("time {time:?} is not an RFC 3339 instant: {e}")),
        (Some(_), None) => Err("time must be an RFC 3339 string".into()),
        (None, Some(Value::String(day))) => NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map_err(|e| format!("day {day:?} is not a YYYY-MM-DD date: {e}")),
        (None, Some(_)) => Err("day must be a \"YYYY-MM-DD\" string".into()),
        (Some(_), Some(_)) => Err("give either time or day, not both".into()),
        (None, None) => Err("give time (the schedule's) or day (a replay)".into()),
    }
}

/// An error's message followed by every cause, `: `-separated.
pub fn full_message(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        message.push_str(": ");
        message.push_str(&c.to_string());
        cause = c.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AUCKLAND: Tz = chrono_tz::Pacific::Auckland;
    const EXPECTED: &str = "expected {\"time\": \"<RFC 3339>\"} (the schedule) or {\"day\": \"YYYY-MM-DD\"} (a replay)";

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// The day a payload names, in `zone`.
    fn run_day(event: &Value, zone: Tz) -> Result<NaiveDate, String> {
        match invocation(event, zone, EXPECTED)? {
            Invocation::Day(day) => Ok(day),
            other => panic!("not a day: {other:?}"),
        }
    }

    fn error(event: Value) -> String {
        run_day(&event, AUCKLAND).unwrap_err()
    }

    #[test]
    fn the_scheduler_time_names_the_day_in_auckland_while_utc_is_still_on_the_day_before() {
        // 17:00 UTC on the 19th is 06:00 on the 20th in Auckland (NZDT, +13).
        let input = run_day(&json!({"time": "2026-11-19T17:00:00Z"}), AUCKLAND).unwrap();
        assert_eq!(input, day("2026-11-20"));
    }

    #[test]
    fn the_same_instant_is_the_day_before_in_a_zone_behind_it() {
        let input = run_day(
            &json!({"time": "2026-11-19T17:00:00Z"}),
            chrono_tz::America::New_York,
        )
        .unwrap();
        assert_eq!(input, day("2026-11-19"));
    }

    #[test]
    fn a_classic_scheduled_event_uses_its_time() {
        let event = json!({"detail-type": "Scheduled Event", "source": "aws.events",
                           "time": "2026-06-30T18:00:00Z", "detail": {}});
        // 18:00 UTC on 30 June is 06:00 on 1 July in Auckland (NZST, +12).
        assert_eq!(run_day(&event, AUCKLAND).unwrap(), day("2026-07-01"));
    }

    #[test]
    fn a_replay_names_its_day() {
        assert_eq!(
            run_day(&json!({"day": "2026-11-20"}), AUCKLAND).unwrap(),
            day("2026-11-20")
        );
    }

    #[test]
    fn another_event_is_handed_back_with_its_detail_type() {
        let event = json!({"detail-type": "FeedPartsDone", "detail": {}});
        match invocation(&event, AUCKLAND, EXPECTED).unwrap() {
            Invocation::Event { detail_type, .. } => assert_eq!(detail_type, "FeedPartsDone"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_times_and_days_are_refused_with_what_was_wrong() {
        assert!(error(json!({"time": "yesterday"})).contains("not an RFC 3339 instant"));
        assert!(error(json!({"time": 1763571600})).contains("time must be an RFC 3339 string"));
        assert!(error(json!({"day": "20/11/2026"})).contains("not a YYYY-MM-DD date"));
        assert!(error(json!({"day": "2026-02-30"})).contains("not a YYYY-MM-DD date"));
        assert!(
            error(json!({"time": "2026-11-19T17:00:00Z", "day": "2026-11-20"}))
                .contains("either time or day")
        );
        assert!(error(json!({"date": "2026-12-01"})).contains("unknown field(s)"));
    }

    #[test]
    fn other_payloads_are_refused_saying_what_is_expected() {
        for payload in [
            json!({}),
            json!({"date": "2026-11-20"}),
            json!("2026-11-20"),
            json!(null),
        ] {
            let message = error(payload.clone());
            assert!(message.ends_with(EXPECTED), "{payload}: {message}");
        }
    }

    #[test]
    fn the_day_is_the_instants_date_in_the_zone() {
        let zone = chrono_tz::Pacific::Auckland;
        let day = day_of(Some(&json!("2026-11-22T17:30:00Z")), None, zone);
        assert_eq!(day, Ok("2026-11-23".parse().unwrap()));
        assert_eq!(
            day_of(None, Some(&json!("2026-11-20")), zone),
            Ok("2026-11-20".parse().unwrap())
        );
        assert!(day_of(Some(&json!("x")), Some(&json!("y")), zone).is_err());
        assert!(
            day_of(None, Some(&json!("20/11/2026")), zone)
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
    }
}
