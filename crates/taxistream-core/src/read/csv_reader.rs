//! CSV rows → trips, for every TLC vintage: aliases, CRLF, blank lines, trailing empty fields.
//!
//! Parsing the CSV syntax is cheap; turning fields into a typed, identified trip is not. With
//! [`CsvTripReader::with_workers`], one thread reads records and worker threads convert chunks of
//! them, and the reader still yields rows in file order.

use super::bounded_records::{BoundedRecords, DEFAULT_MAX_ROW_BYTES};
use super::csv_rows::{CutRow, RowConverter, StreamLines, bounded_csv_parser, fill_chunk};
use super::parallel::ParallelRows;
use super::{IDENTIFY_ROWS, InputError, ReadItem};
use crate::schema::ColumnMap;
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
        reader: csv::Reader<BoundedRecords<R>>,
        chunk: Vec<ByteRecord>,
        cuts: Vec<CutRow>,
        converted: std::vec::IntoIter<ReadItem>,
        converter: RowConverter,
        source_name: String,
        /// How reading ended, once it has: yielded after the rows before it.
        end: Option<Result<(), InputError>>,
        /// Which rows are read, and their lines in the file.
        lines: StreamLines,
    },
    /// Read on one thread, convert on workers.
    Parallel(ParallelRows),
    /// Taken apart while switching modes.
    Empty,
}

impl<R: Read + Send + 'static> CsvTripReader<R> {
    /// Reads the header and checks that it names a pickup and a dropoff column; rows longer
    /// than [`DEFAULT_MAX_ROW_BYTES`] are rejected.
    pub fn new(source: R, source_name: String, is_gzip: bool) -> Result<Self, InputError> {
        Self::with_max_row_bytes(source, source_name, is_gzip, DEFAULT_MAX_ROW_BYTES)
    }

    /// As [`Self::new`], rows longer than `max_row_bytes` rejected (`row_too_large`): the
    /// reader never holds more of a row than that.
    pub fn with_max_row_bytes(
        source: R,
        source_name: String,
        is_gzip: bool,
        max_row_bytes: u64,
    ) -> Result<Self, InputError> {
        let mut reader = bounded_csv_parser(source, max_row_bytes);
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
        let header_end = reader.position().byte();
        if let Some(cut) = reader.get_mut().take_cut(header_end) {
            return Err(InputError::HeaderTooLarge {
                source_name,
                bytes: cut.bytes,
                limit: cut.limit,
            });
        }
        header.trim();
        if header.iter().any(|name| name.contains(&b'\r')) {
            return Err(InputError::CarriageReturnLines { source_name });
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
        super::require_trip_header(&columns, &source_name)?;
        let header_line = header.position().map_or(1, |position| position.line());
        Ok(CsvTripReader {
            rows: Rows::Inline {
                reader,
                chunk: Vec::new(),
                cuts: Vec::new(),
                converted: Vec::new().into_iter(),
                converter: RowConverter::new(columns.clone(), header_line),
                source_name,
                end: None,
                lines: StreamLines::default(),
            },
            columns,
            is_gzip,
        })
    }

    /// Skips the rows that start on `line` or before (read by an earlier invocation): they are
    /// parsed, so that quoted line breaks are respected, but not converted or yielded. Call it
    /// before [`Self::with_workers`].
    pub fn after_line(self, line: u64) -> Self {
        self.lines(StreamLines {
            after_line: line,
            line_offset: 0,
        })
    }

    /// Which rows to read and the lines they are on in the file (see [`StreamLines`]). Call it
    /// before [`Self::with_workers`].
    pub fn lines(mut self, lines: StreamLines) -> Self {
        if let Rows::Inline { lines: current, .. } = &mut self.rows {
            *current = lines;
        }
        self
    }

    /// Converts rows on `workers` threads (1 or less: on the caller's thread).
    pub fn with_workers(mut self, workers: usize) -> Self {
        if workers > 1
            && let Rows::Inline {
                reader,
                converter,
                source_name,
                lines,
                ..
            } = std::mem::replace(&mut self.rows, Rows::Empty)
        {
            self.rows = Rows::Parallel(ParallelRows::start(
                reader,
                converter,
                source_name,
                workers,
                lines,
            ));
        }
        self
    }

    /// The header's columns and where each goes.
    pub fn columns(&self) -> &ColumnMap {
        &self.columns
    }

    /// Bytes of text read so far (of the source: rows cut to the size bound count whole).
    pub fn bytes_read(&self) -> u64 {
        match &self.rows {
            Rows::Inline { reader, .. } => {
                reader.get_ref().source_position(reader.position().byte())
            }
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
                cuts,
                converted,
                converter,
                source_name,
                end,
                lines,
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
                let (filled, outcome) = fill_chunk(reader, chunk, cuts, &mut last_line, *lines);
                *converted = converter.convert_chunk(&chunk[..filled], cuts).into_iter();
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::reject::RejectReason;
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
    fn crlf_rows_are_on_the_same_lines_and_read_the_same_as_lf_rows() -> Result<(), InputError> {
        // Official TLC CSVs end their lines with CRLF; a blank CRLF line is not a row either.
        let crlf = DIRTY.replace('\n', "\r\n").replacen("\r\n", "\r\n\r\n", 1);
        let lf = DIRTY.replacen('\n', "\n\n", 1);
        let (crlf, lf) = (read(&crlf)?, read(&lf)?);
        assert_eq!(crlf, lf);
        let lines: Vec<u64> = crlf.iter().map(line_of).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 8]);
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

    fn line_of(item: &ReadItem) -> u64 {
        match item {
            ReadItem::Trip { line, .. } => *line,
            ReadItem::Rejected(rejection) => rejection.line,
        }
    }

    #[test]
    fn reading_after_a_line_yields_exactly_the_rows_after_it() -> Result<(), InputError> {
        // Row 3 holds a quoted line break: its second line is not a row start.
        let mut text = String::from("tpep_pickup_datetime,tpep_dropoff_datetime,note\n");
        for minute in 0..3000 {
            let note = if minute == 2 { "\"two\nlines\"" } else { "x" };
            text.push_str(&format!(
                "2025-01-01 00:00:00,2025-01-01 01:{:02}:00,{note}\n",
                minute % 60
            ));
        }
        let all = read_with(&text, 1)?;
        assert_eq!(all.len(), 3000);
        for workers in [1, 3] {
            for done in [0usize, 1, 2, 3, 1500, 2999, 3000] {
                let after = done.checked_sub(1).map_or(0, |index| line_of(&all[index]));
                let rest: Vec<ReadItem> = CsvTripReader::new(
                    std::io::Cursor::new(text.as_bytes().to_vec()),
                    "test.csv".to_owned(),
                    false,
                )?
                .after_line(after)
                .with_workers(workers)
                .collect::<Result<_, _>>()?;
                assert_eq!(rest, all[done..], "after line {after}, {workers} workers");
            }
        }
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

    #[test]
    fn lines_ending_in_a_lone_cr_are_refused_not_read_as_a_file_without_rows() {
        let text =
            "tpep_pickup_datetime,tpep_dropoff_datetime\r2024-01-01 00:00:00,2024-01-01 00:10:00\r";
        let error = read(text).err().map(|e| e.to_string());
        assert!(
            error.is_some_and(|e| e.contains("line 1: lines end in a lone carriage return")),
            "{text:?}"
        );
    }
}
