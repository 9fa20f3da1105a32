//! The account portal: every contact of a client whose role currently has communication signs
//! in with a personal link and a one-time code and sees the client's account — what is owed,
//! the invoices, the messages sent to them.
//!
//! - [`admit`]: who may get in, decided on every request from what is stored now (a pure
//!   function, table-tested).
//! - [`signin`]: the link's landing page (reads only), codes by SMS (or by e-mail when the
//!   contact has no mobile and the tenant allows it), sessions.
//! - [`views`]: what the pages show, always for the session's own tenant and client.
//!
//! The links themselves, each contact's access record and the code and session rules come from
//! [`crate::access`], shared with the Customer Centre. This sits at the top layer because it
//! reads the communications feature's invoices and log beside the shared records.

pub mod admit;
pub mod issue;
pub mod signin;
pub mod views;

pub use signin::{AccountVisit, Denied, Step};
