//! The ports a function works with, built once at start-up and shared by every request.

use std::sync::Arc;

use crate::ports::{Clock, Events, Ids, Mailer, SendBudget, Sms, Table};

#[derive(Clone)]
pub struct Services {
    pub table: Arc<dyn Table>,
    pub mailer: Arc<dyn Mailer>,
    pub sms: Arc<dyn Sms>,
    pub events: Arc<dyn Events>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn Ids>,
    /// The providers' send rates, shared by every worker (`adapters::pacing`); `Unpaced`
    /// when none is configured.
    pub budget: Arc<dyn SendBudget>,
    /// How national phone numbers are read (an ISO 3166 code such as "NZ").
    pub phone_region: String,
    /// Where the Customer Centre is served (`https://centre.example.com`): invite links start
    /// with it.
    pub portal_url: String,
}
