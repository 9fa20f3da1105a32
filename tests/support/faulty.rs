//! A fault-injecting wrapper for any port: [`Faulty`] lets every call of the `Table`, `Blobs`,
//! `Mailer`, `Sms`, `Events` and `WebhookClient` traits through one [`Gate`], which sees what the call is and
//! says whether it happens, fails, or happens and then fails (as a process killed before it
//! hears the answer). A test writes the gate (the crash suite's is `faults::Faults`); the
//! forwarding is written once, here.
//!
//! No call may slip past the gate by way of a trait's default method (which would call the
//! inner port's siblings, or not reach the inner port's own version): every impl here writes
//! out every method, provided ones included, and `#[deny(clippy::missing_trait_methods)]` on
//! each makes a method added to a trait fail `make lint` (clippy, `-D warnings`) until it is
//! handled here; a new method without a body fails to compile anyway.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use clientwatch::domain::PhoneNumber;
use clientwatch::ports::{
    BlobError, BlobReader, Blobs, Condition, DeliveryError, DomainEvent, Email, Events, Item, Key,
    Mailer, Page, PublishError, Query, Sms, Table, TableError, TxOp, Update,
};
use clientwatch::ports::{HttpAnswer, HttpFailure, WebhookClient};

/// One call to a wrapped port, as its gate sees it.
pub enum Call<'a> {
    // Table
    Get(&'a Key),
    Put(&'a Item),
    Update(&'a Key),
    Delete(&'a Key),
    Query(&'a Query),
    QueryAll(&'a Query),
    Transact(&'a [TxOp]),
    TransactEach(&'a [Vec<TxOp>]),
    Sync,
    BatchGet(&'a [Key]),
    BatchPut(&'a [Item]),
    BatchDelete(&'a [Key]),
    // Blobs
    List(&'a str),
    Open(&'a str),
    ReadRange(&'a str),
    PutFile(&'a str, &'a Path),
    PutBlob(&'a str),
    DeleteBlob(&'a str),
    // Mailer, Sms, Events
    Email(&'a Email),
    Text(&'a PhoneNumber),
    Publish(&'a [DomainEvent]),
    // WebhookClient
    Post(&'a str),
}

/// What a call does to the world outside the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Nothing: a read.
    Read,
    /// A write to a store.
    Write,
    /// A call to a provider (e-mail, SMS, events): the window whose outcome a kill leaves
    /// unknown.
    Provider,
}

impl Call<'_> {
    /// The trait method called, as `Trait::method`.
    pub fn method(&self) -> &'static str {
        match self {
            Call::Get(_) => "Table::get",
            Call::Put(_) => "Table::put",
            Call::Update(_) => "Table::update",
            Call::Delete(_) => "Table::delete",
            Call::Query(_) => "Table::query",
            Call::QueryAll(_) => "Table::query_all",
            Call::Transact(_) => "Table::transact",
            Call::TransactEach(_) => "Table::transact_each",
            Call::Sync => "Table::sync",
            Call::BatchGet(_) => "Table::batch_get",
            Call::BatchPut(_) => "Table::batch_put",
            Call::BatchDelete(_) => "Table::batch_delete",
            Call::List(_) => "Blobs::list",
            Call::Open(_) => "Blobs::open",
            Call::ReadRange(_) => "Blobs::read_range",
            Call::PutFile(..) => "Blobs::put_file",
            Call::PutBlob(_) => "Blobs::put",
            Call::DeleteBlob(_) => "Blobs::delete",
            Call::Email(_) => "Mailer::send",
            Call::Text(_) => "Sms::send",
            Call::Publish(_) => "Events::publish",
            Call::Post(_) => "WebhookClient::post",
        }
    }

    pub fn effect(&self) -> Effect {
        match self {
            Call::Get(_)
            | Call::Query(_)
            | Call::QueryAll(_)
            | Call::BatchGet(_)
            | Call::List(_)
            | Call::Open(_)
            | Call::ReadRange(_) => Effect::Read,
            Call::Put(_)
            | Call::Update(_)
            | Call::Delete(_)
            | Call::Transact(_)
            | Call::TransactEach(_)
            | Call::Sync
            | Call::BatchPut(_)
            | Call::BatchDelete(_)
            | Call::PutFile(..)
            | Call::PutBlob(_)
            | Call::DeleteBlob(_) => Effect::Write,
            Call::Email(_) | Call::Text(_) | Call::Publish(_) | Call::Post(_) => Effect::Provider,
        }
    }

    /// The table items the call names (a transaction's checks included).
    pub fn keys(&self) -> Vec<&Key> {
        match self {
            Call::Get(key) | Call::Update(key) | Call::Delete(key) => vec![key],
            Call::Put(item) => vec![&item.key],
            Call::Transact(ops) => ops.iter().map(TxOp::key).collect(),
            Call::TransactEach(transactions) => {
                transactions.iter().flatten().map(TxOp::key).collect()
            }
            Call::BatchGet(keys) | Call::BatchDelete(keys) => keys.iter().collect(),
            Call::BatchPut(items) => items.iter().map(|item| &item.key).collect(),
            _ => Vec::new(),
        }
    }

    /// What the call is, in a few words: its method and, for a write, the kinds of items it
    /// touches (the first `#`-part of their sort keys) or its number of items.
    pub fn describe(&self) -> String {
        let kinds = |keys: &[&Key]| {
            keys.iter()
                .map(|key| sk_kind(key))
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            Call::Get(key) => format!("get {}", sk_kind(key)),
            Call::Put(item) => format!("put {}", sk_kind(&item.key)),
            Call::Update(key) => format!("update {}", sk_kind(key)),
            Call::Delete(key) => format!("delete {}", sk_kind(key)),
            Call::Query(query) => format!("query {}", query.pk),
            Call::QueryAll(query) => format!("query_all {}", query.pk),
            Call::Transact(_) => format!("transact {}", kinds(&self.keys())),
            Call::TransactEach(transactions) => format!("transact_each x{}", transactions.len()),
            Call::Sync => "sync".to_owned(),
            Call::BatchGet(keys) => format!("batch_get x{}", keys.len()),
            Call::BatchPut(items) => format!("batch_put x{}", items.len()),
            Call::BatchDelete(keys) => format!("batch_delete x{}", keys.len()),
            Call::List(prefix) => format!("blob list {prefix}"),
            Call::Open(key) => format!("blob open {key}"),
            Call::ReadRange(key) => format!("blob read_range {key}"),
            Call::PutFile(key, _) | Call::PutBlob(key) => format!("blob put {key}"),
            Call::DeleteBlob(key) => format!("blob delete {key}"),
            Call::Email(email) => format!("e-mail {}", email.subject),
            Call::Text(_) => "sms".to_owned(),
            Call::Publish(events) => format!("events x{}", events.len()),
            Call::Post(_) => "webhook post".to_owned(),
        }
    }
}

fn sk_kind(key: &Key) -> String {
    key.sk.split('#').next().unwrap_or_default().to_owned()
}

/// What the gate lets a call do.
pub enum Verdict {
    /// Carry the call out and answer.
    Go,
    /// Fail without carrying it out.
    Fail(Injected),
    /// Carry it out, tell the gate ([`Gate::carried_out`]), then fail without its answer.
    ThenFail(Injected),
}

/// Decides the fate of each call to the ports it guards.
pub trait Gate: Send + Sync {
    fn enter(&self, call: &Call<'_>) -> Verdict;

    /// A call let through by [`Verdict::ThenFail`] has been carried out.
    fn carried_out(&self) {}
}

/// The error an injected failure carries, as the port's own error's cause (a `TableError` is
/// `Invalid` with this text).
#[derive(Clone, Copy, Debug, thiserror::Error)]
#[error("{0}")]
pub struct Injected(pub &'static str);

/// `inner`, every call of which goes through `gate`.
pub struct Faulty<P: ?Sized> {
    inner: Arc<P>,
    gate: Arc<dyn Gate>,
}

impl<P: ?Sized> Faulty<P> {
    pub fn new(inner: Arc<P>, gate: Arc<dyn Gate>) -> Self {
        Self { inner, gate }
    }

    /// Runs `op`, the inner port's call, as `verdict` says; `refused` is the port's answer to
    /// an injected failure. `op` is a future not yet polled: a failed call never starts.
    async fn pass<T, E>(
        &self,
        verdict: Verdict,
        op: impl Future<Output = Result<T, E>>,
        refused: impl FnOnce(Injected) -> E,
    ) -> Result<T, E> {
        match verdict {
            Verdict::Go => op.await,
            Verdict::Fail(why) => Err(refused(why)),
            Verdict::ThenFail(why) => {
                let _ = op.await;
                self.gate.carried_out();
                Err(refused(why))
            }
        }
    }
}

fn table_refused(why: Injected) -> TableError {
    TableError::Invalid(why.0.into())
}

fn blob_refused(why: Injected) -> BlobError {
    BlobError::unavailable(why)
}

fn delivery_refused(why: Injected) -> DeliveryError {
    DeliveryError::Unavailable(Box::new(why))
}

#[deny(clippy::missing_trait_methods)]
#[async_trait::async_trait]
impl<P: Table + ?Sized> Table for Faulty<P> {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        let verdict = self.gate.enter(&Call::Get(key));
        self.pass(verdict, self.inner.get(key), table_refused).await
    }
    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        let verdict = self.gate.enter(&Call::Put(&item));
        self.pass(verdict, self.inner.put(item, condition), table_refused)
            .await
    }
    async fn update(&self, key: &Key, update: Update) -> Result<Item, TableError> {
        let verdict = self.gate.enter(&Call::Update(key));
        self.pass(verdict, self.inner.update(key, update), table_refused)
            .await
    }
    async fn delete(&self, key: &Key, condition: Condition) -> Result<Option<Item>, TableError> {
        let verdict = self.gate.enter(&Call::Delete(key));
        self.pass(verdict, self.inner.delete(key, condition), table_refused)
            .await
    }
    async fn query(&self, query: Query) -> Result<Page, TableError> {
        let verdict = self.gate.enter(&Call::Query(&query));
        self.pass(verdict, self.inner.query(query), table_refused)
            .await
    }
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        let verdict = self.gate.enter(&Call::Transact(&ops));
        self.pass(verdict, self.inner.transact(ops), table_refused)
            .await
    }
    async fn transact_each(
        &self,
        transactions: Vec<Vec<TxOp>>,
    ) -> Result<Vec<Result<(), TableError>>, TableError> {
        let verdict = self.gate.enter(&Call::TransactEach(&transactions));
        self.pass(
            verdict,
            self.inner.transact_each(transactions),
            table_refused,
        )
        .await
    }
    async fn sync(&self) -> Result<(), TableError> {
        let verdict = self.gate.enter(&Call::Sync);
        self.pass(verdict, self.inner.sync(), table_refused).await
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, TableError> {
        let verdict = self.gate.enter(&Call::BatchGet(keys));
        self.pass(verdict, self.inner.batch_get(keys), table_refused)
            .await
    }
    async fn batch_put(&self, items: Vec<Item>) -> Result<(), TableError> {
        let verdict = self.gate.enter(&Call::BatchPut(&items));
        self.pass(verdict, self.inner.batch_put(items), table_refused)
            .await
    }
    async fn batch_delete(&self, keys: Vec<Key>) -> Result<(), TableError> {
        let verdict = self.gate.enter(&Call::BatchDelete(&keys));
        self.pass(verdict, self.inner.batch_delete(keys), table_refused)
            .await
    }
    async fn query_all(&self, query: Query) -> Result<Vec<Item>, TableError> {
        let verdict = self.gate.enter(&Call::QueryAll(&query));
        self.pass(verdict, self.inner.query_all(query), table_refused)
            .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait::async_trait]
impl<P: Blobs + ?Sized> Blobs for Faulty<P> {
    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        let verdict = self.gate.enter(&Call::List(prefix));
        self.pass(verdict, self.inner.list(prefix), blob_refused)
            .await
    }
    async fn open(&self, key: &str) -> Result<Option<BlobReader>, BlobError> {
        let verdict = self.gate.enter(&Call::Open(key));
        self.pass(verdict, self.inner.open(key), blob_refused).await
    }
    async fn read_range(
        &self,
        key: &str,
        start: u64,
        end: u64,
    ) -> Result<Option<Vec<u8>>, BlobError> {
        let verdict = self.gate.enter(&Call::ReadRange(key));
        self.pass(
            verdict,
            self.inner.read_range(key, start, end),
            blob_refused,
        )
        .await
    }
    async fn put_file(&self, key: &str, path: &Path) -> Result<(), BlobError> {
        let verdict = self.gate.enter(&Call::PutFile(key, path));
        self.pass(verdict, self.inner.put_file(key, path), blob_refused)
            .await
    }
    async fn put_scratch(&self, key: &str, scratch: tempfile::TempPath) -> Result<(), BlobError> {
        // The same write as `put_file`, faulted the same way.
        let verdict = self.gate.enter(&Call::PutFile(key, &scratch));
        self.pass(verdict, self.inner.put_scratch(key, scratch), blob_refused)
            .await
    }
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        let verdict = self.gate.enter(&Call::PutBlob(key));
        self.pass(verdict, self.inner.put(key, bytes), blob_refused)
            .await
    }
    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let verdict = self.gate.enter(&Call::DeleteBlob(key));
        self.pass(verdict, self.inner.delete(key), blob_refused)
            .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait::async_trait]
impl<P: Mailer + ?Sized> Mailer for Faulty<P> {
    async fn send(&self, email: &Email) -> Result<String, DeliveryError> {
        let verdict = self.gate.enter(&Call::Email(email));
        self.pass(verdict, self.inner.send(email), delivery_refused)
            .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait::async_trait]
impl<P: Sms + ?Sized> Sms for Faulty<P> {
    async fn send(&self, to: &PhoneNumber, body: &str) -> Result<String, DeliveryError> {
        let verdict = self.gate.enter(&Call::Text(to));
        self.pass(verdict, self.inner.send(to, body), delivery_refused)
            .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait::async_trait]
impl<P: Events + ?Sized> Events for Faulty<P> {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), PublishError> {
        let verdict = self.gate.enter(&Call::Publish(events));
        // No event of the batch is accepted.
        let refused = |why: Injected| PublishError {
            total: events.len(),
            failed: (0..events.len())
                .map(|i| (i, "Injected".to_owned(), why.to_string()))
                .collect(),
        };
        self.pass(verdict, self.inner.publish(events), refused)
            .await
    }
}

#[deny(clippy::missing_trait_methods)]
#[async_trait::async_trait]
impl<P: WebhookClient + ?Sized> WebhookClient for Faulty<P> {
    async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<HttpAnswer, HttpFailure> {
        let verdict = self.gate.enter(&Call::Post(url));
        let refused = |why: Injected| HttpFailure {
            reason: why.to_string(),
            latency: std::time::Duration::ZERO,
        };
        self.pass(verdict, self.inner.post(url, headers, body), refused)
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::{TimeZone, Utc};
    use clientwatch::adapters::embedded::EmbeddedTable;
    use clientwatch::adapters::folder::FolderBlobs;
    use clientwatch::ports::FixedClock;
    use serde_json::{Map, json};

    use super::*;

    /// Lets every call through, noting which method it was.
    #[derive(Default)]
    struct Seen(Mutex<Vec<&'static str>>);

    impl Gate for Seen {
        fn enter(&self, call: &Call<'_>) -> Verdict {
            self.0.lock().unwrap().push(call.method());
            Verdict::Go
        }
    }

    /// Accepts every message and event.
    struct Accepts;

    #[async_trait::async_trait]
    impl Mailer for Accepts {
        async fn send(&self, _: &Email) -> Result<String, DeliveryError> {
            Ok("m".into())
        }
    }

    #[async_trait::async_trait]
    impl Sms for Accepts {
        async fn send(&self, _: &PhoneNumber, _: &str) -> Result<String, DeliveryError> {
            Ok("s".into())
        }
    }

    #[async_trait::async_trait]
    impl Events for Accepts {
        async fn publish(&self, _: &[DomainEvent]) -> Result<(), PublishError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn every_method_of_a_wrapped_port_asks_the_gate_under_its_own_name_and_reaches_the_port()
    {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
        let clock = Arc::new(FixedClock::at(now));
        let seen = Arc::new(Seen::default());
        let table = Faulty::new(
            Arc::new(EmbeddedTable::open(&dir.path().join("store.redb"), clock).unwrap()),
            seen.clone(),
        );
        let blobs = Faulty::new(
            Arc::new(FolderBlobs::new(dir.path().join("blobs"))),
            seen.clone(),
        );
        let accepts = Faulty::new(Arc::new(Accepts), seen.clone());

        let key = |sk: &str| Key::new("P", sk);
        let item = |sk: &str| Item::new(key(sk), Map::new());
        table.put(item("A"), Condition::None).await.unwrap();
        table.get(&key("A")).await.unwrap().unwrap();
        table
            .update(&key("A"), Update::default().set("n", 1))
            .await
            .unwrap();
        table
            .delete(&key("A"), Condition::None)
            .await
            .unwrap()
            .unwrap();
        table
            .transact(vec![TxOp::Put(item("B"), Condition::None)])
            .await
            .unwrap();
        table
            .transact_each(vec![vec![TxOp::Put(item("C"), Condition::None)]])
            .await
            .unwrap();
        table.sync().await.unwrap();
        table.batch_put(vec![item("D")]).await.unwrap();
        assert_eq!(table.batch_get(&[key("D")]).await.unwrap().len(), 1);
        assert_eq!(
            table
                .query(Query::partition("P"))
                .await
                .unwrap()
                .items
                .len(),
            3
        );
        table.batch_delete(vec![key("D")]).await.unwrap();
        assert_eq!(
            table.query_all(Query::partition("P")).await.unwrap().len(),
            2
        );

        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        blobs.put("a/b", b"y".to_vec()).await.unwrap();
        blobs.put_file("a/c", &file).await.unwrap();
        assert_eq!(blobs.list("a/").await.unwrap(), ["a/b", "a/c"]);
        assert!(blobs.open("a/b").await.unwrap().is_some());
        blobs.delete("a/b").await.unwrap();

        let email = Email {
            to: Vec::new(),
            reply_to: None,
            subject: "s".into(),
            html: String::new(),
            text: String::new(),
            tags: Vec::new(),
        };
        Mailer::send(&accepts, &email).await.unwrap();
        let mobile = PhoneNumber::parse("+64211234567", "NZ").unwrap();
        Sms::send(&accepts, &mobile, "t").await.unwrap();
        let event = DomainEvent::new("Seen", json!({}), now);
        accepts.publish(&[event]).await.unwrap();

        assert_eq!(
            *seen.0.lock().unwrap(),
            [
                "Table::put",
                "Table::get",
                "Table::update",
                "Table::delete",
                "Table::transact",
                "Table::transact_each",
                "Table::sync",
                "Table::batch_put",
                "Table::batch_get",
                "Table::query",
                "Table::batch_delete",
                "Table::query_all",
                "Blobs::put",
                "Blobs::put_file",
                "Blobs::list",
                "Blobs::open",
                "Blobs::delete",
                "Mailer::send",
                "Sms::send",
                "Events::publish",
            ]
        );
    }
}
