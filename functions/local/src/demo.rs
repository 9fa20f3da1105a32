//! Demo data for the local mode: what a lender's partner systems would have put in on day one.

use std::path::Path;
use std::sync::Arc;

use chrono::{Days, NaiveDate, NaiveTime};
use clientwatch::Services;
use clientwatch::centre::invites;
use clientwatch::centre::questionnaires::{self, QuestionnaireSpec};
use clientwatch::comms::invoices::{self, Invoice, InvoiceSpec, Status};
use clientwatch::comms::portfolios::{self, PortfolioSpec};
use clientwatch::comms::run;
use clientwatch::comms::workflows::{self, WorkflowSpec};
use clientwatch::domain::clients::{self, ClientClass, ClientSpec, ClientTypeSpec};
use clientwatch::domain::contacts::{ContactSpec, Source};
use clientwatch::domain::opportunities::{self, OpportunitySpec, Party};
use clientwatch::domain::resource::Resource;
use clientwatch::domain::roles::{self, RoleSpec};
use clientwatch::domain::{Decimal2, EmailAddress, Result};
use clientwatch::flows;
use clientwatch::monitoring::monitors::{self, StartRequest};
use clientwatch::ports::{Condition, FixedClock};
use clientwatch::records;
use serde_json::json;

fn spec<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("demo data is well formed")
}

/// Fills a new demo tenant with roles, clients, contacts (manual and synced), a questionnaire
/// and an opportunity that lists it.
pub async fn seed(svc: &Services, tenant_id: &str) -> Result<()> {
    let person = records::clients::create_type(
        svc,
        tenant_id,
        ClientTypeSpec {
            name: "Personal borrower".into(),
            class: ClientClass::Individual,
            use_bureau_monitoring: true,
        },
    )
    .await?;
    let business = records::clients::create_type(
        svc,
        tenant_id,
        ClientTypeSpec {
            name: "Business borrower".into(),
            class: ClientClass::Company,
            use_bureau_monitoring: true,
        },
    )
    .await?;
    let payables = records::roles::create(
        svc,
        tenant_id,
        RoleSpec {
            name: "Accounts Payable".into(),
            invoice_presentment: true,
            communication: false,
        },
    )
    .await?;
    let ana: ClientSpec = spec(json!({
        "client_type_id": person.id,
        "identity": {"kind": "individual", "first_name": "Ana", "last_name": "Smith", "date_of_birth": "1980-02-03"},
        "bureau_subject_id": "IND-000123",
        "addresses": [{"line1": "12 Kauri St", "city": "Auckland", "postcode": "1010", "country": "NZ"}],
        "external_refs": {"loan_system": "L-1001"}
    }));
    let ana = flows::clients::create(svc, tenant_id, ana).await?;
    let kauri: ClientSpec = spec(json!({
        "client_type_id": business.id,
        "identity": {"kind": "company", "name": "Kauri Holdings Ltd", "registration_number": "1234567"},
        "bureau_subject_id": "CO-1234567",
        "external_refs": {"netsuite": "CUST-88"},
        "communication": {"allowed_channels": ["email", "sms"], "breathing_space_days": 7}
    }));
    let kauri = flows::clients::create(svc, tenant_id, kauri).await?;
    let ana_contact = records::contacts::create(
        svc,
        tenant_id,
        &ana.id,
        ContactSpec {
            name: "Ana Smith".into(),
            email: EmailAddress::parse("ana.smith@example.com").ok(),
            mobile: Some("021 234 5678".into()),
            role_id: roles::PRIMARY_CONTACT.into(),
            source: Source::Manual,
            external_id: None,
        },
    )
    .await?;
    let guarantor = records::contacts::create(
        svc,
        tenant_id,
        &ana.id,
        ContactSpec {
            name: "Tom Smith".into(),
            email: EmailAddress::parse("tom.smith@example.com").ok(),
            mobile: Some("022 555 0101".into()),
            role_id: roles::COMPANY_CONTACT.into(),
            source: Source::Manual,
            external_id: None,
        },
    )
    .await?;
    records::contacts::sync(
        svc,
        tenant_id,
        Source::Netsuite,
        vec![
            json!({"external_id": "NS-501", "client_id": kauri.id, "name": "Mere Ngata", "email": "mere@kauri.example.com", "mobile": "+64 21 700 800", "contact_type": "primary"}),
            json!({"external_id": "NS-502", "client_id": kauri.id, "name": "Kauri Accounts", "email": "accounts@kauri.example.com"}),
        ],
    )
    .await?;
    let synced = records::contacts::all(svc.table.as_ref(), tenant_id, &kauri.id).await?;
    if let Some(accounts) = synced.iter().find(|c| c.spec.name == "Kauri Accounts") {
        records::contacts::update(
            svc,
            tenant_id,
            &kauri.id,
            &accounts.id,
            accounts.version,
            &json!({"role_id": payables.id}),
        )
        .await?;
    }
    let income: QuestionnaireSpec = spec(json!({
        "name": "Income and expenses",
        "description": "What you earn and spend each month, for the affordability check.",
        "questions": [
            {"id": "employer", "label": "Who is your employer?", "kind": "text", "required": true},
            {"id": "monthly_income", "label": "Your monthly income after tax (NZD)", "kind": "number", "required": true},
            {"id": "employed_since", "label": "Employed since", "kind": "date"},
            {"id": "housing", "label": "Where do you live?", "kind": "choice", "required": true,
             "options": ["Renting", "Own home with a mortgage", "Own home outright", "Boarding"]},
            {"id": "dependants", "label": "Do you have dependants?", "kind": "yes_no"},
            {"id": "other_debts", "label": "Other loans or debts", "kind": "long_text",
             "help": "Lender, balance and monthly repayment of each."}
        ]
    }));
    let income = questionnaires::create(svc, tenant_id, income).await?;
    flows::opportunities::create(
        svc,
        tenant_id,
        &ana.id,
        OpportunitySpec {
            name: "Car loan".into(),
            parties: vec![
                Party {
                    contact_id: ana_contact.id,
                    role: opportunities::PRIMARY_APPLICANT.into(),
                },
                Party {
                    contact_id: guarantor.id,
                    role: opportunities::GUARANTOR.into(),
                },
            ],
            data: spec(json!({
                "vehicle": "2019 Toyota Corolla",
                "amount": "25000.00",
                "term_months": 48,
                "insured": true,
                "dealer": {"name": "Harbour Motors", "city": "Auckland", "registered": true},
            })),
            field_order: ["vehicle", "amount", "term_months", "insured", "dealer"]
                .map(String::from)
                .to_vec(),
            questionnaire_ids: vec![income.id],
        },
    )
    .await?;
    let tenant = records::tenants::get(svc.table.as_ref(), tenant_id).await?;
    records::tenants::update(
        svc,
        tenant_id,
        tenant.version,
        &json!({
            "alert_recipients": ["alerts@demo-lender.example"],
            "monitoring": {"enabled": true, "default_reason": "Active loan: credit risk review"}
        }),
    )
    .await?;
    for client in [&ana.id, &kauri.id] {
        monitors::start(svc, tenant_id, client, StartRequest::default()).await?;
    }
    Ok(())
}

/// A feed line in its usual shape: the subject id first, then the rest.
fn subject_first(mut record: serde_json::Value) -> String {
    let subject = record["subject"].take();
    if let Some(map) = record.as_object_mut() {
        map.remove("subject");
    }
    let rest = record.to_string();
    format!("{{\"subject\":{subject},{}", &rest[1..])
}

/// Two days of a small bureau feed: day one sets the baselines, day two brings Ana Smith a
/// default and a credit enquiry and puts Kauri Holdings into liquidation. Both carry a credit
/// score, rescored on day two without moving (no hit: the bureau profile shows the new day).
/// Subjects nobody monitors are in it too, as in a real feed.
pub fn write_feed(root: &Path, day1: NaiveDate, day2: NaiveDate) -> std::io::Result<()> {
    let kauri = |status: &str, insolvencies: serde_json::Value, scored: NaiveDate| {
        json!({"subject": "CO-1234567", "kind": "company",
               "company": {"name": "Kauri Holdings Ltd", "status": status, "registration_number": "1234567"},
               "addresses": [{"line1": "1 Queen St", "city": "Auckland", "postcode": "1010", "country": "NZ"}],
               "insolvencies": insolvencies,
               "score": {"value": 612, "band": "C", "date": scored.to_string()}})
    };
    let ana = |defaults: serde_json::Value, enquiries: serde_json::Value, scored: NaiveDate| {
        json!({"subject": "IND-000123", "kind": "individual", "name": "Ana Smith", "dob": "1980-02-03",
               "addresses": [{"line1": "12 Kauri St", "city": "Auckland", "postcode": "1010", "country": "NZ", "source": "utility:electricity", "reported": "2026-01-10"}],
               "defaults": defaults,
               "enquiries": enquiries,
               "directorships": [], "shareholdings": [],
               "score": {"value": 702, "band": "B", "date": scored.to_string()}})
    };
    let other = |subject: &str, name: &str| {
        json!({"subject": subject, "kind": "individual", "name": name,
               "addresses": [{"line1": "3 Rimu Rd", "city": "Wellington", "postcode": "6011", "country": "NZ"}]})
    };
    let first_enquiry =
        json!([{"enquirer": "Kiwi Bank", "product": "credit card", "date": day1.to_string()}]);
    let days = [
        (
            day1,
            vec![
                kauri("registered", json!([]), day1),
                other("IND-000100", "Rua Tane"),
                ana(json!([]), first_enquiry.clone(), day1),
                other("IND-000200", "Bo Li"),
            ],
        ),
        (
            day2,
            vec![
                kauri(
                    "in liquidation",
                    json!([{"type": "liquidation", "date": day2.to_string()}]),
                    day2,
                ),
                other("IND-000100", "Rua Tane"),
                ana(
                    json!([{"creditor": "Acme Finance", "amount_cents": 125000, "currency": "NZD", "date": day2.to_string()}]),
                    json!([first_enquiry[0], {"enquirer": "Harbour Loans", "product": "personal loan", "date": day2.to_string()}]),
                    day2,
                ),
                other("IND-000200", "Bo Li"),
            ],
        ),
    ];
    for (day, records) in days {
        let dir = root.join("feeds").join(day.to_string());
        std::fs::create_dir_all(&dir)?;
        let mut text = String::new();
        for r in records {
            text.push_str(&subject_first(r));
            text.push('\n');
        }
        std::fs::write(dir.join("part-0000.ndjson"), text)?;
    }
    Ok(())
}

/// Invites the demo loan's primary applicant into the Customer Centre by e-mail (into the
/// outbox): a new invite on the first run, a regenerated link on later runs (only a new link
/// can be shown, as only its hash is stored).
pub async fn invite(svc: &Services, tenant_id: &str) -> Result<invites::Issued> {
    let (clients, _) = records::clients::list(svc.table.as_ref(), tenant_id, 50, None).await?;
    for client in clients {
        let (opportunities, _) =
            records::opportunities::list(svc.table.as_ref(), tenant_id, &client.id, 50, None)
                .await?;
        for opportunity in opportunities {
            let Some(applicant) = opportunity
                .spec
                .parties
                .iter()
                .find(|p| p.role == opportunities::PRIMARY_APPLICANT)
            else {
                continue;
            };
            let (existing, _) =
                invites::list(svc, tenant_id, &client.id, &opportunity.id, 50, None).await?;
            if let Some(open) = existing.iter().find(|i| {
                i.contact_id == applicant.contact_id && i.status != invites::Status::Revoked
            }) {
                return invites::regenerate(svc, tenant_id, &client.id, &opportunity.id, &open.id)
                    .await;
            }
            let request: invites::InviteRequest = spec(json!({
                "contact_id": applicant.contact_id,
                "delivery": "email",
                "adviser": {"name": "Hemi Walker", "email": "hemi.walker@demo-lender.example"}
            }));
            return invites::create(svc, tenant_id, &client.id, &opportunity.id, request).await;
        }
    }
    Err(clientwatch::domain::Error::NotFound("opportunity"))
}

const DEMO_WORKFLOW: &str = "Standard reminders";

/// A fresh account-portal link for Ana Smith's client's first contact with communication (Ana
/// herself): the contact's name and the link.
pub async fn portal_link(
    svc: &Services,
    tenant_id: &str,
) -> Result<Option<(String, clientwatch::access::links::Minted)>> {
    let client = ana(svc, tenant_id).await?;
    let (contacts, _) = records::contacts::recipients(
        svc,
        tenant_id,
        &client.id,
        clientwatch::domain::roles::Purpose::Reminder,
    )
    .await?;
    let Some(contact) = contacts.first() else {
        return Ok(None);
    };
    let minted =
        clientwatch::account::issue::portal_link(svc, tenant_id, &client.id, &contact.id, false)
            .await?;
    Ok(Some((contact.spec.name.clone(), minted)))
}

/// Ana Smith's client, the first demo client.
async fn ana(svc: &Services, tenant_id: &str) -> Result<clients::Client> {
    let (clients, _) = records::clients::list(svc.table.as_ref(), tenant_id, 50, None).await?;
    clients
        .into_iter()
        .find(|c| c.spec.identity.display_name() == "Ana Smith")
        .ok_or(clientwatch::domain::Error::NotFound("client"))
}

/// The demo's collections: a workflow (an e-mail 3 days before the due date, an SMS on the
/// day, an e-mail escalation to the guarantor 7 days after), a portfolio that uses it with
/// Ana Smith in it, her guarantor and her household's accounts address (invoice presentment
/// only, so no reminders), and an invoice due in 3 days. Made once; later runs find it.
pub async fn seed_communications(svc: &Services, tenant_id: &str) -> Result<Invoice> {
    let client = ana(svc, tenant_id).await?;
    let existing = svc
        .table
        .query_all(records::clients::children(
            tenant_id, &client.id, "INVOICE#",
        ))
        .await?;
    if let Some(item) = existing.iter().find(|i| i.key.sk.matches('#').count() == 1) {
        return records::resource::from_item(item);
    }
    let roles = records::roles::all(svc.table.as_ref(), tenant_id).await?;
    let payables = roles
        .iter()
        .find(|r| r.spec.name == "Accounts Payable")
        .map(|r| r.id.clone());
    let guarantor = records::roles::create(
        svc,
        tenant_id,
        RoleSpec {
            name: "Guarantor".into(),
            invoice_presentment: false,
            communication: false,
        },
    )
    .await?;
    records::contacts::create(
        svc,
        tenant_id,
        &client.id,
        ContactSpec {
            name: "Wiremu Smith".into(),
            email: EmailAddress::parse("wiremu.smith@example.com").ok(),
            mobile: Some("027 444 1234".into()),
            role_id: guarantor.id.clone(),
            source: Source::Manual,
            external_id: None,
        },
    )
    .await?;
    if let Some(payables) = payables {
        records::contacts::create(
            svc,
            tenant_id,
            &client.id,
            ContactSpec {
                name: "Smith Household Accounts".into(),
                email: EmailAddress::parse("accounts@smith-household.example.com").ok(),
                mobile: None,
                role_id: payables,
                source: Source::Manual,
                external_id: None,
            },
        )
        .await?;
    }
    let workflow: WorkflowSpec = spec(json!({
        "name": DEMO_WORKFLOW,
        "steps": [
            {"id": "friendly-reminder", "kind": "email", "days_from_due": -3,
             "subject": "Invoice {{invoice_number}} is due on {{due_date}}",
             "text": "Kia ora {{client_name}},\n\nA friendly reminder: invoice {{invoice_number}} for {{currency}} {{balance}} is due on {{due_date}}.\n\nSee it here: {{document_link}}\n\nYour account online: {{portal_link}}\n\n{{tenant_name}}"},
            {"id": "due-today", "kind": "sms", "days_from_due": 0,
             "text": "{{tenant_name}}: invoice {{invoice_number}} ({{currency}} {{balance}}) is due today. {{document_link}}"},
            {"id": "guarantor", "kind": "escalate", "days_from_due": 7,
             "role_id": guarantor.id, "channel": "email",
             "subject": "Overdue: invoice {{invoice_number}} of {{client_name}}",
             "text": "Kia ora,\n\nInvoice {{invoice_number}} of {{client_name}}, which you guarantee, is {{days_overdue}} days overdue: {{currency}} {{balance}} is owing.\n\n{{tenant_name}}"}
        ]
    }));
    let workflow = workflows::create(svc, tenant_id, workflow).await?;
    let portfolio = portfolios::create(
        svc,
        tenant_id,
        PortfolioSpec {
            name: "Personal loans".into(),
            workflow_id: workflow.id,
        },
    )
    .await?;
    flows::clients::update(
        svc,
        tenant_id,
        &client.id,
        client.version,
        &json!({"portfolio_id": portfolio.id}),
    )
    .await?;
    let today = svc.clock.now().date_naive();
    let invoice = Resource::new(
        svc,
        InvoiceSpec {
            number: "INV-1001".into(),
            issue_date: today - Days::new(27),
            due_date: today + Days::new(3),
            amount: Decimal2(125_000),
            currency: None,
            balance: None,
            status: Status::Open,
            document_url: Some("https://demo-lender.example/invoices/INV-1001.pdf".into()),
            dispute: None,
            promise: None,
        },
    );
    svc.table
        .put(
            invoices::item(tenant_id, &client.id, &invoice)?,
            Condition::Absent,
        )
        .await?;
    Ok(invoice)
}

/// Runs the communications of the days from 3 days before the demo invoice's due date to 7
/// days after it, each at 09:00 in the tenant's zone on a clock of its own, printing what was
/// sent. A later run of the demo finds every step done and sends nothing again.
pub async fn communications(svc: &Services, tenant_id: &str) -> Result<()> {
    let invoice = seed_communications(svc, tenant_id).await?;
    let tenant = records::tenants::get(svc.table.as_ref(), tenant_id).await?;
    let zone: chrono_tz::Tz = tenant
        .spec
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Pacific::Auckland);
    let due = invoice.spec.due_date;
    println!(
        "communications: invoice {} of Ana Smith, due {due}, follows the portfolio's workflow \"{DEMO_WORKFLOW}\"",
        invoice.spec.number
    );
    let nine = NaiveTime::from_hms_opt(9, 0, 0).expect("a time");
    let mut day = due - Days::new(3);
    while day <= due + Days::new(7) {
        let at = day
            .and_time(nine)
            .and_local_timezone(zone)
            .earliest()
            .map(|t| t.to_utc())
            .unwrap_or_else(|| day.and_time(nine).and_utc());
        let simulated = Services {
            clock: Arc::new(FixedClock::at(at)),
            ..svc.clone()
        };
        let mut lines = Vec::new();
        let report = run::run_day(&simulated, day, &mut |line: &str| {
            lines.push(line.to_owned())
        })
        .await?;
        if !lines.is_empty() {
            println!("  {day}:");
            for line in lines {
                println!("    {line}");
            }
        }
        if report.errors > 0 {
            println!("  {day}: {} invoice(s) failed", report.errors);
        }
        day = day + Days::new(1);
    }
    Ok(())
}
