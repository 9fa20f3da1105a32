//! Which new facts about a watched subject become hits for a tenant, from plain values: the
//! tenant's monitoring is on, and its product reports the fact's kind (every kind for
//! `all_activity`, the listed kinds for `selected`). Monitors carry no kinds of their own: a
//! tenant's product decides for all its monitors.

use super::monitoring::{FactKind, MonitoringSettings, Product};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KindFilter {
    /// The fact becomes a hit.
    Hit,
    /// The tenant's monitoring is off.
    MonitoringOff,
    /// The tenant's `selected` product does not list the kind.
    NotSelected,
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
}
