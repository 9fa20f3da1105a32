//! What a hit costs, and how the tenant's monthly cap is held, from plain values.
//!
//! The cap itself is enforced by the store, not here: a write that bills hits adds to the
//! month's `billed` counter only while the counter is below a bound ([`cap_check`]), so two
//! workers racing cannot both bill the last hit under the cap. An absent counter counts as
//! below any bound, which is why a batch larger than the whole cap is never tried as one
//! ([`batch`]) and a cap of 0 bills nothing without asking the store ([`may_bill`]).

use std::collections::BTreeMap;

use crate::domain::Decimal2;
use crate::domain::monitoring::FactKind;

/// What one billed hit costs the tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Amounts {
    pub net: Decimal2,
    pub gst: Decimal2,
}

/// The tenant's price per hit, and GST on it at the tenant's rate.
pub fn hit_amounts(price_per_hit: Decimal2, gst_rate_percent: Decimal2) -> Amounts {
    Amounts {
        net: price_per_hit,
        gst: gst(price_per_hit, gst_rate_percent),
    }
}

/// The price of one hit of `kind`: the tenant's price for that kind when it set one, its
/// price per hit otherwise.
pub fn price_of(
    kind: FactKind,
    price_per_hit: Decimal2,
    price_per_kind: &BTreeMap<FactKind, Decimal2>,
) -> Decimal2 {
    price_per_kind.get(&kind).copied().unwrap_or(price_per_hit)
}

/// GST on a price, rounded half up to the cent.
pub fn gst(price: Decimal2, rate_percent: Decimal2) -> Decimal2 {
    Decimal2((price.0 * rate_percent.0 + 5000) / 10000)
}

/// The condition a write that bills `billing` hits puts on the month's `billed` counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapCheck {
    /// No cap, or the write bills nothing: the counters are only added to.
    None,
    /// The write goes through only while the counter is below this (absent counts as below):
    /// then the counter stays at most the cap after it.
    BilledBelow(i64),
}

pub fn cap_check(cap: Option<u32>, billing: usize) -> CapCheck {
    match cap {
        Some(cap) if billing > 0 => CapCheck::BilledBelow(i64::from(cap) - billing as i64 + 1),
        _ => CapCheck::None,
    }
}

/// How a batch of new hits is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Batch {
    /// In one transaction, under [`cap_check`] for all of them.
    Together,
    /// One by one, in order: the batch could pass the cap as one (an absent counter is below
    /// any bound), so each hit is billed or withheld on its own.
    OneByOne,
}

pub fn batch(cap: Option<u32>, hits: usize) -> Batch {
    if cap.is_some_and(|c| (c as usize) < hits) {
        Batch::OneByOne
    } else {
        Batch::Together
    }
}

/// Whether a hit on its own may be billed at all: a cap of 0 withholds every hit (the store is
/// not asked, as an absent counter would pass any bound).
pub fn may_bill(cap: Option<u32>) -> bool {
    cap != Some(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_amounts_table() {
        type Row<'a> = (&'a str, i64, i64, i64);
        #[rustfmt::skip]
        let table: &[Row<'_>] = &[
            // (reason, price in cents, GST rate in hundredths of a percent, expected GST in cents)
            ("15% of $3.00", 300, 1500, 45),
            ("15% of $3.33 is 49.95c: rounded up", 333, 1500, 50),
            ("12.5% of $1.00 is 12.5c: half rounds up", 100, 1250, 13),
            ("15% of 3c is 0.45c: rounded down", 3, 1500, 0),
            ("15% of 4c is 0.6c: rounded up", 4, 1500, 1),
            ("a zero price has no GST", 0, 1500, 0),
            ("a zero rate", 300, 0, 0),
            ("a 100% rate", 300, 10000, 300),
        ];
        for &(reason, price, rate, expected_gst) in table {
            let amounts = hit_amounts(Decimal2(price), Decimal2(rate));
            assert_eq!(
                amounts,
                Amounts {
                    net: Decimal2(price),
                    gst: Decimal2(expected_gst)
                },
                "{reason}"
            );
        }
    }

    #[test]
    fn price_of_table() {
        use FactKind::*;
        let prices = BTreeMap::from([
            (ScoreChange, Decimal2(150)),
            (FinancialStatements, Decimal2(500)),
            (Enquiry, Decimal2(0)),
        ]);
        let none = BTreeMap::new();
        type Row<'a> = (&'a str, FactKind, &'a BTreeMap<FactKind, Decimal2>, i64);
        #[rustfmt::skip]
        let table: &[Row<'_>] = &[
            // (reason, kind, prices per kind, expected price in cents; the price per hit is 300)
            ("a kind with its own price", ScoreChange, &prices, 150),
            ("another kind with its own price", FinancialStatements, &prices, 500),
            ("a kind priced at nothing", Enquiry, &prices, 0),
            ("a kind without its own price: the price per hit", Default, &prices, 300),
            ("no prices per kind", ScoreChange, &none, 300),
        ];
        for &(reason, kind, per_kind, expected) in table {
            assert_eq!(
                price_of(kind, Decimal2(300), per_kind),
                Decimal2(expected),
                "{reason}"
            );
        }
    }

    /// Whether the store lets the write through (`Condition::Below`: absent or below).
    fn passes(check: CapCheck, billed_before: Option<i64>) -> bool {
        match (check, billed_before) {
            (CapCheck::None, _) | (CapCheck::BilledBelow(_), None) => true,
            (CapCheck::BilledBelow(bound), Some(n)) => n < bound,
        }
    }

    #[test]
    fn cap_table() {
        type Row<'a> = (&'a str, Option<u32>, Option<i64>, usize, bool);
        #[rustfmt::skip]
        let table: &[Row<'_>] = &[
            // (reason, cap, billed this month before, hits billed by the write, billed?)
            ("no cap", None, Some(100_000), 1, true),
            ("the month's first hit", Some(10), None, 1, true),
            ("well under the cap", Some(10), Some(3), 1, true),
            ("the hit that reaches the cap", Some(10), Some(9), 1, true),
            ("the first hit withheld", Some(10), Some(10), 1, false),
            ("past the cap (a counter raised beside it)", Some(10), Some(12), 1, false),
            ("a batch that reaches the cap", Some(10), Some(8), 2, true),
            ("a batch that would pass the cap", Some(10), Some(9), 2, false),
            ("a cap of one, the first hit", Some(1), None, 1, true),
            ("a cap of one, the second hit", Some(1), Some(1), 1, false),
        ];
        for &(reason, cap, before, billing, billed) in table {
            assert_eq!(passes(cap_check(cap, billing), before), billed, "{reason}");
        }
        assert_eq!(
            cap_check(Some(10), 0),
            CapCheck::None,
            "a write that only withholds is not held to the cap"
        );
    }

    #[test]
    fn batch_table() {
        type Row<'a> = (&'a str, Option<u32>, usize, Batch, bool);
        #[rustfmt::skip]
        let table: &[Row<'_>] = &[
            // (reason, cap, hits in the batch, expected batch, may a hit alone be billed)
            ("no cap", None, 49, Batch::Together, true),
            ("a batch as large as the cap", Some(49), 49, Batch::Together, true),
            ("a batch larger than the cap", Some(48), 49, Batch::OneByOne, true),
            ("a single hit under a cap of one", Some(1), 1, Batch::Together, true),
            ("a cap of 0: every hit on its own, and withheld", Some(0), 1, Batch::OneByOne, false),
        ];
        for &(reason, cap, hits, expected, billable) in table {
            assert_eq!(batch(cap, hits), expected, "{reason}");
            assert_eq!(may_bill(cap), billable, "{reason}");
        }
    }
}
