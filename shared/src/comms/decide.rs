//! What the communications run does with an invoice's next workflow step, decided from plain
//! values (the rules are told in [`super::run`]'s module documentation).
//!
//! Before the workflow is looked at, [`promise`] says whether a promise to pay holds the
//! invoice's steps back today, or was broken.
//!
//! The decision comes in two parts because the second needs a read only the first warrants:
//! [`next_step`] says whether the step is due and outside the tenant's quiet hours; only then
//! does the run look for an earlier delivery of the step (its sent-markers) and ask
//! [`delivery`] whether to finish it, skip it, let it wait for the client's breathing space, or
//! send it.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};

use super::invoices::PromiseStatus;
use crate::domain::tenants::QuietHours;

/// What an invoice's promise to pay means for its workflow today.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromiseTurn {
    /// No pending promise: the workflow goes on as usual.
    None,
    /// A pending promise whose date has not passed: the steps wait; they may go on from
    /// `until`, the day after the date.
    Paused { until: NaiveDate },
    /// A pending promise whose date has passed, the invoice still open: mark it broken, then
    /// go on with the workflow in the same turn.
    Broken,
}

/// From the invoice's promise (its status and date), if any, on run day `day`.
pub fn promise(promise: Option<(PromiseStatus, NaiveDate)>, day: NaiveDate) -> PromiseTurn {
    match promise {
        Some((PromiseStatus::Pending, date)) if day <= date => PromiseTurn::Paused {
            until: date.succ_opt().unwrap_or(date),
        },
        Some((PromiseStatus::Pending, _)) => PromiseTurn::Broken,
        Some((PromiseStatus::Kept | PromiseStatus::Broken, _)) | None => PromiseTurn::None,
    }
}

/// What the run knows of an invoice's next step before anything is read for it.
#[derive(Clone, Debug)]
pub struct Turn<'a> {
    /// The run day.
    pub day: NaiveDate,
    /// The run's "now", which quiet hours are judged at.
    pub now: DateTime<Utc>,
    /// The first day the step may be done (`WorkflowSpec::earliest`).
    pub earliest: NaiveDate,
    /// The tenant's quiet hours, if it has any.
    pub quiet_hours: Option<&'a QuietHours>,
    /// The tenant's IANA time zone (Pacific/Auckland when it cannot be read).
    pub time_zone: &'a str,
}

/// What becomes of the next step today, before its earlier delivery is looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// Not due yet: the invoice's turn ends until a later run.
    NotDue,
    /// Due, but the tenant is in its quiet hours: the step waits for a later run.
    QuietHours,
    /// Due: look for an earlier delivery, then ask [`delivery`].
    Due,
}

pub fn next_step(turn: &Turn) -> NextStep {
    if turn.day < turn.earliest {
        NextStep::NotDue
    } else if in_quiet_hours(turn.quiet_hours, turn.time_zone, turn.now) {
        NextStep::QuietHours
    } else {
        NextStep::Due
    }
}

/// The tenant's local time of day at `now`; a zone that cannot be read counts as
/// Pacific/Auckland.
pub fn local_time(time_zone: &str, now: DateTime<Utc>) -> NaiveTime {
    now.with_timezone(&crate::domain::tenants::zone(time_zone))
        .time()
}

/// Whether `now` falls in the tenant's quiet hours, in its time zone (the start is inside, the
/// end is not; a span may pass midnight).
pub fn in_quiet_hours(
    quiet_hours: Option<&QuietHours>,
    time_zone: &str,
    now: DateTime<Utc>,
) -> bool {
    quiet_hours.is_some_and(|q| q.contains(local_time(time_zone, now)))
}

/// What the step's sent-markers say an earlier run did with it (`deliver::reached`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Earlier {
    /// Nothing: the step was never begun.
    Nothing,
    /// Logged as reaching nobody.
    Skipped,
    /// Handed over for at least one contact.
    Reached,
}

impl Earlier {
    /// From `deliver::reached`'s answer.
    pub fn from_reached(reached: Option<bool>) -> Self {
        match reached {
            None => Earlier::Nothing,
            Some(false) => Earlier::Skipped,
            Some(true) => Earlier::Reached,
        }
    }
}

/// What the run knows of a due step once it has looked for an earlier delivery.
#[derive(Clone, Copy, Debug)]
pub struct Contacting {
    pub day: NaiveDate,
    pub earlier: Earlier,
    /// Workflow messages that went out for this invoice so far.
    pub messages: u32,
    /// The client's `max_call_attempts`.
    pub max_call_attempts: u32,
    /// The client's `breathing_space_days` (0: none).
    pub breathing_space_days: u32,
    /// When a reminder or escalation last went to the client.
    pub last_contacted: Option<NaiveDate>,
}

/// What to do with a due step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// An earlier run logged it as reaching nobody: record it done, nothing to send.
    SkippedBefore,
    /// An earlier run began it: finish it for the contacts not yet claimed, whatever the
    /// limits say now, and record it done.
    Finish,
    /// The client's contact attempts are used up: log it skipped and record it done.
    AttemptsUsedUp,
    /// The client was contacted less than its breathing space ago: the step waits (it is not
    /// skipped) and the invoice's turn ends.
    BreathingSpace { last: NaiveDate, until: NaiveDate },
    /// Send it.
    Send,
}

pub fn delivery(c: &Contacting) -> Delivery {
    match c.earlier {
        Earlier::Skipped => return Delivery::SkippedBefore,
        Earlier::Reached => return Delivery::Finish,
        Earlier::Nothing => {}
    }
    if c.messages >= c.max_call_attempts {
        return Delivery::AttemptsUsedUp;
    }
    let breathing = u64::from(c.breathing_space_days);
    if let Some(last) = c.last_contacted
        && breathing > 0
        && let Some(until) = last.checked_add_days(Days::new(breathing))
        && c.day < until
    {
        return Delivery::BreathingSpace { last, until };
    }
    Delivery::Send
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// An instant given in UTC, `2026-11-20T07:00`.
    fn utc(s: &str) -> DateTime<Utc> {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
            .unwrap()
            .and_utc()
    }

    fn hours(start: &str, end: &str) -> QuietHours {
        QuietHours {
            start: start.into(),
            end: end.into(),
        }
    }

    #[test]
    fn next_step_table() {
        let night = hours("20:00", "08:00");
        let lunch = hours("12:00", "13:30");
        // Auckland is UTC+13 in November (daylight time): 07:00 UTC is 20:00 there.
        let auckland = "Pacific/Auckland";
        type Row<'a> = (
            &'a str,
            &'a str,
            &'a str,
            Option<&'a QuietHours>,
            &'a str,
            &'a str,
            NextStep,
        );
        #[rustfmt::skip]
        let table: &[Row<'_>] = &[
            // (reason, day, earliest, quiet hours, zone, now UTC, expected)
            ("the day before it is due", "2026-11-19", "2026-11-20", None, "UTC", "2026-11-19T09:00", NextStep::NotDue),
            ("the day it is due (due date + 0)", "2026-11-20", "2026-11-20", None, "UTC", "2026-11-20T09:00", NextStep::Due),
            ("days after it was due", "2026-12-20", "2026-11-20", None, "UTC", "2026-12-20T09:00", NextStep::Due),
            ("not due outranks quiet hours", "2026-11-19", "2026-11-20", Some(&night), "UTC", "2026-11-19T22:00", NextStep::NotDue),
            ("no quiet hours at midnight", "2026-11-20", "2026-11-20", None, "UTC", "2026-11-20T00:00", NextStep::Due),
            ("a minute before quiet hours start", "2026-11-20", "2026-11-20", Some(&night), "UTC", "2026-11-20T19:59", NextStep::Due),
            ("exactly at quiet hours' start", "2026-11-20", "2026-11-20", Some(&night), "UTC", "2026-11-20T20:00", NextStep::QuietHours),
            ("across midnight, before it", "2026-11-20", "2026-11-20", Some(&night), "UTC", "2026-11-20T23:59", NextStep::QuietHours),
            ("across midnight, at it", "2026-11-20", "2026-11-20", Some(&night), "UTC", "2026-11-20T00:00", NextStep::QuietHours),
            ("a minute before quiet hours end", "2026-11-20", "2026-11-20", Some(&night), "UTC", "2026-11-20T07:59", NextStep::QuietHours),
            ("exactly at quiet hours' end", "2026-11-20", "2026-11-20", Some(&night), "UTC", "2026-11-20T08:00", NextStep::Due),
            ("within a daytime span", "2026-11-20", "2026-11-20", Some(&lunch), "UTC", "2026-11-20T12:45", NextStep::QuietHours),
            ("at a daytime span's end", "2026-11-20", "2026-11-20", Some(&lunch), "UTC", "2026-11-20T13:30", NextStep::Due),
            ("judged in the tenant's zone: 20:00 in Auckland", "2026-11-20", "2026-11-20", Some(&night), auckland, "2026-11-20T07:00", NextStep::QuietHours),
            ("judged in the tenant's zone: 19:59 in Auckland", "2026-11-20", "2026-11-20", Some(&night), auckland, "2026-11-20T06:59", NextStep::Due),
            ("an unreadable zone counts as Auckland", "2026-11-20", "2026-11-20", Some(&night), "Mars/Olympus", "2026-11-20T07:00", NextStep::QuietHours),
        ];
        for &(reason, day, earliest, quiet_hours, time_zone, now, expected) in table {
            let turn = Turn {
                day: d(day),
                now: utc(now),
                earliest: d(earliest),
                quiet_hours,
                time_zone,
            };
            assert_eq!(next_step(&turn), expected, "{reason}");
        }
    }

    #[test]
    fn delivery_table() {
        use Delivery::*;
        use Earlier::{Nothing, Reached, Skipped};
        let day = d("2026-11-20");
        let breathing = |last: &str, until: &str| BreathingSpace {
            last: d(last),
            until: d(until),
        };
        type Row<'a> = (&'a str, Earlier, u32, u32, u32, Option<&'a str>, Delivery);
        #[rustfmt::skip]
        let table: &[Row<'_>] = &[
            // (reason, earlier, messages, max attempts, breathing days, last contacted, expected)
            ("never begun, within every limit", Nothing, 0, 3, 0, None, Send),
            ("skipped by an earlier run", Skipped, 0, 3, 0, None, SkippedBefore),
            ("begun by an earlier run", Reached, 0, 3, 0, None, Finish),
            ("begun: finished even with attempts used up", Reached, 3, 3, 0, None, Finish),
            ("begun: finished even in breathing space", Reached, 0, 3, 7, Some("2026-11-20"), Finish),
            ("one attempt left", Nothing, 2, 3, 0, None, Send),
            ("attempts == limit", Nothing, 3, 3, 0, None, AttemptsUsedUp),
            ("attempts past the limit", Nothing, 4, 3, 0, None, AttemptsUsedUp),
            ("no attempts allowed", Nothing, 0, 0, 0, None, AttemptsUsedUp),
            ("attempts used up outranks breathing space", Nothing, 3, 3, 7, Some("2026-11-20"), AttemptsUsedUp),
            ("never contacted: no breathing space", Nothing, 0, 3, 7, None, Send),
            ("no breathing space set", Nothing, 1, 3, 0, Some("2026-11-20"), Send),
            ("breathing space starting today", Nothing, 1, 3, 3, Some("2026-11-20"), breathing("2026-11-20", "2026-11-23")),
            ("breathing space's last day", Nothing, 1, 3, 3, Some("2026-11-18"), breathing("2026-11-18", "2026-11-21")),
            ("breathing space ending today", Nothing, 1, 3, 3, Some("2026-11-17"), Send),
            ("breathing space ended days ago", Nothing, 1, 3, 3, Some("2026-11-01"), Send),
            ("one day's breathing space, contacted yesterday", Nothing, 1, 3, 1, Some("2026-11-19"), Send),
        ];
        for &(reason, earlier, messages, max_call_attempts, breathing_space_days, last, expected) in
            table
        {
            let c = Contacting {
                day,
                earlier,
                messages,
                max_call_attempts,
                breathing_space_days,
                last_contacted: last.map(d),
            };
            assert_eq!(delivery(&c), expected, "{reason}");
        }
    }

    #[test]
    fn promise_table() {
        use PromiseStatus::*;
        let paused = |until: &str| PromiseTurn::Paused { until: d(until) };
        type Row<'a> = (
            &'a str,
            Option<(PromiseStatus, &'a str)>,
            &'a str,
            PromiseTurn,
        );
        #[rustfmt::skip]
        let table: &[Row<'_>] = &[
            // (reason, promise (status, date), run day, expected)
            ("no promise", None, "2026-11-20", PromiseTurn::None),
            ("pending, made today for today", Some((Pending, "2026-11-20")), "2026-11-20", paused("2026-11-21")),
            ("pending, days before the date", Some((Pending, "2026-12-01")), "2026-11-20", paused("2026-12-02")),
            ("pending, on the date itself", Some((Pending, "2026-12-01")), "2026-12-01", paused("2026-12-02")),
            ("pending, the day after the date", Some((Pending, "2026-12-01")), "2026-12-02", PromiseTurn::Broken),
            ("pending, weeks after (no run between)", Some((Pending, "2026-12-01")), "2026-12-20", PromiseTurn::Broken),
            ("kept", Some((Kept, "2026-12-01")), "2026-11-20", PromiseTurn::None),
            ("broken before", Some((Broken, "2026-12-01")), "2026-12-05", PromiseTurn::None),
            ("broken, a run replayed for a day before the date", Some((Broken, "2026-12-01")), "2026-11-30", PromiseTurn::None),
        ];
        for &(reason, given, day, expected) in table {
            let given = given.map(|(status, date)| (status, d(date)));
            assert_eq!(promise(given, d(day)), expected, "{reason}");
        }
    }

    #[test]
    fn earlier_reads_the_markers_answer() {
        assert_eq!(Earlier::from_reached(None), Earlier::Nothing);
        assert_eq!(Earlier::from_reached(Some(false)), Earlier::Skipped);
        assert_eq!(Earlier::from_reached(Some(true)), Earlier::Reached);
    }
}
