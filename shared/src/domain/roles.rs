//! Contact roles as values: what a role serves (invoice presentment, communication), and the two
//! built-in roles. Stored by [`crate::records::roles`].

use serde::{Deserialize, Serialize};

use super::resource::Resource;
use super::{Result, text};

pub const MAX_ROLES: i64 = 30;
pub const COMPANY_CONTACT: &str = "company-contact";
pub const PRIMARY_CONTACT: &str = "primary-contact";
pub const WHAT: &str = "contact role";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    pub name: String,
    #[serde(default)]
    pub invoice_presentment: bool,
    #[serde(default)]
    pub communication: bool,
}

pub type Role = Resource<RoleSpec>;

/// Which contacts a message goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Invoice,
    Reminder,
    Statement,
}

impl RoleSpec {
    pub fn serves(&self, purpose: Purpose) -> bool {
        match purpose {
            Purpose::Invoice => self.invoice_presentment,
            Purpose::Reminder | Purpose::Statement => self.communication,
        }
    }

    pub fn checked(mut self) -> Result<Self> {
        self.name = text("name", &self.name, 100)?;
        Ok(self)
    }
}
