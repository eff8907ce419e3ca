//! Every file of `testdata/` against its golden accounting, verified independently of this code
//! (see `testdata/golden/METHOD.md`: Python `decimal` and DuckDB SQL, two methods that agree).
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{fixture, run_in, testdata};
use serde_json::{Value, json};

const ACCOUNTING_KEYS: [&str; 8] = [
    "rows_read",
    "trips",
    "duplicates",
    "rejected",
    "rejected_by_reason",
    "items",
    "duration_category",
    "profitability",
];

fn golden_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(testdata())
        .unwrap_or_else(|error| panic!("testdata/: {error}"))
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "README.md")
        .collect();
    names.sort();
    names
}

#[test]
fn every_testdata_file_matches_its_golden_accounting() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"));
    let names = golden_files();
    assert!(
        names.len() >= 10,
        "testdata/ should hold at least 10 trip files, found {names:?}"
    );
    let mut mismatches = Vec::new();
    for name in &names {
        let golden_path = testdata().join("golden").join(format!("{name}.json"));
        let golden: Value = std::fs::read(&golden_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_else(|| panic!("missing or invalid golden file {}", golden_path.display()));
        let run = run_in(
            dir.path(),
            &format!("{name}.db"),
            &["--json"],
            &[&fixture(name)],
        );
        assert!(run.success(), "{name}: {}", run.stderr());
        let accounting = &run.json()["accounting"];
        let count = |key: &str| accounting[key].as_u64().unwrap_or(u64::MAX);
        assert_eq!(
            count("rows_read"),
            count("trips") + count("duplicates") + count("rejected"),
            "{name}: rows read must be trips + duplicates + rejected"
        );
        for key in ACCOUNTING_KEYS {
            if accounting[key] != golden[key] {
                mismatches.push(format!(
                    "{name}: {key}: got {}, golden {}",
                    accounting[key], golden[key]
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn a_file_without_fare_or_total_says_which_analyses_it_could_not_do() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"));
    let file = fixture("green_tripdata_2022-01_5cols.parquet");
    let run = run_in(dir.path(), "five.db", &[], &[&file]);
    assert!(run.success(), "{}", run.stderr());
    let text = run.stdout();
    assert!(
        text.contains("high_value_trips (no total_amount column), distance_to_fare_ratio (no fare_amount column)"),
        "{text}"
    );
    let run = run_in(dir.path(), "five.db", &["--json"], &[&file]);
    assert_eq!(
        run.json()["files"][0]["unavailable_analyses"],
        json!([
            ["high_value_trips", "total_amount"],
            ["distance_to_fare_ratio", "fare_amount"]
        ])
    );
}
