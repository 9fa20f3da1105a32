//! Who may be invited into the Customer Centre, decided from plain values: a party of the
//! opportunity in the role of primary applicant, applicant or guarantor, whose contact has an
//! e-mail address (for the link) and a mobile number (for the codes).
//!
//! The decision comes in two parts, in the order [`super::invites::create`] applies them:
//! [`as_party`] from the opportunity alone, then [`as_contact`] once the contact is read, so
//! that an id that is no invitable party's is refused as such whether or not such a contact
//! exists. A second live invite for the same contact is kept out by the store (a guard item
//! written only if absent), not here.

use crate::domain::opportunities::Party;
use crate::domain::{EmailAddress, PhoneNumber};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Eligibility {
    Eligible,
    /// The contact is not a party of the opportunity.
    NotAParty,
    /// The contact's part in the opportunity is not one that may be invited.
    NotInvitable {
        role: String,
    },
    NoEmail,
    NoMobile,
}

impl Eligibility {
    /// Why the contact (the request's `contact_id`) cannot be invited; `None` when it can.
    pub fn refusal(&self) -> Option<String> {
        match self {
            Eligibility::Eligible => None,
            Eligibility::NotAParty => Some("is not a party of this opportunity".into()),
            Eligibility::NotInvitable { role } => Some(format!(
                "is this opportunity's {role}; only its primary applicant, applicants and \
                 guarantors may be invited"
            )),
            Eligibility::NoEmail => Some("the contact has no e-mail address".into()),
            Eligibility::NoMobile => Some("the contact has no mobile number".into()),
        }
    }
}

/// By the contact's part in the opportunity (`None`: it has none).
pub fn as_party(party: Option<&Party>) -> Eligibility {
    match party {
        None => Eligibility::NotAParty,
        Some(p) if !p.invitable() => Eligibility::NotInvitable {
            role: p.role.clone(),
        },
        Some(_) => Eligibility::Eligible,
    }
}

/// By what the contact can be reached at: the link goes by e-mail, the codes by SMS.
pub fn as_contact(email: Option<&EmailAddress>, mobile: Option<&PhoneNumber>) -> Eligibility {
    match (email, mobile) {
        (None, _) => Eligibility::NoEmail,
        (Some(_), None) => Eligibility::NoMobile,
        (Some(_), Some(_)) => Eligibility::Eligible,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_party_table() {
        let not = |role: &str| Eligibility::NotInvitable { role: role.into() };
        #[rustfmt::skip]
        let table: &[(&str, Option<&str>, Eligibility)] = &[
            // (reason, the contact's role in the opportunity, expected)
            ("no party of the opportunity", None, Eligibility::NotAParty),
            ("the primary applicant", Some("primary_applicant"), Eligibility::Eligible),
            ("an applicant", Some("applicant"), Eligibility::Eligible),
            ("a guarantor", Some("guarantor"), Eligibility::Eligible),
            ("another role of the partner's", Some("director"), not("director")),
            ("roles are matched exactly", Some("Guarantor"), not("Guarantor")),
            ("an empty role", Some(""), not("")),
        ];
        for (reason, role, expected) in table {
            let party = role.map(|r| Party {
                contact_id: "c1".into(),
                role: r.into(),
            });
            assert_eq!(as_party(party.as_ref()), *expected, "{reason}");
        }
    }

    #[test]
    fn as_contact_table() {
        let email = EmailAddress::parse("ana@example.com").unwrap();
        let mobile = PhoneNumber::parse("+64211234567", "ZZ").unwrap();
        #[rustfmt::skip]
        let table: &[(&str, bool, bool, Eligibility)] = &[
            // (reason, has an e-mail, has a mobile, expected)
            ("both: the link by e-mail, the codes by SMS", true, true, Eligibility::Eligible),
            ("no e-mail for the link", false, true, Eligibility::NoEmail),
            ("no mobile for the codes", true, false, Eligibility::NoMobile),
            ("neither: the e-mail is named first", false, false, Eligibility::NoEmail),
        ];
        for (reason, has_email, has_mobile, expected) in table {
            let got = as_contact(has_email.then_some(&email), has_mobile.then_some(&mobile));
            assert_eq!(got, *expected, "{reason}");
        }
    }

    #[test]
    fn only_eligible_has_no_refusal() {
        assert_eq!(Eligibility::Eligible.refusal(), None);
        for refused in [
            Eligibility::NotAParty,
            Eligibility::NotInvitable {
                role: "director".into(),
            },
            Eligibility::NoEmail,
            Eligibility::NoMobile,
        ] {
            assert!(refused.refusal().is_some(), "{refused:?}");
        }
        assert!(
            Eligibility::NotInvitable {
                role: "director".into()
            }
            .refusal()
            .unwrap()
            .starts_with("is this opportunity's director;")
        );
    }
}
