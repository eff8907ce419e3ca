//! What the handlers do with the events real S3 and Kinesis send: encoded keys, objects that are
//! not trip files or are gone, rejected rows, and undecodable records in a batch.

use crate::common::{Pipeline, kinesis_events, testdata};
use taxistream_aws::Consumer;
use taxistream_core::RejectReason;
use taxistream_pipeline::StreamRecord;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_with_spaces_and_plus_signs_are_read() {
    let pipeline = Pipeline::create(1).await;
    let key = "incoming/jan 2021+head (99).csv";
    let body = std::fs::read(testdata("yellow_tripdata_2021-01_head99.csv")).unwrap();
    pipeline.upload(key, body).await;
    let response =
        lambda_kinesis_producer::handle(&pipeline.producer(), &pipeline.s3_event(key).await)
            .await
            .unwrap_or_else(|error| panic!("{error:?}"));
    let report = &response.objects[0];
    assert_eq!(report.source, format!("s3://{}/{key}", pipeline.bucket));
    assert_eq!(report.accounting.rows_read, 99);
    assert_eq!(pipeline.read_stream().await.len(), 99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trip_file_named_in_capitals_is_read_and_a_file_of_another_kind_skipped() {
    let pipeline = Pipeline::create(1).await;
    let body = std::fs::read(testdata("yellow_tripdata_2021-01_head99.csv")).unwrap();
    pipeline.upload("incoming/JAN.CSV", body.clone()).await;
    pipeline.upload("incoming/notes.txt", body).await;
    let mut event = pipeline.s3_event("incoming/JAN.CSV").await;
    event
        .records
        .extend(pipeline.s3_event("incoming/notes.txt").await.records);
    let response = lambda_kinesis_producer::handle(&pipeline.producer(), &event)
        .await
        .unwrap_or_else(|error| panic!("{error:?}"));
    let sources: Vec<&str> = response.objects.iter().map(|o| o.source.as_str()).collect();
    assert_eq!(
        sources,
        [format!("s3://{}/incoming/JAN.CSV", pipeline.bucket)]
    );
    assert_eq!(response.skipped.len(), 1);
    assert!(
        response.skipped[0].reason.starts_with("not a trip file"),
        "{:?}",
        response.skipped
    );
    assert_eq!(pipeline.read_stream().await.len(), 99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_whose_object_was_replaced_since_is_skipped_and_the_new_upload_read_on_its_own() {
    let pipeline = Pipeline::create(1).await;
    let key = "incoming/jan.csv";
    let body = std::fs::read(testdata("yellow_tripdata_2021-01_head99.csv")).unwrap();
    pipeline.upload(key, body.clone()).await;
    let first_event = pipeline.s3_event(key).await;
    // Uploaded again, with one row less, before the first event is handled.
    let shorter = body[..body.len() - 1]
        .rsplitn(2, |&byte| byte == b'\n')
        .nth(1)
        .unwrap();
    pipeline.upload(key, [shorter, b"\n"].concat()).await;
    let producer = pipeline.producer();
    let first = lambda_kinesis_producer::handle(&producer, &first_event)
        .await
        .unwrap_or_else(|error| panic!("{error:?}"));
    assert!(first.objects.is_empty());
    assert!(
        first.skipped[0]
            .reason
            .starts_with("replaced by a newer upload"),
        "{first:?}"
    );
    assert!(pipeline.read_stream().await.is_empty());
    let second = lambda_kinesis_producer::handle(&producer, &pipeline.s3_event(key).await)
        .await
        .unwrap_or_else(|error| panic!("{error:?}"));
    assert_eq!(second.objects[0].accounting.rows_read, 98);
    assert_eq!(pipeline.read_stream().await.len(), 98);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_that_is_not_a_trip_file_fails_the_invocation_with_its_columns() {
    let pipeline = Pipeline::create(1).await;
    let key = "incoming/zones.csv";
    pipeline
        .upload(
            key,
            b"LocationID,Borough,Zone\n1,EWR,Newark Airport\n".to_vec(),
        )
        .await;
    let error =
        lambda_kinesis_producer::handle(&pipeline.producer(), &pipeline.s3_event(key).await)
            .await
            .unwrap_err()
            .error_message;
    assert!(error.contains("zones.csv"), "{error}");
    assert!(error.contains("LocationID"), "the columns found: {error}");
    assert!(pipeline.read_stream().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parquet_object_with_a_page_decoding_past_the_bound_fails_the_invocation_unread() {
    let pipeline = Pipeline::create(1).await;
    let key = "incoming/bomb.parquet";
    pipeline.upload(key, zstd_bomb()).await;
    let error =
        lambda_kinesis_producer::handle(&pipeline.producer(), &pipeline.s3_event(key).await)
            .await
            .unwrap_err()
            .error_message;
    assert!(error.contains("bomb.parquet"), "{error}");
    assert!(
        error.contains("column store_and_fwd_flag") && error.contains("decodes to more than"),
        "{error}"
    );
    assert!(pipeline.read_stream().await.is_empty());
}

/// A trip file of a few kilobytes whose one page decodes to 40 MiB.
fn zstd_bomb() -> Vec<u8> {
    use arrow_array::{ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray};
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;
    let pickup = 1_704_070_675_000_000;
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "tpep_pickup_datetime",
            std::sync::Arc::new(TimestampMicrosecondArray::from(vec![pickup])),
        ),
        (
            "tpep_dropoff_datetime",
            std::sync::Arc::new(TimestampMicrosecondArray::from(vec![pickup + 60_000_000])),
        ),
        (
            "store_and_fwd_flag",
            std::sync::Arc::new(StringArray::from(vec!["N".repeat(40 << 20)])),
        ),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_dictionary_enabled(false)
        .build();
    let mut body = Vec::new();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(&mut body, batch.schema(), Some(properties)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    assert!(body.len() < 64 << 10, "{} bytes", body.len());
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_deleted_before_it_is_read_is_skipped_and_the_rest_produced() {
    let pipeline = Pipeline::create(1).await;
    let present = "incoming/present.csv";
    pipeline
        .upload(
            present,
            std::fs::read(testdata("yellow_tripdata_2021-01_head99.csv")).unwrap(),
        )
        .await;
    let mut event = pipeline.s3_event("incoming/gone.csv").await;
    let mut second = pipeline.s3_event(present).await.records.remove(0);
    second.event_name = Some("ObjectCreated:CompleteMultipartUpload".into());
    let mut removal = second.clone();
    removal.event_name = Some("ObjectRemoved:Delete".into());
    event.records.push(second);
    event.records.push(removal);
    let response = lambda_kinesis_producer::handle(&pipeline.producer(), &event)
        .await
        .unwrap_or_else(|error| panic!("{error:?}"));
    assert_eq!(response.objects.len(), 1);
    assert_eq!(response.skipped.len(), 2, "{:?}", response.skipped);
    assert!(
        response.skipped[0].reason.contains("no such object"),
        "{:?}",
        response.skipped
    );
    assert!(
        response.skipped[1]
            .reason
            .contains("not an object creation")
    );
    assert_eq!(pipeline.read_stream().await.len(), 99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_rows_go_to_a_rejects_object_that_is_never_read_back() {
    let pipeline = Pipeline::create(1).await;
    let key = "incoming/with bad rows.csv";
    let mut body = std::fs::read(testdata("yellow_tripdata_2021-01_head99.csv")).unwrap();
    // Line 101: a pickup that is not a timestamp; line 102: too few fields.
    body.extend_from_slice(b"1,yesterday,2021-01-01 00:30:10,1,1.5,1,N,142,43,2,8,3,0.5,0,0,0.3,11.8,2.5\n1,2021-01-01 00:00:00\n");
    pipeline.upload(key, body).await;
    let producer = pipeline.producer();
    let response = lambda_kinesis_producer::handle(&producer, &pipeline.s3_event(key).await)
        .await
        .unwrap_or_else(|error| panic!("{error:?}"));
    let report = &response.objects[0];
    assert_eq!(report.accounting.rows_read, 101);
    assert_eq!(report.accounting.rejected, 2);
    assert_eq!(
        report.accounting.rejected_by_reason[&RejectReason::BadTimestamp],
        1
    );
    assert_eq!(
        report.accounting.rejected_by_reason[&RejectReason::TooFewFields],
        1
    );
    let rejects_key = format!("rejects/{key}.rejects.csv");
    assert_eq!(
        report.rejects_object.as_deref(),
        Some(format!("s3://{}/{rejects_key}", pipeline.bucket).as_str())
    );
    let rejects = String::from_utf8(pipeline.download(&rejects_key).await.unwrap()).unwrap();
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(
        lines[0],
        "source,line,column,reason,detail,raw,raw_encoding"
    );
    assert!(
        lines[1].contains(",101,2:tpep_pickup_datetime,bad_timestamp,"),
        "{rejects}"
    );
    assert!(lines[2].contains(",102,,too_few_fields,"), "{rejects}");
    // S3 would announce the rejects object too, were the trigger misconfigured: never read.
    let again = lambda_kinesis_producer::handle(&producer, &pipeline.s3_event(&rejects_key).await)
        .await
        .unwrap_or_else(|error| panic!("{error:?}"));
    assert!(again.objects.is_empty());
    assert!(again.skipped[0].reason.contains("rejects prefix"));
    // Nor are its reports.
    let report_key = format!("reports/{key}/etag/after-line-0.json");
    let again = lambda_kinesis_producer::handle(&producer, &pipeline.s3_event(&report_key).await)
        .await
        .unwrap_or_else(|error| panic!("{error:?}"));
    assert!(again.objects.is_empty());
    assert!(again.skipped[0].reason.contains("reports prefix"));
}

/// A record in the original tutorial's format: snake_case names, numbers as JSON numbers.
fn tutorial_record(id: &str, minutes: u32, sequence: &str) -> StreamRecord {
    priced_record(id, minutes, "55.3", sequence)
}

/// [`tutorial_record`] with its total amount.
fn priced_record(id: &str, minutes: u32, total: &str, sequence: &str) -> StreamRecord {
    StreamRecord {
        explicit_hash_key: None,
        partition_key: id.to_owned(),
        data: format!(
            r#"{{"trip_id":"{id}","vendor_id":2,"pickup_datetime":"2019-07-01 08:00:00","dropoff_datetime":"2019-07-01 08:{minutes:02}:00","trip_distance":3.2,"fare_amount":14.5,"total_amount":{total}}}"#
        )
        .into_bytes(),
        sequence_number: Some(sequence.to_owned()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trip_whose_new_version_is_no_longer_high_value_leaves_that_table() {
    let pipeline = Pipeline::create(1).await;
    let consumer = Consumer::new(
        crate::limits::StrictDynamo(pipeline.dynamodb.clone()),
        pipeline.s3_store(),
        pipeline.consumer_settings(),
    );
    // Two batches, then both versions in one batch.
    let first = [
        priced_record("trip-1", 12, "55.3", "1"),
        priced_record("trip-2", 12, "60", "2"),
    ];
    let second = [priced_record("trip-1", 12, "20", "3")];
    let both = [
        priced_record("trip-2", 12, "20", "4"),
        priced_record("trip-2", 12, "61", "5"),
    ];
    for records in [&first[..], &second[..], &both[..]] {
        let (response, report) =
            lambda_kinesis_consumer::handle(&consumer, &kinesis_events(records, 100)[0], None)
                .await;
        assert!(response.batch_item_failures.is_empty(), "{report:?}");
    }
    let tables = pipeline.dump_tables().await;
    let high_value: Vec<&String> = tables["high_value_trips"].keys().collect();
    assert_eq!(high_value, ["trip-2"]);
    assert_eq!(tables["high_value_trips"]["trip-2"]["total_amount"], "61");
    assert_eq!(tables["trip_duration_analysis"].len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writes_of_one_trip_in_a_batch_leave_the_last() {
    let pipeline = Pipeline::create(1).await;
    let consumer = Consumer::new(
        crate::limits::StrictDynamo(pipeline.dynamodb.clone()),
        pipeline.s3_store(),
        pipeline.consumer_settings(),
    );
    let records = [
        tutorial_record("trip-1", 12, "1"),
        tutorial_record("trip-2", 5, "2"),
        tutorial_record("trip-1", 45, "3"),
    ];
    let (response, report) =
        lambda_kinesis_consumer::handle(&consumer, &kinesis_events(&records, 100)[0], None).await;
    assert!(response.batch_item_failures.is_empty(), "{report:?}");
    let tables = pipeline.dump_tables().await;
    assert_eq!(
        tables["trip_duration_analysis"]["trip-1"]["duration_category"],
        "long"
    );
    assert_eq!(
        tables["trip_duration_analysis"]["trip-2"]["duration_category"],
        "short"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_record_in_a_batch_is_set_aside_and_the_rest_written() {
    let pipeline = Pipeline::create(1).await;
    let trip = |minutes: u32, sequence: &str| {
        tutorial_record(&format!("trip-{sequence}"), minutes, sequence)
    };
    let poison = StreamRecord {
        explicit_hash_key: None,
        partition_key: "whatever".into(),
        data: b"\x00\x01 not a trip".to_vec(),
        sequence_number: Some("2".into()),
    };
    let records = [trip(12, "1"), poison, trip(45, "3")];
    let consumer = Consumer::new(
        pipeline.dynamodb.clone(),
        pipeline.s3_store(),
        pipeline.consumer_settings(),
    );
    let event = &kinesis_events(&records, 100)[0];
    let (response, report) = lambda_kinesis_consumer::handle(&consumer, event, None).await;
    assert!(response.batch_item_failures.is_empty(), "{report:?}");
    assert_eq!((report.records_done, report.poison), (3, 1));
    let tables = pipeline.dump_tables().await;
    assert_eq!(tables["trip_duration_analysis"].len(), 2);
    assert_eq!(tables["high_value_trips"].len(), 2);
    assert_eq!(
        tables["trip_duration_analysis"]["trip-3"]["duration_category"],
        "long"
    );
    assert_eq!(
        tables["distance_to_fare_ratio"]["trip-1"]["fare_per_mile"],
        "4.5313"
    );
    let rejects_key = "rejects/stream/2.rejects.csv";
    assert_eq!(
        report.rejects_object.as_deref(),
        Some(format!("s3://{}/{rejects_key}", pipeline.bucket).as_str())
    );
    let rejects = String::from_utf8(pipeline.download(rejects_key).await.unwrap()).unwrap();
    assert!(rejects.contains("bad_record"), "{rejects}");
    assert!(
        rejects.contains("stream record 2 (partition key whatever)"),
        "{rejects}"
    );
}
