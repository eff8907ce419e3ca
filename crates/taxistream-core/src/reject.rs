//! Rows that do not become trips, with where they were and why.

use std::fmt;

/// Why a row was rejected. The names are stable: they appear in summaries, JSON and rejects files.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The pickup or dropoff timestamp is empty.
    MissingTimestamp,
    /// A timestamp does not parse.
    BadTimestamp,
    /// A numeric field holds text that does not parse as a number of its kind.
    BadNumber,
    /// The row has fewer fields than the header.
    TooFewFields,
    /// The row has non-empty fields beyond the header.
    ExtraFields,
    /// A field is not valid UTF-8 text.
    InvalidUtf8,
    /// The trip's stream record would exceed the 1 MiB Kinesis record limit.
    RecordTooLarge,
    /// The CSV row is longer than the reader's row size bound.
    RowTooLarge,
    /// One of the trip's DynamoDB items could pass the 400 KB item limit.
    ItemTooLarge,
    /// The data's `trip_id` is longer than a Kinesis partition key may be (256 characters).
    BadTripId,
    /// A stream record that is not a trip record (consumer side).
    BadRecord,
}

impl RejectReason {
    /// Every reason, in a stable order.
    pub const ALL: [RejectReason; 11] = [
        RejectReason::MissingTimestamp,
        RejectReason::BadTimestamp,
        RejectReason::BadNumber,
        RejectReason::TooFewFields,
        RejectReason::ExtraFields,
        RejectReason::InvalidUtf8,
        RejectReason::RecordTooLarge,
        RejectReason::RowTooLarge,
        RejectReason::ItemTooLarge,
        RejectReason::BadTripId,
        RejectReason::BadRecord,
    ];

    /// The stable snake_case name.
    pub const fn name(self) -> &'static str {
        match self {
            RejectReason::MissingTimestamp => "missing_timestamp",
            RejectReason::BadTimestamp => "bad_timestamp",
            RejectReason::BadNumber => "bad_number",
            RejectReason::TooFewFields => "too_few_fields",
            RejectReason::ExtraFields => "extra_fields",
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::RecordTooLarge => "record_too_large",
            RejectReason::RowTooLarge => "row_too_large",
            RejectReason::ItemTooLarge => "item_too_large",
            RejectReason::BadTripId => "bad_trip_id",
            RejectReason::BadRecord => "bad_record",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A rejected row: its position, the offending column, the reason, and the raw row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRejection {
    /// The 1-based line of a CSV row, or the 1-based row number in a Parquet file.
    pub line: u64,
    /// The 1-based column and its name, when one column is at fault.
    pub column: Option<(usize, String)>,
    /// Why the row was rejected.
    pub reason: RejectReason,
    /// A human explanation, quoting the offending value.
    pub detail: String,
    /// The row as read (CSV text, or `name=value` pairs for Parquet), as `raw_encoding` says.
    pub raw: String,
    /// How `raw` holds it.
    pub raw_encoding: RawEncoding,
}

/// True when a spreadsheet would run `cell` as a formula (it starts with `=`, `+`, `-`, `@`, a
/// tab or a carriage return): a rejects CSV writes such a cell with a `'` before it.
pub fn starts_like_a_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// How a rejection's `raw` holds what was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RawEncoding {
    /// As text.
    #[default]
    Text,
    /// The exact bytes in lowercase hexadecimal: data that is not UTF-8 text, or that a rejects
    /// CSV would not keep as it is (a cell starting like a formula gets a quote).
    Hex,
}

impl RawEncoding {
    /// The name in a rejects file's `raw_encoding` column.
    pub fn name(self) -> &'static str {
        match self {
            RawEncoding::Text => "text",
            RawEncoding::Hex => "hex",
        }
    }

    /// `bytes` kept whole: as text when they are UTF-8 that a CSV cell keeps as it is, else in
    /// hexadecimal.
    pub fn keep(bytes: &[u8]) -> (String, RawEncoding) {
        match std::str::from_utf8(bytes) {
            Ok(text) if !starts_like_a_formula(text) => (text.to_owned(), RawEncoding::Text),
            _ => {
                let hex = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
                (hex, RawEncoding::Hex)
            }
        }
    }
}

impl fmt::Display for RowRejection {
    /// `line 17, column 2 (tpep_pickup_datetime): bad_timestamp: ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some((number, name)) = &self.column {
            write!(f, ", column {number} ({name})")?;
        }
        write!(f, ": {}: {}", self.reason, self.detail)
    }
}
