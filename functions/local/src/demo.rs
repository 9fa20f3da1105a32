//! Demo data for the local mode: what a lender's partner systems would have put in on day one.

use clientwatch::Services;
use clientwatch::domain::clients::{self, ClientClass, ClientSpec, ClientTypeSpec};
use clientwatch::domain::contacts::{self, ContactSpec, Source};
use clientwatch::domain::opportunities::{self, OpportunitySpec, Party};
use clientwatch::domain::roles::{self, RoleSpec};
use clientwatch::domain::{EmailAddress, Result};
use serde_json::json;

fn spec<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("demo data is well formed")
}

/// Fills a new demo tenant with roles, clients, contacts (manual and synced) and an opportunity.
pub async fn seed(svc: &Services, tenant_id: &str) -> Result<()> {
    let person = clients::create_type(
        svc,
        tenant_id,
        ClientTypeSpec {
            name: "Personal borrower".into(),
            class: ClientClass::Individual,
            use_bureau_monitoring: true,
        },
    )
    .await?;
    let business = clients::create_type(
        svc,
        tenant_id,
        ClientTypeSpec {
            name: "Business borrower".into(),
            class: ClientClass::Company,
            use_bureau_monitoring: true,
        },
    )
    .await?;
    let payables = roles::create(
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
    let ana = clients::create(svc, tenant_id, ana).await?;
    let kauri: ClientSpec = spec(json!({
        "client_type_id": business.id,
        "identity": {"kind": "company", "name": "Kauri Holdings Ltd", "registration_number": "1234567"},
        "bureau_subject_id": "CO-1234567",
        "external_refs": {"netsuite": "CUST-88"},
        "communication": {"allowed_channels": ["email", "sms"], "breathing_space_days": 7}
    }));
    let kauri = clients::create(svc, tenant_id, kauri).await?;
    let ana_contact = contacts::create(
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
    let guarantor = contacts::create(
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
    contacts::sync(
        svc,
        tenant_id,
        Source::Netsuite,
        vec![
            json!({"external_id": "NS-501", "client_id": kauri.id, "name": "Mere Ngata", "email": "mere@kauri.example.com", "mobile": "+64 21 700 800", "contact_type": "primary"}),
            json!({"external_id": "NS-502", "client_id": kauri.id, "name": "Kauri Accounts", "email": "accounts@kauri.example.com"}),
        ],
    )
    .await?;
    let synced = contacts::all(svc, tenant_id, &kauri.id).await?;
    if let Some(accounts) = synced.iter().find(|c| c.spec.name == "Kauri Accounts") {
        contacts::update(
            svc,
            tenant_id,
            &kauri.id,
            &accounts.id,
            accounts.version,
            &json!({"role_id": payables.id}),
        )
        .await?;
    }
    opportunities::create(
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
            data: spec(
                json!({"amount": "25000.00", "term_months": 48, "vehicle": "2019 Toyota Corolla"}),
            ),
            questionnaire_ids: vec!["income-and-expenses".into()],
        },
    )
    .await?;
    Ok(())
}
