//! For the same file, the DynamoDB tables written by the two Lambda handlers hold exactly what
//! the SQLite tables of `taxistream run` hold.

use crate::common::{Pipeline, kinesis_events, local_tables, testdata};
use crate::limits::{StrictDynamo, StrictKinesis};
use std::collections::BTreeSet;
use std::path::Path;
use taxistream_aws::{Consumer, Producer, S3Store};
use taxistream_pipeline::StreamRecord;

/// Lambda's default batch size for a Kinesis event source.
const LAMBDA_BATCH: usize = 100;

/// Uploads `name` as `key`, runs the producer handler on the S3 event, the consumer handler on
/// every record of every shard in Lambda-sized batches, and compares with the local run.
async fn assert_parity(name: &str, key: &str, body: Vec<u8>) {
    let pipeline = Pipeline::create(2).await;
    let store = pipeline.s3_store();
    assert_parity_with(&pipeline, store, key, body, &testdata(name)).await;
}

/// The same, on `pipeline`, the producer reading through `store`, compared with the local run
/// of the file `local`.
pub async fn assert_parity_with(
    pipeline: &Pipeline,
    store: S3Store,
    key: &str,
    body: Vec<u8>,
    local: &Path,
) {
    let name = local.display().to_string();
    pipeline.upload(key, body).await;
    let producer = Producer::new(
        store,
        StrictKinesis(pipeline.kinesis.clone()),
        pipeline.producer_settings(),
    );
    let event = pipeline.s3_event(key).await;
    let response = lambda_kinesis_producer::handle(&producer, &event)
        .await
        .unwrap_or_else(|error| panic!("{name}: producer: {error:?}"));
    assert_eq!(response.objects.len(), 1, "{name}: {response:?}");
    let report = &response.objects[0];
    let accounting = &report.accounting;
    assert!(accounting.balances(), "{name}: {accounting:?}");

    let records = pipeline.read_stream().await;
    assert_eq!(
        records.len() as u64,
        accounting.trips,
        "{name}: records on the stream"
    );
    let keys: BTreeSet<&str> = records.iter().map(|r| r.partition_key.as_str()).collect();
    assert_eq!(keys.len(), records.len(), "{name}: a trip sent twice");
    // PutRecords calls: one per 500 records (or 5 MiB), nothing retried on a healthy stream.
    assert_eq!(
        report.stream.calls,
        accounting.trips.div_ceil(500),
        "{name}"
    );

    consume_and_compare(pipeline, &records, local).await;
}

/// Runs the consumer handler on `records` in Lambda-sized batches and compares the tables with
/// the local run of `local`.
pub async fn consume_and_compare(pipeline: &Pipeline, records: &[StreamRecord], local: &Path) {
    let name = local.display().to_string();
    let consumer = Consumer::new(
        StrictDynamo(pipeline.dynamodb.clone()),
        pipeline.s3_store(),
        pipeline.consumer_settings(),
    );
    for event in kinesis_events(records, LAMBDA_BATCH) {
        let (response, report) = lambda_kinesis_consumer::handle(&consumer, &event, None).await;
        assert!(
            response.batch_item_failures.is_empty(),
            "{name}: {report:?}"
        );
        assert_eq!(report.poison, 0, "{name}");
    }

    let aws = pipeline.dump_tables().await;
    let local = local_tables(local).await;
    for (table, items) in &local {
        assert_eq!(aws[table].len(), items.len(), "{name}: {table}: item count");
        for (id, attributes) in items {
            assert_eq!(
                aws[table].get(id),
                Some(attributes),
                "{name}: {table}: item {id}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_gives_the_same_tables_on_aws_as_locally() {
    let name = "yellow_tripdata_2020-01_head499_tail500.csv";
    let body = std::fs::read(testdata(name)).unwrap();
    assert_parity(name, &format!("incoming/{name}"), body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_gives_the_same_tables_on_aws_as_locally() {
    let name = "yellow_tripdata_2025-01_first10k.parquet";
    let body = std::fs::read(testdata(name)).unwrap();
    assert_parity(name, &format!("incoming/{name}"), body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_csv_with_carried_columns_gives_the_same_tables() {
    // The 2015 schema carries longitude/latitude columns through the record.
    let name = "yellow_tripdata_2015-01_sample.csv";
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gzip, &std::fs::read(testdata(name)).unwrap()).unwrap();
    let body = gzip.finish().unwrap();
    assert_parity(name, "incoming/2015 sample+copy.csv.gz", body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_that_change_under_a_given_trip_id_leave_the_tables_of_the_last_on_aws_as_locally() {
    let pipeline = Pipeline::create(2).await;
    let header =
        "trip_id,tpep_pickup_datetime,tpep_dropoff_datetime,trip_distance,fare_amount,total_amount";
    let rows = [
        // t1: high value with a fare per mile, then neither; t2 the other way round; t3 repeated.
        "t1,2025-01-01 00:00:00,2025-01-01 00:10:00,3.2,14.5,55.3",
        "t2,2025-01-01 00:00:00,2025-01-01 00:10:00,0,14.5,20",
        "t1,2025-01-01 00:00:00,2025-01-01 00:40:00,0,14.5,20",
        "t2,2025-01-01 00:00:00,2025-01-01 00:10:00,3.2,14.5,70",
        "t3,2025-01-01 00:00:00,2025-01-01 00:10:00,3.2,14.5,20",
        "t3,2025-01-01 00:00:00,2025-01-01 00:10:00,3.2,14.5,20",
    ];
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("changed.csv");
    std::fs::write(&local, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    let key = "incoming/changed.csv";
    pipeline.upload(key, std::fs::read(&local).unwrap()).await;
    let producer = Producer::new(
        pipeline.s3_store(),
        StrictKinesis(pipeline.kinesis.clone()),
        pipeline.producer_settings(),
    );
    let response = lambda_kinesis_producer::handle(&producer, &pipeline.s3_event(key).await)
        .await
        .unwrap_or_else(|error| panic!("{error:?}"));
    let accounting = &response.objects[0].accounting;
    assert_eq!((accounting.trips, accounting.duplicates), (3, 3));
    // Every row of a given id is sent: its last version is the one that stays.
    let records = pipeline.read_stream().await;
    assert_eq!(records.len(), 6);
    consume_and_compare(&pipeline, &records, &local).await;
    let tables = pipeline.dump_tables().await;
    let ids = |table: &str| tables[table].keys().cloned().collect::<Vec<String>>();
    assert_eq!(ids("high_value_trips"), ["t2"]);
    assert_eq!(ids("distance_to_fare_ratio"), ["t2", "t3"]);
    assert_eq!(ids("trip_duration_analysis"), ["t1", "t2", "t3"]);
}
