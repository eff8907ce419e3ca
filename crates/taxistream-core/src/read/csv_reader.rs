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
#[path = "csv_reader_tests.rs"]
mod tests;
