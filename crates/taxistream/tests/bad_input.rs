//! The CLI on bad input: one clear line naming the file (and line, column), a non-zero exit code,
//! and rejected rows accounted for in the rejects file.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{dump_tables, fixture, run_in};
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::{Path, PathBuf};

const HEADER: &str =
    "VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,trip_distance,fare_amount,total_amount";

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(bytes)
        .unwrap_or_else(|error| panic!("{error}"));
    encoder.finish().unwrap_or_else(|error| panic!("{error}"))
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"))
}

/// Runs on one file and expects failure with one `error:` line containing every `needles`.
fn assert_fails_with(file: &Path, needles: &[&str]) {
    let dir = tempdir();
    let run = run_in(dir.path(), "bad.db", &[], &[file]);
    assert!(
        !run.success(),
        "expected failure on {}: {}",
        file.display(),
        run.stdout()
    );
    let stderr = run.stderr();
    let error_lines: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("error: "))
        .collect();
    assert_eq!(error_lines.len(), 1, "one error line expected: {stderr}");
    for needle in needles {
        assert!(
            error_lines[0].contains(needle),
            "{needle:?} not in {stderr}"
        );
    }
}

#[test]
fn an_empty_file_is_refused() {
    let dir = tempdir();
    let file = write(dir.path(), "empty.csv", b"");
    assert_fails_with(&file, &["empty.csv", "the file is empty"]);
}

#[test]
fn a_missing_file_is_refused() {
    assert_fails_with(
        Path::new("/nonexistent/trips.csv"),
        &["/nonexistent/trips.csv", "cannot read"],
    );
}

#[test]
fn binary_garbage_is_an_unknown_format() {
    let dir = tempdir();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = write(dir.path(), "garbage.csv", &garbage);
    assert_fails_with(&file, &["garbage.csv", "unknown format"]);
}

#[test]
fn a_truncated_gzip_fails_after_the_last_good_line() {
    let dir = tempdir();
    let csv = std::fs::read(fixture("yellow_tripdata_2015-01_sample.csv"))
        .unwrap_or_else(|e| panic!("{e}"));
    let compressed = gzip(&csv);
    let file = write(
        dir.path(),
        "cut.csv.gz",
        &compressed[..compressed.len() / 2],
    );
    assert_fails_with(&file, &["cut.csv.gz", "read failed after line"]);
    // The rows before the error are kept in the new database, published as at the end of any run.
    let run = run_in(dir.path(), "cut.db", &[], &[&file]);
    assert!(!run.success());
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["cut.csv.gz", "cut.db", "cut.db.rejects.csv"]);
    assert!(!dump_tables(&dir.path().join("cut.db")).is_empty());
}

#[test]
fn a_truncated_parquet_file_is_refused() {
    let dir = tempdir();
    let bytes = std::fs::read(fixture("yellow_tripdata_2025-01_first10k.parquet"))
        .unwrap_or_else(|e| panic!("{e}"));
    let file = write(dir.path(), "cut.parquet", &bytes[..bytes.len() * 3 / 5]);
    assert_fails_with(&file, &["cut.parquet", "invalid Parquet file"]);
}

#[test]
fn a_file_that_is_not_a_trip_file_names_its_columns() {
    let dir = tempdir();
    let file = write(
        dir.path(),
        "zones.csv",
        b"\"LocationID\",\"Borough\",\"Zone\"\r\n1,\"EWR\",\"Newark Airport\"\r\n",
    );
    assert_fails_with(
        &file,
        &[
            "zones.csv",
            "found columns: LocationID, Borough, Zone",
            "accepted names",
            "tpep_pickup_datetime",
        ],
    );
}

#[test]
fn an_unwritable_database_is_refused_before_reading() {
    let dir = tempdir();
    let input = fixture("yellow_tripdata_2021-01_head99.csv");
    let run = run_in(dir.path(), "no/such/dir/t.db", &[], &[&input]);
    assert!(!run.success());
    assert!(
        run.stderr().contains("its directory does not exist"),
        "{}",
        run.stderr()
    );
    // A path that exists but cannot be a database (a directory).
    std::fs::create_dir(dir.path().join("taken.db")).unwrap();
    let run = run_in(dir.path(), "taken.db", &[], &[&input]);
    assert!(!run.success());
    let stderr = run.stderr();
    assert!(stderr.contains("error: database"), "{stderr}");
    assert_eq!(
        stderr.matches("Is a directory").count(),
        1,
        "said once: {stderr}"
    );
}

#[test]
fn contradictory_thresholds_are_refused() {
    let dir = tempdir();
    let run = run_in(
        dir.path(),
        "t.db",
        &["--short-trip-minutes", "40"],
        &[&fixture("yellow_tripdata_2021-01_head99.csv")],
    );
    assert!(!run.success());
    assert!(
        run.stderr()
            .contains("short_trip_minutes (40) must not be above long_trip_minutes (30)"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_header_only_file_is_zero_rows_not_an_error() {
    let dir = tempdir();
    let file = write(dir.path(), "header.csv", format!("{HEADER}\r\n").as_bytes());
    let run = run_in(dir.path(), "h.db", &["--json"], &[&file]);
    assert!(run.success(), "{}", run.stderr());
    assert_eq!(run.json()["accounting"]["rows_read"], 0);
}

#[test]
fn bad_rows_are_rejected_with_line_column_and_reason_and_nothing_is_lost() {
    let dir = tempdir();
    let text = format!(
        "{HEADER}\n\
         1,2025-01-01 00:00:00,2025-01-01 00:12:00,2.0,12.5,60.25\n\
         1,2025-01-01 00:00:00,2025-01-01 00:12:00,2.0\n\
         1,2025-01-01 00:00:00,01/01/2025 00:12,2.0,12.5,20\n\
         1,2025-01-01 00:00:00,2025-01-01 00:12:00,two,12.5,20\n\
         \n\
         1,2025-01-01 00:00:00,2025-01-01 00:12:00,2.0,12.5,60.25\n"
    );
    let file = write(dir.path(), "dirty.csv", text.as_bytes());
    let run = run_in(dir.path(), "d.db", &["--json"], &[&file]);
    assert!(run.success(), "{}", run.stderr());
    let accounting = &run.json()["accounting"];
    assert_eq!(accounting["rows_read"], 5);
    assert_eq!(accounting["trips"], 1);
    assert_eq!(accounting["duplicates"], 1);
    assert_eq!(
        accounting["rejected_by_reason"],
        serde_json::json!({"too_few_fields": 1, "bad_timestamp": 1, "bad_number": 1})
    );
    let rejects = std::fs::read_to_string(dir.path().join("d.db.rejects.csv"))
        .unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(
        lines[0],
        "source,line,column,reason,detail,raw,raw_encoding"
    );
    assert!(lines[1].ends_with(",3,,too_few_fields,\"4 fields, the header has 6\",\"1,2025-01-01 00:00:00,2025-01-01 00:12:00,2.0\",text"), "{}", lines[1]);
    assert!(
        lines[2].contains(",4,3:tpep_dropoff_datetime,bad_timestamp,"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].contains(",5,4:trip_distance,bad_number,"),
        "{}",
        lines[3]
    );
    assert_eq!(lines.len(), 4);
}

#[test]
fn gzip_csv_and_misnamed_parquet_are_read_by_content() {
    let dir = tempdir();
    let csv = std::fs::read(fixture("yellow_tripdata_2021-01_head99.csv"))
        .unwrap_or_else(|e| panic!("{e}"));
    let gz = write(dir.path(), "trips.csv.gz", &gzip(&csv));
    let run = run_in(dir.path(), "gz.db", &["--json"], &[&gz]);
    assert!(run.success(), "{}", run.stderr());
    assert_eq!(run.json()["files"][0]["format"], "gzip_csv");
    assert_eq!(run.json()["accounting"]["trips"], 99);
    let parquet = std::fs::read(fixture("yellow_tripdata_2025-01_first10k.parquet"))
        .unwrap_or_else(|e| panic!("{e}"));
    let misnamed = write(dir.path(), "actually_parquet.csv", &parquet);
    let run = run_in(dir.path(), "pq.db", &["--json"], &[&misnamed]);
    assert!(run.success(), "{}", run.stderr());
    assert_eq!(run.json()["files"][0]["format"], "parquet");
}

#[test]
fn a_corrupt_parquet_file_is_an_error_not_a_crash() {
    // Made by a mutation fuzzer from a small Parquet file; the Parquet library panics on its
    // metadata ("column start and length should not be negative").
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/corrupt_footer.parquet");
    assert_fails_with(&file, &["corrupt_footer.parquet", "invalid Parquet file"]);
    let dir = tempdir();
    let run = run_in(dir.path(), "c.db", &[], &[&file]);
    assert_eq!(run.output.status.code(), Some(1));
    assert!(!run.stderr().contains("panicked"), "{}", run.stderr());
}

#[test]
fn outputs_never_overwrite_inputs_or_each_other() {
    let dir = tempdir();
    let input = write(
        dir.path(),
        "in.csv",
        format!("{HEADER}\n1,2025-01-01 00:00:00,2025-01-01 00:12:00,2.0,12.5,60.25\n").as_bytes(),
    );
    let before = std::fs::read(&input).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_taxistream"))
            .current_dir(dir.path())
            .arg("run")
            .args(args)
            .output()
            .unwrap()
    };
    let output = run(&["in.csv", "--rejects", "in.csv"]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--rejects in.csv is also an input file")
    );
    let output = run(&["in.csv", "--db", "x.db", "--rejects", "./x.db"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("are the same file"));
    assert_eq!(
        std::fs::read(&input).unwrap(),
        before,
        "the input is untouched"
    );
    assert!(!dir.path().join("x.db").exists(), "nothing was created");
}

#[test]
fn a_directory_run_skips_non_trip_files_and_its_own_outputs() {
    let dir = tempdir();
    std::fs::copy(
        fixture("yellow_tripdata_2021-01_head99.csv"),
        dir.path().join("trips.csv"),
    )
    .unwrap();
    write(
        dir.path(),
        "taxi_zone_lookup.csv",
        b"LocationID,Borough\n1,EWR\n",
    );
    for _ in 0..2 {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_taxistream"))
            .current_dir(dir.path())
            .args(["run", "--json", "--no-progress", "."])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(summary["accounting"]["trips"], 99);
        assert!(
            summary["skipped_files"][0]
                .as_str()
                .unwrap()
                .contains("taxi_zone_lookup.csv: not a trip file")
        );
    }
}
