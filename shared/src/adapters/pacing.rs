//! The providers' send rates, kept by every worker together in the table: the
//! [`SendBudget`] of the communications run.
//!
//! SES and SNS each take so many messages a second from an account (SES's `MaxSendRate`: 14
//! for a new account, a few hundred for established senders); above that they refuse with a
//! throttling error. The communications run sends from up to 16 workers at once (Lambda
//! invocations, or shards side by side in one process), so no worker can pace itself alone:
//! the budget is kept in the table, one counter item per provider and second
//! (`PACE#{provider}` / the second, expiring two minutes later), raised by a conditional
//! increment that only succeeds while the second's count stays within the rate. Every worker's
//! sends in one second together are therefore never more than the rate, whatever the workers
//! do at the same moment: the store, not the workers, says no.
//!
//! A worker takes its sends in small blocks ([`block`]: an eighth of the rate, 1 to 25), so the
//! budget costs one request per block, not per message; a block is good only in the second it
//! was granted (a send held over would count in a second that may be full), and what is left
//! of it when the second ends is dropped: a worker may use fewer than the rate, never more.
//! When a second's budget is spent, the worker waits for the next second through the clock
//! (`Clock::sleep_until`), so tests move their clock instead of sleeping.
//!
//! A rate that is not configured is not paced (no request, no wait): locally, unless told.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::keys;
use crate::ports::{
    Clock, Condition, Granted, Provider, Rates, SendBudget, Table, TableError, Update,
};

/// Sends a worker asks for at once under `rate`: an eighth of it, at least 1 and at most 25. A
/// block of b costs 1/b request a message; small enough that 8 workers asking at once share a
/// second's budget, and a worker that stops mid-second leaves little of it unused.
pub fn block(rate: u32) -> u32 {
    (rate / 8).clamp(1, 25)
}

/// The conditional increment that grants `want` sends in a second's counter under `rate`: it
/// adds `want` only while the count is at most `rate - want`, so the count never passes the
/// rate, and it refuses only when `want` more would pass it. More than the rate itself is
/// never granted (`None`: the condition could not say so, as an absent count passes it).
pub fn grant(rate: u32, want: u32) -> Option<Update> {
    (want <= rate).then(|| {
        Update::default()
            .add(COUNT, i64::from(want))
            .when(Condition::Below(
                COUNT.into(),
                i64::from(rate) - i64::from(want) + 1,
            ))
    })
}

const COUNT: &str = "n";
/// A second's counter outlives the second by this much, then expires.
const KEEP_WINDOW_SECS: i64 = 120;

#[derive(Clone, Copy, Debug, Default)]
struct Held {
    second: i64,
    left: u32,
}

fn slot(provider: Provider) -> usize {
    match provider {
        Provider::Email => 0,
        Provider::Sms => 1,
    }
}

/// The send-rate budget kept in the table, as one process draws on it: the rates, and the
/// sends of its current blocks not yet made (per provider).
pub struct TableBudget {
    table: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
    rates: Rates,
    held: Mutex<[Held; 2]>,
}

impl TableBudget {
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>, rates: Rates) -> Self {
        Self {
            table,
            clock,
            rates,
            held: Mutex::new([Held::default(); 2]),
        }
    }

    fn use_held(&self, provider: Provider, second: i64) -> bool {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let h = &mut held[slot(provider)];
        if h.second == second && h.left > 0 {
            h.left -= 1;
            true
        } else {
            false
        }
    }

    fn hold(&self, provider: Provider, second: i64, more: u32) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let h = &mut held[slot(provider)];
        if h.second == second {
            h.left += more;
        } else {
            *h = Held { second, left: more };
        }
    }
}

#[async_trait::async_trait]
impl SendBudget for TableBudget {
    fn rates(&self) -> Rates {
        self.rates
    }

    async fn take(&self, provider: Provider) -> Result<Granted, TableError> {
        let Some(rate) = self.rates.of(provider) else {
            return Ok(None);
        };
        loop {
            let second = self.clock.now().timestamp();
            if self.use_held(provider, second) {
                return Ok(Some(second));
            }
            let key = keys::send_window(provider.name(), second);
            let mut want = block(rate);
            while let Some(update) = grant(rate, want) {
                let update = update.expire_at(second + KEEP_WINDOW_SECS);
                match self.table.update(&key, update).await {
                    Ok(_) => {
                        self.hold(provider, second, want - 1);
                        return Ok(Some(second));
                    }
                    // Less than a block left: one is still worth asking for.
                    Err(TableError::ConditionFailed(_)) if want > 1 => want = 1,
                    Err(TableError::ConditionFailed(_)) => break,
                    Err(e) => return Err(e),
                }
            }
            // This second is spent by the workers together: wait for the next.
            self.clock.sleep_until(start_of(second + 1)).await;
        }
    }

    fn give_back(&self, provider: Provider, granted: Granted) {
        let Some(second) = granted else { return };
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let h = &mut held[slot(provider)];
        if h.second == second {
            h.left += 1;
        }
    }

    fn drop_held(&self, provider: Provider) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held[slot(provider)] = Held::default();
    }
}

fn start_of(second: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(second, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{Item, Key};

    #[test]
    fn a_block_is_an_eighth_of_the_rate_between_one_and_twenty_five() {
        #[rustfmt::skip]
        let table: &[(&str, u32, u32)] = &[
            // (reason, rate, block)
            ("one a second: one at a time", 1, 1),
            ("a new SES account's 14: one at a time", 14, 1),
            ("16 a second: two", 16, 2),
            ("200 a second: 25", 200, 25),
            ("a large quota: still 25", 5_000, 25),
        ];
        for (reason, rate, expected) in table {
            assert_eq!(block(*rate), *expected, "{reason}");
        }
    }

    fn window(n: Option<i64>) -> Option<Item> {
        n.map(|n| {
            let mut data = serde_json::Map::new();
            data.insert(COUNT.into(), n.into());
            Item::new(Key::new("PACE#email", "1"), data)
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Whatever workers ask for, in whatever order, the grants of one second never pass
        /// the rate, and a request is refused only when it would pass it.
        #[test]
        fn grants_in_a_second_never_pass_the_rate(
            rate in 1u32..300,
            wants in proptest::collection::vec(1u32..40, 1..200),
        ) {
            let key = Key::new("PACE#email", "1");
            let mut current: Option<Item> = None;
            for want in wants {
                let count = current
                    .as_ref()
                    .and_then(|i| i.data.get(COUNT))
                    .and_then(|n| n.as_i64())
                    .unwrap_or(0);
                let granted = grant(rate, want)
                    .filter(|update| update.condition().holds(current.as_ref()));
                if let Some(update) = granted {
                    current = Some(update.apply(&key, current.as_ref()));
                } else {
                    proptest::prop_assert!(
                        count + i64::from(want) > i64::from(rate),
                        "refused {want} with {count} of {rate} taken"
                    );
                }
                let after = current
                    .as_ref()
                    .and_then(|i| i.data.get(COUNT))
                    .and_then(|n| n.as_i64())
                    .unwrap_or(0);
                proptest::prop_assert!(after <= i64::from(rate), "{after} granted of {rate}");
            }
        }

        /// The boundary itself: a count `taken` (any, even one above the rate left by an older
        /// rate) grants `want` exactly when the sum stays within the rate.
        #[test]
        fn a_grant_holds_exactly_when_it_fits(
            rate in 1u32..500,
            taken in proptest::option::of(0i64..600),
            want in 1u32..30,
        ) {
            let fits = taken.unwrap_or(0) + i64::from(want) <= i64::from(rate);
            let holds = grant(rate, want).is_some_and(|u| u.condition().holds(window(taken).as_ref()));
            proptest::prop_assert_eq!(holds, fits);
        }
    }
}
