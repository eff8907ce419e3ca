//! Python programs of the test venv (`TAXISTREAM_TEST_PYTHON`, which `scripts/test.sh` sets):
//! reference libraries used as oracles, fed and read as JSON Lines.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::io::Write;
use std::process::{Command, Stdio};
use taxistream_pipeline::StreamRecord;

/// Runs the test venv's Python with `args`, `lines` on its standard input (one JSON value per
/// line); returns its standard output's lines as JSON values. Fails the test when it fails.
pub fn json_lines(args: &[&str], lines: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let python = std::env::var("TAXISTREAM_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("TAXISTREAM_TEST_PYTHON is not set: run ./scripts/test.sh, which sets it")
    });
    let mut child = Command::new(python)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Written from another thread: the program writes while it reads, and a full pipe each way
    // would block both.
    let mut input = child.stdin.take().unwrap();
    let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
    let writer = std::thread::spawn(move || input.write_all(text.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "python {args:?}: {stderr}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// `scripts/kpl/kpl_interop.py` (the awslabs `aws-kinesis-agg` library) with `args`.
pub fn kpl_interop(args: &[&str], lines: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/kpl/kpl_interop.py"
    );
    let mut all = vec![script];
    all.extend_from_slice(args);
    json_lines(&all, lines)
}

/// A user record as `kpl_interop.py` reads it.
pub fn user_record_line(partition_key: &str, data: &[u8]) -> serde_json::Value {
    serde_json::json!({"partition_key": partition_key, "explicit_hash_key": null, "data": STANDARD.encode(data)})
}

/// `records` aggregated by the reference library into records of at most 50 KiB, as stream
/// records numbered from 1.
pub fn reference_aggregates(records: &[StreamRecord]) -> Vec<StreamRecord> {
    let users: Vec<serde_json::Value> = records
        .iter()
        .map(|record| user_record_line(&record.partition_key, &record.data))
        .collect();
    stream_records(&aggregate_lines(&users))
}

/// User record lines (see [`user_record_line`]) aggregated by the reference library into
/// records of at most 50 KiB, as its output lines.
pub fn aggregate_lines(users: &[serde_json::Value]) -> Vec<serde_json::Value> {
    kpl_interop(&["aggregate", "--max-bytes", "51200"], users)
}

/// Lines of `kpl_interop.py`'s output as stream records, numbered from 1.
pub fn stream_records(lines: &[serde_json::Value]) -> Vec<StreamRecord> {
    lines
        .iter()
        .zip(1..)
        .map(|(line, sequence)| StreamRecord {
            partition_key: line["partition_key"].as_str().unwrap().to_owned(),
            explicit_hash_key: None,
            data: STANDARD.decode(line["data"].as_str().unwrap()).unwrap(),
            sequence_number: Some(format!("{sequence}")),
        })
        .collect()
}
