//! The Customer Centre: tenants invite the applicants of an opportunity into a small portal,
//! where they see and edit the application and answer questionnaires. Access takes two
//! factors: a link sent by e-mail (or handed to the partner once), then a code sent by SMS.
//!
//! Everything a customer changes is written together with an audit entry and published as a
//! `CustomerCentreUpdated` event for the partner (see [`audit`]).

pub mod audit;
pub mod questionnaires;
