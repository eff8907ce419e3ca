//! The producer's end of a Kinesis stream: PutRecords, resending only the entries that failed.

use crate::aggregation::Aggregation;
use crate::error::{is_retryable_code, port_error};
use crate::retry::{DeliveryStats, RetryPolicy};
use aws_sdk_kinesis::operation::put_records::PutRecordsOutput;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use std::future::Future;
use taxistream_core::record::aggregation;
use taxistream_core::record::kpl::UserRecord;
use taxistream_core::{RowRejection, Trip, TripId};
use taxistream_pipeline::produce::{Batch, BatchLimits, stream_record};
use taxistream_pipeline::{PortError, RecordSink, StreamRecord};

/// What Kinesis said of one entry of a PutRecords call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryOutcome {
    /// Stored, at this sequence number.
    Accepted {
        /// The shard it went to.
        shard_id: String,
        /// Its sequence number (decimal digits).
        sequence_number: String,
    },
    /// Refused (throttled, or an internal failure): send it again.
    Failed {
        /// The error code, e.g. `ProvisionedThroughputExceededException`.
        code: String,
        /// The error message.
        message: String,
    },
}

/// The one Kinesis call the producer makes, narrow so that tests can inject faults around it.
pub trait PutRecordsApi: Send + Sync {
    /// Puts `records` to `stream` in one PutRecords call; one outcome per record, in order.
    fn put_records(
        &self,
        stream: &str,
        records: &[StreamRecord],
    ) -> impl Future<Output = Result<Vec<EntryOutcome>, PortError>> + Send;
}

impl PutRecordsApi for aws_sdk_kinesis::Client {
    async fn put_records(
        &self,
        stream: &str,
        records: &[StreamRecord],
    ) -> Result<Vec<EntryOutcome>, PortError> {
        let entries = records
            .iter()
            .map(|record| {
                PutRecordsRequestEntry::builder()
                    .partition_key(&record.partition_key)
                    .set_explicit_hash_key(record.explicit_hash_key.clone())
                    .data(Blob::new(record.data.clone()))
                    .build()
                    .map_err(|error| PortError::internal("PutRecords entry").caused_by(error))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The sink retries (only the failed entries); the SDK's own retries would multiply them.
        let no_sdk_retries = aws_sdk_kinesis::config::Builder::default()
            .retry_config(aws_sdk_kinesis::config::retry::RetryConfig::disabled());
        let output = aws_sdk_kinesis::Client::put_records(self)
            .stream_name(stream)
            .set_records(Some(entries))
            .customize()
            .config_override(no_sdk_retries)
            .send()
            .await
            .map_err(|error| port_error(&format!("PutRecords to stream {stream}"), &error))?;
        Ok(entry_outcomes(&output))
    }
}

/// The outcome of each entry of a PutRecords response, in request order.
pub fn entry_outcomes(output: &PutRecordsOutput) -> Vec<EntryOutcome> {
    output
        .records()
        .iter()
        .map(
            |entry| match (entry.error_code(), entry.sequence_number()) {
                (None, Some(sequence_number)) => EntryOutcome::Accepted {
                    shard_id: entry.shard_id().unwrap_or_default().to_owned(),
                    sequence_number: sequence_number.to_owned(),
                },
                (code, _) => EntryOutcome::Failed {
                    code: code.unwrap_or("NoSequenceNumber").to_owned(),
                    message: entry.error_message().unwrap_or_default().to_owned(),
                },
            },
        )
        .collect()
}

/// The positions of the failed entries.
pub fn failed_entries(outcomes: &[EntryOutcome]) -> Vec<usize> {
    outcomes
        .iter()
        .enumerate()
        .filter(|(_, outcome)| matches!(outcome, EntryOutcome::Failed { .. }))
        .map(|(index, _)| index)
        .collect()
}

/// Trips gathered per put when aggregating: bytes of their JSON records (one or two PutRecords
/// calls' worth). Each put leaves at most one aggregate not full per hash-key bucket: the larger the
/// put, the fewer records per trip.
const AGGREGATED_BATCH_BYTES: usize = 8 << 20;

/// A Kinesis stream as the producer's record sink.
#[derive(Debug)]
pub struct KinesisSink<A> {
    api: A,
    stream: String,
    policy: RetryPolicy,
    aggregation: Aggregation,
    stats: DeliveryStats,
}

impl<A: PutRecordsApi> KinesisSink<A> {
    /// A sink putting to `stream`, one record per trip.
    pub fn new(api: A, stream: impl Into<String>, policy: RetryPolicy) -> Self {
        KinesisSink {
            api,
            stream: stream.into(),
            policy,
            aggregation: Aggregation::None,
            stats: DeliveryStats::default(),
        }
    }

    /// The same sink, putting trips as `aggregation` says.
    pub fn with_aggregation(mut self, aggregation: Aggregation) -> Self {
        self.aggregation = aggregation;
        self
    }

    /// Calls made and entries retried so far.
    pub fn stats(&self) -> DeliveryStats {
        self.stats
    }
}

impl<A: PutRecordsApi> RecordSink for KinesisSink<A> {
    type Record = StreamRecord;

    /// The trip's JSON record.
    fn to_record(
        &mut self,
        trip: Trip,
        id: TripId,
        line: u64,
    ) -> Result<StreamRecord, RowRejection> {
        stream_record(&trip, &id, line)
    }

    fn billed_size(record: &StreamRecord) -> usize {
        record.billed_size()
    }

    fn batch_limits(&self) -> BatchLimits {
        match self.aggregation {
            Aggregation::None => BatchLimits::PUT_RECORDS,
            Aggregation::Kpl { .. } => BatchLimits {
                records: usize::MAX,
                bytes: AGGREGATED_BATCH_BYTES,
            },
        }
    }

    /// Puts the batch (its trips aggregated, when the sink aggregates, in as many PutRecords
    /// calls as their limits need); entries that fail are sent again (only them, whole
    /// aggregates) with jittered backoff, up to the policy's attempts; then the call fails,
    /// naming how many records are left.
    async fn put_records(&mut self, records: Vec<StreamRecord>) -> Result<(), PortError> {
        let Aggregation::Kpl { max_bytes } = self.aggregation else {
            return self.put_call(records).await;
        };
        let users = records
            .into_iter()
            .map(|record| UserRecord {
                partition_key: record.partition_key,
                explicit_hash_key: None,
                data: record.data,
            })
            .collect();
        let mut call = Batch::new(BatchLimits::PUT_RECORDS);
        for packed in aggregation::pack(users, max_bytes) {
            let record = StreamRecord {
                partition_key: packed.partition_key,
                explicit_hash_key: Some(packed.explicit_hash_key),
                data: packed.data,
                sequence_number: None,
            };
            if let Some(full) = call.push(record, StreamRecord::billed_size) {
                self.put_call(full).await?;
            }
        }
        self.put_call(call.take()).await
    }
}

impl<A: PutRecordsApi> KinesisSink<A> {
    /// One PutRecords call of `records`, retrying the entries that fail.
    async fn put_call(&mut self, records: Vec<StreamRecord>) -> Result<(), PortError> {
        if records.is_empty() {
            return Ok(());
        }
        let total = records.len();
        let mut pending = records;
        let mut attempts = 0;
        loop {
            attempts += 1;
            self.stats.calls += 1;
            let (last_error, whole_call) = match self.api.put_records(&self.stream, &pending).await
            {
                Ok(outcomes) if outcomes.len() != pending.len() => {
                    return Err(PortError::permanent(format!(
                        "PutRecords to stream {}: {} results for {} records",
                        self.stream,
                        outcomes.len(),
                        pending.len()
                    )));
                }
                Ok(outcomes) => {
                    let failed = failed_entries(&outcomes);
                    if failed.is_empty() {
                        return Ok(());
                    }
                    let first = describe_failure(&outcomes[failed[0]]);
                    let retryable = failed.iter().all(|&index| match &outcomes[index] {
                        EntryOutcome::Failed { code, .. } => is_retryable_code(code),
                        EntryOutcome::Accepted { .. } => true,
                    });
                    pending = keep_failed(pending, &failed);
                    let error = PortError::environment(
                        format!(
                            "{} of {total} records refused by stream {} ({first})",
                            pending.len(),
                            self.stream
                        ),
                        retryable,
                    );
                    (error, false)
                }
                Err(error) => (error, true),
            };
            if !last_error.retryable() || !self.policy.may_retry(attempts) {
                return Err(last_error.with_detail(format_args!("(after {attempts} attempts)")));
            }
            // Counted only when it is retried.
            if whole_call {
                self.stats.retried_calls += 1;
            } else {
                self.stats.retried_entries += pending.len() as u64;
            }
            tokio::time::sleep(self.policy.delay(attempts)).await;
        }
    }
}

fn describe_failure(outcome: &EntryOutcome) -> String {
    match outcome {
        EntryOutcome::Failed { code, message } => format!("{code}: {message}"),
        EntryOutcome::Accepted { .. } => String::new(),
    }
}

/// The records at the failed positions, in order.
fn keep_failed(records: Vec<StreamRecord>, failed: &[usize]) -> Vec<StreamRecord> {
    let mut failed = failed.iter().peekable();
    records
        .into_iter()
        .enumerate()
        .filter(|(index, _)| failed.next_if_eq(&index).is_some())
        .map(|(_, record)| record)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use aws_sdk_kinesis::types::PutRecordsResultEntry;

    #[test]
    fn failed_entries_are_found_in_a_response() {
        let output = PutRecordsOutput::builder()
            .failed_record_count(1)
            .records(
                PutRecordsResultEntry::builder()
                    .shard_id("shardId-000000000000")
                    .sequence_number("1")
                    .build(),
            )
            .records(
                PutRecordsResultEntry::builder()
                    .error_code("ProvisionedThroughputExceededException")
                    .error_message("Rate exceeded for shard")
                    .build(),
            )
            .records(
                PutRecordsResultEntry::builder()
                    .shard_id("shardId-000000000001")
                    .sequence_number("2")
                    .build(),
            )
            .build()
            .unwrap();
        let outcomes = entry_outcomes(&output);
        assert_eq!(failed_entries(&outcomes), [1]);
        assert_eq!(
            outcomes[0],
            EntryOutcome::Accepted {
                shard_id: "shardId-000000000000".into(),
                sequence_number: "1".into()
            }
        );
    }

    #[test]
    fn only_failed_records_are_kept_for_the_retry() {
        let records: Vec<StreamRecord> = (0..5)
            .map(|n| StreamRecord {
                explicit_hash_key: None,
                partition_key: n.to_string(),
                data: Vec::new(),
                sequence_number: None,
            })
            .collect();
        let kept = keep_failed(records, &[1, 4]);
        let keys: Vec<&str> = kept.iter().map(|r| r.partition_key.as_str()).collect();
        assert_eq!(keys, ["1", "4"]);
    }
}
