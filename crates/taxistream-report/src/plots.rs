//! The page's plots, each built from the figures, or the reason it cannot be drawn.

use crate::charts::{BarChart, Series};
use crate::table::{Cell, DataTable, grouped};
use crate::timeline::timeline;
use crate::zones::ZoneNames;
use std::collections::BTreeMap;
use taxistream_core::Table;
use taxistream_core::report::{Histogram, Report, ReportFigures, RunHistory, RunRecord, share};

/// High-value pickup zones shown.
const TOP_ZONES: usize = 15;
/// Outlier days named under the trips-per-day plot.
const OUTLIERS_NAMED: usize = 10;

/// One plot of the page.
#[derive(Debug, Clone)]
pub struct Plot {
    /// Stable id (`trips-per-day`), for links and tests.
    pub id: &'static str,
    /// Its title.
    pub title: String,
    /// The chart and the figures it shows, or why there is none.
    pub content: Result<(BarChart, DataTable), String>,
    /// What a reader must know to read it right (what it leaves out).
    pub notes: Vec<String>,
}

/// Every plot of the report, in page order.
pub fn plots(report: &Report, zones: &ZoneNames) -> Vec<Plot> {
    let figures = &report.figures;
    vec![
        trips_per_period(figures),
        trips_by_hour(figures),
        distribution(
            "duration-by-category",
            "Trip duration by category",
            &figures.duration_minutes,
            "trips",
            figures.trips(),
            || "no trip has a duration".to_owned(),
        ),
        distribution(
            "fare-per-mile-by-tier",
            "Fare per mile (USD) by profitability tier",
            &figures.fare_per_mile,
            "trips",
            figures.items_of(Table::DistanceToFareRatio),
            || why_empty(report, Table::DistanceToFareRatio),
        ),
        high_value_share_by_hour(report),
        top_pickup_zones(report, zones),
        rejected_by_reason(report),
    ]
}

fn trips_per_period(figures: &ReportFigures) -> Plot {
    let Some(line) = timeline(&figures.trips_per_day) else {
        return Plot {
            id: "trips-per-day",
            title: "Trips per day of pickup".to_owned(),
            content: Err("no trip has a readable pickup day".to_owned()),
            notes: Vec::new(),
        };
    };
    let (title, column) = if line.by_month {
        ("Trips per month of pickup", "month")
    } else {
        ("Trips per day of pickup", "day")
    };
    let mut notes = Vec::new();
    if !line.outliers.is_empty() {
        let mut named: Vec<String> = line
            .outliers
            .iter()
            .take(OUTLIERS_NAMED)
            .map(|(day, trips)| format!("{day} ({})", grouped(*trips)))
            .collect();
        if line.outliers.len() > OUTLIERS_NAMED {
            named.push(format!(
                "and {} more days",
                line.outliers.len() - OUTLIERS_NAMED
            ));
        }
        notes.push(format!(
            "Left out: {} trips on {} days far from all the others or not on the calendar \
             (a wrong clock in the source data): {}.",
            grouped(line.outlier_trips()),
            line.outliers.len(),
            named.join(", ")
        ));
    }
    Plot {
        id: "trips-per-day",
        title: title.to_owned(),
        content: Ok(single_series(column, "trips", line.periods, false)),
        notes,
    }
}

fn trips_by_hour(figures: &ReportFigures) -> Plot {
    let rows = hours()
        .zip(&figures.trips_by_hour)
        .map(|(hour, count)| (hour, *count))
        .collect();
    Plot {
        id: "trips-by-hour",
        title: "Trips by hour of pickup".to_owned(),
        content: Ok(single_series("hour", "trips", rows, false)),
        notes: Vec::new(),
    }
}

fn high_value_share_by_hour(report: &Report) -> Plot {
    let figures = &report.figures;
    let mut notes = Vec::new();
    let content = if report.not_computed(Table::HighValueTrips) {
        Err(why_empty(report, Table::HighValueTrips))
    } else {
        let mut table = DataTable::new(&["hour", "high-value trips", "trips", "share"]);
        let mut values = Vec::with_capacity(24);
        let mut without_share = Vec::new();
        for ((hour, high_value), trips) in hours()
            .zip(&figures.high_value_by_hour)
            .zip(&figures.trips_by_hour)
        {
            // No trip in the hour, or more high-value trips than trips (tables written apart).
            let ratio = (*trips > 0 && high_value <= trips).then(|| share(*high_value, *trips));
            values.push(ratio.unwrap_or(0.0) * 100.0);
            if ratio.is_none() {
                without_share.push(hour.clone());
            }
            table.push(vec![
                Cell::text(&hour),
                Cell::count(*high_value),
                Cell::count(*trips),
                ratio.map_or_else(|| Cell::not_computed("n/a"), Cell::share),
            ]);
        }
        if !without_share.is_empty() {
            notes.push(format!(
                "No share for hour{} {}: no trip in the hour, or more high-value trips than \
                 trips (tables written by different runs); no bar is drawn.",
                if without_share.len() == 1 { "" } else { "s" },
                without_share.join(", ")
            ));
        }
        let chart = BarChart {
            categories: hours().collect(),
            series: vec![Series {
                label: String::new(),
                values,
            }],
            value_caption: "% of the hour's trips".to_owned(),
            horizontal: false,
        };
        Ok((chart, table))
    };
    Plot {
        id: "high-value-share-by-hour",
        title: "High-value share by hour of pickup".to_owned(),
        content,
        notes,
    }
}

fn top_pickup_zones(report: &Report, zones: &ZoneNames) -> Plot {
    let figures = &report.figures;
    let mut ranked: Vec<(Option<i64>, u64)> = figures
        .high_value_pickup_zones
        .iter()
        .map(|(zone, count)| (Some(*zone), *count))
        .collect();
    let content = if ranked.is_empty() {
        Err(if figures.items_of(Table::HighValueTrips) == 0 {
            why_empty(report, Table::HighValueTrips)
        } else {
            "no high-value trip has a pickup zone (files before mid-2016 give coordinates, \
             not zone ids)"
                .to_owned()
        })
    } else {
        if figures.high_value_without_zone > 0 {
            ranked.push((None, figures.high_value_without_zone));
        }
        // Most trips first; ties by zone id, the trips without a zone last.
        ranked.sort_by_key(|(zone, count)| (std::cmp::Reverse(*count), zone.is_none(), *zone));
        ranked.truncate(TOP_ZONES);
        let rows: Vec<(String, u64)> = ranked
            .into_iter()
            .map(|(zone, count)| match zone {
                Some(zone) => (zones.label(zone), count),
                None => ("no pickup zone".to_owned(), count),
            })
            .collect();
        Ok(single_series("pickup zone", "high-value trips", rows, true))
    };
    Plot {
        id: "top-high-value-pickup-zones",
        title: format!("Top {TOP_ZONES} pickup zones of high-value trips"),
        content,
        notes: Vec::new(),
    }
}

fn rejected_by_reason(report: &Report) -> Plot {
    let mut notes = Vec::new();
    let content = match &report.runs {
        RunHistory::NotKept(why) => Err(format!("the rejected rows are not in this store: {why}")),
        RunHistory::Recorded { runs, .. } => {
            let counted = latest_run_of_each_input_set(runs);
            let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
            for run in &counted {
                for (reason, count) in &run.accounting.rejected_by_reason {
                    *reasons.entry(reason.to_string()).or_default() += count;
                }
            }
            if counted.len() < runs.len() {
                notes.push(format!(
                    "Counted from the latest run of each set of inputs ({} of {} runs): a run of \
                     the same files again rejects the same rows.",
                    counted.len(),
                    runs.len()
                ));
            }
            let mut rows: Vec<(String, u64)> = reasons.into_iter().collect();
            rows.sort_by_key(|(reason, count)| (std::cmp::Reverse(*count), reason.clone()));
            if rows.is_empty() {
                Err(format!(
                    "no row was rejected in the {} recorded run(s)",
                    runs.len()
                ))
            } else {
                Ok(single_series("reason", "rows", rows, true))
            }
        }
    };
    Plot {
        id: "rejected-rows-by-reason",
        title: "Rejected rows by reason".to_owned(),
        content,
        notes,
    }
}

/// The runs whose rejected rows count: of runs on the same inputs, only the latest.
fn latest_run_of_each_input_set(runs: &[RunRecord]) -> Vec<&RunRecord> {
    let mut latest: BTreeMap<&[String], &RunRecord> = BTreeMap::new();
    for run in runs {
        latest.insert(&run.inputs, run);
    }
    latest.into_values().collect()
}

fn distribution(
    id: &'static str,
    title: &str,
    histogram: &Histogram,
    caption: &str,
    items: u64,
    why_none: impl FnOnce() -> String,
) -> Plot {
    let content = if items == 0 {
        Err(why_none())
    } else {
        let any_below = histogram.series.iter().any(|series| series.below > 0);
        let mut categories = Vec::with_capacity(histogram.bins + 2);
        if any_below {
            categories.push(format!("<{}", edge(histogram.lower)));
        }
        categories.extend((0..histogram.bins).map(|index| edge(histogram.edge(index))));
        categories.push(format!("≥{}", edge(histogram.edge(histogram.bins))));
        let series: Vec<Series> = histogram
            .series
            .iter()
            .map(|series| {
                let below = any_below.then_some(series.below);
                let counts = below
                    .into_iter()
                    .chain(series.counts.iter().copied())
                    .chain([series.above]);
                Series {
                    label: series.label.clone(),
                    values: counts.map(|count| count as f64).collect(),
                }
            })
            .collect();
        let mut columns = vec!["from".to_owned()];
        columns.extend(histogram.series.iter().map(|series| series.label.clone()));
        let mut table = DataTable::with_columns(columns);
        for (index, category) in categories.iter().enumerate() {
            let mut row = vec![Cell::text(category)];
            row.extend(series.iter().map(|series| {
                Cell::count(series.values.get(index).copied().unwrap_or(0.0) as u64)
            }));
            table.push(row);
        }
        let chart = BarChart {
            categories,
            series,
            value_caption: caption.to_owned(),
            horizontal: false,
        };
        Ok((chart, table))
    };
    Plot {
        id,
        title: title.to_owned(),
        content,
        notes: Vec::new(),
    }
}

/// One series of counts, as a chart and its table.
fn single_series(
    column: &str,
    caption: &str,
    rows: Vec<(String, u64)>,
    horizontal: bool,
) -> (BarChart, DataTable) {
    let mut table = DataTable::new(&[column, caption]);
    for (label, count) in &rows {
        table.push(vec![Cell::text(label), Cell::count(*count)]);
    }
    let (categories, values) = rows
        .into_iter()
        .map(|(label, count)| (label, count as f64))
        .unzip();
    let chart = BarChart {
        categories,
        series: vec![Series {
            label: String::new(),
            values,
        }],
        value_caption: caption.to_owned(),
        horizontal,
    };
    (chart, table)
}

/// Why `table` has no items: the files that lacked a column, or no trip qualifying.
fn why_empty(report: &Report, table: Table) -> String {
    let lacking = report.lacking(table);
    if lacking.is_empty() {
        format!("{} holds no item: no trip qualified", table.name())
    } else {
        format!("{} holds no item: {}", table.name(), lacking.join("; "))
    }
}

fn hours() -> impl Iterator<Item = String> {
    (0..24).map(|hour| format!("{hour:02}"))
}

/// A bin edge without trailing zeros: `2`, `0.5`.
fn edge(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests;
