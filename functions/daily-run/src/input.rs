//! What the daily-run function is asked to do, read from its raw invocation payload. Pure: no
//! clock and no I/O, so every shape is unit-tested.
//!
//! - The schedule (`{"time"}` or a classic "Scheduled Event") or a replay (`{"day"}`), read by
//!   [`clientwatch::schedule::invocation`]: day D in the feed's time zone.
//! - The run's own EventBridge events, told apart by `detail-type`: `FeedPartReady`
//!   (`{day, run_id, part}`) and `FeedPartsDone` (`{day, run_id}`).

use chrono::NaiveDate;
use chrono_tz::Tz;
use clientwatch::monitoring::run::{PART_READY, PARTS_DONE};
use clientwatch::schedule::{self, Invocation};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use clientwatch::schedule::SCHEDULED_EVENT;

const EXPECTED: &str = "expected {\"time\": \"<RFC 3339>\"} (the schedule), {\"day\": \"YYYY-MM-DD\"} \
     (a replay), or an EventBridge event whose detail-type is \"Scheduled Event\", \
     \"FeedPartReady\" or \"FeedPartsDone\"";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Plan day D and fan its feed parts out.
    Plan { day: NaiveDate },
    /// Diff one feed part of a planned run.
    Part {
        day: NaiveDate,
        run_id: String,
        part: String,
    },
    /// Every part of the run is done: send day D's digests.
    Digest { day: NaiveDate, run_id: String },
    /// The operator's deadline (`{"check": "finished", "time"}` from its own schedule): has
    /// day D's run finished?
    Deadline { day: NaiveDate },
}

/// The deadline schedule's marker: `{"check": "finished", ...}`.
pub const DEADLINE_CHECK: &str = "finished";

/// The payload is none of the inputs; retrying it cannot help.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a daily-run input: {0}")]
pub struct InputError(pub String);

fn bad(message: impl Into<String>) -> InputError {
    InputError(message.into())
}

#[derive(Deserialize)]
struct PartReady {
    day: NaiveDate,
    run_id: String,
    part: String,
}

#[derive(Deserialize)]
struct PartsDone {
    day: NaiveDate,
    run_id: String,
}

/// Reads an invocation payload; `zone` is the feed's time zone.
pub fn parse(event: &Value, zone: Tz) -> Result<Input, InputError> {
    if let Some(check) = event.as_object().and_then(|o| o.get("check")) {
        if check != DEADLINE_CHECK {
            return Err(bad(format!(
                "unknown check {check}; the deadline check is {{\"check\": \"{DEADLINE_CHECK}\", \"time\": \"<RFC 3339>\"}}"
            )));
        }
        let mut rest = event.as_object().cloned().unwrap_or_default();
        rest.remove("check");
        return match schedule::invocation(&Value::Object(rest), zone, EXPECTED).map_err(bad)? {
            Invocation::Day(day) => Ok(Input::Deadline { day }),
            Invocation::Event { .. } => {
                Err(bad("a deadline check names a time or a day, not an event"))
            }
        };
    }
    let (detail_type, object) = match schedule::invocation(event, zone, EXPECTED).map_err(bad)? {
        Invocation::Day(day) => return Ok(Input::Plan { day }),
        Invocation::Event {
            detail_type: Value::String(t),
            event,
        } => (t.as_str(), event),
        Invocation::Event { .. } => return Err(bad("detail-type is not a string")),
    };
    match detail_type {
        PART_READY => {
            let PartReady { day, run_id, part } = detail(object, detail_type)?;
            if !part.starts_with(&format!("feeds/{day}/")) {
                return Err(bad(format!(
                    "{PART_READY} part {part:?} is not under feeds/{day}/"
                )));
            }
            Ok(Input::Part { day, run_id, part })
        }
        PARTS_DONE => {
            let PartsDone { day, run_id } = detail(object, detail_type)?;
            Ok(Input::Digest { day, run_id })
        }
        other => Err(bad(format!("unexpected detail-type {other:?}; {EXPECTED}"))),
    }
}

fn detail<T: DeserializeOwned>(
    object: &Map<String, Value>,
    detail_type: &str,
) -> Result<T, InputError> {
    let detail = object
        .get("detail")
        .ok_or_else(|| bad(format!("the {detail_type} event has no detail")))?;
    T::deserialize(detail).map_err(|e| bad(format!("the {detail_type} detail is not valid: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AUCKLAND: Tz = chrono_tz::Pacific::Auckland;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn error(event: Value) -> String {
        parse(&event, AUCKLAND).unwrap_err().to_string()
    }

    /// An event as EventBridge delivers it to a rule's Lambda target.
    fn bus_event(detail_type: &str, detail: Value) -> Value {
        json!({
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": detail_type,
            "source": "clientwatch",
            "account": "111122223333",
            "time": "2026-11-19T17:05:00Z",
            "region": "ap-southeast-2",
            "resources": [],
            "detail": detail
        })
    }

    #[test]
    fn the_deadline_check_names_the_day_of_its_schedule_in_the_feed_zone() {
        // 23:00 UTC on the 4th is noon on the 5th in Auckland (NZDT, +13).
        let event = json!({"check": "finished", "time": "2026-12-04T23:00:00Z"});
        assert_eq!(
            parse(&event, AUCKLAND).unwrap(),
            Input::Deadline {
                day: day("2026-12-05")
            }
        );
        let replay = json!({"check": "finished", "day": "2026-12-01"});
        assert_eq!(
            parse(&replay, AUCKLAND).unwrap(),
            Input::Deadline {
                day: day("2026-12-01")
            }
        );
        assert!(error(json!({"check": "started", "day": "2026-12-01"})).contains("unknown check"));
    }

    #[test]
    fn a_feed_part_ready_event_names_day_run_and_part() {
        let event = bus_event(
            "FeedPartReady",
            json!({"day": "2026-11-20", "run_id": "r1", "part": "feeds/2026-11-20/part-0001.ndjson.gz"}),
        );
        assert_eq!(
            parse(&event, AUCKLAND).unwrap(),
            Input::Part {
                day: day("2026-11-20"),
                run_id: "r1".into(),
                part: "feeds/2026-11-20/part-0001.ndjson.gz".into(),
            }
        );
    }

    #[test]
    fn a_feed_parts_done_event_names_day_and_run() {
        let event = bus_event(
            "FeedPartsDone",
            json!({"day": "2026-11-20", "run_id": "r1"}),
        );
        assert_eq!(
            parse(&event, AUCKLAND).unwrap(),
            Input::Digest {
                day: day("2026-11-20"),
                run_id: "r1".into()
            }
        );
    }

    #[test]
    fn a_part_of_another_day_is_refused() {
        let event = bus_event(
            "FeedPartReady",
            json!({"day": "2026-11-20", "run_id": "r1", "part": "baselines/part-0001/2026-11-19.base"}),
        );
        assert!(error(event).contains("is not under feeds/2026-11-20/"));
    }

    #[test]
    fn a_detail_without_its_run_id_is_refused_naming_the_field() {
        let message = error(bus_event("FeedPartsDone", json!({"day": "2026-11-20"})));
        assert!(
            message.contains("FeedPartsDone detail is not valid"),
            "{message}"
        );
        assert!(message.contains("run_id"), "{message}");
    }

    #[test]
    fn an_unknown_detail_type_is_refused_by_name() {
        let message = error(bus_event("MonitoringHit", json!({})));
        assert!(
            message.contains("unexpected detail-type \"MonitoringHit\""),
            "{message}"
        );
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
            assert!(message.starts_with("not a daily-run input: "), "{message}");
            assert!(
                message.contains("{\"day\": \"YYYY-MM-DD\"}"),
                "{payload}: {message}"
            );
        }
    }
}
