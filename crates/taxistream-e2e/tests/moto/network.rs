//! The Lambda handlers through a faulty network (`scripts/fault_proxy.py` between the SDK and
//! moto): S3 bodies cut half way, connections reset before and after a request is applied,
//! stalls past the attempt timeout, 500s, 503s and throttling. Retried as Lambda retries them,
//! the producer and the consumer end with the tables of `taxistream run`, and no call hangs.

use crate::common::{Pipeline, kinesis_events, local_tables, testdata};
use aws_lambda_events::kinesis::KinesisEvent;
use std::time::{Duration, Instant};
use taxistream_aws::{Consumer, Producer, S3Store};
use taxistream_e2e::fault_proxy::{FaultProxy, every_fault, rule};

/// Longest a handler may take through the proxy: stalls cost an attempt timeout (2 s) each.
const NO_HANG: Duration = Duration::from_secs(90);
/// Invocations of one event before the test gives up (Lambda retries an S3 event twice, and a
/// Kinesis batch until it succeeds or expires).
const INVOCATIONS: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_handlers_through_a_faulty_network_give_the_tables_of_run() {
    let name = "yellow_tripdata_2020-01_head499_tail500.csv";
    let pipeline = Pipeline::create(2).await;
    let key = pipeline.upload_testdata(name).await;
    let event = pipeline.s3_event(&key).await;

    let object_gets = format!("GET /{}/", pipeline.bucket);
    let mut rules: Vec<_> = ["cut-body", "reset-before", "stall", "status-500"]
        .iter()
        .zip(0..)
        .map(|(fault, skip)| rule(&object_gets, fault, skip, 1))
        .collect();
    rules.extend(every_fault("Kinesis_20131202.PutRecords"));
    let proxy = FaultProxy::start(&rules);
    let through = proxy.clients().await;
    // KPL aggregates, the default: a PutRecords entry that fails is a whole aggregate, sent again.
    let mut settings = pipeline.producer_settings();
    settings.aggregation = taxistream_aws::Aggregation::default();
    let producer = Producer::new(
        S3Store::new(through.s3),
        crate::limits::StrictKinesis(through.kinesis),
        settings,
    );
    let mut produced = None;
    for _ in 0..INVOCATIONS {
        let started = Instant::now();
        let result = lambda_kinesis_producer::handle(&producer, &event).await;
        assert!(started.elapsed() < NO_HANG, "the producer hung");
        match result {
            Ok(response) => {
                produced = Some(response);
                break;
            }
            Err(error) => assert!(!error.error_message.is_empty(), "a failure says why"),
        }
    }
    let produced = produced.unwrap_or_else(|| panic!("still failing: {:?}", proxy.injected()));
    assert_eq!(produced.objects[0].accounting.rows_read, 999);
    assert_eq!(
        proxy.injected().len(),
        rules.len(),
        "{:?}",
        proxy.injected()
    );

    let proxy = FaultProxy::start(&every_fault("DynamoDB_20120810.BatchWriteItem"));
    let through = proxy.clients().await;
    let consumer = Consumer::new(
        crate::limits::StrictDynamo(through.dynamodb),
        S3Store::new(through.s3),
        pipeline.consumer_settings(),
    );
    for event in kinesis_events(&pipeline.read_stream().await, 100) {
        consume_as_lambda_retries(&consumer, event).await;
    }
    assert_eq!(proxy.injected().len(), 6, "{:?}", proxy.injected());
    assert_eq!(
        pipeline.dump_tables().await,
        local_tables(&testdata(name)).await
    );
}

/// Handles a batch as Lambda does: after a partial batch response, again from the record it
/// names, until every record is done.
async fn consume_as_lambda_retries<D: taxistream_aws::BatchWriteApi + Clone>(
    consumer: &Consumer<D>,
    mut event: KinesisEvent,
) {
    for _ in 0..INVOCATIONS {
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let (response, _) = lambda_kinesis_consumer::handle(consumer, &event, Some(deadline)).await;
        assert!(started.elapsed() < NO_HANG, "the consumer hung");
        let Some(failure) = response.batch_item_failures.first() else {
            return;
        };
        let from = failure.item_identifier.clone().unwrap_or_default();
        let at = event
            .records
            .iter()
            .position(|record| record.kinesis.sequence_number == from)
            .unwrap_or_else(|| panic!("the failure names a record of the batch: {from}"));
        event.records.drain(..at);
    }
    panic!("a batch still failing after {INVOCATIONS} invocations");
}
