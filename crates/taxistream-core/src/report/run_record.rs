//! What one `taxistream run` did, as kept beside its tables for the report.

use crate::accounting::Accounting;
use crate::settings::Thresholds;
use crate::timestamp::LocalTimestamp;
use serde::{Deserialize, Serialize};

/// One run: when, by which version, on which inputs, with which thresholds, and its accounting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Start, UTC, ISO 8601 (`2026-12-06T07:40:00Z`).
    pub started_at: String,
    /// End, UTC, ISO 8601.
    pub finished_at: String,
    /// The taxistream version that ran.
    pub version: String,
    /// The inputs as given (files or directories).
    pub inputs: Vec<String>,
    /// The run's accounting (contract §4).
    pub accounting: Accounting,
    /// The thresholds used.
    pub thresholds: Thresholds,
    /// Analyses a file could not feed, with why.
    pub unavailable_analyses: Vec<UnavailableAnalysis>,
}

/// A table a file could not feed, for want of a column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnavailableAnalysis {
    /// The file.
    pub file: String,
    /// The table (`high_value_trips`, …).
    pub table: String,
    /// The column the file lacks.
    pub missing_column: String,
}

/// `seconds` since the Unix epoch as ISO 8601 UTC, to the second.
pub fn utc_iso(seconds: i64) -> String {
    let mut text = String::with_capacity(20);
    match LocalTimestamp::from_epoch_units(seconds, 1) {
        Ok(timestamp) => timestamp.push_iso(&mut text),
        // Past year 9999 or before year 1: no clock reads that.
        Err(_) => text.push_str("0000-00-00T00:00:00"),
    }
    text.push('Z');
    text
}

#[cfg(test)]
mod tests {
    use super::utc_iso;

    #[test]
    fn epoch_seconds_read_as_utc_dates() {
        assert_eq!(utc_iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_iso(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_iso(1_796_542_199), "2026-12-06T07:29:59Z");
        assert_eq!(utc_iso(-1), "1969-12-31T23:59:59Z");
    }
}
