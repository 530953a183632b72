//! Throttling of logins and reset requests: failures per key in a sliding window.
//!
//! Counted in the database, so that every replica behind a load balancer counts the same
//! failures (DESIGN §9: nothing in a replica's memory may be needed by another); the sweep
//! deletes failures older than the window.

use chrono::{DateTime, Duration, Utc};
use docent_store::Store;

use crate::AppError;

/// Length of the window in which failures count.
pub fn window() -> Duration {
    Duration::minutes(15)
}

/// Failures by key, read and written as of one moment.
#[derive(Clone, Copy)]
pub struct Throttle<'a> {
    store: &'a dyn Store,
    now: DateTime<Utc>,
}

impl std::fmt::Debug for Throttle<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl<'a> Throttle<'a> {
    /// The throttle as it stands at `now`.
    pub fn at(store: &'a dyn Store, now: DateTime<Utc>) -> Self {
        Throttle { store, now }
    }

    /// Seconds to wait before `key` may try again, when it has `max` failures in the window.
    pub async fn blocked_for(&self, key: &str, max: u32) -> Result<Option<u64>, AppError> {
        Ok(self.wait(&self.failures(key).await?, max))
    }

    /// The failures of one key in the window, oldest first.
    pub async fn failures(&self, key: &str) -> Result<Vec<DateTime<Utc>>, AppError> {
        Ok(self
            .store
            .throttle_failures(key, self.now - window())
            .await?)
    }

    /// Seconds to wait when `failures` (one key's, oldest first) reach `max`: until the oldest
    /// leaves the window.
    pub fn wait(&self, failures: &[DateTime<Utc>], max: u32) -> Option<u64> {
        let oldest = failures.first()?;
        if failures.len() < max as usize {
            return None;
        }
        let wait = (*oldest + window() - self.now).num_seconds().max(1);
        Some(u64::try_from(wait).unwrap_or(1))
    }

    /// Counts one failure against each of `keys`.
    pub async fn record_failure(&self, keys: &[&str]) -> Result<(), AppError> {
        Ok(self.store.record_throttle_failure(keys, self.now).await?)
    }

    /// Forgets the failures of `key`.
    pub async fn clear(&self, key: &str) -> Result<(), AppError> {
        Ok(self.store.clear_throttle(key, None).await?)
    }

    /// Forgets the failures of `key` and of every key that starts with `prefix`.
    pub async fn clear_with_prefix(&self, key: &str, prefix: &str) -> Result<(), AppError> {
        Ok(self.store.clear_throttle(key, Some(prefix)).await?)
    }
}

/// Deletes the failures that no window counts any more (the sweep's part).
pub async fn prune(store: &dyn Store, now: DateTime<Utc>) -> docent_store::Result<u64> {
    store.prune_throttle(now - window()).await
}
