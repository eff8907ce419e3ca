//! The report's figures, aggregated from the three tables' items on read, whatever store holds
//! them: every store feeds the same [`ReportFigures::add`], so the figures are computed once.

mod histogram;
mod run_record;

pub use histogram::{Histogram, HistogramSeries};
pub use run_record::{RunRecord, UnavailableAnalysis, utc_iso};

use crate::analytics::Table;
use crate::categories::{DurationCategory, Profitability};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Duration bins: 2 minutes wide, up to 2 hours.
const DURATION_BINS: (f64, f64, usize) = (0.0, 2.0, 60);
/// Fare-per-mile bins: 0.50 USD wide, up to 20 USD per mile.
const FARE_PER_MILE_BINS: (f64, f64, usize) = (0.0, 0.5, 40);

/// The attributes the report reads from a table's items (a scan's projection).
pub const fn report_attributes(table: Table) -> &'static [&'static str] {
    match table {
        Table::HighValueTrips => &["pickup_datetime", "pickup_location_id"],
        Table::TripDurationAnalysis => {
            &["pickup_datetime", "duration_minutes", "duration_category"]
        }
        Table::DistanceToFareRatio => &["fare_per_mile", "profitability"],
    }
}

/// The attributes of one item that the report reads, as a store gives them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ItemFields<'a> {
    /// ISO 8601 pickup time, `YYYY-MM-DDTHH:MM:SS`.
    pub pickup_datetime: Option<&'a str>,
    /// TLC zone id of the pickup.
    pub pickup_location_id: Option<i64>,
    /// Minutes (trip_duration_analysis).
    pub duration_minutes: Option<f64>,
    /// Category name (trip_duration_analysis).
    pub duration_category: Option<&'a str>,
    /// USD per mile (distance_to_fare_ratio).
    pub fare_per_mile: Option<f64>,
    /// Tier name (distance_to_fare_ratio).
    pub profitability: Option<&'a str>,
}

/// What a report shows: where the figures come from, the figures, and the runs behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The store, for people (`SQLite database taxistream.db`).
    pub store: String,
    /// The tables' figures.
    pub figures: ReportFigures,
    /// The runs that wrote the tables, if the store keeps them.
    pub runs: RunHistory,
}

/// The runs a store keeps.
#[derive(Debug, Clone, PartialEq)]
pub enum RunHistory {
    /// The recorded runs.
    Recorded {
        /// Every readable run, oldest first.
        runs: Vec<RunRecord>,
        /// Records that could not be read, each with why (left out of the figures of runs).
        unreadable: Vec<String>,
    },
    /// The store keeps none, and why.
    NotKept(String),
}

impl Report {
    /// The readable recorded runs (none when the store keeps none).
    pub fn runs(&self) -> &[RunRecord] {
        match &self.runs {
            RunHistory::Recorded { runs, .. } => runs,
            RunHistory::NotKept(_) => &[],
        }
    }

    /// Why some files could not feed `table`, one line per file lacking a column (deduplicated).
    pub fn lacking(&self, table: Table) -> Vec<String> {
        let mut lines: Vec<String> = self
            .runs()
            .iter()
            .flat_map(|run| &run.unavailable_analyses)
            .filter(|missing| missing.table == table.name())
            .map(|missing| format!("{} has no {} column", missing.file, missing.missing_column))
            .collect();
        lines.sort();
        lines.dedup();
        lines
    }

    /// True when `table` holds nothing because no file could feed it: not computed, rather than
    /// computed and empty.
    pub fn not_computed(&self, table: Table) -> bool {
        self.figures.items_of(table) == 0 && !self.lacking(table).is_empty()
    }
}

/// Aggregates of the three tables: counts, per-day and per-hour series, distributions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportFigures {
    /// Items read, per table.
    pub items: BTreeMap<Table, u64>,
    /// Items that lack an attribute the report needs, or hold one it cannot read, per table.
    pub unreadable: BTreeMap<Table, u64>,
    /// Trips per duration category (from trip_duration_analysis, which has every trip).
    pub duration_categories: BTreeMap<DurationCategory, u64>,
    /// Fare-per-mile items per tier.
    pub profitability: BTreeMap<Profitability, u64>,
    /// Trips per pickup day (`YYYY-MM-DD`).
    pub trips_per_day: BTreeMap<String, u64>,
    /// Trips per pickup hour of day, 0–23.
    pub trips_by_hour: Vec<u64>,
    /// High-value trips per pickup hour of day, 0–23.
    pub high_value_by_hour: Vec<u64>,
    /// Duration in minutes, one series per category.
    pub duration_minutes: Histogram,
    /// Fare per mile, one series per tier.
    pub fare_per_mile: Histogram,
    /// High-value trips per pickup zone id.
    pub high_value_pickup_zones: BTreeMap<i64, u64>,
    /// High-value trips without a pickup zone.
    pub high_value_without_zone: u64,
}

impl Default for ReportFigures {
    fn default() -> Self {
        let categories = DurationCategory::ALL.map(DurationCategory::name);
        let tiers = Profitability::ALL.map(Profitability::name);
        let (lower, width, bins) = DURATION_BINS;
        let duration_minutes = Histogram::new(lower, width, bins, &categories);
        let (lower, width, bins) = FARE_PER_MILE_BINS;
        let fare_per_mile = Histogram::new(lower, width, bins, &tiers);
        ReportFigures {
            items: Table::ALL.iter().map(|table| (*table, 0)).collect(),
            unreadable: BTreeMap::new(),
            duration_categories: DurationCategory::ALL.iter().map(|c| (*c, 0)).collect(),
            profitability: Profitability::ALL.iter().map(|t| (*t, 0)).collect(),
            trips_per_day: BTreeMap::new(),
            trips_by_hour: vec![0; 24],
            high_value_by_hour: vec![0; 24],
            duration_minutes,
            fare_per_mile,
            high_value_pickup_zones: BTreeMap::new(),
            high_value_without_zone: 0,
        }
    }
}

impl ReportFigures {
    /// Counts one item of `table`.
    pub fn add(&mut self, table: Table, item: &ItemFields<'_>) {
        *self.items.entry(table).or_default() += 1;
        let readable = match table {
            Table::TripDurationAnalysis => self.add_duration(item),
            Table::HighValueTrips => self.add_high_value(item),
            Table::DistanceToFareRatio => self.add_fare_per_mile(item),
        };
        if !readable {
            *self.unreadable.entry(table).or_default() += 1;
        }
    }

    fn add_duration(&mut self, item: &ItemFields<'_>) -> bool {
        let (Some((day, hour)), Some(minutes), Some(category)) = (
            item.pickup_datetime.and_then(day_and_hour),
            item.duration_minutes,
            item.duration_category.and_then(category_named),
        ) else {
            return false;
        };
        *self.duration_categories.entry(category).or_default() += 1;
        match self.trips_per_day.get_mut(day) {
            Some(count) => *count += 1,
            None => {
                self.trips_per_day.insert(day.to_owned(), 1);
            }
        }
        self.trips_by_hour[hour] += 1;
        self.duration_minutes
            .add(category_position(category), minutes);
        true
    }

    fn add_high_value(&mut self, item: &ItemFields<'_>) -> bool {
        let Some((_, hour)) = item.pickup_datetime.and_then(day_and_hour) else {
            return false;
        };
        self.high_value_by_hour[hour] += 1;
        match item.pickup_location_id {
            Some(zone) => *self.high_value_pickup_zones.entry(zone).or_default() += 1,
            None => self.high_value_without_zone += 1,
        }
        true
    }

    fn add_fare_per_mile(&mut self, item: &ItemFields<'_>) -> bool {
        let (Some(value), Some(tier)) =
            (item.fare_per_mile, item.profitability.and_then(tier_named))
        else {
            return false;
        };
        *self.profitability.entry(tier).or_default() += 1;
        self.fare_per_mile.add(tier_position(tier), value);
        true
    }

    /// Adds figures gathered apart (another table, another scan segment).
    pub fn merge(&mut self, other: &ReportFigures) {
        add_maps(&mut self.items, &other.items);
        add_maps(&mut self.unreadable, &other.unreadable);
        add_maps(&mut self.duration_categories, &other.duration_categories);
        add_maps(&mut self.profitability, &other.profitability);
        add_maps(&mut self.trips_per_day, &other.trips_per_day);
        add_maps(
            &mut self.high_value_pickup_zones,
            &other.high_value_pickup_zones,
        );
        for (mine, theirs) in [
            (&mut self.trips_by_hour, &other.trips_by_hour),
            (&mut self.high_value_by_hour, &other.high_value_by_hour),
        ] {
            for (count, more) in mine.iter_mut().zip(theirs) {
                *count += more;
            }
        }
        self.duration_minutes.merge(&other.duration_minutes);
        self.fare_per_mile.merge(&other.fare_per_mile);
        self.high_value_without_zone += other.high_value_without_zone;
    }

    /// Items read from `table`.
    pub fn items_of(&self, table: Table) -> u64 {
        self.items.get(&table).copied().unwrap_or(0)
    }

    /// Trips: one duration item each.
    pub fn trips(&self) -> u64 {
        self.items_of(Table::TripDurationAnalysis)
    }

    /// High-value trips as a share of all trips (0 without trips).
    pub fn high_value_share(&self) -> f64 {
        share(self.items_of(Table::HighValueTrips), self.trips())
    }
}

/// `value` as an integer when it is one (`132.0`), for stores that keep ids as decimals.
pub fn whole_number(value: f64) -> Option<i64> {
    (value.fract() == 0.0 && value.abs() < 9.0e15).then_some(value as i64)
}

/// `part / whole`, 0 when `whole` is 0.
pub fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn add_maps<K: Ord + Clone>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
    for (key, count) in from {
        *into.entry(key.clone()).or_default() += count;
    }
}

/// The day (`YYYY-MM-DD`) and hour of an ISO 8601 timestamp, if it is one.
fn day_and_hour(timestamp: &str) -> Option<(&str, usize)> {
    let bytes = timestamp.as_bytes();
    let day = timestamp.get(..10)?;
    let well_formed = day.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        _ => b.is_ascii_digit(),
    }) && matches!(bytes.get(10), Some(b'T' | b' '));
    let hour = timestamp.get(11..13)?.parse::<usize>().ok()?;
    (well_formed && hour < 24).then_some((day, hour))
}

fn category_named(name: &str) -> Option<DurationCategory> {
    DurationCategory::ALL.into_iter().find(|c| c.name() == name)
}

fn tier_named(name: &str) -> Option<Profitability> {
    Profitability::ALL.into_iter().find(|t| t.name() == name)
}

/// The category's series in [`ReportFigures::duration_minutes`] (built from `DurationCategory::ALL`).
fn category_position(category: DurationCategory) -> usize {
    match category {
        DurationCategory::Short => 0,
        DurationCategory::Medium => 1,
        DurationCategory::Long => 2,
        DurationCategory::Invalid => 3,
    }
}

/// The tier's series in [`ReportFigures::fare_per_mile`] (built from `Profitability::ALL`).
fn tier_position(tier: Profitability) -> usize {
    match tier {
        Profitability::Low => 0,
        Profitability::Standard => 1,
        Profitability::Premium => 2,
    }
}

#[cfg(test)]
mod tests;
