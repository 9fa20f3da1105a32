//! Communications: invoices kept by partner systems, e-mailed to the contacts whose role has
//! invoice presentment; collection workflows and portfolios; the daily communications run
//! (reminders and escalations by the workflow's steps, monthly statements, stored as they were
//! sent); a client's contact's answers to an invoice (a dispute, a promise to pay); and the log
//! of everything sent, failed, skipped or recorded.
//!
//! Every message goes through [`deliver`]: it chooses the contacts by role and channel, claims
//! each (message, contact, channel) once in the store before sending, and logs the outcome, so
//! no run, repeated or killed half-way, sends the same thing twice.

pub mod csv;
pub mod decide;
pub mod deliver;
pub mod fanout;
pub mod invoices;
pub mod log;
pub mod merge;
pub mod outcomes;
pub mod portfolios;
pub mod run;
pub mod statements;
pub mod workflows;
