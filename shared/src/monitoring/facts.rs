//! The bureau's feed records and the facts they carry.
//!
//! Every fact gets a stable id: a 64-bit hash of its kind and its normalised identifying fields
//! (case and spacing folded; where an address was reported from, or when, does not make it a
//! new address). A subject's facts are compared by these ids, so the same fact reported again
//! is never new. A company's name and status are not facts but values: a change of either is.
//! So is a subject's credit score. A company's financial statements are facts twice over: the
//! id of a period's figures (a new period, or the same period restated) and the id of the
//! period alone (was it seen before: then it is restated).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use xxhash_rust::xxh3::xxh3_64;

use crate::domain::bureau::{BureauAddress, BureauScore, SubjectRecord};
use crate::domain::clients::ClientClass;
pub use crate::domain::monitoring::FactKind;
use crate::domain::monitoring::{Adverse, Figures, HitChange, ScoreValue};
use crate::render;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Individual,
    Company,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct CompanyRecord<'a> {
    #[serde(default)]
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(default)]
    #[serde(borrow)]
    pub status: Cow<'a, str>,
    #[serde(default)]
    #[serde(borrow, deserialize_with = "optional_text")]
    pub registration_number: Option<Cow<'a, str>>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct AddressFact<'a> {
    #[serde(borrow)]
    pub line1: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(borrow, deserialize_with = "optional_text")]
    pub line2: Option<Cow<'a, str>>,
    #[serde(default)]
    #[serde(borrow)]
    pub city: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(borrow, deserialize_with = "optional_text")]
    pub postcode: Option<Cow<'a, str>>,
    #[serde(default)]
    #[serde(borrow)]
    pub country: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(borrow, deserialize_with = "optional_text")]
    pub source: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(borrow, deserialize_with = "optional_text")]
    pub reported: Option<Cow<'a, str>>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct DefaultFact<'a> {
    #[serde(borrow)]
    pub creditor: Cow<'a, str>,
    pub amount_cents: i64,
    #[serde(default)]
    #[serde(borrow)]
    pub currency: Cow<'a, str>,
    #[serde(borrow)]
    pub date: Cow<'a, str>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct JudgementFact<'a> {
    #[serde(default)]
    #[serde(borrow)]
    pub court: Cow<'a, str>,
    pub amount_cents: i64,
    #[serde(default)]
    #[serde(borrow)]
    pub currency: Cow<'a, str>,
    #[serde(borrow)]
    pub date: Cow<'a, str>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct InsolvencyFact<'a> {
    #[serde(rename = "type")]
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    #[serde(borrow)]
    pub date: Cow<'a, str>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct EnquiryFact<'a> {
    #[serde(borrow)]
    pub enquirer: Cow<'a, str>,
    #[serde(default)]
    #[serde(borrow)]
    pub product: Cow<'a, str>,
    #[serde(borrow)]
    pub date: Cow<'a, str>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct DirectorshipFact<'a> {
    #[serde(borrow)]
    pub company_number: Cow<'a, str>,
    #[serde(default)]
    #[serde(borrow)]
    pub company_name: Cow<'a, str>,
    #[serde(default)]
    #[serde(borrow)]
    pub appointed: Cow<'a, str>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ShareholdingFact<'a> {
    #[serde(borrow)]
    pub company_number: Cow<'a, str>,
    #[serde(default)]
    #[serde(borrow)]
    pub company_name: Cow<'a, str>,
    #[serde(default)]
    pub shares: i64,
}

/// A subject's credit score as the bureau gives it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ScoreRecord<'a> {
    pub value: i32,
    #[serde(default)]
    #[serde(borrow)]
    pub band: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(borrow, deserialize_with = "optional_text")]
    pub model: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(borrow, deserialize_with = "optional_text")]
    pub date: Option<Cow<'a, str>>,
}

impl ScoreRecord<'_> {
    pub fn value(&self) -> ScoreValue {
        ScoreValue {
            value: self.value,
            band: self.band.trim().to_owned(),
        }
    }

    /// The score's day as a profile shows it (trimmed; none when blank).
    pub fn day(&self) -> Option<String> {
        self.date
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
    }
}

/// A subject's financial statements by period end, oldest first (one per period: the first
/// listed); none for people.
pub fn statements_of(kind: SubjectKind, listed: &[StatementRecord<'_>]) -> Vec<Figures> {
    if kind != SubjectKind::Company {
        return Vec::new();
    }
    let mut all: Vec<Figures> = listed
        .iter()
        .map(StatementRecord::figures)
        .filter(|f| !f.period_end.is_empty())
        .collect();
    all.sort_by(|a, b| a.period_end.cmp(&b.period_end));
    all.dedup_by(|b, a| a.period_end == b.period_end);
    all
}

/// A company's financial statements for one period; figures in whole units of `currency`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct StatementRecord<'a> {
    #[serde(borrow)]
    pub period_end: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(borrow, deserialize_with = "optional_text")]
    pub filed: Option<Cow<'a, str>>,
    #[serde(default)]
    pub turnover: i64,
    #[serde(default)]
    pub profit_loss: i64,
    #[serde(default)]
    pub net_assets: i64,
    #[serde(default)]
    #[serde(borrow)]
    pub currency: Cow<'a, str>,
}

impl StatementRecord<'_> {
    pub fn figures(&self) -> Figures {
        Figures {
            period_end: self.period_end.trim().to_owned(),
            turnover_cents: self.turnover.saturating_mul(100),
            profit_loss_cents: self.profit_loss.saturating_mul(100),
            net_assets_cents: self.net_assets.saturating_mul(100),
            currency: self.currency.trim().to_owned(),
        }
    }
}

/// One line of the feed. Unknown fields are ignored.
#[derive(Clone, Debug, Deserialize)]
pub struct FeedRecord<'a> {
    #[serde(borrow)]
    pub subject: Cow<'a, str>,
    pub kind: SubjectKind,
    #[serde(default)]
    #[serde(borrow, deserialize_with = "optional_text")]
    pub name: Option<Cow<'a, str>>,
    /// A person's date of birth (`YYYY-MM-DD`).
    #[serde(default)]
    #[serde(borrow, deserialize_with = "optional_text")]
    pub dob: Option<Cow<'a, str>>,
    #[serde(default)]
    #[serde(borrow)]
    pub company: Option<CompanyRecord<'a>>,
    #[serde(default)]
    #[serde(borrow)]
    pub addresses: Vec<AddressFact<'a>>,
    #[serde(default)]
    #[serde(borrow)]
    pub defaults: Vec<DefaultFact<'a>>,
    #[serde(default)]
    #[serde(borrow)]
    pub judgements: Vec<JudgementFact<'a>>,
    #[serde(default)]
    #[serde(borrow)]
    pub insolvencies: Vec<InsolvencyFact<'a>>,
    #[serde(default)]
    #[serde(borrow)]
    pub enquiries: Vec<EnquiryFact<'a>>,
    #[serde(default)]
    #[serde(borrow)]
    pub directorships: Vec<DirectorshipFact<'a>>,
    #[serde(default)]
    #[serde(borrow)]
    pub shareholdings: Vec<ShareholdingFact<'a>>,
    #[serde(default)]
    #[serde(borrow)]
    pub score: Option<ScoreRecord<'a>>,
    /// Companies only (ignored for people).
    #[serde(default)]
    #[serde(borrow)]
    pub financial_statements: Vec<StatementRecord<'a>>,
}

/// An optional string borrowed from the line where it has no escapes (serde borrows a `Cow`
/// only when it is the field itself, not inside an `Option`).
fn optional_text<'de: 'a, 'a, D>(d: D) -> Result<Option<Cow<'a, str>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    struct Text<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Text<'a>>::deserialize(d)?.map(|t| t.0))
}

/// One fact of a record: its stable id, its kind, what the feed said, and a line for people.
#[derive(Clone, Debug, PartialEq)]
pub struct Fact {
    pub id: u64,
    pub kind: FactKind,
    pub details: Value,
    pub summary: String,
    /// What it changed from and to, where that means something.
    pub change: Option<HitChange>,
}

/// Case and spacing folded, so the same thing reported twice has the same id.
fn norm(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_norm(&mut out, s);
    out
}

/// Appends `s` with case and spacing folded.
fn push_norm(out: &mut String, s: &str) {
    // Most feed text is ASCII: folded byte by byte.
    if s.is_ascii() {
        for (i, word) in s.split_whitespace().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            let at = out.len();
            out.push_str(word);
            out[at..].make_ascii_lowercase();
        }
        return;
    }
    for (i, word) in s.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
}

fn fact_id(kind: FactKind, parts: &[&str]) -> u64 {
    let mut canonical = String::with_capacity(64);
    canonical.push_str(kind.as_str());
    for p in parts {
        canonical.push('\u{1f}');
        push_norm(&mut canonical, p);
    }
    xxh3_64(canonical.as_bytes())
}

fn address_id(a: &AddressFact) -> u64 {
    fact_id(
        FactKind::Address,
        &[
            &*a.line1,
            a.line2.as_deref().unwrap_or(""),
            &a.city,
            a.postcode.as_deref().unwrap_or(""),
            &a.country,
        ],
    )
}

fn default_id(d: &DefaultFact) -> u64 {
    let amount = d.amount_cents.to_string();
    fact_id(
        FactKind::Default,
        &[&d.creditor, &amount, &d.currency, &d.date],
    )
}

fn judgement_id(j: &JudgementFact) -> u64 {
    let amount = j.amount_cents.to_string();
    fact_id(
        FactKind::Judgement,
        &[&j.court, &amount, &j.currency, &j.date],
    )
}

fn insolvency_id(i: &InsolvencyFact) -> u64 {
    fact_id(FactKind::Insolvency, &[&i.kind, &i.date])
}

fn enquiry_id(e: &EnquiryFact) -> u64 {
    fact_id(FactKind::Enquiry, &[&e.enquirer, &e.product, &e.date])
}

fn directorship_id(d: &DirectorshipFact) -> u64 {
    fact_id(FactKind::Directorship, &[&d.company_number, &d.appointed])
}

fn shareholding_id(s: &ShareholdingFact) -> u64 {
    let shares = s.shares.to_string();
    fact_id(FactKind::Shareholding, &[&s.company_number, &shares])
}

fn details<T: Serialize>(fact: &T) -> Value {
    serde_json::to_value(fact).unwrap_or(Value::Null)
}

impl FeedRecord<'_> {
    /// The display name: the person's name or the company's.
    pub fn display_name(&self) -> String {
        match (&self.company, &self.name) {
            (Some(c), _) if self.kind == SubjectKind::Company => c.name.to_string(),
            (_, Some(n)) => n.to_string(),
            _ => String::new(),
        }
    }

    /// The ids of every fact of the record ([`FeedRecord::facts`]' ids, maybe repeated),
    /// without building the facts: all a line whose facts are all known needs.
    pub fn fact_ids(&self) -> Vec<u64> {
        let mut ids = Vec::with_capacity(
            self.addresses.len()
                + self.defaults.len()
                + self.judgements.len()
                + self.insolvencies.len()
                + self.enquiries.len()
                + self.directorships.len()
                + self.shareholdings.len(),
        );
        ids.extend(self.addresses.iter().map(address_id));
        ids.extend(self.defaults.iter().map(default_id));
        ids.extend(self.judgements.iter().map(judgement_id));
        ids.extend(self.insolvencies.iter().map(insolvency_id));
        ids.extend(self.enquiries.iter().map(enquiry_id));
        ids.extend(self.directorships.iter().map(directorship_id));
        ids.extend(self.shareholdings.iter().map(shareholding_id));
        ids
    }

    /// Every fact of the record, with ids; a fact listed twice appears once.
    pub fn facts(&self) -> Vec<Fact> {
        let mut facts = Vec::new();
        for a in &self.addresses {
            facts.push(Fact {
                id: address_id(a),
                kind: FactKind::Address,
                details: details(a),
                summary: [
                    Some(&*a.line1),
                    a.line2.as_deref(),
                    Some(&*a.city),
                    a.postcode.as_deref(),
                    Some(&*a.country),
                ]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", "),
                change: None,
            });
        }
        for d in &self.defaults {
            facts.push(Fact {
                id: default_id(d),
                kind: FactKind::Default,
                details: details(d),
                summary: format!(
                    "{} — {} on {}",
                    d.creditor,
                    render::amount(&d.currency, d.amount_cents),
                    d.date
                ),
                change: None,
            });
        }
        for j in &self.judgements {
            facts.push(Fact {
                id: judgement_id(j),
                kind: FactKind::Judgement,
                details: details(j),
                summary: format!(
                    "{} — {} on {}",
                    j.court,
                    render::amount(&j.currency, j.amount_cents),
                    j.date
                ),
                change: None,
            });
        }
        for i in &self.insolvencies {
            facts.push(Fact {
                id: insolvency_id(i),
                kind: FactKind::Insolvency,
                details: details(i),
                summary: format!("{} on {}", i.kind, i.date),
                change: None,
            });
        }
        for e in &self.enquiries {
            facts.push(Fact {
                id: enquiry_id(e),
                kind: FactKind::Enquiry,
                details: details(e),
                summary: format!("{} ({}) on {}", e.enquirer, e.product, e.date),
                change: None,
            });
        }
        for d in &self.directorships {
            facts.push(Fact {
                id: directorship_id(d),
                kind: FactKind::Directorship,
                details: details(d),
                summary: format!(
                    "director of {} ({}) since {}",
                    d.company_name, d.company_number, d.appointed
                ),
                change: None,
            });
        }
        for s in &self.shareholdings {
            facts.push(Fact {
                id: shareholding_id(s),
                kind: FactKind::Shareholding,
                details: details(s),
                summary: format!(
                    "{} shares in {} ({})",
                    s.shares, s.company_name, s.company_number
                ),
                change: None,
            });
        }
        let mut seen = std::collections::HashSet::new();
        facts.retain(|f| seen.insert(f.id));
        facts
    }

    /// The subject's credit score, if the feed gives one.
    pub fn score_value(&self) -> Option<ScoreValue> {
        self.score.as_ref().map(ScoreRecord::value)
    }

    /// A company's financial statements by period end, oldest first (one per period: the
    /// first listed); none for people.
    pub fn statements(&self) -> Vec<Figures> {
        statements_of(self.kind, &self.financial_statements)
    }

    /// What the line says about the subject as a client record would hold it (the bureau
    /// profile): built only for subjects a run hands on, never for an unchanged line.
    pub fn subject_record(&self) -> SubjectRecord {
        let text = |s: Option<&Cow<str>>| {
            s.map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let company = self
            .company
            .as_ref()
            .filter(|_| self.kind == SubjectKind::Company);
        let mut addresses: Vec<BureauAddress> = Vec::with_capacity(self.addresses.len());
        for a in &self.addresses {
            let address = BureauAddress {
                line1: a.line1.trim().to_owned(),
                line2: text(a.line2.as_ref()),
                city: a.city.trim().to_owned(),
                postcode: text(a.postcode.as_ref()),
                country: a.country.trim().to_owned(),
                reported: text(a.reported.as_ref()),
            };
            // The same address reported twice is listed once.
            if !addresses
                .iter()
                .any(|b| !differs(&b.summary(), &address.summary()))
            {
                addresses.push(address);
            }
        }
        // The current (latest reported) first; among equals, the feed's order.
        addresses.sort_by(|a, b| b.reported.cmp(&a.reported));
        SubjectRecord {
            kind: match self.kind {
                SubjectKind::Individual => ClientClass::Individual,
                SubjectKind::Company => ClientClass::Company,
            },
            name: self.display_name().trim().to_owned(),
            date_of_birth: text(self.dob.as_ref()).filter(|_| self.kind == SubjectKind::Individual),
            registration_number: company.and_then(|c| text(c.registration_number.as_ref())),
            addresses,
            company_status: company.and_then(|c| text(Some(&c.status))),
            score: self.score.as_ref().map(|s| BureauScore {
                value: s.value,
                band: s.band.trim().to_owned(),
                date: s.day(),
            }),
        }
    }

    /// A company's name and status, normalised for comparison; empty for people.
    pub fn company_values(&self) -> (String, String) {
        match (&self.company, self.kind) {
            (Some(c), SubjectKind::Company) => {
                (c.name.trim().to_owned(), c.status.trim().to_owned())
            }
            _ => (String::new(), String::new()),
        }
    }
}

/// A change of a company's name or status as a fact. Its id is a hash of the field, the old and
/// the new value, and `occurrence`: how many changes of that field the subject's baseline had
/// counted before this one. It does not depend on the run day, so the same change found again
/// from the same baseline (a day run twice, a killed day followed by the next, a skipped day
/// replayed late) has the same id and is one hit; a field that changes back and forth gets a
/// new occurrence, and so a new hit, each time.
pub fn value_change(kind: FactKind, old: &str, new: &str, occurrence: u32) -> Fact {
    let what = if kind == FactKind::NameChange {
        "name"
    } else {
        "status"
    };
    Fact {
        id: fact_id(kind, &[old, new, &format!("#{occurrence}")]),
        kind,
        details: json!({ "old": old, "new": new }),
        summary: format!("{what} changed from {old:?} to {new:?}"),
        change: Some(HitChange::Value {
            old: old.to_owned(),
            new: new.to_owned(),
        }),
    }
}

/// The id of a period's figures, and the id of the period alone.
pub fn statement_ids(f: &Figures) -> (u64, u64) {
    let figures = [
        f.turnover_cents.to_string(),
        f.profit_loss_cents.to_string(),
        f.net_assets_cents.to_string(),
    ];
    (
        fact_id(
            FactKind::FinancialStatements,
            &[
                &f.period_end,
                &figures[0],
                &figures[1],
                &figures[2],
                &f.currency,
            ],
        ),
        fact_id(FactKind::FinancialStatements, &["period", &f.period_end]),
    )
}

/// A change of a subject's credit score as a fact; `occurrence` as for [`value_change`].
pub fn score_change(old: &ScoreValue, new: &ScoreValue, occurrence: u32) -> Fact {
    let points = new.value - old.value;
    Fact {
        id: fact_id(
            FactKind::ScoreChange,
            &[
                &old.value.to_string(),
                &old.band,
                &new.value.to_string(),
                &new.band,
                &format!("#{occurrence}"),
            ],
        ),
        kind: FactKind::ScoreChange,
        details: json!({ "old": old, "new": new }),
        summary: format!(
            "score {} ({}) → {} ({}), {}{} points",
            old.value,
            old.band,
            new.value,
            new.band,
            if points >= 0 { "+" } else { "−" },
            points.unsigned_abs()
        ),
        change: Some(HitChange::Score {
            old: old.clone(),
            new: new.clone(),
            points,
        }),
    }
}

/// Financial statements filed for a period (`restated`: a period seen before, with other
/// figures), compared with `old`; `id` is the figures' id ([`statement_ids`]).
pub fn statements_filed(id: u64, new: &Figures, old: Option<&Figures>, restated: bool) -> Fact {
    let money = |cents: i64| render::amount(&new.currency, cents);
    let mut summary = format!(
        "{} for the period to {}: turnover {}, profit/loss {}, net assets {}",
        if restated { "restated" } else { "filed" },
        new.period_end,
        money(new.turnover_cents),
        money(new.profit_loss_cents),
        money(new.net_assets_cents),
    );
    if let Some(old) = old.filter(|o| o.currency == new.currency) {
        let delta = |a: i64, b: i64| match b - a {
            0 => "unchanged".to_owned(),
            d if d > 0 => format!("up {}", render::amount(&new.currency, d)),
            d => format!("down {}", render::amount(&new.currency, -d)),
        };
        summary.push_str(&format!(
            " (against {}: turnover {}, profit/loss {}, net assets {})",
            old.period_end,
            delta(old.turnover_cents, new.turnover_cents),
            delta(old.profit_loss_cents, new.profit_loss_cents),
            delta(old.net_assets_cents, new.net_assets_cents),
        ));
    }
    Fact {
        id,
        kind: FactKind::FinancialStatements,
        details: json!({ "restated": restated, "figures": new }),
        summary,
        change: Some(HitChange::Statements {
            restated,
            old: old.cloned(),
            new: new.clone(),
        }),
    }
}

/// The open defaults and judgements among `facts` in `currency`.
pub fn adverse<'a>(facts: impl Iterator<Item = &'a Fact>, currency: &str) -> Adverse {
    let mut out = Adverse {
        count: 0,
        total_cents: 0,
        currency: currency.to_owned(),
    };
    for f in facts {
        if !matches!(f.kind, FactKind::Default | FactKind::Judgement) {
            continue;
        }
        if f.details.get("currency").and_then(Value::as_str) != Some(currency) {
            continue;
        }
        out.count += 1;
        out.total_cents += f
            .details
            .get("amount_cents")
            .and_then(Value::as_i64)
            .unwrap_or(0);
    }
    out
}

/// The latest-reported address among `known` (the first listed when none says when).
pub fn current_address<'a>(known: impl Iterator<Item = &'a Fact>) -> Option<&'a Fact> {
    let mut best: Option<(&str, &Fact)> = None;
    for f in known.filter(|f| f.kind == FactKind::Address) {
        let reported = f
            .details
            .get("reported")
            .and_then(Value::as_str)
            .unwrap_or("");
        if best.is_none_or(|(r, _)| reported > r) {
            best = Some((reported, f));
        }
    }
    best.map(|(_, f)| f)
}

/// Two values differ in a way a person would call a change (not just case or spacing).
pub fn differs(old: &str, new: &str) -> bool {
    old != new && norm(old) != norm(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(line: &str) -> FeedRecord<'_> {
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn the_same_address_from_another_source_is_the_same_fact() {
        let a = record(
            r#"{"subject":"IND-1","kind":"individual","addresses":[{"line1":"12 Kauri St","city":"Auckland","postcode":"1010","country":"NZ","source":"utility","reported":"2026-11-20"}]}"#,
        );
        let b = record(
            r#"{"subject":"IND-1","kind":"individual","addresses":[{"line1":"12  kauri st","city":"AUCKLAND","postcode":"1010","country":"NZ","source":"bank","reported":"2026-11-21"}]}"#,
        );
        assert_eq!(a.facts()[0].id, b.facts()[0].id);
    }

    #[test]
    fn a_different_default_amount_is_a_different_fact() {
        let a = record(
            r#"{"subject":"IND-1","kind":"individual","defaults":[{"creditor":"Acme","amount_cents":100,"currency":"NZD","date":"2026-10-01"}]}"#,
        );
        let b = record(
            r#"{"subject":"IND-1","kind":"individual","defaults":[{"creditor":"Acme","amount_cents":200,"currency":"NZD","date":"2026-10-01"}]}"#,
        );
        assert_ne!(a.facts()[0].id, b.facts()[0].id);
        assert_eq!(a.facts()[0].summary, "Acme — NZD 1.00 on 2026-10-01");
    }

    #[test]
    fn a_value_change_id_depends_on_the_change_and_its_occurrence_only() {
        let a = value_change(FactKind::NameChange, "Smith Ltd", "Smith Holdings", 0);
        assert_eq!(
            a.id,
            value_change(FactKind::NameChange, "smith  ltd", "Smith Holdings", 0).id
        );
        assert_ne!(
            a.id,
            value_change(FactKind::NameChange, "Smith Ltd", "Smith Holdings", 2).id
        );
        assert_ne!(
            a.id,
            value_change(FactKind::StatusChange, "Smith Ltd", "Smith Holdings", 0).id
        );
    }

    #[test]
    fn ids_are_those_baselines_hold_and_fact_ids_gives_them_without_the_facts() {
        // The id of a fact is stored in baselines: it is the hash of its kind and folded
        // fields joined by U+001F, whatever the code that computes it.
        let r = record(
            r#"{"subject":"IND-1","kind":"individual","addresses":[{"line1":" 12  Kauri\tSt ","city":"Auckland","postcode":"1010","country":"NZ"}],
               "defaults":[{"creditor":"Ācme Fīnance","amount_cents":125000,"currency":"NZD","date":"2026-10-01"}],
               "judgements":[{"court":"District Court","amount_cents":5,"currency":"NZD","date":"2026-11-11"}],
               "insolvencies":[{"type":"bankruptcy","date":"2026-11-12"}],
               "enquiries":[{"enquirer":"Kiwi Bank","product":"card","date":"2026-11-19"}],
               "directorships":[{"company_number":"123","company_name":"Smith Ltd","appointed":"2025-01-01"}],
               "shareholdings":[{"company_number":"123","company_name":"Smith Ltd","shares":100}]}"#,
        );
        let facts = r.facts();
        assert_eq!(
            facts[0].id,
            xxh3_64("address\u{1f}12 kauri st\u{1f}\u{1f}auckland\u{1f}1010\u{1f}nz".as_bytes())
        );
        assert_eq!(
            facts[1].id,
            xxh3_64("default\u{1f}ācme fīnance\u{1f}125000\u{1f}nzd\u{1f}2026-10-01".as_bytes())
        );
        assert_eq!(r.fact_ids(), facts.iter().map(|f| f.id).collect::<Vec<_>>());
        assert_eq!(facts.len(), 7);
    }

    #[test]
    fn a_fact_listed_twice_counts_once() {
        let r = record(
            r#"{"subject":"IND-1","kind":"individual","enquiries":[{"enquirer":"Kiwi Bank","product":"card","date":"2026-11-19"},{"enquirer":"Kiwi Bank","product":"card","date":"2026-11-19"}]}"#,
        );
        assert_eq!(r.facts().len(), 1);
    }
}
