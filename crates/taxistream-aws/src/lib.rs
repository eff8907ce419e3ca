//! The AWS adapters of taxistream: the only crate that names `aws-sdk-*` types.
//!
//! - [`clients`]: SDK clients from the standard configuration (`AWS_ENDPOINT_URL` included).
//! - [`s3`]: trip objects read as streams; rejects written as CSV objects.
//! - [`parquet_object`]: Parquet objects read by ranged GETs, a row group at a time;
//!   [`parquet_parts`]: which row groups an invocation reads, and parts of whole row groups.
//! - [`kinesis_sink`]: PutRecords, resending only failed entries with jittered backoff.
//! - [`kinesis_source`]: every shard polled, with checkpoints (for `taxistream consume`).
//! - [`dynamodb`]: the three tables, BatchWriteItem of ≤ 25 puts, unprocessed items retried;
//!   [`report_scan`]: the tables read back for the report, by parallel Scan.
//! - [`producer`], [`consumer`], [`stream_consumer`]: the roles, on the pipeline's use cases.
//! - [`settings`]: the roles' settings from environment variables.
//! - [`retry`], [`error`]: backoff, and SDK errors classified as retryable or not.
//! - [`work`]: continuations of objects on the producer's work queue.
//! - [`object_report`]: each invocation's report of an object; [`status`]: an object's state
//!   and accounting from them.
//! - [`deadline`]: when an invocation stops starting work; [`timeouts`]: limits on SDK calls.

pub mod aggregation;
pub mod clients;
pub mod consumer;
mod csv_object;
pub mod deadline;
pub mod dynamodb;
pub mod error;
pub mod kinesis_sink;
pub mod kinesis_source;
mod object_ref;
pub mod object_report;
pub mod parquet_object;
pub mod parquet_parts;
pub mod producer;
pub mod report_scan;
pub mod retry;
pub mod s3;
mod s3_rejects;
pub mod settings;
pub mod status;
pub mod stream_consumer;
pub mod timeouts;
pub mod work;

pub use aggregation::Aggregation;
pub use consumer::{BatchReport, Consumer};
pub use dynamodb::{BatchWriteApi, DynamoTables, TableNames};
pub use kinesis_sink::{EntryOutcome, KinesisSink, PutRecordsApi};
pub use producer::{ObjectOutcome, ObjectReport, ProduceObjectError, Producer};
pub use report_scan::{DynamoReportSource, ScanApi};
pub use retry::{DeliveryStats, RetryPolicy};
pub use s3::{ObjectError, ObjectRef, S3Store};
pub use settings::{ConsumerSettings, ProducerSettings, SettingsError};
pub use status::{ObjectStatus, object_status};
pub use timeouts::SdkTimeouts;
pub use work::{Continuation, SqsWorkQueue, WorkQueue};
