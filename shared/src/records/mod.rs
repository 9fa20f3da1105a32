//! The records every feature shares, in the table: tenants and their API keys, client types and
//! clients, contacts, contact roles and opportunities, and the one way every resource is read,
//! listed and replaced under a version ([`resource`]), and the outbox of events written with
//! the changes they tell of ([`outbox`]). Their types live in [`crate::domain`];
//! what crosses features (a client's workflow, portfolio and monitor; an opportunity's
//! questionnaires) lives in [`crate::flows`].

pub mod clients;
pub mod contacts;
pub mod opportunities;
pub mod outbox;
pub mod resource;
pub mod roles;
pub mod suppressions;
pub mod tenants;
