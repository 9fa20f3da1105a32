//! Which new facts about a watched subject become hits for a tenant, from plain values: the
//! tenant's monitoring is on, and its product reports the fact's kind (every kind for
//! `all_activity`, the listed kinds for `selected`). Monitors carry no kinds of their own: a
//! tenant's product decides for all its monitors. A score change is a hit only when it moves
//! by the tenant's threshold or changes band ([`fact_filter`]).

use super::monitoring::{FactKind, HitChange, MonitoringSettings, Product, score_is_hit};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KindFilter {
    /// The fact becomes a hit.
    Hit,
    /// The tenant's monitoring is off.
    MonitoringOff,
    /// The tenant's `selected` product does not list the kind.
    NotSelected,
    /// A score moved less than the tenant's threshold, within its band.
    UnderThreshold,
}

/// [`kind_filter`], and for a score change the tenant's threshold.
pub fn fact_filter(
    settings: &MonitoringSettings,
    kind: FactKind,
    change: Option<&HitChange>,
) -> KindFilter {
    match (kind_filter(settings, kind), change) {
        (KindFilter::Hit, Some(HitChange::Score { old, new, .. }))
            if !score_is_hit(old, new, settings.score_threshold()) =>
        {
            KindFilter::UnderThreshold
        }
        (filter, _) => filter,
    }
}

pub fn kind_filter(settings: &MonitoringSettings, kind: FactKind) -> KindFilter {
    if !settings.enabled {
        KindFilter::MonitoringOff
    } else if settings.product == Product::AllActivity || settings.kinds.contains(&kind) {
        KindFilter::Hit
    } else {
        KindFilter::NotSelected
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn kind_filter_table() {
        use FactKind::*;
        use KindFilter::*;
        use Product::*;
        type Row<'a> = (&'a str, bool, Product, &'a [FactKind], FactKind, KindFilter);
        #[rustfmt::skip]
        let table: &[Row<'_>] = &[
            // (reason, monitoring on, product, selected kinds, the fact's kind, expected)
            ("all activity reports a default", true, AllActivity, &[], Default, Hit),
            ("all activity reports an enquiry", true, AllActivity, &[], Enquiry, Hit),
            ("all activity ignores a stale kind list", true, AllActivity, &[Default], StatusChange, Hit),
            ("a selected kind", true, Selected, &[Default, Judgement], Judgement, Hit),
            ("a kind not selected", true, Selected, &[Default, Judgement], Enquiry, NotSelected),
            ("selected with no kinds (refused when saved)", true, Selected, &[], Default, NotSelected),
            ("monitoring off, all activity", false, AllActivity, &[], Default, MonitoringOff),
            ("monitoring off, a selected kind", false, Selected, &[Default], Default, MonitoringOff),
        ];
        for &(reason, enabled, product, kinds, kind, expected) in table {
            let settings = MonitoringSettings {
                enabled,
                product,
                kinds: kinds.iter().copied().collect::<BTreeSet<_>>(),
                ..MonitoringSettings::default()
            };
            assert_eq!(kind_filter(&settings, kind), expected, "{reason}");
        }
    }

    #[test]
    fn fact_filter_table() {
        use super::super::monitoring::ScoreValue;
        let score = |old: i32, old_band: &str, new: i32, new_band: &str| HitChange::Score {
            old: ScoreValue {
                value: old,
                band: old_band.into(),
            },
            new: ScoreValue {
                value: new,
                band: new_band.into(),
            },
            points: new - old,
        };
        type Row<'a> = (
            &'a str,
            Option<u32>,
            Product,
            FactKind,
            Option<HitChange>,
            KindFilter,
        );
        #[rustfmt::skip]
        let table: &[Row<'_>] = &[
            // (reason, tenant threshold, product, kind, change, expected)
            ("a drop past the default threshold", None, Product::AllActivity, FactKind::ScoreChange, Some(score(700, "B", 640, "B")), KindFilter::Hit),
            ("a drop under the default threshold", None, Product::AllActivity, FactKind::ScoreChange, Some(score(700, "B", 660, "B")), KindFilter::UnderThreshold),
            ("the same drop under a threshold of 30", Some(30), Product::AllActivity, FactKind::ScoreChange, Some(score(700, "B", 660, "B")), KindFilter::Hit),
            ("a band change under the threshold", None, Product::AllActivity, FactKind::ScoreChange, Some(score(700, "B", 695, "C")), KindFilter::Hit),
            ("not selected comes first", None, Product::Selected, FactKind::ScoreChange, Some(score(700, "B", 600, "C")), KindFilter::NotSelected),
            ("other kinds pass as kind_filter says", Some(1000), Product::AllActivity, FactKind::Default, None, KindFilter::Hit),
        ];
        for (reason, threshold, product, kind, change, expected) in table {
            let settings = MonitoringSettings {
                enabled: true,
                product: *product,
                kinds: BTreeSet::from([FactKind::Default]),
                score_threshold: *threshold,
                ..MonitoringSettings::default()
            };
            assert_eq!(
                fact_filter(&settings, *kind, change.as_ref()),
                *expected,
                "{reason}"
            );
        }
    }
}
