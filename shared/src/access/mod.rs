//! What both portals (the Customer Centre and the account portal) need to let a person in: a
//! secret's stored form and shape ([`secret`]), the one-time code and its limits ([`code`]),
//! sessions and their timeouts ([`session`]), and the account portal's personal links
//! ([`links`], here so that the communications run can mint one per contact without knowing the
//! account feature above it).
//!
//! The decisions (may a code be sent now, what does an entered code do, has a session timed
//! out) are pure functions of plain values, table-tested beside them; the features around them
//! read the state, apply the answer under the record's version, and talk to the customer.

pub mod code;
pub mod links;
pub mod secret;
pub mod session;
