//! Monitoring: tenants watch their clients' bureau subjects; every day each new fact the feed
//! shows about a watched subject becomes a billed hit, e-mailed in a digest and published as an
//! event.

pub mod billing;
pub mod diff;
pub mod digest;
pub mod facts;
pub mod flat;
pub mod hits;
pub mod monitors;
pub mod profiles;
pub mod run;
pub mod severity;
pub mod snapshot;
pub mod split;

pub use facts::FactKind;
pub use monitors::{Frequency, MonitoringSettings};
