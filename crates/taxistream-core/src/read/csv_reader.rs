//! CSV rows → trips, for every TLC vintage: aliases, CRLF, blank lines, trailing empty fields.
//!
//! Parsing the CSV syntax is cheap; turning fields into a typed, identified trip is not. With
//! [`CsvTripReader::with_workers`], one thread reads records and worker threads convert chunks of
//! them, and the reader still yields rows in file order.

use super::parallel::ParallelRows;
use super::{Converted, IDENTIFY_ROWS, InputError, ReadItem, identify_chunk, reason_for};
use crate::reject::{RejectReason, RowRejection};
use crate::schema::{ColumnMap, ColumnTarget, FieldKind};
use crate::trip::TripBuilder;
use csv::ByteRecord;
use std::io::Read;

/// Streams a CSV source row by row; memory holds a few chunks of rows at most.
pub struct CsvTripReader<R: Read + Send + 'static> {
    rows: Rows<R>,
    columns: ColumnMap,
    is_gzip: bool,
}

#[allow(clippy::large_enum_variant)] // One per file.
enum Rows<R: Read + Send + 'static> {
    /// Read and convert on the caller's thread, a chunk of rows at a time.
    Inline {
        reader: csv::Reader<R>,
        chunk: Vec<ByteRecord>,
        converted: std::vec::IntoIter<ReadItem>,
        converter: RowConverter,
        source_name: String,
        /// How reading ended, once it has: yielded after the rows before it.
        end: Option<Result<(), InputError>>,
    },
    /// Read on one thread, convert on workers.
    Parallel(ParallelRows),
    /// Taken apart while switching modes.
    Empty,
}

impl<R: Read + Send + 'static> CsvTripReader<R> {
    /// Reads the header and checks that it names a pickup and a dropoff column.
    pub fn new(source: R, source_name: String, is_gzip: bool) -> Result<Self, InputError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            // Fields are trimmed where they are read (`trimmed`): `Trim::All` would copy every
            // record into a new one (measured: 13% of reading a row).
            .buffer_capacity(256 * 1024)
            .from_reader(source);
        let mut header = ByteRecord::new();
        let read = reader
            .read_byte_record(&mut header)
            .map_err(|error| InputError::Read {
                source_name: source_name.clone(),
                line: 0,
                detail: error.to_string(),
            })?;
        if !read {
            return Err(InputError::Empty { source_name });
        }
        header.trim();
        let names: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let name = String::from_utf8_lossy(name);
                let name = if index == 0 {
                    name.trim_start_matches('\u{feff}')
                } else {
                    &name
                };
                name.to_owned()
            })
            .collect();
        let columns = ColumnMap::new(&names);
        super::require_trip_header(&columns, &source_name)?;
        let header_line = header.position().map_or(1, |position| position.line());
        Ok(CsvTripReader {
            rows: Rows::Inline {
                reader,
                chunk: Vec::new(),
                converted: Vec::new().into_iter(),
                converter: RowConverter::new(columns.clone(), header_line),
                source_name,
                end: None,
            },
            columns,
            is_gzip,
        })
    }

    /// Converts rows on `workers` threads (1 or less: on the caller's thread).
    pub fn with_workers(mut self, workers: usize) -> Self {
        if workers > 1
            && let Rows::Inline {
                reader,
                converter,
                source_name,
                ..
            } = std::mem::replace(&mut self.rows, Rows::Empty)
        {
            self.rows =
                Rows::Parallel(ParallelRows::start(reader, converter, source_name, workers));
        }
        self
    }

    /// The header's columns and where each goes.
    pub fn columns(&self) -> &ColumnMap {
        &self.columns
    }

    /// Bytes of text read so far.
    pub fn bytes_read(&self) -> u64 {
        match &self.rows {
            Rows::Inline { reader, .. } => reader.position().byte(),
            Rows::Parallel(rows) => rows.bytes_read(),
            Rows::Empty => 0,
        }
    }

    /// True when the source was gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.is_gzip
    }
}

impl<R: Read + Send + 'static> Iterator for CsvTripReader<R> {
    type Item = Result<ReadItem, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.rows {
            Rows::Inline {
                reader,
                chunk,
                converted,
                converter,
                source_name,
                end,
            } => loop {
                if let Some(item) = converted.next() {
                    return Some(Ok(item));
                }
                if let Some(ended) = end.take() {
                    *end = Some(Ok(()));
                    return ended.err().map(Err);
                }
                chunk.resize_with(IDENTIFY_ROWS, ByteRecord::new);
                let mut last_line = converter.last_line();
                let (filled, outcome) = fill_chunk(reader, chunk, &mut last_line);
                *converted = converter.convert_chunk(&chunk[..filled]).into_iter();
                *end = match outcome {
                    Ok(true) => None,
                    Ok(false) => Some(Ok(())),
                    Err(error) => Some(Err(InputError::Read {
                        source_name: source_name.clone(),
                        line: last_line,
                        detail: error.to_string(),
                    })),
                };
            },
            Rows::Parallel(rows) => rows.next(),
            Rows::Empty => None,
        }
    }
}

/// Reads non-blank records into `chunk`, at most its length, following the last line read in
/// `last_line`. Returns how many, and how reading stopped: `Ok(true)` the chunk is full,
/// `Ok(false)` the input ended, `Err` it failed.
pub(super) fn fill_chunk<R: Read>(
    reader: &mut csv::Reader<R>,
    chunk: &mut [ByteRecord],
    last_line: &mut u64,
) -> (usize, csv::Result<bool>) {
    let mut filled = 0;
    while filled < chunk.len() {
        match reader.read_byte_record(&mut chunk[filled]) {
            Ok(true) if is_blank(&chunk[filled]) => {}
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::schema::Field;

    fn read_with(text: &str, workers: usize) -> Result<Vec<ReadItem>, InputError> {
        CsvTripReader::new(
            std::io::Cursor::new(text.as_bytes().to_vec()),
            "test.csv".to_owned(),
            false,
        )?
        .with_workers(workers)
        .collect()
    }

    fn read(text: &str) -> Result<Vec<ReadItem>, InputError> {
        read_with(text, 1)
    }

    fn reasons(items: &[ReadItem]) -> Vec<String> {
        items
            .iter()
            .map(|item| match item {
                ReadItem::Trip { .. } => "trip".to_owned(),
                ReadItem::Rejected(r) => r.to_string(),
            })
            .collect()
    }

    #[test]
    fn crlf_blank_second_line_and_trailing_empty_fields() -> Result<(), InputError> {
        let items = read(
            "VendorID,tpep_pickup_datetime,tpep_dropoff_datetime,fare_amount\r\n\r\n1,2016-07-01 00:00:00,2016-07-01 00:10:00,.5,,\r\n",
        )?;
        assert_eq!(reasons(&items), ["trip"]);
        let ReadItem::Trip { trip, .. } = &items[0] else {
            unreachable!()
        };
        assert_eq!(
            trip.decimal(Field::FareAmount).map(|d| d.to_string()),
            Some("0.5".into())
        );
        Ok(())
    }

    #[test]
    fn the_2009_and_2014_spellings_are_understood() -> Result<(), InputError> {
        let items = read(
            "vendor_name, Trip_Pickup_DateTime, Trip_Dropoff_DateTime, Total_Amt, Payment_Type\nVTS, 2009-01-04 02:52:00, 2009-01-04 03:02:00, 9.4, CASH\n",
        )?;
        let ReadItem::Trip { trip, .. } = &items[0] else {
            panic!("{:?}", reasons(&items))
        };
        assert_eq!(
            trip.decimal(Field::TotalAmount).map(|d| d.to_string()),
            Some("9.4".into())
        );
        Ok(())
    }

    const DIRTY: &str = concat!(
        "tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,fare_amount\n",
        "2025-01-01 00:00:00,2025-01-01 00:10:00,1.5,3\n",
        "2025-01-01 00:00:00,2025-02-30 00:10:00,1,3\n",
        "2025-01-01 00:00:00,,1,3\n",
        "2025-01-01 00:00:00,2025-01-01 00:10:00,1\n",
        "2025-01-01 00:00:00,2025-01-01 00:10:00,1,3,x\n",
        "2025-01-01 00:00:00,2025-01-01 00:10:00,1,abc\n",
    );

    #[test]
    fn each_bad_row_is_rejected_with_line_column_and_reason() -> Result<(), InputError> {
        let items = read(DIRTY)?;
        assert_eq!(
            reasons(&items),
            [
                "line 2, column 3 (passenger_count): bad_number: not an integer: \"1.5\"",
                "line 3, column 2 (tpep_dropoff_datetime): bad_timestamp: timestamp not a valid date or time: \"2025-02-30 00:10:00\"",
                "line 4, column 2 (tpep_dropoff_datetime): missing_timestamp: dropoff_datetime is empty",
                "line 5: too_few_fields: 3 fields, the header has 4",
                "line 6: extra_fields: non-empty field 5 beyond the header's 4",
                "line 7, column 4 (fare_amount): bad_number: not a number: \"abc\"",
            ]
        );
        Ok(())
    }

    #[test]
    fn workers_yield_the_same_rows_in_the_same_order() -> Result<(), InputError> {
        let mut text = String::from(DIRTY);
        for minute in 0..5000 {
            text.push_str(&format!(
                "2025-01-01 00:00:00,2025-01-01 01:{:02}:00,1,{minute}\n",
                minute % 60
            ));
            if minute % 777 == 0 {
                text.push_str("\n2025-01-01 00:00:00,nope,1,3\n");
            }
        }
        let inline = read_with(&text, 1)?;
        assert_eq!(inline.len(), 6 + 5000 + 7);
        assert_eq!(read_with(&text, 3)?, inline);
        Ok(())
    }

    #[test]
    fn a_row_that_is_not_utf8_keeps_its_bytes_escaped() -> Result<(), InputError> {
        let mut text = b"tpep_pickup_datetime,tpep_dropoff_datetime,zone\n".to_vec();
        text.extend(b"2025-01-01 00:00:00,2025-01-01 00:10:00,Caf\xe9\n");
        let items: Vec<ReadItem> =
            CsvTripReader::new(std::io::Cursor::new(text), "l.csv".to_owned(), false)?
                .collect::<Result<_, _>>()?;
        let ReadItem::Rejected(rejection) = &items[0] else {
            panic!("{:?}", reasons(&items))
        };
        assert_eq!(rejection.reason, RejectReason::InvalidUtf8);
        assert!(rejection.raw.ends_with("Caf\\xE9"), "{}", rejection.raw);
        Ok(())
    }

    #[test]
    fn fields_are_read_trimmed_and_rejected_rows_keep_trimmed_fields() -> Result<(), InputError> {
        let header = "tpep_pickup_datetime,tpep_dropoff_datetime,fare_amount,zone\n";
        let padded = read(&format!(
            "{header} 2025-01-01 00:00:00 ,\t2025-01-01 00:10:00,\" 1.50 \", Zürich \n   \n\
             2025-01-01 00:00:00,2025-01-01 00:10:00 ,3, a , x \n"
        ))?;
        let plain = read(&format!(
            "{header}2025-01-01 00:00:00,2025-01-01 00:10:00,1.5,Zürich\n \n\
             2025-01-01 00:00:00,2025-01-01 00:10:00,3,a,x\n"
        ))?;
        assert_eq!(padded, plain);
        assert_eq!(
            reasons(&padded)[1],
            "line 4: extra_fields: non-empty field 5 beyond the header's 4"
        );
        let ReadItem::Rejected(rejection) = &padded[1] else {
            unreachable!()
        };
        assert_eq!(
            rejection.raw,
            "2025-01-01 00:00:00,2025-01-01 00:10:00,3,a,x"
        );
        Ok(())
    }

    #[test]
    fn a_character_split_across_two_fields_is_invalid_in_the_first() -> Result<(), InputError> {
        let mut text = b"tpep_pickup_datetime,tpep_dropoff_datetime,a,b\n".to_vec();
        // Together the two fields are the UTF-8 of `é`; each alone is not text.
        text.extend(b"2025-01-01 00:00:00,2025-01-01 00:10:00,\xc3,\xa9\n");
        text.extend(b"2025-01-01 00:00:00,2025-01-01 00:10:00,\xc3\xa9,\xe2\x82\n");
        let items: Vec<ReadItem> =
            CsvTripReader::new(std::io::Cursor::new(text), "s.csv".to_owned(), false)?
                .collect::<Result<_, _>>()?;
        let columns: Vec<_> = items
            .iter()
            .map(|item| match item {
                ReadItem::Rejected(r) => (r.reason, r.column.clone()),
                _ => panic!("{:?}", reasons(&items)),
            })
            .collect();
        assert_eq!(
            columns,
            [
                (RejectReason::InvalidUtf8, Some((3, "a".to_owned()))),
                (RejectReason::InvalidUtf8, Some((4, "b".to_owned())))
            ]
        );
        Ok(())
    }

    #[test]
    fn a_header_without_timestamps_is_refused() {
        let error = read("LocationID,Borough\n1,EWR\n")
            .err()
            .map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("found columns: LocationID, Borough")));
        assert!(matches!(read(""), Err(InputError::Empty { .. })));
    }
}
