//! How serious a hit is, for the digest's order: a credit controller reads an insolvency before
//! a routine enquiry. Lower ranks come first.
//!
//! The order: insolvency, judgement, default, status change, score drop, financial statements,
//! score rise, name change, address, directorship, shareholding, enquiry. A score change whose
//! value did not rise (a band change alone included) counts as a drop.

use crate::domain::monitoring::{FactKind, HitChange};

/// The rank of a hit of `kind` with `change`: 0 is the most severe.
pub fn severity(kind: FactKind, change: Option<&HitChange>) -> u8 {
    match kind {
        FactKind::Insolvency => 0,
        FactKind::Judgement => 1,
        FactKind::Default => 2,
        FactKind::StatusChange => 3,
        FactKind::ScoreChange => match change {
            Some(HitChange::Score { points, .. }) if *points > 0 => 6,
            _ => 4,
        },
        FactKind::FinancialStatements => 5,
        FactKind::NameChange => 7,
        FactKind::Address => 8,
        FactKind::Directorship => 9,
        FactKind::Shareholding => 10,
        FactKind::Enquiry => 11,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::monitoring::ScoreValue;

    fn score(points: i32) -> HitChange {
        HitChange::Score {
            old: ScoreValue {
                value: 700,
                band: "B".into(),
            },
            new: ScoreValue {
                value: 700 + points,
                band: "C".into(),
            },
            points,
        }
    }

    #[test]
    fn severity_table() {
        use FactKind::*;
        type Row<'a> = (&'a str, FactKind, Option<HitChange>);
        // Most severe first: each row ranks strictly below the one before it.
        let table: &[Row<'_>] = &[
            ("insolvency", Insolvency, None),
            ("judgement", Judgement, None),
            ("default", Default, None),
            ("status change", StatusChange, None),
            ("score drop", ScoreChange, Some(score(-60))),
            ("financial statements", FinancialStatements, None),
            ("score rise", ScoreChange, Some(score(60))),
            ("name change", NameChange, None),
            ("address", Address, None),
            ("directorship", Directorship, None),
            ("shareholding", Shareholding, None),
            ("enquiry", Enquiry, None),
        ];
        for pair in table.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert!(
                severity(a.1, a.2.as_ref()) < severity(b.1, b.2.as_ref()),
                "{} before {}",
                a.0,
                b.0
            );
        }
        assert_eq!(
            severity(ScoreChange, Some(&score(0))),
            severity(ScoreChange, Some(&score(-1))),
            "a band change alone counts as a drop"
        );
        let ranked: std::collections::BTreeSet<u8> =
            FactKind::ALL.iter().map(|&k| severity(k, None)).collect();
        assert_eq!(
            ranked.len(),
            FactKind::ALL.len(),
            "every kind has its own rank"
        );
    }
}
