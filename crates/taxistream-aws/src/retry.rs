//! Retrying with jittered exponential backoff, a bounded number of times.

use serde::Serialize;
use std::time::Duration;

/// How often and how patiently to retry what failed for a passing reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// Delay before the first retry, before jitter.
    pub base_delay: Duration,
    /// Longest delay between two attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 8 attempts, 100 ms doubling up to 5 s: about 11 s of waiting at most.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first retry): the exponential delay,
    /// capped, of which a random half is kept ("equal jitter"), so that throttled writers
    /// spread out instead of retrying in step.
    pub fn delay(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(20);
        let full = self
            .base_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        let half = full / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// True when another attempt is allowed after `attempts` made.
    pub fn may_retry(&self, attempts: u32) -> bool {
        attempts < self.max_attempts
    }
}

/// Calls and retries made by one adapter: what a run cost in requests, and what it retried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryStats {
    /// Requests made (PutRecords or BatchWriteItem calls), retries included.
    pub calls: u64,
    /// Records or items sent again after a partial failure.
    pub retried_entries: u64,
    /// Calls refused as a whole for a passing reason (throttling, service trouble) and retried.
    pub retried_calls: u64,
}

impl DeliveryStats {
    /// Adds another adapter's counts.
    pub fn merge(&mut self, other: &DeliveryStats) {
        self.calls += other.calls;
        self.retried_entries += other.retried_entries;
        self.retried_calls += other.retried_calls;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_are_capped_and_jittered() {
        let policy = RetryPolicy::default();
        for retry in 1..=12 {
            let full = Duration::from_millis(100 * (1 << (retry - 1))).min(policy.max_delay);
            let delay = policy.delay(retry);
            assert!(
                delay >= full / 2 && delay <= full,
                "retry {retry}: {delay:?}"
            );
        }
        assert!(policy.may_retry(7));
        assert!(!policy.may_retry(8));
    }
}
