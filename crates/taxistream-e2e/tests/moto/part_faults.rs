//! A part of an object that fails half way (a PutRecords call refused after others went through)
//! is delivered again by the work queue and retried: the tables end as `taxistream run`'s, and
//! `status` says the object is complete, with run's accounting.
//! A CSV object too large to plan before the deadline is refused, not read past it.

use crate::common::{Pipeline, local_run, testdata};
use crate::continued::{assert_same_rows, sqs_event, work_queue};
use crate::inputs::with_row_groups_of;
use crate::parity::consume_and_compare;
use lambda_kinesis_producer::{Work, handle_with, handle_work};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use taxistream_aws::status::ChainState;
use taxistream_aws::{EntryOutcome, ObjectRef, Producer, PutRecordsApi, object_status};
use taxistream_pipeline::{PortError, StreamRecord};
use tokio::time::Instant;

/// Kinesis whose `fail_at`-th PutRecords call fails whole, as a cut connection would.
#[derive(Clone)]
struct FailsOnce {
    real: aws_sdk_kinesis::Client,
    calls: Arc<AtomicU32>,
    fail_at: u32,
}

impl PutRecordsApi for FailsOnce {
    async fn put_records(
        &self,
        stream: &str,
        records: &[StreamRecord],
    ) -> Result<Vec<EntryOutcome>, PortError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
            return Err(PortError::permanent(
                "PutRecords: connection reset (injected)",
            ));
        }
        PutRecordsApi::put_records(&self.real, stream, records).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_that_fails_half_way_and_is_retried_leaves_the_tables_and_accounting_of_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("parts.parquet");
    with_row_groups_of(
        &testdata("yellow_tripdata_2025-01_first10k.parquet"),
        700,
        &file,
    );
    let pipeline = Pipeline::create(2).await;
    let key = "incoming/fails-once.parquet";
    pipeline.upload(key, std::fs::read(&file).unwrap()).await;
    let (sqs, url, queue) = work_queue().await;
    let mut settings = pipeline.producer_settings();
    // A part per row group of 700 rows: two PutRecords calls each. The fourth call is the
    // second of the second part read: it fails after the part's first 500 records were sent.
    settings.part_bytes = 1;
    let kinesis = FailsOnce {
        real: pipeline.kinesis.clone(),
        calls: Arc::default(),
        fail_at: 4,
    };
    let producer = Producer::new(pipeline.s3_store(), kinesis, settings);
    let work = Work {
        queue: &queue,
        until: Instant::now() + Duration::from_secs(3_600),
        deadline: None,
    };
    handle_with(&producer, &pipeline.s3_event(key).await, Some(&work))
        .await
        .unwrap_or_else(|error| panic!("{error:?}"));
    let (mut done, mut failed) = (0, 0);
    while let Some(message) = sqs
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
        .pop()
    {
        let receipt = message.receipt_handle.clone().unwrap();
        let response = handle_work(&producer, &sqs_event(&message), &work).await;
        if response.batch_item_failures.is_empty() {
            sqs.delete_message()
                .queue_url(&url)
                .receipt_handle(receipt)
                .send()
                .await
                .unwrap();
            done += 1;
        } else {
            // What SQS does once the visibility timeout passes: deliver it again.
            sqs.change_message_visibility()
                .queue_url(&url)
                .receipt_handle(receipt)
                .visibility_timeout(0)
                .send()
                .await
                .unwrap();
            failed += 1;
        }
        assert!(done + failed < 100, "no end to the messages");
    }
    assert_eq!((done, failed), (14, 1), "14 queued parts, one failure");

    let records = pipeline.read_stream().await;
    consume_and_compare(&pipeline, &records, &file).await;
    let object = ObjectRef::parse_url(&format!("s3://{}/{key}", pipeline.bucket)).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let prefix = pipeline.producer_settings().reports_prefix;
    let status = object_status(&pipeline.s3_store(), &object, None, &prefix, scratch.path())
        .await
        .unwrap();
    assert_eq!(status.progress, ChainState::Complete);
    assert_eq!(status.invocations, 15);
    let (run, _) = local_run(&file).await;
    assert_same_rows(key, &status.accounting, &run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_object_not_planned_by_the_deadline_is_refused_naming_it_and_nothing_is_sent() {
    let pipeline = Pipeline::create(1).await;
    let key = "incoming/too-big-to-plan.csv";
    let body = std::fs::read(testdata("yellow_tripdata_sample_2019-07.csv")).unwrap();
    pipeline.upload(key, body).await;
    let (_, _, queue) = work_queue().await;
    let mut settings = pipeline.producer_settings();
    settings.part_bytes = 4096;
    let producer = Producer::new(pipeline.s3_store(), pipeline.kinesis.clone(), settings);
    // The invocation's deadline has passed before planning starts.
    let work = Work {
        queue: &queue,
        until: Instant::now(),
        deadline: Some(Instant::now()),
    };
    let error = handle_with(&producer, &pipeline.s3_event(key).await, Some(&work))
        .await
        .unwrap_err();
    let expected = format!(
        "s3://{}/{key}: its parts were not planned before the invocation's deadline",
        pipeline.bucket
    );
    assert!(
        error.error_message.contains(&expected),
        "{}",
        error.error_message
    );
    assert!(pipeline.read_stream().await.is_empty(), "nothing sent");
}
