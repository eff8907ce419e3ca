//! The end-of-run summary, as text for people or JSON for scripts.

use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;
use taxistream_core::{Accounting, DurationCategory, Profitability, Table, Thresholds};
use taxistream_pipeline::local::{FileReport, LocalRunReport};

/// The summary as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct Summary<'a> {
    /// Contract §4 accounting for the whole run.
    pub accounting: &'a Accounting,
    /// Share of trips that are high value (0 when there are no trips).
    pub high_value_share: f64,
    /// Per input file.
    pub files: &'a [FileReport],
    /// Files found in directories that are not trip files, with why.
    pub skipped_files: &'a [String],
    /// Undecodable stream records (always 0 locally unless something is badly wrong).
    pub poison_records: usize,
    /// Wall time, seconds.
    pub elapsed_seconds: f64,
    /// Rows read per second.
    pub rows_per_second: f64,
    /// Input bytes read.
    pub bytes_read: u64,
    /// The SQLite database.
    pub database: String,
    /// The rejects CSV file.
    pub rejects_file: String,
    /// Thresholds used.
    pub thresholds: &'a Thresholds,
}

impl<'a> Summary<'a> {
    /// Builds the summary of a finished run.
    pub fn new(
        report: &'a LocalRunReport,
        database: &Path,
        rejects: &Path,
        thresholds: &'a Thresholds,
    ) -> Self {
        let accounting = &report.accounting;
        let elapsed = report.elapsed.as_secs_f64().max(1e-9);
        let high_value = count(&accounting.items, &Table::HighValueTrips);
        Summary {
            accounting,
            high_value_share: ratio(high_value, accounting.trips),
            files: &report.files,
            skipped_files: &report.skipped,
            poison_records: report.poison.len(),
            elapsed_seconds: report.elapsed.as_secs_f64(),
            rows_per_second: accounting.rows_read as f64 / elapsed,
            bytes_read: report.bytes_read,
            database: database.display().to_string(),
            rejects_file: rejects.display().to_string(),
            thresholds,
        }
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        let a = self.accounting;
        let mut out = String::new();
        let files = self.files.len();
        let _ = writeln!(
            out,
            "taxistream run: {} rows from {files} file{} in {:.2} s ({} rows/s, {})",
            a.rows_read,
            if files == 1 { "" } else { "s" },
            self.elapsed_seconds,
            self.rows_per_second.round(),
            human_bytes(self.bytes_read),
        );
        write_rows(&mut out, a);
        write_items(&mut out, a);
        let _ = writeln!(
            out,
            "  high-value share: {:.2}% of trips (total_amount > {})",
            self.high_value_share * 100.0,
            self.thresholds.high_value_total
        );
        if self.files.iter().any(|file| {
            file.unavailable_analyses
                .iter()
                .any(|(table, _)| *table == Table::HighValueTrips.name())
        }) {
            let _ = writeln!(
                out,
                "  (trips of files without total_amount count as not high value)"
            );
        }
        write_categories(&mut out, a);
        for file in self
            .files
            .iter()
            .filter(|file| !file.unavailable_analyses.is_empty())
        {
            let missing: Vec<String> = file
                .unavailable_analyses
                .iter()
                .map(|(table, column)| format!("{table} (no {column} column)"))
                .collect();
            let _ = writeln!(
                out,
                "\nnot computed for {}: {}",
                file.path,
                missing.join(", ")
            );
        }
        for skipped in self.skipped_files {
            let _ = writeln!(out, "\nskipped {skipped}");
        }
        if self.poison_records > 0 {
            let _ = writeln!(
                out,
                "\nundecodable stream records: {} (see the rejects file)",
                self.poison_records
            );
        }
        let _ = writeln!(
            out,
            "\nresults  {} (SQLite: {})",
            self.database,
            table_list()
        );
        let _ = writeln!(out, "rejects  {} ({} rows)", self.rejects_file, a.rejected);
        let _ = writeln!(
            out,
            "try      sqlite3 {} \"SELECT duration_category, count(*), round(avg(duration_minutes), 2) FROM trip_duration_analysis GROUP BY 1 ORDER BY 2 DESC\"",
            shell_quote(&self.database)
        );
        out
    }
}

/// Prints a command's summary: as pretty JSON with `--json`, else as the text `to_text` gives.
pub fn print<S: Serialize>(
    summary: &S,
    json: bool,
    to_text: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if json {
        let text = serde_json::to_string_pretty(summary)
            .map_err(|error| anyhow::anyhow!("cannot encode the summary: {error}"))?;
        println!("{text}");
    } else {
        print!("{}", to_text());
    }
    Ok(())
}

/// The rows part of the accounting: read = trips + duplicates + rejected, rejects by reason.
pub fn write_rows(out: &mut String, a: &Accounting) {
    let _ = writeln!(
        out,
        "\naccounting (rows read = trips + duplicates + rejected)"
    );
    let _ = writeln!(out, "  rows read    {:>10}", a.rows_read);
    let _ = writeln!(out, "  trips        {:>10}", a.trips);
    let _ = writeln!(out, "  duplicates   {:>10}", a.duplicates);
    let _ = writeln!(out, "  rejected     {:>10}", a.rejected);
    for (reason, n) in &a.rejected_by_reason {
        let _ = writeln!(out, "    {:<20} {n:>8}", reason.name());
    }
}

/// Items written per table.
pub fn write_items(out: &mut String, a: &Accounting) {
    let _ = writeln!(out, "\nitems written");
    for table in Table::ALL {
        let _ = writeln!(
            out,
            "  {:<24} {:>10}",
            table.name(),
            count(&a.items, &table)
        );
    }
}

/// Trips per duration category and per fare-per-mile tier.
pub fn write_categories(out: &mut String, a: &Accounting) {
    let categories: Vec<String> = DurationCategory::ALL
        .iter()
        .map(|c| format!("{} {}", c.name(), count(&a.duration_category, c)))
        .collect();
    let tiers: Vec<String> = Profitability::ALL
        .iter()
        .map(|t| format!("{} {}", t.name(), count(&a.profitability, t)))
        .collect();
    let _ = writeln!(out, "\nduration       {}", categories.join("  "));
    let _ = writeln!(out, "fare per mile  {}", tiers.join("  "));
}

fn table_list() -> String {
    Table::ALL.map(Table::name).join(", ")
}

fn count<K: Ord>(map: &std::collections::BTreeMap<K, u64>, key: &K) -> u64 {
    map.get(key).copied().unwrap_or(0)
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// `1.2 MB`-style sizes.
pub fn human_bytes(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

fn shell_quote(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
