//! `taxistream consume`: the consumer role as a long-running process. Every shard is polled, each
//! batch goes through the same consumer as the Lambda function, and the checkpoint of a shard
//! moves only past records whose items are written, so a restart resumes where it stopped.

use crate::consumer::{BatchReport, Consumer};
use crate::dynamodb::BatchWriteApi;
use crate::kinesis_source::{Checkpoints, StreamReader};
use crate::retry::RetryPolicy;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use taxistream_pipeline::{PortError, RejectSink};

/// How the stream is consumed.
#[derive(Debug, Clone)]
pub struct StreamConsumeOptions {
    /// Records per GetRecords call (Kinesis allows up to 10,000).
    pub batch_size: i32,
    /// Stop once every shard is read to its tip.
    pub until_idle: bool,
    /// Wait between rounds that found nothing new.
    pub poll_interval: Duration,
    /// The checkpoint file.
    pub checkpoint: PathBuf,
}

/// What a `consume` run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct StreamConsumeReport {
    /// Batches read.
    pub batches: u64,
    /// Batches that failed part way and were read again.
    pub batches_retried: u64,
    /// The batches' counts together.
    pub totals: BatchReport,
    /// True when stopped by a signal rather than by running out of records.
    pub interrupted: bool,
}

/// Consumes until idle (with `until_idle`) or until `stop` is set; every batch is reported to
/// `on_batch` as it is done.
pub async fn consume_stream<D, J>(
    reader: &mut StreamReader,
    consumer: &Consumer<D>,
    rejects: &mut J,
    options: &StreamConsumeOptions,
    stop: &AtomicBool,
    mut on_batch: impl FnMut(&BatchReport),
) -> Result<StreamConsumeReport, PortError>
where
    D: BatchWriteApi + Clone,
    J: RejectSink,
{
    let stream = reader.stream().to_owned();
    let mut checkpoints = Checkpoints::load(&options.checkpoint, &stream)?;
    let mut report = StreamConsumeReport::default();
    let backoff = RetryPolicy::default();
    let mut failures_in_a_row = 0;
    let mut shards = reader.refresh_shards().await?;
    loop {
        let mut found = false;
        let mut behind = false;
        let mut shard_ended = false;
        for shard in &shards {
            if stop.load(Ordering::Relaxed) {
                report.interrupted = true;
                return Ok(report);
            }
            let read = match reader.read(shard, &checkpoints, options.batch_size).await {
                Ok(read) => read,
                Err(error) if error.retryable() => {
                    tracing::warn!("{error}; retrying");
                    failures_in_a_row += 1;
                    tokio::time::sleep(backoff.delay(failures_in_a_row)).await;
                    behind = true;
                    continue;
                }
                Err(error) => return Err(error),
            };
            shard_ended |= !reader.open_shards().contains(shard);
            behind |= read.millis_behind_latest.is_some_and(|millis| millis > 0);
            if read.records.is_empty() {
                continue;
            }
            found = true;
            let batch = consumer.consume_batch_to(&read.records, rejects).await;
            report.batches += 1;
            report.totals.merge(&batch);
            if batch.records_done > 0 {
                let last_done = &read.records[batch.records_done - 1];
                if let Some(sequence) = &last_done.sequence_number {
                    // The batch's undecodable records are on disk before the checkpoint moves
                    // past them.
                    rejects.flush().await?;
                    checkpoints.shards.insert(shard.clone(), sequence.clone());
                    checkpoints.save(&options.checkpoint)?;
                }
            }
            on_batch(&batch);
            if let Some(failure) = &batch.failure {
                let Some(sequence) = &batch.first_failed_sequence else {
                    return Err(PortError::permanent(failure.clone()));
                };
                if !batch.retryable {
                    return Err(PortError::permanent(format!(
                        "{shard}: {failure} (the checkpoint stays before sequence number {sequence})"
                    )));
                }
                reader.rewind(shard, sequence);
                report.batches_retried += 1;
                failures_in_a_row += 1;
                tracing::warn!("{shard}: {failure}; reading again from {sequence}");
                tokio::time::sleep(backoff.delay(failures_in_a_row)).await;
            } else {
                failures_in_a_row = 0;
            }
        }
        if shard_ended {
            shards = reader.refresh_shards().await?;
        }
        if !found {
            if options.until_idle && !behind {
                return Ok(report);
            }
            tokio::time::sleep(options.poll_interval).await;
        }
    }
}
