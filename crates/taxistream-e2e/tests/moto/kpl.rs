//! KPL aggregated records written by the awslabs reference library (`aws-kinesis-agg`, through
//! `scripts/kpl/kpl_interop.py`) read by the Lambda consumer into the tables of `taxistream run`:
//! an aggregate whose MD5 was corrupted is set aside whole, a user record that is not a trip alone.

use crate::common::{Pipeline, kinesis_events, local_tables, testdata};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use taxistream_aws::{Aggregation, Consumer, Producer};
use taxistream_e2e::python::{aggregate_lines, kpl_interop, stream_records, user_record_line};
use taxistream_pipeline::StreamRecord;

const NAME: &str = "yellow_tripdata_2020-01_head499_tail500.csv";

/// The stream records our producer puts for `NAME`, aggregated as `aggregation` says, the trips
/// and the PutRecords calls.
async fn produced(aggregation: Aggregation) -> (Pipeline, Vec<StreamRecord>, u64, u64) {
    let pipeline = Pipeline::create(2).await;
    let key = pipeline.upload_testdata(NAME).await;
    let mut settings = pipeline.producer_settings();
    settings.aggregation = aggregation;
    let producer = Producer::new(
        pipeline.s3_store(),
        crate::limits::StrictKinesis(pipeline.kinesis.clone()),
        settings,
    );
    let response = lambda_kinesis_producer::handle(&producer, &pipeline.s3_event(&key).await)
        .await
        .unwrap();
    let records = pipeline.read_stream().await;
    let object = &response.objects[0];
    (
        pipeline,
        records,
        object.accounting.trips,
        object.stream.calls,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_aggregates_are_one_user_record_per_trip_to_the_reference_library_and_to_the_consumer()
{
    let (_, plain, trips, plain_calls) = produced(Aggregation::None).await;
    let (pipeline, aggregated, _, calls) = produced(Aggregation::default()).await;
    assert_eq!(plain.len() as u64, trips);
    assert_eq!((plain_calls, calls), (2, 1));
    // 999 trips of about 520 bytes in aggregates of at most 50 KiB, in at most 16 buckets.
    assert!(aggregated.len() <= 11 + 16, "{} records", aggregated.len());
    let lines: Vec<Value> = aggregated
        .iter()
        .map(|record| {
            json!({"partition_key": record.partition_key, "data": STANDARD.encode(&record.data),
                   "sequence_number": record.sequence_number})
        })
        .collect();
    let users = kpl_interop(&["deaggregate"], &lines);
    assert!(users.iter().all(|user| user["aggregated"] == true));
    let user_records = |records: Vec<(String, Vec<u8>)>| {
        let mut records = records;
        records.sort();
        records
    };
    let read: Vec<(String, Vec<u8>)> = users
        .iter()
        .map(|user| {
            let data = STANDARD.decode(user["data"].as_str().unwrap()).unwrap();
            (user["partition_key"].as_str().unwrap().to_owned(), data)
        })
        .collect();
    let sent: Vec<(String, Vec<u8>)> = plain
        .into_iter()
        .map(|record| (record.partition_key, record.data))
        .collect();
    assert_eq!(user_records(read), user_records(sent));
    // Our consumer reads them into the tables of run.
    let consumer = Consumer::new(
        crate::limits::StrictDynamo(pipeline.dynamodb.clone()),
        pipeline.s3_store(),
        pipeline.consumer_settings(),
    );
    for event in kinesis_events(&aggregated, 100) {
        let (response, report) = lambda_kinesis_consumer::handle(&consumer, &event, None).await;
        assert!(response.batch_item_failures.is_empty(), "{report:?}");
        assert_eq!(report.poison, 0);
    }
    assert_eq!(
        pipeline.dump_tables().await,
        local_tables(&testdata(NAME)).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_of_the_reference_library_give_the_tables_of_run() {
    let name = NAME;
    let (pipeline, plain, _, _) = produced(Aggregation::None).await;
    let users: Vec<Value> = plain
        .iter()
        .map(|record| user_record_line(&record.partition_key, &record.data))
        .collect();

    let mut aggregates = aggregate_lines(&users);
    assert!(aggregates.len() > 5, "{} aggregates", aggregates.len());
    // Trips again in an aggregate whose MD5 no longer matches: set aside whole.
    aggregates.extend(kpl_interop(
        &["corrupt-md5"],
        &aggregate_lines(&users[..20]),
    ));
    // Trips again around a user record that is not a trip: set aside alone.
    let mut mixed = users[20..25].to_vec();
    mixed.insert(2, user_record_line("not-a-trip", b"\x00 binary, not JSON"));
    aggregates.extend(aggregate_lines(&mixed));
    let records = stream_records(&aggregates);

    let consumer = Consumer::new(
        crate::limits::StrictDynamo(pipeline.dynamodb.clone()),
        pipeline.s3_store(),
        pipeline.consumer_settings(),
    );
    let mut poison = 0;
    for event in kinesis_events(&records, 100) {
        let (response, report) = lambda_kinesis_consumer::handle(&consumer, &event, None).await;
        assert!(response.batch_item_failures.is_empty(), "{report:?}");
        poison += report.poison;
    }
    assert_eq!(poison, 2);
    assert_eq!(
        pipeline.dump_tables().await,
        local_tables(&testdata(name)).await
    );
}
