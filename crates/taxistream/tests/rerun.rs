//! Reruns and overlaps: the same input gives the same tables; repeated trips are duplicates.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{dump_tables, fixture, run_in};

#[test]
fn the_same_file_twice_leaves_identical_tables_and_accounting() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"));
    let file = fixture("yellow_tripdata_sample_2018-01.csv");
    let first = run_in(dir.path(), "t.db", &["--json"], &[&file]);
    assert!(first.success(), "{}", first.stderr());
    let after_first = dump_tables(&dir.path().join("t.db"));
    let second = run_in(dir.path(), "t.db", &["--json"], &[&file]);
    assert!(second.success(), "{}", second.stderr());
    let after_second = dump_tables(&dir.path().join("t.db"));
    assert_eq!(after_first.len(), 10_000 + 408 + 9_935);
    assert!(
        after_first == after_second,
        "table contents changed on rerun"
    );
    assert_eq!(first.json()["accounting"], second.json()["accounting"]);
}

/// A copy of `file`'s header and first `rows` rows, in `dir`.
fn first_rows(file: &std::path::Path, rows: usize, dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(file).unwrap_or_else(|error| panic!("{error}"));
    let head: Vec<&str> = text.lines().take(rows + 1).collect();
    let part = dir.join(format!("first{rows}.csv"));
    std::fs::write(&part, head.join("\n")).unwrap_or_else(|error| panic!("{error}"));
    part
}

#[test]
fn overlapping_files_count_the_overlap_as_duplicates() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"));
    let full = fixture("yellow_tripdata_2021-01_head99.csv");
    let part = first_rows(&full, 40, dir.path());
    let run = run_in(dir.path(), "o.db", &["--json"], &[&part, &full]);
    assert!(run.success(), "{}", run.stderr());
    let accounting = &run.json()["accounting"];
    assert_eq!(accounting["rows_read"], 139);
    assert_eq!(accounting["trips"], 99);
    assert_eq!(accounting["duplicates"], 40);
}

#[test]
fn csv_and_parquet_of_the_same_trips_give_the_same_tables() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"));
    let csv = run_in(
        dir.path(),
        "csv.db",
        &[],
        &[&fixture("yellow_tripdata_2025-01_first10k.csv")],
    );
    let parquet = run_in(
        dir.path(),
        "pq.db",
        &[],
        &[&fixture("yellow_tripdata_2025-01_first10k.parquet")],
    );
    assert!(
        csv.success() && parquet.success(),
        "{}{}",
        csv.stderr(),
        parquet.stderr()
    );
    let (from_csv, from_parquet) = (
        dump_tables(&dir.path().join("csv.db")),
        dump_tables(&dir.path().join("pq.db")),
    );
    assert_eq!(from_csv.len(), 746 + 10_000 + 9_885);
    assert!(from_csv == from_parquet, "CSV and Parquet tables differ");
}

#[test]
fn shard_count_does_not_change_the_results() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"));
    let file = fixture("yellow_tripdata_2015-01_sample.csv");
    let one = run_in(dir.path(), "one.db", &["--shards", "1"], &[&file]);
    let seven = run_in(dir.path(), "seven.db", &["--shards", "7"], &[&file]);
    assert!(
        one.success() && seven.success(),
        "{}{}",
        one.stderr(),
        seven.stderr()
    );
    assert!(dump_tables(&dir.path().join("one.db")) == dump_tables(&dir.path().join("seven.db")));
}

#[test]
fn duplicate_detection_spilling_to_disk_counts_exactly_as_in_memory() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"));
    let full = fixture("yellow_tripdata_2021-01_head99.csv");
    let part = first_rows(&full, 40, dir.path());
    let other = fixture("yellow_tripdata_sample_2018-01.csv");
    let inputs: [&std::path::Path; 4] = [&part, &other, &full, &other];
    // 7 trips in memory, in all: thousands of sorted runs on disk, merged at the end.
    let spilled = run_in(
        dir.path(),
        "spilled.db",
        &["--json", "--dedup-memory-trips", "7"],
        &inputs,
    );
    let in_memory = run_in(dir.path(), "memory.db", &["--json"], &inputs);
    assert!(
        spilled.success() && in_memory.success(),
        "{}{}",
        spilled.stderr(),
        in_memory.stderr()
    );
    let (spilled_json, memory_json) = (spilled.json(), in_memory.json());
    assert_eq!(spilled_json["accounting"], memory_json["accounting"]);
    assert_eq!(spilled_json["files"], memory_json["files"]);
    let files = &spilled_json["files"];
    // The 40 rows of the first file come again in the third; the second file comes twice.
    assert_eq!(files[0]["trips"], 40);
    assert_eq!(files[2]["duplicates"], 40);
    assert_eq!(files[2]["trips"], 59);
    assert_eq!(files[3]["trips"], 0);
    assert_eq!(files[3]["duplicates"], 10_000);
    let accounting = &spilled_json["accounting"];
    assert_eq!(accounting["rows_read"], 40 + 10_000 + 99 + 10_000);
    assert_eq!(
        accounting["duplicates"].as_u64().unwrap_or(0),
        40 + 10_000 + files[1]["duplicates"].as_u64().unwrap_or(0)
    );
    assert!(
        dump_tables(&dir.path().join("spilled.db")) == dump_tables(&dir.path().join("memory.db"))
    );
}
