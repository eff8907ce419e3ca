//! CSV rows → trips, for every TLC vintage: aliases, CRLF, blank lines, trailing empty fields.

use super::{InputError, ReadItem, reason_for};
use crate::reject::{RejectReason, RowRejection};
use crate::schema::{ColumnMap, ColumnTarget, FieldKind};
use crate::trip::TripBuilder;
use csv::ByteRecord;
use std::io::Read;

/// Streams a CSV source row by row; holds one row in memory at a time.
pub struct CsvTripReader<R: Read> {
    reader: csv::Reader<R>,
    columns: ColumnMap,
    record: ByteRecord,
    builder: TripBuilder,
    source_name: String,
    is_gzip: bool,
    last_line: u64,
}

impl<R: Read> CsvTripReader<R> {
    /// Reads the header and checks that it names a pickup and a dropoff column.
    pub fn new(source: R, source_name: String, is_gzip: bool) -> Result<Self, InputError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
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
        columns
            .require_timestamps()
            .map_err(|missing| InputError::NotATripFile {
                source_name: source_name.clone(),
                missing,
            })?;
        let last_line = header.position().map_or(1, |position| position.line());
        Ok(CsvTripReader {
            reader,
            columns,
            record: ByteRecord::new(),
            builder: TripBuilder::new(),
            source_name,
            is_gzip,
            last_line,
        })
    }

    /// The header's columns and where each goes.
    pub fn columns(&self) -> &ColumnMap {
        &self.columns
    }

    /// Bytes of text read so far.
    pub fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }

    /// True when the source was gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.is_gzip
    }

    fn convert(&mut self) -> ReadItem {
        let line = self
            .record
            .position()
            .map_or(self.last_line + 1, |position| position.line());
        self.last_line = line;
        let header_len = self.columns.len();
        if self.record.len() < header_len {
            let detail = format!("{} fields, the header has {header_len}", self.record.len());
            return self.reject(line, None, RejectReason::TooFewFields, detail);
        }
        if let Some(extra) = (header_len..self.record.len()).find(|&i| !self.record[i].is_empty()) {
            let detail = format!(
                "non-empty field {} beyond the header's {header_len}",
                extra + 1
            );
            return self.reject(line, None, RejectReason::ExtraFields, detail);
        }
        for index in 0..header_len {
            let bytes = &self.record[index];
            let target = self.columns.target(index);
            if bytes.is_empty() {
                if let ColumnTarget::Field(field) = target
                    && field.kind() == FieldKind::Timestamp
                {
                    let detail = format!("{} is empty", field.name());
                    return self.reject(line, Some(index), RejectReason::MissingTimestamp, detail);
                }
                continue;
            }
            let Ok(text) = std::str::from_utf8(bytes) else {
                let detail = "not valid UTF-8".to_owned();
                return self.reject(line, Some(index), RejectReason::InvalidUtf8, detail);
            };
            match target {
                ColumnTarget::Field(field) => {
                    if let Err(error) = self.builder.set_text(field, text) {
                        let detail = format!("{error}: {text:?}");
                        return self.reject(line, Some(index), reason_for(error), detail);
                    }
                }
                ColumnTarget::Carried => {
                    let name = std::sync::Arc::clone(self.columns.name(index));
                    self.builder.carry(&name, text);
                }
            }
        }
        match self.builder.finish() {
            Ok(trip) => ReadItem::Trip(trip),
            // Both timestamp columns exist and were checked non-empty above.
            Err(missing) => {
                let detail = format!("{} is empty", missing.0.name());
                self.reject(line, None, RejectReason::MissingTimestamp, detail)
            }
        }
    }

    fn reject(
        &mut self,
        line: u64,
        column: Option<usize>,
        reason: RejectReason,
        detail: String,
    ) -> ReadItem {
        self.builder.clear();
        ReadItem::Rejected(RowRejection {
            line,
            column: column.map(|index| (index + 1, self.columns.name(index).to_string())),
            reason,
            detail,
            raw: raw_row(&self.record),
        })
    }
}

impl<R: Read> Iterator for CsvTripReader<R> {
    type Item = Result<ReadItem, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return None,
                Err(error) => {
                    return Some(Err(InputError::Read {
                        source_name: self.source_name.clone(),
                        line: self.last_line,
                        detail: error.to_string(),
                    }));
                }
                Ok(true) if self.record.len() <= 1 && self.record.as_slice().is_empty() => {
                    // A blank line (or one of only spaces): not a row.
                }
                Ok(true) => return Some(Ok(self.convert())),
            }
        }
    }
}

/// The row as CSV text, quoted where needed, for the rejects file.
fn raw_row(record: &ByteRecord) -> String {
    let mut out = String::new();
    for (index, field) in record.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        let text = String::from_utf8_lossy(field);
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::schema::Field;

    fn read(text: &str) -> Result<Vec<ReadItem>, InputError> {
        CsvTripReader::new(text.as_bytes(), "test.csv".to_owned(), false)?.collect()
    }

    fn reasons(items: &[ReadItem]) -> Vec<String> {
        items
            .iter()
            .map(|item| match item {
                ReadItem::Trip(_) => "trip".to_owned(),
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
        let ReadItem::Trip(trip) = &items[0] else {
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
        let ReadItem::Trip(trip) = &items[0] else {
            panic!("{:?}", reasons(&items))
        };
        assert_eq!(
            trip.decimal(Field::TotalAmount).map(|d| d.to_string()),
            Some("9.4".into())
        );
        Ok(())
    }

    #[test]
    fn each_bad_row_is_rejected_with_line_column_and_reason() -> Result<(), InputError> {
        let items = read(concat!(
            "tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,fare_amount\n",
            "2025-01-01 00:00:00,2025-01-01 00:10:00,1.5,3\n",
            "2025-01-01 00:00:00,2025-02-30 00:10:00,1,3\n",
            "2025-01-01 00:00:00,,1,3\n",
            "2025-01-01 00:00:00,2025-01-01 00:10:00,1\n",
            "2025-01-01 00:00:00,2025-01-01 00:10:00,1,3,x\n",
            "2025-01-01 00:00:00,2025-01-01 00:10:00,1,abc\n",
        ))?;
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
    fn a_header_without_timestamps_is_refused() {
        let error = read("LocationID,Borough\n1,EWR\n")
            .err()
            .map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("found columns: LocationID, Borough")));
        assert!(matches!(read(""), Err(InputError::Empty { .. })));
    }
}
