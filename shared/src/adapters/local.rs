//! Local wiring: the embedded store and the outbox in one data folder, for the one-process mode
//! (`clientwatch-local`) and for tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::embedded::EmbeddedTable;
use super::outbox::{Outbox, OutboxMailer};
use crate::Services;
use crate::domain::EmailAddress;
use crate::ports::{Clock, Ids, TableError, Unpaced};

pub const STORE_FILE: &str = "clientwatch.redb";
pub const OUTBOX_DIR: &str = "outbox";

/// Where a local run keeps its things.
pub struct LocalPaths {
    pub store: PathBuf,
    pub outbox: PathBuf,
}

impl LocalPaths {
    pub fn under(data_dir: &Path) -> Self {
        Self {
            store: data_dir.join(STORE_FILE),
            outbox: data_dir.join(OUTBOX_DIR),
        }
    }
}

/// Where the local process serves the Customer Centre unless told otherwise.
pub const DEFAULT_PORTAL_URL: &str = "http://127.0.0.1:3000";

/// Every port on its local adapter: the embedded store, and the outbox for e-mail, texts and
/// events.
pub fn services(
    data_dir: &Path,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn Ids>,
) -> Result<Services, TableError> {
    std::fs::create_dir_all(data_dir).map_err(TableError::unavailable)?;
    let paths = LocalPaths::under(data_dir);
    let table = Arc::new(EmbeddedTable::open(&paths.store, clock.clone())?);
    let outbox = Outbox::new(paths.outbox, clock.clone(), ids.clone());
    let from = EmailAddress::parse("clientwatch@localhost.localdomain").expect("a valid address");
    let services = Services {
        table,
        mailer: Arc::new(OutboxMailer {
            outbox: outbox.clone(),
            from,
        }),
        sms: Arc::new(outbox.clone()),
        events: Arc::new(outbox),
        clock,
        ids,
        budget: Arc::new(Unpaced),
        phone_region: "NZ".into(),
        portal_url: DEFAULT_PORTAL_URL.into(),
    };
    Ok(services)
}
