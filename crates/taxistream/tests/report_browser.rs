//! The report page in a real browser: headless Chromium (`TAXISTREAM_CHROMIUM`, which
//! `scripts/test.sh` installs and sets) opens it from a file, every plot is drawn, nothing is
//! loaded and no script error appears, and the figures shown are the database's. The screenshot
//! is kept in `target/test-artifacts/`.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{file_with_rejects, fixture, report, run_in};
use rusqlite::Connection;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Opens `page` in Chromium with `scripts/report_browser.py`; returns what it saw.
fn open_in_chromium(page: &Path, screenshot: &Path) -> Value {
    let chromium = std::env::var("TAXISTREAM_CHROMIUM").unwrap_or_else(|_| {
        panic!("TAXISTREAM_CHROMIUM is not set: run ./scripts/test.sh, which installs Chromium")
    });
    let output = Command::new("python3")
        .arg(repository().join("scripts/report_browser.py"))
        .arg(page)
        .arg("--eval")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/report_browser.js"))
        .arg("--screenshot")
        .arg(screenshot)
        .arg("--chromium")
        .arg(chromium)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "report_browser.py: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `SELECT label, count` rows as text pairs.
fn query(db: &Path, sql: &str) -> Vec<(String, String)> {
    let connection = Connection::open(db).unwrap();
    let mut statement = connection.prepare(sql).unwrap();
    statement
        .query_map([], |row| {
            let text = |index| -> rusqlite::Result<String> {
                Ok(match row.get::<_, rusqlite::types::Value>(index)? {
                    rusqlite::types::Value::Integer(integer) => integer.to_string(),
                    rusqlite::types::Value::Text(text) => text,
                    other => format!("{other:?}"),
                })
            };
            Ok((text(0)?, text(1)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// `1234567` as `1,234,567`, as the page shows counts.
fn grouped(count: u64) -> String {
    let digits = count.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A plot's figures: first column → second column.
fn plot_rows(plot: &Value) -> Vec<(String, String)> {
    plot["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row[0].as_str().unwrap().to_owned(),
                row[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn chromium_draws_every_plot_with_no_error_and_shows_the_databases_figures() {
    let dir = tempfile::tempdir().unwrap();
    let with_rejects = file_with_rejects(dir.path());
    // Two trips of a meter whose clock said 2008, as some TLC files have.
    let wrong_clock = dir.path().join("wrong_clock.csv");
    std::fs::write(
        &wrong_clock,
        "VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,trip_distance,fare_amount,total_amount,PULocationID\n\
         2,2008-12-31 23:10:00,2008-12-31 23:30:00,3.1,17.0,21.5,132\n\
         2,2008-12-31 23:40:00,2009-01-01 00:05:00,4.2,21.0,26.5,138\n",
    )
    .unwrap();
    let parquet = fixture("yellow_tripdata_2025-01_first10k.parquet");
    let run = run_in(
        dir.path(),
        "t.db",
        &["--no-progress"],
        &[&parquet, &with_rejects, &wrong_clock],
    );
    assert!(run.success(), "{}", run.stderr());
    let db = dir.path().join("t.db");
    let page = dir.path().join("report.html");
    let made = report(&db, &page, &[]);
    assert!(made.success(), "{}", made.stderr());

    let artifacts = repository().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot = artifacts.join("report.png");
    let seen = open_in_chromium(&page, &screenshot);

    // Nothing loaded but the page; no script error, no console message, no failed load.
    let url = seen["requests"][0].as_str().unwrap();
    assert!(
        url.starts_with("file://") && url.ends_with("/report.html"),
        "{url}"
    );
    assert_eq!(
        seen["requests"].as_array().unwrap().len(),
        1,
        "{}",
        seen["requests"]
    );
    assert_eq!(seen["exceptions"], Value::Array(vec![]));
    assert_eq!(seen["console"], Value::Array(vec![]));
    assert_eq!(seen["log"], Value::Array(vec![]));
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000);

    // Every plot drawn: laid out at a readable size, with visible bars.
    let result = &seen["result"];
    let plots: BTreeMap<&str, &Value> = result["plots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|plot| (plot["id"].as_str().unwrap(), plot))
        .collect();
    assert_eq!(plots.len(), 7);
    for (id, plot) in &plots {
        assert_eq!(plot["state"], "drawn", "{id}: {}", plot["why"]);
        assert!(plot["width"].as_f64().unwrap() > 400.0, "{id}: {plot}");
        assert!(plot["height"].as_f64().unwrap() > 150.0, "{id}: {plot}");
        assert!(plot["bars"].as_u64().unwrap() > 0, "{id}: no bar visible");
    }

    // The figures shown are the database's, as SQL counts them.
    let figures = &result["figures"];
    let count = |sql: &str| query(&db, &format!("SELECT 'n', ({sql})"))[0].1.clone();
    for table in ["high_value_trips", "distance_to_fare_ratio"] {
        assert_eq!(
            figures[table],
            count(&format!("SELECT count(*) FROM {table}")),
            "{table}"
        );
    }
    assert_eq!(
        figures["trips"],
        count("SELECT count(*) FROM trip_duration_analysis")
    );
    for (category, trips) in query(
        &db,
        "SELECT duration_category, count(*) FROM trip_duration_analysis GROUP BY 1",
    ) {
        assert_eq!(figures[format!("duration:{category}")], trips, "{category}");
    }
    for (tier, trips) in query(
        &db,
        "SELECT profitability, count(*) FROM distance_to_fare_ratio GROUP BY 1",
    ) {
        assert_eq!(figures[format!("profitability:{tier}")], trips, "{tier}");
    }
    // Every day from the first to the last is shown, zeros included; the days SQL finds outside
    // them are the outliers the note names, with their trips.
    let days = plot_rows(plots["trips-per-day"]);
    let (first, last) = (&days[0].0, &days[days.len() - 1].0);
    let by_sql = query(
        &db,
        "SELECT substr(pickup_datetime, 1, 10), count(*) FROM trip_duration_analysis GROUP BY 1 ORDER BY 1",
    );
    let (inside, outside): (Vec<_>, Vec<_>) = by_sql
        .into_iter()
        .partition(|(day, _)| first <= day && day <= last);
    let shown_days: Vec<(String, String)> =
        days.into_iter().filter(|(_, trips)| trips != "0").collect();
    assert_eq!(shown_days, inside);
    let notes = result["notes"]["trips-per-day"].to_string();
    for (day, trips) in &outside {
        assert!(
            notes.contains(&format!("{day} ({trips})")),
            "{day}: {notes}"
        );
    }
    assert_eq!(outside, [("2008-12-31".to_owned(), "2".to_owned())]);

    // What a reader sees is the figure, grouped by thousands.
    let shown = &result["shown"];
    for figure in ["trips", "high_value_trips", "distance_to_fare_ratio"] {
        let value: u64 = figures[figure].as_str().unwrap().parse().unwrap();
        assert_eq!(shown[figure].as_str().unwrap(), grouped(value), "{figure}");
    }
    let by_hour: BTreeMap<String, String> = query(
        &db,
        "SELECT substr(pickup_datetime, 12, 2), count(*) FROM trip_duration_analysis GROUP BY 1",
    )
    .into_iter()
    .collect();
    for (hour, trips) in plot_rows(plots["trips-by-hour"]) {
        assert_eq!(
            by_hour.get(&hour).map_or("0", String::as_str),
            trips,
            "hour {hour}"
        );
    }
    let top_zones: Vec<String> = query(
        &db,
        "SELECT pickup_location_id, count(*) FROM high_value_trips GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 15",
    )
    .into_iter()
    .map(|(_, trips)| trips)
    .collect();
    let shown: Vec<String> = plot_rows(plots["top-high-value-pickup-zones"])
        .into_iter()
        .map(|(_, trips)| trips)
        .collect();
    assert_eq!(shown, top_zones);
    assert!(
        plot_rows(plots["top-high-value-pickup-zones"])[0]
            .0
            .starts_with("JFK Airport (Queens)")
    );

    // The rejected rows shown are those of the rejects file, by reason.
    let mut rejects = csv::Reader::from_path(dir.path().join("t.db.rejects.csv")).unwrap();
    let reason = rejects
        .headers()
        .unwrap()
        .iter()
        .position(|name| name == "reason")
        .unwrap();
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for row in rejects.records() {
        *by_reason
            .entry(row.unwrap()[reason].to_owned())
            .or_default() += 1;
    }
    let shown: BTreeMap<String, u64> = plot_rows(plots["rejected-rows-by-reason"])
        .into_iter()
        .map(|(reason, rows)| (reason, rows.parse().unwrap()))
        .collect();
    assert_eq!(shown, by_reason);
    assert_eq!(shown.values().sum::<u64>(), 3);
}
