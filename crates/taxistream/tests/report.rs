//! `taxistream report` on SQLite: the figures equal what SQL counts in the tables and what the
//! run accounted; a file that cannot feed an analysis gives a page saying so; bad databases give
//! one clear line and a non-zero exit.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{file_with_rejects, fixture, report, run_in};
use rusqlite::Connection;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// `SELECT key, count(*) ... GROUP BY key` as a JSON object of counts.
fn counts(db: &Path, sql: &str) -> BTreeMap<String, u64> {
    let connection = Connection::open(db).unwrap();
    let mut statement = connection.prepare(sql).unwrap();
    statement
        .query_map([], |row| {
            let key: rusqlite::types::Value = row.get(0)?;
            let key = match key {
                rusqlite::types::Value::Text(text) => text,
                rusqlite::types::Value::Integer(integer) => integer.to_string(),
                other => format!("{other:?}"),
            };
            Ok((key, row.get::<_, i64>(1)?.unsigned_abs()))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn as_counts(value: &Value) -> BTreeMap<String, u64> {
    value
        .as_object()
        .unwrap()
        .iter()
        .map(|(key, count)| (key.clone(), count.as_u64().unwrap()))
        .filter(|(_, count)| *count > 0)
        .collect()
}

#[test]
fn the_reports_figures_are_what_sql_counts_and_what_the_run_accounted() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = [
        fixture("yellow_tripdata_2025-01_first10k.parquet"),
        fixture("yellow_tripdata_sample_2019-07.csv"),
    ];
    let run = run_in(
        dir.path(),
        "t.db",
        &["--json", "--no-progress"],
        &[&inputs[0], &inputs[1]],
    );
    assert!(run.success(), "{}", run.stderr());
    let accounting = &run.json()["accounting"];
    let db = dir.path().join("t.db");
    let page = dir.path().join("report.html");
    let made = report(&db, &page, &["--json"]);
    assert!(made.success(), "{}", made.stderr());
    let figures = &made.json()["figures"];

    assert_eq!(figures["items"], accounting["items"]);
    assert_eq!(
        as_counts(&figures["duration_categories"]),
        as_counts(&accounting["duration_category"])
    );
    assert_eq!(
        as_counts(&figures["profitability"]),
        as_counts(&accounting["profitability"])
    );
    assert_eq!(
        as_counts(&figures["trips_per_day"]),
        counts(
            &db,
            "SELECT substr(pickup_datetime, 1, 10), count(*) FROM trip_duration_analysis GROUP BY 1"
        )
    );
    let by_hour = counts(
        &db,
        "SELECT CAST(substr(pickup_datetime, 12, 2) AS INTEGER), count(*) FROM trip_duration_analysis GROUP BY 1",
    );
    for (hour, count) in figures["trips_by_hour"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        assert_eq!(
            count.as_u64(),
            Some(by_hour.get(&hour.to_string()).copied().unwrap_or(0))
        );
    }
    assert_eq!(
        as_counts(&figures["high_value_pickup_zones"]),
        counts(
            &db,
            "SELECT pickup_location_id, count(*) FROM high_value_trips WHERE pickup_location_id IS NOT NULL GROUP BY 1"
        )
    );
    // The histograms hold every item once, and the bins agree with SQL on one bin each.
    let duration = &figures["duration_minutes"]["series"];
    let total: u64 = duration
        .as_array()
        .unwrap()
        .iter()
        .map(|series| {
            series["below"].as_u64().unwrap()
                + series["above"].as_u64().unwrap()
                + series["counts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_u64().unwrap())
                    .sum::<u64>()
        })
        .sum();
    assert_eq!(Some(total), accounting["trips"].as_u64());
    let medium_10_to_12 = counts(
        &db,
        "SELECT 'n', count(*) FROM trip_duration_analysis WHERE duration_category = 'medium' AND duration_minutes >= 10 AND duration_minutes < 12",
    );
    assert_eq!(
        duration[1]["counts"][5].as_u64(),
        medium_10_to_12.get("n").copied()
    );
    let premium_7_to_7_5 = counts(
        &db,
        "SELECT 'n', count(*) FROM distance_to_fare_ratio WHERE profitability = 'premium' AND fare_per_mile >= 7 AND fare_per_mile < 7.5",
    );
    assert_eq!(
        figures["fare_per_mile"]["series"][2]["counts"][14].as_u64(),
        premium_7_to_7_5.get("n").copied()
    );

    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains(&format!(
        "data-figure=\"trips\" data-value=\"{}\"",
        accounting["trips"]
    )));
    assert_eq!(
        html.matches("data-state=\"drawn\"").count(),
        6,
        "all but the rejects plot"
    );
    assert!(html.contains("no row was rejected in the 1 recorded run(s)"));
    assert!(!html.contains("<script"), "the page runs no script");
    assert!(
        !html.contains("src=") && !html.contains("<link") && !html.contains("url("),
        "the page loads nothing"
    );
}

#[test]
fn every_run_is_recorded_with_its_thresholds_and_a_rerun_does_not_count_its_rejects_twice() {
    let dir = tempfile::tempdir().unwrap();
    let input = file_with_rejects(dir.path());
    for thresholds in [&[][..], &["--high-value-total", "40"][..]] {
        let mut extra = vec!["--no-progress"];
        extra.extend_from_slice(thresholds);
        let run = run_in(dir.path(), "t.db", &extra, &[&input]);
        assert!(run.success(), "{}", run.stderr());
    }
    let db = dir.path().join("t.db");
    let recorded = counts(
        &db,
        "SELECT version, count(*) FROM taxistream_runs GROUP BY 1",
    );
    assert_eq!(recorded.get(env!("CARGO_PKG_VERSION")), Some(&2));
    // A row another program wrote is left out, and said so; the report is still made.
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "INSERT INTO taxistream_runs (started_at, finished_at, version, rows_read, trips, \
             duplicates, rejected, record) VALUES ('x', 'x', 'x', 0, 0, 0, 0, '{not json');",
        )
        .unwrap();
    let page = dir.path().join("report.html");
    let made = report(&db, &page, &[]);
    assert!(made.success(), "{}", made.stderr());
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("with_rejects.csv</td>").count(), 2);
    assert!(html.contains("Left out: run 3 of taxistream_runs is not a run record"));
    // Each run's thresholds, and a warning that they differ.
    assert!(html.contains("<td>50.00</td>") && html.contains("<td>40</td>"));
    assert!(html.contains("data-thresholds-differ"));
    // The same file run twice rejects the same 3 rows: counted once.
    let rejects = html
        .split("data-plot=\"rejected-rows-by-reason\"")
        .nth(1)
        .unwrap();
    let shown: u64 = rejects
        .split("</figure>")
        .next()
        .unwrap()
        .split("data-value=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(shown, 3);
    assert!(html.contains("Counted from the latest run of each set of inputs (1 of 2 runs)"));
}

#[test]
fn a_file_without_fares_gives_a_page_saying_which_plots_cannot_be_drawn_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("green_tripdata_2022-01_5cols.parquet");
    assert!(run_in(dir.path(), "t.db", &["--no-progress"], &[&input]).success());
    let page = dir.path().join("report.html");
    let made = report(&dir.path().join("t.db"), &page, &[]);
    assert!(made.success(), "{}", made.stderr());
    let html = std::fs::read_to_string(&page).unwrap();
    for plot in [
        "fare-per-mile-by-tier",
        "high-value-share-by-hour",
        "top-high-value-pickup-zones",
    ] {
        assert!(
            html.contains(&format!("data-plot=\"{plot}\" data-state=\"unavailable\"")),
            "{plot}"
        );
    }
    assert!(html.contains("distance_to_fare_ratio holds no item"));
    assert!(html.contains("green_tripdata_2022-01_5cols.parquet has no fare_amount column"));
    assert!(html.contains("green_tripdata_2022-01_5cols.parquet has no total_amount column"));
    assert!(html.contains("data-plot=\"trips-per-day\" data-state=\"drawn\""));
    // Figures never computed are not shown as zeros.
    for figure in [
        "high_value_trips",
        "high_value_share",
        "distance_to_fare_ratio",
        "profitability:low",
    ] {
        assert!(
            html.contains(&format!(
                "data-figure=\"{figure}\" class=\"not-computed\">not computed<"
            )),
            "{figure}"
        );
    }
    assert!(html.contains("data-coverage=\"distance_to_fare_ratio\""));
}

/// Runs the report on `db` and returns its one-line error.
fn refused(db: &Path) -> String {
    let out = db.with_extension("html");
    let made = report(db, &out, &[]);
    assert!(!made.success(), "{}", made.stdout());
    assert!(!out.exists(), "no page for a refused database");
    let stderr = made.stderr();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

#[test]
fn a_missing_foreign_empty_or_incomplete_database_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = refused(&dir.path().join("nowhere.db"));
    assert!(
        missing.contains("no database at") && missing.contains("nowhere.db"),
        "{missing}"
    );

    let foreign = dir.path().join("notes.db");
    std::fs::write(
        &foreign,
        "these are not the tables you are looking for\n".repeat(100),
    )
    .unwrap();
    let line = refused(&foreign);
    assert!(line.contains("notes.db is not a SQLite database"), "{line}");

    let other = dir.path().join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x);")
        .unwrap();
    let line = refused(&other);
    assert!(line.contains("holds none of the tables"), "{line}");

    let partial = dir.path().join("partial.db");
    Connection::open(&partial)
        .unwrap()
        .execute_batch("CREATE TABLE trip_duration_analysis (trip_id TEXT);")
        .unwrap();
    let line = refused(&partial);
    assert!(
        line.contains("lacks the tables high_value_trips, distance_to_fare_ratio"),
        "{line}"
    );

    let foreign_columns = dir.path().join("foreign_columns.db");
    let connection = Connection::open(&foreign_columns).unwrap();
    for table in taxistream_core_tables() {
        connection
            .execute_batch(&format!(
                "CREATE TABLE {table} (trip_id TEXT); INSERT INTO {table} VALUES ('a');"
            ))
            .unwrap();
    }
    drop(connection);
    let line = refused(&foreign_columns);
    assert!(
        line.contains(
            "table high_value_trips lacks the columns pickup_datetime, pickup_location_id"
        ),
        "{line}"
    );

    // The tables of a real run, emptied.
    written_from_head99(dir.path(), "empty.db");
    let empty = dir.path().join("empty.db");
    let connection = Connection::open(&empty).unwrap();
    for table in taxistream_core_tables() {
        connection
            .execute_batch(&format!("DELETE FROM {table};"))
            .unwrap();
    }
    drop(connection);
    let line = refused(&empty);
    assert!(line.contains("has no trips yet"), "{line}");
}

#[test]
fn the_page_never_replaces_the_database() {
    let dir = tempfile::tempdir().unwrap();
    written_from_head99(dir.path(), "t.db");
    let db = dir.path().join("t.db");
    let before = std::fs::read(&db).unwrap();
    for out in [db.clone(), dir.path().join(".").join("t.db")] {
        let made = report(&db, &out, &[]);
        assert!(!made.success());
        let stderr = made.stderr();
        assert!(stderr.contains("is a SQLite database"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    assert_eq!(std::fs::read(&db).unwrap(), before);
    // Another page is replaced whole, and nothing is left beside it.
    let page = dir.path().join("page.html");
    std::fs::write(&page, "old").unwrap();
    assert!(report(&db, &page, &[]).success());
    assert!(
        std::fs::read_to_string(&page)
            .unwrap()
            .starts_with("<!doctype html>")
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("partial"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

fn taxistream_core_tables() -> [&'static str; 3] {
    [
        "high_value_trips",
        "trip_duration_analysis",
        "distance_to_fare_ratio",
    ]
}

/// Runs `taxistream run` on the 99-trip fixture into `dir/name`.
fn written_from_head99(dir: &std::path::Path, name: &str) {
    let run = run_in(
        dir,
        name,
        &["--no-progress"],
        &[&fixture("yellow_tripdata_2021-01_head99.csv")],
    );
    assert!(run.success(), "{}", run.stderr());
}
