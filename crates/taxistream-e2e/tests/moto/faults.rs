//! Throttling and partial failures, injected around the real calls to the emulator: nothing is
//! lost, nothing is written twice, and the retries show in the reports. Failures that outlast
//! the retries fail the invocation (producer) or name the first record not written (consumer).

use crate::common::{Pipeline, fast_retries, kinesis_events, local_tables, testdata};
use crate::limits::{StrictDynamo, StrictKinesis};
use aws_lambda_events::kinesis::KinesisEvent;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use taxistream_aws::dynamodb::RequestItems;
use taxistream_aws::status::ChainState;
use taxistream_aws::{
    BatchWriteApi, Consumer, DeliveryStats, EntryOutcome, ObjectRef, Producer, PutRecordsApi,
    object_status,
};
use taxistream_pipeline::{PortError, StreamRecord};

const THROTTLED: &str = "ProvisionedThroughputExceededException";

/// Kinesis that throttles every fourth call whole, and on every other call refuses every third
/// entry (it is not sent) as Kinesis does under load.
#[derive(Clone)]
struct FlakyKinesis {
    real: aws_sdk_kinesis::Client,
    calls: Arc<AtomicU32>,
}

impl PutRecordsApi for FlakyKinesis {
    async fn put_records(
        &self,
        stream: &str,
        records: &[StreamRecord],
    ) -> Result<Vec<EntryOutcome>, PortError> {
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        if call % 4 == 1 {
            return Err(PortError::transient(format!(
                "{THROTTLED}: rate exceeded (injected)"
            )));
        }
        let refused = |index: usize| call.is_multiple_of(2) && index % 3 == 1;
        let sent: Vec<StreamRecord> = records
            .iter()
            .enumerate()
            .filter(|(index, _)| !refused(*index))
            .map(|(_, record)| record.clone())
            .collect();
        let mut accepted = if sent.is_empty() {
            Vec::new()
        } else {
            PutRecordsApi::put_records(&self.real, stream, &sent).await?
        }
        .into_iter();
        Ok((0..records.len())
            .map(|index| {
                if refused(index) {
                    EntryOutcome::Failed {
                        code: THROTTLED.into(),
                        message: "Rate exceeded for shard (injected)".into(),
                    }
                } else {
                    accepted.next().unwrap()
                }
            })
            .collect())
    }
}

/// DynamoDB that throttles every fifth call whole, and on every other call leaves every other
/// request of each table unprocessed (not written), as DynamoDB does under load.
#[derive(Clone)]
struct FlakyDynamo {
    real: aws_sdk_dynamodb::Client,
    calls: Arc<AtomicU32>,
}

impl BatchWriteApi for FlakyDynamo {
    async fn batch_write(&self, requests: &RequestItems) -> Result<RequestItems, PortError> {
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        if call % 5 == 2 {
            return Err(PortError::transient(format!(
                "{THROTTLED}: throughput exceeded (injected)"
            )));
        }
        if call % 2 == 1 {
            return self.real.batch_write(requests).await;
        }
        let (mut sent, mut held) = (RequestItems::new(), RequestItems::new());
        for (table, writes) in requests {
            for (index, write) in writes.iter().enumerate() {
                let half = if index % 2 == 1 { &mut held } else { &mut sent };
                half.entry(table.clone()).or_default().push(write.clone());
            }
        }
        let mut unprocessed = self.real.batch_write(&sent).await?;
        for (table, writes) in held {
            unprocessed.entry(table).or_default().extend(writes);
        }
        Ok(unprocessed)
    }
}

/// DynamoDB that refuses, however often asked, any call writing one given trip.
#[derive(Clone)]
struct BrokenForOneTrip {
    real: aws_sdk_dynamodb::Client,
    trip_id: String,
}

impl BatchWriteApi for BrokenForOneTrip {
    async fn batch_write(&self, requests: &RequestItems) -> Result<RequestItems, PortError> {
        let touches = requests.values().flatten().any(|write| {
            write
                .put_request()
                .and_then(|put| put.item().get("trip_id"))
                .and_then(|id| id.as_s().ok())
                .is_some_and(|id| *id == self.trip_id)
        });
        if touches {
            return Err(PortError::transient(format!(
                "{THROTTLED}: throughput exceeded (injected)"
            )));
        }
        self.real.batch_write(requests).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_partial_failures_lose_nothing_and_duplicate_nothing() {
    let name = "yellow_tripdata_2020-01_head499_tail500.csv";
    let pipeline = Pipeline::create(2).await;
    let key = pipeline.upload_testdata(name).await;
    let mut settings = pipeline.producer_settings();
    settings.retry = fast_retries(8);
    let kinesis = StrictKinesis(FlakyKinesis {
        real: pipeline.kinesis.clone(),
        calls: Arc::default(),
    });
    let producer = Producer::new(pipeline.s3_store(), kinesis, settings);
    let response = lambda_kinesis_producer::handle(&producer, &pipeline.s3_event(&key).await)
        .await
        .unwrap_or_else(|error| panic!("producer: {error:?}"));
    let report = &response.objects[0];
    assert!(report.stream.retried_entries > 0, "{:?}", report.stream);
    assert!(report.stream.retried_calls > 0, "{:?}", report.stream);

    let records = pipeline.read_stream().await;
    let keys: BTreeSet<&str> = records.iter().map(|r| r.partition_key.as_str()).collect();
    assert_eq!(
        records.len() as u64,
        report.accounting.trips,
        "records lost or added"
    );
    assert_eq!(keys.len(), records.len(), "a record put twice");

    let mut settings = pipeline.consumer_settings();
    settings.retry = fast_retries(8);
    let dynamo = StrictDynamo(FlakyDynamo {
        real: pipeline.dynamodb.clone(),
        calls: Arc::default(),
    });
    let consumer = Consumer::new(dynamo, pipeline.s3_store(), settings);
    let mut tables = DeliveryStats::default();
    for event in kinesis_events(&records, 100) {
        let (response, report) = lambda_kinesis_consumer::handle(&consumer, &event, None).await;
        assert!(response.batch_item_failures.is_empty(), "{report:?}");
        tables.merge(&report.tables);
    }
    assert!(
        tables.retried_entries > 0 && tables.retried_calls > 0,
        "{tables:?}"
    );
    assert_eq!(
        pipeline.dump_tables().await,
        local_tables(&testdata(name)).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_failures_that_outlast_the_retries_fail_the_invocation() {
    #[derive(Clone)]
    struct Refusing;
    impl PutRecordsApi for Refusing {
        async fn put_records(
            &self,
            _: &str,
            records: &[StreamRecord],
        ) -> Result<Vec<EntryOutcome>, PortError> {
            Ok(records
                .iter()
                .map(|_| EntryOutcome::Failed {
                    code: THROTTLED.into(),
                    message: "Rate exceeded for shard (injected)".into(),
                })
                .collect())
        }
    }
    let pipeline = Pipeline::create(1).await;
    let key = "incoming/head.csv";
    pipeline
        .upload(
            key,
            std::fs::read(testdata("yellow_tripdata_2021-01_head99.csv")).unwrap(),
        )
        .await;
    let mut settings = pipeline.producer_settings();
    settings.retry = fast_retries(3);
    let producer = Producer::new(pipeline.s3_store(), Refusing, settings);
    let error = lambda_kinesis_producer::handle(&producer, &pipeline.s3_event(key).await)
        .await
        .unwrap_err()
        .error_message;
    assert!(
        error.contains("99 of 99 records refused") && error.contains("after 3 attempts"),
        "{error}"
    );

    // The failure is reported; the retry that succeeds overwrites it.
    let status = || async {
        let object = ObjectRef::parse_url(&format!("s3://{}/{key}", pipeline.bucket)).unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let prefix = pipeline.producer_settings().reports_prefix;
        object_status(&pipeline.s3_store(), &object, None, &prefix, scratch.path())
            .await
            .unwrap()
    };
    match status().await.progress {
        ChainState::Failed { after_line, error } => {
            assert_eq!(after_line, 0);
            assert!(error.contains("99 of 99 records refused"), "{error}");
        }
        progress => panic!("{progress:?}"),
    }
    let producer = Producer::new(
        pipeline.s3_store(),
        StrictKinesis(pipeline.kinesis.clone()),
        pipeline.producer_settings(),
    );
    lambda_kinesis_producer::handle(&producer, &pipeline.s3_event(key).await)
        .await
        .unwrap_or_else(|error| panic!("{error:?}"));
    let status = status().await;
    assert_eq!(status.progress, ChainState::Complete);
    assert_eq!(
        (
            status.invocations,
            status.accounting.rows_read,
            status.accounting.trips
        ),
        (1, 99, 99)
    );
}

/// 99 trips of 2021.
const HEAD99: &str = "yellow_tripdata_2021-01_head99.csv";

/// A new pipeline with the trips of [`HEAD99`] produced to its stream: the records, and the
/// consumer event of all of them.
async fn head99_on_the_stream() -> (Pipeline, Vec<StreamRecord>, KinesisEvent) {
    let pipeline = Pipeline::create(1).await;
    let key = format!("incoming/{HEAD99}");
    pipeline
        .upload(&key, std::fs::read(testdata(HEAD99)).unwrap())
        .await;
    let producer = pipeline.producer();
    lambda_kinesis_producer::handle(&producer, &pipeline.s3_event(&key).await)
        .await
        .unwrap_or_else(|error| panic!("producer: {error:?}"));
    let records = pipeline.read_stream().await;
    let event = kinesis_events(&records, 100).remove(0);
    (pipeline, records, event)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_failures_that_outlast_the_retries_name_the_first_record_not_written() {
    let (pipeline, records, event) = head99_on_the_stream().await;

    let mut settings = pipeline.consumer_settings();
    settings.retry = fast_retries(3);
    let broken = BrokenForOneTrip {
        real: pipeline.dynamodb.clone(),
        trip_id: records[40].partition_key.clone(),
    };
    let consumer = Consumer::new(StrictDynamo(broken), pipeline.s3_store(), settings.clone());
    let (response, report) = lambda_kinesis_consumer::handle(&consumer, &event, None).await;
    assert_eq!(response.batch_item_failures.len(), 1, "{report:?}");
    let failed = response.batch_item_failures[0]
        .item_identifier
        .clone()
        .unwrap();
    let index = records
        .iter()
        .position(|record| record.sequence_number.as_deref() == Some(failed.as_str()))
        .unwrap();
    assert!(
        index <= 40 && index == report.records_done,
        "{index} {report:?}"
    );
    assert!(report.retryable);
    // Everything before the failed record is written.
    let written = pipeline.dump_tables().await;
    for record in &records[..index] {
        assert!(written["trip_duration_analysis"].contains_key(&record.partition_key));
    }
    // Lambda retries from the failed record; with the tables healthy again, all is written.
    let consumer = Consumer::new(
        StrictDynamo(pipeline.dynamodb.clone()),
        pipeline.s3_store(),
        settings,
    );
    let retry = kinesis_events(&records[index..], 100).remove(0);
    let (response, _) = lambda_kinesis_consumer::handle(&consumer, &retry, None).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        pipeline.dump_tables().await,
        local_tables(&testdata(HEAD99)).await
    );
}

/// DynamoDB whose calls writing one given trip never answer (a half-open connection).
#[derive(Clone)]
struct HangingForOneTrip(BrokenForOneTrip);

impl BatchWriteApi for HangingForOneTrip {
    async fn batch_write(&self, requests: &RequestItems) -> Result<RequestItems, PortError> {
        match self.0.batch_write(requests).await {
            Err(_) => std::future::pending().await,
            written => written,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_stuck_at_its_deadline_returns_the_first_record_not_written_in_time() {
    let (pipeline, records, event) = head99_on_the_stream().await;

    // Default retries (seconds of backoff), and a call that never answers: only the deadline
    // ends this batch.
    let hanging = HangingForOneTrip(BrokenForOneTrip {
        real: pipeline.dynamodb.clone(),
        trip_id: records[60].partition_key.clone(),
    });
    let consumer = Consumer::new(
        StrictDynamo(hanging),
        pipeline.s3_store(),
        pipeline.consumer_settings(),
    );
    let started = tokio::time::Instant::now();
    let deadline = started + std::time::Duration::from_secs(2);
    let (response, report) =
        lambda_kinesis_consumer::handle(&consumer, &event, Some(deadline)).await;
    let returned = tokio::time::Instant::now();
    assert!(
        returned >= deadline && returned < deadline + std::time::Duration::from_secs(2),
        "returned {:?} after the start",
        returned - started
    );
    assert_eq!(response.batch_item_failures.len(), 1, "{report:?}");
    assert!(report.retryable, "{report:?}");
    assert!(
        report.failure.as_deref().unwrap_or("").contains("deadline"),
        "{report:?}"
    );
    let failed = response.batch_item_failures[0]
        .item_identifier
        .clone()
        .unwrap();
    let index = records
        .iter()
        .position(|record| record.sequence_number.as_deref() == Some(failed.as_str()))
        .unwrap();
    assert!(
        index <= 60 && index == report.records_done,
        "{index} {report:?}"
    );
    let written = pipeline.dump_tables().await;
    for record in &records[..index] {
        assert!(written["trip_duration_analysis"].contains_key(&record.partition_key));
    }
}
