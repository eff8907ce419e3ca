//! The page's plots, each built from the figures, or the reason it cannot be drawn.

use crate::charts::{BarChart, Series};
use crate::table::{Cell, DataTable};
use crate::zones::ZoneNames;
use std::collections::BTreeMap;
use taxistream_core::Table;
use taxistream_core::report::{Histogram, Report, ReportFigures, RunHistory, share};

/// High-value pickup zones shown.
const TOP_ZONES: usize = 15;
/// Past this many days, trips are counted per month.
const MAX_DAY_BARS: usize = 400;

/// One plot of the page.
#[derive(Debug, Clone)]
pub struct Plot {
    /// Stable id (`trips-per-day`), for links and tests.
    pub id: &'static str,
    /// Its title.
    pub title: String,
    /// The chart and the figures it shows, or why there is none.
    pub content: Result<(BarChart, DataTable), String>,
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
    let by_month = figures.trips_per_day.len() > MAX_DAY_BARS;
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for (day, count) in &figures.trips_per_day {
        let period = if by_month {
            day.get(..7).unwrap_or(day)
        } else {
            day
        };
        *counts.entry(period).or_default() += count;
    }
    let (title, column) = if by_month {
        ("Trips per month of pickup", "month")
    } else {
        ("Trips per day of pickup", "day")
    };
    let rows: Vec<(String, u64)> = counts
        .into_iter()
        .map(|(period, count)| (period.to_owned(), count))
        .collect();
    let content = if rows.is_empty() {
        Err("no trip has a readable pickup time".to_owned())
    } else {
        Ok(single_series(column, "trips", rows, false))
    };
    Plot {
        id: "trips-per-day",
        title: title.to_owned(),
        content,
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
    }
}

fn high_value_share_by_hour(report: &Report) -> Plot {
    let figures = &report.figures;
    let content = if figures.items_of(Table::HighValueTrips) == 0
        && analysis_missing(report, Table::HighValueTrips)
    {
        Err(why_empty(report, Table::HighValueTrips))
    } else {
        let mut table = DataTable::new(&["hour", "high-value trips", "trips", "share"]);
        let mut values = Vec::with_capacity(24);
        for ((hour, high_value), trips) in hours()
            .zip(&figures.high_value_by_hour)
            .zip(&figures.trips_by_hour)
        {
            let ratio = share(*high_value, *trips);
            values.push(ratio * 100.0);
            table.push(vec![
                Cell::text(&hour),
                Cell::count(*high_value),
                Cell::count(*trips),
                Cell::share(ratio),
            ]);
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
    }
}

fn top_pickup_zones(report: &Report, zones: &ZoneNames) -> Plot {
    let figures = &report.figures;
    let mut ranked: Vec<(Option<i64>, u64)> = figures
        .high_value_pickup_zones
        .iter()
        .map(|(zone, count)| (Some(*zone), *count))
        .collect();
    if figures.high_value_without_zone > 0 {
        ranked.push((None, figures.high_value_without_zone));
    }
    // Most trips first; ties by zone id, the unknown zone last.
    ranked.sort_by_key(|(zone, count)| (std::cmp::Reverse(*count), zone.is_none(), *zone));
    ranked.truncate(TOP_ZONES);
    let rows: Vec<(String, u64)> = ranked
        .into_iter()
        .map(|(zone, count)| match zone {
            Some(zone) => (format!("{} · {zone}", zones.name(zone)), count),
            None => ("no pickup zone (pre-2016 data)".to_owned(), count),
        })
        .collect();
    let content = if rows.is_empty() {
        Err(if figures.items_of(Table::HighValueTrips) == 0 {
            why_empty(report, Table::HighValueTrips)
        } else {
            "no high-value trip has a readable pickup time".to_owned()
        })
    } else {
        Ok(single_series("pickup zone", "high-value trips", rows, true))
    };
    Plot {
        id: "top-high-value-pickup-zones",
        title: format!("Top {TOP_ZONES} pickup zones of high-value trips"),
        content,
    }
}

fn rejected_by_reason(report: &Report) -> Plot {
    let content = match &report.runs {
        RunHistory::NotKept(why) => Err(format!("the rejected rows are not in this store: {why}")),
        RunHistory::Recorded(runs) => {
            let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
            for run in runs {
                for (reason, count) in &run.accounting.rejected_by_reason {
                    *reasons.entry(reason.to_string()).or_default() += count;
                }
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
        title: "Rejected rows by reason (all recorded runs)".to_owned(),
        content,
    }
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

/// True when some recorded run could not compute `table` for want of a column.
fn analysis_missing(report: &Report, table: Table) -> bool {
    match &report.runs {
        RunHistory::Recorded(runs) => runs.iter().any(|run| {
            run.unavailable_analyses
                .iter()
                .any(|missing| missing.table == table.name())
        }),
        RunHistory::NotKept(_) => false,
    }
}

/// Why `table` has no items: the files that lacked a column, or no trip qualifying.
fn why_empty(report: &Report, table: Table) -> String {
    let mut lacking: Vec<String> = match &report.runs {
        RunHistory::Recorded(runs) => runs
            .iter()
            .flat_map(|run| &run.unavailable_analyses)
            .filter(|missing| missing.table == table.name())
            .map(|missing| format!("{} has no {} column", missing.file, missing.missing_column))
            .collect(),
        RunHistory::NotKept(_) => Vec::new(),
    };
    lacking.dedup();
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
