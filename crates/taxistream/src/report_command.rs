//! `taxistream report`: the three tables, from SQLite or DynamoDB, as one HTML page of plots.

use crate::cli::ReportArgs;
use crate::progress_display::ProgressDisplay;
use crate::summary;
use anyhow::Context;
use serde::Serialize;
use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use taxistream_aws::settings::process_environment;
use taxistream_aws::{DynamoReportSource, RetryPolicy, SdkTimeouts, clients};
use taxistream_core::report::ReportFigures;
use taxistream_pipeline::local::SqliteReportSource;
use taxistream_pipeline::{Progress, build_report, utc_now_iso};
use taxistream_report::{ZoneNames, render_html};

/// What `report` prints.
#[derive(Debug, Serialize)]
struct ReportSummary {
    /// The page written.
    out: String,
    /// Its size in bytes.
    bytes: usize,
    /// The store read.
    store: String,
    /// Wall time, seconds.
    elapsed_seconds: f64,
    /// The figures the page shows.
    figures: ReportFigures,
}

/// Reads the store, writes the page, and says what it did.
pub async fn report(args: ReportArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let progress = Arc::new(Progress::default());
    let display = (!args.output.no_progress)
        .then(|| ProgressDisplay::start(Arc::clone(&progress), !args.output.json, "items"));
    let report = if args.dynamodb {
        let timeouts = SdkTimeouts::from_env(&process_environment())?;
        let config = clients::load_config(&timeouts).await?;
        let source = DynamoReportSource::new(
            clients::dynamodb(&config),
            args.tables.names(),
            args.segments,
            RetryPolicy::default(),
        );
        build_report(&source, progress).await.context(
            "reading the DynamoDB tables named by --high-value-table, --duration-table and \
             --ratio-table (or TAXISTREAM_TABLE_HIGH_VALUE_TRIPS, …_TRIP_DURATION_ANALYSIS, \
             …_DISTANCE_TO_FARE_RATIO)",
        )
    } else {
        refuse_to_overwrite_the_database(&args.out)?;
        let source = SqliteReportSource::open(&args.db)?;
        Ok(build_report(&source, progress).await?)
    };
    drop(display);
    let report = report?;
    if report.figures.items.values().all(|count| *count == 0) {
        anyhow::bail!("the {} hold no items: nothing to report", report.store);
    }
    let html = render_html(&report, &ZoneNames::official(), &utc_now_iso())?;
    write_page(&args.out, &html)?;
    let summary = ReportSummary {
        out: args.out.display().to_string(),
        bytes: html.len(),
        store: report.store,
        elapsed_seconds: started.elapsed().as_secs_f64(),
        figures: report.figures,
    };
    summary::print(&summary, args.output.json, || {
        format!(
            "taxistream report: wrote {} ({} KB): {} trips from the {} in {:.2} s\n",
            summary.out,
            summary.bytes.div_ceil(1024),
            summary.figures.trips(),
            summary.store,
            summary.elapsed_seconds
        )
    })
}

/// `--out` must not name the database, or any SQLite file: the page would replace it. (A `--db`
/// that is no SQLite file is refused when it is opened, before anything is written.)
fn refuse_to_overwrite_the_database(out: &Path) -> anyhow::Result<()> {
    if is_sqlite_file(out) {
        anyhow::bail!(
            "--out {} is a SQLite database: the report would replace it; give the page another name",
            out.display()
        );
    }
    Ok(())
}

/// True when `path` starts with SQLite's file header.
fn is_sqlite_file(path: &Path) -> bool {
    let mut header = [0_u8; 16];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut header))
        .is_ok_and(|()| &header == b"SQLite format 3\0")
}

/// Writes the page beside `out` and renames it into place: an old page is replaced whole or
/// not at all.
fn write_page(out: &Path, html: &str) -> anyhow::Result<()> {
    let failed = || format!("cannot write the report to {}", out.display());
    let mut staged_name = out.as_os_str().to_owned();
    staged_name.push(format!(".{}.partial", std::process::id()));
    let staged = Path::new(&staged_name);
    let written = std::fs::write(staged, html).and_then(|()| std::fs::rename(staged, out));
    if written.is_err() {
        // Best effort: the error that matters is the write's.
        let _ = std::fs::remove_file(staged);
    }
    written.with_context(failed)
}
