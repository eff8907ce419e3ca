//! The accounting of contract §4: every row read is a trip, a duplicate or a rejected row.

use crate::analytics::{Table, TripAnalysis};
use crate::categories::{DurationCategory, Profitability};
use crate::reject::RejectReason;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the accounting needs of one trip's analysis: a few bytes, where the analysis holds its
/// items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalysisSummary {
    /// The duration class (every trip has a duration item).
    pub duration_category: DurationCategory,
    /// The tier, when the trip has a fare-per-mile item.
    pub profitability: Option<Profitability>,
    /// True when the trip has a high-value item.
    pub high_value: bool,
}

impl AnalysisSummary {
    /// The summary of an analysis.
    pub fn of(analysis: &TripAnalysis) -> AnalysisSummary {
        AnalysisSummary {
            duration_category: analysis.duration_category,
            profitability: analysis.profitability,
            high_value: analysis
                .items
                .iter()
                .any(|item| item.table == Table::HighValueTrips && !item.is_absence()),
        }
    }
}

/// Counts for one run (or one object, or one batch): mergeable, and the same on every rerun.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accounting {
    /// Rows read from the sources (blank lines and headers are not rows).
    pub rows_read: u64,
    /// Distinct trips.
    pub trips: u64,
    /// Rows that repeated a trip already seen in the same run.
    pub duplicates: u64,
    /// Rows rejected, all reasons.
    pub rejected: u64,
    /// Rows rejected, per reason (only reasons that occurred).
    pub rejected_by_reason: BTreeMap<RejectReason, u64>,
    /// Items written, per table.
    pub items: BTreeMap<Table, u64>,
    /// Trips per duration category.
    pub duration_category: BTreeMap<DurationCategory, u64>,
    /// Trips per profitability tier.
    pub profitability: BTreeMap<Profitability, u64>,
}

impl Default for Accounting {
    fn default() -> Self {
        Accounting {
            rows_read: 0,
            trips: 0,
            duplicates: 0,
            rejected: 0,
            rejected_by_reason: BTreeMap::new(),
            items: Table::ALL.into_iter().map(|table| (table, 0)).collect(),
            duration_category: DurationCategory::ALL.into_iter().map(|c| (c, 0)).collect(),
            profitability: Profitability::ALL.into_iter().map(|p| (p, 0)).collect(),
        }
    }
}

impl Accounting {
    /// Counts a rejected row.
    pub fn count_rejection(&mut self, reason: RejectReason) {
        self.rows_read += 1;
        self.rejected += 1;
        *self.rejected_by_reason.entry(reason).or_default() += 1;
    }

    /// Counts a row that became a new trip.
    pub fn count_trip(&mut self) {
        self.rows_read += 1;
        self.trips += 1;
    }

    /// Counts a row that repeated a trip.
    pub fn count_duplicate(&mut self) {
        self.rows_read += 1;
        self.duplicates += 1;
    }

    /// Counts a trip's analysis and the items it wrote.
    pub fn count_analysis(&mut self, analysis: &TripAnalysis) {
        self.count_summary(AnalysisSummary::of(analysis));
    }

    /// Counts a trip's analysis, from its summary.
    pub fn count_summary(&mut self, summary: AnalysisSummary) {
        *self
            .duration_category
            .entry(summary.duration_category)
            .or_default() += 1;
        *self.items.entry(Table::TripDurationAnalysis).or_default() += 1;
        if summary.high_value {
            *self.items.entry(Table::HighValueTrips).or_default() += 1;
        }
        if let Some(tier) = summary.profitability {
            *self.profitability.entry(tier).or_default() += 1;
            *self.items.entry(Table::DistanceToFareRatio).or_default() += 1;
        }
    }

    /// Adds another account into this one.
    pub fn merge(&mut self, other: &Accounting) {
        self.rows_read += other.rows_read;
        self.trips += other.trips;
        self.duplicates += other.duplicates;
        self.rejected += other.rejected;
        for (key, count) in &other.rejected_by_reason {
            *self.rejected_by_reason.entry(*key).or_default() += count;
        }
        for (key, count) in &other.items {
            *self.items.entry(*key).or_default() += count;
        }
        for (key, count) in &other.duration_category {
            *self.duration_category.entry(*key).or_default() += count;
        }
        for (key, count) in &other.profitability {
            *self.profitability.entry(*key).or_default() += count;
        }
    }

    /// True when every row read is accounted for.
    pub fn balances(&self) -> bool {
        self.rows_read == self.trips + self.duplicates + self.rejected
    }
}
