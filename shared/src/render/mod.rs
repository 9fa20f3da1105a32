//! Everything clientwatch writes for people to read, in one place: merge tags filled into a
//! tenant's own wording, the e-mails the features send, and how amounts and dates read in them.
//!
//! It sits low: it knows only plain values and `crate::domain` types, never a feature. Comms,
//! the Customer Centre and monitoring gather their data and pass it in; what comes back is
//! ready for the mailer.
//!
//! - [`merge`]: one merge-tag engine, generic over a feature's [`merge::TagSet`].
//! - [`html`]: the escape, the page every e-mail is wrapped in, and text made paragraphs.
//! - [`display`]: money and long dates.
//! - [`mail`]: the e-mails themselves.

pub mod display;
pub mod html;
pub mod mail;
pub mod merge;

pub use display::{amount, long_date, money};
pub use html::escape;
pub use mail::Mail;
