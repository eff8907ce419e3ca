//! The consumer role on AWS: stream records → the three analyses → DynamoDB, undecodable records
//! to a rejects object. The same `consume` use case as `taxistream run`.

use crate::dynamodb::{BatchWriteApi, DynamoTables};
use crate::retry::DeliveryStats;
use crate::s3::{ObjectRef, S3Rejects, S3Store};
use crate::settings::ConsumerSettings;
use serde::Serialize;
use taxistream_core::Accounting;
use taxistream_pipeline::{
    ConsumeOutcome, ErrorChain, PortError, RejectSink, StreamRecord, consume,
};
use tokio::time::Instant;

/// What consuming one batch did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BatchReport {
    /// Records in the batch.
    pub records: usize,
    /// Records done: written, or set aside as poison (the rest is to be consumed again).
    pub records_done: usize,
    /// Items per table and trips per category and tier, of the records done.
    pub accounting: Accounting,
    /// Undecodable records among the records done.
    pub poison: usize,
    /// Where they went.
    pub rejects_object: Option<String>,
    /// BatchWriteItem calls and retries.
    pub tables: DeliveryStats,
    /// Sequence number of the first record not done, when the batch failed part way.
    pub first_failed_sequence: Option<String>,
    /// Why it failed part way.
    pub failure: Option<String>,
    /// True when the failure is worth retrying (throttling, service trouble).
    pub retryable: bool,
}

impl BatchReport {
    /// Adds another batch's counts (for a run of many batches).
    pub fn merge(&mut self, other: &BatchReport) {
        self.records += other.records;
        self.records_done += other.records_done;
        self.accounting.merge(&other.accounting);
        self.poison += other.poison;
        self.tables.merge(&other.tables);
    }
}

/// The consumer: DynamoDB writes and rejects, built once and used for every batch.
#[derive(Debug, Clone)]
pub struct Consumer<D> {
    dynamodb: D,
    s3: S3Store,
    settings: ConsumerSettings,
}

impl<D: BatchWriteApi + Clone> Consumer<D> {
    /// A consumer writing through `dynamodb`.
    pub fn new(dynamodb: D, s3: S3Store, settings: ConsumerSettings) -> Self {
        Consumer {
            dynamodb,
            s3,
            settings,
        }
    }

    /// How long before an invocation's end writing stops.
    pub fn deadline_margin(&self) -> std::time::Duration {
        self.settings.deadline_margin
    }

    /// Consumes a batch, writing until `deadline` at most; undecodable records go to one rejects
    /// object named after the first of them (`<prefix>stream/<sequence>.rejects.csv`, so a
    /// retried batch rewrites the same one).
    pub async fn consume_batch(
        &self,
        records: &[StreamRecord],
        deadline: Option<Instant>,
    ) -> BatchReport {
        let (mut outcome, tables) = self.write(records, deadline).await;
        let mut report = report(records, &outcome, tables);
        for poison in &outcome.poison {
            tracing::error!(
                sequence_number = poison.sequence_number.as_deref().unwrap_or("?"),
                partition_key = %poison.partition_key,
                "undecodable record set aside: {}",
                poison.error
            );
        }
        let Some(first) = outcome.poison.first() else {
            return report;
        };
        let object = ObjectRef {
            bucket: self.settings.rejects_bucket.clone(),
            key: format!(
                "{}stream/{}.rejects.csv",
                self.settings.rejects_prefix,
                first
                    .sequence_number
                    .as_deref()
                    .unwrap_or(&first.partition_key)
            ),
        };
        let uploaded = async {
            let mut rejects = S3Rejects::new(object, &std::env::temp_dir())?;
            for poison in &outcome.poison {
                rejects.reject("stream", &poison.to_rejection()).await?;
            }
            rejects.finish(&self.s3).await
        }
        .await;
        match uploaded {
            Ok(object) => report.rejects_object = object.map(|object| object.to_string()),
            // Nothing from the first poison record on is done: it is all consumed again.
            Err(error) => {
                let index = first.index;
                fail_from(records, &mut outcome, index, &error, &mut report)
            }
        }
        report
    }

    /// Consumes a batch with undecodable records to a local rejects sink (the CLI's).
    pub async fn consume_batch_to<J: RejectSink>(
        &self,
        records: &[StreamRecord],
        rejects: &mut J,
    ) -> BatchReport {
        let (mut outcome, tables) = self.write(records, None).await;
        let mut report = report(records, &outcome, tables);
        let mut failed = None;
        for poison in &outcome.poison {
            if let Err(error) = rejects.reject("stream", &poison.to_rejection()).await {
                failed = Some((poison.index, error));
                break;
            }
        }
        if let Some((index, error)) = failed {
            fail_from(records, &mut outcome, index, &error, &mut report);
        }
        report
    }

    async fn write(
        &self,
        records: &[StreamRecord],
        deadline: Option<Instant>,
    ) -> (ConsumeOutcome, DeliveryStats) {
        let mut tables = DynamoTables::new(
            self.dynamodb.clone(),
            self.settings.tables.clone(),
            self.settings.retry.clone(),
        )
        .until(deadline);
        let outcome = consume(records, &self.settings.rules, &mut tables).await;
        (outcome, tables.stats())
    }
}

/// Marks the batch as done only before record `index`.
fn fail_from(
    records: &[StreamRecord],
    outcome: &mut ConsumeOutcome,
    index: usize,
    error: &PortError,
    report: &mut BatchReport,
) {
    if index >= report.records_done {
        return;
    }
    outcome.keep_before(index);
    report.records_done = index;
    report.accounting = outcome.accounting.clone();
    report.poison = outcome.poison.len();
    report.first_failed_sequence = records
        .get(index)
        .and_then(|record| record.sequence_number.clone());
    report.failure = Some(format!("rejects: {}", ErrorChain(error)));
    report.retryable = error.retryable();
}

fn report(
    records: &[StreamRecord],
    outcome: &ConsumeOutcome,
    tables: DeliveryStats,
) -> BatchReport {
    let records_done = outcome
        .failure
        .as_ref()
        .map_or(records.len(), |failure| failure.first_unwritten);
    BatchReport {
        records: records.len(),
        records_done,
        accounting: outcome.accounting.clone(),
        poison: outcome.poison.len(),
        rejects_object: None,
        tables,
        first_failed_sequence: outcome
            .failure
            .as_ref()
            .and_then(|failure| records.get(failure.first_unwritten))
            .and_then(|record| record.sequence_number.clone()),
        failure: outcome
            .failure
            .as_ref()
            .map(|failure| ErrorChain(&failure.error).to_string()),
        retryable: outcome
            .failure
            .as_ref()
            .is_some_and(|failure| failure.error.retryable()),
    }
}
