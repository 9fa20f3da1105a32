//! The communications run's benchmark book: a few tenants of different sizes whose clients'
//! open invoices all have a reminder due on [`RUN_DAY`], seeded into an embedded store through
//! the records' own functions (what the API would have written), and the check that a run sent
//! each due reminder exactly once, read from the run's own output.
//!
//! The book is a pure function of the number of invoices ([`Book::new`]), so the process that
//! seeds the store and the one that checks the run agree on it without talking to each other.
//! Every client has one or two contacts in the role a reminder goes to (one with communication)
//! and some a guarantor as well, in a role without it, who must get nothing. Each workflow's
//! first step is due on the run day for every invoice (due dates spread over the week around
//! it, the step three days before the due date); the steps after it fall due a week and two
//! weeks after the due date, after the run day. So one run sends exactly one message per
//! invoice and contact in the reminder's role, and the same day run again sends nothing.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail, ensure};
use chrono::{Days, NaiveDate};
use clientwatch::Services;
use clientwatch::adapters::local::{self, LocalPaths};
use clientwatch::comms::invoices::{self, ImportOutcome, ImportRow};
use clientwatch::comms::workflows::{self, WorkflowSpec};
use clientwatch::domain::EmailAddress;
use clientwatch::domain::PhoneNumber;
use clientwatch::domain::clients::{ClientClass, ClientSpec, ClientTypeSpec};
use clientwatch::domain::contacts::{ContactSpec, Source};
use clientwatch::domain::roles::RoleSpec;
use clientwatch::flows;
use clientwatch::ports::{SystemClock, SystemIds};
use clientwatch::records;
use futures::StreamExt;
use serde_json::json;

/// The day every invoice's first reminder is due (not the first of a month: no statements).
pub const RUN_DAY: &str = "2026-12-09";
/// The id of each workflow's first step: the reminder the benchmark counts.
pub const REMINDER: &str = "friendly";

/// How a tenant's reminder goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Email,
    Sms,
}

/// One tenant of the book: its name, its share of the invoices (per thousand) and its
/// reminder's channel.
#[derive(Clone, Copy, Debug)]
pub struct TenantShape {
    pub name: &'static str,
    pub per_mille: u64,
    pub via: Via,
    /// The reminder carries `{{portal_link}}`: a personal link minted for each contact.
    pub portal_link: bool,
}

/// A large collections agency, a mid-sized lender and a small broker who texts.
pub const TENANTS: [TenantShape; 3] = [
    TenantShape {
        name: "Kauri Collections",
        per_mille: 700,
        via: Via::Email,
        portal_link: true,
    },
    TenantShape {
        name: "Harbour Finance",
        per_mille: 250,
        via: Via::Email,
        portal_link: false,
    },
    TenantShape {
        name: "Tui Brokers",
        per_mille: 50,
        via: Via::Sms,
        portal_link: false,
    },
];

/// Open invoices of a tenant's clients, in turn: four a client on average, one to nine.
const INVOICES_PER_CLIENT: [u64; 5] = [1, 2, 3, 5, 9];

/// One client of the book.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookClient {
    pub tenant: usize,
    /// Its place among the tenant's clients.
    pub ordinal: u64,
    /// Its open invoices, all with the reminder due.
    pub invoices: u64,
    /// A second contact in the reminder's role (an accounts clerk beside the borrower).
    pub clerk: bool,
    /// A guarantor, in a role without communication: never reminded.
    pub guarantor: bool,
}

impl BookClient {
    fn new(tenant: usize, ordinal: u64, invoices: u64) -> Self {
        Self {
            tenant,
            ordinal,
            invoices,
            clerk: ordinal % 3 == 1,
            guarantor: ordinal % 4 == 2,
        }
    }

    pub fn name(&self) -> String {
        format!("Client {}-{}", self.tenant, self.ordinal)
    }

    /// Unique across the book, so that the run's line for an invoice names it alone.
    pub fn invoice_number(&self, i: u64) -> String {
        format!("INV-{}-{}-{i}", self.tenant, self.ordinal)
    }

    /// A contact's e-mail address (`who`: borrower, clerk or guarantor).
    pub fn email(&self, who: &str) -> String {
        format!("{who}-{}-{}@clients.example", self.tenant, self.ordinal)
    }

    /// A contact's mobile number, in E.164 (`who` as for [`Self::email`]).
    pub fn mobile(&self, who: &str) -> String {
        let n = self.ordinal * 3
            + match who {
                "borrower" => 0,
                "clerk" => 1,
                _ => 2,
            };
        format!("+6421{:07}", n % 10_000_000)
    }

    /// The contacts a reminder goes to.
    pub fn reminded(&self) -> Vec<&'static str> {
        if self.clerk {
            vec!["borrower", "clerk"]
        } else {
            vec!["borrower"]
        }
    }

    /// How the run names each reminded contact in its line: the e-mail address, or the
    /// masked mobile number.
    pub fn recipients(&self, via: Via) -> Vec<String> {
        self.reminded()
            .into_iter()
            .map(|who| match via {
                Via::Email => self.email(who),
                Via::Sms => PhoneNumber::parse(&self.mobile(who), "NZ")
                    .map(|p| p.masked())
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// Invoice `i`'s due date: spread over the week around the run day, so that the reminder
    /// (three days before the due date) fell due between three days ago and today.
    pub fn due_date(&self, i: u64, day: NaiveDate) -> NaiveDate {
        let back = (self.ordinal + i) % 7;
        day + Days::new(3) - Days::new(back)
    }
}

/// The book of `invoices` open invoices, over [`TENANTS`].
#[derive(Clone, Debug)]
pub struct Book {
    pub invoices: u64,
    pub clients: Vec<BookClient>,
}

/// Each tenant's share of `total`: by its per mille, the last taking what rounding left.
pub fn shares(total: u64) -> Vec<u64> {
    let mut left = total;
    TENANTS
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let share = if i + 1 == TENANTS.len() {
                left
            } else {
                (total * t.per_mille / 1000).min(left)
            };
            left -= share;
            share
        })
        .collect()
}

impl Book {
    pub fn new(invoices: u64) -> Self {
        let mut clients = Vec::new();
        for (tenant, share) in shares(invoices).into_iter().enumerate() {
            let mut left = share;
            let mut ordinal = 0;
            while left > 0 {
                let n = INVOICES_PER_CLIENT[(ordinal % 5) as usize].min(left);
                clients.push(BookClient::new(tenant, ordinal, n));
                left -= n;
                ordinal += 1;
            }
        }
        Self { invoices, clients }
    }

    /// Messages one run must send: one per invoice and reminded contact.
    pub fn messages(&self) -> u64 {
        self.clients
            .iter()
            .map(|c| c.invoices * c.reminded().len() as u64)
            .sum()
    }

    /// What the run must say for each invoice: its number, and whom its reminder went to.
    pub fn expected(&self) -> HashMap<String, Vec<String>> {
        let mut expected = HashMap::with_capacity(self.invoices as usize);
        for c in &self.clients {
            let mut to = c.recipients(TENANTS[c.tenant].via);
            to.sort();
            for i in 0..c.invoices {
                expected.insert(c.invoice_number(i), to.clone());
            }
        }
        expected
    }
}

fn spec<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> anyhow::Result<T> {
    Ok(serde_json::from_value(value)?)
}

/// The reminder workflow of a tenant of this shape: the reminder three days before the due
/// date, a text a week after it, an escalation to the guarantor two weeks after it.
fn workflow(shape: &TenantShape, guarantor_role: &str) -> anyhow::Result<WorkflowSpec> {
    let link = if shape.portal_link {
        "\n\nYour account online: {{portal_link}}"
    } else {
        ""
    };
    let reminder = match shape.via {
        Via::Email => json!({"id": REMINDER, "kind": "email", "days_from_due": -3,
            "subject": "Invoice {{invoice_number}} is due on {{due_date}}",
            "text": format!("Kia ora {{{{client_name}}}},\n\nA friendly reminder: invoice {{{{invoice_number}}}} for {{{{currency}}}} {{{{balance}}}} is due on {{{{due_date}}}}.{link}\n\n{{{{tenant_name}}}}")}),
        Via::Sms => json!({"id": REMINDER, "kind": "sms", "days_from_due": -3,
            "text": "{{tenant_name}}: invoice {{invoice_number}} ({{currency}} {{balance}}) is due on {{due_date}}."}),
    };
    spec(json!({
        "name": "Reminders",
        "steps": [
            reminder,
            {"id": "overdue", "kind": "sms", "days_from_due": 7,
             "text": "{{tenant_name}}: invoice {{invoice_number}} ({{currency}} {{balance}}) is {{days_overdue}} days overdue."},
            {"id": "guarantor", "kind": "escalate", "days_from_due": 14,
             "role_id": guarantor_role, "channel": "email",
             "subject": "Overdue: invoice {{invoice_number}} of {{client_name}}",
             "text": "Invoice {{invoice_number}} of {{client_name}}, which you guarantee, is {{days_overdue}} days overdue."}
        ]
    }))
}

/// Clients seeded at once (the store serialises the writes; the reads and the work between
/// them overlap).
const SEEDING: usize = 16;

/// Seeds the book into a new embedded store in `data` (the local mode's folder), through the
/// records' functions: tenants, roles, a client type and a workflow each; clients with their
/// contacts; and each client's invoices through the invoice import.
pub async fn seed(data: &Path, book: &Book, day: NaiveDate) -> anyhow::Result<()> {
    let svc = local::services(data, Arc::new(SystemClock), Arc::new(SystemIds))?;
    let mut tenants = Vec::new();
    for shape in &TENANTS {
        tenants.push(seed_tenant(&svc, shape).await?);
    }
    let tenants = &tenants;
    let svc = &svc;
    let mut seeded = futures::stream::iter(&book.clients)
        .map(|client| seed_client(svc, &tenants[client.tenant], client, day))
        .buffer_unordered(SEEDING);
    while let Some(result) = seeded.next().await {
        result?;
    }
    Ok(())
}

/// What a seeded tenant's clients refer to.
struct SeededTenant {
    id: String,
    client_type: String,
    reminded_role: String,
    guarantor_role: String,
    workflow: String,
}

async fn seed_tenant(svc: &Services, shape: &TenantShape) -> anyhow::Result<SeededTenant> {
    let (tenant, _) = records::tenants::bootstrap(svc, shape.name).await?;
    let client_type = records::clients::create_type(
        svc,
        &tenant.id,
        ClientTypeSpec {
            name: "Borrower".into(),
            class: ClientClass::Company,
            use_bureau_monitoring: false,
        },
    )
    .await?;
    let role = |name: &str, communication: bool| RoleSpec {
        name: name.into(),
        invoice_presentment: false,
        communication,
    };
    let reminded = records::roles::create(svc, &tenant.id, role("Accounts", true)).await?;
    let guarantor = records::roles::create(svc, &tenant.id, role("Guarantor", false)).await?;
    let workflow = workflows::create(svc, &tenant.id, workflow(shape, &guarantor.id)?).await?;
    Ok(SeededTenant {
        id: tenant.id,
        client_type: client_type.id,
        reminded_role: reminded.id,
        guarantor_role: guarantor.id,
        workflow: workflow.id,
    })
}

async fn seed_client(
    svc: &Services,
    tenant: &SeededTenant,
    plan: &BookClient,
    day: NaiveDate,
) -> anyhow::Result<()> {
    let client: ClientSpec = spec(json!({
        "client_type_id": tenant.client_type,
        "identity": {"kind": "company", "name": plan.name()},
        "workflow_id": tenant.workflow,
    }))?;
    let client = flows::clients::create(svc, &tenant.id, client).await?;
    let mut contacts = plan.reminded();
    if plan.guarantor {
        contacts.push("guarantor");
    }
    for who in contacts {
        let role = match who {
            "guarantor" => &tenant.guarantor_role,
            _ => &tenant.reminded_role,
        };
        records::contacts::create(
            svc,
            &tenant.id,
            &client.id,
            ContactSpec {
                name: format!("{who} of {}", plan.name()),
                email: Some(EmailAddress::parse(&plan.email(who))?),
                mobile: Some(plan.mobile(who)),
                role_id: role.clone(),
                source: Source::Manual,
                external_id: None,
            },
        )
        .await?;
    }
    let rows = (0..plan.invoices)
        .map(|i| {
            let due = plan.due_date(i, day);
            ImportRow::from_json(
                i as usize + 1,
                json!({
                    "client_id": client.id,
                    "number": plan.invoice_number(i),
                    "issue_date": (due - Days::new(30)).to_string(),
                    "due_date": due.to_string(),
                    "amount": format!("{}.{:02}", 100 + plan.ordinal % 900, i % 100),
                }),
            )
        })
        .collect();
    for row in invoices::import(svc, &tenant.id, rows).await? {
        ensure!(
            row.outcome == ImportOutcome::Created,
            "invoice {:?} of {} was not created: {:?}",
            row.number,
            plan.name(),
            row.problem
        );
    }
    Ok(())
}

/// The figures of a run's closing line (`… N open invoice(s), N message(s) sent, …`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub invoices: u64,
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
    pub deferred_quiet_hours: u64,
    pub deferred_breathing_space: u64,
    pub statements: u64,
    pub errors: u64,
}

/// Reads the closing line of `clientwatch-local comms`; `None` for any other line.
pub fn summary(line: &str) -> Option<Summary> {
    let (_, figures) = line.trim().split_once(": ")?;
    let mut numbers = Vec::new();
    for part in figures.split(", ") {
        let (n, what) = part.split_once(' ')?;
        numbers.push((n.parse::<u64>().ok()?, what));
    }
    let expected = [
        "open invoice(s)",
        "message(s) sent",
        "failed",
        "skipped",
        "deferred by quiet hours",
        "by breathing space",
        "statement(s)",
        "invoice(s) failed",
    ];
    if numbers.len() != expected.len() || numbers.iter().zip(expected).any(|((_, w), e)| *w != e) {
        return None;
    }
    let n = |i: usize| numbers[i].0;
    Some(Summary {
        invoices: n(0),
        sent: n(1),
        failed: n(2),
        skipped: n(3),
        deferred_quiet_hours: n(4),
        deferred_breathing_space: n(5),
        statements: n(6),
        errors: n(7),
    })
}

/// One step's line of the run: `{tenant}: invoice {number} of {client}: step {id}: {what}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepLine {
    pub number: String,
    pub step: String,
    /// What became of it: `e-mail to a@x, b@y`, `SMS to +•••…`, `skipped, …`, `waits, …`.
    pub what: String,
}

impl StepLine {
    /// Whom it went to, if it went out on `via`.
    pub fn sent_to(&self, via: Via) -> Option<Vec<String>> {
        let prefix = match via {
            Via::Email => "e-mail to ",
            Via::Sms => "SMS to ",
        };
        let to = self.what.strip_prefix(prefix)?;
        Some(to.split(", ").map(str::to_owned).collect())
    }
}

/// Reads a step's line of the run; `None` for any other line.
pub fn step_line(line: &str) -> Option<StepLine> {
    let (_, rest) = line.split_once(": invoice ")?;
    let (number, rest) = rest.split_once(" of ")?;
    let (_, rest) = rest.split_once(": step ")?;
    let (step, what) = rest.split_once(": ")?;
    Some(StepLine {
        number: number.to_owned(),
        step: step.to_owned(),
        what: what.to_owned(),
    })
}

/// Checks a run's output against the book: every invoice looked at, and, when `due` (the
/// first run of the day), every invoice's reminder sent once to exactly its reminded contacts
/// and nothing else done; when not due (the day again), nothing sent. Also checks that the
/// outbox holds exactly the messages the run says it sent (`outbox_before`: what it held
/// before). Returns the run's figures.
pub fn check(
    book: &Book,
    output: &str,
    due: bool,
    outbox_now: u64,
    outbox_before: u64,
) -> anyhow::Result<Summary> {
    let summaries: Vec<Summary> = output.lines().filter_map(summary).collect();
    let [summary] = summaries.as_slice() else {
        bail!(
            "the run printed {} closing lines, not one:\n{output}",
            summaries.len()
        );
    };
    let quiet = Summary {
        invoices: book.invoices,
        sent: if due { book.messages() } else { 0 },
        ..Summary::default()
    };
    ensure!(
        *summary == quiet,
        "the run's figures {summary:?} are not the book's {quiet:?}"
    );
    ensure!(
        !due || summary.sent >= book.invoices && summary.sent > 0,
        "a run with reminders due must send at least one message an invoice"
    );
    let mut expected = if due { book.expected() } else { HashMap::new() };
    let via_of = |number: &str| -> Via {
        let tenant: usize = number
            .split('-')
            .nth(1)
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        TENANTS.get(tenant).map_or(Via::Email, |t| t.via)
    };
    for line in output.lines().filter_map(step_line) {
        ensure!(
            line.step == REMINDER,
            "only the reminder is due today: {line:?}"
        );
        let Some(to) = expected.remove(&line.number) else {
            bail!(
                "invoice {} was reminded twice, or was not due: {line:?}",
                line.number
            );
        };
        let mut sent = line
            .sent_to(via_of(&line.number))
            .with_context(|| format!("the reminder of {} did not go out: {line:?}", line.number))?;
        sent.sort();
        ensure!(
            sent == to,
            "the reminder of {} went to {sent:?}, not to {to:?}",
            line.number
        );
    }
    ensure!(
        expected.is_empty(),
        "{} invoice(s) got no reminder, e.g. {:?}",
        expected.len(),
        expected.keys().next()
    );
    ensure!(
        outbox_now == outbox_before + summary.sent,
        "the outbox holds {} new message(s), the run says it sent {}",
        outbox_now - outbox_before,
        summary.sent
    );
    Ok(summary.clone())
}

/// The messages in the local mode's outbox in `data` (e-mails and texts).
pub fn outbox_messages(data: &Path) -> anyhow::Result<u64> {
    let outbox = LocalPaths::under(data).outbox;
    let mut n = 0;
    for kind in ["mail", "sms"] {
        let Ok(entries) = std::fs::read_dir(outbox.join(kind)) else {
            continue;
        };
        for entry in entries {
            if !entry?.file_name().to_string_lossy().starts_with('.') {
                n += 1;
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tenants_share_every_invoice() {
        #[rustfmt::skip]
        let table: &[(u64, [u64; 3])] = &[
            // (invoices, each tenant's share)
            (0, [0, 0, 0]),
            (1, [0, 0, 1]),
            (200, [140, 50, 10]),
            (10_001, [7_000, 2_500, 501]),
            (100_000, [70_000, 25_000, 5_000]),
        ];
        for (total, expected) in table {
            assert_eq!(shares(*total), expected.to_vec(), "{total}");
        }
    }

    #[test]
    fn the_book_spreads_its_invoices_over_clients_with_one_or_two_reminded_contacts() {
        let book = Book::new(10_000);
        assert_eq!(book.clients.iter().map(|c| c.invoices).sum::<u64>(), 10_000);
        assert_eq!(book.expected().len(), 10_000, "invoice numbers are unique");
        assert!(book.clients.iter().all(|c| (1..=9).contains(&c.invoices)));
        // A third of the clients have a clerk beside the borrower.
        let messages = book.messages();
        assert!(messages > 12_000 && messages < 14_000, "{messages}");
        assert!(book.clients.iter().any(|c| c.guarantor));
    }

    #[test]
    fn every_reminder_is_due_on_the_run_day_and_none_is_for_later() {
        let day: NaiveDate = RUN_DAY.parse().unwrap();
        for c in &Book::new(100).clients {
            for i in 0..c.invoices {
                let reminder = c.due_date(i, day) - Days::new(3);
                assert!(
                    reminder <= day && reminder >= day - Days::new(6),
                    "{c:?} {i}"
                );
            }
        }
    }

    #[test]
    fn texted_contacts_are_named_by_their_masked_mobile_numbers() {
        let client = BookClient::new(2, 1, 3);
        let to = client.recipients(Via::Sms);
        assert_eq!(to.len(), 2, "the borrower and the clerk");
        assert!(
            to.iter().all(|m| m.starts_with("+•") && m.len() > 4),
            "{to:?}"
        );
        assert_ne!(to[0], to[1]);
    }

    #[test]
    fn the_runs_lines_are_read() {
        let closing = "  2026-12-09: 12 open invoice(s), 15 message(s) sent, 1 failed, 2 skipped, 3 deferred by quiet hours, 4 by breathing space, 5 statement(s), 6 invoice(s) failed";
        assert_eq!(
            summary(closing),
            Some(Summary {
                invoices: 12,
                sent: 15,
                failed: 1,
                skipped: 2,
                deferred_quiet_hours: 3,
                deferred_breathing_space: 4,
                statements: 5,
                errors: 6,
            })
        );
        #[rustfmt::skip]
        let not_closing = [
            "communications run of 2026-12-09",
            "  2026-12-09: 12 open invoice(s), 15 message(s) sent",
            "  Kauri Collections: invoice INV-0-1-0 of Client 0-1: step friendly: e-mail to a@x",
        ];
        for line in not_closing {
            assert_eq!(summary(line), None, "{line}");
        }
        let step = step_line(
            "  Kauri Collections: invoice INV-0-1-0 of Client 0-1: step friendly: e-mail to a@x.example, b@x.example",
        )
        .unwrap();
        assert_eq!(step.number, "INV-0-1-0");
        assert_eq!(step.step, "friendly");
        assert_eq!(
            step.sent_to(Via::Email),
            Some(vec!["a@x.example".into(), "b@x.example".into()])
        );
        assert_eq!(step.sent_to(Via::Sms), None);
        let skipped = step_line(
            "  T: invoice INV-2-0-0 of Client 2-0: step friendly: skipped, reached nobody",
        )
        .unwrap();
        assert_eq!(skipped.sent_to(Via::Sms), None);
        assert_eq!(step_line(closing), None);
    }

    fn output(lines: &[String], summary: &str) -> String {
        let mut out = String::from("communications run of 2026-12-09\n");
        for l in lines {
            out.push_str(&format!("  {l}\n"));
        }
        out.push_str(&format!("  2026-12-09: {summary}\n"));
        out
    }

    fn closing(invoices: u64, sent: u64) -> String {
        format!(
            "{invoices} open invoice(s), {sent} message(s) sent, 0 failed, 0 skipped, 0 deferred by quiet hours, 0 by breathing space, 0 statement(s), 0 invoice(s) failed"
        )
    }

    fn lines_of(book: &Book) -> Vec<String> {
        let mut lines = Vec::new();
        for c in &book.clients {
            let via = TENANTS[c.tenant].via;
            let channel = match via {
                Via::Email => "e-mail",
                Via::Sms => "SMS",
            };
            for i in 0..c.invoices {
                lines.push(format!(
                    "{}: invoice {} of {}: step {REMINDER}: {channel} to {}",
                    TENANTS[c.tenant].name,
                    c.invoice_number(i),
                    c.name(),
                    c.recipients(via).join(", ")
                ));
            }
        }
        lines
    }

    #[test]
    fn a_run_that_sent_each_reminder_once_passes_and_any_other_fails() {
        let book = Book::new(60);
        let m = book.messages();
        let lines = lines_of(&book);
        let good = output(&lines, &closing(60, m));
        assert!(check(&book, &good, true, m, 0).is_ok());
        let again = output(&[], &closing(60, 0));
        assert!(check(&book, &again, false, m, m).is_ok());

        let mut twice = lines.clone();
        twice.push(lines[0].clone());
        let mut missing = lines.clone();
        missing.pop();
        let mut wrong = lines.clone();
        wrong[0] = wrong[0].replace("borrower-", "guarantor-");
        #[rustfmt::skip]
        let bad: &[(&str, String, bool, u64)] = &[
            // (why it fails, output, due, messages in the outbox)
            ("a reminder twice", output(&twice, &closing(60, m)), true, m),
            ("a reminder missing", output(&missing, &closing(60, m)), true, m),
            ("a reminder to the guarantor", output(&wrong, &closing(60, m)), true, m),
            ("fewer sent than due", output(&lines, &closing(60, m - 1)), true, m),
            ("an invoice not looked at", output(&lines, &closing(59, m)), true, m),
            ("the outbox short of the report", output(&lines, &closing(60, m)), true, m - 1),
            ("nothing sent when due", output(&[], &closing(60, 0)), true, 0),
            ("sent again on the day again", output(&lines, &closing(60, m)), false, m),
            ("no closing line", output(&lines, &closing(60, m)).replace("open invoice(s)", "invoices"), true, m),
        ];
        for (why, out, due, outbox) in bad {
            assert!(check(&book, out, *due, *outbox, 0).is_err(), "{why}");
        }
    }
}
