//! Telling formats apart by content: Parquet magic, gzip magic, else text that must look like CSV.

use super::{CsvTripReader, InputError, ParquetTripReader, StreamLines, TripReader};
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// A trip file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Comma-separated text.
    Csv,
    /// Gzip-compressed CSV.
    GzipCsv,
    /// Apache Parquet.
    Parquet,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Csv => "CSV",
            Format::GzipCsv => "gzip CSV",
            Format::Parquet => "Parquet",
        })
    }
}

const PARQUET_MAGIC: &[u8] = b"PAR1";
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const READ_BUFFER: usize = 256 * 1024;

/// Opens a local file, choosing the reader from its first bytes (not its name). CSV rows are
/// converted on `workers` threads (1: on the caller's thread).
pub fn open_path(path: &Path, workers: usize) -> Result<TripReader, InputError> {
    let source_name = path.display().to_string();
    let open_error = |error| InputError::Open {
        source_name: source_name.clone(),
        error,
    };
    let mut file = File::open(path).map_err(open_error)?;
    let mut magic = [0u8; 4];
    let read = read_prefix(&mut file, &mut magic).map_err(open_error)?;
    if read == 0 {
        return Err(InputError::Empty { source_name });
    }
    if magic[..read].starts_with(PARQUET_MAGIC) {
        let file = File::open(path).map_err(open_error)?;
        return ParquetTripReader::new(file, source_name)
            .map(|reader| TripReader::Parquet(Box::new(reader)));
    }
    let file = File::open(path).map_err(open_error)?;
    open_stream(Box::new(file), source_name, workers)
}

/// Opens a non-seekable stream of CSV or gzip CSV (Parquet needs random access: use
/// [`ParquetTripReader::new`] with a file or bytes).
pub fn open_stream(
    stream: Box<dyn Read + Send>,
    source_name: String,
    workers: usize,
) -> Result<TripReader, InputError> {
    open_stream_after(stream, source_name, workers, 0)
}

/// [`open_stream`], skipping the rows that start on `line` or before (read by an earlier
/// invocation; the header is still read and checked).
pub fn open_stream_after(
    stream: Box<dyn Read + Send>,
    source_name: String,
    workers: usize,
    line: u64,
) -> Result<TripReader, InputError> {
    let lines = StreamLines {
        after_line: line,
        line_offset: 0,
    };
    open_stream_lines(stream, source_name, workers, lines)
}

/// [`open_stream`] reading the rows `lines` says, numbered as in the whole file: for a
/// continuation, or a part of a CSV file (its header, then a range of its rows).
pub fn open_stream_lines(
    stream: Box<dyn Read + Send>,
    source_name: String,
    workers: usize,
    lines: StreamLines,
) -> Result<TripReader, InputError> {
    let mut buffered = BufReader::with_capacity(READ_BUFFER, stream);
    let head = buffered.fill_buf().map_err(|error| InputError::Open {
        source_name: source_name.clone(),
        error,
    })?;
    if head.is_empty() {
        return Err(InputError::Empty { source_name });
    }
    if head.starts_with(PARQUET_MAGIC) {
        return Err(InputError::UnknownFormat {
            source_name,
            detail: "Parquet content in a stream that cannot be read at random".to_owned(),
        });
    }
    let (text, is_gzip): (Box<dyn Read + Send>, bool) = if head.starts_with(GZIP_MAGIC) {
        (Box::new(MultiGzDecoder::new(buffered)), true)
    } else {
        (Box::new(buffered), false)
    };
    let mut text = BufReader::with_capacity(READ_BUFFER, text);
    let head = text.fill_buf().map_err(|error| InputError::Read {
        source_name: source_name.clone(),
        line: 0,
        detail: error.to_string(),
    })?;
    if head.is_empty() {
        return Err(InputError::Empty { source_name });
    }
    if let Some(detail) = binary_content(head) {
        return Err(InputError::UnknownFormat {
            source_name,
            detail,
        });
    }
    CsvTripReader::new(Box::new(text) as Box<dyn Read + Send>, source_name, is_gzip)
        .map(|reader| TripReader::Csv(reader.lines(lines).with_workers(workers)))
}

/// Why the first bytes are not CSV text, if they are not.
fn binary_content(head: &[u8]) -> Option<String> {
    if let Some(position) = head.iter().position(|&byte| byte == 0) {
        return Some(format!("binary content: NUL byte at offset {position}"));
    }
    match std::str::from_utf8(head) {
        Err(error) if error.error_len().is_some() => Some(format!(
            "not UTF-8 text: invalid byte at offset {}",
            error.valid_up_to()
        )),
        _ => None,
    }
}

/// Reads up to `buffer.len()` bytes, fewer only at the end of `reader`; returns how many.
pub fn read_prefix(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..])? {
            0 => break,
            read => filled += read,
        }
    }
    Ok(filled)
}
