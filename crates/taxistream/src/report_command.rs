//! `taxistream report`: the three tables, from SQLite or DynamoDB, as one HTML page of plots.

use crate::cli::ReportArgs;
use crate::progress_display::ProgressDisplay;
use crate::summary;
use anyhow::Context;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;
use taxistream_aws::settings::process_environment;
use taxistream_aws::{DynamoReportSource, RetryPolicy, SdkTimeouts, clients};
use taxistream_core::report::{ReportFigures, utc_now_iso};
use taxistream_pipeline::local::SqliteReportSource;
use taxistream_pipeline::{Progress, build_report};
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
        build_report(&source, progress).await
    } else {
        let source = SqliteReportSource::open(&args.db)?;
        build_report(&source, progress).await
    };
    drop(display);
    let report = report?;
    if report.figures.items.values().all(|count| *count == 0) {
        anyhow::bail!("the {} hold no items: nothing to report", report.store);
    }
    let html = render_html(&report, &ZoneNames::official(), &utc_now_iso())?;
    std::fs::write(&args.out, &html)
        .with_context(|| format!("cannot write the report to {}", args.out.display()))?;
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
