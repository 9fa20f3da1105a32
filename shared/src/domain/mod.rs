//! The domain: values that are valid once built (specs, settings, contact points) and the rules
//! over them. Nothing here reads or writes the store or calls a service: [`crate::records`] and
//! the features above store and use these types.

pub mod bureau;
pub mod clients;
pub mod contacts;
mod decimal;
mod error;
pub mod input;
pub mod kind_filter;
pub mod monitoring;
pub mod opportunities;
pub mod portal;
pub mod resource;
pub mod roles;
pub mod tenants;
pub mod url_template;
pub mod webhooks;

pub use crate::contact_points::{EmailAddress, InvalidValue, PhoneNumber};
pub use decimal::Decimal2;
pub use error::{Error, Result, text};
