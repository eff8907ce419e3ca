//! Readers that turn a trip file (CSV, gzip CSV or Parquet, told apart by content) into trips and
//! rejected rows, streaming, with memory bounded whatever the file size.

mod bounded_records;
mod csv_parts;
mod csv_reader;
mod csv_rows;
mod page_header;
mod parallel;
mod parquet_bounds;
mod parquet_columns;
mod parquet_reader;
mod sniff;

pub use bounded_records::DEFAULT_MAX_ROW_BYTES;
pub use csv_parts::{CsvPart, plan_csv_parts};
pub use csv_reader::CsvTripReader;
pub use csv_rows::StreamLines;
pub use parquet_bounds::{
    ChunkPages, DEFAULT_MAX_PAGE_BYTES, DEFAULT_MAX_ROW_GROUP_BYTES, ParquetLimits,
};
pub use parquet_reader::{BATCH_ROWS, ParquetTripReader, RecordBatches};
pub use sniff::{
    Format, open_path, open_stream, open_stream_after, open_stream_lines, read_prefix,
};

use crate::identity::TripId;
use crate::reject::{RejectReason, RowRejection};
use crate::schema::{ColumnMap, Field, MissingTimestampColumns};
use crate::trip::{FieldError, Trip};

/// What a reader yields for each row: a trip, or a rejected row.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // One per row, moved not stored: a Box per trip would cost more.
pub enum ReadItem {
    /// A row that became a trip, with the trip's id.
    Trip {
        /// The trip.
        trip: Trip,
        /// Its id (given, or generated from the whole row).
        id: TripId,
        /// The 1-based line of the CSV row, or the 1-based Parquet row number.
        line: u64,
    },
    /// A row that did not, with where and why.
    Rejected(RowRejection),
}

/// Rows a reader converts at a time on the caller's thread, their ids hashed together (a
/// multiple of the hash's 8 lanes; the parallel CSV reader's chunks are larger).
const IDENTIFY_ROWS: usize = 64;

/// A row converted, its id not yet computed: the ids of a chunk of rows are computed together.
pub(super) enum Converted {
    /// A trip, and the row's line (or row number).
    Trip { trip: Trip, line: u64 },
    /// A rejected row.
    Rejected(RowRejection),
}

/// Gives the trips of a chunk their ids, computed together (see [`TripId::identify_all`]).
pub(super) fn identify_chunk(rows: Vec<Converted>) -> Vec<ReadItem> {
    let trips = rows.iter().filter_map(|row| match row {
        Converted::Trip { trip, .. } => Some(trip),
        Converted::Rejected(_) => None,
    });
    let mut ids = TripId::identify_all(trips).into_iter();
    rows.into_iter()
        .map(|row| match row {
            Converted::Trip { trip, line } => {
                // `identify_all` maps each trip to exactly one id, so there is one here; were
                // there not, identifying the trip alone gives the same id.
                let id = ids.next().unwrap_or_else(|| TripId::identify(&trip));
                ReadItem::Trip { trip, id, line }
            }
            Converted::Rejected(rejection) => ReadItem::Rejected(rejection),
        })
        .collect()
}

/// A problem with a whole file (as opposed to one row): reading stops.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file cannot be opened or read at all.
    #[error("{source_name}: cannot read: {error}")]
    Open {
        /// The file.
        source_name: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The file has no bytes, or no header row.
    #[error("{source_name}: the file is empty (no header row)")]
    Empty {
        /// The file.
        source_name: String,
    },
    /// The content is neither CSV text, gzip nor Parquet.
    #[error(
        "{source_name}: unknown format: not CSV text, gzip-compressed CSV or Parquet ({detail})"
    )]
    UnknownFormat {
        /// The file.
        source_name: String,
        /// What was seen.
        detail: String,
    },
    /// The lines end in a lone carriage return (classic Mac OS), so the whole file would read as
    /// its header: refused rather than read as a file without rows.
    #[error(
        "{source_name}: line 1: lines end in a lone carriage return (CR); convert them to LF or CRLF"
    )]
    CarriageReturnLines {
        /// The file.
        source_name: String,
    },
    /// The header row is longer than the row size bound.
    #[error(
        "{source_name}: line 1: the header is {bytes} bytes, over the limit of {limit} bytes for a row"
    )]
    HeaderTooLarge {
        /// The file.
        source_name: String,
        /// The header's length.
        bytes: u64,
        /// The bound.
        limit: u64,
    },
    /// The header has no pickup or dropoff column.
    #[error("{source_name}: {missing}")]
    NotATripFile {
        /// The file.
        source_name: String,
        /// The columns found and the names accepted.
        missing: MissingTimestampColumns,
    },
    /// Reading failed part way (a truncated gzip stream, an I/O error).
    #[error("{source_name}: read failed after line {line}: {detail}")]
    Read {
        /// The file.
        source_name: String,
        /// The last line read successfully.
        line: u64,
        /// What failed.
        detail: String,
    },
    /// The Parquet file is invalid or truncated.
    #[error("{source_name}: invalid Parquet file: {detail}")]
    Parquet {
        /// The file.
        source_name: String,
        /// The Parquet library's message.
        detail: String,
    },
    /// A Parquet page or row group decodes past its bound (see [`ParquetLimits`]).
    #[error(
        "{source_name}: {part} decodes to more than the limit of {limit} bytes ({bytes} bytes \
         counted); rewrite the file with smaller pages or row groups"
    )]
    ParquetTooLarge {
        /// The file.
        source_name: String,
        /// Which row group, or which page of which column.
        part: String,
        /// Its decoded size (for a gzip page, counted to one past the bound).
        bytes: u64,
        /// The bound.
        limit: u64,
    },
    /// A Parquet column of a type trip files never use.
    #[error("{source_name}: column {column} has unsupported Parquet type {data_type}")]
    UnsupportedColumn {
        /// The file.
        source_name: String,
        /// The column name.
        column: String,
        /// Its Arrow type.
        data_type: String,
    },
}

/// An open trip file of any supported format.
#[allow(clippy::large_enum_variant)] // One per file.
pub enum TripReader {
    /// CSV or gzip CSV.
    Csv(CsvTripReader<Box<dyn std::io::Read + Send>>),
    /// Parquet.
    Parquet(Box<ParquetTripReader>),
}

impl TripReader {
    /// The source's columns and where each goes.
    pub fn columns(&self) -> &ColumnMap {
        match self {
            TripReader::Csv(reader) => reader.columns(),
            TripReader::Parquet(reader) => reader.columns(),
        }
    }

    /// The detected format.
    pub fn format(&self) -> Format {
        match self {
            TripReader::Csv(reader) if reader.is_gzip() => Format::GzipCsv,
            TripReader::Csv(_) => Format::Csv,
            TripReader::Parquet(_) => Format::Parquet,
        }
    }

    /// Bytes of (decompressed) text read so far, for CSV; `None` for Parquet.
    pub fn bytes_read(&self) -> Option<u64> {
        match self {
            TripReader::Csv(reader) => Some(reader.bytes_read()),
            TripReader::Parquet(_) => None,
        }
    }

    /// The analyses this source cannot feed, with the column that is missing.
    pub fn unavailable_analyses(&self) -> Vec<(&'static str, &'static str)> {
        unavailable_analyses(self.columns())
    }
}

impl Iterator for TripReader {
    type Item = Result<ReadItem, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            TripReader::Csv(reader) => reader.next(),
            TripReader::Parquet(reader) => reader.next(),
        }
    }
}

/// The endings of trip files' names, for messages.
pub const TRIP_FILE_SUFFIXES: &str = ".csv, .csv.gz or .parquet";

/// True for a name ending in `.csv`, `.csv.gz` or `.parquet`, in any case (`TRIPS.CSV` too).
pub fn is_trip_file_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [".csv", ".csv.gz", ".parquet"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

/// Tables that a source with these columns can never fill, and the column each lacks.
pub fn unavailable_analyses(columns: &ColumnMap) -> Vec<(&'static str, &'static str)> {
    let mut unavailable = Vec::new();
    if !columns.has(Field::TotalAmount) {
        unavailable.push(("high_value_trips", "total_amount"));
    }
    for field in [Field::FareAmount, Field::TripDistance] {
        if !columns.has(field) {
            unavailable.push(("distance_to_fare_ratio", field.name()));
        }
    }
    unavailable
}

/// Refuses a header without both timestamp columns, naming the source.
fn require_trip_header(columns: &ColumnMap, source_name: &str) -> Result<(), InputError> {
    columns
        .require_timestamps()
        .map_err(|missing| InputError::NotATripFile {
            source_name: source_name.to_owned(),
            missing,
        })
}

fn reason_for(error: FieldError) -> RejectReason {
    match error {
        FieldError::Timestamp(_) => RejectReason::BadTimestamp,
        FieldError::Number(_) => RejectReason::BadNumber,
    }
}

#[cfg(test)]
mod tests {
    use super::is_trip_file_name;

    #[test]
    fn trip_files_are_told_by_their_suffix_in_any_case() {
        for name in ["a/t.csv", "T.CSV", "x.Csv.GZ", "jan.Parquet", "y.parquet"] {
            assert!(is_trip_file_name(name), "{name}");
        }
        for name in ["notes.txt", "t.csv.bak", "t.gz", "parquet", "t.csv/"] {
            assert!(!is_trip_file_name(name), "{name}");
        }
    }
}
