//! Test inputs shaped like real files, made from the repo's 10,000 real trips of January 2025: as
//! `../shared/bench/make_distinct_input.py` does, copy k of every trip is moved k weeks later, so
//! no two rows are equal, in CSV and in Parquet with many row groups.

use crate::common::testdata;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowTimestampType, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::properties::WriterProperties;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The repo's real trips.
const TRIPS_CSV: &str = "yellow_tripdata_2025-01_first10k.csv";
const TRIPS_PARQUET: &str = "yellow_tripdata_2025-01_first10k.parquet";
/// Seconds in a week.
const WEEK: i64 = 7 * 24 * 3_600;

/// A file in a temporary directory (removed when dropped), and its bytes.
pub struct Input {
    _dir: tempfile::TempDir,
    /// Where it is (for `taxistream run`).
    pub path: PathBuf,
    /// Its bytes (for an upload).
    pub body: Vec<u8>,
}

impl Input {
    fn write(name: &str, body: Vec<u8>) -> Input {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, &body).unwrap();
        Input {
            _dir: dir,
            path,
            body,
        }
    }
}

/// The real trips `copies` times as CSV, copy k moved k weeks later (January 2025: the days stay
/// in the year), then the first `repeated` rows again at the end: duplicates far from their
/// first sighting.
pub fn distinct_csv(copies: u32, repeated: usize) -> Input {
    let text = std::fs::read_to_string(testdata(TRIPS_CSV)).unwrap();
    let (header, rows) = text.split_once('\n').unwrap();
    let mut body = format!("{header}\n");
    for copy in 0..copies {
        for row in rows.lines() {
            body.push_str(&weeks_later(row, copy));
            body.push('\n');
        }
    }
    for row in rows.lines().take(repeated) {
        body.push_str(row);
        body.push('\n');
    }
    Input::write("distinct.csv", body.into_bytes())
}

/// `row` with every `"2025-01-DD` date moved `weeks` weeks later.
fn weeks_later(row: &str, weeks: u32) -> String {
    let mut out = String::with_capacity(row.len());
    let mut rest = row;
    while let Some(at) = rest.find("\"2025-01-") {
        let (before, date) = rest.split_at(at + "\"2025-01-".len());
        out.push_str(&before[..before.len() - "01-".len()]);
        let day: u32 = date[..2].parse().unwrap();
        let ordinal = day - 1 + 7 * weeks;
        let (month, day) = month_day_of_2025(ordinal);
        out.push_str(&format!("{month:02}-{day:02}"));
        rest = &date[2..];
    }
    out.push_str(rest);
    out
}

/// The month and day of the `ordinal`-th day (0-based) of 2025.
fn month_day_of_2025(mut ordinal: u32) -> (u32, u32) {
    const DAYS: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    for (month, days) in DAYS.iter().enumerate() {
        if ordinal < *days {
            return (month as u32 + 1, ordinal + 1);
        }
        ordinal -= days;
    }
    panic!("past 2025");
}

/// The real trips `copies` times as Parquet, copy k moved k weeks later, in row groups of
/// `rows_per_group`; returns the input and its number of row groups.
pub fn distinct_parquet(copies: u32, rows_per_group: usize) -> (Input, usize) {
    let batches = parquet_batches(&testdata(TRIPS_PARQUET));
    let moved: Vec<RecordBatch> = (0..copies)
        .flat_map(|copy| {
            batches
                .iter()
                .map(move |batch| weeks_later_batch(batch, copy))
        })
        .collect();
    let (body, row_groups) = parquet_bytes(&moved, rows_per_group);
    (Input::write("distinct.parquet", body), row_groups)
}

/// `source` rewritten with row groups of at most `rows` rows.
pub fn with_row_groups_of(source: &Path, rows: usize, out: &Path) -> usize {
    let (body, row_groups) = parquet_bytes(&parquet_batches(source), rows);
    std::fs::write(out, body).unwrap();
    row_groups
}

fn parquet_batches(source: &Path) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(source).unwrap())
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn parquet_bytes(batches: &[RecordBatch], rows_per_group: usize) -> (Vec<u8>, usize) {
    let properties = WriterProperties::builder()
        .set_max_row_group_row_count(Some(rows_per_group))
        .build();
    let mut body = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut body, batches[0].schema(), Some(properties)).unwrap();
    for batch in batches {
        writer.write(batch).unwrap();
    }
    let row_groups = writer.close().unwrap().row_groups().len();
    (body, row_groups)
}

/// Every timestamp column of `batch` moved `weeks` weeks later.
fn weeks_later_batch(batch: &RecordBatch, weeks: u32) -> RecordBatch {
    let seconds = WEEK * i64::from(weeks);
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|column| match column.data_type() {
            DataType::Timestamp(TimeUnit::Second, _) => {
                later::<TimestampSecondType>(column, seconds)
            }
            DataType::Timestamp(TimeUnit::Millisecond, _) => {
                later::<TimestampMillisecondType>(column, seconds * 1_000)
            }
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                later::<TimestampMicrosecondType>(column, seconds * 1_000_000)
            }
            DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                later::<TimestampNanosecondType>(column, seconds * 1_000_000_000)
            }
            _ => Arc::clone(column),
        })
        .collect();
    RecordBatch::try_new(batch.schema(), columns).unwrap()
}

fn later<T: ArrowTimestampType>(column: &ArrayRef, by: i64) -> ArrayRef {
    let array = column.as_primitive::<T>();
    let moved = array
        .unary::<_, T>(|value| value + by)
        .with_timezone_opt(array.timezone().map(str::to_owned));
    Arc::new(moved)
}

#[test]
fn copies_move_by_whole_weeks_within_2025() {
    let row = r#"1,"2025-01-01 00:18:38.000000000","2025-01-31 00:26:59.000000000",1"#;
    assert_eq!(weeks_later(row, 0), row);
    assert_eq!(
        weeks_later(row, 9),
        r#"1,"2025-03-05 00:18:38.000000000","2025-04-04 00:26:59.000000000",1"#
    );
}
