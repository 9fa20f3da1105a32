//! Tools for the monitoring benchmark: a generator of the bureau's daily feed with its ground
//! truth ([`feedgen`]), and a measure of a child process's wall time and peak memory
//! ([`measure`]).

pub mod feedgen;
pub mod measure;
