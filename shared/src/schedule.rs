//! What the scheduled functions share: the day a run is for, from the schedule's event (the
//! instant it fired, read in a time zone) or from a replay (`{"day": "YYYY-MM-DD"}`), and one
//! line for an error with all its causes, as Lambda records it.

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use serde_json::Value;

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
