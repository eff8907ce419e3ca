//! `lambda-kinesis-consumer`: a batch of Kinesis records → the three analyses → the DynamoDB
//! tables, undecodable records to a rejects object. A batch that fails part way returns a
//! partial batch response naming the first record not written, so Lambda retries from there.
//! The handler is here (testable with events from JSON); `main.rs` only wires it to the runtime.

use aws_lambda_events::kinesis::KinesisEvent;
use aws_lambda_events::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use taxistream_aws::{BatchReport, BatchWriteApi, Consumer};
use taxistream_core::Table;
use taxistream_pipeline::StreamRecord;
use tokio::time::Instant;

/// The event's records, data already base64-decoded.
pub fn stream_records(event: &KinesisEvent) -> Vec<StreamRecord> {
    event
        .records
        .iter()
        .map(|record| StreamRecord {
            explicit_hash_key: None,
            partition_key: record.kinesis.partition_key.clone(),
            data: record.kinesis.data.0.clone(),
            sequence_number: Some(record.kinesis.sequence_number.clone()),
        })
        .collect()
}

/// The partial batch response for a report: empty when every record is done.
pub fn batch_response(report: &BatchReport) -> KinesisEventResponse {
    let mut response = KinesisEventResponse::default();
    if let Some(sequence) = &report.first_failed_sequence {
        let mut failure = KinesisBatchItemFailure::default();
        failure.item_identifier = Some(sequence.clone());
        response.batch_item_failures.push(failure);
    }
    response
}

/// Handles a batch: writes what it can until `deadline` and reports the first record not
/// written.
pub async fn handle<D: BatchWriteApi + Clone>(
    consumer: &Consumer<D>,
    event: &KinesisEvent,
    deadline: Option<Instant>,
) -> (KinesisEventResponse, BatchReport) {
    let records = stream_records(event);
    let report = consumer.consume_batch(&records, deadline).await;
    let summary = serde_json::to_string(&report).unwrap_or_default();
    match &report.failure {
        None => tracing::info!(
            report = %summary,
            "consumed {} records, {} trips",
            report.records,
            report.accounting.items.get(&Table::TripDurationAnalysis).copied().unwrap_or(0)
        ),
        Some(failure) => tracing::warn!(
            report = %summary,
            "consumed {} of {} records; retrying from {}: {failure}",
            report.records_done,
            report.records,
            report.first_failed_sequence.as_deref().unwrap_or("?")
        ),
    }
    if report.poison > 0 {
        tracing::error!(
            rejects = report.rejects_object.as_deref().unwrap_or("?"),
            "{} undecodable records set aside",
            report.poison
        );
    }
    (batch_response(&report), report)
}
