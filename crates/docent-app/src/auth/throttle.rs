//! Throttling of logins and reset requests: attempts per key in a sliding window.
//!
//! Kept in this process's memory: with several replicas each enforces its own window, so the
//! effective limit is the configured one times the number of replicas. Moving the counters to
//! the database or Redis is the fix when that matters.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Length of the window in which failures count.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    /// Seconds to wait before `key` may try again, when it has `max` failures in the window.
    pub fn blocked_for(&self, key: &str, max: u32, now: Instant) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let times = map.get_mut(key)?;
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= max as usize {
            let oldest = *times.front()?;
            let wait = WINDOW.saturating_sub(now.duration_since(oldest));
            Some(wait.as_secs().max(1))
        } else {
            None
        }
    }

    /// How many failures `key` has in the window.
    pub fn failures(&self, key: &str, now: Instant) -> usize {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).map_or(0, |times| {
            times
                .iter()
                .filter(|t| now.duration_since(**t) < WINDOW)
                .count()
        })
    }

    pub fn record_failure(&self, key: &str, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Bound memory under a spray of distinct keys: forget entries with no recent failure.
            map.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < WINDOW)
            });
        }
        let times = map.entry(key.to_owned()).or_default();
        times.push_back(now);
        if times.len() > 1000 {
            times.pop_front();
        }
    }

    pub fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    /// Forgets every key that starts with `prefix`.
    pub fn clear_prefix(&self, prefix: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|key, _| !key.starts_with(prefix));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures_until_the_window_passes() {
        let throttle = Throttle::default();
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(throttle.blocked_for("k", 3, start), None);
            throttle.record_failure("k", start);
        }
        let wait = throttle.blocked_for("k", 3, start).expect("blocked");
        assert!(wait > 800, "{wait}");
        assert_eq!(throttle.blocked_for("other", 3, start), None);
        assert_eq!(throttle.blocked_for("k", 3, start + WINDOW), None);
        throttle.record_failure("k", start);
        throttle.clear("k");
        assert_eq!(throttle.blocked_for("k", 1, start), None);
    }
}
