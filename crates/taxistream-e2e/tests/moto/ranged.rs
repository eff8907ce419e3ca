//! A Parquet object is read by ranged GETs only, a row group at a time: its footer, then one GET
//! per row group, never the whole object; and the tables are the local run's.

use crate::common::{Pipeline, sdk_config, testdata};
use crate::inputs::with_row_groups_of;
use crate::parity::assert_parity_with;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::sync::{Arc, Mutex};
use taxistream_aws::S3Store;

/// One request: method, URI, and its Range header.
type Request = (String, String, Option<String>);

/// Every S3 request the client sends.
#[derive(Debug, Clone, Default)]
struct RecordedRequests(Arc<Mutex<Vec<Request>>>);

impl Intercept for RecordedRequests {
    fn name(&self) -> &'static str {
        "RecordedRequests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        self.0.lock().unwrap().push((
            request.method().to_owned(),
            request.uri().to_owned(),
            request.headers().get("range").map(str::to_owned),
        ));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parquet_object_is_read_by_ranged_gets_one_row_group_each() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("yellow_tripdata_2025-01_groups.parquet");
    let row_groups = with_row_groups_of(
        &testdata("yellow_tripdata_2025-01_first10k.parquet"),
        1_000,
        &file,
    );
    assert_eq!(row_groups, 10);
    let body = std::fs::read(&file).unwrap();
    let length = body.len();

    let pipeline = Pipeline::create(2).await;
    let recorded = RecordedRequests::default();
    let config = sdk_config().await;
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .interceptor(recorded.clone())
            .build(),
    );
    let key = "incoming/2025-01 in groups.parquet";
    assert_parity_with(&pipeline, S3Store::new(client), key, body, &file).await;

    let requests = recorded.0.lock().unwrap().clone();
    let object: Vec<_> = requests
        .iter()
        // The object itself, not its reports (under reports/incoming/…/).
        .filter(|(_, uri, _)| uri.contains("/incoming/2025-01%20in%20groups.parquet?"))
        .collect();
    assert!(
        object
            .iter()
            .all(|(method, _, range)| method == "GET" && range.is_some()),
        "{object:#?}"
    );
    // The footer (the last 64 KiB), then each row group once.
    assert_eq!(object.len(), 1 + row_groups, "{object:#?}");
    assert_eq!(object[0].2.as_deref(), Some("bytes=-65536"));
    let fetched: usize = object[1..]
        .iter()
        .map(|(_, _, range)| {
            let (start, end) = range
                .as_deref()
                .and_then(|range| range.strip_prefix("bytes="))
                .and_then(|range| range.split_once('-'))
                .unwrap();
            end.parse::<usize>().unwrap() + 1 - start.parse::<usize>().unwrap()
        })
        .sum();
    assert!(
        fetched < length,
        "{fetched} bytes of {length} in row groups"
    );
}

/// Fails the request for one given row group's range, as a cut connection would.
#[derive(Debug, Clone)]
struct FailingRange(String);

impl Intercept for FailingRange {
    fn name(&self) -> &'static str {
        "FailingRange"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        match context.request().headers().get("range") {
            Some(range) if range == self.0 => Err("connection reset (injected)".into()),
            _ => Ok(()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_group_that_cannot_be_fetched_fails_the_object_as_retryable() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("groups.parquet");
    with_row_groups_of(
        &testdata("yellow_tripdata_2025-01_first10k.parquet"),
        1_000,
        &file,
    );
    let pipeline = Pipeline::create(1).await;
    let key = "incoming/groups.parquet";
    pipeline.upload(key, std::fs::read(&file).unwrap()).await;
    // The third row group's range, as the footer gives it.
    let metadata = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).unwrap())
        .unwrap()
        .metadata()
        .clone();
    let (start, _) = metadata.row_group(2).column(0).byte_range();
    let (last_start, last_length) = metadata.row_group(2).columns().last().unwrap().byte_range();
    let range = format!("bytes={start}-{}", last_start + last_length - 1);
    let config = sdk_config().await;
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .interceptor(FailingRange(range))
            .build(),
    );
    let producer = taxistream_aws::Producer::new(
        S3Store::new(client),
        pipeline.kinesis.clone(),
        pipeline.producer_settings(),
    );
    let object = taxistream_aws::ObjectRef {
        bucket: pipeline.bucket.clone(),
        key: key.to_owned(),
    };
    let error = producer.produce_object(&object).await.unwrap_err();
    let message = taxistream_pipeline::ErrorChain(&error).to_string();
    assert!(error.is_retryable(), "{message}");
    assert!(
        message.contains("groups.parquet") && message.contains("connection reset (injected)"),
        "{message}"
    );
    // Rows before the failed row group went out; nothing after it did.
    let sent = pipeline.read_stream().await.len();
    assert!(sent <= 2_000, "{sent} records sent");
}
