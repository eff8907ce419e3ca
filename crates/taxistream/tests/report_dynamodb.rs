//! `taxistream report --dynamodb` against moto (which `scripts/test.sh` starts): for the same
//! inputs, the figures read back from the DynamoDB tables by parallel Scan equal those read from
//! the SQLite database of `taxistream run`.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::aws::{consume, json, produce_as, taxistream};
use common::{report, run_in};
use taxistream_e2e::moto::{Pipeline, testdata};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_figures_from_dynamodb_equal_those_from_sqlite() {
    // With empty values (2020), and without zone ids (2015).
    let inputs = [
        testdata("yellow_tripdata_2020-01_head499_tail500.csv"),
        testdata("yellow_tripdata_2015-01_sample.csv"),
    ];
    let pipeline = Pipeline::create(2).await;
    let dir = tempfile::tempdir().unwrap();
    for input in &inputs {
        produce_as(&pipeline, dir.path(), input, "kpl");
    }
    json(
        &consume(&pipeline, dir.path(), &["--until-idle"])
            .output()
            .unwrap(),
    );
    let local = run_in(
        dir.path(),
        "t.db",
        &["--no-progress"],
        &[&inputs[0], &inputs[1]],
    );
    assert!(local.success(), "{}", local.stderr());

    let from_sqlite = report(
        &dir.path().join("t.db"),
        &dir.path().join("sqlite.html"),
        &["--json"],
    );
    assert!(from_sqlite.success(), "{}", from_sqlite.stderr());
    let from_dynamodb = json(
        &taxistream(&pipeline, dir.path())
            .args([
                "report",
                "--dynamodb",
                "--segments",
                "3",
                "--json",
                "--no-progress",
            ])
            .args(["--out", "dynamodb.html"])
            .output()
            .unwrap(),
    );
    let sqlite_figures = &from_sqlite.json()["figures"];
    assert_eq!(sqlite_figures["items"]["trip_duration_analysis"], 2998);
    assert!(sqlite_figures["high_value_without_zone"].as_u64().unwrap() > 0);
    assert!(
        from_dynamodb["figures"] == *sqlite_figures,
        "{}",
        from_dynamodb["figures"]
    );
    assert!(
        from_dynamodb["store"]
            .as_str()
            .unwrap()
            .starts_with("DynamoDB tables")
    );

    let page = std::fs::read_to_string(dir.path().join("dynamodb.html")).unwrap();
    let sqlite_page = std::fs::read_to_string(dir.path().join("sqlite.html")).unwrap();
    let shown = named_figures(&page);
    assert!(shown.len() >= 10, "{shown:?}");
    assert_eq!(shown, named_figures(&sqlite_page));
    for plot in ["trips-per-day", "top-high-value-pickup-zones"] {
        assert_eq!(
            plot_section(&page, plot),
            plot_section(&sqlite_page, plot),
            "{plot}"
        );
    }
    assert!(page.contains("data-plot=\"rejected-rows-by-reason\" data-state=\"unavailable\""));
    assert!(page.contains("taxistream status s3://bucket/key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_dynamodb_table_is_one_clear_line() {
    let pipeline = Pipeline::create(1).await;
    let dir = tempfile::tempdir().unwrap();
    let output = taxistream(&pipeline, dir.path())
        .args(["report", "--dynamodb", "--no-progress"])
        .args(["--duration-table", "no_such_table"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("Scan no_such_table: ResourceNotFoundException"),
        "{stderr}"
    );
    assert!(!dir.path().join("taxistream-report.html").exists());
}

/// The page's named figures (`data-figure` → `data-value`, or the text of one not computed).
fn named_figures(page: &str) -> Vec<(String, String)> {
    page.split("data-figure=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once('"').unwrap();
            let value = match rest.strip_prefix(" data-value=\"") {
                Some(value) => value.split('"').next().unwrap(),
                None => rest.split('>').nth(1).unwrap().split('<').next().unwrap(),
            };
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// One plot's figure element, SVG and table included.
fn plot_section<'a>(page: &'a str, plot: &str) -> &'a str {
    let start = page.find(&format!("data-plot=\"{plot}\"")).unwrap();
    let length = page[start..].find("</figure>").unwrap();
    &page[start..start + length]
}
