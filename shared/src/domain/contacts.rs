//! Contacts as values: a contact's spec and where it came from, and the records and results of
//! an accounting system's sync. Stored, synced and chosen as recipients by
//! [`crate::records::contacts`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::resource::Resource;
use super::{EmailAddress, Error, PhoneNumber, Result, text};

pub const WHAT: &str = "contact";
pub const MAX_SYNC_RECORDS: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Manual,
    QuickbooksDesktop,
    QuickbooksOnline,
    Netsuite,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Manual => "manual",
            Source::QuickbooksDesktop => "quickbooks_desktop",
            Source::QuickbooksOnline => "quickbooks_online",
            Source::Netsuite => "netsuite",
        }
    }
}

fn manual() -> Source {
    Source::Manual
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailAddress>,
    /// Any common way of writing a mobile number; stored in E.164.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    pub role_id: String,
    #[serde(default = "manual")]
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

pub type Contact = Resource<ContactSpec>;

impl ContactSpec {
    /// The spec, checked; a mobile number is read as a number of `phone_region` unless it is
    /// international.
    pub fn checked(mut self, phone_region: &str) -> Result<Self> {
        self.name = text("name", &self.name, 200)?;
        if let Some(mobile) = &self.mobile {
            let number = PhoneNumber::parse(mobile, phone_region)
                .map_err(|e| Error::invalid("mobile", e.0))?;
            self.mobile = Some(number.e164().to_owned());
        }
        Ok(self)
    }

    /// The mobile number, parsed (stored ones are valid E.164).
    pub fn phone(&self) -> Option<PhoneNumber> {
        self.mobile
            .as_deref()
            .and_then(|m| PhoneNumber::parse(m, "ZZ").ok())
    }

    pub fn owned_fields(&self) -> (&str, Option<&EmailAddress>, Option<&str>) {
        (&self.name, self.email.as_ref(), self.mobile.as_deref())
    }
}

/// One record of an accounting system's contact sync.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRecord {
    pub external_id: String,
    pub client_id: String,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub mobile: Option<String>,
    /// NetSuite only: `primary` or `company` (the default).
    #[serde(default)]
    pub contact_type: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncOutcome {
    Created,
    Updated,
    Unchanged,
    Rejected,
}

#[derive(Clone, Debug, Serialize)]
pub struct SyncResult {
    pub index: usize,
    pub external_id: Value,
    pub status: SyncOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
