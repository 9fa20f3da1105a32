//! Flows that cross features: they sit above monitoring, communications and the Customer
//! Centre and call into each, so none of those has to know about another.

pub mod clients;
pub mod opportunities;
