//! The Customer Centre: tenants invite the applicants of an opportunity into a small portal,
//! where they see and edit the application and answer questionnaires. Access takes two
//! factors: a link sent by e-mail (or handed to the partner once), then a code sent by SMS.
//!
//! Everything a customer changes is written together with an audit entry and published as a
//! `CustomerCentreUpdated` event for the partner (see [`audit`]).
//!
//! Invite e-mails are written from the tenant's e-mail templates, or a built-in one (see
//! [`templates`]).

pub mod access;
pub mod application;
pub mod audit;
pub mod eligibility;
pub mod invites;
pub mod questionnaires;
pub mod templates;
