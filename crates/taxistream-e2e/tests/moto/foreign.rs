//! Records of another producer: the original tutorial's Python producer sends each row of a CSV
//! file as `json.dumps` of a `csv.DictReader` row (the file's own header names, every value a
//! string). Read by the Lambda consumer, a TLC file's records give the tables of `taxistream run`
//! on that file, sent one by one or aggregated by the KPL reference library.

use crate::common::{Pipeline, kinesis_events, local_run, testdata};
use taxistream_aws::Consumer;
use taxistream_e2e::python::{json_lines, reference_aggregates};
use taxistream_pipeline::StreamRecord;

/// The tutorial producer's records of `file`: one JSON object per row, as `csv.DictReader` reads it.
fn tutorial_records(file: &std::path::Path) -> Vec<StreamRecord> {
    let program = "import csv, json, sys\n\
                   for row in csv.DictReader(open(sys.argv[1], newline='')):\n    \
                   print(json.dumps({'key': row['tpep_pickup_datetime'], 'row': row}))";
    json_lines(&["-c", program, &file.display().to_string()], &[])
        .into_iter()
        .zip(1..)
        .map(|(line, sequence)| StreamRecord {
            explicit_hash_key: None,
            partition_key: line["key"].as_str().unwrap().to_owned(),
            data: line["row"].to_string().into_bytes(),
            sequence_number: Some(format!("{sequence}")),
        })
        .collect()
}

async fn consume_all(pipeline: &Pipeline, records: &[StreamRecord]) -> usize {
    let consumer = Consumer::new(
        crate::limits::StrictDynamo(pipeline.dynamodb.clone()),
        pipeline.s3_store(),
        pipeline.consumer_settings(),
    );
    let mut poison = 0;
    for event in kinesis_events(records, 100) {
        let (response, report) = lambda_kinesis_consumer::handle(&consumer, &event, None).await;
        assert!(response.batch_item_failures.is_empty(), "{report:?}");
        poison += report.poison;
    }
    poison
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tutorial_producers_records_of_a_tlc_file_give_the_tables_of_run() {
    let name = "yellow_tripdata_2020-01_head499_tail500.csv";
    let records = tutorial_records(&testdata(name));
    assert_eq!(records.len(), 999);
    let (accounting, expected) = local_run(&testdata(name)).await;

    let one_by_one = Pipeline::create(1).await;
    let poison = consume_all(&one_by_one, &records).await;
    // The rows run rejects are the records set aside.
    assert_eq!(poison as u64, accounting.rejected);
    assert_eq!(one_by_one.dump_tables().await, expected);

    let aggregated = reference_aggregates(&records);
    let in_aggregates = Pipeline::create(1).await;
    assert_eq!(
        consume_all(&in_aggregates, &aggregated).await as u64,
        accounting.rejected
    );
    assert_eq!(in_aggregates.dump_tables().await, expected);
}
