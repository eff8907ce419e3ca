//! Trips over time: every day (or month) from the first to the last, so that no gap is hidden,
//! with the few days far from all the others (a clock set to 2008 in a 2023 file) set apart.

use std::collections::BTreeMap;
use taxistream_core::timestamp::LocalTimestamp;

/// Past this many days from first to last, trips are counted per month.
const MAX_DAY_BARS: i64 = 400;
/// Days more than this far from any other day with trips start a new group.
const GAP_DAYS: i64 = 31;
/// A group of days holding less than this share of the trips is set apart as outliers.
const OUTLIER_SHARE: f64 = 0.05;

/// The trips of each day or month of the span, and the days set apart.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// True when `periods` are months (`2025-01`), false for days (`2025-01-02`).
    pub by_month: bool,
    /// Every period from the first to the last, zeros included, oldest first.
    pub periods: Vec<(String, u64)>,
    /// Days left out of `periods`, with their trips: far from the rest, or not a calendar day.
    pub outliers: Vec<(String, u64)>,
}

impl Timeline {
    /// Trips on the outlier days.
    pub fn outlier_trips(&self) -> u64 {
        self.outliers.iter().map(|(_, trips)| trips).sum()
    }
}

/// The timeline of `trips_per_day` (`YYYY-MM-DD` → trips); `None` when no day has trips.
pub fn timeline(trips_per_day: &BTreeMap<String, u64>) -> Option<Timeline> {
    let mut outliers = Vec::new();
    let mut days = Vec::with_capacity(trips_per_day.len());
    for (day, trips) in trips_per_day {
        match day_number(day) {
            Some(number) => days.push((number, *trips)),
            None => outliers.push((day.clone(), *trips)),
        }
    }
    let total: u64 = days.iter().map(|(_, trips)| trips).sum();
    let groups: Vec<(&[(i64, u64)], u64)> = days
        .chunk_by(|before, after| after.0 - before.0 <= GAP_DAYS)
        .map(|group| (group, group.iter().map(|(_, trips)| trips).sum()))
        .collect();
    let largest = groups.iter().map(|(_, trips)| *trips).max().unwrap_or(0);
    let mut kept = Vec::with_capacity(days.len());
    for (group, trips) in groups {
        // The largest group stays, however scattered the days.
        if trips < largest && (trips as f64) < OUTLIER_SHARE * total as f64 {
            outliers.extend(group.iter().map(|(day, trips)| (date_of_day(*day), *trips)));
        } else {
            kept.extend_from_slice(group);
        }
    }
    outliers.sort();
    let (first, last) = (kept.first()?.0, kept.last()?.0);
    let by_month = last - first + 1 > MAX_DAY_BARS;
    let mut periods: Vec<(String, u64)> = Vec::new();
    let mut trips_of = kept.iter().peekable();
    for day in first..=last {
        let label = date_of_day(day);
        let label = if by_month {
            label[..7].to_owned()
        } else {
            label
        };
        let trips = match trips_of.next_if(|(number, _)| *number == day) {
            Some((_, trips)) => *trips,
            None => 0,
        };
        match periods.last_mut() {
            Some((period, count)) if *period == label => *count += trips,
            _ => periods.push((label, trips)),
        }
    }
    Some(Timeline {
        by_month,
        periods,
        outliers,
    })
}

/// Days since 1970-01-01 of a calendar date `YYYY-MM-DD`.
fn day_number(date: &str) -> Option<i64> {
    let midnight = LocalTimestamp::parse(&format!("{date} 00:00:00")).ok()?;
    let epoch = LocalTimestamp::from_epoch_units(0, 1).ok()?;
    let seconds = midnight.nanos_since(epoch) / 1_000_000_000;
    i64::try_from(seconds.div_euclid(86_400)).ok()
}

/// The date `YYYY-MM-DD` of a day number from [`day_number`].
fn date_of_day(day: i64) -> String {
    let mut text = String::with_capacity(19);
    if let Ok(midnight) = LocalTimestamp::from_epoch_units(day * 86_400, 1) {
        midnight.push_iso(&mut text);
    }
    text.truncate(10);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs
            .iter()
            .map(|(day, trips)| ((*day).to_owned(), *trips))
            .collect()
    }

    #[test]
    fn days_without_trips_show_as_zeros_and_far_days_are_set_apart() {
        let line = timeline(&days(&[
            ("2008-12-31", 2),
            ("2025-01-30", 100),
            ("2025-02-02", 50),
            ("2025-02-30", 1),
            ("2088-01-24", 1),
        ]))
        .unwrap();
        assert!(!line.by_month);
        assert_eq!(
            line.periods,
            [
                ("2025-01-30".to_owned(), 100),
                ("2025-01-31".to_owned(), 0),
                ("2025-02-01".to_owned(), 0),
                ("2025-02-02".to_owned(), 50),
            ]
        );
        assert_eq!(
            line.outliers,
            [
                ("2008-12-31".to_owned(), 2),
                ("2025-02-30".to_owned(), 1),
                ("2088-01-24".to_owned(), 1),
            ]
        );
        assert_eq!(line.outlier_trips(), 4);
    }

    #[test]
    fn a_span_past_400_days_is_counted_per_month_with_empty_months_shown() {
        let line = timeline(&days(&[
            ("2023-01-05", 40),
            ("2023-01-20", 10),
            ("2024-03-01", 30),
        ]))
        .unwrap();
        assert!(line.by_month);
        assert_eq!(line.periods.len(), 15);
        assert_eq!(line.periods[0], ("2023-01".to_owned(), 50));
        assert_eq!(line.periods[1], ("2023-02".to_owned(), 0));
        assert_eq!(line.periods[14], ("2024-03".to_owned(), 30));
        assert!(line.outliers.is_empty());
    }

    #[test]
    fn no_day_gives_no_timeline() {
        assert_eq!(timeline(&BTreeMap::new()), None);
        assert_eq!(timeline(&days(&[("2025-13-01", 3)])), None);
    }
}
