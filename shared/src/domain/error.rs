//! The domain's error: what went wrong in terms a caller can act on. The API maps each variant
//! to one problem type; the store's own failures stay wrapped, their cause kept for the logs.

use crate::ports::TableError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing asked for does not exist (or is not the caller's to see).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A field of the input is wrong; `field` names it as the caller wrote it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The request cannot be done in the current state (a limit, a duplicate, a lost race).
    #[error("{0}")]
    Conflict(String),
    /// The resource changed since the caller read it (its version is not the one they saw).
    #[error("the {0} has changed since it was read")]
    Stale(&'static str),
    #[error(transparent)]
    Store(#[from] TableError),
    /// Another outside service (blob store, mail, events) failed; a retry may succeed. The
    /// cause is kept for the logs.
    #[error("the {0} failed")]
    Unavailable(
        &'static str,
        #[source] Box<dyn std::error::Error + Send + Sync>,
    ),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `value` trimmed, if it is 1 to `max` characters of text its field may hold (no control
/// characters or bidi overrides, no line breaks unless the field is multi-line: see
/// [`super::input`]); otherwise an error naming `field`.
pub fn text(field: impl Into<String>, value: &str, max: usize) -> Result<String> {
    let field = field.into();
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    super::input::characters(field, value)?;

    Ok(value.to_owned())
}
