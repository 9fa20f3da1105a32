//! Who may get into the account portal, checked on every request (the landing page, asking for
//! a code, entering it, every signed-in page) from what is stored at that moment: so changing a
//! contact's role to one without communication, deleting the contact, or a sync or a PATCH that
//! changes their e-mail address ends their links and sessions at once.

use chrono::{DateTime, Utc};

/// What the decision reads, gathered fresh for each request.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    /// The contact's e-mail address now; `None` for the outer option when the contact is gone.
    pub contact_email: Option<Option<&'a str>>,
    /// Whether the contact's role (as it is now) has communication.
    pub role_has_communication: bool,
    /// The e-mail address the link was issued for.
    pub link_email: Option<&'a str>,
    pub link_generation: u32,
    pub link_expires_at: DateTime<Utc>,
    /// The contact's current generation and lock.
    pub generation: u32,
    pub locked: bool,
    pub now: DateTime<Utc>,
}

/// Why someone is not let in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The contact was deleted.
    NotAContact,
    /// The contact's role has no communication (any more).
    NoCommunication,
    /// The contact's e-mail address is not the one the link was sent for.
    EmailChanged,
    /// A newer link was issued with "replace": this one (and its sessions) ended.
    Replaced,
    /// The link's days are over.
    Expired,
    /// Too many wrong codes: closed until a new link replaces this one.
    Locked,
}

/// Whether the holder of this link (or of a session opened through it) may go on.
pub fn admit(f: &Facts) -> Result<(), Refused> {
    let Some(email) = f.contact_email else {
        return Err(Refused::NotAContact);
    };
    if !f.role_has_communication {
        return Err(Refused::NoCommunication);
    }
    if email != f.link_email {
        return Err(Refused::EmailChanged);
    }
    if f.link_generation != f.generation {
        return Err(Refused::Replaced);
    }
    if f.now >= f.link_expires_at {
        return Err(Refused::Expired);
    }
    if f.locked {
        return Err(Refused::Locked);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn good() -> Facts<'static> {
        Facts {
            contact_email: Some(Some("ana@example.com")),
            role_has_communication: true,
            link_email: Some("ana@example.com"),
            link_generation: 2,
            link_expires_at: at("2026-12-31T00:00:00Z"),
            generation: 2,
            locked: false,
            now: at("2026-12-01T00:00:00Z"),
        }
    }

    #[test]
    fn only_a_current_communication_contact_with_a_live_link_gets_in() {
        #[rustfmt::skip]
        let table: Vec<(&str, Facts, Result<(), Refused>)> = vec![
            ("everything current", good(), Ok(())),
            ("no e-mail then or now (SMS only)", Facts { contact_email: Some(None), link_email: None, ..good() }, Ok(())),
            ("contact deleted", Facts { contact_email: None, ..good() }, Err(Refused::NotAContact)),
            ("role without communication", Facts { role_has_communication: false, ..good() }, Err(Refused::NoCommunication)),
            ("e-mail changed by a sync", Facts { contact_email: Some(Some("ana@new.example")), ..good() }, Err(Refused::EmailChanged)),
            ("e-mail removed", Facts { contact_email: Some(None), ..good() }, Err(Refused::EmailChanged)),
            ("e-mail added to an SMS-only contact", Facts { link_email: None, ..good() }, Err(Refused::EmailChanged)),
            ("an older generation", Facts { link_generation: 1, ..good() }, Err(Refused::Replaced)),
            ("at its expiry", Facts { now: at("2026-12-31T00:00:00Z"), ..good() }, Err(Refused::Expired)),
            ("locked", Facts { locked: true, ..good() }, Err(Refused::Locked)),
            ("deleted wins over every other reason", Facts { contact_email: None, role_has_communication: false, locked: true, ..good() }, Err(Refused::NotAContact)),
        ];
        for (reason, facts, expected) in table {
            assert_eq!(admit(&facts), expected, "{reason}");
        }
    }
}
