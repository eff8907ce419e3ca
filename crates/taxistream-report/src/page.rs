//! The HTML page: key figures, counts per category and tier, the plots, and the runs behind them.

use crate::charts::ChartError;
use crate::plots::{Plot, plots};
use crate::table::{Cell, DataTable, escape, grouped};
use crate::zones::ZoneNames;
use std::fmt::Write as _;
use taxistream_core::Table;
use taxistream_core::report::{Report, RunHistory, RunRecord, share};
use taxistream_core::{DurationCategory, Profitability, Thresholds};

/// A plot's size in pixels.
const PLOT_SIZE: (u32, u32) = (900, 340);
/// Inline style: the page loads nothing.
const STYLE: &str = include_str!("page.css");

/// The whole page; `generated_at` is shown as the time it was made.
pub fn render_html(
    report: &Report,
    zones: &ZoneNames,
    generated_at: &str,
) -> Result<String, ChartError> {
    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>taxistream report</title><style>{STYLE}</style></head><body>\
         <header><h1>Taxi trips: the taxistream report</h1><p>From the {}, made {} by taxistream {}. \
         Every figure is aggregated from the tables' items as they are now.</p></header>",
        escape(&report.store),
        escape(generated_at),
        env!("CARGO_PKG_VERSION"),
    );
    write_key_figures(&mut out, report);
    write_counts(&mut out, report);
    out.push_str("<section id=\"plots\"><h2>Plots</h2>");
    for plot in plots(report, zones) {
        write_plot(&mut out, &plot)?;
    }
    out.push_str("</section>");
    write_runs(&mut out, &report.runs);
    out.push_str("</body></html>\n");
    Ok(out)
}

fn write_key_figures(out: &mut String, report: &Report) {
    let figures = &report.figures;
    let high_value = figures.items_of(Table::HighValueTrips);
    out.push_str("<section id=\"key-figures\"><h2>At a glance</h2><dl class=\"cards\">");
    let cards = [
        ("trips", "trips", Cell::count(figures.trips())),
        (
            "high-value trips",
            "high_value_trips",
            computed(report, Table::HighValueTrips, Cell::count(high_value)),
        ),
        (
            "high-value share",
            "high_value_share",
            computed(
                report,
                Table::HighValueTrips,
                Cell::share(figures.high_value_share()),
            ),
        ),
        (
            "trips with a fare per mile",
            "distance_to_fare_ratio",
            computed(
                report,
                Table::DistanceToFareRatio,
                Cell::count(figures.items_of(Table::DistanceToFareRatio)),
            ),
        ),
    ];
    for (label, figure, cell) in cards {
        let _ = write!(out, "<div><dt>{label}</dt>");
        cell.named(figure).write_as(out, "dd");
        out.push_str("</div>");
    }
    out.push_str("</dl>");
    write_coverage_notes(out, report);
    let unreadable: u64 = figures.unreadable.values().sum();
    if unreadable > 0 {
        let tables: Vec<String> = figures
            .unreadable
            .iter()
            .map(|(table, count)| format!("{} in {}", grouped(*count), table.name()))
            .collect();
        let _ = write!(
            out,
            "<p class=\"warning\" data-figure=\"unreadable\" data-value=\"{unreadable}\">\
             Items the report could not read (a missing or malformed attribute), counted in the \
             totals but in no plot: {}.</p>",
            escape(&tables.join(", "))
        );
    }
    out.push_str("</section>");
}

/// `cell`, or "not computed" when no file could feed `table`.
fn computed(report: &Report, table: Table, cell: Cell) -> Cell {
    if report.not_computed(table) {
        Cell::not_computed("not computed")
    } else {
        cell
    }
}

/// Which tables were not computed, or computed from some files only, and why.
fn write_coverage_notes(out: &mut String, report: &Report) {
    for table in Table::ALL {
        let lacking = report.lacking(table);
        if lacking.is_empty() {
            continue;
        }
        let scope = if report.not_computed(table) {
            "not computed"
        } else {
            "computed from the other files only"
        };
        let _ = write!(
            out,
            "<p class=\"note\" data-coverage=\"{}\">{}: {scope}, as {}.</p>",
            table.name(),
            table.name(),
            escape(&lacking.join("; "))
        );
    }
}

fn write_counts(out: &mut String, report: &Report) {
    let figures = &report.figures;
    out.push_str("<section id=\"counts\"><h2>Categories and tiers</h2><div class=\"side\">");
    let categories = DurationCategory::ALL.iter().map(|category| {
        let count = figures.duration_categories.get(category).copied();
        (category.name(), count.unwrap_or(0))
    });
    let total = figures.trips();
    count_table(
        report,
        Table::TripDurationAnalysis,
        ("duration category", "duration"),
        categories,
        total,
    )
    .write_html(out);
    let tiers = Profitability::ALL.iter().map(|tier| {
        (
            tier.name(),
            figures.profitability.get(tier).copied().unwrap_or(0),
        )
    });
    let total = figures.items_of(Table::DistanceToFareRatio);
    count_table(
        report,
        Table::DistanceToFareRatio,
        ("profitability tier", "profitability"),
        tiers,
        total,
    )
    .write_html(out);
    out.push_str("</div></section>");
}

/// A table of counts of `table`'s items by `(name, count)`, with each count's share of `total`;
/// `(heading, figure)`: the first column's heading, and the prefix of each count's figure name.
fn count_table<'a>(
    report: &Report,
    table: Table,
    (heading, figure): (&str, &str),
    counts: impl Iterator<Item = (&'a str, u64)>,
    total: u64,
) -> DataTable {
    let mut rows = DataTable::new(&[heading, "trips", "share"]);
    for (name, count) in counts {
        rows.push(vec![
            Cell::text(name),
            computed(report, table, Cell::count(count)).named(&format!("{figure}:{name}")),
            computed(report, table, Cell::share(share(count, total))),
        ]);
    }
    rows
}

fn write_plot(out: &mut String, plot: &Plot) -> Result<(), ChartError> {
    let state = if plot.content.is_ok() {
        "drawn"
    } else {
        "unavailable"
    };
    let _ = write!(
        out,
        "<figure class=\"plot\" id=\"{id}\" data-plot=\"{id}\" data-state=\"{state}\">\
         <figcaption>{}</figcaption>",
        escape(&plot.title),
        id = plot.id,
    );
    match &plot.content {
        Ok((chart, table)) => {
            out.push_str(&chart.to_svg(PLOT_SIZE.0, PLOT_SIZE.1)?);
            out.push_str("<details><summary>The figures</summary>");
            table.write_html(out);
            out.push_str("</details>");
        }
        Err(why) => {
            let _ = write!(
                out,
                "<p class=\"unavailable\">Cannot be drawn: {}.</p>",
                escape(why)
            );
        }
    }
    for note in &plot.notes {
        let _ = write!(out, "<p class=\"note\">{}</p>", escape(note));
    }
    out.push_str("</figure>");
    Ok(())
}

fn write_runs(out: &mut String, runs: &RunHistory) {
    out.push_str("<section id=\"runs\"><h2>Runs and settings</h2>");
    let (runs, unreadable) = match runs {
        RunHistory::NotKept(why) => {
            let _ = write!(
                out,
                "<p class=\"unavailable\">No runs to show: {}.</p></section>",
                escape(why)
            );
            return;
        }
        RunHistory::Recorded { runs, unreadable } => (runs, unreadable),
    };
    for why in unreadable {
        let _ = write!(
            out,
            "<p class=\"warning\" data-unreadable-run>Left out: {}.</p>",
            escape(why)
        );
    }
    let mut table = DataTable::new(&[
        "started (UTC)",
        "version",
        "inputs",
        "rows read",
        "trips",
        "duplicates",
        "rejected",
        "high_value_trips",
        "trip_duration_analysis",
        "distance_to_fare_ratio",
    ]);
    for run in runs {
        let accounting = &run.accounting;
        let mut row = vec![
            Cell::text(&run.started_at),
            Cell::text(&run.version),
            Cell::text(&run.inputs.join(", ")),
            Cell::count(accounting.rows_read),
            Cell::count(accounting.trips),
            Cell::count(accounting.duplicates),
            Cell::count(accounting.rejected),
        ];
        row.extend(
            Table::ALL.map(|table| Cell::count(accounting.items.get(&table).copied().unwrap_or(0))),
        );
        table.push(row);
    }
    table.write_html(out);
    if !runs.is_empty() {
        write_thresholds(out, runs);
    }
    out.push_str("</section>");
}

/// Each run's thresholds: items written by different runs may be categorised differently.
fn write_thresholds(out: &mut String, runs: &[RunRecord]) {
    let mut columns = vec!["started (UTC)".to_owned()];
    columns.extend(Thresholds::NAMES.map(str::to_owned));
    let mut table = DataTable::with_columns(columns);
    for run in runs {
        let mut row = vec![Cell::text(&run.started_at)];
        row.extend(
            run.thresholds
                .values()
                .map(|value| Cell::text(&value.to_string())),
        );
        table.push(row);
    }
    out.push_str("<h3>Thresholds of each run</h3>");
    if runs.iter().any(|run| run.thresholds != runs[0].thresholds) {
        out.push_str(
            "<p class=\"warning\" data-thresholds-differ>The runs used different thresholds: \
             items written by different runs were categorised differently.</p>",
        );
    }
    out.push_str(
        "<p class=\"note\">Over high_value_total (USD) a trip is high value; under \
         short_trip_minutes it is short, over long_trip_minutes long, over max_trip_hours \
         invalid; under low_fare_per_mile (USD) it is low, over premium_fare_per_mile premium.</p>",
    );
    table.write_html(out);
}
