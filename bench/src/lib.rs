//! Tools for the benchmarks: a generator of the bureau's daily feed with its ground truth
//! ([`feedgen`]), the communications run's book of invoices with reminders due and the check of
//! what a run sent ([`comms`]), and a measure of a child process's wall time, processor time
//! and peak memory ([`measure`]).

pub mod comms;
pub mod feedgen;
pub mod measure;
