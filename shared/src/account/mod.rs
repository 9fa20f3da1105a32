//! The account portal.
