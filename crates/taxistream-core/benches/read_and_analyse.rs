//! Reader + analytics throughput, in rows per second: `cargo bench -p taxistream-core`.
//!
//! Each iteration reads a whole real TLC file from `testdata/` (page cache), identifies every trip
//! and runs the three analyses; `record` adds the stream record's encode and decode.

use divan::counter::ItemsCount;
use std::path::{Path, PathBuf};
use taxistream_core::read::{CsvTripReader, ParquetTripReader};
use taxistream_core::{AnalysisRules, ReadItem, analyse, record};

fn main() {
    divan::main();
}

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

const CSV: &str = "yellow_tripdata_sample_2018-01.csv";
const PARQUET: &str = "green_tripdata_2024-01.parquet";

/// Reads, identifies and analyses every row; returns the number of items made.
fn analyse_all(
    items: impl Iterator<Item = Result<ReadItem, taxistream_core::InputError>>,
    with_record: bool,
) -> usize {
    let rules = AnalysisRules::default();
    let mut made = 0;
    let mut buffer = Vec::with_capacity(512);
    for item in items {
        let Ok(ReadItem::Trip { trip, id }) = item else {
            continue;
        };
        if with_record {
            buffer.clear();
            record::encode(&trip, &id, &mut buffer);
            let Ok(decoded) = record::decode(&buffer) else {
                continue;
            };
            made += analyse(&decoded.trip, &decoded.id, &rules).items.len();
        } else {
            made += analyse(&trip, &id, &rules).items.len();
        }
    }
    made
}

fn csv_rows(bytes: &[u8]) -> usize {
    bytecount(bytes).saturating_sub(1)
}

fn bytecount(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

#[divan::bench]
fn csv_read_only(bencher: divan::Bencher) {
    let bytes = bytes::Bytes::from(std::fs::read(testdata(CSV)).unwrap_or_default());
    let rows = csv_rows(&bytes);
    bencher.counter(ItemsCount::new(rows)).bench(|| {
        let reader = CsvTripReader::new(bytes::Buf::reader(bytes.clone()), CSV.to_owned(), false);
        reader
            .map(|reader| {
                reader
                    .filter(|item| matches!(item, Ok(ReadItem::Trip { .. })))
                    .count()
            })
            .unwrap_or(0)
    });
}

#[divan::bench]
fn csv_read_identify(bencher: divan::Bencher) {
    let bytes = bytes::Bytes::from(std::fs::read(testdata(CSV)).unwrap_or_default());
    let rows = csv_rows(&bytes);
    bencher.counter(ItemsCount::new(rows)).bench(|| {
        let reader = CsvTripReader::new(bytes::Buf::reader(bytes.clone()), CSV.to_owned(), false);
        reader
            .map(|reader| {
                reader
                    .filter_map(|item| match item {
                        Ok(ReadItem::Trip { id, .. }) => Some(id.fingerprint() as usize),
                        _ => None,
                    })
                    .sum::<usize>()
            })
            .unwrap_or(0)
    });
}

#[divan::bench(args = [false, true])]
fn csv(bencher: divan::Bencher, with_record: bool) {
    let bytes = bytes::Bytes::from(std::fs::read(testdata(CSV)).unwrap_or_default());
    let rows = csv_rows(&bytes);
    bencher.counter(ItemsCount::new(rows)).bench(|| {
        let reader = CsvTripReader::new(bytes::Buf::reader(bytes.clone()), CSV.to_owned(), false);
        reader
            .map(|reader| analyse_all(reader, with_record))
            .unwrap_or(0)
    });
}

#[divan::bench(args = [false, true])]
fn parquet(bencher: divan::Bencher, with_record: bool) {
    let path = testdata(PARQUET);
    let rows: usize = 56_551;
    bencher.counter(ItemsCount::new(rows)).bench(|| {
        let Ok(file) = std::fs::File::open(&path) else {
            return 0;
        };
        ParquetTripReader::new(file, PARQUET.to_owned())
            .map(|reader| analyse_all(reader, with_record))
            .unwrap_or(0)
    });
}
