//! The AWS roles against moto, the producer putting one record per trip, then KPL aggregated
//! records: per 10,000 trips the stream records, PutRecords calls, PUT payload units and bytes,
//! the trips/s a shard's limits allow, and the handlers' wall time and CPU time per 1,000 trips
//! (this process only; moto runs in its own).
//! Run by `scripts/bench_aws.sh`, which starts moto; prints a Markdown table row per role.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};
use taxistream_aws::{Aggregation, Consumer, Producer};
use taxistream_e2e::moto::{Pipeline, kinesis_events};
use taxistream_pipeline::StreamRecord;

/// CPU time (user + system) of this process so far, from /proc (Linux).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

struct Measured {
    wall: Duration,
    cpu: Duration,
}

async fn measure<T>(work: impl std::future::Future<Output = T>) -> (T, Measured) {
    let (wall, cpu) = (Instant::now(), cpu_time());
    let result = work.await;
    let measured = Measured {
        wall: wall.elapsed(),
        cpu: cpu_time() - cpu,
    };
    (result, measured)
}

fn per_thousand(duration: Duration, trips: u64) -> f64 {
    duration.as_secs_f64() * 1000.0 / trips as f64 * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let path = std::env::args()
        .skip(1)
        .find(|argument| !argument.starts_with('-'))
        .unwrap_or_else(|| "testdata/yellow_tripdata_sample_2019-07.csv".to_owned());
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    let body = std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    println!("file: {}", path.display());
    for aggregation in [Aggregation::None, Aggregation::default()] {
        roles(&body, aggregation).await;
    }
}

/// Kinesis bills a PUT payload unit per 25 KB of a record.
const PUT_PAYLOAD_UNIT: usize = 25 * 1024;

/// The producer and consumer handlers on `body`, the producer putting as `aggregation` says.
async fn roles(body: &[u8], aggregation: Aggregation) {
    let pipeline = Pipeline::create(2).await;
    let key = "incoming/bench.csv";
    pipeline.upload(key, body.to_vec()).await;
    let mut settings = pipeline.producer_settings();
    settings.aggregation = aggregation;
    let producer = Producer::new(pipeline.s3_store(), pipeline.kinesis.clone(), settings);
    let event = pipeline.s3_event(key).await;
    let (response, produced) = measure(lambda_kinesis_producer::handle(&producer, &event)).await;
    let report = response
        .unwrap_or_else(|error| panic!("{error:?}"))
        .objects
        .remove(0);
    let trips = report.accounting.trips;

    let records: Vec<StreamRecord> = pipeline.read_stream().await;
    let bytes: usize = records.iter().map(StreamRecord::billed_size).sum();
    let units: usize = records
        .iter()
        .map(|record| record.billed_size().div_ceil(PUT_PAYLOAD_UNIT))
        .sum();
    let consumer = Consumer::new(
        pipeline.dynamodb.clone(),
        pipeline.s3_store(),
        pipeline.consumer_settings(),
    );
    let per_10k = |count: u64| count as f64 * 10_000.0 / trips as f64;
    println!();
    println!("aggregation: {aggregation:?} ({trips} trips)");
    println!(
        "stream, per 10,000 trips: {:.1} records, {:.1} PutRecords calls, {:.1} PUT payload units, {:.0} bytes",
        per_10k(records.len() as u64),
        per_10k(report.stream.calls),
        per_10k(units as u64),
        per_10k(bytes as u64)
    );
    // A shard takes 1,000 records/s and 1 MiB/s: trips/s is bound by the tighter.
    let by_records = 1000.0 * trips as f64 / records.len() as f64;
    let by_bytes = (1u64 << 20) as f64 * trips as f64 / bytes as f64;
    println!(
        "trips/s per shard by its limits: {:.0} (by records: {by_records:.0}, by bytes: {by_bytes:.0})",
        by_records.min(by_bytes)
    );
    println!("| role | requests | per 10,000 trips | wall s | trips/s | CPU ms per 1,000 trips |");
    println!("|---|---|---:|---:|---:|---:|");
    println!(
        "| producer handler | PutRecords: {} | {:.1} | {:.2} | {:.0} | {:.1} |",
        report.stream.calls,
        per_10k(report.stream.calls),
        produced.wall.as_secs_f64(),
        trips as f64 / produced.wall.as_secs_f64(),
        per_thousand(produced.cpu, trips)
    );
    // Lambda's default batch size for Kinesis, and the template's default.
    for batch in [100, 500] {
        let events = kinesis_events(&records, batch);
        let (reports, consumed) = measure(async {
            let mut reports = Vec::new();
            for event in &events {
                reports.push(
                    lambda_kinesis_consumer::handle(&consumer, event, None)
                        .await
                        .1,
                );
            }
            reports
        })
        .await;
        let calls: u64 = reports.iter().map(|report| report.tables.calls).sum();
        let items: u64 = reports
            .iter()
            .flat_map(|report| report.accounting.items.values())
            .sum();
        println!(
            "| consumer handler, batches of {batch} records | BatchWriteItem: {calls} for {items} items (⌈items/25⌉ = {}, ratio {:.3}) | {:.1} | {:.2} | {:.0} | {:.1} |",
            items.div_ceil(25),
            calls as f64 / items.div_ceil(25) as f64,
            per_10k(calls),
            consumed.wall.as_secs_f64(),
            trips as f64 / consumed.wall.as_secs_f64(),
            per_thousand(consumed.cpu, trips)
        );
    }
}
