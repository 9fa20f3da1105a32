//! clientwatch: the domain, its ports (narrow traits for every outside capability), and the
//! adapters behind them — AWS for production, embedded and in-memory twins for local runs and
//! tests. Functions under `functions/` are thin shells around this crate.

pub mod access;
pub mod account;
pub mod adapters;
pub mod centre;
pub mod comms;
pub mod config;
pub mod contact_points;
pub mod domain;
pub mod flows;
pub mod keys;
pub mod layers;
pub mod monitoring;
pub mod ports;
pub mod records;
pub mod render;
pub mod schedule;
pub mod services;
pub mod telemetry;
pub mod webhooks;

pub use services::Services;
