//! A partner asks for a contact's portal link (`POST .../contacts/{contact_id}/portal-link`):
//! checked like a sign-in would be (the contact exists, its role has communication, a code can
//! reach it), then minted; with `replace_previous`, every earlier link and session ends.

use crate::Services;
use crate::access::links::{self, Holder, Minted};
use crate::domain::{Error, Result};
use crate::records::{contacts, roles, tenants};

/// Why a contact cannot have a link, as the field the partner would fix.
pub fn refusal(
    has_communication: bool,
    has_email: bool,
    has_mobile: bool,
    require_sms: bool,
) -> Option<(&'static str, &'static str)> {
    if !has_communication {
        Some((
            "role_id",
            "the contact's role has no communication: only contacts who receive reminders and statements can use the account portal",
        ))
    } else if !has_mobile && require_sms {
        Some((
            "mobile",
            "the contact has no mobile number and the tenant sends sign-in codes only by SMS (portal.require_sms)",
        ))
    } else if !has_mobile && !has_email {
        Some((
            "mobile",
            "the contact has neither a mobile number nor an e-mail address to receive a sign-in code",
        ))
    } else {
        None
    }
}

/// Issues a link for a contact of a client of the tenant.
pub async fn portal_link(
    svc: &Services,
    tenant_id: &str,
    client_id: &str,
    contact_id: &str,
    replace_previous: bool,
) -> Result<Minted> {
    let tenant = tenants::get(svc.table.as_ref(), tenant_id).await?;
    let contact = contacts::get(svc.table.as_ref(), tenant_id, client_id, contact_id).await?;
    let communication = match roles::get(svc.table.as_ref(), tenant_id, &contact.spec.role_id).await
    {
        Ok(role) => role.spec.communication,
        Err(Error::NotFound(_)) => false,
        Err(e) => return Err(e),
    };
    if let Some((field, why)) = refusal(
        communication,
        contact.spec.email.is_some(),
        contact.spec.phone().is_some(),
        tenant.spec.portal.require_sms,
    ) {
        return Err(Error::invalid(field, why));
    }
    let holder = Holder {
        tenant_id: tenant_id.to_owned(),
        client_id: client_id.to_owned(),
        contact_id: contact.id.clone(),
    };
    links::mint(
        svc,
        &holder,
        contact.spec.email.as_ref().map(|e| e.as_str()),
        tenant.spec.portal.link_days,
        replace_previous,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::refusal;

    /// (reason, (communication, e-mail, mobile, SMS required), the field refused)
    type Case = (&'static str, (bool, bool, bool, bool), Option<&'static str>);

    #[test]
    fn a_link_goes_only_to_a_communication_contact_a_code_can_reach() {
        #[rustfmt::skip]
        let table: &[Case] = &[
            ("mobile and e-mail", (true, true, true, false), None),
            ("mobile only", (true, false, true, true), None),
            ("e-mail only, e-mailed codes allowed", (true, true, false, false), None),
            ("e-mail only, SMS required", (true, true, false, true), Some("mobile")),
            ("no way to send a code", (true, false, false, false), Some("mobile")),
            ("role without communication", (false, true, true, false), Some("role_id")),
        ];
        for (reason, (c, e, m, s), expected) in table {
            assert_eq!(refusal(*c, *e, *m, *s).map(|r| r.0), *expected, "{reason}");
        }
    }
}
