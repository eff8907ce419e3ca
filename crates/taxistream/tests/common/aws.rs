//! Helpers for the CLI tests against moto: the binary with a pipeline's stream and tables.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use taxistream_core::Table;
use taxistream_e2e::moto::Pipeline;

/// `taxistream` run in `dir`, with `pipeline`'s stream and table names in its environment.
pub fn taxistream(pipeline: &Pipeline, dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_taxistream"));
    command
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("TAXISTREAM_STREAM", &pipeline.stream)
        // One record per trip, so that the tests can stop a consumer between trips; the first
        // test produces KPL aggregated records, the default.
        .env("TAXISTREAM_AGGREGATION", "none");
    for (table, variable) in Table::ALL
        .iter()
        .zip(taxistream_aws::settings::TABLE_VARIABLES)
    {
        command.env(variable, pipeline.tables.name(*table));
    }
    command
}

pub fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "taxistream failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "not JSON ({error}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

pub fn produce(pipeline: &Pipeline, dir: &Path, file: &Path) -> Value {
    produce_as(pipeline, dir, file, "none")
}

pub fn produce_as(pipeline: &Pipeline, dir: &Path, file: &Path, aggregation: &str) -> Value {
    json(
        &taxistream(pipeline, dir)
            .args([
                "produce",
                "--json",
                "--no-progress",
                "--aggregation",
                aggregation,
            ])
            .arg(file)
            .output()
            .unwrap(),
    )
}

pub fn consume(pipeline: &Pipeline, dir: &Path, extra: &[&str]) -> Command {
    let mut command = taxistream(pipeline, dir);
    command
        .args([
            "consume",
            "--json",
            "--no-progress",
            "--poll-interval-ms",
            "50",
        ])
        .args(extra);
    command
}
