//! Signed webhooks (Standard Webhooks): a tenant's endpoints, the fan-out of its events into
//! deliveries, the sender that attempts them with back-off, the delivery log and replay.
//!
//! - [`endpoints`]: `/v1/webhooks` resources and their signing secrets (shown once; rotation
//!   keeps the old secret signing for [`endpoints::OVERLAP_HOURS`]).
//! - [`fanout`]: an `Events` wrapper that, before an event goes to the bus, writes one delivery
//!   per subscribed endpoint, keyed by the stable message id (written only if absent), so every
//!   publisher's at-least-once guarantee carries over and a republished event is sent once.
//! - [`send`]: takes due deliveries, signs and posts them, and applies the pure decision of
//!   `domain::webhooks::next` (done, retry at, give up, disable on 410; an endpoint failing for
//!   three days is disabled and the tenant's alert recipients are told).
//! - [`deliveries`]: the log per endpoint and replay (from a time, or one message).

pub mod deliveries;
pub mod endpoints;
pub mod fanout;
pub mod send;

pub use fanout::{Fanout, with_fanout};
