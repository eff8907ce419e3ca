//! CSV records → identified trips or rejected rows: the conversion shared by the inline and the
//! parallel CSV readers, and the reading of non-blank records into chunks.

use super::bounded_records::{BoundedRecords, CutRecord};
use super::{Converted, ReadItem, identify_chunk, reason_for};
use crate::reject::{RejectReason, RowRejection};
use crate::schema::{ColumnMap, ColumnTarget, FieldKind};
use crate::trip::TripBuilder;
use csv::ByteRecord;
use std::io::Read;

/// Text of records read at most into one chunk (a chunk of long rows holds fewer of them).
const CHUNK_BYTES: usize = 4 << 20;
/// A record buffer that grew past this is dropped after use rather than kept for reuse.
const KEPT_RECORD_BYTES: usize = 64 << 10;

/// A record cut to the row size bound: its index in the chunk, and the cut.
#[derive(Debug, Clone, Copy)]
pub(super) struct CutRow {
    pub index: usize,
    pub cut: CutRecord,
}

/// Reads non-blank records into `chunk`, at most its length (and about [`CHUNK_BYTES`] of
/// text), following the last line read in `last_line`; records cut to the size bound are noted
/// in `cuts`. Returns how many, and how reading stopped: `Ok(true)` the chunk is full,
/// `Ok(false)` the input ended, `Err` it failed.
pub(super) fn fill_chunk<R: Read>(
    reader: &mut csv::Reader<BoundedRecords<R>>,
    chunk: &mut [ByteRecord],
    cuts: &mut Vec<CutRow>,
    last_line: &mut u64,
    lines: StreamLines,
) -> (usize, csv::Result<bool>) {
    cuts.clear();
    let (mut filled, mut text) = (0, 0);
    while filled < chunk.len() && text < CHUNK_BYTES {
        if chunk[filled].as_slice().len() > KEPT_RECORD_BYTES {
            chunk[filled] = ByteRecord::new();
        }
        match reader.read_byte_record(&mut chunk[filled]) {
            Ok(true) if is_blank(&chunk[filled]) => {}
            Ok(true) => {
                let end = reader.position().byte();
                let cut = reader.get_mut().take_cut(end);
                let record = &mut chunk[filled];
                let first = match cut {
                    Some(cut) => Some(cut.line),
                    None => first_line(record, reader.position().line()),
                };
                set_line(record, first.map(|line| line + lines.line_offset));
                *last_line = line_of(record, *last_line);
                // Rows on `after_line` and before were read by an earlier invocation: parsed
                // (so quoted line breaks hold), not converted.
                if *last_line > lines.after_line {
                    if let Some(cut) = cut {
                        cuts.push(CutRow { index: filled, cut });
                    }
                    text += record.as_slice().len();
                    filled += 1;
                }
            }
            stopped => return (filled, stopped),
        }
    }
    (filled, Ok(true))
}

/// The CSV parser of trip files: no header handling (the reader checks it), ragged rows allowed.
/// Records end at a line feed, and a carriage return before it is white space that every field
/// is trimmed of. With CRLF as the terminator instead, a record after a CRLF line would start at
/// that line's line feed, and its position would name the line before its own.
pub(super) fn csv_parser<R: Read>(source: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        // Fields are trimmed where they are read (`trimmed`): `Trim::All` would copy every
        // record into a new one (measured: 13% of reading a row).
        .buffer_capacity(256 * 1024)
        .from_reader(source)
}

/// [`csv_parser`] over a source whose records are cut to `max_row_bytes` (see
/// [`BoundedRecords`]).
pub(super) fn bounded_csv_parser<R: Read>(
    source: R,
    max_row_bytes: u64,
) -> csv::Reader<BoundedRecords<R>> {
    csv_parser(BoundedRecords::new(source, max_row_bytes))
}

/// Which records of a CSV stream are read, and the lines they are on in the whole file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamLines {
    /// Rows starting on this line of the file or before are skipped (an earlier invocation
    /// read them); 0: none.
    pub after_line: u64,
    /// Lines of the file left out between the header and the stream's next byte (a part of the
    /// file read after its header): added to every row's line.
    pub line_offset: u64,
}

/// The line a record's first byte is on, `end_line` being the parser's line just after it. The
/// record's own position names the line its reading began on, which is earlier when empty lines
/// (skipped by the parser) come before it.
pub(super) fn first_line(record: &ByteRecord, end_line: u64) -> Option<u64> {
    let began = record.position()?.line();
    if end_line <= began + 1 {
        // The common case: one line, nothing skipped (or the file's last line, unterminated).
        return Some(began);
    }
    let inside = record
        .as_slice()
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count() as u64;
    // Less the line breaks inside quoted fields and the terminator's. A last record with no
    // terminator after empty lines is named a line early: the parser does not tell it apart.
    Some(began.max(end_line.saturating_sub(inside + 1)))
}

/// Puts the record on `line` of the file.
fn set_line(record: &mut ByteRecord, line: Option<u64>) {
    if let (Some(line), Some(position)) = (line, record.position())
        && position.line() != line
    {
        let mut moved = position.clone();
        moved.set_line(line);
        record.set_position(Some(moved));
    }
}

/// The line a record starts on (the line after `last_line` if the reader did not say).
fn line_of(record: &ByteRecord, last_line: u64) -> u64 {
    record
        .position()
        .map_or(last_line + 1, |position| position.line())
}

/// A blank line (or one of only spaces): not a row.
pub(super) fn is_blank(record: &ByteRecord) -> bool {
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

    /// Converts a chunk of records and identifies its trips together; `cuts` are the records
    /// cut to the row size bound, rejected.
    pub(super) fn convert_chunk(
        &mut self,
        records: &[ByteRecord],
        cuts: &[CutRow],
    ) -> Vec<ReadItem> {
        let rows = records
            .iter()
            .enumerate()
            .map(
                |(index, record)| match cuts.iter().find(|cut| cut.index == index) {
                    Some(cut) => self.reject_cut(record, cut.cut),
                    None => self.convert(record),
                },
            )
            .collect();
        identify_chunk(rows)
    }

    /// A row longer than the bound: rejected, with only the start of what was read kept.
    fn reject_cut(&mut self, record: &ByteRecord, cut: CutRecord) -> Converted {
        let line = line_of(record, self.last_line);
        self.last_line = line;
        let detail = format!(
            "the row is {} bytes, over the limit of {} bytes; only its first {} bytes are kept",
            cut.bytes, cut.limit, REJECTED_PREFIX_BYTES
        );
        let mut rejected = self.reject(record, line, None, RejectReason::RowTooLarge, detail);
        if let Converted::Rejected(rejection) = &mut rejected {
            truncate_at_char(&mut rejection.raw, REJECTED_PREFIX_BYTES);
        }
        rejected
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
            raw_encoding: crate::reject::RawEncoding::Text,
            line,
            column: column.map(|index| (index + 1, self.columns.name(index).to_string())),
            reason,
            detail,
            raw: raw_row(record),
        })
    }
}

/// Bytes of a row too large that the rejects file keeps.
const REJECTED_PREFIX_BYTES: usize = 4096;

/// Shortens `text` to at most `bytes` bytes, at a character boundary.
fn truncate_at_char(text: &mut String, bytes: usize) {
    if text.len() > bytes {
        let boundary = (0..=bytes)
            .rev()
            .find(|&index| text.is_char_boundary(index));
        text.truncate(boundary.unwrap_or(0));
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
