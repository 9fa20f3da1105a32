//! Flows that cross features: they sit above monitoring, communications and the Customer
//! Centre and call into each, so none of those has to know about another.

pub mod client_import;
pub mod clients;
pub mod imports;
pub mod opportunities;
