//! CSV records → identified trips or rejected rows: the conversion shared by the inline and the
//! parallel CSV readers, and the reading of non-blank records into chunks.

use super::{Converted, ReadItem, identify_chunk, reason_for};
use crate::reject::{RejectReason, RowRejection};
use crate::schema::{ColumnMap, ColumnTarget, FieldKind};
use crate::trip::TripBuilder;
use csv::ByteRecord;
use std::io::Read;

/// Reads non-blank records into `chunk`, at most its length, following the last line read in
/// `last_line`. Returns how many, and how reading stopped: `Ok(true)` the chunk is full,
/// `Ok(false)` the input ended, `Err` it failed.
pub(super) fn fill_chunk<R: Read>(
    reader: &mut csv::Reader<R>,
    chunk: &mut [ByteRecord],
    last_line: &mut u64,
    skip_through_line: u64,
) -> (usize, csv::Result<bool>) {
    let mut filled = 0;
    while filled < chunk.len() {
        match reader.read_byte_record(&mut chunk[filled]) {
            Ok(true) if is_blank(&chunk[filled]) => {}
            // Read before (by an earlier invocation): parsed, not converted.
            Ok(true) if line_of(&chunk[filled], *last_line) <= skip_through_line => {
                *last_line = line_of(&chunk[filled], *last_line);
            }
            Ok(true) => {
                *last_line = chunk[filled]
                    .position()
                    .map_or(*last_line + 1, |position| position.line());
                filled += 1;
            }
            stopped => return (filled, stopped),
        }
    }
    (filled, Ok(true))
}

/// The line a record starts on (the line after `last_line` if the reader did not say).
fn line_of(record: &ByteRecord, last_line: u64) -> u64 {
    record
        .position()
        .map_or(last_line + 1, |position| position.line())
}

/// A blank line (or one of only spaces): not a row.
fn is_blank(record: &ByteRecord) -> bool {
    record.len() <= 1 && record.iter().all(|field| trimmed(field).is_empty())
}

/// A field without its surrounding ASCII white space (as `csv::Trim::All` would leave it).
fn trimmed(field: &[u8]) -> &[u8] {
    field.trim_ascii()
}

/// Turns one CSV record into an identified trip or a rejection.
#[derive(Debug, Clone)]
pub(super) struct RowConverter {
    columns: ColumnMap,
    builder: TripBuilder,
    last_line: u64,
}

impl RowConverter {
    pub(super) fn new(columns: ColumnMap, last_line: u64) -> Self {
        RowConverter {
            columns,
            builder: TripBuilder::new(),
            last_line,
        }
    }

    /// The line of the last record converted.
    pub(super) fn last_line(&self) -> u64 {
        self.last_line
    }

    /// Converts a chunk of records and identifies its trips together.
    pub(super) fn convert_chunk(&mut self, records: &[ByteRecord]) -> Vec<ReadItem> {
        let rows = records.iter().map(|record| self.convert(record)).collect();
        identify_chunk(rows)
    }

    fn convert(&mut self, record: &ByteRecord) -> Converted {
        let line = line_of(record, self.last_line);
        self.last_line = line;
        let header_len = self.columns.len();
        if record.len() < header_len {
            let detail = format!("{} fields, the header has {header_len}", record.len());
            return self.reject(record, line, None, RejectReason::TooFewFields, detail);
        }
        if let Some(extra) = (header_len..record.len()).find(|&i| !trimmed(&record[i]).is_empty()) {
            let detail = format!(
                "non-empty field {} beyond the header's {header_len}",
                extra + 1
            );
            return self.reject(record, line, None, RejectReason::ExtraFields, detail);
        }
        // One UTF-8 check for the whole row (fields of valid text are slices of it); a row that
        // fails it is checked field by field, so the first bad column is the one named.
        let whole = std::str::from_utf8(record.as_slice()).ok();
        for index in 0..header_len {
            let bytes = trimmed(&record[index]);
            let target = self.columns.target(index);
            if bytes.is_empty() {
                if let ColumnTarget::Field(field) = target
                    && field.kind() == FieldKind::Timestamp
                {
                    let detail = format!("{} is empty", field.name());
                    let reason = RejectReason::MissingTimestamp;
                    return self.reject(record, line, Some(index), reason, detail);
                }
                continue;
            }
            let text = whole
                .zip(record.range(index))
                .and_then(|(whole, range)| whole.get(range))
                .map(str::trim_ascii);
            let Some(text) = text.or_else(|| std::str::from_utf8(bytes).ok()) else {
                let detail = "not valid UTF-8".to_owned();
                return self.reject(record, line, Some(index), RejectReason::InvalidUtf8, detail);
            };
            match target {
                ColumnTarget::Field(field) => {
                    if let Err(error) = self.builder.set_text(field, text) {
                        let detail = format!("{error}: {text:?}");
                        return self.reject(record, line, Some(index), reason_for(error), detail);
                    }
                }
                ColumnTarget::Carried => {
                    let name = std::sync::Arc::clone(self.columns.name(index));
                    self.builder.carry(&name, text);
                }
            }
        }
        match self.builder.finish() {
            Ok(trip) => Converted::Trip { trip, line },
            // Both timestamp columns exist and were checked non-empty above.
            Err(missing) => {
                let detail = format!("{} is empty", missing.0.name());
                self.reject(record, line, None, RejectReason::MissingTimestamp, detail)
            }
        }
    }

    fn reject(
        &mut self,
        record: &ByteRecord,
        line: u64,
        column: Option<usize>,
        reason: RejectReason,
        detail: String,
    ) -> Converted {
        self.builder.clear();
        Converted::Rejected(RowRejection {
            line,
            column: column.map(|index| (index + 1, self.columns.name(index).to_string())),
            reason,
            detail,
            raw: raw_row(record),
        })
    }
}

/// The row as CSV text, quoted where needed, for the rejects file.
fn raw_row(record: &ByteRecord) -> String {
    let mut out = String::new();
    for (index, field) in record.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        let text = escape_invalid_utf8(trimmed(field));
        if text.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&text.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&text);
        }
    }
    out
}

/// The bytes as text, with each byte that is not UTF-8 written as `\xNN`, so nothing is lost.
fn escape_invalid_utf8(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02X}"));
        }
    }
    out
}
