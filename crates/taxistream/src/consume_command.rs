//! `taxistream consume`: the consumer role as a process: every shard of a Kinesis stream → the
//! three DynamoDB tables, with a checkpoint per shard; stops on Ctrl-C or, with `--until-idle`,
//! once every shard is read to its tip.

use crate::cli::{ConsumeArgs, StartFrom};
use crate::progress_display::ProgressDisplay;
use crate::summary;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use taxistream_aws::kinesis_source::{StartPosition, StreamReader};
use taxistream_aws::settings::{ConsumerSettings, process_environment};
use taxistream_aws::stream_consumer::{StreamConsumeOptions, StreamConsumeReport, consume_stream};
use taxistream_aws::{Consumer, RetryPolicy, S3Store, SdkTimeouts, clients};
use taxistream_pipeline::Progress;
use taxistream_pipeline::local::RejectsFile;

/// Consumes the stream until stopped and prints what was done.
pub async fn consume(args: ConsumeArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let rules = crate::settings::resolve(&args.rules.thresholds, args.rules.config.as_deref())?;
    let timeouts = SdkTimeouts::from_env(&process_environment())?;
    let config = clients::load_config(&timeouts).await?;
    let settings = ConsumerSettings {
        tables: args.tables.names(),
        rules,
        // Undecodable records go to the local rejects file, not to S3.
        rejects_bucket: String::new(),
        rejects_prefix: String::new(),
        retry: RetryPolicy::default(),
        // The CLI has no invocation deadline.
        deadline_margin: Duration::ZERO,
    };
    let consumer = Consumer::new(
        clients::dynamodb(&config),
        S3Store::new(clients::s3(&config)).with_body_stall(timeouts.attempt),
        settings,
    );
    let start = match args.from {
        StartFrom::TrimHorizon => StartPosition::TrimHorizon,
        StartFrom::Latest => StartPosition::Latest,
    };
    let mut reader = StreamReader::new(clients::kinesis(&config), &args.stream.name, start);
    let options = StreamConsumeOptions {
        batch_size: args.batch_size,
        until_idle: args.until_idle,
        poll_interval: Duration::from_millis(args.poll_interval_ms),
        checkpoint: args.checkpoint.clone().unwrap_or_else(|| {
            PathBuf::from(format!("taxistream-{}.checkpoint.json", args.stream.name))
        }),
    };
    let mut rejects = RejectsFile::append(&args.rejects)?;
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_signals(Arc::clone(&stop));
    let progress = Arc::new(Progress::default());
    let display = (!args.output.no_progress)
        .then(|| ProgressDisplay::start(Arc::clone(&progress), !args.output.json, "records"));
    let result = consume_stream(
        &mut reader,
        &consumer,
        &mut rejects,
        &options,
        &stop,
        |batch| {
            progress.add_rows(batch.records_done as u64);
        },
    )
    .await;
    drop(display);
    let finished = rejects.finish();
    let report = result?;
    finished?;
    let summary = ConsumeSummary {
        stream: &args.stream.name,
        report: &report,
        checkpoint: options.checkpoint.display().to_string(),
        rejects_file: args.rejects.display().to_string(),
        elapsed_seconds: started.elapsed().as_secs_f64(),
    };
    summary::print(&summary, args.output.json, || summary.to_text())
}

/// The first Ctrl-C (or SIGTERM) stops after the batch in hand, checkpoint saved.
fn stop_on_signals(stop: Arc<AtomicBool>) {
    tokio::spawn(async move {
        let interrupt = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut terminate =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(signal) => signal,
                    Err(_) => return,
                };
            tokio::select! {
                _ = interrupt => {}
                _ = terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = interrupt.await;
        tracing::info!(
            "stopping after the batch in hand (the checkpoint is saved); press Ctrl-C again to stop at once"
        );
        stop.store(true, Ordering::Relaxed);
        // A second signal stops at once: the batch in hand is read again on restart (writes are
        // idempotent), nothing is lost.
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::warn!("stopped at once; the batch in hand will be read again");
            std::process::exit(130);
        }
    });
}

/// What `consume` prints.
#[derive(serde::Serialize)]
struct ConsumeSummary<'a> {
    stream: &'a str,
    report: &'a StreamConsumeReport,
    checkpoint: String,
    rejects_file: String,
    elapsed_seconds: f64,
}

impl ConsumeSummary<'_> {
    fn to_text(&self) -> String {
        let totals = &self.report.totals;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "taxistream consume: {} records in {} batches from stream {} in {:.2} s{}",
            totals.records_done,
            self.report.batches,
            self.stream,
            self.elapsed_seconds,
            if self.report.interrupted {
                " (stopped by a signal)"
            } else {
                ""
            }
        );
        summary::write_items(&mut out, &totals.accounting);
        summary::write_categories(&mut out, &totals.accounting);
        let calls = totals.tables;
        let _ = writeln!(
            out,
            "\ntables      {} BatchWriteItem calls ({} items resent, {} calls retried, {} batches read again)",
            calls.calls, calls.retried_entries, calls.retried_calls, self.report.batches_retried
        );
        let _ = writeln!(out, "checkpoint  {}", self.checkpoint);
        let _ = writeln!(
            out,
            "rejects     {} ({} undecodable records)",
            self.rejects_file, totals.poison
        );
        out
    }
}
