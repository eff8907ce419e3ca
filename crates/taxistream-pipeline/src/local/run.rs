//! `taxistream run`: the whole pipeline on one machine. Producer → N-shard in-process stream →
//! one consumer per shard → the SQLite tables, with rejected rows to a CSV file.

use super::error::RunError;
use super::inputs::{absolute, check_outputs, expand_inputs, trip_files};
use super::ledger::{LedgerCounts, TripLedger};
use super::rejects::RejectsFile;
use super::sqlite::{SqliteTables, open_sqlite_tables, record_run};
use super::stream::{LocalStreamSink, ShardReceiver, local_stream};
use crate::consume::{PoisonRecord, consume};
use crate::ports::{PortError, RejectSink};
use crate::produce::produce;
use crate::progress::Progress;
use crate::report::utc_now_iso;
use crate::source::IteratorSource;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use taxistream_core::report::{RunRecord, UnavailableAnalysis};
use taxistream_core::{
    Accounting, AnalysisRules, Format, InputError, ReadItem, TripReader, open_path,
};

/// What a local run reads, where it writes, and how.
#[derive(Debug, Clone)]
pub struct LocalRunConfig {
    /// Files or directories to read.
    pub inputs: Vec<PathBuf>,
    /// The SQLite database holding the three tables.
    pub database: PathBuf,
    /// The CSV file receiving rejected rows.
    pub rejects: PathBuf,
    /// Shards of the in-process stream (one consumer each).
    pub shards: usize,
    /// Threads converting CSV rows to trips (1: on the producer's thread).
    pub reader_workers: usize,
    /// The analysis rules.
    pub rules: AnalysisRules,
    /// Trips duplicate detection keeps in memory, all shards together, before it writes sorted
    /// runs to temporary files beside the database (32 bytes each).
    pub dedup_memory_trips: usize,
}

/// The default of [`LocalRunConfig::dedup_memory_trips`]: 32 MiB.
pub const DEFAULT_DEDUP_MEMORY_TRIPS: usize = 1 << 20;

/// What one input file gave.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileReport {
    /// The file.
    pub path: String,
    /// Its detected format.
    pub format: Format,
    /// Rows read, trips, duplicates, rejects of this file.
    pub rows_read: u64,
    /// Trips first seen in this file.
    pub trips: u64,
    /// Rows repeating a trip seen before in this run.
    pub duplicates: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Tables this file cannot feed, with the missing column: `(table, column)`.
    pub unavailable_analyses: Vec<(&'static str, &'static str)>,
}

/// What a local run did.
#[derive(Debug, Clone)]
pub struct LocalRunReport {
    /// The run's accounting, every file and shard together.
    pub accounting: Accounting,
    /// Per input file.
    pub files: Vec<FileReport>,
    /// Files found in a directory that are not trip files, with why.
    pub skipped: Vec<String>,
    /// Records that reached the consumers but could not be decoded (never expected locally).
    pub poison: Vec<PoisonRecord>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Bytes of input text read (CSV; Parquet files count their size).
    pub bytes_read: u64,
}

/// Runs the pipeline on the inputs; `progress` is updated as rows are read.
pub async fn run_local(
    config: &LocalRunConfig,
    progress: Arc<Progress>,
) -> Result<LocalRunReport, RunError> {
    let started = Instant::now();
    let started_at = utc_now_iso();
    let files = expand_inputs(&config.inputs, &[&config.database, &config.rejects])?;
    check_outputs(&config.database, &config.rejects, &files)?;
    let (files, skipped) = trip_files(files)?;
    let (tables, writer) = open_sqlite_tables(&config.database)?;
    let mut rejects = RejectsFile::create(&config.rejects)?;
    let (sink, receivers) = local_stream(config.shards);
    let mut sink = sink.counting_into(Arc::clone(&progress));
    let spill_directory = absolute(&config.database)
        .and_then(|path| path.parent().map(Path::to_owned))
        .unwrap_or_else(std::env::temp_dir);
    let ledger_capacity = config.dedup_memory_trips / receivers.len().max(1);
    let consumers: Vec<_> = receivers
        .into_iter()
        .map(|receiver| {
            let ledger = TripLedger::new(ledger_capacity, &spill_directory);
            tokio::spawn(consume_shard(
                receiver,
                config.rules.clone(),
                tables.clone(),
                ledger,
            ))
        })
        .collect();
    drop(tables);

    let mut accounting = Accounting::default();
    let mut reports = Vec::with_capacity(files.len());
    let mut produce_result = Ok(());
    for (index, file) in files.iter().enumerate() {
        sink.start_file(u32::try_from(index).unwrap_or(u32::MAX));
        match produce_file(
            file,
            config.reader_workers,
            &mut sink,
            &mut rejects,
            &progress,
        )
        .await
        {
            Ok((report, file_accounting)) => {
                accounting.merge(&file_accounting);
                reports.push(report);
            }
            Err(error) => {
                produce_result = Err(error);
                break;
            }
        }
    }
    drop(sink);

    let mut poison = Vec::new();
    let mut ledger = LedgerCounts::default();
    let mut consumer_error = None;
    let mut internal_error = None;
    for consumer in consumers {
        match consumer.await {
            Ok(Ok((shard_ledger, shard_poison))) => {
                ledger.merge(&shard_ledger);
                poison.extend(shard_poison);
            }
            Ok(Err(error)) => consumer_error = Some(error),
            Err(error) => internal_error = Some(format!("a consumer failed: {error}")),
        }
    }
    // The writer's own error is the root cause of a consumer's or producer's "stopped".
    writer.finish()?;
    // The database is published: so is the rejects file, whatever else stopped the run.
    for record in &poison {
        rejects.reject("stream", &record.to_rejection()).await?;
    }
    rejects.finish()?;
    if let Some(error) = consumer_error {
        return Err(error.into());
    }
    if let Some(error) = internal_error {
        return Err(RunError::Internal(error));
    }
    produce_result?;
    count_duplicates(&mut accounting, &mut reports, &ledger)?;
    let record = run_record(config, started_at, &accounting, &reports);
    record_run(&config.database, &record)?;
    Ok(LocalRunReport {
        accounting,
        files: reports,
        skipped,
        poison,
        elapsed: started.elapsed(),
        bytes_read: progress.bytes(),
    })
}

/// What the run did, for the database's table of runs.
fn run_record(
    config: &LocalRunConfig,
    started_at: String,
    accounting: &Accounting,
    reports: &[FileReport],
) -> RunRecord {
    RunRecord {
        started_at,
        finished_at: utc_now_iso(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        inputs: config
            .inputs
            .iter()
            .map(|input| input.display().to_string())
            .collect(),
        accounting: accounting.clone(),
        thresholds: config.rules.thresholds().clone(),
        unavailable_analyses: reports
            .iter()
            .flat_map(|report| {
                report
                    .unavailable_analyses
                    .iter()
                    .map(|(table, column)| UnavailableAnalysis {
                        file: report.path.clone(),
                        table: (*table).to_owned(),
                        missing_column: (*column).to_owned(),
                    })
            })
            .collect(),
    }
}

/// Moves the trips the ledger found to repeat an earlier one from trips to duplicates, per file
/// and in total, and takes the analyses' counts from it (each trip once, in its last version).
fn count_duplicates(
    accounting: &mut Accounting,
    reports: &mut [FileReport],
    ledger: &LedgerCounts,
) -> Result<(), RunError> {
    let internal = RunError::Internal;
    let sent = accounting.trips;
    let (trips, duplicates) = ledger
        .files
        .iter()
        .fold((0, 0), |(trips, duplicates), file| {
            (trips + file.trips, duplicates + file.duplicates)
        });
    if trips + duplicates != sent {
        return Err(internal(format!(
            "{sent} trips sent but {trips} trips + {duplicates} duplicates consumed"
        )));
    }
    let none = super::ledger::FileCounts::default();
    for (index, report) in reports.iter_mut().enumerate() {
        let counts = ledger.files.get(index).unwrap_or(&none);
        if counts.trips + counts.duplicates != report.trips {
            return Err(internal(format!(
                "{}: {} trips sent but {} trips + {} duplicates consumed",
                report.path, report.trips, counts.trips, counts.duplicates
            )));
        }
        report.trips = counts.trips;
        report.duplicates += counts.duplicates;
    }
    accounting.trips = trips;
    accounting.duplicates += duplicates;
    accounting.merge(&ledger.analyses);
    if !accounting.balances() {
        return Err(internal(format!(
            "{} rows read but {} trips + {} duplicates + {} rejected",
            accounting.rows_read, accounting.trips, accounting.duplicates, accounting.rejected
        )));
    }
    Ok(())
}

async fn produce_file(
    file: &Path,
    workers: usize,
    sink: &mut LocalStreamSink,
    rejects: &mut RejectsFile,
    progress: &Progress,
) -> Result<(FileReport, Accounting), RunError> {
    let reader = open_path(file, workers)?;
    let format = reader.format();
    let unavailable_analyses = reader.unavailable_analyses();
    let source_name = file.display().to_string();
    let counted = Counted::new(reader, progress, file);
    let accounting = produce(IteratorSource(counted), &source_name, None, sink, rejects).await?;
    let report = FileReport {
        path: source_name,
        format,
        rows_read: accounting.rows_read,
        trips: accounting.trips,
        duplicates: accounting.duplicates,
        rejected: accounting.rejected,
        unavailable_analyses,
    };
    Ok((report, accounting))
}

/// Consumes one shard: its trips analysed and written, and noted in its ledger.
async fn consume_shard(
    mut receiver: ShardReceiver,
    rules: AnalysisRules,
    mut tables: SqliteTables,
    mut ledger: TripLedger,
) -> Result<(LedgerCounts, Vec<PoisonRecord>), PortError> {
    let directory = ledger.directory().display().to_string();
    let spill_failed = |error: std::io::Error| {
        PortError::permanent(format!(
            "duplicate detection: temporary file in {directory}"
        ))
        .caused_by(error)
    };
    let mut poison = Vec::new();
    while let Some(batch) = receiver.recv().await {
        let outcome = consume(&batch, &rules, &mut tables).await;
        if let Some(failure) = outcome.failure {
            return Err(failure.error);
        }
        for (index, summary) in outcome.analysed {
            let Some(record) = batch.get(index) else {
                continue;
            };
            ledger
                .note(
                    record.decoded.id.fingerprint(),
                    record.order,
                    record.file,
                    summary,
                )
                .map_err(spill_failed)?;
        }
        poison.extend(outcome.poison);
    }
    Ok((ledger.finish().map_err(spill_failed)?, poison))
}

/// A reader that reports rows and bytes to the progress counters as it goes.
struct Counted<'a> {
    reader: TripReader,
    progress: &'a Progress,
    bytes_reported: u64,
    file_size: u64,
}

impl<'a> Counted<'a> {
    fn new(reader: TripReader, progress: &'a Progress, path: &Path) -> Self {
        let file_size = std::fs::metadata(path).map_or(0, |metadata| metadata.len());
        Counted {
            reader,
            progress,
            bytes_reported: 0,
            file_size,
        }
    }
}

impl Iterator for Counted<'_> {
    type Item = Result<ReadItem, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.reader.next();
        match (&item, self.reader.bytes_read()) {
            (Some(_), Some(bytes)) => {
                self.progress.add_rows(1);
                self.progress
                    .add_bytes(bytes.saturating_sub(self.bytes_reported));
                self.bytes_reported = bytes;
            }
            (Some(_), None) => self.progress.add_rows(1),
            // Parquet: count the file's size once it is done.
            (None, None) => {
                self.progress
                    .add_bytes(self.file_size.saturating_sub(self.bytes_reported));
                self.bytes_reported = self.file_size;
            }
            (None, Some(_)) => {}
        }
        item
    }
}
