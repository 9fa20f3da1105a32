//! Fault injection: the store, blob, mailer, SMS and events ports wrapped so that a run "dies"
//! at its N-th write or outward call, for every N of a whole run.
//!
//! Every write (`put`, `update`, `delete`, `transact`, `transact_each`, `batch_put`,
//! `batch_delete`, `sync`, a blob `put`/`put_file`/`delete`) and every outward call (an e-mail,
//! a text, a batch of events) counts as one step. At step N the process dies: either before the
//! step (nothing of it happens) or, for the provider-call window, after it (it happened, but the
//! run never hears so). From then on every call fails, reads included, as a dead process makes
//! none. A test then runs the same work again over healthy ports and compares what users would
//! see with an uninterrupted run.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use clientwatch::domain::PhoneNumber;
use clientwatch::ports::{
    BlobError, BlobReader, Blobs, Condition, DeliveryError, DomainEvent, Email, Events, Item, Key,
    Mailer, Page, PublishError, Query, Sms, Table, TableError, TxOp, Update,
};

/// Where a run dies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Death {
    /// Never: counts the steps of an uninterrupted run.
    Never,
    /// Before step N: nothing of it happens.
    Before(usize),
    /// Right after step N happened, before the run hears of it.
    After(usize),
    /// Right after the N-th step whose description starts with this text (steps of parts that
    /// run side by side may come in another order from run to run; a step named is found
    /// whatever its number).
    AfterNth(&'static str, usize),
}

/// The kind of a counted step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    Write,
    /// A call to a provider (e-mail, SMS, events): the window whose outcome a kill leaves
    /// unknown.
    Provider,
}

/// The shared state of one run's wrapped ports.
pub struct Faults {
    death: Death,
    steps: AtomicUsize,
    /// Steps that matched `Death::AfterNth`'s text so far.
    matched: AtomicUsize,
    dead: AtomicBool,
    /// What each counted step was, in order.
    trace: Mutex<Vec<(StepKind, String)>>,
}

enum Go {
    /// Carry the step out and answer.
    Live,
    /// Carry the step out, then die without answering.
    ThenDie,
    /// Dead already (or now, before the step).
    Dead,
}

impl Faults {
    pub fn new(death: Death) -> Arc<Self> {
        Arc::new(Self {
            death,
            steps: AtomicUsize::new(0),
            matched: AtomicUsize::new(0),
            dead: AtomicBool::new(false),
            trace: Mutex::new(Vec::new()),
        })
    }

    /// Whether the run died.
    pub fn died(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// The steps counted, with what each was.
    pub fn trace(&self) -> Vec<(StepKind, String)> {
        self.trace.lock().unwrap().clone()
    }

    fn step(&self, kind: StepKind, what: impl Into<String>) -> Go {
        if self.died() {
            return Go::Dead;
        }
        let what = what.into();
        let n = self.steps.fetch_add(1, Ordering::SeqCst) + 1;
        let nth = match self.death {
            Death::AfterNth(text, _) if what.starts_with(text) => {
                self.matched.fetch_add(1, Ordering::SeqCst) + 1
            }
            _ => 0,
        };
        self.trace.lock().unwrap().push((kind, what));
        match self.death {
            Death::AfterNth(_, at) if at == nth => Go::ThenDie,
            Death::Before(at) if at == n => {
                self.dead.store(true, Ordering::SeqCst);
                Go::Dead
            }
            Death::After(at) if at == n => Go::ThenDie,
            _ => Go::Live,
        }
    }

    fn die(&self) {
        self.dead.store(true, Ordering::SeqCst);
    }

    fn read(&self) -> Result<(), TableError> {
        if self.died() { Err(dead()) } else { Ok(()) }
    }
}

fn dead() -> TableError {
    TableError::Invalid("the process died (injected)".into())
}

#[derive(Debug, thiserror::Error)]
#[error("the process died (injected)")]
struct Died;

/// Runs `op` as step `what` of `faults`.
macro_rules! step {
    ($faults:expr, $kind:expr, $what:expr, $dead:expr, $op:expr) => {
        match $faults.step($kind, $what) {
            Go::Dead => Err($dead),
            Go::Live => $op,
            Go::ThenDie => {
                let _ = $op;
                $faults.die();
                Err($dead)
            }
        }
    };
}

pub struct FaultyTable {
    pub inner: Arc<dyn Table>,
    pub faults: Arc<Faults>,
}

fn key_of(op: &TxOp) -> &Key {
    match op {
        TxOp::Put(item, _) => &item.key,
        TxOp::Update(key, _) | TxOp::Delete(key, _) | TxOp::Check(key, _) => key,
    }
}

fn sk_kind(key: &Key) -> String {
    key.sk.split('#').next().unwrap_or_default().to_owned()
}

#[async_trait::async_trait]
impl Table for FaultyTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        self.faults.read()?;
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        let what = format!("put {}", sk_kind(&item.key));
        step!(
            self.faults,
            StepKind::Write,
            what,
            dead(),
            self.inner.put(item, condition).await
        )
    }
    async fn update(&self, key: &Key, update: Update) -> Result<Item, TableError> {
        let what = format!("update {}", sk_kind(key));
        step!(
            self.faults,
            StepKind::Write,
            what,
            dead(),
            self.inner.update(key, update).await
        )
    }
    async fn delete(&self, key: &Key, condition: Condition) -> Result<Option<Item>, TableError> {
        let what = format!("delete {}", sk_kind(key));
        step!(
            self.faults,
            StepKind::Write,
            what,
            dead(),
            self.inner.delete(key, condition).await
        )
    }
    async fn query(&self, query: Query) -> Result<Page, TableError> {
        self.faults.read()?;
        self.inner.query(query).await
    }
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        let what = format!(
            "transact {}",
            ops.iter()
                .map(|op| sk_kind(key_of(op)))
                .collect::<Vec<_>>()
                .join(",")
        );
        step!(
            self.faults,
            StepKind::Write,
            what,
            dead(),
            self.inner.transact(ops).await
        )
    }
    async fn transact_each(
        &self,
        transactions: Vec<Vec<TxOp>>,
    ) -> Result<Vec<Result<(), TableError>>, TableError> {
        let what = format!("transact_each x{}", transactions.len());
        step!(
            self.faults,
            StepKind::Write,
            what,
            dead(),
            self.inner.transact_each(transactions).await
        )
    }
    async fn sync(&self) -> Result<(), TableError> {
        step!(
            self.faults,
            StepKind::Write,
            "sync",
            dead(),
            self.inner.sync().await
        )
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, TableError> {
        self.faults.read()?;
        self.inner.batch_get(keys).await
    }
    async fn batch_put(&self, items: Vec<Item>) -> Result<(), TableError> {
        let what = format!("batch_put x{}", items.len());
        step!(
            self.faults,
            StepKind::Write,
            what,
            dead(),
            self.inner.batch_put(items).await
        )
    }
    async fn batch_delete(&self, keys: Vec<Key>) -> Result<(), TableError> {
        let what = format!("batch_delete x{}", keys.len());
        step!(
            self.faults,
            StepKind::Write,
            what,
            dead(),
            self.inner.batch_delete(keys).await
        )
    }
}

pub struct FaultyBlobs {
    pub inner: Arc<dyn Blobs>,
    pub faults: Arc<Faults>,
}

fn blob_dead() -> BlobError {
    BlobError::unavailable(Died)
}

#[async_trait::async_trait]
impl Blobs for FaultyBlobs {
    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        if self.faults.died() {
            return Err(blob_dead());
        }
        self.inner.list(prefix).await
    }
    async fn open(&self, key: &str) -> Result<Option<BlobReader>, BlobError> {
        if self.faults.died() {
            return Err(blob_dead());
        }
        self.inner.open(key).await
    }
    async fn put_file(&self, key: &str, path: &Path) -> Result<(), BlobError> {
        let what = format!("blob put {key}");
        step!(
            self.faults,
            StepKind::Write,
            what,
            blob_dead(),
            self.inner.put_file(key, path).await
        )
    }
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        let what = format!("blob put {key}");
        step!(
            self.faults,
            StepKind::Write,
            what,
            blob_dead(),
            self.inner.put(key, bytes).await
        )
    }
    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let what = format!("blob delete {key}");
        step!(
            self.faults,
            StepKind::Write,
            what,
            blob_dead(),
            self.inner.delete(key).await
        )
    }
}

pub struct FaultyMailer {
    pub inner: Arc<dyn Mailer>,
    pub faults: Arc<Faults>,
}

#[async_trait::async_trait]
impl Mailer for FaultyMailer {
    async fn send(&self, email: &Email) -> Result<String, DeliveryError> {
        let what = format!("e-mail {}", email.subject);
        step!(
            self.faults,
            StepKind::Provider,
            what,
            DeliveryError::Unavailable(Box::new(Died)),
            self.inner.send(email).await
        )
    }
}

pub struct FaultySms {
    pub inner: Arc<dyn Sms>,
    pub faults: Arc<Faults>,
}

#[async_trait::async_trait]
impl Sms for FaultySms {
    async fn send(&self, to: &PhoneNumber, body: &str) -> Result<String, DeliveryError> {
        step!(
            self.faults,
            StepKind::Provider,
            "sms",
            DeliveryError::Unavailable(Box::new(Died)),
            self.inner.send(to, body).await
        )
    }
}

pub struct FaultyEvents {
    pub inner: Arc<dyn Events>,
    pub faults: Arc<Faults>,
}

#[async_trait::async_trait]
impl Events for FaultyEvents {
    async fn publish(&self, events: &[DomainEvent]) -> Result<(), PublishError> {
        let what = format!("events x{}", events.len());
        let failed = || PublishError {
            total: events.len(),
            failed: (0..events.len())
                .map(|i| {
                    (
                        i,
                        "Died".to_owned(),
                        "the process died (injected)".to_owned(),
                    )
                })
                .collect(),
        };
        step!(
            self.faults,
            StepKind::Provider,
            what,
            failed(),
            self.inner.publish(events).await
        )
    }
}

/// `services` with every port wrapped by `faults`.
pub fn faulty(services: &clientwatch::Services, faults: &Arc<Faults>) -> clientwatch::Services {
    let mut svc = services.clone();
    svc.table = Arc::new(FaultyTable {
        inner: services.table.clone(),
        faults: faults.clone(),
    });
    svc.mailer = Arc::new(FaultyMailer {
        inner: services.mailer.clone(),
        faults: faults.clone(),
    });
    svc.sms = Arc::new(FaultySms {
        inner: services.sms.clone(),
        faults: faults.clone(),
    });
    svc.events = Arc::new(FaultyEvents {
        inner: services.events.clone(),
        faults: faults.clone(),
    });
    svc
}

/// `blobs` wrapped by `faults`.
pub fn faulty_blobs(blobs: &Arc<dyn Blobs>, faults: &Arc<Faults>) -> Arc<dyn Blobs> {
    Arc::new(FaultyBlobs {
        inner: blobs.clone(),
        faults: faults.clone(),
    })
}
