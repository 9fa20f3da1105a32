//! The account portal's personal links and each contact's portal access.
//!
//! A link is 256 random bits; only its SHA-256 is stored ([`AccountLink`], addressed by the
//! hash), with whose it is, the generation it belongs to, the contact's e-mail address when it
//! was issued, and when it stops working (the tenant's `portal.link_days` after issue; the item
//! itself is removed by the store's TTL [`KEEP_DAYS`] later). Many links may be live for one
//! contact (each e-mail carries its own). A contact's [`ContactAccess`] holds the current
//! generation, the code state and the lock: a new generation ("replace") ends every earlier link
//! and session at once, and opens a locked access again.
//!
//! This lives below the features so that the communications run can mint a link per contact
//! for `{{portal_link}}` without knowing the account portal.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::code::CodeState;
use super::secret::token_hash;
use crate::Services;
use crate::domain::{Error, Result};
use crate::keys;
use crate::ports::{Condition, Item, Key, Transaction, TxOp};

/// How long a link's record is kept after it stopped working, so that opening it says
/// "expired" rather than "not valid".
pub const KEEP_DAYS: i64 = 30;

/// Whose a link or an access is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub tenant_id: String,
    pub client_id: String,
    pub contact_id: String,
}

/// Where a link leads: stored under the token's hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLink {
    #[serde(flatten)]
    pub holder: Holder,
    pub generation: u32,
    /// The contact's e-mail address when the link was issued: a change ends the link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub issued_at: DateTime<Utc>,
    #[serde(rename = "link_expires_at")]
    pub expires_at: DateTime<Utc>,
}

/// A contact's portal access. Absent until a code is first asked for or a link replaced: an
/// absent access is generation 1, unlocked, with no codes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactAccess {
    #[serde(flatten)]
    pub holder: Holder,
    pub generation: u32,
    #[serde(flatten)]
    pub codes: CodeState,
    /// Too many wrong codes: closed until a new generation.
    #[serde(default)]
    pub locked: bool,
    /// The stored version (0: not stored yet).
    #[serde(skip)]
    pub version: u64,
}

impl Holder {
    pub fn access_key(&self) -> Key {
        keys::portal_access(&self.tenant_id, &self.client_id, &self.contact_id)
    }
}

impl ContactAccess {
    pub fn first(holder: &Holder) -> Self {
        Self {
            holder: holder.clone(),
            generation: 1,
            codes: CodeState::default(),
            locked: false,
            version: 0,
        }
    }

    /// Writes `next` (this access changed) over the state read: absent, or the version read.
    pub fn replace_op(&self, next: &ContactAccess) -> Result<TxOp> {
        let item =
            Item::from_record(self.holder.access_key(), next)?.with_version(self.version + 1);
        let condition = if self.version == 0 {
            Condition::Absent
        } else {
            Condition::VersionIs(self.version)
        };
        Ok(TxOp::Put(item, condition))
    }
}

/// The contact's access as stored, or the first one.
pub async fn access(svc: &Services, holder: &Holder) -> Result<ContactAccess> {
    match svc.table.get(&holder.access_key()).await? {
        Some(item) => {
            let mut access: ContactAccess = item.record()?;
            access.version = item.version;
            Ok(access)
        }
        None => Ok(ContactAccess::first(holder)),
    }
}

/// The link a token leads to, if one was issued (expired or not).
pub async fn by_token(svc: &Services, token: &str) -> Result<Option<AccountLink>> {
    if !super::secret::looks_like_token(token) {
        return Ok(None);
    }
    match svc
        .table
        .get(&keys::account_link(&token_hash(token)))
        .await?
    {
        Some(item) => Ok(Some(item.record()?)),
        None => Ok(None),
    }
}

/// A link just issued: the token exists only here and in the URL.
#[derive(Clone, Debug)]
pub struct Minted {
    pub link: String,
    pub expires_at: DateTime<Utc>,
    pub generation: u32,
}

/// The portal URL of a token.
pub fn url(svc: &Services, token: &str) -> String {
    format!("{}/a/{token}", svc.portal_url.trim_end_matches('/'))
}

/// Issues a new link for a contact whose e-mail address is now `email`, working for
/// `link_days`. With `replace`, the contact's generation goes up first, in the same transaction:
/// every earlier link and session ends, and a lock is lifted.
pub async fn mint(
    svc: &Services,
    holder: &Holder,
    email: Option<&str>,
    link_days: u32,
    replace: bool,
) -> Result<Minted> {
    let now = svc.clock.now();
    let token = svc.ids.token();
    let expires_at = now + Duration::days(i64::from(link_days));
    let current = access(svc, holder).await?;
    let generation = if replace {
        current.generation + 1
    } else {
        current.generation
    };
    let link = AccountLink {
        holder: holder.clone(),
        generation,
        email: email.map(str::to_owned),
        issued_at: now,
        expires_at,
    };
    let item = Item::from_record(keys::account_link(&token_hash(&token)), &link)?
        .with_expiry((expires_at + Duration::days(KEEP_DAYS)).timestamp());
    let mut tx = Transaction::new();
    if replace {
        let next = ContactAccess {
            generation,
            codes: CodeState::default(),
            locked: false,
            ..current.clone()
        };
        tx.op(current.replace_op(&next)?);
    }
    tx.op(TxOp::Put(item, Condition::Absent))
        .otherwise(Error::Conflict(
            "the contact's portal access changed at the same moment; send the request again".into(),
        ));
    tx.commit(svc.table.as_ref()).await?;
    Ok(Minted {
        link: url(svc, &token),
        expires_at,
        generation,
    })
}
