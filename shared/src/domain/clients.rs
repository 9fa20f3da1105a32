//! Client types and clients as values: a client type's class, a client's identity (matching its
//! type's class), addresses, external references and the profile sections of a collection
//! platform, and the checks each must pass. Stored by [`crate::records::clients`]; created,
//! changed and deleted with what they are assigned to by [`crate::flows::clients`].

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::resource::Resource;
use super::{Decimal2, Error, Result, text};

pub const TYPE: &str = "client type";
pub const CLIENT: &str = "client";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientClass {
    Individual,
    Company,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientTypeSpec {
    pub name: String,
    pub class: ClientClass,
    #[serde(default)]
    pub use_bureau_monitoring: bool,
}

pub type ClientType = Resource<ClientTypeSpec>;

/// Who the client is: a person (first and last name, date of birth) or a company (name,
/// registration number). Its `kind` must match the client type's class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub kind: ClientClass,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::input::date::option"
    )]
    pub date_of_birth: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_number: Option<String>,
}

impl Identity {
    /// The name a person would read: "Ana Smith" or "Smith Holdings Ltd".
    pub fn display_name(&self) -> String {
        match self.kind {
            ClientClass::Individual => format!(
                "{} {}",
                self.first_name.as_deref().unwrap_or_default(),
                self.last_name.as_deref().unwrap_or_default()
            ),
            ClientClass::Company => self.name.clone().unwrap_or_default(),
        }
    }

    pub fn checked(mut self) -> Result<Self> {
        let required = |field: &str, value: &Option<String>, max| match value {
            Some(v) => text(format!("identity.{field}"), v, max).map(Some),
            None => Err(Error::invalid(format!("identity.{field}"), "is required")),
        };
        let absent = |field: &str, present: bool| {
            if present {
                Err(Error::invalid(
                    format!("identity.{field}"),
                    "does not belong to this kind of client",
                ))
            } else {
                Ok(())
            }
        };
        match self.kind {
            ClientClass::Individual => {
                self.first_name = required("first_name", &self.first_name, 100)?;
                self.last_name = required("last_name", &self.last_name, 100)?;
                absent("name", self.name.is_some())?;
                absent("registration_number", self.registration_number.is_some())?;
            }
            ClientClass::Company => {
                self.name = required("name", &self.name, 200)?;
                absent("first_name", self.first_name.is_some())?;
                absent("last_name", self.last_name.is_some())?;
                absent("date_of_birth", self.date_of_birth.is_some())?;
            }
        }
        Ok(self)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    /// ISO 3166 alpha-2.
    pub country: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trading_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// The company's status as the register has it ("registered", "in receivership"); the
    /// bureau's monitoring may keep it (`monitoring.apply_bureau_changes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Phone,
    Letter,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommunicationSettings {
    #[serde(default = "all_channels")]
    pub allowed_channels: Vec<Channel>,
    #[serde(default = "default_attempts")]
    pub max_call_attempts: u32,
    #[serde(default)]
    pub breathing_space_days: u32,
}

fn all_channels() -> Vec<Channel> {
    vec![
        Channel::Email,
        Channel::Sms,
        Channel::Phone,
        Channel::Letter,
    ]
}

fn default_attempts() -> u32 {
    3
}

impl Default for CommunicationSettings {
    fn default() -> Self {
        Self {
            allowed_channels: all_channels(),
            max_call_attempts: default_attempts(),
            breathing_space_days: 0,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finances {
    /// A contact of this client who receives the bills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_contact_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_terms_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_fee: Option<Decimal2>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interest_rate_percent: Option<Decimal2>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    pub client_type_id: String,
    pub identity: Identity,
    /// The credit bureau's id of this person or company, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bureau_subject_id: Option<String>,
    #[serde(default)]
    pub addresses: Vec<Address>,
    /// The partner's own reference of this client, unique within the tenant: what a client
    /// import upserts by. Claimed by a guard item in the client's transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<String>,
    /// The partner systems' own ids of this client, by system name.
    #[serde(default)]
    pub external_refs: BTreeMap<String, String>,
    #[serde(default)]
    pub company_info: CompanyInfo,
    #[serde(default)]
    pub communication: CommunicationSettings,
    #[serde(default)]
    pub finances: Finances,
    /// The collection workflow of this client's invoices; its portfolio's when absent. Must
    /// be a workflow of the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    /// Must be a portfolio of the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portfolio_id: Option<String>,
}

pub type Client = Resource<ClientSpec>;

impl ClientTypeSpec {
    pub fn checked(mut self) -> Result<Self> {
        self.name = text("name", &self.name, 100)?;
        Ok(self)
    }
}

impl ClientSpec {
    pub fn checked(mut self, client_type: &ClientType) -> Result<Self> {
        if self.identity.kind != client_type.spec.class {
            return Err(Error::invalid(
                "identity.kind",
                format!(
                    "the client type {:?} is for {} clients",
                    client_type.spec.name,
                    match client_type.spec.class {
                        ClientClass::Individual => "individual",
                        ClientClass::Company => "company",
                    }
                ),
            ));
        }
        self.identity = self.identity.checked()?;
        if let Some(subject) = &self.bureau_subject_id {
            text("bureau_subject_id", subject, 64)?;
        }
        if let Some(reference) = &self.external_ref {
            super::input::id("external_ref", reference)?;
        }
        if self.addresses.len() > 20 {
            return Err(Error::invalid("addresses", "at most 20 addresses"));
        }
        for (i, a) in self.addresses.iter().enumerate() {
            text(format!("addresses[{i}].line1"), &a.line1, 200)?;
            text(format!("addresses[{i}].city"), &a.city, 100)?;
            if a.country.len() != 2 || !a.country.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(Error::invalid(
                    format!("addresses[{i}].country"),
                    "must be a two-letter country code such as \"NZ\"",
                ));
            }
        }
        if let Some(status) = &self.company_info.status {
            self.company_info.status = Some(text("company_info.status", status, 100)?);
        }
        if self.external_refs.len() > 20 {
            return Err(Error::invalid("external_refs", "at most 20 references"));
        }
        if self.communication.allowed_channels.len() > 4 {
            return Err(Error::invalid(
                "communication.allowed_channels",
                "list each channel once",
            ));
        }
        if self.communication.breathing_space_days > 365 {
            return Err(Error::invalid(
                "communication.breathing_space_days",
                "must be at most 365",
            ));
        }
        Ok(self)
    }
}
