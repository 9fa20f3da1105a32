//! Ports: one small trait per outside capability. Domain code depends on these only; adapters
//! in [`crate::adapters`] implement them over AWS or over local, embedded stand-ins.

pub mod blobs;
pub mod budget;
pub mod clock;
pub mod events;
pub mod http;
pub mod ids;
pub mod mailer;
pub mod queue;
pub mod sms;
pub mod table;
pub mod transaction;

pub use blobs::{BlobError, BlobReader, Blobs};
pub use budget::{Granted, Provider, Rates, SendBudget, Unpaced};
pub use clock::{Clock, FixedClock, SystemClock};
pub use events::{DomainEvent, Events, PublishError};
pub use http::{HttpAnswer, HttpFailure, WebhookClient};
pub use ids::{Ids, SeededIds, SystemIds};
pub use mailer::{DeliveryError, Email, Mailer};
pub use queue::{QueueError, WorkQueue};
pub use sms::Sms;
pub use table::{
    Condition, Cursor, Index, IndexKey, Item, Key, Page, Query, SortKey, Table, TableError, TxOp,
    Update,
};
pub use transaction::Transaction;
