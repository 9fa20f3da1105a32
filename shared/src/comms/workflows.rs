//! Collection workflows: a tenant's ordered steps that the daily communications run takes an
//! open invoice through. A step sends an e-mail or an SMS to the client's contacts whose role
//! has communication, escalates to the contacts of another role, or waits.
//!
//! A workflow is a tenant resource (`T#{t}` / `WF#{id}`). It is checked when saved, so a run
//! never meets a damaged one: step ids unique, each step's fields those of its kind, merge tags
//! known (an unknown tag is refused naming the step's field, `steps[2].text`), the escalation
//! role existing. Portfolios and clients that use a workflow are counted (`WFUSE#{id}`, moved
//! in their own transactions), and a workflow in use cannot be deleted: an invoice would
//! otherwise silently stop getting reminders.
//!
//! When a step is due: steps run in order; a send step is due on the first run day on or
//! after `due_date + days_from_due` (no condition when it has none) once every earlier step is
//! done; `wait N` makes the steps after it wait N more days after the step before it was done.
//! Steps are known by id: a step id done for an invoice is not done again, even if the
//! workflow changes meanwhile (the first step of the workflow not yet done is next).

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::deliver::Audience;
use super::log::Kind;
use super::merge;
use crate::Services;
use crate::domain::clients::Channel;
use crate::domain::resource::Resource;
use crate::domain::roles::Purpose;
use crate::domain::{Error, Result, text};
use crate::keys;
use crate::ports::{Condition, Cursor, Transaction, TxOp, Update};
use crate::records::resource;
use crate::records::roles;

pub const WHAT: &str = "workflow";
pub const MAX_STEPS: usize = 30;
pub const MAX_SUBJECT: usize = 200;
pub const MAX_TEXT: usize = 5000;
pub const MAX_HTML: usize = 20_000;
/// An SMS goes out in parts of about 150 characters; six parts is plenty for a reminder.
pub const MAX_SMS: usize = 900;
/// How far from the due date a step may be timed, and how long a wait may be (in days).
pub const MAX_DAYS: u32 = 365;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSpec {
    pub name: String,
    pub steps: Vec<Step>,
}

pub type Workflow = Resource<WorkflowSpec>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// An e-mail (`subject`, `text`, optional `html`) to the contacts with communication.
    Email,
    /// A text (`text`) to the contacts with communication.
    Sms,
    /// A message on `channel` (`email` or `sms`) to the client's contacts with `role_id`.
    Escalate,
    /// The steps after it wait `days` more days after the step before it was done.
    Wait,
}

impl StepKind {
    fn name(self) -> &'static str {
        match self {
            StepKind::Email => "email",
            StepKind::Sms => "sms",
            StepKind::Escalate => "escalate",
            StepKind::Wait => "wait",
        }
    }
}

/// One step. Which fields it has depends on its `kind`; the others must be absent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Unique in the workflow; 1 to 64 of `a-z`, `0-9`, `_` and `-`. The log names steps by it,
    /// and the run knows what it did by it.
    pub id: String,
    pub kind: StepKind,
    /// Sends only: the step is due this many days after the invoice's due date (negative:
    /// before it). Absent: as soon as the steps before it are done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_from_due: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
}

/// What a step does, read from a checked step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    Send(Outgoing<'a>),
    Wait { days: u32 },
}

/// A message a step sends: to whom, how, and its parts (with merge tags).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing<'a> {
    pub kind: Kind,
    pub audience: Audience,
    pub channel: Channel,
    /// `None` for an SMS (the log names it by step instead).
    pub subject: Option<&'a str>,
    pub text: &'a str,
    pub html: Option<&'a str>,
}

impl Step {
    pub fn action(&self) -> Action<'_> {
        let text = self.text.as_deref().unwrap_or_default();
        let (kind, audience, channel) = match self.kind {
            StepKind::Wait => {
                return Action::Wait {
                    days: self.days.unwrap_or(0),
                };
            }
            StepKind::Email => (
                Kind::Reminder,
                Audience::Purpose(Purpose::Reminder),
                Channel::Email,
            ),
            StepKind::Sms => (
                Kind::Reminder,
                Audience::Purpose(Purpose::Reminder),
                Channel::Sms,
            ),
            StepKind::Escalate => (
                Kind::Escalation,
                Audience::Role(self.role_id.clone().unwrap_or_default()),
                self.channel.unwrap_or(Channel::Email),
            ),
        };
        let email = channel == Channel::Email;
        Action::Send(Outgoing {
            kind,
            audience,
            channel,
            subject: self.subject.as_deref().filter(|_| email),
            text,
            html: self.html.as_deref().filter(|_| email),
        })
    }

    fn checked(mut self, i: usize) -> Result<Self> {
        let field = |name: &str| format!("steps[{i}].{name}");
        if self.id.is_empty()
            || self.id.len() > 64
            || !self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err(Error::invalid(
                field("id"),
                "must be 1 to 64 of the characters a-z, 0-9, _ and -",
            ));
        }
        let kind = self.kind;
        let must_lack = |name: &str, present: bool| {
            if present {
                Err(Error::invalid(
                    field(name),
                    format!("does not belong to a step of kind {}", kind.name()),
                ))
            } else {
                Ok(())
            }
        };
        let must_have = |name: &str, present: bool| {
            if present {
                Ok(())
            } else {
                Err(Error::invalid(
                    field(name),
                    format!("is required for a step of kind {}", kind.name()),
                ))
            }
        };
        if kind == StepKind::Wait {
            must_have("days", self.days.is_some())?;
            for (name, present) in [
                ("days_from_due", self.days_from_due.is_some()),
                ("subject", self.subject.is_some()),
                ("text", self.text.is_some()),
                ("html", self.html.is_some()),
                ("role_id", self.role_id.is_some()),
                ("channel", self.channel.is_some()),
            ] {
                must_lack(name, present)?;
            }
            if !(1..=MAX_DAYS).contains(&self.days.unwrap_or(0)) {
                return Err(Error::invalid(
                    field("days"),
                    format!("must be 1 to {MAX_DAYS}"),
                ));
            }
            return Ok(self);
        }
        must_lack("days", self.days.is_some())?;
        if let Some(d) = self.days_from_due
            && d.unsigned_abs() > MAX_DAYS
        {
            return Err(Error::invalid(
                field("days_from_due"),
                format!("must be between -{MAX_DAYS} and {MAX_DAYS}"),
            ));
        }
        let channel = match kind {
            StepKind::Email => {
                must_lack("role_id", self.role_id.is_some())?;
                must_lack("channel", self.channel.is_some())?;
                Channel::Email
            }
            StepKind::Sms => {
                must_lack("role_id", self.role_id.is_some())?;
                must_lack("channel", self.channel.is_some())?;
                Channel::Sms
            }
            _ => {
                must_have("role_id", self.role_id.is_some())?;
                must_have("channel", self.channel.is_some())?;
                match self.channel {
                    Some(c @ (Channel::Email | Channel::Sms)) => c,
                    _ => {
                        return Err(Error::invalid(
                            field("channel"),
                            "an escalation is sent by email or sms",
                        ));
                    }
                }
            }
        };
        must_have("text", self.text.is_some())?;
        let text_max = if channel == Channel::Sms {
            MAX_SMS
        } else {
            MAX_TEXT
        };
        let body = text(
            field("text"),
            self.text.as_deref().unwrap_or_default(),
            text_max,
        )?;
        merge::check(&field("text"), &body)?;
        self.text = Some(body);
        if channel == Channel::Email {
            must_have("subject", self.subject.is_some())?;
            let subject = text(
                field("subject"),
                self.subject.as_deref().unwrap_or_default(),
                MAX_SUBJECT,
            )?;
            if subject.contains(['\r', '\n']) {
                return Err(Error::invalid(field("subject"), "must be one line"));
            }
            merge::check(&field("subject"), &subject)?;
            self.subject = Some(subject);
            if let Some(html) = &self.html {
                let html = text(field("html"), html, MAX_HTML)?;
                merge::check(&field("html"), &html)?;
                self.html = Some(html);
            }
        } else {
            must_lack("subject", self.subject.is_some())?;
            must_lack("html", self.html.is_some())?;
        }
        Ok(self)
    }
}

impl WorkflowSpec {
    /// The spec trimmed, if its steps are sound (the escalation roles are checked apart, as
    /// that needs the store).
    fn checked(mut self) -> Result<Self> {
        self.name = text("name", &self.name, 200)?;
        if self.steps.is_empty() || self.steps.len() > MAX_STEPS {
            return Err(Error::invalid(
                "steps",
                format!("a workflow has 1 to {MAX_STEPS} steps"),
            ));
        }
        let steps = std::mem::take(&mut self.steps);
        for (i, step) in steps.into_iter().enumerate() {
            let step = step.checked(i)?;
            if let Some(first) = self.steps.iter().position(|s| s.id == step.id) {
                return Err(Error::invalid(
                    format!("steps[{i}].id"),
                    format!("steps[{first}] already has this id"),
                ));
            }
            self.steps.push(step);
        }
        // A wait times the steps after it from the step before it: it needs both.
        let last = self.steps.len() - 1;
        for (i, step) in self.steps.iter().enumerate() {
            if step.kind == StepKind::Wait && (i == 0 || i == last) {
                return Err(Error::invalid(
                    format!("steps[{i}].kind"),
                    "a wait comes between two steps (time the first step with days_from_due)",
                ));
            }
        }
        Ok(self)
    }

    /// The first step that sends and is not among `done`, with its position.
    pub fn next_step(&self, done: &[String]) -> Option<(usize, &Step)> {
        self.steps
            .iter()
            .enumerate()
            .find(|(_, s)| s.kind != StepKind::Wait && !done.contains(&s.id))
    }

    /// The first day the step at `index` may be done, for an invoice due on `due_date` whose
    /// last step was done on `last_done_on`: its own condition on the due date, and the waits
    /// right before it counted from the last step done.
    pub fn earliest(
        &self,
        index: usize,
        due_date: NaiveDate,
        last_done_on: Option<NaiveDate>,
    ) -> NaiveDate {
        let step = &self.steps[index];
        let mut at = NaiveDate::MIN;
        if let Some(days) = step.days_from_due {
            let from_due = if days >= 0 {
                due_date.checked_add_days(Days::new(days as u64))
            } else {
                due_date.checked_sub_days(Days::new(days.unsigned_abs() as u64))
            };
            at = at.max(from_due.unwrap_or(due_date));
        }
        let waited: u64 = self.steps[..index]
            .iter()
            .rev()
            .map_while(|s| match s.action() {
                Action::Wait { days } => Some(u64::from(days)),
                Action::Send(_) => None,
            })
            .sum();
        if let Some(last) = last_done_on
            && waited > 0
        {
            at = at.max(last.checked_add_days(Days::new(waited)).unwrap_or(last));
        }
        at
    }
}

/// What uses a workflow (or a portfolio): counted apart, so that a refused delete can say who.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum User {
    Portfolio,
    Client,
}

impl User {
    fn counter(self) -> &'static str {
        match self {
            User::Portfolio => "portfolios",
            User::Client => "clients",
        }
    }
}

/// The operations that move one user of workflows from `old` to `new`, for the user's own
/// transaction: the new workflow must still exist (the first operation, when `new` is set),
/// and the counts move. Nothing when they are the same.
pub fn reference_ops<E>(
    tx: &mut Transaction<E>,
    tenant_id: &str,
    user: User,
    old: Option<&str>,
    new: Option<&str>,
    gone: impl FnOnce() -> E,
) {
    let user = user.counter();
    if old == new {
        return;
    }
    if let Some(new) = new {
        tx.guarded(
            TxOp::Check(keys::workflow(tenant_id, new), Condition::Exists),
            gone(),
        )
        .op(TxOp::Update(
            keys::workflow_usage(tenant_id, new),
            Update::default().add("uses", 1).add(user, 1),
        ));
    }
    if let Some(old) = old {
        tx.op(TxOp::Update(
            keys::workflow_usage(tenant_id, old),
            Update::default().add("uses", -1).add(user, -1),
        ));
    }
}

/// The refusal when a workflow being assigned was deleted meanwhile.
pub fn deleted_meanwhile() -> Error {
    Error::invalid("workflow_id", "the workflow was deleted meanwhile")
}

/// Refuses `id` (named `field`) unless it is a workflow of the tenant.
pub async fn ensure_exists(svc: &Services, tenant_id: &str, id: &str, field: &str) -> Result<()> {
    match get(svc, tenant_id, id).await {
        Ok(_) => Ok(()),
        Err(Error::NotFound(_)) => Err(Error::invalid(field, "there is no workflow with this id")),
        Err(e) => Err(e),
    }
}

/// Refuses an escalation to a role the tenant does not have.
async fn check_roles(svc: &Services, tenant_id: &str, spec: &WorkflowSpec) -> Result<()> {
    for (i, step) in spec.steps.iter().enumerate() {
        if let Some(role) = &step.role_id {
            match roles::get(svc.table.as_ref(), tenant_id, role).await {
                Ok(_) => {}
                Err(Error::NotFound(_)) => {
                    return Err(Error::invalid(
                        format!("steps[{i}].role_id"),
                        "there is no contact role with this id",
                    ));
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

pub async fn create(svc: &Services, tenant_id: &str, spec: WorkflowSpec) -> Result<Workflow> {
    let spec = spec.checked()?;
    check_roles(svc, tenant_id, &spec).await?;
    let workflow = Resource::new(svc, spec);
    let item = workflow.item(keys::workflow(tenant_id, &workflow.id))?;
    svc.table.put(item, Condition::Absent).await?;
    Ok(workflow)
}

pub async fn get(svc: &Services, tenant_id: &str, id: &str) -> Result<Workflow> {
    resource::get(svc.table.as_ref(), &keys::workflow(tenant_id, id), WHAT).await
}

pub async fn list(
    svc: &Services,
    tenant_id: &str,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Workflow>, Option<Cursor>)> {
    resource::list_of_tenant(
        svc.table.as_ref(),
        tenant_id,
        keys::WORKFLOWS,
        limit,
        cursor,
    )
    .await
}

/// Changes a workflow by a merge patch (`steps` is replaced whole), if it is still at version
/// `seen`. Invoices on their way through it keep what they have done (see the module's notes).
pub async fn update(
    svc: &Services,
    tenant_id: &str,
    id: &str,
    seen: u64,
    patch: &Value,
) -> Result<Workflow> {
    let current = get(svc, tenant_id, id).await?;
    let spec = crate::domain::resource::patched(&current.spec, patch)?.checked()?;
    check_roles(svc, tenant_id, &spec).await?;
    let next = resource::changed(svc, &current, spec);
    resource::replace(
        svc.table.as_ref(),
        keys::workflow(tenant_id, id),
        &next,
        seen,
        WHAT,
    )
    .await?;
    Ok(next)
}

/// Deletes a workflow that no portfolio or client uses.
pub async fn delete(svc: &Services, tenant_id: &str, id: &str, seen: u64) -> Result<()> {
    get(svc, tenant_id, id).await?;
    let mut tx = Transaction::new();
    tx.guarded(
        TxOp::Delete(keys::workflow(tenant_id, id), Condition::VersionIs(seen)),
        Refused::Stale,
    )
    .guarded(
        TxOp::Delete(
            keys::workflow_usage(tenant_id, id),
            Condition::Below("uses".into(), 1),
        ),
        Refused::InUse,
    );
    match tx.try_commit(svc.table.as_ref()).await? {
        Ok(()) => Ok(()),
        Err(Refused::Stale) => Err(Error::Stale(WHAT)),
        Err(Refused::InUse) => {
            let usage = svc.table.get(&keys::workflow_usage(tenant_id, id)).await?;
            let count = |attr: &str| {
                usage
                    .as_ref()
                    .and_then(|u| u.data.get(attr))
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
            };
            Err(Error::Conflict(format!(
                "{} portfolio(s) and {} client(s) use this workflow; give them another \
                 workflow first",
                count("portfolios"),
                count("clients")
            )))
        }
    }
}

/// Why deleting a workflow or portfolio was refused.
pub(crate) enum Refused {
    Stale,
    InUse,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(steps: Value) -> Result<WorkflowSpec> {
        let spec: WorkflowSpec =
            crate::domain::resource::parse(json!({"name": "Standard", "steps": steps}))
                .expect("parses");
        spec.checked()
    }

    fn refused(steps: Value) -> (String, String) {
        match spec(steps).unwrap_err() {
            Error::Invalid { field, message } => (field, message),
            e => panic!("{e}"),
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_step_has_the_fields_of_its_kind_and_no_others() {
        let (field, message) = refused(json!([
            {"id": "a", "kind": "email", "subject": "Hi", "text": "Pay"},
            {"id": "b", "kind": "sms", "text": "Pay", "subject": "Hi"},
        ]));
        assert_eq!(field, "steps[1].subject");
        assert!(message.contains("does not belong"), "{message}");
        let (field, _) = refused(json!([{"id": "a", "kind": "email", "text": "Pay"}]));
        assert_eq!(field, "steps[0].subject");
        let (field, _) = refused(json!([
            {"id": "a", "kind": "escalate", "role_id": "r", "channel": "phone", "text": "x"}
        ]));
        assert_eq!(field, "steps[0].channel");
        let (field, _) = refused(json!([
            {"id": "a", "kind": "email", "subject": "s", "text": "t"},
            {"id": "w", "kind": "wait", "days": 3, "days_from_due": 1},
            {"id": "b", "kind": "sms", "text": "t"},
        ]));
        assert_eq!(field, "steps[1].days_from_due");
    }

    #[test]
    fn an_unknown_merge_tag_is_refused_naming_the_step_and_field() {
        let (field, message) = refused(json!([
            {"id": "a", "kind": "email", "subject": "Invoice {{invoice_number}}", "text": "Pay"},
            {"id": "b", "kind": "sms", "text": "Pay {{balance}}"},
            {"id": "c", "kind": "sms", "text": "Hello {{first_name}}"},
        ]));
        assert_eq!(field, "steps[2].text");
        assert!(message.contains("{{first_name}}"), "{message}");
    }

    #[test]
    fn step_ids_are_unique_and_waits_sit_between_steps() {
        let (field, message) = refused(json!([
            {"id": "a", "kind": "sms", "text": "t"},
            {"id": "a", "kind": "sms", "text": "t"},
        ]));
        assert_eq!(
            (field.as_str(), message.as_str()),
            ("steps[1].id", "steps[0] already has this id")
        );
        let (field, _) = refused(json!([
            {"id": "w", "kind": "wait", "days": 2},
            {"id": "a", "kind": "sms", "text": "t"},
        ]));
        assert_eq!(field, "steps[0].kind");
        let (field, _) = refused(json!([]));
        assert_eq!(field, "steps");
    }

    #[test]
    fn a_step_is_due_from_its_day_relative_to_the_due_date_and_after_the_waits_before_it() {
        let workflow = spec(json!([
            {"id": "before", "kind": "email", "subject": "s", "text": "t", "days_from_due": -3},
            {"id": "on", "kind": "sms", "text": "t", "days_from_due": 0},
            {"id": "w", "kind": "wait", "days": 5},
            {"id": "after", "kind": "sms", "text": "t", "days_from_due": 2},
        ]))
        .unwrap();
        let due = day("2026-12-10");
        assert_eq!(workflow.next_step(&[]).unwrap().0, 0);
        assert_eq!(workflow.earliest(0, due, None), day("2026-12-07"));
        assert_eq!(workflow.earliest(1, due, Some(day("2026-12-07"))), due);
        // Done late (on the 15th): the wait counts from then, beyond the due-date condition.
        let done = ["before".to_owned(), "on".to_owned()];
        let (index, step) = workflow.next_step(&done).unwrap();
        assert_eq!((index, step.id.as_str()), (3, "after"));
        assert_eq!(
            workflow.earliest(3, due, Some(day("2026-12-15"))),
            day("2026-12-20")
        );
        assert_eq!(
            workflow.earliest(3, due, Some(day("2026-12-01"))),
            day("2026-12-12")
        );
    }
}
