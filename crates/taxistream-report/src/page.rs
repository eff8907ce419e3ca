//! The HTML page: key figures, counts per category and tier, the plots, and the runs behind them.

use crate::charts::ChartError;
use crate::plots::{Plot, plots};
use crate::table::{Cell, DataTable, escape, grouped};
use crate::zones::ZoneNames;
use std::fmt::Write as _;
use taxistream_core::Table;
use taxistream_core::report::{Report, RunHistory, RunRecord, share};
use taxistream_core::{DurationCategory, Profitability};

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
            Cell::count(high_value),
        ),
        (
            "high-value share",
            "high_value_share",
            Cell::share(figures.high_value_share()),
        ),
        (
            "trips with a fare per mile",
            "distance_to_fare_ratio",
            Cell::count(figures.items_of(Table::DistanceToFareRatio)),
        ),
    ];
    for (label, figure, cell) in cards {
        let _ = write!(out, "<div><dt>{label}</dt>");
        let mut td = String::new();
        cell.write_td(&mut td, Some(figure));
        // A card is a <dd>, not a table cell.
        out.push_str(&td.replacen("<td", "<dd", 1).replace("</td>", "</dd>"));
        out.push_str("</div>");
    }
    out.push_str("</dl>");
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

fn write_counts(out: &mut String, report: &Report) {
    let figures = &report.figures;
    out.push_str("<section id=\"counts\"><h2>Categories and tiers</h2><div class=\"side\">");
    let trips = figures.trips();
    let mut categories = DataTable::new(&["duration category", "trips", "share"]);
    let mut category_rows = Vec::new();
    for category in DurationCategory::ALL {
        let count = figures
            .duration_categories
            .get(&category)
            .copied()
            .unwrap_or(0);
        category_rows.push((format!("duration:{}", category.name()), count));
        categories.push(vec![
            Cell::text(category.name()),
            Cell::count(count),
            Cell::share(share(count, trips)),
        ]);
    }
    write_figure_table(out, &categories, &category_rows);
    let ratio_items = figures.items_of(Table::DistanceToFareRatio);
    let mut tiers = DataTable::new(&["profitability tier", "trips", "share"]);
    let mut tier_rows = Vec::new();
    for tier in Profitability::ALL {
        let count = figures.profitability.get(&tier).copied().unwrap_or(0);
        tier_rows.push((format!("profitability:{}", tier.name()), count));
        tiers.push(vec![
            Cell::text(tier.name()),
            Cell::count(count),
            Cell::share(share(count, ratio_items)),
        ]);
    }
    write_figure_table(out, &tiers, &tier_rows);
    out.push_str("</div></section>");
}

/// A table whose second column's cells are named figures (`data-figure`), for scripts.
fn write_figure_table(out: &mut String, table: &DataTable, figures: &[(String, u64)]) {
    let mut html = String::new();
    table.write_html(&mut html);
    for (name, count) in figures {
        let plain = format!("<td data-value=\"{count}\" class=\"number\">");
        let named = format!(
            "<td data-figure=\"{}\" data-value=\"{count}\" class=\"number\">",
            escape(name)
        );
        if let Some(at) = html.find(&plain) {
            html.replace_range(at..at + plain.len(), &named);
        }
    }
    out.push_str(&html);
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
    out.push_str("</figure>");
    Ok(())
}

fn write_runs(out: &mut String, runs: &RunHistory) {
    out.push_str("<section id=\"runs\"><h2>Runs and settings</h2>");
    let runs = match runs {
        RunHistory::NotKept(why) => {
            let _ = write!(
                out,
                "<p class=\"unavailable\">No runs to show: {}.</p></section>",
                escape(why)
            );
            return;
        }
        RunHistory::Recorded(runs) => runs,
    };
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
    if let Some(last) = runs.last() {
        write_settings(out, last, runs);
    }
    out.push_str("</section>");
}

fn write_settings(out: &mut String, last: &RunRecord, runs: &[RunRecord]) {
    let thresholds = &last.thresholds;
    let mut settings = DataTable::new(&["setting", "value"]);
    for (name, value) in [
        ("high_value_total (USD, over)", thresholds.high_value_total),
        ("short_trip_minutes (under)", thresholds.short_trip_minutes),
        ("long_trip_minutes (over)", thresholds.long_trip_minutes),
        ("max_trip_hours (over: invalid)", thresholds.max_trip_hours),
        (
            "low_fare_per_mile (USD, under)",
            thresholds.low_fare_per_mile,
        ),
        (
            "premium_fare_per_mile (USD, over)",
            thresholds.premium_fare_per_mile,
        ),
    ] {
        settings.push(vec![Cell::text(name), Cell::text(&value.to_string())]);
    }
    out.push_str("<h3>Thresholds of the last run</h3>");
    if runs.iter().any(|run| run.thresholds != last.thresholds) {
        out.push_str(
            "<p class=\"warning\">The runs used different thresholds: items written by \
             different runs were categorised differently.</p>",
        );
    }
    settings.write_html(out);
    let missing: Vec<String> = runs
        .iter()
        .flat_map(|run| &run.unavailable_analyses)
        .map(|missing| {
            format!(
                "{}: not computed for {} (no {} column)",
                missing.table, missing.file, missing.missing_column
            )
        })
        .collect();
    if !missing.is_empty() {
        out.push_str("<h3>Analyses some files could not feed</h3><ul>");
        for line in missing {
            let _ = write!(out, "<li>{}</li>", escape(&line));
        }
        out.push_str("</ul>");
    }
}
