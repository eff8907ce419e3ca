//! An invocation's deadline: the moment a function stops starting work, so that it can report
//! what it did (a partial batch response, a continuation) before Lambda stops it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// The moment to stop working: `margin` before the invocation's end, given as Lambda gives it
/// (milliseconds since the Unix epoch). An end already past, or nearer than `margin`, gives
/// `now`: stop at once.
pub fn work_deadline(end_epoch_millis: u64, margin: Duration) -> Instant {
    let end = UNIX_EPOCH + Duration::from_millis(end_epoch_millis);
    let left = end
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Instant::now() + left.saturating_sub(margin)
}

/// True when waiting `wait` from now would reach `deadline`.
pub fn would_pass(deadline: Option<Instant>, wait: Duration) -> bool {
    deadline.is_some_and(|deadline| Instant::now() + wait >= deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch_millis_in(offset: Duration) -> u64 {
        let at = SystemTime::now() + offset;
        u64::try_from(
            at.duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis(),
        )
        .unwrap_or(u64::MAX)
    }

    #[test]
    fn the_deadline_is_the_margin_before_the_end() {
        let deadline = work_deadline(
            epoch_millis_in(Duration::from_secs(60)),
            Duration::from_secs(5),
        );
        let left = deadline - Instant::now();
        assert!(left > Duration::from_secs(50) && left <= Duration::from_secs(55));
    }

    #[test]
    fn an_end_nearer_than_the_margin_means_stop_now() {
        let deadline = work_deadline(
            epoch_millis_in(Duration::from_secs(2)),
            Duration::from_secs(5),
        );
        assert!(deadline <= Instant::now());
        assert!(work_deadline(0, Duration::ZERO) <= Instant::now());
        assert!(would_pass(Some(deadline), Duration::ZERO));
        assert!(!would_pass(None, Duration::from_secs(3600)));
    }
}
