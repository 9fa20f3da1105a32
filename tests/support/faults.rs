//! Fault injection for the crash suite: a [`Gate`] for [`Faulty`] ports (the store, blobs,
//! mailer, SMS and events) under which a run "dies" at its N-th write or outward call, for
//! every N of a whole run.
//!
//! Every write (`put`, `update`, `delete`, `transact`, `transact_each`, `batch_put`,
//! `batch_delete`, `sync`, a blob `put`/`put_file`/`delete`) and every outward call (an e-mail,
//! a text, a batch of events) counts as one step. At step N the process dies: either before the
//! step (nothing of it happens) or, for the provider-call window, after it (it happened, but the
//! run never hears so). From then on every call fails, reads included, as a dead process makes
//! none. A test then runs the same work again over healthy ports and compares what users would
//! see with an uninterrupted run.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use clientwatch::ports::Blobs;

use crate::faulty::{Call, Effect, Faulty, Gate, Injected, Verdict};

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
}

/// Every failure after a death.
const DIED: Injected = Injected("the process died (injected)");

impl Gate for Faults {
    fn enter(&self, call: &Call<'_>) -> Verdict {
        let kind = match call.effect() {
            // Not a step; but a dead process makes no call.
            Effect::Read if self.died() => return Verdict::Fail(DIED),
            Effect::Read => return Verdict::Go,
            Effect::Write => StepKind::Write,
            Effect::Provider => StepKind::Provider,
        };
        match self.step(kind, call.describe()) {
            Go::Live => Verdict::Go,
            Go::ThenDie => Verdict::ThenFail(DIED),
            Go::Dead => Verdict::Fail(DIED),
        }
    }

    fn carried_out(&self) {
        self.die();
    }
}

/// `services` with every port wrapped by `faults`.
pub fn faulty(services: &clientwatch::Services, faults: &Arc<Faults>) -> clientwatch::Services {
    let mut svc = services.clone();
    svc.table = Arc::new(Faulty::new(services.table.clone(), faults.clone()));
    svc.mailer = Arc::new(Faulty::new(services.mailer.clone(), faults.clone()));
    svc.sms = Arc::new(Faulty::new(services.sms.clone(), faults.clone()));
    svc.events = Arc::new(Faulty::new(services.events.clone(), faults.clone()));
    svc
}

/// `blobs` wrapped by `faults`.
pub fn faulty_blobs(blobs: &Arc<dyn Blobs>, faults: &Arc<Faults>) -> Arc<dyn Blobs> {
    Arc::new(Faulty::new(blobs.clone(), faults.clone()))
}
