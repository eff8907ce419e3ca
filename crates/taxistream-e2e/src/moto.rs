//! The emulator, resources with unique names, events from JSON fixtures, and table dumps.

use aws_lambda_events::kinesis::KinesisEvent;
use aws_lambda_events::s3::S3Event;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use taxistream_aws::kinesis_source::{Checkpoints, StartPosition, StreamReader};
use taxistream_aws::settings::{ConsumerSettings, ProducerSettings};
use taxistream_aws::{Producer, RetryPolicy, S3Store, TableNames, clients};
use taxistream_core::Table;
use taxistream_pipeline::StreamRecord;

/// A table dump: trip id → attribute → value as exact text.
pub type TableDump = BTreeMap<String, BTreeMap<String, String>>;

/// The emulator's SDK configuration. Fails (never skips) when the emulator is not there.
pub async fn sdk_config() -> aws_config::SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "these tests need moto, a local AWS emulator, at AWS_ENDPOINT_URL=http://127.0.0.1:PORT \
         (got {endpoint:?}): run ./scripts/test.sh, which installs and starts it"
    );
    clients::load_config(&taxistream_aws::SdkTimeouts::default())
        .await
        .unwrap_or_else(|error| panic!("{error}"))
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A file of the repository's `testdata/`.
pub fn testdata(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name);
    assert!(
        path.is_file(),
        "missing fixture {}: restore it from git",
        path.display()
    );
    path
}

/// Policies that retry quickly, for tests that provoke retries.
pub fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: std::time::Duration::from_millis(2),
        max_delay: std::time::Duration::from_millis(20),
    }
}

/// One emulated pipeline: a bucket, a stream and three tables, all uniquely named.
pub struct Pipeline {
    /// S3 client of the emulator.
    pub s3: aws_sdk_s3::Client,
    /// Kinesis client of the emulator.
    pub kinesis: aws_sdk_kinesis::Client,
    /// DynamoDB client of the emulator.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// The bucket.
    pub bucket: String,
    /// The stream.
    pub stream: String,
    /// The three tables' names.
    pub tables: TableNames,
}

impl Pipeline {
    /// Creates the resources (a stream of `shards` shards).
    pub async fn create(shards: i32) -> Pipeline {
        let config = sdk_config().await;
        let pipeline = Pipeline {
            s3: clients::s3(&config),
            kinesis: clients::kinesis(&config),
            dynamodb: clients::dynamodb(&config),
            bucket: unique("trips"),
            stream: unique("taxi_trips"),
            tables: TableNames::new(Table::ALL.map(|table| unique(table.name()))),
        };
        pipeline
            .s3
            .create_bucket()
            .bucket(&pipeline.bucket)
            .send()
            .await
            .unwrap_or_else(|error| panic!("create bucket: {error:?}"));
        pipeline
            .kinesis
            .create_stream()
            .stream_name(&pipeline.stream)
            .shard_count(shards)
            .send()
            .await
            .unwrap_or_else(|error| panic!("create stream: {error:?}"));
        for table in Table::ALL {
            create_table(&pipeline.dynamodb, pipeline.tables.name(table)).await;
        }
        pipeline
    }

    /// The pipeline's S3 adapter.
    pub fn s3_store(&self) -> S3Store {
        S3Store::new(self.s3.clone())
    }

    /// The producer of this pipeline, straight to moto.
    pub fn producer(&self) -> Producer<aws_sdk_kinesis::Client> {
        Producer::new(
            self.s3_store(),
            self.kinesis.clone(),
            self.producer_settings(),
        )
    }

    /// Producer settings for this pipeline: its stream, one record per trip (so that tests can
    /// look at each trip's record; `tests/moto/kpl.rs` tests aggregation); defaults otherwise.
    pub fn producer_settings(&self) -> ProducerSettings {
        let mut settings =
            ProducerSettings::from_env(&taxistream_aws::settings::Environment(|_: &str| None))
                .unwrap_or_else(|error| panic!("{error}"));
        settings.stream = self.stream.clone();
        settings.aggregation = taxistream_aws::Aggregation::None;
        settings
    }

    /// Consumer settings for this pipeline (its tables, rejects to its bucket).
    pub fn consumer_settings(&self) -> ConsumerSettings {
        let bucket = self.bucket.clone();
        let mut settings = ConsumerSettings::from_env(&taxistream_aws::settings::Environment(
            move |variable: &str| {
                (variable == taxistream_aws::settings::REJECTS_BUCKET).then(|| bucket.clone())
            },
        ))
        .unwrap_or_else(|error| panic!("{error}"));
        settings.tables = self.tables.clone();
        settings
    }

    /// Uploads the `testdata/` file `name` under `incoming/`; returns its key.
    pub async fn upload_testdata(&self, name: &str) -> String {
        let key = format!("incoming/{name}");
        let body = std::fs::read(testdata(name)).unwrap_or_else(|error| panic!("{name}: {error}"));
        self.upload(&key, body).await;
        key
    }

    /// Uploads bytes under `key`.
    pub async fn upload(&self, key: &str, body: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap_or_else(|error| panic!("upload {key}: {error:?}"));
    }

    /// The S3 event of `key` as it is now (its current ETag), as S3 sends it after an upload.
    pub async fn s3_event(&self, key: &str) -> S3Event {
        let head = self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        let etag = head.ok().and_then(|head| head.e_tag().map(str::to_owned));
        s3_event_of(&self.bucket, key, etag.as_deref())
    }

    /// An object's bytes, if it exists.
    pub async fn download(&self, key: &str) -> Option<Vec<u8>> {
        let output = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        Some(output.body.collect().await.ok()?.into_bytes().to_vec())
    }

    /// Every record on the stream, shard by shard, in shard order.
    pub async fn read_stream(&self) -> Vec<StreamRecord> {
        let mut reader = StreamReader::new(
            self.kinesis.clone(),
            &self.stream,
            StartPosition::TrimHorizon,
        );
        let checkpoints = Checkpoints::default();
        let mut records = Vec::new();
        for shard in reader
            .refresh_shards()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        {
            loop {
                let read = reader
                    .read(&shard, &checkpoints, 10_000)
                    .await
                    .unwrap_or_else(|error| panic!("read {shard}: {error}"));
                if read.records.is_empty() {
                    break;
                }
                records.extend(read.records);
            }
        }
        records
    }

    /// Every item of the three tables, as exact text.
    pub async fn dump_tables(&self) -> BTreeMap<&'static str, TableDump> {
        let mut dump = BTreeMap::new();
        for table in Table::ALL {
            dump.insert(
                table.name(),
                scan(&self.dynamodb, self.tables.name(table)).await,
            );
        }
        dump
    }
}

async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("trip_id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("trip_id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .send()
        .await
        .unwrap_or_else(|error| panic!("create table {name}: {error:?}"));
}

async fn scan(client: &aws_sdk_dynamodb::Client, table: &str) -> TableDump {
    let mut dump = TableDump::new();
    let mut start = None;
    loop {
        let output = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|error| panic!("scan {table}: {error:?}"));
        for item in output.items() {
            let mut attributes = BTreeMap::new();
            let mut id = String::new();
            for (name, value) in item {
                let text = match value {
                    AttributeValue::S(text) => text.clone(),
                    AttributeValue::N(number) => exact(number),
                    other => panic!("{table}.{name}: unexpected type {other:?}"),
                };
                if name == "trip_id" {
                    id = text;
                } else {
                    attributes.insert(name.clone(), text);
                }
            }
            assert!(
                dump.insert(id.clone(), attributes).is_none(),
                "{table}: {id} twice"
            );
        }
        start = output.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    dump
}

/// A number as normalized exact decimal text (`12.30` and `12.3` read the same).
pub fn exact(number: &str) -> String {
    number
        .parse::<rust_decimal::Decimal>()
        .map(|value| value.normalize().to_string())
        .unwrap_or_else(|_| panic!("not a decimal number: {number}"))
}

/// The local pipeline (`taxistream run`) on `file`: the three SQLite tables as exact text.
pub async fn local_tables(file: &Path) -> BTreeMap<&'static str, TableDump> {
    local_run(file).await.1
}

/// The local pipeline (`taxistream run`) on `file`: its accounting, and the three SQLite tables
/// as exact text.
pub async fn local_run(
    file: &Path,
) -> (
    taxistream_core::Accounting,
    BTreeMap<&'static str, TableDump>,
) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = taxistream_pipeline::local::LocalRunConfig {
        inputs: vec![file.to_owned()],
        database: dir.path().join("local.db"),
        rejects: dir.path().join("rejects.csv"),
        shards: 2,
        reader_workers: 1,
        rules: taxistream_core::Thresholds::default()
            .validate()
            .unwrap_or_else(|e| panic!("{e}")),
        dedup_memory_trips: taxistream_pipeline::local::run::DEFAULT_DEDUP_MEMORY_TRIPS,
    };
    let report = taxistream_pipeline::local::run_local(&config, Arc::default())
        .await
        .unwrap_or_else(|error| panic!("local run: {error}"));
    let connection = rusqlite::Connection::open(&config.database).unwrap_or_else(|e| panic!("{e}"));
    let mut dump = BTreeMap::new();
    for table in Table::ALL {
        let mut statement = connection
            .prepare(&format!("SELECT * FROM {}", table.name()))
            .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<String> = statement.column_names().map(str::to_owned).collect();
        let mut rows = statement.query([]).unwrap_or_else(|e| panic!("{e}"));
        let mut items = TableDump::new();
        while let Some(row) = rows
            .next()
            .unwrap_or_else(|error| panic!("{table:?}: {error}"))
        {
            let mut attributes = BTreeMap::new();
            for (index, name) in names.iter().enumerate() {
                let text = match row.get_ref(index).unwrap_or_else(|e| panic!("{e}")) {
                    rusqlite::types::ValueRef::Null => continue,
                    rusqlite::types::ValueRef::Integer(value) => value.to_string(),
                    rusqlite::types::ValueRef::Real(value) => exact(&value.to_string()),
                    rusqlite::types::ValueRef::Text(text) => {
                        String::from_utf8_lossy(text).into_owned()
                    }
                    rusqlite::types::ValueRef::Blob(_) => panic!("{name}: blob"),
                };
                attributes.insert(name.clone(), text);
            }
            let id = attributes
                .remove("trip_id")
                .unwrap_or_else(|| panic!("no trip_id"));
            items.insert(id, attributes);
        }
        dump.insert(table.name(), items);
    }
    (report.accounting, dump)
}

/// A key as S3 event notifications encode it: `+` for a space, `%XX` for other reserved bytes.
pub fn encode_event_key(key: &str) -> String {
    let mut encoded = String::new();
    for byte in key.bytes() {
        match byte {
            b' ' => encoded.push('+'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                encoded.push(char::from(byte))
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

/// The S3 event announcing `key` in `bucket`, version `etag` (as S3 writes it: no quotes), or
/// with no ETag (an object that does not exist).
pub fn s3_event_of(bucket: &str, key: &str, etag: Option<&str>) -> S3Event {
    let text = include_str!("../tests/fixtures/s3_put_event.json")
        .replace("BUCKET", bucket)
        .replace("\"KEY\"", &format!("{:?}", encode_event_key(key)));
    let mut event: S3Event =
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("S3 event fixture: {error}"));
    for record in &mut event.records {
        record.s3.object.e_tag = etag.map(|etag| etag.trim_matches('"').to_owned());
    }
    event
}

/// Kinesis events of at most `batch` records each, built on the fixture's record shape.
pub fn kinesis_events(records: &[StreamRecord], batch: usize) -> Vec<KinesisEvent> {
    static TEMPLATE: OnceLock<KinesisEvent> = OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        serde_json::from_str(include_str!("../tests/fixtures/kinesis_event.json"))
            .unwrap_or_else(|error| panic!("Kinesis event fixture: {error}"))
    });
    records
        .chunks(batch)
        .map(|chunk| {
            let mut event = template.clone();
            let shape = event.records[0].clone();
            event.records = chunk
                .iter()
                .map(|record| {
                    let mut event_record = shape.clone();
                    event_record.kinesis.partition_key = record.partition_key.clone();
                    event_record.kinesis.sequence_number =
                        record.sequence_number.clone().unwrap_or_default();
                    event_record.kinesis.data.0 = record.data.clone();
                    event_record
                })
                .collect();
            event
        })
        .collect()
}
