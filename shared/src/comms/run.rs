//! The daily communications run: every open invoice one step further through its workflow,
//! and on the first of the month a statement of open invoices to each client.
//!
//! The run works through the open-invoice lists (in 16 shards by client: `keys::open_shard`;
//! the unsharded list of earlier versions first, alone), four shards at a time
//! ([`SHARD_WORKERS`]), each shard with its own caches; a client's invoices are all in one
//! shard, so one worker at a time counts its contact limits. A shard's worker takes its
//! due-first list of earlier versions first (across tenants, by due date), then its
//! tenant-first list with tenants taking turns ([`TURN`] invoices each, round and round), so
//! one tenant's 200,000 due reminders do not keep another's handful waiting until the end. For each invoice it reads the invoice itself (the index may lag: a paid, disputed or voided invoice
//! stops its workflow), its progress (`PROGRESS#{invoice}`), its client and its workflow (the
//! client's own, else its portfolio's, else none). The next step of the workflow not yet done
//! is due when [`WorkflowSpec::earliest`] says so; then, in order:
//!
//! - the tenant's quiet hours, in its time zone at the run's "now" (`svc.clock`), defer every
//!   step of the tenant's invoices to a later run;
//! - a step past the client's `max_call_attempts` (workflow messages that went out for this
//!   invoice) is logged as skipped, "contact attempts used up", and counts as done;
//! - a client contacted (a reminder or escalation went out) less than `breathing_space_days`
//!   ago is not contacted again yet: the step waits, it is not skipped;
//! - otherwise the step goes through [`deliver`], which sends it to the contacts in its
//!   audience on its channel, or logs it as skipped with the reason (nobody in the role, the
//!   channel not allowed).
//!
//! The step is then recorded done, with the day, in the invoice's progress (and the client's
//! last contact, when it went out), under the progress's version. A step that reached nobody
//! lets the next step be tried the same day; one that went out ends the invoice's turn until
//! the next run day, so an invoice that joins a workflow late does not get every step at once.
//!
//! Nothing is sent twice: each step is delivered with the once-key `step#{invoice}#{step}`,
//! claimed per contact before sending. A run repeated, or killed between a send and its
//! progress write, finds the step begun ([`deliver::reached`]), finishes it (only contacts not
//! yet claimed are sent to, whatever the limits say now) and records it.
//!
//! A promise to pay ([`answers::promise`]) pauses the invoice's steps until the day after the
//! promised date ([`decide::promise`]); the first run after it, the invoice still open, marks
//! the promise broken ([`answers::break_promise`]: under the invoice's version, with its log
//! entry and one `PaymentPromiseBroken` event) and goes on with the workflow in the same turn.
//!
//! Statements go to the contacts whose role has communication, once per client and month
//! (`statement#{YYYY-MM}`), on the first of the month; a tenant in quiet hours then is put on
//! the month's waiting list (`STATEMENTS#{YYYY-MM}`) and gets its statements from the next run
//! outside them. Breathing space does not hold statements back. Each statement is stored
//! ([`statements::keep`]) before it is delivered, and what is stored is what is sent.
//!
//! Last, the run publishes the events a crash or an outage left in the outbox
//! ([`outbox::flush`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::decide::{self, Delivery, Earlier, NextStep, PromiseTurn};
use super::deliver::{self, Audience, Message, deliver};
use super::invoices::{self, Invoice, OpenRef, Status, answers};
use super::log::{Entry, Kind, Outcome};
use super::merge::{self, Values};
use super::portfolios;
use super::statements::{self, Statement};
use super::workflows::{self, Action, Outgoing, Step, Workflow};
use crate::Services;
use crate::domain::clients::{Channel, Client};
use crate::domain::roles::Purpose;
use crate::domain::tenants::Tenant;
use crate::domain::{Decimal2, Error, Result};
use crate::keys;
use crate::ports::{Condition, Item, Key, Query, SortKey, TableError, TxOp};
use crate::records::outbox;
use crate::records::resource;
use crate::records::tenants;
use crate::render::{self, long_date, mail};

/// Open invoices read at a time.
pub const PAGE: usize = 100;
/// Clients (and workflows) kept between invoices; past this the cache starts again, so a run's
/// memory does not grow with the number of clients.
const CACHE: usize = 10_000;
/// How long an invoice's progress is kept after its last step: as long as its sent-markers.
const KEEP_PROGRESS_DAYS: i64 = 730;
pub const ATTEMPTS_USED_UP: &str = "contact attempts used up";

/// What a run did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub day: NaiveDate,
    /// Open invoices looked at.
    pub invoices: u64,
    /// Messages handed over, one per contact and channel (statements included).
    pub sent: u64,
    /// Messages the provider refused or could not take.
    pub failed: u64,
    /// Steps and statements that reached nobody, logged with the reason.
    pub skipped: u64,
    /// Steps due but held back by the tenant's quiet hours.
    pub deferred_quiet_hours: u64,
    /// Steps due but held back by the client's breathing space.
    pub deferred_breathing_space: u64,
    /// Clients whose monthly statement went out in this run.
    pub statements: u64,
    /// Invoices whose turn failed (the next run tries again; nothing is sent twice).
    pub errors: u64,
    /// Messages an earlier run was cut off while handing over (they may or may not have gone
    /// out): found by this run, marked interrupted and listed among the tenant's warnings, not
    /// sent again.
    #[serde(default)]
    pub interrupted: u64,
    /// Invoices whose steps waited for a pending promise to pay.
    #[serde(default)]
    pub deferred_promise: u64,
    /// Promises to pay found broken (the invoice still open after the date).
    #[serde(default)]
    pub promises_broken: u64,
    /// Events a crash or an outage had left in the outbox, published by this run.
    #[serde(default)]
    pub events_published: u64,
    /// Events the bus refused again; they wait for the next run.
    #[serde(default)]
    pub events_waiting: u64,
    /// Invoices whose message the provider kept throttling after the back-off: left unclaimed
    /// for the next run (or the worker's retry), which sends it once. Counted in `errors` too.
    #[serde(default)]
    pub throttled: u64,
    /// Lists a worker stopped working before their end because its time was running out (on
    /// Lambda: its invocation's deadline); the rest is handed on ([`super::fanout`]).
    #[serde(default)]
    pub cut_short: u64,
}

impl Report {
    pub fn new(day: NaiveDate) -> Self {
        Self {
            day,
            invoices: 0,
            sent: 0,
            failed: 0,
            skipped: 0,
            deferred_quiet_hours: 0,
            deferred_breathing_space: 0,
            statements: 0,
            errors: 0,
            interrupted: 0,
            deferred_promise: 0,
            promises_broken: 0,
            events_published: 0,
            events_waiting: 0,
            throttled: 0,
            cut_short: 0,
        }
    }

    /// Adds another list's figures to these.
    pub fn add(&mut self, other: &Report) {
        self.invoices += other.invoices;
        self.sent += other.sent;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.deferred_quiet_hours += other.deferred_quiet_hours;
        self.deferred_breathing_space += other.deferred_breathing_space;
        self.statements += other.statements;
        self.errors += other.errors;
        self.interrupted += other.interrupted;
        self.deferred_promise += other.deferred_promise;
        self.promises_broken += other.promises_broken;
        self.events_published += other.events_published;
        self.events_waiting += other.events_waiting;
        self.throttled += other.throttled;
        self.cut_short += other.cut_short;
    }

    fn count(&mut self, entries: &[Entry]) {
        for e in entries {
            match e.outcome {
                Outcome::Sent => self.sent += 1,
                Outcome::Failed => self.failed += 1,
                Outcome::Skipped => self.skipped += 1,
                Outcome::Interrupted => self.interrupted += 1,
                // The provider's later reports are not a run's doing.
                Outcome::Sending
                | Outcome::Recorded
                | Outcome::Delivered
                | Outcome::Bounced
                | Outcome::Complained
                | Outcome::Rejected => {}
            }
        }
    }
}

/// How far an invoice has come through its workflow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The ids of the steps done (sent, or skipped with a logged reason), in order.
    pub done: Vec<String>,
    /// The run day the last of them was done: waits count from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_done_on: Option<NaiveDate>,
    /// Workflow messages that went out for this invoice (the client's `max_call_attempts`).
    pub messages: u32,
    /// The run day a step of this invoice last went out: that ends the invoice's turn for the
    /// day, in this run and in any other run of the same day (a retry, a shard delivered again
    /// or handed on), so an overdue invoice gets one message a day, not one a run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sent_on: Option<NaiveDate>,
}

/// An invoice's progress, as the run left it (none before its first step).
pub async fn progress(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    invoice_id: &str,
) -> Result<Option<Progress>> {
    let item = svc
        .table
        .get(&keys::progress(tenant_id, client_id, invoice_id))
        .await?;
    Ok(item.map(|i| i.record()).transpose()?)
}

/// Runs day `day`'s communications for every tenant, [`SHARD_WORKERS`] shards at a time.
/// `progress` hears of every step done, deferred or failed, and of every statement, a shard's
/// lines together, in shard order. An invoice whose turn fails is counted in
/// [`Report::errors`] and the run goes on; a failure to read a list ends the run.
pub async fn run_day(
    svc: &Services,
    day: NaiveDate,
    progress: &mut dyn FnMut(&str),
) -> Result<Report> {
    run_day_with(svc, day, SHARD_WORKERS, progress).await
}

/// [`run_day`] with `workers` shards at a time (at least one).
pub async fn run_day_with(
    svc: &Services,
    day: NaiveDate,
    workers: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<Report> {
    let month = day.format("%Y-%m").to_string();
    let waiting = waiting_list(svc, &month).await?;
    let now = svc.clock.now();
    let mut lists = keys::open_lists().into_iter();
    // The unsharded list of earlier versions first, alone: a client's invoices there and in
    // its shard must not be worked by two workers at once.
    let unsharded = lists.next().expect("the unsharded list comes first");
    let mut done = vec![run_list(svc, day, now, &month, &waiting, unsharded).await];
    // Then the shards, [`SHARD_WORKERS`] at a time; their lines come out in shard order.
    let mut shards =
        futures::stream::iter(lists.map(|list| run_list(svc, day, now, &month, &waiting, list)))
            .buffered(workers.max(1));
    let mut report = Report::new(day);
    let mut failed = None;
    loop {
        let next = match done.pop() {
            Some(d) => Some(d),
            None => shards.next().await,
        };
        let Some((lines, result)) = next else {
            break;
        };
        for line in &lines {
            progress(line);
        }
        match result {
            Ok(r) => report.add(&r),
            // A list that could not be read ends the run (as one index did before), after the
            // lists already under way have finished their work.
            Err(e) => failed = failed.or(Some(e)),
        }
    }
    drop(shards);
    if let Some(e) = failed {
        return Err(e);
    }
    // The lists' own runs share no state: a last step takes tenants off the statement waiting
    // list (only when no invoice failed) and publishes what the outbox holds.
    let (lines, last) = finish(svc, day, now, &month, waiting, report.errors).await?;
    for line in &lines {
        progress(line);
    }
    report.events_published += last.events_published;
    report.events_waiting += last.events_waiting;
    Ok(report)
}

/// The tenants on the month's statement waiting list.
pub(super) async fn waiting_list(svc: &Services, month: &str) -> Result<HashSet<String>> {
    Ok(svc
        .table
        .query_all(Query::partition(keys::statements_pk(month)))
        .await?
        .into_iter()
        .map(|i| i.key.sk)
        .collect())
}

/// A day's last step, once every list is done: tenants off the statement waiting list (only
/// when no invoice failed: `errors`), and the outbox's leftovers published.
pub(super) async fn finish(
    svc: &Services,
    day: NaiveDate,
    now: DateTime<Utc>,
    month: &str,
    waiting: HashSet<String>,
    errors: u64,
) -> Result<(Vec<String>, Report)> {
    let mut last = Run::new(svc, day, now, month, waiting);
    last.report.errors = errors;
    last.statements_done().await?;
    last.flush_outbox().await;
    Ok((last.lines, last.report))
}

/// Shards worked through at once by one run.
pub const SHARD_WORKERS: usize = 4;

/// Works through one open-invoice list: its lines and its figures.
pub(super) async fn run_list(
    svc: &Services,
    day: NaiveDate,
    now: DateTime<Utc>,
    month: &str,
    waiting: &HashSet<String>,
    list: String,
) -> (Vec<String>, Result<Report>) {
    let (lines, result) =
        run_list_from(svc, day, now, month, waiting, list, None, Resume::default()).await;
    (lines, result.map(|(report, _)| report))
}

/// Where a worker whose time ran out left a list, for the next worker to go on from (a shard's
/// queue message carries it): the due-first list's next page, or, that list done, the turns
/// of the tenant-first list still to come with each tenant's next page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    #[serde(default)]
    pub due_first_done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_first: Option<String>,
    /// `None`: the tenant-first list not begun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turns: Option<Vec<(String, Option<String>)>>,
}

/// [`run_list`] from `resume`, stopping in time: given `stop_at`, it stops after the first page
/// it finishes at or past that time with more to come (at least one page is worked, so a list
/// handed on again and again moves on), counts the list in [`Report::cut_short`] and says
/// where it stopped.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run_list_from(
    svc: &Services,
    day: NaiveDate,
    now: DateTime<Utc>,
    month: &str,
    waiting: &HashSet<String>,
    list: String,
    stop_at: Option<DateTime<Utc>>,
    resume: Resume,
) -> (Vec<String>, Result<(Report, Option<Resume>)>) {
    let mut run = Run::new(svc, day, now, month, waiting.clone());
    run.stop_at = stop_at;
    let mut result = Ok(None);
    if !resume.due_first_done {
        result = run.due_first(&list, resume.due_first).await;
    }
    if let (Ok(None), Some(by_tenant)) = (&result, keys::tenant_first(&list)) {
        result = run.tenants_in_turn(&by_tenant, resume.turns).await;
    }
    let lines = std::mem::take(&mut run.lines);
    (lines, result.map(|left| (run.report, left)))
}

/// A page's cursor carried in a shard's message.
fn cursor_of(s: &str) -> Result<crate::ports::Cursor> {
    Ok(crate::ports::Cursor::parse(s)?)
}

/// Invoices of one tenant worked in its turn of a shard's tenant-first list, before the next
/// tenant's turn.
pub const TURN: usize = 25;

struct TenantState {
    tenant: Tenant,
    /// The run's "now" is inside the tenant's quiet hours.
    quiet: bool,
    /// This run sends the tenant's statements of the month.
    statements_due: bool,
}

struct ClientState {
    client: Client,
    last_contacted: Option<NaiveDate>,
}

struct Run<'a> {
    svc: &'a Services,
    day: NaiveDate,
    now: DateTime<Utc>,
    month: String,
    /// What the run says, line by line, handed to the caller's `progress` when the list is done.
    lines: Vec<String>,
    report: Report,
    tenants: HashMap<String, Option<Arc<TenantState>>>,
    /// By client partition.
    clients: HashMap<String, Option<Arc<ClientState>>>,
    /// By (tenant, workflow).
    workflows: HashMap<(String, String), Option<Arc<Workflow>>>,
    /// A portfolio's workflow, by (tenant, portfolio).
    portfolios: HashMap<(String, String), Option<String>>,
    /// Tenants on the month's statement waiting list.
    waiting: HashSet<String>,
    /// Clients whose statement this run has dealt with, by client partition.
    statemented: HashSet<String>,
    /// When the worker must stop (see [`run_list`]).
    stop_at: Option<DateTime<Utc>>,
}

impl<'a> Run<'a> {
    fn new(
        svc: &'a Services,
        day: NaiveDate,
        now: DateTime<Utc>,
        month: &str,
        waiting: HashSet<String>,
    ) -> Self {
        Run {
            svc,
            day,
            now,
            month: month.to_owned(),
            lines: Vec::new(),
            report: Report::new(day),
            tenants: HashMap::new(),
            clients: HashMap::new(),
            workflows: HashMap::new(),
            portfolios: HashMap::new(),
            waiting,
            statemented: HashSet::new(),
            stop_at: None,
        }
    }

    /// The worker's time is up: the list is counted cut short, and the caller hands on the
    /// rest. Checked after each page, never before the first.
    fn out_of_time(&mut self) -> bool {
        let up = self.stop_at.is_some_and(|at| self.svc.clock.now() >= at);
        if up {
            self.report.cut_short += 1;
        }
        up
    }

    fn say(&mut self, line: &str) {
        self.lines.push(line.to_owned());
    }

    /// Works through a due-first list (the unsharded one, or a shard's of earlier versions),
    /// page by page, across tenants.
    /// From `from` (a page's cursor; none: the start). Cut short, it says where it stopped.
    async fn due_first(&mut self, list: &str, from: Option<String>) -> Result<Option<Resume>> {
        let mut cursor = from.as_deref().map(cursor_of).transpose()?;
        loop {
            let (refs, next) = invoices::open_page(self.svc, list, PAGE, cursor).await?;
            self.page(&refs).await?;
            match next {
                Some(next) if self.out_of_time() => {
                    return Ok(Some(Resume {
                        due_first: Some(next.as_str().to_owned()),
                        ..Resume::default()
                    }));
                }
                Some(next) => cursor = Some(next),
                None => return Ok(None),
            }
        }
    }

    /// Works through a shard's tenant-first list with tenants taking turns: [`TURN`] invoices
    /// of each tenant (its earliest due first), then the next tenant's, round and round until
    /// every tenant's are done; so a tenant with a few due reminders is reached in the first
    /// round, whatever another tenant has due.
    async fn tenants_in_turn(
        &mut self,
        list: &str,
        from: Option<Vec<(String, Option<String>)>>,
    ) -> Result<Option<Resume>> {
        let mut turns: std::collections::VecDeque<(String, Option<crate::ports::Cursor>)> =
            match from {
                Some(turns) => turns
                    .into_iter()
                    .map(|(t, c)| Ok((t, c.as_deref().map(cursor_of).transpose()?)))
                    .collect::<Result<_>>()?,
                None => invoices::tenants_in(self.svc, list)
                    .await?
                    .into_iter()
                    .map(|t| (t, None))
                    .collect(),
            };
        while let Some((tenant, cursor)) = turns.pop_front() {
            let (refs, next) = invoices::open_page_of(
                self.svc,
                list,
                SortKey::BeginsWith(format!("{tenant}#")),
                TURN,
                cursor,
            )
            .await?;
            self.page(&refs).await?;
            if let Some(next) = next {
                turns.push_back((tenant, Some(next)));
            }
            if !turns.is_empty() && self.out_of_time() {
                let turns = turns
                    .into_iter()
                    .map(|(t, c)| (t, c.map(|c| c.as_str().to_owned())))
                    .collect();
                return Ok(Some(Resume {
                    due_first_done: true,
                    due_first: None,
                    turns: Some(turns),
                }));
            }
        }
        Ok(None)
    }

    async fn page(&mut self, refs: &[OpenRef]) -> Result<()> {
        let keys: Vec<Key> = refs
            .iter()
            .flat_map(|r| {
                [
                    crate::keys::invoice(&r.tenant_id, &r.client_id, &r.invoice_id),
                    keys::progress(&r.tenant_id, &r.client_id, &r.invoice_id),
                ]
            })
            .collect();
        let items = self.svc.table.batch_get(&keys).await?;
        for (open, pair) in refs.iter().zip(items.chunks(2)) {
            if let Err(e) = self.invoice(open, pair[0].as_ref(), pair[1].as_ref()).await {
                self.report.errors += 1;
                if deliver::throttled(&e) {
                    self.report.throttled += 1;
                    self.say(&format!(
                        "invoice {} of client {}: the provider kept throttling (its send rate); left for the next run",
                        open.invoice_id, open.client_id
                    ));
                    continue;
                }
                tracing::error!(
                    tenant_id = %open.tenant_id,
                    client_id = %open.client_id,
                    invoice_id = %open.invoice_id,
                    error = %e,
                    "an invoice's communications failed; the next run tries again"
                );
                self.say(&format!(
                    "invoice {} of client {}: failed ({e}); the next run tries again",
                    open.invoice_id, open.client_id
                ));
            }
        }
        Ok(())
    }

    /// Publishes the events left in the outbox; a failure waits for the next run.
    async fn flush_outbox(&mut self) {
        match outbox::flush(self.svc, usize::MAX).await {
            Ok(flushed) => {
                self.report.events_published += flushed.published;
                self.report.events_waiting += flushed.failed;
                if flushed.published + flushed.failed > 0 {
                    self.say(&format!(
                        "events left in the outbox: {} published, {} refused again (they wait for the next run)",
                        flushed.published, flushed.failed
                    ));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "the outbox could not be read; its events wait for the next run");
                self.say(&format!("events left in the outbox: not published ({e})"));
            }
        }
    }

    async fn tenant(&mut self, id: &str) -> Result<Option<Arc<TenantState>>> {
        if let Some(t) = self.tenants.get(id) {
            return Ok(t.clone());
        }
        let tenant = match tenants::get(self.svc.table.as_ref(), id).await {
            Ok(t) => t,
            Err(Error::NotFound(_)) => {
                self.tenants.insert(id.to_owned(), None);
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let quiet = decide::in_quiet_hours(
            tenant.spec.quiet_hours.as_ref(),
            &tenant.spec.time_zone,
            self.now,
        );
        let statements_due = self.day.day() == 1 || self.waiting.contains(id);
        if quiet {
            let local = decide::local_time(&tenant.spec.time_zone, self.now);
            self.say(&format!(
                "{}: quiet hours at {} in {}; its steps wait for a later run",
                tenant.spec.name,
                local.format("%H:%M"),
                tenant.spec.time_zone
            ));
        }
        if statements_due && quiet && !self.waiting.contains(id) {
            // Statements of the month wait for the first run outside quiet hours; the list
            // entry goes when the month does.
            let next_month = self
                .day
                .with_day(1)
                .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
                .unwrap_or(self.day);
            let item = Item::new(
                Key::new(keys::statements_pk(&self.month), id),
                Default::default(),
            )
            .with_expiry(
                next_month
                    .and_time(chrono::NaiveTime::MIN)
                    .and_utc()
                    .timestamp(),
            );
            self.svc.table.put(item, Condition::None).await?;
            self.waiting.insert(id.to_owned());
        }
        let state = Arc::new(TenantState {
            tenant,
            quiet,
            statements_due,
        });
        self.tenants.insert(id.to_owned(), Some(state.clone()));
        Ok(Some(state))
    }

    async fn client(
        &mut self,
        tenant_id: &str,
        client_id: &str,
    ) -> Result<Option<Arc<ClientState>>> {
        let pk = keys::client_pk(tenant_id, client_id);
        if let Some(c) = self.clients.get(&pk) {
            return Ok(c.clone());
        }
        if self.clients.len() >= CACHE {
            self.clients.clear();
        }
        let found = self
            .svc
            .table
            .batch_get(&[
                keys::client(tenant_id, client_id),
                keys::contacted(tenant_id, client_id),
            ])
            .await?;
        let state = match &found[0] {
            None => None,
            Some(item) => Some(Arc::new(ClientState {
                client: resource::from_item(item)?,
                last_contacted: found[1]
                    .as_ref()
                    .and_then(|c| c.data.get("on"))
                    .and_then(|on| serde_json::from_value(on.clone()).ok()),
            })),
        };
        self.clients.insert(pk, state.clone());
        Ok(state)
    }

    /// The client's own workflow, else its portfolio's, else none.
    async fn workflow(
        &mut self,
        tenant_id: &str,
        client: &Client,
    ) -> Result<Option<Arc<Workflow>>> {
        let id = match (&client.spec.workflow_id, &client.spec.portfolio_id) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(portfolio)) => {
                let at = (tenant_id.to_owned(), portfolio.clone());
                match self.portfolios.get(&at) {
                    Some(id) => id.clone(),
                    None => {
                        let id = match portfolios::get(self.svc, tenant_id, portfolio).await {
                            Ok(p) => Some(p.spec.workflow_id),
                            Err(Error::NotFound(_)) => None,
                            Err(e) => return Err(e),
                        };
                        self.portfolios.insert(at, id.clone());
                        id
                    }
                }
            }
            (None, None) => None,
        };
        let Some(id) = id else { return Ok(None) };
        let at = (tenant_id.to_owned(), id);
        if let Some(w) = self.workflows.get(&at) {
            return Ok(w.clone());
        }
        if self.workflows.len() >= CACHE {
            self.workflows.clear();
        }
        let workflow = match workflows::get(self.svc, tenant_id, &at.1).await {
            Ok(w) => Some(Arc::new(w)),
            // Cannot be deleted while used; data from before that rule may point nowhere.
            Err(Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        self.workflows.insert(at, workflow.clone());
        Ok(workflow)
    }

    /// One open invoice's turn: its statement if due, then its workflow.
    async fn invoice(
        &mut self,
        open: &OpenRef,
        item: Option<&Item>,
        progress_item: Option<&Item>,
    ) -> Result<()> {
        let Some(item) = item else {
            return Ok(());
        };
        let mut invoice: Invoice = resource::from_item(item)?;
        if invoice.spec.status != Status::Open {
            return Ok(());
        }
        let Some(tenant) = self.tenant(&open.tenant_id).await? else {
            return Ok(());
        };
        let Some(client) = self.client(&open.tenant_id, &open.client_id).await? else {
            return Ok(());
        };
        self.report.invoices += 1;
        let pk = keys::client_pk(&open.tenant_id, &open.client_id);
        if self.statemented.len() >= 10 * CACHE {
            // Forgetting costs a look at the client's invoices again: its statement is not
            // sent twice.
            self.statemented.clear();
        }
        if tenant.statements_due && !tenant.quiet && self.statemented.insert(pk) {
            self.statement(&tenant, &client.client).await?;
        }
        let promised = invoice.spec.promise.as_ref().map(|p| (p.status, p.date));
        match decide::promise(promised, self.day) {
            PromiseTurn::None => {}
            PromiseTurn::Paused { until } => {
                self.report.deferred_promise += 1;
                self.say(&format!(
                    "{}: invoice {} of {}: waits for the promise to pay, until {until}",
                    tenant.tenant.spec.name,
                    invoice.spec.number,
                    client.client.spec.identity.display_name()
                ));
                return Ok(());
            }
            PromiseTurn::Broken => {
                let settled = answers::break_promise(
                    self.svc,
                    &open.tenant_id,
                    &open.client_id,
                    invoice,
                    self.day,
                )
                .await?;
                if settled.broke {
                    self.report.promises_broken += 1;
                    self.say(&format!(
                        "{}: invoice {} of {}: the promise to pay was broken; its workflow goes on",
                        tenant.tenant.spec.name,
                        settled.invoice.spec.number,
                        client.client.spec.identity.display_name()
                    ));
                }
                invoice = settled.invoice;
                let again = invoice.spec.promise.as_ref().map(|p| (p.status, p.date));
                if invoice.spec.status != Status::Open
                    || decide::promise(again, self.day) != PromiseTurn::None
                {
                    // Paid or disputed meanwhile, or promised anew: not today.
                    return Ok(());
                }
            }
        }
        let Some(workflow) = self.workflow(&open.tenant_id, &client.client).await? else {
            return Ok(());
        };
        let (progress, version) = match progress_item {
            Some(p) => (p.record()?, Some(p.version)),
            None => (Progress::default(), None),
        };
        self.advance(&tenant, &client, &invoice, &workflow, progress, version)
            .await
    }

    /// Does the invoice's due steps, as far as the rules let it today.
    async fn advance(
        &mut self,
        tenant: &TenantState,
        client: &ClientState,
        invoice: &Invoice,
        workflow: &Workflow,
        mut progress: Progress,
        mut version: Option<u64>,
    ) -> Result<()> {
        let tenant_id = tenant.tenant.id.as_str();
        let settings = &client.client.spec.communication;
        loop {
            if progress.last_sent_on == Some(self.day) {
                return Ok(());
            }
            let Some((index, step)) = workflow.spec.next_step(&progress.done) else {
                return Ok(());
            };
            let Action::Send(outgoing) = step.action() else {
                return Ok(());
            };
            let turn = decide::Turn {
                day: self.day,
                now: self.now,
                earliest: workflow.spec.earliest(
                    index,
                    invoice.spec.due_date,
                    progress.last_done_on,
                ),
                quiet_hours: tenant.tenant.spec.quiet_hours.as_ref(),
                time_zone: &tenant.tenant.spec.time_zone,
            };
            let what = format!(
                "{}: invoice {} of {}: step {}",
                tenant.tenant.spec.name,
                invoice.spec.number,
                client.client.spec.identity.display_name(),
                step.id
            );
            let next = decide::next_step(&turn);
            tracing::debug!(invoice_id = %invoice.id, step = %step.id, ?next, "the step's turn");
            match next {
                NextStep::NotDue => return Ok(()),
                NextStep::QuietHours => {
                    self.report.deferred_quiet_hours += 1;
                    self.say(&format!("{what}: waits, quiet hours"));
                    return Ok(());
                }
                NextStep::Due => {}
            }
            let message = self.message(&tenant.tenant, &client.client, invoice, step, &outgoing)?;
            let once = format!("step#{}#{}", invoice.id, step.id);
            let earlier = deliver::reached(self.svc, tenant_id, &client.client.id, &once).await?;
            let contacting = decide::Contacting {
                day: self.day,
                earlier: Earlier::from_reached(earlier),
                messages: progress.messages,
                max_call_attempts: settings.max_call_attempts,
                breathing_space_days: settings.breathing_space_days,
                last_contacted: self
                    .clients
                    .get(&keys::client_pk(tenant_id, &client.client.id))
                    .and_then(|c| c.as_ref())
                    .and_then(|c| c.last_contacted)
                    .or(client.last_contacted),
            };
            let delivery = decide::delivery(&contacting);
            tracing::debug!(invoice_id = %invoice.id, step = %step.id, ?delivery, "the step's delivery");
            let reached = match delivery {
                Delivery::SkippedBefore => false,
                Delivery::Finish => {
                    let written = self
                        .send(tenant_id, client, &outgoing, &message, &once)
                        .await?;
                    self.tell(&what, &outgoing, &written);
                    true
                }
                Delivery::AttemptsUsedUp => {
                    let logged = deliver::skip(
                        self.svc,
                        tenant_id,
                        &client.client,
                        outgoing.channel,
                        &message,
                        &once,
                        ATTEMPTS_USED_UP.into(),
                    )
                    .await?;
                    self.report.count(&logged);
                    self.say(&format!("{what}: skipped, {ATTEMPTS_USED_UP}"));
                    false
                }
                Delivery::BreathingSpace { last, until } => {
                    self.report.deferred_breathing_space += 1;
                    self.say(&format!(
                        "{what}: waits, breathing space until {until} (contacted {last})"
                    ));
                    return Ok(());
                }
                Delivery::Send => {
                    let written = self
                        .send(tenant_id, client, &outgoing, &message, &once)
                        .await?;
                    self.tell(&what, &outgoing, &written);
                    if written.is_empty() {
                        // A concurrent run claimed it between the look and the send.
                        deliver::reached(self.svc, tenant_id, &client.client.id, &once)
                            .await?
                            .unwrap_or(false)
                    } else {
                        written.iter().any(|e| e.outcome != Outcome::Skipped)
                    }
                }
            };
            progress.done.push(step.id.clone());
            progress.last_done_on = Some(self.day);
            if reached {
                progress.messages += 1;
                progress.last_sent_on = Some(self.day);
            }
            match self
                .record(
                    tenant_id,
                    &client.client.id,
                    &invoice.id,
                    &progress,
                    version,
                    reached,
                )
                .await?
            {
                Some(v) => version = Some(v),
                // Another run moved this invoice on meanwhile; it has the rest of today.
                None => return Ok(()),
            }
            if reached {
                let pk = keys::client_pk(tenant_id, &client.client.id);
                if let Some(Some(state)) = self.clients.get(&pk) {
                    let updated = ClientState {
                        client: state.client.clone(),
                        last_contacted: Some(
                            state.last_contacted.map_or(self.day, |d| d.max(self.day)),
                        ),
                    };
                    self.clients.insert(pk, Some(Arc::new(updated)));
                }
                return Ok(());
            }
        }
    }

    async fn send(
        &mut self,
        tenant_id: &str,
        client: &ClientState,
        outgoing: &Outgoing<'_>,
        message: &Message,
        once: &str,
    ) -> Result<Vec<Entry>> {
        let written = deliver(
            self.svc,
            tenant_id,
            &client.client,
            &outgoing.audience,
            outgoing.channel,
            message,
            once,
        )
        .await?;
        self.report.count(&written);
        Ok(written)
    }

    fn tell(&mut self, what: &str, outgoing: &Outgoing, written: &[Entry]) {
        let channel = deliver::channel_name(outgoing.channel);
        let line = match written {
            [] => format!("{what}: done before, nothing sent again"),
            [only] if only.outcome == Outcome::Skipped => format!(
                "{what}: skipped, {}",
                only.reason.as_deref().unwrap_or("reached nobody")
            ),
            _ => {
                let to: Vec<String> = written
                    .iter()
                    .map(|e| match e.outcome {
                        Outcome::Failed => format!(
                            "{} (failed: {})",
                            e.to.as_deref().unwrap_or("?"),
                            e.reason.as_deref().unwrap_or("")
                        ),
                        Outcome::Interrupted => format!(
                            "{} (interrupted in an earlier run: may or may not have gone out; not sent again)",
                            e.to.as_deref().unwrap_or("?")
                        ),
                        _ => e.to.clone().unwrap_or_default(),
                    })
                    .collect();
                format!("{what}: {channel} to {}", to.join(", "))
            }
        };
        self.say(&line);
    }

    /// Records a step done; the new version, or `None` when another run recorded first.
    async fn record(
        &self,
        tenant_id: &str,
        client_id: &str,
        invoice_id: &str,
        progress: &Progress,
        version: Option<u64>,
        reached: bool,
    ) -> Result<Option<u64>> {
        let next = version.map_or(1, |v| v + 1);
        let keep = self.now + Duration::days(KEEP_PROGRESS_DAYS);
        let item = Item::from_record(keys::progress(tenant_id, client_id, invoice_id), progress)?
            .with_version(next)
            .with_expiry(keep.timestamp());
        let condition = version.map_or(Condition::Absent, Condition::VersionIs);
        let mut ops = vec![TxOp::Put(item, condition)];
        if reached {
            let last = self
                .clients
                .get(&keys::client_pk(tenant_id, client_id))
                .and_then(|c| c.as_ref())
                .and_then(|c| c.last_contacted)
                .map_or(self.day, |d| d.max(self.day));
            // Kept past the longest breathing space (365 days).
            let keep = self.now + Duration::days(366);
            let mut data = serde_json::Map::new();
            data.insert("on".into(), json!(last));
            let contacted = Item::new(keys::contacted(tenant_id, client_id), data)
                .with_expiry(keep.timestamp());
            ops.push(TxOp::Put(contacted, Condition::None));
        }
        match self.svc.table.transact(ops).await {
            Ok(()) => Ok(Some(next)),
            Err(TableError::TransactionFailed { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The step's message for this invoice, its merge tags filled in.
    fn message(
        &self,
        tenant: &Tenant,
        client: &Client,
        invoice: &Invoice,
        step: &Step,
        outgoing: &Outgoing,
    ) -> Result<Message> {
        let values = values(tenant, client, invoice, self.day);
        let (subject, html, text) = match outgoing.subject {
            Some(subject) => {
                let mail =
                    mail::merged::<merge::Tag>(subject, outgoing.html, outgoing.text, &values)?;
                (mail.subject, mail.html, mail.text)
            }
            None => (
                format!(
                    "{} by SMS: invoice {}",
                    match outgoing.kind {
                        Kind::Escalation => "Escalation",
                        _ => "Reminder",
                    },
                    invoice.spec.number
                ),
                String::new(),
                render::merge::text(
                    &render::merge::parse::<merge::Tag>("text", outgoing.text)?,
                    &values,
                ),
            ),
        };
        Ok(Message {
            kind: outgoing.kind,
            invoice_id: Some(invoice.id.clone()),
            step: Some(step.id.clone()),
            subject,
            html,
            text,
        })
    }

    /// The client's statement of open invoices, e-mailed once this month.
    async fn statement(&mut self, tenant: &TenantState, client: &Client) -> Result<()> {
        let tenant_id = tenant.tenant.id.as_str();
        let items = self
            .svc
            .table
            .query_all(
                Query::partition(keys::client_pk(tenant_id, &client.id))
                    .sk(SortKey::BeginsWith(keys::INVOICES.into())),
            )
            .await?;
        let mut open = Vec::new();
        for item in items.iter().filter(|i| i.key.sk.matches('#').count() == 1) {
            let invoice: Invoice = resource::from_item(item)?;
            if invoice.spec.status == Status::Open {
                open.push(invoice);
            }
        }
        if open.is_empty() {
            return Ok(());
        }
        // What is stored is what is sent: a rerun sends the statement an earlier run stored.
        let made = Statement::of(
            &tenant.tenant,
            &client.id,
            &self.month,
            self.day,
            self.now,
            &open,
        );
        let statement = statements::keep(self.svc, tenant_id, made).await?;
        let message = statement_message(&tenant.tenant, client, &statement);
        let written = deliver(
            self.svc,
            tenant_id,
            client,
            &Audience::Purpose(Purpose::Statement),
            Channel::Email,
            &message,
            &format!("statement#{}", self.month),
        )
        .await?;
        self.report.count(&written);
        if written.iter().any(|e| e.outcome == Outcome::Sent) {
            self.report.statements += 1;
        }
        let what = format!(
            "{}: statement of {} ({} open invoice(s))",
            tenant.tenant.spec.name,
            client.spec.identity.display_name(),
            statement.lines.len()
        );
        let line = match written.as_slice() {
            [] => format!("{what}: sent before"),
            [only] if only.outcome == Outcome::Skipped => {
                format!("{what}: skipped, {}", only.reason.as_deref().unwrap_or(""))
            }
            _ => format!(
                "{what}: e-mail to {}",
                written
                    .iter()
                    .filter_map(|e| match e.outcome {
                        Outcome::Interrupted => e.to.as_ref().map(|to| format!(
                            "{to} (interrupted in an earlier run: may or may not have gone out; not sent again)"
                        )),
                        _ => e.to.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.say(&line);
        Ok(())
    }

    /// Takes tenants whose waiting statements this run sent off the month's waiting list
    /// (kept when an invoice failed, so that a retry of the run sends the rest).
    async fn statements_done(&mut self) -> Result<()> {
        if self.report.errors > 0 {
            return Ok(());
        }
        let waiting: Vec<String> = self.waiting.iter().cloned().collect();
        for id in waiting {
            let handled = match self.tenant(&id).await? {
                Some(t) => !t.quiet,
                None => true,
            };
            if handled {
                self.svc
                    .table
                    .delete(
                        &Key::new(keys::statements_pk(&self.month), id),
                        Condition::None,
                    )
                    .await?;
            }
        }
        Ok(())
    }
}

fn currency_of(tenant: &Tenant, invoice: &Invoice) -> String {
    invoice
        .spec
        .currency
        .clone()
        .unwrap_or_else(|| tenant.spec.currency.clone())
}

fn balance_of(invoice: &Invoice) -> Decimal2 {
    invoice.spec.balance.unwrap_or(invoice.spec.amount)
}

/// The merge values of an invoice on run day `day`.
pub fn values(tenant: &Tenant, client: &Client, invoice: &Invoice, day: NaiveDate) -> Values {
    Values {
        client_name: client.spec.identity.display_name(),
        invoice_number: invoice.spec.number.clone(),
        amount: invoice.spec.amount.to_string(),
        balance: balance_of(invoice).to_string(),
        currency: currency_of(tenant, invoice),
        due_date: long_date(invoice.spec.due_date),
        days_overdue: (day - invoice.spec.due_date).num_days().max(0).to_string(),
        document_link: invoice.spec.document_url.clone().unwrap_or_default(),
        tenant_name: tenant.spec.name.clone(),
        portal_link: merge::PORTAL_LINK_SLOT.into(),
    }
}

/// The monthly statement as stored: each open invoice with its due date and balance, and the
/// total owing per currency.
fn statement_message(tenant: &Tenant, client: &Client, statement: &Statement) -> Message {
    let name = client.spec.identity.display_name();
    let lines: Vec<mail::StatementLine> = statement
        .lines
        .iter()
        .map(|line| mail::StatementLine {
            number: &line.number,
            due: line.due_date,
            currency: &line.currency,
            balance: line.balance,
        })
        .collect();
    let mail = mail::statement(&mail::Statement {
        from: &tenant.spec.name,
        to: &name,
        day: statement.day,
        invoices: &lines,
        portal_link: Some(merge::PORTAL_LINK_SLOT),
    });
    Message {
        kind: Kind::Statement,
        invoice_id: None,
        step: None,
        subject: mail.subject,
        html: mail.html,
        text: mail.text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn tenant() -> Tenant {
        Tenant {
            id: "t1".into(),
            spec: serde_json::from_value(json!({"name": "Acme   Finance\tLtd", "currency": "NZD"}))
                .unwrap(),
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
            version: 1,
        }
    }

    fn client() -> Client {
        Client {
            id: "c1".into(),
            spec: serde_json::from_value(json!({
                "client_type_id": "ct1",
                "identity": {"kind": "company", "name": "Smith Holdings"},
            }))
            .unwrap(),
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
            version: 1,
        }
    }

    fn invoice(number: &str, due: &str, amount: &str, extra: serde_json::Value) -> Invoice {
        let mut spec = json!({
            "number": number,
            "issue_date": "2026-10-01",
            "due_date": due,
            "amount": amount,
        });
        spec.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Invoice {
            id: format!("i-{number}"),
            spec: serde_json::from_value(spec).unwrap(),
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
            version: 1,
        }
    }

    #[test]
    fn days_overdue_count_from_the_due_date_and_never_below_zero() {
        let due = invoice("INV-1", "2026-11-20", "100.00", json!({}));
        #[rustfmt::skip]
        let table: &[(&str, &str, &str)] = &[
            // (reason, run day, days overdue)
            ("before the due date", "2026-11-10", "0"),
            ("on the due date", "2026-11-20", "0"),
            ("the day after", "2026-11-21", "1"),
            ("a month after", "2026-12-20", "30"),
        ];
        for (reason, day, expected) in table {
            let v = values(&tenant(), &client(), &due, d(day));
            assert_eq!(v.days_overdue, *expected, "{reason}");
        }
    }

    #[test]
    fn an_invoice_owes_its_balance_in_its_currency_else_the_amount_in_the_tenants() {
        let day = d("2026-11-20");
        let plain = values(
            &tenant(),
            &client(),
            &invoice("1", "2026-11-20", "100.00", json!({})),
            day,
        );
        assert_eq!(
            (plain.balance.as_str(), plain.currency.as_str()),
            ("100.00", "NZD")
        );
        let own = invoice(
            "2",
            "2026-11-20",
            "100.00",
            json!({"balance": "40.50", "currency": "USD"}),
        );
        let own = values(&tenant(), &client(), &own, day);
        assert_eq!(
            (
                own.amount.as_str(),
                own.balance.as_str(),
                own.currency.as_str()
            ),
            ("100.00", "40.50", "USD")
        );
        assert_eq!(own.due_date, "20 November 2026");
    }

    #[test]
    fn a_statement_totals_what_is_owed_per_currency() {
        let open = [
            invoice("INV-1", "2026-10-20", "100.00", json!({})),
            invoice("INV-2", "2026-11-01", "80.00", json!({"balance": "50.00"})),
            invoice("INV-3", "2026-11-05", "20.00", json!({"currency": "USD"})),
        ];
        let statement = Statement::of(
            &tenant(),
            "c1",
            "2026-12",
            d("2026-12-01"),
            DateTime::UNIX_EPOCH,
            &open,
        );
        let m = statement_message(&tenant(), &client(), &statement);
        assert_eq!(
            m.subject,
            "Your statement from Acme Finance Ltd for December 2026"
        );
        assert!(
            m.text.contains("Total owing: NZD 150.00 and USD 20.00"),
            "{}",
            m.text
        );
        assert!(
            m.text.contains("INV-2, due 1 November 2026: NZD 50.00"),
            "{}",
            m.text
        );
        assert_eq!(m.kind, Kind::Statement);
        assert_eq!((m.invoice_id, m.step), (None, None));
    }

    #[test]
    fn a_report_counts_each_outcome_but_sending() {
        let entry = |outcome| Entry {
            id: "e".into(),
            at: DateTime::UNIX_EPOCH,
            client_id: "c1".into(),
            invoice_id: None,
            kind: Kind::Reminder,
            step: None,
            channel: Some(Channel::Email),
            contact_id: None,
            to: None,
            subject: String::new(),
            outcome,
            reason: None,
            message_id: None,
        };
        let mut report = Report::new(d("2026-11-20"));
        report.count(&[
            entry(Outcome::Sent),
            entry(Outcome::Sent),
            entry(Outcome::Failed),
            entry(Outcome::Skipped),
            entry(Outcome::Interrupted),
            entry(Outcome::Sending),
        ]);
        assert_eq!(
            (
                report.sent,
                report.failed,
                report.skipped,
                report.interrupted
            ),
            (2, 1, 1, 1)
        );
    }
}
