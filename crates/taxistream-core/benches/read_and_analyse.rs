//! Reader + analytics throughput on one core, in rows per second: `cargo bench -p taxistream-core`.
//!
//! Each iteration reads a whole real TLC file from `testdata/` (from memory for CSV, the page cache
//! for Parquet) on the calling thread. Stages, each including the ones before:
//! `read` (parse, type, identify every row), `analyse` (the three analyses, items built),
//! `record` (the stream record encoded and decoded before analysing, as the pipeline does).

use divan::counter::ItemsCount;
use std::path::{Path, PathBuf};
use taxistream_core::read::{CsvTripReader, ParquetTripReader};
use taxistream_core::{AnalysisRules, InputError, ReadItem, analyse, record};

/// The allocator `taxistream` itself runs with (see its `main.rs`), so the figures are the
/// tool's: trips and items are many small allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

const CSV: &str = "yellow_tripdata_sample_2018-01.csv";
const CSV_ROWS: usize = 10_000;
const PARQUET: &str = "green_tripdata_2024-01.parquet";
const PARQUET_ROWS: usize = 56_551;
const STAGES: [&str; 3] = ["read", "analyse", "record"];

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

/// Runs `stage` over every row; returns a count so nothing is optimised away.
fn run(rows: impl Iterator<Item = Result<ReadItem, InputError>>, stage: &str) -> usize {
    let rules = AnalysisRules::default();
    let mut buffer = Vec::with_capacity(512);
    let mut count = 0;
    for row in rows {
        let Ok(ReadItem::Trip { trip, id, .. }) = row else {
            continue;
        };
        count += match stage {
            "read" => 1,
            "analyse" => analyse(&trip, &id, &rules).items.len(),
            _ => {
                buffer.clear();
                record::encode(&trip, &id, &mut buffer);
                record::decode(&buffer)
                    .map(|decoded| analyse(&decoded.trip, &decoded.id, &rules).items.len())
                    .unwrap_or(0)
            }
        };
    }
    count
}

#[divan::bench(args = STAGES)]
fn csv(bencher: divan::Bencher, stage: &str) {
    let bytes = bytes::Bytes::from(std::fs::read(testdata(CSV)).unwrap_or_default());
    bencher.counter(ItemsCount::new(CSV_ROWS)).bench(|| {
        CsvTripReader::new(bytes::Buf::reader(bytes.clone()), CSV.to_owned(), false)
            .map(|rows| run(rows, stage))
            .unwrap_or(0)
    });
}

#[divan::bench(args = STAGES)]
fn parquet(bencher: divan::Bencher, stage: &str) {
    let path = testdata(PARQUET);
    bencher.counter(ItemsCount::new(PARQUET_ROWS)).bench(|| {
        let Ok(file) = std::fs::File::open(&path) else {
            return 0;
        };
        ParquetTripReader::new(file, PARQUET.to_owned())
            .map(|rows| run(rows, stage))
            .unwrap_or(0)
    });
}
