//! `taxistream produce`, `consume` and `status` against moto, a local AWS emulator that
//! `scripts/test.sh` installs and starts: the same tables as `taxistream run`, and a consumer
//! stopped halfway resumes from its checkpoint with nothing lost and nothing done twice.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::aws::{consume, json, produce, produce_as, taxistream};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use taxistream_e2e::moto::{Pipeline, local_tables, testdata};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_then_consume_gives_the_tables_of_run() {
    let name = "yellow_tripdata_2021-01_head99.csv";
    let pipeline = Pipeline::create(2).await;
    let dir = tempfile::tempdir().unwrap();
    let produced = produce_as(&pipeline, dir.path(), &testdata(name), "kpl");
    assert_eq!(produced["accounting"]["trips"], 99);
    assert_eq!(produced["put_records"]["calls"], 1);
    let consumed = json(
        &consume(&pipeline, dir.path(), &["--until-idle"])
            .output()
            .unwrap(),
    );
    // 99 trips aggregated by hash-key bucket: at most one record per bucket.
    let records = consumed["report"]["totals"]["records_done"]
        .as_u64()
        .unwrap();
    assert!((1..=16).contains(&records), "{records} records");
    assert_eq!(
        consumed["report"]["totals"]["accounting"]["items"]["trip_duration_analysis"],
        99
    );
    assert_eq!(
        pipeline.dump_tables().await,
        local_tables(&testdata(name)).await
    );
    // A second run finds nothing new: the checkpoint is where the first one stopped.
    let again = json(
        &consume(&pipeline, dir.path(), &["--until-idle"])
            .output()
            .unwrap(),
    );
    assert_eq!(again["report"]["batches"], 0);
}

/// Starts `consume`, waits until its checkpoint file shows progress, then sends `signal`.
fn consume_and_stop(pipeline: &Pipeline, dir: &Path, signal: &str) -> Output {
    let child: Child = consume(pipeline, dir, &["--batch-size", "25"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let checkpoint = dir.join(format!("taxistream-{}.checkpoint.json", pipeline.stream));
    let started = Instant::now();
    while !checkpoint.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no checkpoint after 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_stopped_halfway_resumes_with_nothing_lost_and_nothing_twice() {
    let name = "yellow_tripdata_2020-01_head499_tail500.csv";
    let pipeline = Pipeline::create(2).await;
    let dir = tempfile::tempdir().unwrap();
    produce(&pipeline, dir.path(), &testdata(name));

    let first = json(&consume_and_stop(&pipeline, dir.path(), "-TERM"));
    assert_eq!(first["report"]["interrupted"], true);
    let done_first = first["report"]["totals"]["records_done"].as_u64().unwrap();
    assert!(
        done_first > 0 && done_first < 999,
        "stopped halfway: {done_first}"
    );

    let rest = json(
        &consume(&pipeline, dir.path(), &["--until-idle"])
            .output()
            .unwrap(),
    );
    let done_rest = rest["report"]["totals"]["records_done"].as_u64().unwrap();
    assert_eq!(
        done_first + done_rest,
        999,
        "every record consumed exactly once"
    );
    let items = |run: &Value, table: &str| {
        run["report"]["totals"]["accounting"]["items"][table]
            .as_u64()
            .unwrap()
    };
    assert_eq!(
        items(&first, "trip_duration_analysis") + items(&rest, "trip_duration_analysis"),
        999
    );
    assert_eq!(
        pipeline.dump_tables().await,
        local_tables(&testdata(name)).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_killed_outright_loses_nothing() {
    let name = "yellow_tripdata_2020-01_head499_tail500.csv";
    let pipeline = Pipeline::create(1).await;
    let dir = tempfile::tempdir().unwrap();
    // An undecodable record first: it must reach the rejects file whenever the kill comes.
    pipeline
        .kinesis
        .put_record()
        .stream_name(&pipeline.stream)
        .partition_key("poison")
        .data(aws_sdk_kinesis::primitives::Blob::new(
            b"not a trip".to_vec(),
        ))
        .send()
        .await
        .unwrap();
    produce(&pipeline, dir.path(), &testdata(name));
    let killed = consume_and_stop(&pipeline, dir.path(), "-KILL");
    assert!(!killed.status.success());
    // At most the batch in hand when killed is read again: writes are idempotent upserts.
    let rest = json(
        &consume(&pipeline, dir.path(), &["--until-idle"])
            .output()
            .unwrap(),
    );
    assert!(rest["report"]["totals"]["records_done"].as_u64().unwrap() < 1000 + 25);
    let rejects = dir.path().join("taxistream-consume-rejects.csv");
    let rejects = std::fs::read_to_string(rejects).unwrap();
    assert!(
        rejects.contains("bad_record") && rejects.contains("not a trip"),
        "{rejects}"
    );
    assert_eq!(
        pipeline.dump_tables().await,
        local_tables(&testdata(name)).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_says_whether_an_object_is_done_and_its_accounting() {
    let name = "yellow_tripdata_2021-01_head99.csv";
    let pipeline = Pipeline::create(1).await;
    let dir = tempfile::tempdir().unwrap();
    let key = "incoming/head 99.csv";
    pipeline
        .upload(key, std::fs::read(testdata(name)).unwrap())
        .await;
    let url = format!("s3://{}/{key}", pipeline.bucket);
    let status = || {
        taxistream(&pipeline, dir.path())
            .args(["status", &url])
            .output()
            .unwrap()
    };
    let before = status();
    assert_eq!(before.status.code(), Some(1));
    let said = String::from_utf8_lossy(&before.stderr);
    assert!(said.contains("not complete"), "{said}");

    let produced = json(
        &taxistream(&pipeline, dir.path())
            .args(["produce", "--json", "--no-progress", &url])
            .output()
            .unwrap(),
    );
    assert_eq!(produced["accounting"]["trips"], 99, "{produced}");
    let after = json(
        &taxistream(&pipeline, dir.path())
            .args(["status", "--json", &url])
            .output()
            .unwrap(),
    );
    assert_eq!(after["progress"]["state"], "complete", "{after}");
    assert_eq!(after["invocations"], 1);
    assert_eq!(after["accounting"]["rows_read"], 99);
    assert_eq!(after["accounting"]["trips"], 99);
    let text = String::from_utf8_lossy(&status().stdout).into_owned();
    assert!(text.contains("complete") && text.contains("99"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reshards_children_found_at_a_restart_are_read_from_their_start_even_from_latest() {
    let pipeline = Pipeline::create(1).await;
    let dir = tempfile::tempdir().unwrap();
    produce(
        &pipeline,
        dir.path(),
        &testdata("yellow_tripdata_2021-01_head99.csv"),
    );
    let first = json(
        &consume(&pipeline, dir.path(), &["--until-idle"])
            .output()
            .unwrap(),
    );
    assert_eq!(first["report"]["totals"]["records_done"], 99);
    // While no consumer runs, the only shard splits in two, and new trips go to its children.
    let listed = pipeline
        .kinesis
        .list_shards()
        .stream_name(&pipeline.stream)
        .send()
        .await
        .unwrap();
    let parent = listed.shards()[0].shard_id().to_owned();
    pipeline
        .kinesis
        .split_shard()
        .stream_name(&pipeline.stream)
        .shard_to_split(&parent)
        .new_starting_hash_key((1u128 << 127).to_string())
        .send()
        .await
        .unwrap();
    let produced = produce(
        &pipeline,
        dir.path(),
        &testdata("yellow_tripdata_sample_2019-07.csv"),
    );
    let trips = produced["accounting"]["trips"].as_u64().unwrap();
    assert!(trips > 0);
    let restarted = json(
        &consume(&pipeline, dir.path(), &["--until-idle", "--from", "latest"])
            .output()
            .unwrap(),
    );
    assert_eq!(restarted["report"]["totals"]["records_done"], trips);
}

/// `command` through the fault proxy, run again (as a user or a scheduler would) until it
/// succeeds; each failure must say what failed. Returns the successful output.
fn until_success(mut command: Command, proxy: &taxistream_e2e::fault_proxy::FaultProxy) -> Output {
    command
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .env("TAXISTREAM_CONNECT_TIMEOUT_SECONDS", "2")
        .env("TAXISTREAM_ATTEMPT_TIMEOUT_SECONDS", "2")
        .env("TAXISTREAM_OPERATION_TIMEOUT_SECONDS", "20");
    for _ in 0..3 {
        let started = Instant::now();
        let output = command.output().unwrap();
        assert!(started.elapsed() < Duration::from_secs(120), "hung");
        if output.status.success() {
            return output;
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("error"), "a failure must say why: {stderr}");
    }
    panic!("still failing after 3 runs: {:?}", proxy.injected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_and_consume_through_a_faulty_network_give_the_tables_of_run() {
    use taxistream_e2e::fault_proxy::{FaultProxy, every_fault};
    let name = "yellow_tripdata_2020-01_head499_tail500.csv";
    let pipeline = Pipeline::create(2).await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = FaultProxy::start(&every_fault("Kinesis_20131202.PutRecords"));
    let mut command = taxistream(&pipeline, dir.path());
    command
        .args(["produce", "--json", "--no-progress"])
        .arg(testdata(name));
    let produced = json(&until_success(command, &proxy));
    assert_eq!(produced["accounting"]["rows_read"], 999);
    assert_eq!(proxy.injected().len(), 6, "{:?}", proxy.injected());

    let mut rules = every_fault("DynamoDB_20120810.BatchWriteItem");
    rules.extend(every_fault("Kinesis_20131202.GetRecords"));
    let proxy = FaultProxy::start(&rules);
    json(&until_success(
        consume(&pipeline, dir.path(), &["--until-idle"]),
        &proxy,
    ));
    assert_eq!(proxy.injected().len(), 12, "{:?}", proxy.injected());
    assert_eq!(
        pipeline.dump_tables().await,
        local_tables(&testdata(name)).await
    );
}
