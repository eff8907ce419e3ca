//! KPL aggregated records written by the awslabs reference library (`aws-kinesis-agg`, through
//! `scripts/kpl/kpl_interop.py`) read by the Lambda consumer into the tables of `taxistream run`:
//! an aggregate whose MD5 was corrupted is set aside whole, a user record that is not a trip alone.

use crate::common::{Pipeline, kinesis_events, local_tables, testdata};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};
use taxistream_aws::Consumer;
use taxistream_pipeline::StreamRecord;

/// `kpl_interop.py COMMAND ARGS` over JSON Lines, with the test venv's interpreter.
fn interop(command: &[&str], lines: &[Value]) -> Vec<Value> {
    let python = std::env::var("TAXISTREAM_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("TAXISTREAM_TEST_PYTHON is not set: run ./scripts/test.sh, which sets it")
    });
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/kpl/kpl_interop.py"
    );
    let mut child = Command::new(python)
        .arg(script)
        .args(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Written from another thread: the script writes while it reads, and a full pipe each way
    // would block both.
    let mut input = child.stdin.take().unwrap();
    let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
    let writer = std::thread::spawn(move || input.write_all(text.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "kpl_interop.py {command:?}: {stderr}"
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn user_record(partition_key: &str, data: &[u8]) -> Value {
    json!({"partition_key": partition_key, "explicit_hash_key": null, "data": STANDARD.encode(data)})
}

fn aggregate(users: &[Value]) -> Vec<Value> {
    interop(&["aggregate", "--max-bytes", "51200"], users)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_of_the_reference_library_give_the_tables_of_run() {
    let name = "yellow_tripdata_2020-01_head499_tail500.csv";
    let pipeline = Pipeline::create(1).await;
    let key = pipeline.upload_testdata(name).await;
    let producer = pipeline.producer();
    lambda_kinesis_producer::handle(&producer, &pipeline.s3_event(&key).await)
        .await
        .unwrap();
    let users: Vec<Value> = pipeline
        .read_stream()
        .await
        .iter()
        .map(|record| user_record(&record.partition_key, &record.data))
        .collect();

    let mut aggregates = aggregate(&users);
    assert!(aggregates.len() > 5, "{} aggregates", aggregates.len());
    // Trips again in an aggregate whose MD5 no longer matches: set aside whole.
    aggregates.extend(interop(&["corrupt-md5"], &aggregate(&users[..20])));
    // Trips again around a user record that is not a trip: set aside alone.
    let mut mixed = users[20..25].to_vec();
    mixed.insert(2, user_record("not-a-trip", b"\x00 binary, not JSON"));
    aggregates.extend(aggregate(&mixed));
    let records: Vec<StreamRecord> = aggregates
        .iter()
        .zip(1..)
        .map(|(aggregate, sequence)| StreamRecord {
            partition_key: aggregate["partition_key"].as_str().unwrap().to_owned(),
            data: STANDARD
                .decode(aggregate["data"].as_str().unwrap())
                .unwrap(),
            sequence_number: Some(format!("{sequence}")),
        })
        .collect();

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
