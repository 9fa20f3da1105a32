//! The bureau's view of a client: the subject's record as the feed last gave it, how it differs
//! from the client record kept here, and which of those differences a run may apply to the
//! client on the tenant's behalf. Pure rules over plain values, table-tested; the daily run
//! (`monitoring::profiles`) gathers the inputs and stores the answers.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::clients::{Address, ClientClass, ClientSpec};

/// One address as the bureau gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BureauAddress {
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    pub country: String,
    /// When the bureau last had it reported (`YYYY-MM-DD`), if it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<String>,
}

impl BureauAddress {
    /// "12 Kauri St, Auckland, 1010, NZ": the way hits and differences show an address.
    pub fn summary(&self) -> String {
        one_line(
            &self.line1,
            self.line2.as_deref(),
            &self.city,
            self.postcode.as_deref(),
            &self.country,
        )
    }
}

fn one_line(
    line1: &str,
    line2: Option<&str>,
    city: &str,
    postcode: Option<&str>,
    country: &str,
) -> String {
    [Some(line1), line2, Some(city), postcode, Some(country)]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A client's address the way a difference shows it.
pub fn address_summary(a: &Address) -> String {
    one_line(
        &a.line1,
        a.line2.as_deref(),
        &a.city,
        a.postcode.as_deref(),
        &a.country,
    )
}

/// A credit score with its day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BureauScore {
    pub value: i32,
    pub band: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

/// What the bureau's feed line says about a subject, as far as a client record can compare.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectRecord {
    pub kind: ClientClass,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_number: Option<String>,
    /// The current address (the latest reported) first.
    #[serde(default)]
    pub addresses: Vec<BureauAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<BureauScore>,
}

/// The bureau's record of a subject as the run of `as_of` found it (unchanged since).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BureauProfile {
    pub subject: String,
    #[serde(flatten)]
    pub record: SubjectRecord,
    pub as_of: NaiveDate,
}

/// A field on which the bureau and the client record disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    DateOfBirth,
    RegistrationNumber,
    Address,
    CompanyStatus,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::DateOfBirth => "date_of_birth",
            Field::RegistrationNumber => "registration_number",
            Field::Address => "address",
            Field::CompanyStatus => "company_status",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    pub field: Field,
    pub bureau: String,
    /// `None` when the client record has no value for the field.
    pub client: Option<String>,
}

/// Case and spacing folded: "ANA  smith" is "Ana Smith".
fn fold(s: &str) -> String {
    s.split_whitespace()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

fn same(a: &str, b: &str) -> bool {
    fold(a) == fold(b)
}

/// Where the bureau and the client record disagree: the name (case and spacing aside), a
/// person's date of birth, a company's registration number, the current address (the bureau's
/// latest against the client's first) and a company's status. A field the bureau does not give
/// is no difference; one the client record lacks is.
pub fn differences(bureau: &SubjectRecord, client: &ClientSpec) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut check = |field: Field, bureau: Option<&str>, client: Option<String>| {
        let Some(bureau) = bureau.map(str::trim).filter(|b| !b.is_empty()) else {
            return;
        };
        if client.as_deref().is_none_or(|c| !same(c, bureau)) {
            out.push(Difference {
                field,
                bureau: bureau.to_owned(),
                client,
            });
        }
    };
    let identity = &client.identity;
    check(
        Field::Name,
        Some(&bureau.name),
        Some(identity.display_name()).filter(|n| !n.trim().is_empty()),
    );
    match identity.kind {
        ClientClass::Individual => check(
            Field::DateOfBirth,
            bureau.date_of_birth.as_deref(),
            identity.date_of_birth.map(|d| d.to_string()),
        ),
        ClientClass::Company => check(
            Field::RegistrationNumber,
            bureau.registration_number.as_deref(),
            identity.registration_number.clone(),
        ),
    }
    let current = bureau.addresses.first().map(BureauAddress::summary);
    check(
        Field::Address,
        current.as_deref(),
        client.addresses.first().map(address_summary),
    );
    if identity.kind == ClientClass::Company {
        check(
            Field::CompanyStatus,
            bureau.company_status.as_deref(),
            client.company_info.status.clone(),
        );
    }
    out
}

/// The differences a run finds that were not there with the bureau's previous record, the
/// client record being as it is now. A client changed here between runs does not make a
/// difference new; the bureau changing does. (A subject's first record is a baseline, as a
/// first score is: the run keeps it and tells nothing.)
pub fn new_differences(
    previous: &SubjectRecord,
    current: &SubjectRecord,
    client: &ClientSpec,
) -> Vec<Difference> {
    let before = differences(previous, client);
    differences(current, client)
        .into_iter()
        .filter(|d| {
            !before
                .iter()
                .any(|b| b.field == d.field && same(&b.bureau, &d.bureau))
        })
        .collect()
}

/// Whether two records of a subject could differ from any client record in other ways: only
/// the compared fields count (a moved score, or an older address added, changes nothing a
/// client is compared on). A run reads a subject's clients only when this says so.
pub fn compared_fields_changed(a: &SubjectRecord, b: &SubjectRecord) -> bool {
    let key = |r: &SubjectRecord| {
        let fold_opt = |s: &Option<String>| s.as_deref().map(fold).filter(|s| !s.is_empty());
        (
            fold(&r.name),
            fold_opt(&r.date_of_birth),
            fold_opt(&r.registration_number),
            r.addresses.first().map(|a| fold(&a.summary())),
            fold_opt(&r.company_status),
        )
    };
    key(a) != key(b)
}

/// A hash of everything the bureau profile keeps of a record but its score: a run hands on a
/// changed line without news only when this changed (the score is read from the baseline).
/// Every field goes in with its length (or its absence), so no two records run together.
pub fn profile_hash(r: &SubjectRecord) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut text = |s: Option<&str>| match s {
        Some(s) => {
            h.update(&(s.len() as u64 + 1).to_le_bytes());
            h.update(s.as_bytes());
        }
        None => h.update(&0u64.to_le_bytes()),
    };
    text(Some(match r.kind {
        ClientClass::Individual => "individual",
        ClientClass::Company => "company",
    }));
    text(Some(&r.name));
    text(r.date_of_birth.as_deref());
    text(r.registration_number.as_deref());
    text(r.company_status.as_deref());
    text(Some(&r.addresses.len().to_string()));
    for a in &r.addresses {
        text(Some(&a.line1));
        text(a.line2.as_deref());
        text(Some(&a.city));
        text(a.postcode.as_deref());
        text(Some(&a.country));
        text(a.reported.as_deref());
    }
    h.digest()
}

/// The sync sources that keep a client's name and addresses (accounting systems): a client
/// whose `external_refs` names one of them is kept there, and only there.
pub const SYNC_SOURCES: [&str; 3] = ["quickbooks_desktop", "quickbooks_online", "netsuite"];

/// The sync source that owns `field` of this client, if any: an accounting system named in
/// the client's `external_refs` owns its name and addresses (the customer record it syncs);
/// none owns a company's status, which only the bureau knows.
pub fn owner_of(field: Field, client: &ClientSpec) -> Option<&'static str> {
    if !matches!(field, Field::Name | Field::Address) {
        return None;
    }
    SYNC_SOURCES
        .into_iter()
        .find(|s| client.external_refs.contains_key(*s))
}

/// A field the run changed on the client, as its history records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub field: Field,
    pub old: Option<String>,
    pub new: String,
}

/// A new difference the run left alone, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotApplied {
    pub field: Field,
    pub reason: String,
}

/// What applying the bureau's new differences does to a client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Enrichment {
    /// The client's spec with the changes, when there are any.
    pub spec: Option<ClientSpec>,
    pub applied: Vec<Applied>,
    pub not_applied: Vec<NotApplied>,
}

/// Applies the new differences a tenant lets the bureau apply: the current address, and a
/// company's name and status. A field a sync source owns is left alone, as is an address the
/// client record could not hold (no street, city or two-letter country). Names of people,
/// dates of birth and registration numbers are identity: they are reported, never applied.
pub fn enrich(new: &[Difference], bureau: &SubjectRecord, client: &ClientSpec) -> Enrichment {
    let mut spec = client.clone();
    let mut out = Enrichment::default();
    for d in new {
        let applicable = match d.field {
            Field::Address => true,
            Field::Name | Field::CompanyStatus => client.identity.kind == ClientClass::Company,
            Field::DateOfBirth | Field::RegistrationNumber => false,
        };
        if !applicable {
            continue;
        }
        if let Some(source) = owner_of(d.field, client) {
            out.not_applied.push(NotApplied {
                field: d.field,
                reason: format!(
                    "the client's {} is kept by {source}, which syncs it; change it there",
                    d.field.as_str()
                ),
            });
            continue;
        }
        match d.field {
            Field::Address => {
                let Some(address) = bureau.addresses.first().and_then(client_address) else {
                    out.not_applied.push(NotApplied {
                        field: d.field,
                        reason:
                            "the bureau's address lacks a street, a city or a two-letter country"
                                .into(),
                    });
                    continue;
                };
                spec.addresses
                    .retain(|a| !same(&address_summary(a), &address_summary(&address)));
                spec.addresses.insert(0, address);
                spec.addresses.truncate(20);
            }
            Field::Name => spec.identity.name = Some(d.bureau.clone()),
            Field::CompanyStatus => spec.company_info.status = Some(d.bureau.clone()),
            Field::DateOfBirth | Field::RegistrationNumber => continue,
        }
        out.applied.push(Applied {
            field: d.field,
            old: d.client.clone(),
            new: d.bureau.clone(),
        });
    }
    if !out.applied.is_empty() {
        out.spec = Some(spec);
    }
    out
}

/// The bureau's address as a client address, if it has what one needs.
fn client_address(a: &BureauAddress) -> Option<Address> {
    let line1 = a.line1.trim();
    let city = a.city.trim();
    let country = a.country.trim().to_ascii_uppercase();
    if line1.is_empty()
        || city.is_empty()
        || line1.chars().count() > 200
        || city.chars().count() > 100
        || country.len() != 2
        || !country.bytes().all(|b| b.is_ascii_uppercase())
    {
        return None;
    }
    let optional = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Some(Address {
        line1: line1.to_owned(),
        line2: optional(&a.line2),
        city: city.to_owned(),
        postcode: optional(&a.postcode),
        country,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::clients::{CompanyInfo, Identity};

    fn address(line1: &str, city: &str, country: &str) -> BureauAddress {
        BureauAddress {
            line1: line1.into(),
            line2: None,
            city: city.into(),
            postcode: None,
            country: country.into(),
            reported: None,
        }
    }

    fn person_record() -> SubjectRecord {
        SubjectRecord {
            kind: ClientClass::Individual,
            name: "Ana Smith".into(),
            date_of_birth: Some("1980-02-03".into()),
            registration_number: None,
            addresses: vec![address("12 Kauri St", "Auckland", "NZ")],
            company_status: None,
            score: None,
        }
    }

    fn company_record() -> SubjectRecord {
        SubjectRecord {
            kind: ClientClass::Company,
            name: "Kauri Holdings Ltd".into(),
            date_of_birth: None,
            registration_number: Some("1234567".into()),
            addresses: vec![],
            company_status: Some("registered".into()),
            score: None,
        }
    }

    fn person() -> ClientSpec {
        serde_json::from_value(serde_json::json!({
            "client_type_id": "t",
            "identity": {"kind": "individual", "first_name": "Ana", "last_name": "Smith",
                         "date_of_birth": "1980-02-03"},
            "addresses": [{"line1": "12 Kauri St", "city": "Auckland", "country": "NZ"}]
        }))
        .unwrap()
    }

    fn company() -> ClientSpec {
        let mut c = person();
        c.identity = Identity {
            kind: ClientClass::Company,
            first_name: None,
            last_name: None,
            date_of_birth: None,
            name: Some("Kauri Holdings Ltd".into()),
            registration_number: Some("1234567".into()),
        };
        c.addresses.clear();
        c.company_info = CompanyInfo {
            status: Some("registered".into()),
            ..CompanyInfo::default()
        };
        c
    }

    fn fields(d: &[Difference]) -> Vec<Field> {
        d.iter().map(|d| d.field).collect()
    }

    #[test]
    fn differences_are_what_a_person_would_call_different() {
        type Case = (
            &'static str,
            fn(&mut SubjectRecord),
            fn(&mut ClientSpec),
            Vec<Field>,
        );
        #[rustfmt::skip]
        let table: Vec<Case> = vec![
            ("the same person", |_| {}, |_| {}, vec![]),
            ("the name in other case and spacing", |b| b.name = "  ANA   smith ".into(), |_| {}, vec![]),
            ("another name", |b| b.name = "Ana Jones".into(), |_| {}, vec![Field::Name]),
            ("another date of birth", |b| b.date_of_birth = Some("1980-03-02".into()), |_| {}, vec![Field::DateOfBirth]),
            ("no date of birth at the bureau", |b| b.date_of_birth = None, |_| {}, vec![]),
            ("none on the client", |_| {}, |c| c.identity.date_of_birth = None, vec![Field::DateOfBirth]),
            ("a new current address", |b| b.addresses.insert(0, address("7 Rata Ave", "Hamilton", "NZ")), |_| {}, vec![Field::Address]),
            ("an older address listed second", |b| b.addresses.push(address("7 Rata Ave", "Hamilton", "NZ")), |_| {}, vec![]),
            ("the address in capitals", |b| b.addresses[0] = address("12 KAURI ST", "auckland", "nz"), |_| {}, vec![]),
            ("no address on the client", |_| {}, |c| c.addresses.clear(), vec![Field::Address]),
            ("no address at the bureau", |b| b.addresses.clear(), |c| c.addresses.clear(), vec![]),
        ];
        for (reason, bureau, client, expected) in table {
            let (mut b, mut c) = (person_record(), person());
            bureau(&mut b);
            client(&mut c);
            assert_eq!(fields(&differences(&b, &c)), expected, "{reason}");
        }
    }

    #[test]
    fn a_companys_registration_number_and_status_are_compared() {
        type Case = (
            &'static str,
            fn(&mut SubjectRecord),
            fn(&mut ClientSpec),
            Vec<Field>,
        );
        #[rustfmt::skip]
        let table: Vec<Case> = vec![
            ("the same company", |_| {}, |_| {}, vec![]),
            ("in receivership", |b| b.company_status = Some("in receivership".into()), |_| {}, vec![Field::CompanyStatus]),
            ("no status kept here", |_| {}, |c| c.company_info.status = None, vec![Field::CompanyStatus]),
            ("another number", |b| b.registration_number = Some("7654321".into()), |_| {}, vec![Field::RegistrationNumber]),
            ("renamed", |b| b.name = "Kauri Group Ltd".into(), |_| {}, vec![Field::Name]),
        ];
        for (reason, bureau, client, expected) in table {
            let (mut b, mut c) = (company_record(), company());
            bureau(&mut b);
            client(&mut c);
            assert_eq!(fields(&differences(&b, &c)), expected, "{reason}");
        }
    }

    #[test]
    fn a_difference_is_new_only_when_the_bureau_changed() {
        let client = company();
        let mut receivership = company_record();
        receivership.company_status = Some("in receivership".into());
        let mut liquidation = company_record();
        liquidation.company_status = Some("in liquidation".into());
        let registered = company_record();
        #[rustfmt::skip]
        let table: Vec<(&str, &SubjectRecord, &SubjectRecord, Vec<Field>)> = vec![
            ("the status changed", &registered, &receivership, vec![Field::CompanyStatus]),
            ("the same record again", &receivership, &receivership, vec![]),
            ("another status since", &receivership, &liquidation, vec![Field::CompanyStatus]),
            ("back to what the client has", &receivership, &registered, vec![]),
        ];
        for (reason, previous, current, expected) in table {
            assert_eq!(
                fields(&new_differences(previous, current, &client)),
                expected,
                "{reason}"
            );
        }
    }

    #[test]
    fn only_a_change_of_a_compared_field_can_change_a_difference() {
        type Case = (&'static str, fn(&mut SubjectRecord), bool);
        #[rustfmt::skip]
        let table: Vec<Case> = vec![
            ("the same record", |_| {}, false),
            ("a score", |r| r.score = Some(BureauScore { value: 600, band: "C".into(), date: None }), false),
            ("an older address added", |r| r.addresses.push(address("7 Rata Ave", "Hamilton", "NZ")), false),
            ("the name in capitals", |r| r.name = "ANA SMITH".into(), false),
            ("another name", |r| r.name = "Ana Jones".into(), true),
            ("a new current address", |r| r.addresses.insert(0, address("7 Rata Ave", "Hamilton", "NZ")), true),
            ("no date of birth any more", |r| r.date_of_birth = None, true),
            ("a status", |r| r.company_status = Some("registered".into()), true),
        ];
        for (reason, change, expected) in table {
            let mut changed = person_record();
            change(&mut changed);
            assert_eq!(
                compared_fields_changed(&person_record(), &changed),
                expected,
                "{reason}"
            );
            if !expected {
                for client in [person(), company()] {
                    assert_eq!(
                        new_differences(&person_record(), &changed, &client),
                        vec![],
                        "{reason}: nothing new for any client"
                    );
                }
            }
        }
    }

    #[test]
    fn enrichment_applies_addresses_and_company_values_but_not_what_a_sync_source_owns() {
        let mut moved = person_record();
        moved
            .addresses
            .insert(0, address("7 Rata Ave", "Hamilton", "NZ"));
        let mut renamed = company_record();
        renamed.name = "Kauri Group Ltd".into();
        renamed.company_status = Some("in receivership".into());
        let mut synced = company();
        synced.external_refs.insert("netsuite".into(), "C-9".into());
        let mut bad_address = person_record();
        bad_address
            .addresses
            .insert(0, address("7 Rata Ave", "Hamilton", "New Zealand"));
        let mut renamed_person = person_record();
        renamed_person.name = "Ana Jones".into();
        #[rustfmt::skip]
        type Case = (&'static str, SubjectRecord, ClientSpec, Vec<Field>, Vec<Field>);
        let table: Vec<Case> = vec![
            // (reason, bureau, client, applied, not applied)
            (
                "a person moved",
                moved,
                person(),
                vec![Field::Address],
                vec![],
            ),
            (
                "a company renamed and in receivership",
                renamed.clone(),
                company(),
                vec![Field::Name, Field::CompanyStatus],
                vec![],
            ),
            (
                "a synced company: only the status",
                renamed,
                synced,
                vec![Field::CompanyStatus],
                vec![Field::Name],
            ),
            (
                "an address the client cannot hold",
                bad_address,
                person(),
                vec![],
                vec![Field::Address],
            ),
            (
                "a person's name is identity: reported only",
                renamed_person,
                person(),
                vec![],
                vec![],
            ),
        ];
        for (reason, bureau, client, applied, not_applied) in table {
            let new = differences(&bureau, &client);
            let e = enrich(&new, &bureau, &client);
            assert_eq!(
                e.applied.iter().map(|a| a.field).collect::<Vec<_>>(),
                applied,
                "{reason}"
            );
            assert_eq!(
                e.not_applied.iter().map(|a| a.field).collect::<Vec<_>>(),
                not_applied,
                "{reason}"
            );
            assert_eq!(e.spec.is_some(), !applied.is_empty(), "{reason}");
            if let Some(spec) = e.spec {
                assert!(
                    differences(&bureau, &spec)
                        .iter()
                        .all(|d| !applied.contains(&d.field)),
                    "{reason}: an applied field no longer differs"
                );
            }
        }
    }
}
