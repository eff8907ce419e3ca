//! Helpers for the CLI tests: run the built binary, find test data, dump tables.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code, missing_docs)]

pub mod aws;

use rusqlite::Connection;
use rusqlite::types::ValueRef;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `testdata/` at the repository root.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// A file of `testdata/`, failing loudly when it is missing.
pub fn fixture(name: &str) -> PathBuf {
    let path = testdata().join(name);
    assert!(
        path.is_file(),
        "missing fixture {}: restore it from git (testdata/ is part of the repository)",
        path.display()
    );
    path
}

/// The outcome of one `taxistream` invocation.
pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    pub fn success(&self) -> bool {
        self.output.status.success()
    }
    /// The `--json` summary.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.output.stdout).unwrap_or_else(|error| {
            panic!(
                "summary is not JSON ({error}): {}\n{}",
                self.stdout(),
                self.stderr()
            )
        })
    }
}

/// Runs `taxistream run` with a database and rejects file in `dir`, plus `extra` arguments.
pub fn run_in(dir: &Path, db: &str, extra: &[&str], inputs: &[&Path]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_taxistream"))
        .arg("run")
        .arg("--db")
        .arg(dir.join(db))
        .arg("--rejects")
        .arg(dir.join(format!("{db}.rejects.csv")))
        .args(extra)
        .args(inputs)
        .env_remove("RUST_LOG")
        .output()
        .unwrap_or_else(|error| panic!("cannot start taxistream: {error}"));
    Run { output }
}

/// Runs `taxistream report --db DB --out OUT --no-progress` plus `extra` arguments.
pub fn report(db: &Path, out: &Path, extra: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_taxistream"))
        .arg("report")
        .arg("--db")
        .arg(db)
        .arg("--out")
        .arg(out)
        .arg("--no-progress")
        .args(extra)
        .env_remove("RUST_LOG")
        .env_remove("TAXISTREAM_DB")
        .output()
        .unwrap_or_else(|error| panic!("cannot start taxistream: {error}"));
    Run { output }
}

/// Every row of the three tables, ordered by trip id, values tagged with their SQLite type.
pub fn dump_tables(db: &Path) -> Vec<String> {
    let connection =
        Connection::open(db).unwrap_or_else(|error| panic!("open {}: {error}", db.display()));
    let mut lines = Vec::new();
    for table in [
        "high_value_trips",
        "trip_duration_analysis",
        "distance_to_fare_ratio",
    ] {
        let mut statement = connection
            .prepare(&format!("SELECT * FROM {table} ORDER BY trip_id"))
            .unwrap_or_else(|error| panic!("{table}: {error}"));
        let columns = statement.column_count();
        let mut rows = statement
            .query([])
            .unwrap_or_else(|error| panic!("{table}: {error}"));
        while let Ok(Some(row)) = rows.next() {
            let values: Vec<String> = (0..columns)
                .map(|i| match row.get_ref(i) {
                    Ok(ValueRef::Null) => "NULL".to_owned(),
                    Ok(ValueRef::Integer(v)) => format!("i{v}"),
                    Ok(ValueRef::Real(v)) => format!("r{v}"),
                    Ok(ValueRef::Text(v)) => format!("t{}", String::from_utf8_lossy(v)),
                    Ok(ValueRef::Blob(_)) => "BLOB".to_owned(),
                    Err(error) => format!("ERR {error}"),
                })
                .collect();
            lines.push(format!("{table}|{}", values.join("|")));
        }
    }
    lines
}

/// A CSV of real-looking trips, three of which are rejected for different reasons.
pub fn file_with_rejects(dir: &Path) -> PathBuf {
    let path = dir.join("with_rejects.csv");
    let mut text = String::from(
        "VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,trip_distance,fare_amount,total_amount,PULocationID\n",
    );
    for minute in 0..20 {
        text.push_str(&format!(
            "2,2025-01-02 08:{minute:02}:00,2025-01-02 08:{:02}:30,2.5,14.2,{}.5,{}\n",
            minute + 12,
            20 + minute * 3,
            100 + minute
        ));
    }
    text.push_str("2,2025-01-02 08:00:00,not a time,2.5,14.2,20.5,100\n");
    text.push_str("2,2025-01-02 08:00:00,2025-01-02 08:20:00,far,14.2,20.5,100\n");
    text.push_str("2,2025-01-02 08:00:00\n");
    std::fs::write(&path, text).unwrap();
    path
}
