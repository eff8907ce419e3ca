//! An invocation's deadline: the moment a function stops starting work, so that it can report
//! what it did (a partial batch response, a continuation) before Lambda stops it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// An end further in the past than this is no invocation's end: the runtime API gave something
/// else (`cargo lambda watch` sends its timeout, 600000, as the deadline).
const IMPLAUSIBLY_PAST: Duration = Duration::from_secs(3_600);

/// The moment to stop working: `margin` before the invocation's end, given as Lambda gives it
/// (milliseconds since the Unix epoch). An end already past, or nearer than `margin`, gives
/// `now`: stop at once. `None` when the end is not a plausible deadline (over an hour past).
pub fn work_deadline(end_epoch_millis: u64, margin: Duration) -> Option<Instant> {
    let end = UNIX_EPOCH + Duration::from_millis(end_epoch_millis);
    let now = SystemTime::now();
    let left = match end.duration_since(now) {
        Ok(left) => left,
        Err(past) if past.duration() > IMPLAUSIBLY_PAST => return None,
        Err(_) => Duration::ZERO,
    };
    Some(Instant::now() + left.saturating_sub(margin))
}

/// True when waiting `wait` from now would reach `deadline`.
pub fn would_pass(deadline: Option<Instant>, wait: Duration) -> bool {
    deadline.is_some_and(|deadline| Instant::now() + wait >= deadline)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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
        )
        .unwrap();
        let left = deadline - Instant::now();
        assert!(left > Duration::from_secs(50) && left <= Duration::from_secs(55));
    }

    #[test]
    fn a_deadline_that_is_no_timestamp_is_no_deadline() {
        assert_eq!(work_deadline(600_000, Duration::from_secs(5)), None);
        assert_eq!(work_deadline(0, Duration::ZERO), None);
    }

    #[test]
    fn an_end_nearer_than_the_margin_means_stop_now() {
        let deadline = work_deadline(
            epoch_millis_in(Duration::from_secs(2)),
            Duration::from_secs(5),
        )
        .unwrap();
        assert!(deadline <= Instant::now());
        let just_past = epoch_millis_in(Duration::ZERO).saturating_sub(1_000);
        assert!(work_deadline(just_past, Duration::ZERO).unwrap() <= Instant::now());
        assert!(would_pass(Some(deadline), Duration::ZERO));
        assert!(!would_pass(None, Duration::from_secs(3600)));
    }
}
