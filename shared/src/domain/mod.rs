//! The domain: types that are valid once built, and the rules of clientwatch written once over
//! the ports.

pub mod clients;
mod contact_points;
pub mod contacts;
mod decimal;
mod error;
pub mod input;
pub mod opportunities;
pub mod resource;
pub mod roles;
pub mod tenants;

pub use contact_points::{EmailAddress, InvalidValue, PhoneNumber};
pub use decimal::Decimal2;
pub use error::{Error, Result, text};
