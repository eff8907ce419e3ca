//! An object not done by its invocation's deadline goes on through the work queue (a real SQS
//! queue in moto), invocation after invocation: the tables end as `taxistream run`'s, and so does
//! the accounting `taxistream status` makes of the invocations' reports.

use crate::common::{Pipeline, local_run, sdk_config, testdata, unique};
use crate::inputs::{distinct_csv, distinct_parquet, with_row_groups_of};
use crate::parity::consume_and_compare;
use lambda_kinesis_producer::{SqsEvent, Work, handle_with, handle_work};
use std::collections::BTreeSet;
use std::path::Path;
use taxistream_aws::status::ChainState;
use taxistream_aws::{ObjectRef, Producer, SqsWorkQueue, object_status};
use taxistream_core::Accounting;
use tokio::time::Instant;

/// Produces `body` as `key` with every invocation stopping after its first PutRecords call,
/// following the parts and continuations on the queue; returns the number of invocations.
async fn produce_in_continuations(
    pipeline: &Pipeline,
    key: &str,
    body: Vec<u8>,
    part_bytes: Option<u64>,
) -> u32 {
    pipeline.upload(key, body).await;
    let (sqs, url, queue) = work_queue().await;
    let mut settings = pipeline.producer_settings();
    if let Some(part_bytes) = part_bytes {
        settings.part_bytes = part_bytes;
    }
    let producer = Producer::new(pipeline.s3_store(), pipeline.kinesis.clone(), settings);
    // A deadline already reached: stop at the first batch boundary.
    let work = Work {
        queue: &queue,
        until: Instant::now(),
        deadline: None,
    };
    let response = handle_with(&producer, &pipeline.s3_event(key).await, Some(&work))
        .await
        .unwrap_or_else(|error| panic!("{error:?}"));
    // It stopped early, or read the first of several parts.
    let first = &response.objects[0];
    assert!(!first.finished || !first.last_part, "{response:?}");
    let mut invocations = 1;
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(1)
            .send()
            .await
            .unwrap();
        let Some(message) = received.messages.unwrap_or_default().pop() else {
            break;
        };
        let event = sqs_event(&message);
        let response = handle_work(&producer, &event, &work).await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
        sqs.delete_message()
            .queue_url(&url)
            .receipt_handle(message.receipt_handle.unwrap())
            .send()
            .await
            .unwrap();
        invocations += 1;
        assert!(invocations < 1_000, "no end to the continuations");
    }
    invocations
}

/// What of `taxistream run`'s output the stream is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    /// The three tables, item by item, after the consumer handler wrote them to DynamoDB.
    Tables,
    /// The trips: the stream carries every trip id of the local tables and no other (moto's
    /// DynamoDB takes minutes for 100,000 trips; the consumer's side is the same at any size).
    TripIds,
}

/// Returns the accounting of `status`, and the number of invocations.
async fn assert_continued_like_run(
    key: &str,
    body: Vec<u8>,
    local: &Path,
    rows: u64,
    part_bytes: Option<u64>,
) -> (Accounting, u32) {
    assert_continued_like(key, body, local, rows, part_bytes, Compare::Tables).await
}

/// [`assert_continued_like_run`], comparing what `compare` says.
async fn assert_continued_like(
    key: &str,
    body: Vec<u8>,
    local: &Path,
    rows: u64,
    part_bytes: Option<u64>,
    compare: Compare,
) -> (Accounting, u32) {
    let pipeline = Pipeline::create(2).await;
    let invocations = produce_in_continuations(&pipeline, key, body, part_bytes).await;
    // At least one PutRecords call of 500 records per invocation.
    assert!(
        u64::from(invocations) >= rows / 500,
        "{key}: {invocations} invocations"
    );
    let records = pipeline.read_stream().await;
    let (run, tables) = local_run(local).await;
    match compare {
        Compare::Tables => consume_and_compare(&pipeline, &records, local).await,
        Compare::TripIds => {
            let sent: BTreeSet<&str> = records
                .iter()
                .map(|record| record.partition_key.as_str())
                .collect();
            let trips: BTreeSet<&str> = tables["trip_duration_analysis"]
                .keys()
                .map(String::as_str)
                .collect();
            assert!(
                sent == trips,
                "{key}: the trips on the stream are not run's"
            );
        }
    }

    let object = ObjectRef {
        bucket: pipeline.bucket.clone(),
        key: key.to_owned(),
    };
    let settings = pipeline.producer_settings();
    let scratch = tempfile::tempdir().unwrap();
    let status = object_status(
        &pipeline.s3_store(),
        &object,
        None,
        &settings.reports_prefix,
        scratch.path(),
    )
    .await
    .unwrap();
    assert_eq!(status.progress, ChainState::Complete, "{key}");
    assert_eq!(status.invocations, invocations as usize, "{key}");
    assert_same_rows(key, &status.accounting, &run);
    (status.accounting, invocations)
}

/// The rows' part of two accountings agree (the producer does not analyse trips: items and
/// categories are the consumer's).
pub(crate) fn assert_same_rows(name: &str, status: &Accounting, run: &Accounting) {
    let rows = |a: &Accounting| {
        (
            a.rows_read,
            a.trips,
            a.duplicates,
            a.rejected,
            a.rejected_by_reason.clone(),
        )
    };
    assert_eq!(rows(status), rows(run), "{name}: status against run");
}

/// A CSV file with its first `repeated` trips repeated at its end: duplicates that a later
/// invocation reads.
fn with_first_rows_repeated_at_the_end(csv: &[u8], repeated: usize) -> Vec<u8> {
    let text = std::str::from_utf8(csv).unwrap();
    let mut body = text.to_owned();
    if !body.ends_with('\n') {
        body.push('\n');
    }
    for line in text.lines().skip(1).take(repeated) {
        body.push_str(line);
        body.push('\n');
    }
    body.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_object_continued_many_times_gives_the_tables_and_accounting_of_run() {
    let name = "yellow_tripdata_2025-01_first10k.csv";
    let body = with_first_rows_repeated_at_the_end(&std::fs::read(testdata(name)).unwrap(), 600);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repeated.csv");
    std::fs::write(&path, &body).unwrap();
    let (accounting, _) =
        assert_continued_like_run("incoming/continued.csv", body, &path, 10_600, None).await;
    // The repeats were sent again by the last invocations; status counts them as run does.
    assert!(accounting.duplicates >= 590, "{accounting:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_csv_object_of_100k_rows_continued_sends_the_trips_and_accounting_of_run() {
    let input = distinct_csv(10, 600);
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gzip, &input.body).unwrap();
    let body = gzip.finish().unwrap();
    // A part size far below the object's: a gzip object is one part all the same, continued
    // after every 500 records.
    let (accounting, invocations) = assert_continued_like(
        "incoming/month.csv.gz",
        body,
        &input.path,
        100_600,
        Some(1),
        Compare::TripIds,
    )
    .await;
    // Each invocation stops after its first call of 500 records, and its closing flush sends
    // the record that started the next batch: 501 records each. Every trip was sent (repeats
    // too, by another invocation than the first sighting's), so records = trips + duplicates.
    let sent = accounting.trips + accounting.duplicates;
    assert_eq!(u64::from(invocations), sent.div_ceil(501), "{accounting:?}");
    assert!(accounting.duplicates >= 590, "{accounting:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_object_of_100k_rows_in_parts_each_continued_sends_the_trips_and_accounting_of_run() {
    let input = distinct_csv(10, 600);
    // About 12 MB in parts of 2 MB or a little more: 6 parts of about 16,800 rows, each in 34
    // invocations of at most 501 records.
    let (accounting, invocations) = assert_continued_like(
        "incoming/month.csv",
        input.body.clone(),
        &input.path,
        100_600,
        Some(2_000_000),
        Compare::TripIds,
    )
    .await;
    assert!(
        (202..=210).contains(&invocations),
        "{invocations} invocations"
    );
    // The repeats were sent again by the last part; status counts them as run does.
    assert!(accounting.duplicates >= 590, "{accounting:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_official_crlf_csv_object_in_parts_gives_the_tables_and_accounting_of_run() {
    // Raw TLC bytes: CRLF line endings, 500 rows without some columns.
    let path = testdata("yellow_tripdata_2020-01_head499_tail500.csv");
    let body = std::fs::read(&path).unwrap();
    let (_, invocations) =
        assert_continued_like_run("incoming/crlf.csv", body, &path, 999, Some(10_000)).await;
    assert!(invocations >= 9, "{invocations} invocations: about 9 parts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parquet_object_in_row_groups_continued_many_times_gives_the_tables_of_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("groups.parquet");
    with_row_groups_of(
        &testdata("yellow_tripdata_2025-01_first10k.parquet"),
        700,
        &file,
    );
    let body = std::fs::read(&file).unwrap();
    assert_continued_like_run("incoming/continued.parquet", body, &file, 10_000, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parquet_object_of_100k_rows_in_parts_each_continued_gives_the_tables_and_accounting_of_run()
 {
    let (input, row_groups) = distinct_parquet(10, 4_700);
    assert_eq!(row_groups, 22);
    // A part per row group: 21 parts of 4,700 rows, each in 10 invocations of at most 501 records,
    // and a last one of 1,300 in 3. Unsplit, 201 invocations would do.
    let (accounting, invocations) = assert_continued_like_run(
        "incoming/month.parquet",
        input.body.clone(),
        &input.path,
        100_000,
        Some(1),
    )
    .await;
    assert_eq!(invocations, 21 * 10 + 3);
    assert_eq!(accounting.rows_read, 100_000);
}

/// A new work queue in moto: its client, its URL, and the producer's handle on it.
pub(crate) async fn work_queue() -> (aws_sdk_sqs::Client, String, SqsWorkQueue) {
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let url = sqs
        .create_queue()
        .queue_name(unique("work"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue = SqsWorkQueue::new(sqs.clone(), url.clone());
    (sqs, url, queue)
}

/// The event Lambda would deliver for `message`.
pub(crate) fn sqs_event(message: &aws_sdk_sqs::types::Message) -> SqsEvent {
    serde_json::from_value(serde_json::json!({
        "Records": [{
            "messageId": message.message_id.clone().unwrap(),
            "body": message.body.clone().unwrap(),
            "eventSource": "aws:sqs",
        }]
    }))
    .unwrap()
}

#[tokio::test]
async fn a_continuation_of_an_object_deleted_since_is_skipped_not_retried() {
    let pipeline = Pipeline::create(1).await;
    let key = "incoming/deleted.csv";
    pipeline
        .upload(
            key,
            std::fs::read(testdata("yellow_tripdata_2025-01_first10k.csv")).unwrap(),
        )
        .await;
    let (sqs, url, queue) = work_queue().await;
    let producer = Producer::new(
        pipeline.s3_store(),
        pipeline.kinesis.clone(),
        pipeline.producer_settings(),
    );
    let work = Work {
        queue: &queue,
        until: Instant::now(),
        deadline: None,
    };
    handle_with(&producer, &pipeline.s3_event(key).await, Some(&work))
        .await
        .unwrap_or_else(|error| panic!("{error:?}"));
    let message = sqs
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
        .pop()
        .expect("a continuation was queued");
    aws_sdk_s3::Client::new(&sdk_config().await)
        .delete_object()
        .bucket(&pipeline.bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let response = handle_work(&producer, &sqs_event(&message), &work).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let mut unreadable = message.clone();
    unreadable.body = Some("{\"bucket\": 3}".to_owned());
    let response = handle_work(&producer, &sqs_event(&unreadable), &work).await;
    assert_eq!(response.batch_item_failures.len(), 1, "{response:?}");
}
