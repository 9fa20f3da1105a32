//! Retrying the part of a batch a service did not process (DynamoDB's unprocessed items,
//! EventBridge's failed entries), with exponential back-off and full jitter.

use std::future::Future;
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// Calls in all, the first included.
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            attempts: 8,
            base: Duration::from_millis(50),
            cap: Duration::from_secs(2),
        }
    }
}

impl Backoff {
    /// The pause before retry number `retry` (1-based): random in [0, min(cap, base·2^retry)].
    pub fn delay(&self, retry: u32) -> Duration {
        self.delay_at(retry, rand::random::<f64>())
    }

    /// [`Backoff::delay`] with its random draw given (`random` in [0, 1]).
    pub fn delay_at(&self, retry: u32, random: f64) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << retry.min(16))
            .min(self.cap);
        ceiling.mul_f64(random.clamp(0.0, 1.0))
    }
}

/// Sends `pending` with `attempt`, which returns what it got done and what is still pending;
/// retries what is pending until nothing is or the attempts are spent. Returns everything done
/// and whatever is still pending at the end.
pub async fn drain<T, R, E, F, Fut>(
    backoff: Backoff,
    mut pending: Vec<T>,
    mut attempt: F,
) -> Result<(Vec<R>, Vec<T>), E>
where
    F: FnMut(Vec<T>) -> Fut,
    Fut: Future<Output = Result<(Vec<R>, Vec<T>), E>>,
{
    let mut done = Vec::new();
    for n in 0..backoff.attempts.max(1) {
        if pending.is_empty() {
            break;
        }
        if n > 0 {
            tokio::time::sleep(backoff.delay(n)).await;
        }
        let (got, left) = attempt(pending).await?;
        done.extend(got);
        pending = left;
    }
    Ok((done, pending))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick(attempts: u32) -> Backoff {
        Backoff {
            attempts,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
        }
    }

    #[tokio::test]
    async fn unprocessed_items_are_retried_until_all_are_done() {
        let mut calls = Vec::new();
        // The service processes only the first two items it is given each time.
        let (done, left) = drain(quick(5), (1..=5).collect(), |batch: Vec<i32>| {
            calls.push(batch.clone());
            async move {
                let (now, later) = batch.split_at(batch.len().min(2));
                Ok::<_, ()>((now.to_vec(), later.to_vec()))
            }
        })
        .await
        .unwrap();
        assert_eq!(done, vec![1, 2, 3, 4, 5]);
        assert!(left.is_empty());
        assert_eq!(calls, vec![vec![1, 2, 3, 4, 5], vec![3, 4, 5], vec![5]]);
    }

    #[tokio::test]
    async fn what_is_never_processed_is_returned_after_the_last_attempt() {
        let mut calls = 0;
        let (done, left) = drain(quick(3), vec!["stuck"], |batch: Vec<&str>| {
            calls += 1;
            async move { Ok::<(Vec<()>, _), ()>((vec![], batch)) }
        })
        .await
        .unwrap();
        assert!(done.is_empty());
        assert_eq!(left, vec!["stuck"]);
        assert_eq!(calls, 3);
    }

    #[test]
    fn delays_grow_but_never_pass_the_cap() {
        let b = Backoff::default();
        for retry in 1..40 {
            assert!(b.delay(retry) <= b.cap);
        }
    }
}
