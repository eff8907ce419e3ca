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

#[test]
fn overlapping_files_count_the_overlap_as_duplicates() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"));
    let full = fixture("yellow_tripdata_2021-01_head99.csv");
    let text = std::fs::read_to_string(&full).unwrap_or_else(|error| panic!("{error}"));
    let head: Vec<&str> = text.lines().take(41).collect();
    let part = dir.path().join("first40.csv");
    std::fs::write(&part, head.join("\n")).unwrap_or_else(|error| panic!("{error}"));
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
