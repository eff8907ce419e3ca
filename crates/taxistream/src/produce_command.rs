//! `taxistream produce`: the producer role from a laptop: local files or S3 objects → Kinesis.

use crate::cli::ProduceArgs;
use crate::progress_display::ProgressDisplay;
use crate::summary;
use anyhow::bail;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;
use taxistream_aws::Aggregation;
use taxistream_aws::settings::{ProducerSettings, process_environment};
use taxistream_aws::{
    DeliveryStats, ObjectRef, ObjectReport, Producer, S3Store, SdkTimeouts, clients,
};
use taxistream_core::{Accounting, open_path};
use taxistream_pipeline::local::RejectsFile;
use taxistream_pipeline::{IteratorSource, Progress};

/// Produces every input in turn (each on its own, as the Lambda function would) and prints the
/// accounting.
pub async fn produce(args: ProduceArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut settings = ProducerSettings::from_env(&process_environment())?;
    settings.stream = args.stream.name.clone();
    settings.rejects_bucket = args.rejects_bucket.clone();
    taxistream_aws::settings::check_rejects_prefix("--rejects-prefix", &args.rejects_prefix)?;
    settings.rejects_prefix = args.rejects_prefix.clone();
    settings.aggregation =
        Aggregation::parse(&args.aggregation, args.aggregate_max_bytes.as_deref())
            .map_err(|problem| anyhow::anyhow!("--aggregation/--aggregate-max-bytes: {problem}"))?;
    let timeouts = SdkTimeouts::from_env(&process_environment())?;
    let config = clients::load_config(&timeouts).await?;
    let progress = Arc::new(Progress::default());
    let producer = Producer::new(
        S3Store::new(clients::s3(&config)).with_body_stall(timeouts.attempt),
        clients::kinesis(&config),
        settings,
    )
    .with_progress(Arc::clone(&progress));
    let display = (!args.output.no_progress)
        .then(|| ProgressDisplay::start(Arc::clone(&progress), !args.output.json, "rows"));
    let mut local_rejects: Option<RejectsFile> = None;
    let mut reports = Vec::new();
    for input in &args.inputs {
        let report = match ObjectRef::parse_url(input) {
            Some(object) => producer.produce_object(&object).await?,
            None => {
                if input.starts_with("s3://") {
                    bail!("{input}: expected s3://bucket/key");
                }
                let rejects = match &mut local_rejects {
                    Some(rejects) => rejects,
                    None => local_rejects.insert(RejectsFile::create(&args.rejects)?),
                };
                let path = std::path::Path::new(input);
                let reader = open_path(path, crate::cores())?;
                let (format, unavailable_analyses) =
                    (reader.format(), reader.unavailable_analyses());
                let (accounting, stream) = producer
                    .produce_from(IteratorSource(reader), input, rejects)
                    .await?;
                ObjectReport {
                    source: input.clone(),
                    format,
                    accounting,
                    stream,
                    rejects_object: None,
                    unavailable_analyses,
                    invocation: 0,
                    finished: true,
                    last_part: true,
                }
            }
        };
        tracing::debug!("produced {}", report.source);
        reports.push(report);
    }
    if let Some(rejects) = local_rejects {
        rejects.finish()?;
    }
    drop(display);
    let summary = ProduceSummary::new(&reports, &args, started);
    summary::print(&summary, args.output.json, || summary.to_text())
}

/// What `produce` prints.
#[derive(serde::Serialize)]
struct ProduceSummary<'a> {
    stream: &'a str,
    accounting: Accounting,
    put_records: DeliveryStats,
    inputs: &'a [ObjectReport],
    rejects_file: Option<String>,
    elapsed_seconds: f64,
}

impl<'a> ProduceSummary<'a> {
    fn new(reports: &'a [ObjectReport], args: &'a ProduceArgs, started: Instant) -> Self {
        let mut accounting = Accounting::default();
        let mut put_records = DeliveryStats::default();
        for report in reports {
            accounting.merge(&report.accounting);
            put_records.merge(&report.stream);
        }
        let any_local = reports.iter().any(|report| {
            report.rejects_object.is_none() && ObjectRef::parse_url(&report.source).is_none()
        });
        ProduceSummary {
            stream: &args.stream.name,
            accounting,
            put_records,
            inputs: reports,
            rejects_file: any_local.then(|| args.rejects.display().to_string()),
            elapsed_seconds: started.elapsed().as_secs_f64(),
        }
    }

    fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "taxistream produce: {} rows from {} input{} to stream {} in {:.2} s",
            self.accounting.rows_read,
            self.inputs.len(),
            if self.inputs.len() == 1 { "" } else { "s" },
            self.stream,
            self.elapsed_seconds
        );
        summary::write_rows(&mut out, &self.accounting);
        let calls = self.put_records;
        let _ = writeln!(
            out,
            "\nstream   {} records in {} PutRecords calls ({} records resent, {} calls retried)",
            self.accounting.trips, calls.calls, calls.retried_entries, calls.retried_calls
        );
        for report in self.inputs {
            if let Some(object) = &report.rejects_object {
                let _ = writeln!(
                    out,
                    "rejects  {object} ({} rows)",
                    report.accounting.rejected
                );
            }
        }
        if let Some(file) = &self.rejects_file {
            let _ = writeln!(out, "rejects  {file}");
        }
        let _ = writeln!(
            out,
            "next     taxistream consume --stream {} --until-idle",
            self.stream
        );
        out
    }
}
